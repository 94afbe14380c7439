// The fulfillment engine from JavaScript against the fake Twitch: `client.fulfill` with an
// async grant function, its outcomes, journals (the default in-memory one and a custom
// async one that fails mid-run), and what a stopped run rejects with.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { DropsClient, HttpError, InvalidInputError, JournalError } from 'twitch-drops';
import { count, startFake } from './fake.mjs';

const GAME = '509658';

/** Ids of GAME's entitlements in the fake's store, by status. */
async function store(fake) {
  const all = (await fake.entitlements()).filter((e) => e.game_id === GAME);
  const ids = (status) => new Set(all.filter((e) => e.fulfillment_status === status).map((e) => e.id));
  return { claimed: ids('CLAIMED'), fulfilled: ids('FULFILLED') };
}

/** A game's side: gives each reward once (a `resumed` request is checked first, as advised). */
function game() {
  const given = new Map();
  const calls = { total: 0, resumed: 0, inFlight: 0, maxInFlight: 0 };
  const give = (id) => given.set(id, (given.get(id) ?? 0) + 1);
  return { given, calls, give };
}

test('fulfill drains the fake: every CLAIMED entitlement granted once and FULFILLED', async () => {
  const fake = await startFake();
  try {
    const before = await store(fake);
    const n = before.claimed.size;
    assert.ok(n > 100 && n <= 1000, `seeded ${n}`);
    const client = new DropsClient(fake.clientOptions);
    const { given, calls, give } = game();
    const settled = [];
    const report = await client.fulfill({
      gameId: GAME,
      grant: async ({ entitlement, resumed }) => {
        assert.equal(entitlement.gameId, GAME);
        assert.equal(entitlement.fulfillmentStatus, 'CLAIMED');
        assert.equal(resumed, false);
        calls.inFlight += 1;
        calls.maxInFlight = Math.max(calls.maxInFlight, calls.inFlight);
        await delay(1);
        calls.inFlight -= 1;
        give(entitlement.id);
        return 'granted';
      },
      onSettled: (s) => settled.push(s),
    });

    assert.deepEqual(report, {
      listed: n,
      granted: n,
      fulfilled: n,
      alreadyFulfilled: 0,
      retryLater: 0,
      grantFailed: 0,
      rejected: 0,
      unmarked: 0,
      quarantined: 0,
      notReached: 0,
      heldElsewhere: 0,
      resumed: 0,
      quarantinedUsers: [],
      left: 0,
      interrupted: false,
    });
    assert.deepEqual(new Set(given.keys()), before.claimed);
    assert.ok([...given.values()].every((times) => times === 1), 'each granted once');
    assert.equal(calls.maxInFlight, 1, 'one grant at a time by default');
    assert.equal(settled.length, n);
    assert.ok(settled.every((s) => s.state === 'fulfilled' && typeof s.userId === 'string'));

    const after = await store(fake);
    assert.equal(after.claimed.size, 0);
    for (const id of before.claimed) assert.ok(after.fulfilled.has(id), id);
    const stats = await fake.stats();
    assert.equal(stats.duplicate_fulfill_attempts, 0);
    // One page (it had no cursor: nothing left to pass over again), updates of 100, the token.
    assert.equal(client.requestsSent(), 1 + Math.ceil(n / 100) + 1);
    assert.equal(stats.requests, client.requestsSent());
  } finally {
    await fake.close();
  }
});

test('grant outcomes: retryLater, failed, a throw, a rejection and a wrong answer leave entitlements CLAIMED', async () => {
  const fake = await startFake();
  try {
    const before = await store(fake);
    const n = before.claimed.size;
    const client = new DropsClient(fake.clientOptions);
    const kinds = ['granted', 'retryLater', 'failed', 'throws', 'rejects', 'wrong'];
    const kindOf = new Map();
    const settled = new Map();
    const report = await client.fulfill({
      gameId: GAME,
      grant: ({ entitlement }) => {
        const kind = kinds[kindOf.size % kinds.length];
        kindOf.set(entitlement.id, kind);
        switch (kind) {
          case 'granted':
            return Promise.resolve('granted');
          case 'retryLater':
            return 'retryLater';
          case 'failed':
            return Promise.resolve({ failed: 'no linked account' });
          case 'throws':
            throw new Error('boom');
          case 'rejects':
            return Promise.reject(new TypeError('game service down'));
          default:
            return Promise.resolve('ok');
        }
      },
      onSettled: (s) => {
        settled.set(s.id, s);
        if (s.state === 'retryLater') throw new Error('a throwing onSettled is ignored');
      },
    });
    const of = (kind) => [...kindOf].filter(([, k]) => k === kind).map(([id]) => id);
    assert.equal(kindOf.size, n);
    assert.equal(report.listed, n);
    assert.equal(report.granted, of('granted').length);
    assert.equal(report.fulfilled, of('granted').length);
    assert.equal(report.retryLater, of('retryLater').length);
    assert.equal(report.grantFailed, n - of('granted').length - of('retryLater').length);
    assert.equal(report.left, n - report.fulfilled);

    const reasons = { failed: 'no linked account', throws: 'grant threw: Error: boom',
      rejects: 'grant threw: TypeError: game service down', wrong: `the grant function answered "ok"` };
    for (const [kind, reason] of Object.entries(reasons)) {
      for (const id of of(kind)) {
        const s = settled.get(id);
        assert.equal(s.state, 'grantFailed', kind);
        assert.ok(s.reason.startsWith(reason), `${kind}: ${s.reason}`);
      }
    }
    const after = await store(fake);
    for (const id of of('granted')) assert.ok(after.fulfilled.has(id), id);
    for (const kind of kinds.slice(1)) for (const id of of(kind)) assert.ok(after.claimed.has(id), `${kind} ${id}`);

    // The next run grants only what is still CLAIMED.
    const again = new Set();
    const second = await client.fulfill({
      gameId: GAME,
      grant: async ({ entitlement }) => {
        again.add(entitlement.id);
        return 'granted';
      },
    });
    assert.equal(second.fulfilled, n - of('granted').length);
    assert.deepEqual(again, after.claimed);
    assert.equal(await count(fake, GAME, 'CLAIMED'), 0);
    assert.equal((await fake.stats()).duplicate_fulfill_attempts, 0);
  } finally {
    await fake.close();
  }
});

/** An async journal kept in an array, as a table or a file would keep it. */
function arrayJournal() {
  const journal = {
    records: [],
    appends: 0,
    failAfter: Infinity,
    async load() {
      await delay(1);
      return structuredClone(journal.records);
    },
    async append(records) {
      await delay(1);
      journal.appends += 1;
      if (journal.appends > journal.failAfter) throw new Error('disk full');
      journal.records.push(...structuredClone(records));
    },
  };
  return journal;
}

test('a custom async journal that fails mid-run stops it; the next run grants nothing twice', async () => {
  const fake = await startFake();
  try {
    const before = await store(fake);
    const n = before.claimed.size;
    const client = new DropsClient(fake.clientOptions);
    const { given, calls, give } = game();
    const grant = async ({ entitlement, resumed }) => {
      calls.total += 1;
      if (resumed) {
        calls.resumed += 1;
        // In doubt: the game checks its own records before giving it again.
        if (given.has(entitlement.id)) return 'granted';
      }
      give(entitlement.id);
      return 'granted';
    };
    const journal = arrayJournal();
    // Batches of 100. Appends: intent of batch 1, its grants, its settlement, intent of
    // batch 2; then the record of batch 2's grants fails, as a crash would lose it.
    journal.failAfter = 4;
    // One step at a time, so the appends come in the order counted above (pipelined, batch
    // 2 may be granted before batch 1's PATCH is answered).
    const stopped = await client.fulfill({ gameId: GAME, grant, journal, requestsInFlight: 1, grantsInFlight: 100 }).then(
      () => assert.fail('the run should stop'),
      (error) => error,
    );
    assert.ok(stopped instanceof JournalError, String(stopped));
    assert.equal(stopped.kind, 'Journal');
    assert.match(stopped.message, /disk full/);
    const partial = stopped.fulfillReport;
    assert.equal(partial.granted, 200);
    assert.equal(partial.fulfilled, 100);
    assert.equal(given.size, 200);
    assert.deepEqual(
      journal.records.map((r) => r.op).filter((op, i, all) => all.indexOf(op) === i),
      ['granting', 'granted', 'settled'],
    );
    assert.deepEqual(Object.keys(journal.records[0]).sort(), ['benefit_id', 'game_id', 'id', 'op', 'user_id']);

    journal.failAfter = Infinity;
    const report = await client.fulfill({ gameId: GAME, grant, journal });
    assert.equal(report.resumed, 100, 'batch 2 was in doubt');
    assert.equal(calls.resumed, 100);
    assert.equal(report.fulfilled, n - 100);
    assert.equal(report.left, 0);
    assert.deepEqual(new Set(given.keys()), before.claimed);
    assert.ok([...given.values()].every((times) => times === 1), 'nothing given twice');

    const after = await store(fake);
    assert.equal(after.claimed.size, 0);
    assert.equal(after.fulfilled.size, before.claimed.size + before.fulfilled.size);
    assert.equal((await fake.stats()).duplicate_fulfill_attempts, 0);

    // A journal that cannot be read stops the run before anything is granted.
    const unreadable = { load: async () => { throw new Error('no such table'); }, append: async () => {} };
    await assert.rejects(client.fulfill({ gameId: GAME, grant, journal: unreadable }), (error) => {
      assert.ok(error instanceof JournalError);
      assert.match(error.message, /no such table/);
      assert.equal(error.fulfillReport.listed, 0);
      return true;
    });
    const garbled = { load: async () => [{ op: 'granted' }], append: async () => {} };
    await assert.rejects(client.fulfill({ gameId: GAME, grant, journal: garbled }), JournalError);
  } finally {
    await fake.close();
  }
});

test('a stopped run rejects with its cause and the totals; the next run on the client finishes it', async () => {
  const fake = await startFake();
  try {
    const before = await store(fake);
    const n = before.claimed.size;
    const client = new DropsClient(fake.clientOptions);
    const { given, give } = game();
    // Twitch fails every call once the first batch is granted: its PATCH is retried, then
    // the run stops with the batch granted but not marked.
    const grant = async ({ entitlement }) => {
      give(entitlement.id);
      if (given.size === 100) await fake.setFaults({ error_5xx_rate: 1 });
      return 'granted';
    };
    // One step at a time, so no grant runs ahead of the failing PATCH (pipelined, what the
    // PATCHes in flight can take may be granted first: safe, but not the count below).
    const stopped = await client.fulfill({ gameId: GAME, grant, requestsInFlight: 1 }).catch((error) => error);
    assert.ok(stopped instanceof HttpError, String(stopped));
    assert.equal(stopped.status, 500);
    const partial = stopped.fulfillReport;
    assert.equal(partial.granted, 100);
    assert.equal(partial.unmarked, 100);
    assert.equal(partial.notReached, n - 100);
    assert.equal(partial.fulfilled, 0);

    // Runs on the client's in-memory journal take turns: the second starts when the
    // first has ended, and finds nothing left.
    await fake.setFaults({});
    const run = client.fulfill({ gameId: GAME, grant });
    const next = client.fulfill({ gameId: GAME, grant });
    const report = await run;
    const after = await next;
    assert.equal(after.listed, 0);
    assert.equal(report.fulfilled, n, 'the 100 unmarked are marked, the rest granted');
    assert.equal(report.granted, n - 100);
    assert.equal(report.resumed, 0);
    assert.ok([...given.values()].every((times) => times === 1), 'nothing given twice');
    assert.equal(given.size, n);
    assert.equal(await count(fake, GAME, 'CLAIMED'), 0);
    assert.equal((await fake.stats()).duplicate_fulfill_attempts, 0);
  } finally {
    await fake.close();
  }
});

test('requestsInFlight: Helix requests go side by side, never more than asked, at the minimum count', async () => {
  const runs = {};
  for (const requestsInFlight of [1, 4]) {
    const fake = await startFake();
    try {
      // Each Helix answer takes a while, so requests that may overlap do.
      await fake.setFaults({ latency_ms: 30 });
      let out = 0;
      let most = 0;
      const client = new DropsClient({
        ...fake.clientOptions,
        fetch: async (request) => {
          out += 1;
          most = Math.max(most, out);
          try {
            return await fetch(request);
          } finally {
            out -= 1;
          }
        },
      });
      const { given, give } = game();
      const claimed = (await store(fake)).claimed;
      const report = await client.fulfill({
        gameId: GAME,
        requestsInFlight,
        grant: async ({ entitlement }) => {
          give(entitlement.id);
          return 'granted';
        },
      });
      assert.equal(report.left, 0);
      assert.equal(report.fulfilled, claimed.size);
      assert.deepEqual(new Set(given.keys()), claimed);
      assert.ok([...given.values()].every((times) => times === 1), 'each granted once');
      assert.equal((await fake.stats()).duplicate_fulfill_attempts, 0);
      runs[requestsInFlight] = { most, requests: client.requestsSent(), n: claimed.size };
    } finally {
      await fake.close();
    }
  }
  assert.equal(runs[1].most, 1, 'one at a time');
  assert.ok(runs[4].most > 1 && runs[4].most <= 4, `at most 4 out at once, saw ${runs[4].most}`);
  for (const { requests, n } of Object.values(runs)) {
    // The token, a page per 1000 (and a final one when there were several), a PATCH per 100.
    const pages = Math.ceil(n / 1000) + (n > 1000 ? 1 : 0);
    assert.equal(requests, 1 + pages + Math.ceil(n / 100));
  }
});

test('bad options reject with InvalidInputError before anything is sent', async () => {
  const client = new DropsClient({ clientId: 'c', accessToken: 't', helixUrl: 'http://127.0.0.1:9/helix' });
  const field = async (promise, name) =>
    assert.rejects(promise, (error) => {
      assert.ok(error instanceof InvalidInputError, String(error));
      assert.equal(error.field, name);
      return true;
    });
  const grant = async () => 'granted';
  await field(client.fulfill({ gameId: GAME }), 'grant');
  await field(client.fulfill({ gameId: GAME, grant, journal: { load() {} } }), 'journal');
  const journal = { load() {}, append() {} };
  await field(client.fulfill({ gameId: GAME, grant, journal: { ...journal, claim: 'yes' } }), 'journal.claim');
  await field(client.fulfillEntitlements([], { grant, journal: { ...journal, claim: null } }), 'journal.claim');
  await field(client.fulfill({ gameId: GAME, grant, onSettled: 'log' }), 'onSettled');
  await field(client.fulfill({ gameId: GAME, grant, quarantineAfter: 1.5 }), 'quarantineAfter');
  await field(client.fulfill({ gameId: GAME, grant, requestsInFlight: 0 }), 'requestsInFlight');
  await field(client.fulfill({ gameId: GAME, grant, requestsInFlight: 17 }), 'requestsInFlight');
  await field(client.fulfill({ gameId: ' ', grant }), 'gameId');
  await field(client.fulfill({ gameId: GAME, grant, first: 5 }), 'options');
  await field(client.fulfillEntitlements('e1', { grant }), 'entitlements');
  await field(client.fulfillEntitlements([{ id: 'e1' }], { grant }), 'entitlements');
  await field(client.fulfillEntitlements([], { grant, gameId: GAME }), 'options');
  assert.equal(client.requestsSent(), 0);
});

test('an AbortSignal stops a run gracefully; grantsInFlight grants side by side', async () => {
  const fake = await startFake();
  try {
    const before = await store(fake);
    const n = before.claimed.size;
    const client = new DropsClient(fake.clientOptions);
    const { given, calls, give } = game();
    const controller = new AbortController();
    const grant = async ({ entitlement, resumed }) => {
      calls.total += 1;
      if (resumed) calls.resumed += 1;
      calls.inFlight += 1;
      calls.maxInFlight = Math.max(calls.maxInFlight, calls.inFlight);
      await delay(1);
      calls.inFlight -= 1;
      give(entitlement.id);
      if (given.size === 60) controller.abort();
      return 'granted';
    };
    const first = await client.fulfill({ gameId: GAME, grant, grantsInFlight: 10, signal: controller.signal });
    assert.equal(first.interrupted, true);
    assert.equal(calls.maxInFlight, 10, 'ten grants at once');
    // The batch running when it aborted finished; nothing started after it, and every grant
    // made was recorded and marked.
    assert.equal(first.granted, 60);
    assert.equal(first.fulfilled, 60);
    assert.equal((await store(fake)).claimed.size, n - 60);

    const second = await client.fulfill({ gameId: GAME, grant, grantsInFlight: 10 });
    assert.equal(second.interrupted, false);
    assert.equal(second.resumed, 0, 'nothing was left in doubt');
    assert.equal(second.fulfilled, n - 60);
    assert.equal((await store(fake)).claimed.size, 0);
    assert.equal(given.size, n);
    assert.ok([...given.values()].every((times) => times === 1), 'nothing granted twice');

    // Something else as `signal` is refused, naming it.
    await assert.rejects(
      client.fulfill({ gameId: GAME, grant, signal: 'stop' }),
      (e) => e instanceof InvalidInputError && e.field === 'signal',
    );
  } finally {
    await fake.close();
  }
});

test('a logger hears retries and requests at its level; metrics count them; no secret in a line', async () => {
  const faults = ['--faults', JSON.stringify({ error_5xx_rate: 0.15, spurious_429_rate: 0.1, rng_seed: 5 })];
  const fake = await startFake(faults);
  const second = await startFake(faults);
  try {
    const lines = [];
    const logger = {
      warn: (line) => lines.push(['warn', line]),
      info: (line) => lines.push(['info', line]),
      debug: (line) => lines.push(['debug', line]),
      error: (line) => lines.push(['error', line]),
    };
    const client = new DropsClient({ ...fake.clientOptions, logger, logLevel: 'debug' });
    const report = await client.fulfill({ gameId: GAME, grant: async () => 'granted', grantsInFlight: 100 });
    assert.equal(report.left, 0);
    const metrics = client.metrics();
    const retries = Object.values(metrics.retries).reduce((a, b) => a + b, 0);
    const requests = Object.values(metrics.requests)
      .flatMap((byStatus) => Object.values(byStatus))
      .reduce((a, b) => a + b, 0);
    assert.ok(retries > 0, JSON.stringify(metrics));
    assert.equal(lines.filter(([level, line]) => level === 'warn' && line.startsWith('[twitch_drops::retry]')).length, retries);
    assert.equal(lines.filter(([level, line]) => level === 'debug' && line.startsWith('[twitch_drops::http]')).length, requests);
    assert.equal(metrics.granted, report.granted);
    const stats = await fake.stats();
    assert.equal(requests, stats.requests);
    const injected = Object.values(stats.faults_injected).reduce((a, b) => a + b, 0);
    assert.equal(retries + metrics.updateRereads, injected, JSON.stringify({ metrics, stats }));
    const secret = fake.clientOptions.clientSecret;
    assert.ok(lines.every(([, line]) => !line.includes(secret) && !line.includes('Bearer')));

    // The default level: warnings only; a throwing logger never stops a run.
    const quiet = [];
    const other = new DropsClient({
      ...second.clientOptions,
      logger: {
        warn: (line) => {
          quiet.push(line);
          throw new Error('the logger broke');
        },
      },
    });
    const otherReport = await other.fulfill({ gameId: GAME, grant: async () => 'granted' });
    assert.equal(otherReport.left, 0);
    // Warnings only: retries, and updates whose answer was lost, read back.
    const warned = (line) => line.startsWith('[twitch_drops::retry]') || line.includes('reading its');
    assert.ok(quiet.length > 0 && quiet.every(warned), quiet.join('\n'));
    assert.throws(() => new DropsClient({ ...fake.clientOptions, logLevel: 'loud' }), InvalidInputError);
  } finally {
    await fake.close();
    await second.close();
  }
});
