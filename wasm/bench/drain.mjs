// Measures the main job in Node: drain N seeded entitlements from a fresh fake Twitch
// (list every CLAIMED one of the game, then fulfill them); then the same with the
// fulfillment engine (`client.fulfill`, a grant per entitlement, with the client's
// in-memory journal and again with an async JS journal), each on a fresh fake with the
// same seed; and, when DROPS_BIN names the Rust `drops` command, `drops fulfill` too.
//
//   FAKE_TWITCH_BIN=target/release/fake-twitch [DROPS_BIN=target/release/drops] \
//     node bench/drain.mjs [N=20000]
// Prints one JSON line per run: listed, fulfilled, requests (and the minimum,
// ceil(n/1000) + ceil(n/100) + 1 token; the engine adds one page for its final pass over
// the list), seconds.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { DropsClient } from 'twitch-drops';
import { count, startFake } from '../tests/node/fake.mjs';

const n = Number(process.argv[2] ?? 20000);
const GAME = '509658';
const minimum = (claimed) => Math.ceil(claimed / 1000) + Math.ceil(claimed / 100) + 1;
// The engine's final pass over the list reads one more page when the first pass had several.
const engineMinimum = (claimed) => minimum(claimed) + (claimed > 1000 ? 1 : 0);

{
  const fake = await startFake(['--entitlements', String(n)]);
  const claimed = await count(fake, GAME, 'CLAIMED');
  const client = new DropsClient(fake.clientOptions);
  const started = performance.now();
  const ids = [];
  for await (const e of client.entitlements({ gameId: GAME, status: 'CLAIMED', first: 1000 })) {
    ids.push(e.id);
  }
  const listed = performance.now();
  const report = await client.updateEntitlements(ids, 'FULFILLED');
  const done = performance.now();
  const stats = await fake.stats();
  console.log(
    JSON.stringify({
      run: 'node (twitch-drops wasm)',
      seeded: n,
      listed: ids.length,
      fulfilled: report.outcomes.filter((o) => o.status === 'SUCCESS').length,
      left: await count(fake, GAME, 'CLAIMED'),
      duplicates: stats.duplicate_fulfill_attempts,
      requests: client.requestsSent(),
      minimum: minimum(claimed),
      seconds: Number(((done - started) / 1000).toFixed(3)),
      list_seconds: Number(((listed - started) / 1000).toFixed(3)),
      update_seconds: Number(((done - listed) / 1000).toFixed(3)),
      fake_busy_seconds: stats.busy_micros / 1e6,
    }),
  );
  await fake.close();
}

/** `client.fulfill` over a fresh fake: every grant answers 'granted' after a microtask. */
async function engine(journalKind) {
  const fake = await startFake(['--entitlements', String(n)]);
  const claimed = await count(fake, GAME, 'CLAIMED');
  const client = new DropsClient(fake.clientOptions);
  const records = [];
  const journal =
    journalKind === 'async JS journal'
      ? {
          load: async () => records,
          append: async (batch) => {
            records.push(...batch);
          },
        }
      : undefined;
  let grants = 0;
  const started = performance.now();
  const report = await client.fulfill({
    gameId: GAME,
    journal,
    grant: async () => {
      grants += 1;
      return 'granted';
    },
  });
  const done = performance.now();
  const stats = await fake.stats();
  console.log(
    JSON.stringify({
      run: `node fulfill (twitch-drops wasm engine, ${journalKind})`,
      seeded: n,
      listed: report.listed,
      grants,
      fulfilled: report.fulfilled,
      left: await count(fake, GAME, 'CLAIMED'),
      duplicates: stats.duplicate_fulfill_attempts,
      requests: client.requestsSent(),
      minimum: engineMinimum(claimed),
      seconds: Number(((done - started) / 1000).toFixed(3)),
      journal_records: journal ? records.length : undefined,
      fake_busy_seconds: stats.busy_micros / 1e6,
    }),
  );
  await fake.close();
}

await engine('in-memory journal');
await engine('async JS journal');

if (process.env.DROPS_BIN) {
  const fake = await startFake(['--entitlements', String(n)]);
  const claimed = await count(fake, GAME, 'CLAIMED');
  const dir = mkdtempSync(join(tmpdir(), 'drops-bench-'));
  const started = performance.now();
  const { stdout } = await promisify(execFile)(
    process.env.DROPS_BIN,
    ['fulfill', '--game', GAME, '--grant-log', join(dir, 'grants.txt')],
    {
      env: {
        ...process.env,
        TWITCH_CLIENT_ID: fake.client_id,
        TWITCH_CLIENT_SECRET: fake.client_secret,
        TWITCH_HELIX_URL: fake.helix_url,
        TWITCH_AUTH_URL: fake.auth_url,
        // The default journal (SQLite) goes to this run's folder, not the user's state.
        XDG_STATE_HOME: dir,
      },
      maxBuffer: 1 << 26,
    },
  );
  const wall = (performance.now() - started) / 1000;
  rmSync(dir, { recursive: true, force: true });
  const summary = stdout.trim().split('\n').pop();
  console.log(
    JSON.stringify({
      run: 'rust (drops fulfill)',
      seeded: n,
      minimum: engineMinimum(claimed),
      left: await count(fake, GAME, 'CLAIMED'),
      wall_seconds: Number(wall.toFixed(3)),
      summary: JSON.parse(summary),
    }),
  );
  await fake.close();
}
