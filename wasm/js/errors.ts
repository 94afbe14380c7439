// Errors: real `Error` subclasses, one per kind of the core's `Error`.

import type { EventSubResponse, FulfillReport, UpdateReport } from './types.js';

/** The kind of a {@link DropsError}, one per subclass. */
export type ErrorKind =
  | 'InvalidInput'
  | 'Unauthorized'
  | 'Http'
  | 'RateLimited'
  | 'Transport'
  | 'Decode'
  | 'PartialUpdate'
  | 'Journal'
  | 'EventSub';

/**
 * Why no whole response came: `connect` (never reached the server), `interrupted` (may
 * have reached it), `refused` (not sent: insecure URL, unusable response), `tooLarge`.
 */
export type TransportKind = 'connect' | 'interrupted' | 'refused' | 'tooLarge';

/** What every {@link DropsError} carries besides its message. */
export interface DropsErrorDetails {
  /** The HTTP status Twitch answered with, when the error came from a response. */
  status?: number | null;
  /** Twitch's own `message`, when it sent one. */
  twitchMessage?: string | null;
  cause?: unknown;
}

/** Every error the client throws or rejects with. */
export class DropsError extends Error {
  readonly kind: ErrorKind;
  readonly status: number | null;
  readonly twitchMessage: string | null;
  /**
   * Set when a fulfillment run (`fulfill`, `fulfillEntitlements`) stopped on this error:
   * the totals up to the stop (what was not reached stays CLAIMED; what was granted but not
   * marked is in the journal for the next run). `null` otherwise.
   */
  readonly fulfillReport: FulfillReport | null = null;

  constructor(kind: ErrorKind, message: string, details: DropsErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DropsError';
    this.kind = kind;
    this.status = details.status ?? null;
    this.twitchMessage = details.twitchMessage ?? null;
  }
}

/** The input was rejected before any request was sent; `field` names the parameter. */
export class InvalidInputError extends DropsError {
  readonly field: string;

  constructor(message: string, field: string) {
    super('InvalidInput', message);
    this.name = 'InvalidInputError';
    this.field = field;
  }
}

/** Twitch refused the credentials even after a fresh token (or none could be had). */
export class UnauthorizedError extends DropsError {
  constructor(message: string, details: DropsErrorDetails = {}) {
    super('Unauthorized', message, details);
    this.name = 'UnauthorizedError';
  }
}

/** An error status the client does not retry (400, 403, 404), or a 5xx that persisted. */
export class HttpError extends DropsError {
  /** Twitch's `error` field (`"Bad Request"`), when the body was JSON. */
  readonly twitchError: string | null;

  constructor(message: string, details: DropsErrorDetails & { twitchError?: string | null } = {}) {
    super('Http', message, details);
    this.name = 'HttpError';
    this.twitchError = details.twitchError ?? null;
  }
}

/** Still rate limited after the allowed waits. */
export class RateLimitedError extends DropsError {
  /** When Twitch said the bucket refills, if it said (browsers cannot see it). */
  readonly resetAt: Date | null;

  constructor(message: string, resetAt: Date | null = null) {
    super('RateLimited', message, { status: 429 });
    this.name = 'RateLimitedError';
    this.resetAt = resetAt;
  }
}

/** No whole response could be had, after the allowed retries. */
export class TransportError extends DropsError {
  readonly transportKind: TransportKind;

  constructor(message: string, transportKind: TransportKind) {
    super('Transport', message);
    this.name = 'TransportError';
    this.transportKind = transportKind;
  }
}

/** A 2xx response whose body could not be read; `context` says what was being read. */
export class DecodeError extends DropsError {
  readonly context: string;

  constructor(message: string, context: string) {
    super('Decode', message);
    this.name = 'DecodeError';
    this.context = context;
  }
}

/**
 * An update stopped part way: `report` has the outcome of every id that got one, and
 * `report.unconfirmed` the ids whose state is unknown; `cause` is why it stopped.
 */
export class PartialUpdateError extends DropsError {
  readonly report: UpdateReport;
  declare readonly cause: DropsError;

  constructor(message: string, report: UpdateReport, cause: DropsError) {
    super('PartialUpdate', message, {
      status: cause.status,
      twitchMessage: cause.twitchMessage,
      cause,
    });
    this.name = 'PartialUpdateError';
    this.report = report;
  }
}

/**
 * The fulfillment journal could not be read or written (its `load` or `append` threw or
 * rejected, or `load` gave something other than records). The run stopped so that no grant
 * goes unrecorded; run again once the journal works.
 */
export class JournalError extends DropsError {
  constructor(message: string) {
    super('Journal', message);
    this.name = 'JournalError';
  }
}

/** Why a webhook message was refused. */
export type EventSubReason =
  | 'missingHeader'
  | 'badSignature'
  | 'staleTimestamp'
  | 'badTimestamp'
  | 'unknownMessageType'
  | 'malformed'
  | 'refused';

/**
 * A webhook message `verifyEventSub` refused: `status` 403 (`badSignature`,
 * `staleTimestamp`: not to be trusted) or 400 (not well formed). Answer with `response`.
 */
export class EventSubError extends DropsError {
  declare readonly status: number;
  readonly reason: EventSubReason;
  /** What to answer: the status, with the reason as plain text. */
  readonly response: EventSubResponse;

  constructor(message: string, status: number, reason: EventSubReason, response: EventSubResponse) {
    super('EventSub', message, { status });
    this.name = 'EventSubError';
    this.reason = reason;
    this.response = response;
  }
}

/** The description the wasm layer attaches to what it throws (`payload`, JSON text). */
interface Payload {
  kind: ErrorKind;
  message: string;
  status: number | null;
  twitchMessage: string | null;
  field?: string;
  twitchError?: string | null;
  resetAtMs?: number | null;
  transportKind?: TransportKind;
  context?: string;
  report?: UpdateReport;
  cause?: Payload;
  reason?: EventSubReason;
  response?: EventSubResponse;
  fulfillReport?: FulfillReport;
}

function build(p: Payload): DropsError {
  const details = { status: p.status, twitchMessage: p.twitchMessage };
  switch (p.kind) {
    case 'InvalidInput':
      return new InvalidInputError(p.message, p.field ?? '');
    case 'Unauthorized':
      return new UnauthorizedError(p.message, details);
    case 'Http':
      return new HttpError(p.message, { ...details, twitchError: p.twitchError ?? null });
    case 'RateLimited':
      return new RateLimitedError(p.message, p.resetAtMs == null ? null : new Date(p.resetAtMs));
    case 'Transport':
      return new TransportError(p.message, p.transportKind ?? 'interrupted');
    case 'Decode':
      return new DecodeError(p.message, p.context ?? '');
    case 'PartialUpdate':
      return new PartialUpdateError(
        p.message,
        p.report ?? { outcomes: [], unconfirmed: [] },
        p.cause ? build(p.cause) : new DropsError('Transport', 'unknown cause'),
      );
    case 'Journal':
      return new JournalError(p.message);
    case 'EventSub':
      return new EventSubError(
        p.message,
        p.status ?? 400,
        p.reason ?? 'refused',
        p.response ?? { status: p.status ?? 400, headers: {}, body: p.message },
      );
    default:
      return new DropsError(p.kind, p.message, details);
  }
}

/** The public error for whatever the wasm layer threw; anything else is returned as is. */
export function fromRaw(thrown: unknown): unknown {
  if (thrown instanceof Error && 'payload' in thrown && typeof thrown.payload === 'string') {
    const payload = JSON.parse(thrown.payload) as Payload;
    const error = build(payload);
    if (payload.fulfillReport) {
      Object.defineProperty(error, 'fulfillReport', { value: payload.fulfillReport, enumerable: true });
    }
    return error;
  }
  return thrown;
}
