// A fulfillment journal in a file of JSON lines, for Node: the Rust `FileJournal`'s file
// and rules (core/src/journal/file.rs), so either reads what the other wrote.
//
// - One record per line, the core's JSON (`{"op":"granting","id":…}`), a `settled` line
//   stamped with `"at"` (ms since the Unix epoch).
// - `append` resolves once the lines are on disk (fdatasync).
// - A torn last line (a crash mid-append) is ignored on load, and gone before the next
//   append; any other bad line is an error naming the file and the line.
// - `load` compacts the file to the records still open and the `settled` lines of the
//   last 30 days (a temporary file, synced, renamed over, the folder synced).
// - `claim` refuses the ids settled within those 30 days: a stale listing (Twitch listing
//   a FULFILLED entitlement as CLAIMED again) is not granted twice.
//
// The file system calls come from the Node entry point (node.ts); in a browser the class
// exists but refuses to be built.

import { InvalidInputError, JournalError } from './errors.js';
import type { FulfillJournal, JournalRecord } from './types.js';

/** How long settled ids are remembered and refused: the Rust `SETTLED_RETENTION`. */
export const SETTLED_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/** Longest line read (a record this library writes is under 2 KiB: its ids are bounded). */
const MAX_LINE_BYTES = 64 * 1024;

/** Longest id accepted, in bytes (the core's `MAX_ID_BYTES`). */
const MAX_ID_BYTES = 256;

const NEWLINE = 0x0a;

/** The parts of an open file a journal uses (Node's `FileHandle` has them). */
export interface JournalFileHandle {
  writeFile(data: Uint8Array): Promise<void>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** The file system calls a {@link FileJournal} makes (Node's `fs/promises` has them). */
export interface JournalFileSystem {
  readFile(path: string): Promise<Uint8Array>;
  open(path: string, flags: string): Promise<JournalFileHandle>;
  rename(from: string, to: string): Promise<void>;
}

let fileSystem: JournalFileSystem | undefined;

/** Called by the Node entry point with Node's `fs/promises`. */
export function provideFileSystem(fs: JournalFileSystem): void {
  fileSystem = fs;
}

/** Node's file system, or an `InvalidInputError` naming `what` needs it (in a browser). */
export function nodeFileSystem(what: string, field: string): JournalFileSystem {
  if (fileSystem === undefined) {
    throw new InvalidInputError(
      `${what} needs Node (a file system); in a browser, keep it in IndexedDB ` +
        "or on your backend (see the package's README)",
      field,
    );
  }
  return fileSystem;
}

/** Replaces the file at `path` by `bytes`, durably: a temporary file, synced, renamed over, the folder synced. */
export async function rewriteDurably(
  fs: JournalFileSystem,
  path: string,
  bytes: Uint8Array,
  error: (what: string, thrown: unknown) => Error,
  temporary: string = compactingPath(path),
): Promise<void> {
  try {
    const file = await fs.open(temporary, 'w');
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
  } catch (thrown) {
    throw error('cannot write', thrown);
  }
  try {
    await fs.rename(temporary, path);
  } catch (thrown) {
    throw error('cannot replace', thrown);
  }
  await syncFolder(fs, path);
}

/**
 * Syncs the folder of `path`: a rename or a new file lives in its entries. Some systems
 * cannot sync a folder (Windows cannot open one; there the Rust journal renames with
 * MOVEFILE_WRITE_THROUGH, which Node does not offer): the entry is still made.
 */
export async function syncFolder(fs: JournalFileSystem, path: string): Promise<void> {
  try {
    const dir = await fs.open(folder(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Not synced; see above.
  }
}

/** Options of a {@link FileJournal}. */
export interface FileJournalOptions {
  /**
   * The clock that stamps `settled` lines and expires them, in ms since the Unix epoch.
   * Default: `Date.now`.
   */
  now?: () => number;
}

/** What a journal file holds: its records in order, and when each settled id was settled. */
interface Contents {
  records: JournalRecord[];
  /** `null`: a line written before lines carried the time (counts from this load). */
  settledAt: Map<string, number | null>;
  /** The file had bytes (a torn line alone is still something to clean away). */
  nonEmpty: boolean;
}

const utf8 = new TextEncoder();

/** The core's `check_id`: at most 256 bytes, no control character, no U+2028/U+2029. */
function checkId(field: string, value: string): string | null {
  const bytes = utf8.encode(value).length;
  if (bytes > MAX_ID_BYTES) {
    return `\`${field}\` is ${bytes} bytes long; at most ${MAX_ID_BYTES} are accepted`;
  }
  let at = 0;
  for (const c of value) {
    const code = c.codePointAt(0) ?? 0;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029) {
      const hex = code.toString(16).toUpperCase().padStart(4, '0');
      return `\`${field}\` holds the control character U+${hex} at byte ${at}`;
    }
    at += utf8.encode(c).length;
  }
  return null;
}

/** Why `value` is not a journal record (the core's JSON shape), or null when it is one. */
function shapeProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  const fields: Record<string, string[]> = {
    granting: ['id', 'user_id', 'benefit_id', 'game_id'],
    granted: ['id'],
    not_granted: ['id'],
    settled: ['id'],
  };
  if (typeof record.op !== 'string' || !(record.op in fields)) {
    return `\`op\` is ${JSON.stringify(record.op) ?? 'missing'}, not one of granting, granted, not_granted, settled`;
  }
  for (const field of fields[record.op] ?? []) {
    if (typeof record[field] !== 'string') return `\`${field}\` is not a string`;
  }
  return null;
}

/** The record's fields and nothing else (whatever else the object carries is not written). */
function own(record: JournalRecord): JournalRecord {
  switch (record.op) {
    case 'granting':
      return {
        op: 'granting',
        id: record.id,
        user_id: record.user_id,
        benefit_id: record.benefit_id,
        game_id: record.game_id,
      };
    case 'granted':
    case 'not_granted':
    case 'settled':
      return { op: record.op, id: record.id };
  }
}

/** The core's `check_records`: refuses ids this library would never write. */
function checkRecord(journal: string, where: string, record: JournalRecord): void {
  const ids: [string, string][] =
    record.op === 'granting'
      ? [
          ['user_id', record.user_id],
          ['benefit_id', record.benefit_id],
          ['game_id', record.game_id],
          ['id', record.id],
        ]
      : [['id', record.id]];
  for (const [field, value] of ids) {
    const problem = checkId(field, value);
    if (problem !== null) {
      throw new JournalError(
        `${journal}: ${where} (a \`${record.op}\` record) is refused: ${problem}; it was ` +
          'not written by this library: remove it or restore the journal from a backup',
      );
    }
  }
}

/** One JSON line; a `settled` line gets `"at"` after the record's fields. */
function line(record: JournalRecord, atMs: number): string {
  const text = JSON.stringify(own(record));
  return record.op === 'settled' ? `${text.slice(0, -1)},"at":${atMs}}\n` : `${text}\n`;
}

/**
 * The records that keep what is still open, as the core's `Recovery` folds them: granted
 * but not marked (`granting` + `granted`), then grants in doubt (`granting`), each from its
 * entitlement's last `granting` record, in the order ids first appeared.
 */
function stillOpen(records: readonly JournalRecord[]): JournalRecord[] {
  const state = new Map<string, { open: 'inDoubt' | 'granted' | 'closed'; granting: JournalRecord | null }>();
  for (const record of records) {
    let entry = state.get(record.id);
    if (entry === undefined) {
      entry = { open: 'closed', granting: null };
      state.set(record.id, entry);
    }
    if (record.op === 'granting') {
      entry.open = 'inDoubt';
      entry.granting = own(record);
    } else if (record.op === 'granted') {
      entry.open = 'granted';
    } else {
      entry.open = 'closed';
    }
  }
  const granted: JournalRecord[] = [];
  const inDoubt: JournalRecord[] = [];
  for (const [id, { open, granting }] of state) {
    if (granting === null) continue;
    if (open === 'granted') granted.push(granting, { op: 'granted', id });
    else if (open === 'inDoubt') inDoubt.push(granting);
  }
  return [...granted, ...inDoubt];
}

/** `path` with its extension replaced by `.compacting` (Rust's `with_extension`). */
export function compactingPath(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? `${path.slice(0, dot)}.compacting` : `${path}.compacting`;
}

/** The folder holding `path`. */
function folder(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return slash < 0 ? '.' : slash === 0 ? path.slice(0, 1) : path.slice(0, slash);
}

export function errorCode(thrown: unknown): unknown {
  return typeof thrown === 'object' && thrown !== null ? (thrown as { code?: unknown }).code : undefined;
}

export function message(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}

/**
 * A fulfillment journal in a file of JSON lines, for Node: crash-safe, one process at a
 * time. The same file and rules as the Rust `FileJournal` (either reads what the other
 * wrote): appends are on disk before they resolve, a torn last line (a crash mid-append) is
 * ignored, a bad line elsewhere is refused naming the file and line, loading compacts the
 * file, and ids settled within 30 days are refused by `claim` (reported `heldElsewhere`), so
 * a stale listing grants nothing twice. Records carry ids only: no token or secret is ever
 * written.
 *
 * ```js
 * const report = await client.fulfill({ gameId, grant, journal: new FileJournal('drops-journal.jsonl') });
 * ```
 *
 * Node only: in a browser the constructor throws `InvalidInputError`.
 */
export class FileJournal implements FulfillJournal {
  /** Where the journal lives (created on first append). */
  readonly path: string;
  readonly #fs: JournalFileSystem;
  readonly #now: () => number;
  /** The ids settled within the retention, and when; read on first need. */
  #settled: Map<string, number> | null = null;
  /** The file ends with a whole line (just compacted, or checked before appending). */
  #clean = false;
  /** The file's name is on disk (it was renamed into place, or its folder synced). */
  #named = false;
  /** Calls run one after another, in the order they were made. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string, options: FileJournalOptions = {}) {
    const fs = nodeFileSystem('FileJournal', 'journal');
    if (typeof path !== 'string' || path === '') {
      throw new InvalidInputError('invalid `path`: the journal file, a non-empty string', 'path');
    }
    const now = options?.now ?? Date.now;
    if (typeof now !== 'function') {
      throw new InvalidInputError('invalid `now`: a function answering ms since the Unix epoch', 'now');
    }
    this.path = path;
    this.#fs = fs;
    this.#now = now;
  }

  /** Every record still open (oldest first), after compacting the file to them. */
  load(): Promise<JournalRecord[]> {
    return this.#serially(async () => {
      const contents = await this.#read();
      const open = stillOpen(contents.records);
      const now = this.#now();
      const oldest = Math.max(0, now - SETTLED_RETENTION_MS);
      const openIds = new Set(open.map((r) => r.id));
      const settled = new Map<string, number>();
      let text = '';
      for (const [id, stamp] of contents.settledAt) {
        const at = stamp ?? now;
        if (at >= oldest && !openIds.has(id)) {
          settled.set(id, at);
          text += line({ op: 'settled', id }, at);
        }
      }
      for (const record of open) text += line(record, now);
      if (contents.nonEmpty) await this.#rewrite(utf8.encode(text));
      this.#clean = true;
      this.#settled = settled;
      return open;
    });
  }

  /** Appends the batch's `granting` records but those of ids settled within 30 days: those are answered. */
  claim(records: JournalRecord[]): Promise<string[]> {
    return this.#serially(async () => {
      if (!Array.isArray(records)) throw new JournalError(`claim on ${this.path}: takes an array of records`);
      const settled = await this.#settledIds();
      const held = records.filter((r) => settled.has(r.id));
      await this.#append(records.filter((r) => !settled.has(r.id)));
      return held.map((r) => r.id);
    });
  }

  /** Appends records; resolves once they are on disk. */
  append(records: JournalRecord[]): Promise<void> {
    return this.#serially(() => this.#append(records));
  }

  #serially<T>(call: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(call);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #error(what: string, thrown: unknown): JournalError {
    return new JournalError(`${what} ${this.path}: ${message(thrown)}`);
  }

  /** The file's bytes, or none when it does not exist. */
  async #bytes(): Promise<Uint8Array> {
    try {
      return await this.#fs.readFile(this.path);
    } catch (thrown) {
      if (errorCode(thrown) === 'ENOENT') return new Uint8Array(0);
      throw this.#error('cannot read', thrown);
    }
  }

  async #read(): Promise<Contents> {
    const bytes = await this.#bytes();
    const contents: Contents = { records: [], settledAt: new Map(), nonEmpty: bytes.length > 0 };
    const lines: Uint8Array[] = [];
    for (let start = 0; start < bytes.length; ) {
      const end = bytes.indexOf(NEWLINE, start);
      const stop = end < 0 ? bytes.length : end;
      if (stop - start > MAX_LINE_BYTES) {
        throw new JournalError(
          `line ${lines.length + 1} is longer than ${MAX_LINE_BYTES} bytes (no record this ` +
            `library writes is); remove it or restore the journal from a backup: ${this.path}: refused`,
        );
      }
      lines.push(bytes.subarray(start, stop));
      start = stop + 1;
    }
    // Bytes, not text: a line torn inside a multi-byte character is not UTF-8.
    const decoder = new TextDecoder('utf-8', { fatal: true });
    for (const [index, bytesOfLine] of lines.entries()) {
      const number = index + 1;
      let parsed: unknown;
      let problem: string | null;
      try {
        const text = decoder.decode(bytesOfLine);
        if (/^[\t\n\f\r ]*$/.test(text)) continue; // ASCII whitespace only, as in Rust
        parsed = JSON.parse(text);
        problem = shapeProblem(parsed);
      } catch (thrown) {
        problem = message(thrown);
      }
      if (problem !== null) {
        // A crash while appending leaves at most the last line torn.
        if (index === lines.length - 1) break;
        throw new JournalError(`bad line ${number} in ${this.path}: ${problem}`);
      }
      const record = own(parsed as JournalRecord);
      checkRecord(`journal ${this.path}`, `line ${number}`, record);
      if (record.op === 'settled') {
        const stamp = (parsed as { at?: unknown }).at;
        const at = typeof stamp === 'number' && Number.isSafeInteger(stamp) && stamp >= 0 ? stamp : null;
        const known = contents.settledAt.get(record.id);
        contents.settledAt.set(record.id, known === undefined || known === null ? at : at === null ? known : Math.max(known, at));
      }
      contents.records.push(record);
    }
    return contents;
  }

  /** The settled ids of the file, read once. */
  async #settledIds(): Promise<Map<string, number>> {
    if (this.#settled === null) {
      const contents = await this.#read();
      const now = this.#now();
      const oldest = now - SETTLED_RETENTION_MS;
      const settled = new Map<string, number>();
      for (const [id, at] of contents.settledAt) {
        if ((at ?? now) >= oldest) settled.set(id, at ?? now);
      }
      this.#settled = settled;
    }
    return this.#settled;
  }

  /**
   * Makes the file end with a whole line before the first append to it: a torn last line
   * (a crash mid-append, not yet compacted by a load) is cut off, or ended when it holds a
   * whole record. Answers what to write before the records.
   */
  async #cleanTail(): Promise<string> {
    const bytes = await this.#bytes();
    if (bytes.length === 0 || bytes[bytes.length - 1] === NEWLINE) return '';
    const start = bytes.lastIndexOf(NEWLINE) + 1;
    try {
      const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start)));
      if (shapeProblem(parsed) === null) return '\n';
    } catch {
      // Torn: cut below.
    }
    const file = await this.#fs.open(this.path, 'r+');
    try {
      await file.truncate(start);
      await file.datasync();
    } finally {
      await file.close();
    }
    return '';
  }

  async #append(records: JournalRecord[]): Promise<void> {
    if (!Array.isArray(records)) throw new JournalError(`append to ${this.path}: takes an array of records`);
    for (const record of records) {
      const problem = shapeProblem(record);
      if (problem !== null) {
        throw new JournalError(`journal ${this.path}: a record to append is refused: ${problem}`);
      }
      checkRecord(`journal ${this.path}`, 'a record to append', record);
    }
    if (records.length === 0) return;
    const now = this.#now();
    try {
      const before = this.#clean ? '' : await this.#cleanTail();
      this.#clean = true;
      const file = await this.#fs.open(this.path, 'a');
      try {
        await file.writeFile(utf8.encode(before + records.map((r) => line(r, now)).join('')));
        await file.datasync();
      } finally {
        await file.close();
      }
      // A file the append created is durable once its name is: sync the folder once.
      if (!this.#named) await this.#syncFolder();
      this.#named = true;
    } catch (thrown) {
      // What was written may be torn: check the tail again before the next append.
      this.#clean = false;
      throw this.#error('cannot append to', thrown);
    }
    for (const record of records) {
      if (record.op === 'settled') this.#settled?.set(record.id, now);
    }
  }

  /** Replaces the file by `bytes`, durably. */
  async #rewrite(bytes: Uint8Array): Promise<void> {
    await rewriteDurably(this.#fs, this.path, bytes, (what, thrown) => this.#error(what, thrown));
    this.#named = true;
  }

  async #syncFolder(): Promise<void> {
    await syncFolder(this.#fs, this.path);
  }
}
