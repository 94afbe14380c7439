// Issue 16 in JavaScript: a server that echoes the request (client secret, tokens) in its
// error body gets no secret into a thrown error, and no request carries the page's ambient
// credentials or address.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DropsClient, DropsError } from 'twitch-drops';

const CLIENT_SECRET = 'wasm-client-secret-0123456789';
const ACCESS_TOKEN = 'wasm-access-token-0123456789';
const REFRESH_TOKEN = 'wasm-refresh-token-0123456789';
const SECRETS = [CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN];

/** Answers `status` (400 by default) with the whole request (line, headers, body) as
 * Twitch's message. */
async function echo(request, status = 400) {
  const body = request.body ? await request.text() : '';
  const headers = [...request.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
  const message = `${request.method} ${request.url}\n${headers}\n\n${body}`;
  return new Response(JSON.stringify({ error: 'Bad Request', status, message }), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

/** Every string a caller could read or log from `error`, its cause chain included. */
function everything(error) {
  const parts = [];
  for (let e = error; e; e = e.cause) {
    parts.push(String(e), e.stack ?? '', JSON.stringify(e, Object.getOwnPropertyNames(e)));
  }
  return parts.join('\n');
}

/** A client whose server echoes every request; with `helixStatus` 401, Helix refuses the
 * token so that the refresh (refresh token and client secret) is echoed too. */
const withEcho = (credentials, seen, helixStatus) =>
  new DropsClient({
    clientId: 'c',
    ...credentials,
    helixUrl: 'https://api.example.test/helix',
    authUrl: 'https://id.example.test/oauth2',
    fetch: async (request) => {
      seen.push(request);
      const helix = request.url.includes('/helix/');
      return echo(request, helix ? helixStatus : 400);
    },
  });

for (const [name, credentials, helixStatus] of [
  ['client secret', { clientSecret: CLIENT_SECRET }, 400],
  ['access token', { accessToken: ACCESS_TOKEN }, 400],
  [
    'refresh token and client secret',
    { accessToken: ACCESS_TOKEN, refreshToken: REFRESH_TOKEN, clientSecret: CLIENT_SECRET },
    401,
  ],
]) {
  test(`an echoed ${name} never reaches a thrown error`, async () => {
    const seen = [];
    const client = withEcho(credentials, seen, helixStatus);
    let thrown;
    try {
      await client.entitlementsPage({ gameId: '509658' });
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof DropsError, `expected a DropsError, got ${thrown}`);
    const text = everything(thrown);
    for (const secret of SECRETS) {
      assert.ok(!text.includes(secret), `${name}: the error shows ${secret}: ${text}`);
    }
    assert.match(text, /<redacted>/, 'the echo came back, so the test tested something');
    assert.ok(seen.length > 0);
    if (helixStatus === 401) {
      assert.ok(seen.some((r) => r.url.includes('/oauth2/token')), 'the refresh was sent');
    }
    for (const request of seen) {
      assert.equal(request.credentials, 'omit', 'no ambient cookies or HTTP authentication');
      assert.equal(request.referrerPolicy, 'no-referrer');
    }
  });
}

test('a base URL with a password never shows it', () => {
  let thrown;
  try {
    new DropsClient({
      clientId: 'c',
      accessToken: ACCESS_TOKEN,
      helixUrl: 'http://studio:hunter2-password@api.example.test/helix',
    });
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof DropsError);
  const text = everything(thrown);
  assert.match(text, /api\.example\.test/);
  assert.ok(!text.includes('hunter2'), text);
});

test('in Node a Helix redirect is not followed: the token never reaches another host', async () => {
  const { createServer } = await import('node:http');
  const listen = (handler) =>
    new Promise((resolve) => {
      const server = createServer(handler);
      server.listen(0, '127.0.0.1', () => resolve(server));
    });
  const elsewhere = [];
  const other = await listen((req, res) => {
    elsewhere.push(req.headers);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"data":[],"pagination":{}}');
  });
  const target = `http://127.0.0.1:${other.address().port}/helix/entitlements/drops`;
  const helix = await listen((req, res) => {
    res.writeHead(307, { Location: target });
    res.end();
  });
  try {
    const client = new DropsClient({
      clientId: 'c',
      accessToken: ACCESS_TOKEN,
      helixUrl: `http://127.0.0.1:${helix.address().port}/helix`,
    });
    let thrown;
    try {
      await client.entitlementsPage({ gameId: '509658' });
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof DropsError, `a redirect is an error here, got ${thrown}`);
    assert.equal(elsewhere.length, 0, 'the other host received a request');
    assert.ok(!everything(thrown).includes(ACCESS_TOKEN));
  } finally {
    helix.close();
    other.close();
  }
});
