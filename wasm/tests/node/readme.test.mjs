// The README's JS examples are files under examples/, quoted exactly; they run here against
// the fake Twitch as a user would run them.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

import { count, startFake } from './fake.mjs';
import { deliver } from './webhook.mjs';

const wasmDir = fileURLToPath(new URL('../..', import.meta.url));
// indexeddb-journal.mjs runs in headless Chromium (browser.test.mjs), the others here.
const EXAMPLES = ['examples/drain.mjs', 'examples/fulfill.mjs', 'examples/indexeddb-journal.mjs', 'examples/webhook.mjs'];

/** The code block that follows `example`'s marker in `readme`, or null without a marker. */
function quoted(readme, example) {
  const marker = `<!-- js-example: wasm/${example} -->`;
  const at = readme.indexOf(marker);
  if (at < 0) return null;
  const block = readme.slice(at + marker.length).match(/^\s*```(?:js|javascript)\n([\s\S]*?)```/);
  assert.ok(block, `a js code block follows ${marker}`);
  return block[1];
}

for (const example of EXAMPLES) {
  test(`the README quotes ${example} exactly`, () => {
    const code = readFileSync(join(wasmDir, example), 'utf8');
    const own = quoted(readFileSync(join(wasmDir, 'README.md'), 'utf8'), example);
    assert.equal(own, code, 'wasm/README.md');
    // Once the section is merged into the root README, its copy is checked too.
    const root = join(wasmDir, '..', 'README.md');
    const merged = existsSync(root) ? quoted(readFileSync(root, 'utf8'), example) : null;
    if (merged !== null) assert.equal(merged, code, 'README.md');
  });
}

/** The environment of an example run against `fake`. */
function environment(fake, env) {
  return {
    ...process.env,
    TWITCH_CLIENT_ID: fake.client_id,
    TWITCH_CLIENT_SECRET: fake.client_secret,
    TWITCH_GAME_ID: '509658',
    TWITCH_HELIX_URL: fake.helix_url,
    TWITCH_AUTH_URL: fake.auth_url,
    ...env,
  };
}

/** Runs `example` to its end with the fake's credentials (and `env`) from wasm/. */
function run(example, fake, env = {}) {
  return promisify(execFile)(process.execPath, [example], { cwd: wasmDir, env: environment(fake, env) });
}

test('the drain example drains the fake Twitch', async () => {
  const fake = await startFake();
  try {
    const claimed = await count(fake, '509658', 'CLAIMED');
    const { stdout, stderr } = await run('examples/drain.mjs', fake);
    const requests = Math.ceil(claimed / 1000) + Math.ceil(claimed / 100) + 1;
    assert.equal(stdout, `granted ${claimed} entitlements in ${requests} requests\n`);
    assert.equal(stderr, '');
    assert.equal(await count(fake, '509658', 'CLAIMED'), 0);
    assert.equal((await fake.stats()).duplicate_fulfill_attempts, 0);
  } finally {
    await fake.close();
  }
});

test('the fulfill example drains the fake Twitch through its journal file', async () => {
  const fake = await startFake();
  const dir = mkdtempSync(join(tmpdir(), 'drops-example-'));
  try {
    const claimed = await count(fake, '509658', 'CLAIMED');
    assert.ok(claimed <= 1000, 'one page');
    const journal = join(dir, 'journal.jsonl');
    const { stdout, stderr } = await run('examples/fulfill.mjs', fake, { JOURNAL: journal });
    const requests = 1 + Math.ceil(claimed / 100) + 1;
    assert.equal(stdout, `fulfilled ${claimed} of ${claimed} entitlements in ${requests} requests\n`);
    assert.equal(stderr, '');
    assert.equal(await count(fake, '509658', 'CLAIMED'), 0);
    assert.equal((await fake.stats()).duplicate_fulfill_attempts, 0);
    // Every entitlement went granting → granted → settled through the file.
    const ops = readFileSync(journal, 'utf8').trim().split('\n').map((line) => JSON.parse(line).op);
    for (const op of ['granting', 'granted', 'settled']) {
      assert.equal(ops.filter((o) => o === op).length, claimed, op);
    }
    // A second run recovers nothing and finds nothing left.
    const again = await run('examples/fulfill.mjs', fake, { JOURNAL: journal });
    assert.match(again.stdout, /^fulfilled 0 of 0 entitlements in \d+ requests\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await fake.close();
  }
});

test('the webhook example is subscribed, verified and pushed grants by the fake Twitch', async () => {
  const fake = await startFake();
  const secret = 'example-webhook-secret';
  const server = spawn(process.execPath, ['examples/webhook.mjs'], {
    cwd: wasmDir,
    env: environment(fake, {
      PORT: '0',
      EVENTSUB_SECRET: secret,
      TWITCH_ORGANIZATION_ID: '6f4d8c2a-3b1e-4a5f-9c7d-2e8b0a1f3c5d',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  server.stderr.on('data', (chunk) => (stderr += chunk));
  const lines = createInterface({ input: server.stdout })[Symbol.asyncIterator]();
  const line = async () => (await lines.next()).value;
  try {
    const subscribed = await line();
    const [, callback] = subscribed.match(/^subscribed (\S+) \(webhook_callback_verification_pending\)$/) ?? [];
    assert.ok(callback, `${subscribed} ${stderr}`);
    let status;
    for (let i = 0; i < 100 && status !== 'enabled'; i += 1) {
      await delay(20);
      const subscriptions = await fetch(`${fake.base_url}/_fake/eventsub/subscriptions`).then((r) => r.json());
      status = subscriptions.find((s) => s.callback === callback)?.status;
    }
    assert.equal(status, 'enabled', 'the example answered the challenge');

    const send = (body) => deliver(fake, callback, secret, body);
    const pushed = await send({ count: 10 });
    assert.equal(pushed.status, 204, pushed.body);
    assert.equal(await line(), 'fulfilled 10 of 10 pushed entitlements');
    assert.equal((await send({ replay: true })).status, 204);
    assert.equal((await send({ count: 2, stale: true })).status, 403);
    assert.equal((await send({ count: 2, bad_signature: true })).status, 403);

    const store = new Map((await fake.entitlements()).map((e) => [e.id, e.fulfillment_status]));
    for (const id of pushed.entitlement_ids) assert.equal(store.get(id), 'FULFILLED', id);
    assert.equal((await fake.stats()).duplicate_fulfill_attempts, 0);
  } finally {
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill();
      await exited;
    }
    await fake.close();
  }
  assert.equal(stderr, '');
});
