// EventSub webhooks (Node servers): verify a message, answer it, deduplicate deliveries.
// The checks and answers are the core's (`twitch_drops::eventsub`); this file only
// translates headers, bodies and times.

import {
  eventSubResponse as rawResponse,
  RawDeduplicator,
  verifyEventSub as rawVerify,
} from './raw/twitch_drops_wasm.js';
import { EventSubError, fromRaw, InvalidInputError } from './errors.js';
import type {
  Entitlement,
  EventSubHeaders,
  EventSubMessage,
  EventSubResponse,
  EventSubSubscription,
  VerifyEventSubOptions,
} from './types.js';

/** Runs a wasm call, turning what it throws into the public error. */
function translate<T>(call: () => T): T {
  try {
    return call();
  } catch (thrown) {
    throw fromRaw(thrown);
  }
}

function epochMs(now: Date | number | undefined): number {
  if (now === undefined) return Date.now();
  return now instanceof Date ? now.getTime() : now;
}

/** `[name, value]` pairs from any of the header shapes frameworks hand out. */
function pairs(headers: EventSubHeaders): [string, string][] {
  if (typeof headers !== 'object' || headers === null) {
    throw new InvalidInputError('invalid `headers`: pass the request headers', 'headers');
  }
  const out: [string, string][] = [];
  if (Symbol.iterator in headers) {
    for (const [name, value] of headers as Iterable<readonly [string, string]>) out.push([String(name), String(value)]);
    return out;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out.push([name, typeof value === 'string' ? value : value.join(', ')]);
  }
  return out;
}

/**
 * Checks a webhook message and reads it: the HMAC-SHA256 signature under `secret`
 * (constant time), a timestamp within 10 minutes of `now`, a body of the right shape.
 * Throws `EventSubError` (`status` 403 or 400, `response` to send) when it is refused.
 * Does not deduplicate: see {@link Deduplicator}.
 */
export function verifyEventSub(options: VerifyEventSubOptions): EventSubMessage {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidInputError('invalid `options`: pass { headers, body, secret }', 'options');
  }
  const { headers, body, secret, now } = options;
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidInputError('invalid `body`: pass the raw body as a Uint8Array (or Buffer) or string', 'body');
  }
  if (typeof secret !== 'string') {
    throw new InvalidInputError('invalid `secret`: must be the subscription secret, a string', 'secret');
  }
  const text = translate(() => rawVerify(JSON.stringify(pairs(headers)), bytes, secret, epochMs(now)));
  return JSON.parse(text) as EventSubMessage;
}

/**
 * What to answer Twitch: for a verified message, 200 with the challenge (a callback
 * verification) or 204; for a refused one (`EventSubError`), its status and reason.
 */
export function eventSubResponse(message: EventSubMessage | EventSubError): EventSubResponse {
  if (message instanceof EventSubError) return message.response;
  const needed = {
    type: message?.type,
    messageId: message?.messageId,
    challenge: message?.type === 'verification' ? message.challenge : undefined,
  };
  return JSON.parse(translate(() => rawResponse(JSON.stringify(needed)))) as EventSubResponse;
}

/**
 * Message ids seen recently, so a message Twitch delivers twice is acted on once. An id is
 * remembered for 20 minutes (longer than `verifyEventSub` accepts a message), and at most
 * `capacity` ids (default 100 000), the oldest forgotten first.
 */
export class Deduplicator {
  readonly #raw: RawDeduplicator;

  constructor(capacity?: number) {
    this.#raw = translate(() => new RawDeduplicator(capacity));
  }

  /** True the first time `messageId` is seen (and remembers it), false for a repeat. */
  firstTime(messageId: string, now?: Date | number): boolean {
    return translate(() => this.#raw.firstTime(String(messageId), epochMs(now)));
  }

  /** `firstTime`, as a `DeliveryLog` for `handleEventSub`. */
  firstDelivery(messageId: string, nowMs: number): boolean {
    return this.firstTime(messageId, nowMs);
  }

  /** Forgets `messageId`, so its next delivery counts as a first (handling it failed). */
  forget(messageId: string): boolean {
    return this.#raw.forget(String(messageId));
  }

  /** Ids remembered now. */
  get size(): number {
    return this.#raw.size();
  }
}

/** Where delivered message ids are remembered (a `Deduplicator`, or your database). */
export interface DeliveryLog {
  /** Records `messageId` as delivered; true the first time, false when it was before. */
  firstDelivery(messageId: string, nowMs: number): boolean | Promise<boolean>;
}

/** What a webhook request was, and the answer to send back. */
export interface EventSubHandled {
  response: EventSubResponse;
  delivery:
    | { kind: 'grants'; messageId: string; entitlements: Entitlement[] }
    | { kind: 'repeated'; messageId: string }
    | { kind: 'other'; messageId: string }
    | { kind: 'verification' }
    | { kind: 'revocation'; subscription: EventSubSubscription }
    | { kind: 'refused'; error: EventSubError }
    | { kind: 'notRecorded'; error: unknown };
}

/**
 * The whole webhook in one call: verifies the request (`verifyEventSub`), answers the
 * verification challenge, reports a revocation, and for a notification records its message
 * id in `deliveries` and gives its entitlements the first time only (`grants`; a
 * redelivery is `repeated`). Send `response` back; feed `grants` to
 * `client.fulfillEntitlements`. A log that fails is answered 503, so Twitch sends the
 * message again. A message is recorded when it arrives: grants whose process dies before
 * granting stay CLAIMED, for the next `client.fulfill` drain.
 */
export async function handleEventSub(options: {
  headers: EventSubHeaders;
  body: Uint8Array | string;
  secret: string;
  deliveries: DeliveryLog;
  now?: Date | number;
}): Promise<EventSubHandled> {
  const { deliveries } = options ?? {};
  if (typeof deliveries?.firstDelivery !== 'function') {
    throw new InvalidInputError('invalid `deliveries`: pass an object with firstDelivery(messageId, nowMs), e.g. a Deduplicator', 'deliveries');
  }
  let message: EventSubMessage;
  try {
    message = verifyEventSub(options);
  } catch (error) {
    if (!(error instanceof EventSubError)) throw error;
    return { response: error.response, delivery: { kind: 'refused', error } };
  }
  const response = eventSubResponse(message);
  switch (message.type) {
    case 'verification':
      return { response, delivery: { kind: 'verification' } };
    case 'revocation':
      return { response, delivery: { kind: 'revocation', subscription: message.subscription } };
    default: {
      let first: boolean;
      try {
        first = await deliveries.firstDelivery(message.messageId, epochMs(options.now));
      } catch (error) {
        return {
          response: { status: 503, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'delivery not recorded; send it again' },
          delivery: { kind: 'notRecorded', error },
        };
      }
      if (!first) return { response, delivery: { kind: 'repeated', messageId: message.messageId } };
      if (message.grants.length === 0) return { response, delivery: { kind: 'other', messageId: message.messageId } };
      return { response, delivery: { kind: 'grants', messageId: message.messageId, entitlements: message.entitlements } };
    }
  }
}
