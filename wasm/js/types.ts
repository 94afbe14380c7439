// The data of the public surface: plain objects with camelCase fields.

/** Where an entitlement stands: earned by the viewer, or delivered by the game. */
export type FulfillmentStatus = 'CLAIMED' | 'FULFILLED';

/** What Twitch did with one id of an update. */
export type UpdateStatus = 'SUCCESS' | 'INVALID_ID' | 'NOT_FOUND' | 'UNAUTHORIZED' | 'UPDATE_FAILED';

/**
 * A `fetch` to use instead of the global one (a proxy, a test double). It is called with
 * a complete `Request` for every HTTP request the client sends, and must resolve to the
 * `Response` whatever its status (4xx and 5xx are read by the client, not thrown).
 */
export type FetchFunction = (request: Request) => Promise<Response>;

/** The settings of a {@link DropsClient}. */
export interface DropsClientOptions {
  /** Your application's client id. */
  clientId: string;
  /**
   * Fetches app access tokens when no `accessToken` is given, and is sent when refreshing
   * a user token (confidential clients). Refused in a browser: keep it on a server.
   */
  clientSecret?: string;
  /** A token obtained elsewhere; with `refreshToken` it is a user token, renewed as needed. */
  accessToken?: string;
  /** The user token's refresh token (read the rotated one back with `userToken()`). */
  refreshToken?: string;
  /** Helix base URL (default `https://api.twitch.tv/helix`); https, or http to loopback. */
  helixUrl?: string;
  /** OAuth base URL (default `https://id.twitch.tv/oauth2`). */
  authUrl?: string;
  /** Used for every request instead of the global `fetch`. */
  fetch?: FetchFunction;
  /**
   * Hears what the client does at `logLevel` and above: requests (debug), retries and waits
   * for the rate limit (warn), tokens, journal recovery and passes (info). Console-compatible:
   * `console` itself works, or any object with `error`, `warn`, `info`, `debug` (or `log`).
   * Lines never hold a secret; what the logger throws is ignored.
   */
  logger?: Logger;
  /** The lowest level the logger hears (default `'warn'`). */
  logLevel?: LogLevel;
}

/** How much a log line matters. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** A console-compatible logger: each line is `[target] message`. */
export interface Logger {
  error?: (line: string) => void;
  warn?: (line: string) => void;
  info?: (line: string) => void;
  debug?: (line: string) => void;
  log?: (line: string) => void;
}

/** The client's counters so far (`client.metrics()`). */
export interface Metrics {
  /** Requests by route (`"GET /helix/entitlements/drops"`) and status (`"0"`: no answer). */
  requests: Record<string, Record<string, number>>;
  /** Retries by reason: a status (`"503"`), `"429"`, `"401"`, `"transport_connect"`, … */
  retries: Record<string, number>;
  rateLimited: number;
  rateLimitWaits: number;
  rateLimitWaitMs: number;
  tokenFetches: number;
  updateRereads: number;
  granted: number;
  retryLater: number;
  grantFailed: number;
  resumedGrants: number;
  journalRecoveries: number;
  quarantinedUsers: number;
}

/** A reward a viewer earned: give `userId` the benefit `benefitId`, then mark it FULFILLED. */
export interface Entitlement {
  id: string;
  benefitId: string;
  /** When the viewer earned it (RFC 3339). */
  timestamp: string;
  userId: string;
  gameId: string;
  fulfillmentStatus: FulfillmentStatus;
  /** When its status last changed (RFC 3339). */
  lastUpdated: string;
}

/** Filters of `GET /entitlements/drops`; checked before anything is sent. */
export interface EntitlementsQuery {
  /** At most 100 entitlement ids. */
  ids?: readonly string[];
  userId?: string;
  gameId?: string;
  status?: FulfillmentStatus;
  /** Page size, 1..=1000 (Twitch's default is 20). */
  first?: number;
  /** Cursor of a previous page. */
  after?: string;
}

/** One page of entitlements and the cursor of the next (`null` on the last page). */
export interface EntitlementsPage {
  entitlements: Entitlement[];
  cursor: string | null;
}

/** One id's final outcome. */
export interface IdOutcome {
  id: string;
  status: UpdateStatus;
}

/** Every id's outcome, in the order given (duplicates once). */
export interface UpdateReport {
  outcomes: IdOutcome[];
  /** Ids whose state could not be confirmed; re-read them before trying again. */
  unconfirmed: string[];
}

/** Filters of `GET /analytics/games` (user token with `analytics:read:games`). */
export interface AnalyticsQuery {
  gameId?: string;
  /** Report type; Twitch knows `overview_v2`. */
  type?: string;
  /** `YYYY-MM-DD`, or midnight UTC (a string or a `Date`). Both dates or neither. */
  startedAt?: string | Date;
  /** Inclusive end date, same forms. */
  endedAt?: string | Date;
  /** Page size, 1..=100. */
  first?: number;
  after?: string;
}

/** One downloadable report; its `url` lasts about five minutes. */
export interface AnalyticsReport {
  gameId: string;
  url: string;
  type: string;
  dateRange: { startedAt: string; endedAt: string };
}

/** A page of reports. */
export interface AnalyticsPage {
  reports: AnalyticsReport[];
  cursor: string | null;
}

/** What Twitch says about the current token (`login` and `userId` are null for app tokens). */
export interface TokenInfo {
  clientId: string;
  login: string | null;
  userId: string | null;
  scopes: string[];
  /** Seconds until it expires. */
  expiresIn: number;
}

/**
 * A pending device login: show `userCode` and `verificationUri` to the user, then pass it
 * to `finishDeviceFlow`. `deviceCode` is a secret: whoever holds it gets the token.
 */
export interface DeviceCode {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  /** Seconds the code stays valid. */
  expiresIn: number;
  /** Seconds between polls. */
  interval: number;
  scopes: string[];
}

/** A user token and its refresh token, to persist between runs. */
export interface UserToken {
  accessToken: string;
  refreshToken: string | null;
  /** Seconds until the access token expires, when Twitch said. */
  expiresIn: number | null;
  scopes: string[];
}

/** The rate-limit bucket as the last response described it. */
export interface RateLimit {
  limit: number;
  remaining: number;
  /** When the bucket is full again. */
  resetAt: Date;
}

// ---- Fulfillment -------------------------------------------------------------------

/** One entitlement for the grant function to give. */
export interface GrantRequest {
  entitlement: Entitlement;
  /**
   * True when an earlier run called grant for this entitlement and stopped (a crash, a
   * failed journal write) before recording the answer: the reward may or may not be in the
   * game. Check your own records by `entitlement.id` before giving it again.
   */
  resumed: boolean;
}

/**
 * What a grant answers: `'granted'` (the reward is in the game: mark it FULFILLED),
 * `'retryLater'` (not now: leave it CLAIMED for a later run) or `{ failed: reason }` (never
 * in this run, e.g. no linked account: leave it CLAIMED and report why).
 */
export type GrantOutcome = 'granted' | 'retryLater' | { failed: string };

/**
 * Gives a viewer the reward. Grants of one batch (up to 100) run concurrently. A grant that
 * throws or rejects counts as `{ failed: 'grant threw: <message>' }`, and any answer other
 * than a {@link GrantOutcome} as failed too: the entitlement stays CLAIMED, never marked
 * FULFILLED without a `'granted'`.
 */
export type GrantFunction = (request: GrantRequest) => Promise<GrantOutcome> | GrantOutcome;

/**
 * One journal record, in the core's JSON shape (the lines a Rust `FileJournal` writes):
 * `granting` before a grant is called, `granted` / `not_granted` after it answered,
 * `settled` once Twitch has it FULFILLED (or refused it for good).
 */
export type JournalRecord =
  | { op: 'granting'; id: string; user_id: string; benefit_id: string; game_id: string }
  | { op: 'granted'; id: string }
  | { op: 'not_granted'; id: string }
  | { op: 'settled'; id: string };

/**
 * Durable storage that makes grants exactly-once across crashes (a table, a file, a KV
 * store). `load` returns every record appended by earlier runs that still matters, oldest
 * first (returning all of them is fine: the engine folds them); `append` resolves only once
 * the records are durable. A rejection from either stops the run with a `JournalError`.
 * One run at a time per journal object; several instances may share one store through
 * `claim`.
 */
export interface FulfillJournal {
  load(): Promise<readonly JournalRecord[]> | readonly JournalRecord[];
  append(records: JournalRecord[]): Promise<void> | void;
  /**
   * For a store several instances (processes, machines) share, so that each entitlement is
   * granted by one of them. Receives a batch's `granting` records (which then do not go to
   * `append`); stores durably those whose entitlement this instance takes and resolves to
   * the ids of the others, which another instance holds: the run leaves them alone (settled
   * `heldElsewhere`). Take an id atomically: only if no live instance holds it, or this one
   * already does (a unique key, a conditional write in one transaction). A rejection means
   * nothing was stored: the run stops with a `JournalError`, nothing of the batch granted;
   * so does an answer that is not an array of the batch's ids.
   *
   * Give each claim an owner and an expiry this instance renews while it lives: `load` then
   * takes over the open records whose claims expired (their instance died) and returns what
   * this instance now holds, never what another live instance holds. A `not_granted` record
   * frees its id to be claimed again; a `settled` one closes it for good. Absent (one
   * instance per journal): the records are appended and every entitlement is taken.
   */
  claim?(records: JournalRecord[]): Promise<readonly string[]> | readonly string[];
}

/** What became of one entitlement in a run. */
export type SettledState =
  | { state: 'fulfilled' }
  /** Found FULFILLED while recovering an interrupted run: granted then, not now. */
  | { state: 'alreadyFulfilled' }
  | { state: 'retryLater' }
  | { state: 'grantFailed'; reason: string }
  /** Granted, but Twitch refused the update for good. */
  | { state: 'rejected'; status: UpdateStatus }
  /** Granted, FULFILLED not confirmed: the journal keeps it, the next run marks it. */
  | { state: 'unmarked' }
  /** Not granted: this viewer's updates keep failing. */
  | { state: 'quarantined' }
  /** Not granted: the run stopped before reaching it. */
  | { state: 'notReached' }
  /** Not granted here: another instance sharing the journal holds its claim. */
  | { state: 'heldElsewhere' };

/** One entitlement's outcome, as `onSettled` receives it. */
export type Settlement = { id: string; userId: string } & SettledState;

/** What every fulfillment run takes. */
export interface FulfillRunOptions {
  grant: GrantFunction;
  /**
   * Where grants are recorded. Default: the client's in-memory journal, which makes a
   * later run on the same client finish what a stopped one left (never granting twice) but
   * survives no restart; runs on it take turns (each starts when the previous one ended).
   */
  journal?: FulfillJournal;
  /** Called with each entitlement's outcome as it settles (for logs); what it throws is ignored. */
  onSettled?: (settlement: Settlement) => void;
  /**
   * Unconfirmed updates of one viewer after which their other entitlements are skipped for
   * the rest of the run (default 1).
   */
  quarantineAfter?: number;
  /**
   * Requests to Twitch out at once, 1 to 16 (default 4): the next page while this one is
   * granted, PATCHes side by side, grants beside them. `grant` and the journal are still
   * called one batch at a time. 1 takes one step at a time.
   */
  requestsInFlight?: number;
  /**
   * Grants handed to `grant` at once, 1 to 100 (default 1): claimed in the journal together,
   * granted concurrently, their answers journaled with the next claim. After a crash only
   * these can be in doubt (granted again with `resumed: true`); more means fewer journal writes.
   */
  grantsInFlight?: number;
  /**
   * Stops the run gracefully when it aborts: no new grant starts, the running ones finish
   * and are journaled, what was granted is marked FULFILLED, and the report says
   * `interrupted: true`. Run again with the same journal to finish.
   */
  signal?: AbortSignal;
}

/** The options of `client.fulfill`: which CLAIMED entitlements, and how to grant them. */
export interface FulfillOptions extends FulfillRunOptions {
  gameId: string;
  /** Only this viewer's entitlements. */
  userId?: string;
}

/** The totals of a run: every listed entitlement ends in exactly one counted state. */
export interface FulfillReport {
  /** Distinct CLAIMED entitlements taken up (listed, pushed, or recovered from the journal). */
  listed: number;
  /** Grant calls that answered `'granted'`. */
  granted: number;
  fulfilled: number;
  alreadyFulfilled: number;
  retryLater: number;
  grantFailed: number;
  rejected: number;
  unmarked: number;
  quarantined: number;
  notReached: number;
  /** Left to another instance sharing the journal (it holds their claims). */
  heldElsewhere: number;
  /** Grants called again after a stop left them in doubt (`resumed: true`). */
  resumed: number;
  /** Viewers quarantined in this run. */
  quarantinedUsers: string[];
  /** Entitlements not FULFILLED by this run (listed − fulfilled − alreadyFulfilled − heldElsewhere). */
  left: number;
  /** Stopped through `signal` before the end: run again with the same journal to finish. */
  interrupted: boolean;
}

// ---- EventSub ----------------------------------------------------------------------

/** A subscription as Twitch describes it. */
export interface EventSubSubscription {
  id: string;
  /** `enabled`, `webhook_callback_verification_pending`, or (revoked) why it ended. */
  status: string;
  /** `drop.entitlement.grant`. */
  type: string;
  version: string;
  /** As Twitch sends it: `{ organization_id, category_id?, campaign_id? }` for Drops. */
  condition: Record<string, string>;
  transport: { method: string; callback: string | null };
  createdAt: string;
  cost: number;
}

/** One `drop.entitlement.grant` event: a viewer earned a Drop. */
export interface EntitlementGrant {
  /** The event's id (not the entitlement's). */
  eventId: string;
  organizationId: string;
  /** The game. */
  categoryId: string;
  categoryName: string;
  campaignId: string;
  userId: string;
  userName: string;
  userLogin: string;
  entitlementId: string;
  benefitId: string;
  createdAt: string;
}

/** Events to act on (once: see {@link Deduplicator}); answer with `eventSubResponse` (204). */
export interface EventSubNotification {
  type: 'notification';
  messageId: string;
  subscription: EventSubSubscription;
  /** The Drops grants (empty for other subscription types). */
  grants: EntitlementGrant[];
  /** The grants as CLAIMED entitlements, for `client.fulfillEntitlements`. */
  entitlements: Entitlement[];
  /** For other subscription types: the body's fields besides `subscription`, unread; else null. */
  rawEvents: unknown;
}

/** Twitch checks the callback: answer with `eventSubResponse` (200 with the challenge). */
export interface EventSubVerification {
  type: 'verification';
  messageId: string;
  subscription: EventSubSubscription;
  challenge: string;
}

/** The subscription ended (`subscription.status` says why); answer with `eventSubResponse`. */
export interface EventSubRevocation {
  type: 'revocation';
  messageId: string;
  subscription: EventSubSubscription;
}

/** A verified webhook message. */
export type EventSubMessage = EventSubNotification | EventSubVerification | EventSubRevocation;

/** An answer for your web framework to send. */
export interface EventSubResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A request's headers as frameworks give them: Node's `req.headers`, a fetch `Headers`, or
 * `[name, value]` pairs. Names in any case.
 */
export type EventSubHeaders =
  | Headers
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | Iterable<readonly [string, string]>;

/** What `verifyEventSub` checks. */
export interface VerifyEventSubOptions {
  headers: EventSubHeaders;
  /** The raw body as received (a `Buffer` is a `Uint8Array`); a string is taken as UTF-8. */
  body: Uint8Array | string;
  /** The secret given when subscribing. */
  secret: string;
  /** The current time (default now); messages more than 10 minutes away are refused. */
  now?: Date | number;
}

/** A `drop.entitlement.grant` webhook subscription (needs an app token: a client secret). */
export interface SubscribeDropGrantsOptions {
  organizationId: string;
  /** Only this game's grants. */
  categoryId?: string;
  /** Only this campaign's grants. */
  campaignId?: string;
  /** Your HTTPS endpoint (plain http only to loopback, for local tests). */
  callback: string;
  /** 10 to 100 ASCII characters; Twitch signs every message with it. */
  secret: string;
}
