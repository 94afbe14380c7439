// Several instances sharing one journal through `journal.claim`, against the fake Twitch:
// each entitlement granted by one of them, the others' settled `heldElsewhere`; a claim
// that fails (or answers something other than the batch's ids) stops the run before its
// batch is granted; a dead instance's claims taken over by the next load.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { DropsClient, JournalError } from 'twitch-drops';
import { count, startFake } from './fake.mjs';

const GAME = '509658';

/**
 * What a studio's database table would hold, kept in a Map: a row per entitlement (state,
 * owner, its granting record). A claim takes an id only when it is new, released
 * (`not_granted`) or already the claimer's, checking and writing without an `await` in
 * between (the atomic step a transaction gives). `dead` holds instances whose claims
 * expired: the next load of another instance takes them over.
 */
function sharedStore() {
  const rows = new Map();
  const dead = new Set();
  /** One instance's journal over the store. */
  const journal = (owner) => {
    const j = {
      claims: 0,
      failClaim: null, // (claimNumber) => answer to give instead, or throws
      failAppend: false,
      async load() {
        await delay(1);
        const records = [];
        for (const [id, row] of rows) {
          if (row.state !== 'granting' && row.state !== 'granted') continue;
          if (row.owner !== owner && !dead.has(row.owner)) continue; // a live instance's
          row.owner = owner;
          records.push(structuredClone(row.record));
          if (row.state === 'granted') records.push({ op: 'granted', id });
        }
        return records;
      },
      async claim(records) {
        await delay(1);
        j.claims += 1;
        if (j.failClaim) return j.failClaim(j.claims);
        const held = [];
        for (const record of records) {
          assert.equal(record.op, 'granting');
          const row = rows.get(record.id);
          if (row === undefined || row.state === 'not_granted' || (row.state === 'granting' && row.owner === owner)) {
            rows.set(record.id, { state: 'granting', owner, record: structuredClone(record) });
          } else {
            held.push(record.id);
          }
        }
        return held;
      },
      async append(records) {
        await delay(1);
        if (j.failAppend) throw new Error(`${owner} died`);
        for (const record of records) {
          assert.notEqual(record.op, 'granting', 'granting records go to claim');
          const row = rows.get(record.id);
          if (row?.owner !== owner) throw new Error(`${owner} does not hold ${record.id}`);
          if (record.op === 'granted') {
            row.state = 'granted';
          } else {
            row.state = record.op;
            row.owner = undefined;
          }
        }
      },
    };
    return j;
  };
  const settled = () => [...rows.values()].filter((row) => row.state === 'settled').length;
  return { rows, dead, journal, settled };
}

/** The game: every reward given, by either instance, with how often. */
function game() {
  const given = new Map();
  const grant = (by) => async ({ entitlement, resumed }) => {
    if (resumed && given.has(entitlement.id)) return 'granted'; // in doubt: checked first
    given.set(entitlement.id, (given.get(entitlement.id) ?? 0) + 1);
    by.add(entitlement.id);
    return 'granted';
  };
  return { given, grant };
}

/** An instance: its own client, journal over the shared store, grants and settlements. */
function instance(fake, store, name, g) {
  const granted = new Set();
  const settlements = [];
  return {
    client: new DropsClient(fake.clientOptions),
    journal: store.journal(name),
    granted,
    settlements,
    held: () => settlements.filter((s) => s.state === 'heldElsewhere'),
    options(extra = {}) {
      // Batches of 100 grants: these tests count claims a batch at a time.
      return {
        gameId: GAME,
        grant: g.grant(granted),
        journal: this.journal,
        onSettled: (s) => settlements.push(s),
        grantsInFlight: 100,
        ...extra,
      };
    },
  };
}

/** Every listed entitlement ends fulfilled or held elsewhere. */
function accounted(report) {
  assert.equal(report.listed, report.fulfilled + report.heldElsewhere, JSON.stringify(report));
  assert.equal(report.left, 0);
}

test('two instances sharing a journal: each entitlement granted once, the other held elsewhere', async () => {
  const fake = await startFake();
  try {
    const n = await count(fake, GAME, 'CLAIMED');
    assert.ok(n > 200, `seeded ${n}`);
    const store = sharedStore();
    const g = game();
    const a = instance(fake, store, 'a', g);
    const b = instance(fake, store, 'b', g);
    // While A grants its first batch (claimed, not yet marked), B's whole run happens: A's
    // first grant starts it and waits for its end.
    let bRun;
    const grantA = g.grant(a.granted);
    const first = a.options({
      grant: async (request) => {
        if (bRun === undefined) {
          bRun = b.client.fulfill(b.options());
          await bRun;
        }
        return grantA(request);
      },
    });
    const aReport = await a.client.fulfill(first);
    const bReport = await bRun;

    assert.equal(bReport.listed, n);
    assert.equal(bReport.heldElsewhere, 100, "A's first batch is left to A");
    assert.equal(bReport.granted, n - 100);
    accounted(bReport);
    // A listed before B ran: the rest of its listing is held too (B settled it).
    assert.equal(aReport.listed, n);
    assert.equal(aReport.granted, 100);
    assert.equal(aReport.heldElsewhere, n - 100);
    accounted(aReport);

    assert.equal(b.held().length, 100);
    assert.equal(a.held().length, n - 100);
    for (const s of a.held()) assert.ok(b.granted.has(s.id), s.id);
    for (const s of b.held()) assert.ok(a.granted.has(s.id), s.id);
    assert.equal(g.given.size, n);
    assert.ok([...g.given.values()].every((times) => times === 1), 'each granted once');
    assert.equal(store.settled(), n);
    assert.equal(await count(fake, GAME, 'CLAIMED'), 0);
    assert.equal((await fake.stats()).duplicate_fulfill_attempts, 0);
  } finally {
    await fake.close();
  }
});

test('two instances running at once drain the fake between them, nothing granted twice', async () => {
  const fake = await startFake();
  try {
    const n = await count(fake, GAME, 'CLAIMED');
    const store = sharedStore();
    const g = game();
    const a = instance(fake, store, 'a', g);
    const b = instance(fake, store, 'b', g);
    const [aReport, bReport] = await Promise.all([a.client.fulfill(a.options()), b.client.fulfill(b.options())]);
    accounted(aReport);
    accounted(bReport);
    assert.equal(aReport.fulfilled + bReport.fulfilled, n);
    assert.equal(aReport.heldElsewhere, a.held().length);
    assert.equal(bReport.heldElsewhere, b.held().length);
    assert.equal(g.given.size, n);
    assert.ok([...g.given.values()].every((times) => times === 1), 'each granted once');
    assert.equal(await count(fake, GAME, 'CLAIMED'), 0);
    assert.equal((await fake.stats()).duplicate_fulfill_attempts, 0);
  } finally {
    await fake.close();
  }
});

test('a claim that fails, or answers anything but ids of its batch, stops the run before its batch is granted', async () => {
  const fake = await startFake();
  try {
    const n = await count(fake, GAME, 'CLAIMED');
    const store = sharedStore();
    const g = game();
    const a = instance(fake, store, 'a', g);
    const answers = [
      [() => Promise.reject(new Error('the database is away')), /`claim\(\)` failed: the database is away/],
      [() => 'e1', /`claim\(\)` must resolve to an array .* it resolved to "e1"/],
      [() => [42], /item 0 is 42/],
      [() => undefined, /it resolved to nothing/],
      [() => ['not-in-the-batch'], /item 0 \("not-in-the-batch"\) is not the id of a record it was given/],
    ];
    for (const [answer, says] of answers) {
      a.journal.failClaim = answer;
      await assert.rejects(a.client.fulfill(a.options()), (error) => {
        assert.ok(error instanceof JournalError, String(error));
        assert.match(error.message, says);
        assert.equal(error.fulfillReport.granted, 0);
        assert.equal(error.fulfillReport.notReached, n);
        return true;
      });
    }
    assert.equal(g.given.size, 0);
    assert.equal(store.rows.size, 0);

    // The second batch's claim fails: it carries the first batch's answers (appended first),
    // so the first is granted and recorded, left for the next run to mark; nothing more.
    a.journal.claims = 0;
    a.journal.failClaim = null;
    const claim = a.journal.claim.bind(a.journal);
    a.journal.claim = async (records) => {
      if (a.journal.claims === 1) throw new Error('the database is away');
      return claim(records);
    };
    const stopped = await a.client.fulfill(a.options()).catch((error) => error);
    assert.ok(stopped instanceof JournalError, String(stopped));
    assert.equal(stopped.fulfillReport.unmarked, 100);
    assert.equal(stopped.fulfillReport.notReached, n - 100);
    assert.equal(g.given.size, 100);
    assert.equal(await count(fake, GAME, 'CLAIMED'), n);
    assert.equal(
      [...store.rows.values()].filter((row) => row.state === 'granted').length,
      100,
      'the first batch recorded granted',
    );
    assert.equal((await fake.stats()).duplicate_fulfill_attempts, 0);
  } finally {
    await fake.close();
  }
});

test("a dead instance's claims are left alone while it lives, then taken over and resumed", async () => {
  const fake = await startFake();
  try {
    const n = await count(fake, GAME, 'CLAIMED');
    const store = sharedStore();
    const g = game();
    const a = instance(fake, store, 'a', g);
    const b = instance(fake, store, 'b', g);
    // A claims and grants its first batch, then dies before recording the answers.
    a.journal.failAppend = true;
    await assert.rejects(a.client.fulfill(a.options()), JournalError);
    assert.equal(a.granted.size, 100);

    // A's claims live: B leaves them to A.
    const first = await b.client.fulfill(b.options());
    assert.equal(first.heldElsewhere, 100);
    assert.equal(first.granted, n - 100);
    accounted(first);
    assert.equal(await count(fake, GAME, 'CLAIMED'), 100);

    // A is dead: B's next load takes its claims over; the grants in doubt are resumed (the
    // game had given them) and marked.
    store.dead.add('a');
    const second = await b.client.fulfill(b.options());
    assert.equal(second.resumed, 100);
    assert.equal(second.fulfilled, 100);
    assert.equal(second.heldElsewhere, 0);
    assert.equal(g.given.size, n);
    assert.ok([...g.given.values()].every((times) => times === 1), 'nothing granted twice');
    assert.equal(store.settled(), n);
    assert.equal(await count(fake, GAME, 'CLAIMED'), 0);
    assert.equal((await fake.stats()).duplicate_fulfill_attempts, 0);
  } finally {
    await fake.close();
  }
});
