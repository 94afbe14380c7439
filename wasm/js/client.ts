// DropsClient: the idiomatic surface over the wasm RawClient. It translates (JSON text,
// Dates, errors, async iterators) and decides nothing: every Twitch rule is the core's.

import { RawClient } from './raw/twitch_drops_wasm.js';
import { fromRaw, InvalidInputError } from './errors.js';
import { rawRun } from './fulfill.js';
import type {
  AnalyticsPage,
  AnalyticsQuery,
  AnalyticsReport,
  DeviceCode,
  DropsClientOptions,
  Entitlement,
  EntitlementsPage,
  EntitlementsQuery,
  EventSubSubscription,
  FulfillOptions,
  FulfillReport,
  FulfillRunOptions,
  FulfillmentStatus,
  LogLevel,
  Logger,
  Metrics,
  RateLimit,
  SubscribeDropGrantsOptions,
  TokenInfo,
  UpdateReport,
  UserToken,
} from './types.js';

/** Awaits a wasm promise, turning its rejection into the public error. */
async function settle<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (thrown) {
    throw fromRaw(thrown);
  }
}

function parse<T>(text: unknown): T {
  return JSON.parse(text as string) as T;
}

/**
 * A Twitch Drops client: lists and updates entitlements, grants and fulfills them with the
 * fulfillment engine, subscribes EventSub webhooks, reads analytics, runs the device flow. Every method may run concurrently with the others; one token fetch serves them all.
 * Paging, batching, token renewal, rate limits and retries happen inside.
 */
export class DropsClient {
  readonly #raw: RawClient;
  /** The end of the queue of runs on the in-memory journal (one at a time, in call order). */
  #memoryRuns: Promise<unknown> = Promise.resolve();

  /**
   * Checks the options (throws `InvalidInputError`; in a browser, also for any
   * `clientSecret`). Sends nothing.
   */
  constructor(options: DropsClientOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidInputError('invalid `options`: pass an object with at least `clientId`', 'options');
    }
    const { fetch, logger, logLevel, ...settings } = options;
    if (fetch !== undefined && typeof fetch !== 'function') {
      throw new InvalidInputError('invalid `fetch`: must be a function', 'fetch');
    }
    if (logger !== undefined && (typeof logger !== 'object' || logger === null)) {
      throw new InvalidInputError('invalid `logger`: pass console, or an object with warn/info/debug', 'logger');
    }
    const level = LOG_LEVELS.indexOf(logLevel ?? 'warn') + 1;
    if (level === 0) {
      throw new InvalidInputError("invalid `logLevel`: 'error', 'warn', 'info' or 'debug'", 'logLevel');
    }
    try {
      this.#raw = new RawClient(JSON.stringify(settings), fetch, logger && logTo(logger), level);
    } catch (thrown) {
      throw fromRaw(thrown);
    }
  }

  /**
   * The client's counters so far: requests by route and status, retries by reason, 429s,
   * waits for the rate limit, tokens fetched, grants by outcome, resumed grants, journal
   * recoveries. Scrape them, or log them after a run.
   */
  metrics(): Metrics {
    const raw = JSON.parse(this.#raw.metrics()) as Record<string, unknown>;
    return {
      requests: raw.requests as Record<string, Record<string, number>>,
      retries: raw.retries as Record<string, number>,
      rateLimited: raw.rate_limited as number,
      rateLimitWaits: raw.rate_limit_waits as number,
      rateLimitWaitMs: raw.rate_limit_wait_ms as number,
      tokenFetches: raw.token_fetches as number,
      updateRereads: raw.update_rereads as number,
      granted: raw.granted as number,
      retryLater: raw.retry_later as number,
      grantFailed: raw.grant_failed as number,
      resumedGrants: raw.resumed_grants as number,
      journalRecoveries: raw.journal_recoveries as number,
      quarantinedUsers: raw.quarantined_users as number,
    };
  }

  /** One page of entitlements. */
  async entitlementsPage(query: EntitlementsQuery = {}): Promise<EntitlementsPage> {
    return parse(await settle(this.#raw.entitlementsPage(JSON.stringify(query))));
  }

  /** Every page of entitlements matching `query`, one request per page. */
  async *entitlementPages(query: EntitlementsQuery = {}): AsyncGenerator<EntitlementsPage, void, undefined> {
    const pages = this.#raw.entitlementPages(JSON.stringify(query));
    try {
      for (;;) {
        const text: unknown = await settle(pages.next());
        if (text === undefined) return;
        yield parse<EntitlementsPage>(text);
      }
    } finally {
      pages.free();
    }
  }

  /** Every entitlement matching `query`, paging as needed (one page in memory at a time). */
  async *entitlements(query: EntitlementsQuery = {}): AsyncGenerator<Entitlement, void, undefined> {
    for await (const page of this.entitlementPages(query)) {
      yield* page.entitlements;
    }
  }

  /**
   * Sets `ids` (any number) to `status`, in batches of 100, with a per-id outcome. Rejects
   * with `PartialUpdateError` (carrying the report so far) when it stopped part way.
   */
  async updateEntitlements(ids: readonly string[], status: FulfillmentStatus): Promise<UpdateReport> {
    return parse(await settle(this.#raw.updateEntitlements(JSON.stringify(ids), String(status))));
  }

  /**
   * Grants and fulfills every CLAIMED entitlement of `gameId` (and `userId`), each once:
   * recovers first what a stopped run left in the journal, lists page by page, calls
   * `grant` for up to `grantsInFlight` at once (default 1), journals around each grant and
   * marks the granted FULFILLED in batches of 100. Resolves to the totals (`interrupted`
   * when `signal` aborted it). A run
   * that stops (Twitch keeps failing, the journal fails) rejects with the `DropsError` of
   * its cause, whose `fulfillReport` has the totals so far; run again to finish.
   */
  async fulfill(options: FulfillOptions): Promise<FulfillReport> {
    const run = rawRun(options);
    return this.#inTurn(run.journal === undefined, () =>
      this.#raw.fulfill(run.settings, run.grant, run.journal, run.onSettled, run.stop),
    );
  }

  /**
   * `fulfill` for entitlements pushed by EventSub (`message.entitlements`): no listing, the
   * same rules and journal, so an entitlement both pushed and listed is granted once.
   */
  async fulfillEntitlements(
    entitlements: readonly Entitlement[],
    options: FulfillRunOptions,
  ): Promise<FulfillReport> {
    const run = rawRun(options);
    if (!Array.isArray(entitlements)) {
      throw new InvalidInputError('invalid `entitlements`: pass an array (e.g. message.entitlements)', 'entitlements');
    }
    const text = JSON.stringify(entitlements);
    return this.#inTurn(run.journal === undefined, () =>
      this.#raw.fulfillEntitlements(text, run.settings, run.grant, run.journal, run.onSettled, run.stop),
    );
  }

  /**
   * Starts a run now, or (`queued`: on the in-memory journal, which one run holds at a
   * time) once the runs queued before it have ended.
   */
  async #inTurn(queued: boolean, start: () => Promise<unknown>): Promise<FulfillReport> {
    if (!queued) return parse(await settle(start()));
    const run = this.#memoryRuns.then(() => settle(start()));
    this.#memoryRuns = run.catch(() => undefined);
    return parse(await run);
  }

  /**
   * Subscribes `callback` to `drop.entitlement.grant` events (batched, signed with
   * `secret`); needs an app token (`clientSecret`). Twitch then sends the callback a
   * verification: answer it with `eventSubResponse(verifyEventSub(…))`. A 409 `HttpError`
   * means the same subscription exists.
   */
  async subscribeDropGrants(options: SubscribeDropGrantsOptions): Promise<EventSubSubscription> {
    return parse(await settle(this.#raw.subscribeDropGrants(JSON.stringify(options))));
  }

  /** A page of analytics reports (user token with `analytics:read:games`). */
  async gameAnalytics(query: AnalyticsQuery = {}): Promise<AnalyticsPage> {
    return parse(await settle(this.#raw.gameAnalytics(JSON.stringify(query))));
  }

  /** Downloads a report's CSV (no credentials are sent with it). */
  async downloadReport(report: AnalyticsReport | string): Promise<Uint8Array> {
    const url = typeof report === 'string' ? report : report?.url;
    return (await settle(this.#raw.downloadReport(String(url)))) as Uint8Array;
  }

  /** Asks Twitch about the current token (renewing it once if Twitch says 401). */
  async validateToken(): Promise<TokenInfo> {
    return parse(await settle(this.#raw.validateToken()));
  }

  /** Starts a device login: show `userCode` and `verificationUri`, then `finishDeviceFlow`. */
  async startDeviceFlow(scopes: readonly string[]): Promise<DeviceCode> {
    return parse(await settle(this.#raw.startDeviceFlow(JSON.stringify(scopes))));
  }

  /** Polls until the user approves; later calls use the new user token, returned to store. */
  async finishDeviceFlow(code: DeviceCode): Promise<UserToken> {
    return parse(await settle(this.#raw.finishDeviceFlow(JSON.stringify(code))));
  }

  /** The current user token and refresh token, to persist; `null` for app and fixed tokens. */
  userToken(): UserToken | null {
    const text = this.#raw.userToken();
    return text === undefined ? null : parse<UserToken>(text);
  }

  /**
   * The rate-limit bucket as the last response described it; `null` before any response,
   * and in browsers, where CORS hides Twitch's headers (429s are still waited out).
   */
  rateLimit(): RateLimit | null {
    const text = this.#raw.rateLimit();
    if (text === undefined) return null;
    const { limit, remaining, resetAtMs } = parse<{ limit: number; remaining: number; resetAtMs: number }>(text);
    return { limit, remaining, resetAt: new Date(resetAtMs) };
  }

  /** HTTP requests sent so far (every attempt counts). */
  requestsSent(): number {
    return this.#raw.requestsSent();
  }
}

const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/** The library's `log(level, target, message)` onto a console-compatible logger. */
function logTo(logger: Logger): (level: string, target: string, message: string) => void {
  return (level, target, message) => {
    const write = logger[level as LogLevel] ?? logger.log;
    try {
      write?.call(logger, `[${target}] ${message}`);
    } catch {
      // A logger that throws loses its line, never the run.
    }
  };
}
