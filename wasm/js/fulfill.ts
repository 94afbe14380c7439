// The JavaScript side of a fulfillment run: the caller's grant function, journal and
// onSettled wrapped into the JSON-text functions the wasm driver calls. Nothing here
// decides what to grant, journal or mark: that is the core's engine, run by the driver.

import { InvalidInputError } from './errors.js';
import { RawStop } from './raw/twitch_drops_wasm.js';
import type {
  FulfillJournal,
  FulfillRunOptions,
  GrantFunction,
  GrantRequest,
  JournalRecord,
  Settlement,
} from './types.js';

/** What `RawClient.fulfill` and `fulfillEntitlements` take besides the options text. */
export interface RawRun {
  /** The options' data (`quarantineAfter`, and the listing's filters), as JSON text. */
  settings: string;
  grant: (batch: string) => Promise<string>;
  /** The caller's journal; `undefined` for the client's in-memory one. */
  journal: RawJournal | undefined;
  onSettled: ((settlements: string) => void) | undefined;
  /** Raised when the options' `signal` aborts (the run's own handle on the flag). */
  stop: RawStop | undefined;
}

/** A journal as the wasm driver calls it: JSON text in and out. */
export interface RawJournal {
  load: () => Promise<string>;
  append: (records: string) => Promise<void>;
  /** JSON text of `granting` records → JSON text of the ids another instance holds. */
  claim: ((records: string) => Promise<string>) | undefined;
}

/** `String(thrown)`: `"TypeError: …"` for an Error, the value itself otherwise. */
function describe(thrown: unknown): string {
  try {
    return String(thrown);
  } catch {
    return 'an unprintable value';
  }
}

/** JSON text of one grant answer; what cannot be written is `null` (a failure, not a grant). */
function answer(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return 'null';
  }
}

/** A batch at a time, all of its grants at once; a throw is that grant's failure. */
function grantBatch(grant: GrantFunction): RawRun['grant'] {
  return async (batch) => {
    const requests = JSON.parse(batch) as GrantRequest[];
    const answers = await Promise.all(
      requests.map(async (request) => {
        try {
          return await grant(request);
        } catch (thrown) {
          return { failed: `grant threw: ${describe(thrown)}` };
        }
      }),
    );
    return `[${answers.map(answer).join(',')}]`;
  };
}

function journalLoad(journal: FulfillJournal): RawJournal['load'] {
  return async () => JSON.stringify(await journal.load());
}

function journalAppend(journal: FulfillJournal): RawJournal['append'] {
  return async (records) => {
    await journal.append(JSON.parse(records) as JournalRecord[]);
  };
}

/**
 * The journal's claim, answering JSON text of what it resolved to (`null` for nothing); the
 * engine's side checks that it is an array of the batch's ids.
 */
function journalClaim(journal: FulfillJournal): NonNullable<RawJournal['claim']> {
  return async (records) => {
    const held: unknown = await journal.claim?.(JSON.parse(records) as JournalRecord[]);
    return JSON.stringify(held) ?? 'null';
  };
}

/** Hands each settlement to `onSettled`; nothing it throws (or rejects with) reaches the run. */
function settled(onSettled: (settlement: Settlement) => void): NonNullable<RawRun['onSettled']> {
  return (text) => {
    for (const settlement of JSON.parse(text) as Settlement[]) {
      try {
        const returned: unknown = onSettled(settlement);
        if (returned instanceof Promise) returned.catch(() => undefined);
      } catch {
        // Ignored: a logging callback must not cut a run's bookkeeping short.
      }
    }
  };
}

/** Checks the options' functions and splits them from the data. */
export function rawRun(options: FulfillRunOptions): RawRun {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidInputError('invalid `options`: pass an object with at least `grant`', 'options');
  }
  const { grant, journal, onSettled, signal, ...settings } = options;
  if (typeof grant !== 'function') {
    throw new InvalidInputError('invalid `grant`: must be a function (request) => Promise<GrantOutcome>', 'grant');
  }
  if (
    journal !== undefined &&
    (typeof journal !== 'object' ||
      journal === null ||
      typeof journal.load !== 'function' ||
      typeof journal.append !== 'function')
  ) {
    throw new InvalidInputError('invalid `journal`: must be an object with `load()` and `append(records)`', 'journal');
  }
  if (journal !== undefined && journal.claim !== undefined && typeof journal.claim !== 'function') {
    throw new InvalidInputError(
      'invalid `journal.claim`: must be a function (records) => Promise<string[]> answering the ids another instance holds, or absent',
      'journal.claim',
    );
  }
  if (onSettled !== undefined && typeof onSettled !== 'function') {
    throw new InvalidInputError('invalid `onSettled`: must be a function', 'onSettled');
  }
  if (
    signal !== undefined &&
    (typeof signal !== 'object' ||
      signal === null ||
      typeof signal.aborted !== 'boolean' ||
      typeof signal.addEventListener !== 'function')
  ) {
    throw new InvalidInputError('invalid `signal`: must be an AbortSignal', 'signal');
  }
  return {
    settings: JSON.stringify(settings),
    grant: grantBatch(grant),
    journal: journal && {
      load: journalLoad(journal),
      append: journalAppend(journal),
      claim: journal.claim === undefined ? undefined : journalClaim(journal),
    },
    onSettled: onSettled && settled(onSettled),
    stop: signal && stopOn(signal),
  };
}

/** A stop flag for the engine, raised when `signal` aborts (at once if it has). */
function stopOn(signal: AbortSignal): RawStop {
  const stop = new RawStop();
  if (signal.aborted) {
    stop.raise();
  } else {
    signal.addEventListener('abort', () => stop.raise(), { once: true });
  }
  return stop.share();
}
