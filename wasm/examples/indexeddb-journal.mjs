// A fulfillment journal over IndexedDB, for pages and workers: what an interrupted run
// granted survives a closed tab, and ids settled in the last 30 days are refused (a stale
// listing grants nothing twice). Use: client.fulfill({ gameId, grant, journal: indexedDbJournal() }).
// One run at a time per database: in several tabs, run it under a Web Lock
// (navigator.locks.request(name, () => client.fulfill(…))).
const SETTLED_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

const done = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

export function indexedDbJournal(name = 'twitch-drops-journal') {
  const opening = indexedDB.open(name, 1);
  // `open`: one row per entitlement granted or being granted; `settled`: id → when.
  opening.onupgradeneeded = () => {
    opening.result.createObjectStore('open', { keyPath: 'id' });
    opening.result.createObjectStore('settled', { keyPath: 'id' });
  };
  const database = done(opening);

  // One transaction per call; it resolves once committed, and 'strict' durability flushes
  // the commit to disk first.
  async function transaction(work) {
    const tx = (await database).transaction(['open', 'settled'], 'readwrite', { durability: 'strict' });
    const committed = new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
    const result = await work(tx.objectStore('open'), tx.objectStore('settled'));
    await committed;
    return result;
  }

  return {
    // What is still open, and old settled ids forgotten.
    load: () =>
      transaction(async (open, settled) => {
        const oldest = Date.now() - SETTLED_DAYS * DAY_MS;
        for (const row of await done(settled.getAll())) {
          if (row.at < oldest) settled.delete(row.id);
        }
        return (await done(open.getAll())).flatMap((row) =>
          row.granted ? [row.granting, { op: 'granted', id: row.id }] : [row.granting],
        );
      }),
    // Takes each entitlement but those settled within 30 days, which it answers.
    claim: (records) =>
      transaction(async (open, settled) => {
        const oldest = Date.now() - SETTLED_DAYS * DAY_MS;
        const held = [];
        for (const record of records) {
          const row = await done(settled.get(record.id));
          if (row && row.at >= oldest) held.push(record.id);
          else open.put({ id: record.id, granting: record, granted: false });
        }
        return held;
      }),
    append: (records) =>
      transaction(async (open, settled) => {
        for (const record of records) {
          if (record.op === 'granting') open.put({ id: record.id, granting: record, granted: false });
          if (record.op === 'granted') {
            const row = await done(open.get(record.id));
            if (row) open.put({ ...row, granted: true });
          }
          if (record.op === 'not_granted' || record.op === 'settled') open.delete(record.id);
          if (record.op === 'settled') settled.put({ id: record.id, at: Date.now() });
        }
      }),
  };
}
