// The package's FileJournal (Node): the Rust FileJournal's file and rules. A round trip, a
// torn last line, bad lines named, settled ids refused for 30 days, no secret written; the
// same file read by the Rust `drops fulfill --journal file:PATH` and back; and drains against
// the fake Twitch whose Node process is SIGKILLed mid-grant, then rerun to the end.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { DropsClient, FileJournal, JournalError } from 'twitch-drops';
import { count, startFake } from './fake.mjs';

const GAME = '509658';
const DAY = 24 * 60 * 60 * 1000;
const CHILD = fileURLToPath(new URL('./file-journal-child.mjs', import.meta.url));

const granting = (id, user = 'u') => ({ op: 'granting', id, user_id: user, benefit_id: 'b', game_id: 'g' });
const granted = (id) => ({ op: 'granted', id });
const settled = (id) => ({ op: 'settled', id });

/** A fresh folder, removed after `body`. */
async function inFolder(body) {
  const dir = mkdtempSync(join(tmpdir(), 'drops-file-journal-'));
  try {
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A clock to move by hand. */
function clock(start) {
  const c = { at: start, now: () => c.at };
  return c;
}

const lines = (path) => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');

test('round trip: the core JSON lines, settled stamped; a load compacts to what is open', async () => {
  await inFolder(async (dir) => {
    const path = join(dir, 'journal.jsonl');
    const time = clock(100 * DAY);
    const journal = new FileJournal(path, { now: time.now });
    assert.equal(journal.path, path);
    assert.deepEqual(await journal.load(), [], 'no file yet');
    assert.equal(existsSync(path), false, 'nothing to compact, nothing created');
    assert.deepEqual(await journal.claim([granting('a'), granting('b'), granting('c')]), []);
    await journal.append([granted('a'), settled('a'), { op: 'not_granted', id: 'b' }]);
    await journal.append([granted('c')]);
    assert.deepEqual(lines(path), [
      '{"op":"granting","id":"a","user_id":"u","benefit_id":"b","game_id":"g"}',
      '{"op":"granting","id":"b","user_id":"u","benefit_id":"b","game_id":"g"}',
      '{"op":"granting","id":"c","user_id":"u","benefit_id":"b","game_id":"g"}',
      '{"op":"granted","id":"a"}',
      `{"op":"settled","id":"a","at":${100 * DAY}}`,
      '{"op":"not_granted","id":"b"}',
      '{"op":"granted","id":"c"}',
    ]);
    // Refused at once, by the journal that settled it.
    assert.deepEqual(await journal.claim([granting('a'), granting('d')]), ['a']);

    // A new journal on the file (the next run) recovers c (granted, not marked) and d (in
    // doubt), and compacts the file to them and the settled a.
    const again = new FileJournal(path, { now: time.now });
    assert.deepEqual(await again.load(), [granting('c'), granted('c'), granting('d')]);
    assert.deepEqual(lines(path), [
      `{"op":"settled","id":"a","at":${100 * DAY}}`,
      '{"op":"granting","id":"c","user_id":"u","benefit_id":"b","game_id":"g"}',
      '{"op":"granted","id":"c"}',
      '{"op":"granting","id":"d","user_id":"u","benefit_id":"b","game_id":"g"}',
    ]);
    assert.equal(existsSync(join(dir, 'journal.compacting')), false, 'the temporary file was renamed');
    assert.deepEqual(await again.claim([granting('a')]), ['a']);
  });
});

test('a torn last line is ignored, and gone before the next append', async () => {
  await inFolder(async (dir) => {
    const path = join(dir, 'journal');
    const whole = '{"op":"granting","id":"a","user_id":"u","benefit_id":"b","game_id":"g"}\n';
    // Torn after a record, inside a multi-byte character (not UTF-8), or alone in the file.
    const torn = [
      Buffer.from('{"op":"granted","i'),
      Buffer.concat([Buffer.from('{"op":"granting","id":"caf'), Buffer.from('é').subarray(0, 1)]),
    ];
    for (const tail of torn) {
      writeFileSync(path, Buffer.concat([Buffer.from(whole), tail]));
      const journal = new FileJournal(path);
      assert.deepEqual(await journal.load(), [granting('a')]);
      await journal.append([granted('a')]);
      assert.deepEqual(lines(path), [whole.trim(), '{"op":"granted","id":"a"}']);
    }
    // A crash during a fresh journal's first append leaves a torn line alone.
    writeFileSync(path, '{"op":"granting","id":"a","user');
    const fresh = new FileJournal(path);
    assert.deepEqual(await fresh.load(), []);
    assert.deepEqual(await fresh.claim([granting('b')]), []);
    assert.deepEqual(await new FileJournal(path).load(), [granting('b')]);
    // Appending without a load first: the torn tail is cut, a whole unended record kept.
    writeFileSync(path, `${whole}{"op":"granted","id":"a`);
    await new FileJournal(path).append([granting('c')]);
    assert.deepEqual(lines(path), [whole.trim(), JSON.stringify(granting('c'))]);
    writeFileSync(path, `${whole}{"op":"granted","id":"a"}`);
    await new FileJournal(path).append([granting('c')]);
    assert.deepEqual(lines(path), [whole.trim(), '{"op":"granted","id":"a"}', JSON.stringify(granting('c'))]);
  });
});

test('any other bad line is refused, naming the file and the line', async () => {
  await inFolder(async (dir) => {
    const path = join(dir, 'journal.jsonl');
    const whole = JSON.stringify(granting('a'));
    const cases = [
      [`${whole}\n{"op":"granted","i\n{"op":"granted","id":"a"}\n`, /bad line 2 in .*journal\.jsonl/],
      [`${whole}\n\n{"op":"shipped","id":"a"}\n${whole}\n`, /bad line 3 in .*journal\.jsonl: `op` is "shipped"/],
      [`{"op":"granted","id":7}\n${whole}\n`, /bad line 1 in .*journal\.jsonl: `id` is not a string/],
      // A record this library would never write, even last: refused, not taken for torn.
      [`${whole}\n{"op":"granted","id":"a\\nb"}\n`, /journal .*journal\.jsonl: line 2 \(a `granted` record\) is refused: `id` holds the control character U\+000A/],
      [`{"op":"settled","id":"${'9'.repeat(257)}"}\n`, /line 1 \(a `settled` record\) is refused: `id` is 257 bytes long/],
      [`${whole}\n${'x'.repeat(70000)}\n`, /line 2 is longer than 65536 bytes/],
    ];
    for (const [text, expected] of cases) {
      writeFileSync(path, text);
      const before = readFileSync(path);
      await assert.rejects(new FileJournal(path).load(), (error) => {
        assert.ok(error instanceof JournalError, String(error));
        assert.match(error.message, expected);
        assert.ok(error.message.includes(path), error.message);
        return true;
      });
      assert.deepEqual(readFileSync(path), before, 'a refused file is left as it was');
    }
    // A run on it stops with JournalError before anything is sent.
    writeFileSync(path, cases[0][0]);
    let sent = 0;
    const client = new DropsClient({
      clientId: 'id',
      clientSecret: 'secret',
      fetch: async () => {
        sent += 1;
        return new Response('{}', { status: 500 });
      },
    });
    await assert.rejects(
      client.fulfill({ gameId: GAME, grant: () => 'granted', journal: new FileJournal(path) }),
      (error) => error instanceof JournalError && /load\(\)` failed: bad line 2 in /.test(error.message),
    );
    assert.equal(sent, 0);
    // Records handed to append are checked too; nothing is written.
    writeFileSync(path, '');
    const journal = new FileJournal(path);
    await assert.rejects(journal.append([{ op: 'granted', id: 'a\u2028' }]), /a record to append \(a `granted` record\) is refused/);
    await assert.rejects(journal.append([{ op: 'granted' }]), /a record to append is refused: `id` is not a string/);
    assert.equal(readFileSync(path, 'utf8'), '');
  });
});

test('settled ids are refused by claim for 30 days, kept through compaction, then forgotten', async () => {
  await inFolder(async (dir) => {
    const path = join(dir, 'journal');
    const time = clock(100 * DAY);
    const first = new FileJournal(path, { now: time.now });
    assert.deepEqual(await first.claim([granting('a'), granting('b')]), []);
    await first.append([granted('a'), settled('a')]);

    time.at += 29 * DAY;
    const second = new FileJournal(path, { now: time.now });
    assert.deepEqual(await second.load(), [granting('b')]);
    assert.ok(lines(path).includes(`{"op":"settled","id":"a","at":${100 * DAY}}`));
    assert.deepEqual(await second.claim([granting('a'), granting('c')]), ['a']);
    // A claim before any load reads the file too.
    assert.deepEqual(await new FileJournal(path, { now: time.now }).claim([granting('a')]), ['a']);

    time.at += 2 * DAY;
    const third = new FileJournal(path, { now: time.now });
    await third.load();
    assert.ok(!readFileSync(path, 'utf8').includes('settled'), 'past 30 days its line is dropped');
    assert.deepEqual(await third.claim([granting('a')]), []);

    // A settled line written before lines carried the time counts from its first load.
    writeFileSync(path, '{"op":"settled","id":"old"}\n');
    const legacy = new FileJournal(path, { now: time.now });
    await legacy.load();
    assert.deepEqual(lines(path), [`{"op":"settled","id":"old","at":${time.at}}`]);
    assert.deepEqual(await legacy.claim([granting('old')]), ['old']);
  });
});

test('a run on the fake with a FileJournal: each granted once, no secret in the file, what it settled refused', async () => {
  const fake = await startFake();
  await inFolder(async (dir) => {
    const path = join(dir, 'journal.jsonl');
    const claimed = await count(fake, GAME, 'CLAIMED');
    const client = new DropsClient(fake.clientOptions);
    const given = new Map();
    const grant = ({ entitlement }) => {
      given.set(entitlement.id, (given.get(entitlement.id) ?? 0) + 1);
      return 'granted';
    };
    const report = await client.fulfill({ gameId: GAME, grant, journal: new FileJournal(path) });
    assert.equal(report.fulfilled, claimed);
    const text = readFileSync(path, 'utf8');
    for (const secret of [fake.client_secret, 'access_token', 'Bearer']) {
      assert.ok(!text.includes(secret), `the journal holds no ${secret}`);
    }
    // The next run refuses what the file settled; a run on another client (and another
    // FileJournal object on the same file) would too.
    const settledIds = lines(path).map((l) => JSON.parse(l)).filter((r) => r.op === 'settled').map((r) => r.id);
    assert.equal(new Set(settledIds).size, claimed);
    const stale = await new FileJournal(path).claim(settledIds.slice(0, 3).map((id) => granting(id)));
    assert.deepEqual(stale, settledIds.slice(0, 3));
    assert.ok([...given.values()].every((n) => n === 1));
  }).finally(() => fake.close());
});

test('the Rust drops command reads a file written here, and this journal reads its file', async () => {
  const drops = process.env.DROPS_BIN;
  assert.ok(drops, 'set DROPS_BIN to the drops binary (wasm/test.sh does)');
  const fake = await startFake();
  await inFolder(async (dir) => {
    const path = join(dir, 'journal.jsonl');
    const log = join(dir, 'grants.txt');
    const claimed = (await fake.entitlements()).filter((e) => e.game_id === GAME && e.fulfillment_status === 'CLAIMED');
    const [done, doubt, stale, other] = claimed;
    const record = (e) => ({ op: 'granting', id: e.id, user_id: e.user_id, benefit_id: e.benefit_id, game_id: e.game_id });
    // Written here: `done` granted, not marked; `doubt` in doubt; `stale` settled (a stale
    // listing: Twitch still lists it CLAIMED); then a torn line.
    const journal = new FileJournal(path);
    await journal.load();
    assert.deepEqual(await journal.claim([record(done), record(doubt), record(stale)]), []);
    await journal.append([granted(done.id), granted(stale.id), settled(stale.id)]);
    appendFileSync(path, '{"op":"granted","id":"');

    const { stdout } = await promisify(execFile)(
      drops,
      ['fulfill', '--game', GAME, '--journal', `file:${path}`, '--grant-log', log],
      {
        env: {
          ...process.env,
          TWITCH_CLIENT_ID: fake.client_id,
          TWITCH_CLIENT_SECRET: fake.client_secret,
          TWITCH_HELIX_URL: fake.helix_url,
          TWITCH_AUTH_URL: fake.auth_url,
        },
      },
    );
    const summary = JSON.parse(stdout.trim().split('\n').pop());
    assert.equal(summary.resumed, 1, stdout);
    assert.equal(summary.held_elsewhere, 1, stdout);
    assert.equal(summary.failed, 0, stdout);
    const store = new Map((await fake.entitlements()).map((e) => [e.id, e.fulfillment_status]));
    assert.equal(store.get(done.id), 'FULFILLED', 'marked from this journal, not granted');
    assert.equal(store.get(doubt.id), 'FULFILLED');
    assert.equal(store.get(stale.id), 'CLAIMED', 'refused: settled here');
    assert.equal(store.get(other.id), 'FULFILLED');
    const logged = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
    assert.ok(!logged.includes(done.id) && !logged.includes(stale.id));
    assert.ok(logged.includes(doubt.id) && logged.includes(other.id));
    assert.equal(logged.length, claimed.length - 2);

    // Back: the file the Rust journal compacted and appended to, read here.
    const rust = lines(path).map((l) => JSON.parse(l));
    assert.ok(rust.every((r) => r.op !== 'settled' || Number.isInteger(r.at)), 'stamped by Rust');
    const reread = new FileJournal(path);
    assert.deepEqual(await reread.load(), [], 'nothing left open');
    const ids = claimed.slice(0, 5).map(record);
    assert.deepEqual((await reread.claim(ids)).sort(), claimed.slice(0, 5).map((e) => e.id).sort());
  }).finally(() => fake.close());
});

/** Lines of the grant log the crash child writes: `id resumed` per grant call that gave. */
function grantLog(path) {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => /^\S+ [01]$/.test(l))
    .map((l) => {
      const [id, resumed] = l.split(' ');
      return { id, resumed: resumed === '1' };
    });
}

test('SIGKILLed mid-grant several times, then rerun: all FULFILLED, none granted twice unless resumed', async () => {
  const fake = await startFake(['--entitlements', '2000']);
  await inFolder(async (dir) => {
    const journal = join(dir, 'journal.jsonl');
    const log = join(dir, 'grants.txt');
    const before = (await fake.entitlements()).filter((e) => e.game_id === GAME && e.fulfillment_status === 'CLAIMED');
    assert.ok(before.length > 500, `seeded ${before.length}`);
    const env = {
      ...process.env,
      TWITCH_CLIENT_ID: fake.client_id,
      TWITCH_CLIENT_SECRET: fake.client_secret,
      TWITCH_HELIX_URL: fake.helix_url,
      TWITCH_AUTH_URL: fake.auth_url,
      TWITCH_GAME_ID: GAME,
      JOURNAL: journal,
      GRANT_LOG: log,
    };
    const start = () => {
      // The node process itself (no shell between), so the kill lands on it.
      const child = spawn(process.execPath, [CHILD], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      return { child, exited, output: () => output };
    };

    let kills = 0;
    for (const wait of [40, 150, 90, 250, 60]) {
      const grantsBefore = grantLog(log).length;
      const run = start();
      // Kill once this run has given `wait` more grants: its grants are running.
      let ended = null;
      run.exited.then((how) => (ended = how));
      while (ended === null && grantLog(log).length < grantsBefore + wait) await delay(2);
      if (ended !== null) {
        // It finished first: nothing left to interrupt.
        assert.equal(ended.code, 0, run.output());
        break;
      }
      process.kill(run.child.pid, 'SIGKILL');
      const how = await run.exited;
      assert.equal(how.signal, 'SIGKILL', run.output());
      kills += 1;
      assert.ok(grantLog(log).length > grantsBefore, 'it was granting when killed');
    }
    assert.ok(kills >= 3, `killed ${kills} times mid-grant`);

    const last = start();
    const how = await last.exited;
    assert.equal(how.code, 0, last.output());
    const report = JSON.parse(last.output().trim().split('\n').pop());
    assert.equal(report.left, 0, last.output());

    const after = new Map((await fake.entitlements()).map((e) => [e.id, e.fulfillment_status]));
    assert.equal(await count(fake, GAME, 'CLAIMED'), 0, 'no entitlement left CLAIMED');
    for (const e of before) assert.equal(after.get(e.id), 'FULFILLED', e.id);

    // Every entitlement given; given again only by a grant flagged resumed.
    const calls = grantLog(log);
    const seen = new Set();
    let again = 0;
    for (const { id, resumed } of calls) {
      if (seen.has(id)) {
        assert.ok(resumed, `${id} granted twice without resumed`);
        again += 1;
      }
      seen.add(id);
    }
    assert.deepEqual(seen, new Set(before.map((e) => e.id)));
    assert.ok(calls.some((c) => c.resumed), 'a kill left grants in doubt, resumed on the next run');
    // The journal is left compact-able and holds nothing open.
    assert.deepEqual(await new FileJournal(journal).load(), []);
    console.log(`# ${kills} kills, ${calls.length} grant calls for ${before.length} entitlements, ${again} given again (resumed)`);
  }).finally(() => fake.close());
});
