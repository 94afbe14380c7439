// The built package in a real headless Chromium: a page served from loopback loads
// pkg/browser.js and drains a viewer's entitlements on the fake Twitch (another origin, so
// CORS applies: the Ratelimit-* headers are hidden, 429s still waited out), refuses a
// client secret, runs the fulfillment engine for a second viewer over the README's
// IndexedDB journal (examples/indexeddb-journal.mjs), and reports what it saw to this test.
//
// Needs Chromium: Debian `apt-get install -y chromium chromium-driver`, or CHROMIUM_BIN.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { count, startFake } from './fake.mjs';

const wasmDir = fileURLToPath(new URL('../..', import.meta.url));
const GAME = '509658';

function findChromium() {
  const candidates = [process.env.CHROMIUM_BIN, 'chromium', 'chromium-browser', 'google-chrome']
    .filter(Boolean);
  for (const name of candidates) {
    if (spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0) return name;
  }
  throw new Error(
    'headless Chromium not found (tried CHROMIUM_BIN, chromium, chromium-browser, ' +
      'google-chrome): install it with `apt-get install -y chromium chromium-driver`',
  );
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

/** Serves the page, the built package under /pkg/, and takes the page's POST /result. */
async function serve() {
  let deliver;
  const result = new Promise((resolve) => (deliver = resolve));
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (req.method === 'POST' && path === '/result') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        res.end();
        deliver(JSON.parse(body));
      });
      return;
    }
    const file =
      path === '/'
        ? join(wasmDir, 'tests/browser/page.html')
        : path === '/page.mjs'
          ? join(wasmDir, 'tests/browser/page.mjs')
          : path === '/examples/indexeddb-journal.mjs'
            ? join(wasmDir, 'examples/indexeddb-journal.mjs')
            : path.startsWith('/pkg/')
            ? join(wasmDir, normalize(path).replace(/^(\.\.[/\\])+/, ''))
            : null;
    try {
      if (!file) throw new Error('not found');
      const body = readFileSync(file);
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: server.address().port, result };
}

test('headless Chromium: the package drains a viewer on the fake, refuses a client secret, and fulfills over IndexedDB', async () => {
  const chromium = findChromium();
  const fake = await startFake();
  const { server, port, result } = await serve();
  const profile = mkdtempSync(join(tmpdir(), 'twitch-drops-chromium-'));
  let browser;
  try {
    // The viewer with the most CLAIMED entitlements of the game, and a token of theirs.
    const claimed = (await fake.entitlements()).filter(
      (e) => e.game_id === GAME && e.fulfillment_status === 'CLAIMED',
    );
    const perUser = new Map();
    for (const e of claimed) perUser.set(e.user_id, (perUser.get(e.user_id) ?? 0) + 1);
    const viewers = [...perUser].sort((a, b) => b[1] - a[1]);
    const [user, theirs] = viewers[0];
    const token = await fake.userToken(user);
    // The next one runs the fulfillment engine over the README's IndexedDB journal.
    const [journalUser, journalTheirs] = viewers[1];
    assert.ok(journalTheirs >= 3, `the second viewer has ${journalTheirs}`);
    const journalToken = await fake.userToken(journalUser);
    // Every 2nd Helix call is a 429, and tokens die after 2 uses (refreshed in the page).
    await fake.setFaults({ rate_limit_every: 2, revoke_token_after: 2 });

    const config = {
      clientId: fake.client_id,
      accessToken: token.access_token,
      refreshToken: token.refresh_token,
      helixUrl: fake.helix_url,
      authUrl: fake.auth_url,
      gameId: GAME,
      journalViewer: { accessToken: journalToken.access_token, refreshToken: journalToken.refresh_token },
    };
    const url = `http://127.0.0.1:${port}/?config=${encodeURIComponent(JSON.stringify(config))}`;
    let stderr = '';
    browser = spawn(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        `--user-data-dir=${profile}`,
        url,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    browser.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
    const exited = new Promise((resolve) => browser.once('exit', resolve));
    let timer;
    const findings = await Promise.race([
      result,
      exited.then((code) => Promise.reject(new Error(`chromium exited (${code}):\n${stderr}`))),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no result from the page in 60 s; chromium said:\n${stderr}`)),
          60_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));

    assert.equal(findings.fatal, undefined, JSON.stringify(findings.fatal));
    assert.equal(findings.secret.invalidInput, true, JSON.stringify(findings.secret));
    assert.equal(findings.secret.dropsError, true);
    assert.equal(findings.secret.name, 'InvalidInputError');
    assert.equal(findings.secret.field, 'clientSecret');
    assert.match(findings.secret.message, /never be used in a browser/);

    assert.equal(findings.fileJournal.invalidInput, true, JSON.stringify(findings.fileJournal));
    assert.match(findings.fileJournal.message, /needs Node.*IndexedDB/);

    assert.equal(findings.listed, theirs);
    assert.equal(findings.fulfilled, theirs);
    assert.deepEqual(findings.statuses, ['SUCCESS']);
    assert.equal(findings.unconfirmed, 0);
    assert.equal(findings.rateLimit, null, 'CORS hides Ratelimit-* from pages');
    assert.equal(findings.refreshed, true, 'the page refreshed the revoked user token');
    assert.equal(findings.validated, user);
    assert.equal(findings.forbidden.httpError, true, JSON.stringify(findings.forbidden));
    assert.equal(findings.forbidden.status, 403);
    assert.equal(findings.forbidden.twitchMessage, 'The organization does not own the game');
    // Issue 16: echoed secrets stay out of errors; requests carry no ambient credentials.
    const echo = findings.echo;
    assert.deepEqual(echo.leaked, [], JSON.stringify(echo));
    assert.equal(echo.redacted, true, 'the echo came back: ' + JSON.stringify(echo));
    assert.ok(echo.requests.length >= 2, 'the token was refused, then the refresh echoed');
    for (const request of echo.requests) {
      assert.equal(request.credentials, 'omit');
      assert.equal(request.referrerPolicy, 'no-referrer');
    }

    // The IndexedDB journal: the granted entitlement marked without a grant, the one in
    // doubt granted as resumed, the rest once each; afterwards nothing open, and what it
    // settled refused.
    const idb = findings.idb;
    assert.equal(idb.listed.length, journalTheirs);
    assert.deepEqual(idb.heldBefore, []);
    assert.equal(idb.run.fulfilled, journalTheirs, JSON.stringify(idb.run));
    assert.equal(idb.run.resumed, 1);
    assert.equal(idb.run.left, 0);
    assert.ok(!idb.grants.some((g) => g.id === idb.granted), 'granted before: only marked');
    assert.deepEqual(idb.grants.filter((g) => g.resumed), [{ id: idb.inDoubt, resumed: true }]);
    assert.deepEqual(idb.grants.map((g) => g.id).sort(), idb.listed.filter((id) => id !== idb.granted).sort());
    assert.deepEqual(idb.openAfter, []);
    assert.deepEqual(idb.heldAfter, idb.listed.slice(0, 3));
    const afterIdb = new Map((await fake.entitlements()).map((e) => [e.id, e.fulfillment_status]));
    for (const id of idb.listed) assert.equal(afterIdb.get(id), 'FULFILLED', id);

    const stats = await fake.stats();
    assert.ok(stats.rate_limited > 0, '429s were served and waited out');
    assert.equal(stats.duplicate_fulfill_attempts, 0);
    const left = (await fake.entitlements()).filter(
      (e) => e.user_id === user && e.game_id === GAME && e.fulfillment_status === 'CLAIMED',
    );
    assert.equal(left.length, 0);
    assert.ok((await count(fake, GAME, 'CLAIMED')) > 0, "other viewers' entitlements untouched");
  } finally {
    if (browser && browser.exitCode === null) {
      const gone = new Promise((resolve) => browser.once('exit', resolve));
      process.kill(-browser.pid, 'SIGTERM');
      await gone;
    }
    rmSync(profile, { recursive: true, force: true });
    server.close();
    await fake.close();
  }
});
