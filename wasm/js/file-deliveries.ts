// EventSub deliveries remembered in a file, for Node: the Rust `FileDeliveryLog`'s file and
// rules (core/src/journal/deliveries_file.rs), so either reads what the other wrote, and a
// message Twitch delivers again after a restart is known.
//
// - One line per first delivery: `{"at":<ms since the Unix epoch>,"id":"<message id>"}`.
// - `firstDelivery` resolves once its line is on disk (fdatasync).
// - Ids are remembered 20 minutes (Twitch refuses to deliver older messages, and
//   `verifyEventSub` refuses them), at most 100 000 at once, the oldest forgotten first.
// - The first call reads the file and rewrites it with the ids still remembered; an append
//   that finds the file holding twice as many lines as ids remembered rewrites it too. A
//   torn last line is dropped; any other bad line is an error naming the file and line.

import type { DeliveryLog } from './eventsub.js';
import { InvalidInputError, JournalError } from './errors.js';
import {
  errorCode,
  message,
  nodeFileSystem,
  rewriteDurably,
  type JournalFileSystem,
} from './file-journal.js';

/** How long an id is remembered: the core's `Deduplicator::WINDOW_MS`. */
export const DELIVERY_WINDOW_MS = 20 * 60 * 1000;

/** Ids remembered at most: the core's `Deduplicator::DEFAULT_CAPACITY`. */
const CAPACITY = 100_000;

/** Longest line read (the Rust log's bound). */
const MAX_LINE_BYTES = 64 * 1024;

const NEWLINE = 0x0a;
const utf8 = new TextEncoder();

function line(at: number, id: string): string {
  return `${JSON.stringify({ at, id })}\n`;
}

/**
 * Where `handleEventSub` remembers delivered message ids in Node: a file (beside your
 * `FileJournal`, say), so a message Twitch delivers again after a restart is answered and
 * not acted on twice. One process at a time.
 *
 * ```js
 * const deliveries = new FileDeliveryLog('drops-journal.jsonl.deliveries');
 * const handled = await handleEventSub({ headers, body, secret, deliveries });
 * ```
 *
 * Node only: in a browser the constructor throws `InvalidInputError`.
 */
export class FileDeliveryLog implements DeliveryLog {
  /** Where the log lives (created on first use). */
  readonly path: string;
  readonly #fs: JournalFileSystem;
  /** Remembered ids and when each was first delivered, oldest first; read on first use. */
  #seen: Map<string, number> | null = null;
  /** Lines in the file now. */
  #lines = 0;
  /** An append failed: the file may end with a torn line. */
  #torn = false;
  /** Calls run one after another, in the order they were made. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    const fs = nodeFileSystem('FileDeliveryLog', 'deliveries');
    if (typeof path !== 'string' || path === '') {
      throw new InvalidInputError('invalid `path`: the delivery log file, a non-empty string', 'path');
    }
    this.path = path;
    this.#fs = fs;
  }

  /** Records `messageId` as delivered at `nowMs`; true the first time, false for a repeat. */
  firstDelivery(messageId: string, nowMs: number): Promise<boolean> {
    if (typeof messageId !== 'string' || messageId === '') {
      return Promise.reject(new InvalidInputError('invalid `messageId`: a non-empty string', 'messageId'));
    }
    if (!Number.isSafeInteger(nowMs) || nowMs < 0) {
      return Promise.reject(new InvalidInputError('invalid `nowMs`: ms since the Unix epoch', 'nowMs'));
    }
    const result = this.#queue.then(() => this.#first(messageId, nowMs));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #first(id: string, now: number): Promise<boolean> {
    const seen = this.#seen ?? (await this.#load(now));
    expire(seen, now);
    if (seen.has(id)) return false;
    while (seen.size >= CAPACITY) seen.delete(seen.keys().next().value as string);
    // A write that failed part-way left a torn line: rewrite from what is remembered first.
    if (this.#torn) await this.#rewrite(seen);
    try {
      const file = await this.#fs.open(this.path, 'a');
      try {
        await file.writeFile(utf8.encode(line(now, id)));
        await file.datasync();
      } finally {
        await file.close();
      }
    } catch (thrown) {
      // Not on disk: not a first delivery yet (answer 503; Twitch sends it again).
      this.#torn = true;
      throw this.#error('cannot append to', thrown);
    }
    seen.set(id, now);
    this.#lines += 1;
    if (this.#lines > 2 * seen.size + 1000) {
      // The id is on disk: a compaction that fails now is tried again at the next append.
      await this.#rewrite(seen).catch(() => undefined);
    }
    return true;
  }

  #error(what: string, thrown: unknown): JournalError {
    return new JournalError(`${what} ${this.path}: ${message(thrown)}`);
  }

  /** Reads the file, keeps what is still remembered at `now`, and rewrites it with that. */
  async #load(now: number): Promise<Map<string, number>> {
    let bytes: Uint8Array;
    try {
      bytes = await this.#fs.readFile(this.path);
    } catch (thrown) {
      if (errorCode(thrown) !== 'ENOENT') throw this.#error('cannot read', thrown);
      bytes = new Uint8Array(0);
    }
    const entries: Array<[number, string]> = [];
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let number = 0;
    for (let start = 0; start < bytes.length; ) {
      const end = bytes.indexOf(NEWLINE, start);
      const stop = end < 0 ? bytes.length : end;
      const last = end < 0 || end === bytes.length - 1;
      number += 1;
      if (stop - start > MAX_LINE_BYTES) {
        throw new JournalError(`line ${number} is longer than ${MAX_LINE_BYTES} bytes in ${this.path}: refused`);
      }
      const raw = bytes.subarray(start, stop);
      start = stop + 1;
      let problem: string | null = null;
      try {
        const text = decoder.decode(raw);
        if (/^[\t\n\f\r ]*$/.test(text)) continue;
        const parsed = JSON.parse(text) as { at?: unknown; id?: unknown };
        if (typeof parsed?.id !== 'string' || !Number.isSafeInteger(parsed.at) || (parsed.at as number) < 0) {
          problem = 'not a delivery line ({"at":ms,"id":"..."})';
        } else {
          entries.push([parsed.at as number, parsed.id]);
        }
      } catch (thrown) {
        problem = message(thrown);
      }
      if (problem !== null) {
        // A crash while appending leaves at most the last line torn.
        if (last) break;
        throw new JournalError(`bad line ${number} in ${this.path}: ${problem}`);
      }
    }
    entries.sort((a, b) => a[0] - b[0]);
    const seen = new Map<string, number>();
    for (const [at, id] of entries) {
      if (seen.has(id)) continue;
      while (seen.size >= CAPACITY) seen.delete(seen.keys().next().value as string);
      seen.set(id, at);
    }
    expire(seen, now);
    // Rewritten even when empty: the file then exists, its name durable, before the first
    // append.
    await this.#rewrite(seen);
    this.#seen = seen;
    return seen;
  }

  /**
   * Rewrites the file with what is remembered, through `<path>.compacting` (beside a
   * journal `J` the log is `J.deliveries`, whose extension swapped would be the journal's
   * own `J.compacting`).
   */
  async #rewrite(seen: Map<string, number>): Promise<void> {
    let text = '';
    for (const [id, at] of seen) text += line(at, id);
    await rewriteDurably(
      this.#fs,
      this.path,
      utf8.encode(text),
      (what, thrown) => this.#error(what, thrown),
      `${this.path}.compacting`,
    );
    this.#lines = seen.size;
    this.#torn = false;
  }
}

/** Forgets the ids first delivered a window or more before `now` (the oldest come first). */
function expire(seen: Map<string, number>, now: number): void {
  for (const [id, at] of seen) {
    if (at + DELIVERY_WINDOW_MS > now) return;
    seen.delete(id);
  }
}
