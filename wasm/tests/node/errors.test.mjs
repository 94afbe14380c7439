// Every failure reaches JavaScript as the right Error subclass, with what a caller acts on.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';

import {
  DecodeError,
  DropsClient,
  DropsError,
  HttpError,
  InvalidInputError,
  PartialUpdateError,
  RateLimitedError,
  TransportError,
  UnauthorizedError,
} from 'twitch-drops';
import { startFake } from './fake.mjs';

/** Asserts that `work` rejects (or throws) a `Class` and returns the error. */
async function rejects(work, Class) {
  try {
    await work();
  } catch (error) {
    assert.ok(error instanceof Class, `expected ${Class.name}, got ${error?.name}: ${error?.message}`);
    assert.ok(error instanceof DropsError && error instanceof Error);
    assert.equal(error.name, Class.name);
    assert.equal(typeof error.stack, 'string');
    return error;
  }
  assert.fail(`expected ${Class.name}, nothing was thrown`);
}

const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });

test('bad input is refused before any request, as InvalidInputError naming the field', async () => {
  const fake = await startFake();
  try {
    const client = new DropsClient(fake.clientOptions);
    const first0 = await rejects(() => client.entitlementsPage({ first: 0 }), InvalidInputError);
    assert.equal(first0.field, 'first');
    assert.equal(first0.kind, 'InvalidInput');
    assert.equal(first0.status, null);
    assert.match(first0.message, /first/);

    const ids = Array.from({ length: 101 }, () => crypto.randomUUID());
    const tooMany = await rejects(() => client.entitlementsPage({ ids }), InvalidInputError);
    assert.equal(tooMany.field, 'ids');

    const oneDate = await rejects(
      () => client.gameAnalytics({ gameId: '509658', startedAt: '2025-01-01' }),
      InvalidInputError,
    );
    assert.equal(oneDate.field, 'endedAt');

    const pages = client.entitlements({ first: 1001 });
    assert.equal((await rejects(() => pages.next(), InvalidInputError)).field, 'first');
    assert.equal(
      (await rejects(() => client.entitlementsPage({ status: 'DONE' }), InvalidInputError)).field,
      'status',
    );
    assert.equal(
      (await rejects(() => client.entitlementsPage({ gameID: '1' }), InvalidInputError)).field,
      'query',
    );
    assert.equal(
      (await rejects(() => client.updateEntitlements(['a', ''], 'FULFILLED'), InvalidInputError))
        .field,
      'ids',
    );
    assert.equal(
      (await rejects(() => client.updateEntitlements(['a'], 'DONE'), InvalidInputError)).field,
      'status',
    );
    assert.equal(
      (await rejects(() => client.downloadReport('http://example.com/r.csv'), InvalidInputError))
        .field,
      'url',
    );
    // What TypeScript would refuse, from plain JavaScript: still an InvalidInputError.
    assert.equal(
      (await rejects(() => client.updateEntitlements('abc', 'FULFILLED'), InvalidInputError)).field,
      'ids',
    );
    assert.equal(
      (await rejects(() => client.updateEntitlements([1, 2], 'FULFILLED'), InvalidInputError)).field,
      'ids',
    );
    assert.equal((await rejects(() => client.updateEntitlements(['a']), InvalidInputError)).field, 'status');
    assert.equal((await rejects(() => client.entitlementsPage(null), InvalidInputError)).field, 'query');
    assert.equal((await rejects(() => client.startDeviceFlow('scope'), InvalidInputError)).field, 'scopes');

    assert.equal(client.requestsSent(), 0);
    assert.equal((await fake.stats()).requests, 0);
  } finally {
    await fake.close();
  }
});

test('bad options are refused at construction', async () => {
  const field = async (options) => (await rejects(() => new DropsClient(options), InvalidInputError)).field;
  assert.equal(await field({ clientId: '' }), 'clientId');
  assert.equal(await field({ clientId: 'c', helixUrl: 'http://example.com/helix' }), 'helixUrl');
  assert.equal(await field({ clientId: 'c', refreshToken: 'r' }), 'refreshToken');
  assert.equal(await field({ clientId: 'c', fetch: 'no' }), 'fetch');
  assert.equal(await field({ clientId: 'c', clientSecrett: 's' }), 'options');
  assert.equal(await field(undefined), 'options');
  assert.equal(await field({ clientId: 7 }), 'options');
  // Node is a server: a client secret is fine here.
  assert.ok(new DropsClient({ clientId: 'c', clientSecret: 's' }));
});

test('Twitch refusing the game: HttpError with status and message', async () => {
  const fake = await startFake();
  try {
    const client = new DropsClient(fake.clientOptions);
    const error = await rejects(() => client.entitlementsPage({ gameId: '999999' }), HttpError);
    assert.equal(error.status, 403);
    assert.equal(error.kind, 'Http');
    assert.equal(error.twitchMessage, 'The organization does not own the game');
    assert.equal(typeof error.twitchError, 'string');
  } finally {
    await fake.close();
  }
});

test('wrong client secret: UnauthorizedError', async () => {
  const fake = await startFake();
  try {
    const client = new DropsClient({ ...fake.clientOptions, clientSecret: 'wrong' });
    const error = await rejects(() => client.entitlementsPage({}), UnauthorizedError);
    assert.ok(error.status >= 400 && error.status < 500);
    assert.equal((await fake.stats()).requests_by_route['GET /helix/entitlements/drops'], undefined);
  } finally {
    await fake.close();
  }
});

test('nobody listening: a TransportError at once, naming host:port and the cause', async () => {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  const client = new DropsClient({
    clientId: 'c',
    accessToken: 't',
    helixUrl: `http://127.0.0.1:${port}/helix`,
  });
  const error = await rejects(() => client.entitlementsPage({}), TransportError);
  assert.equal(error.transportKind, 'connect', error.message);
  assert.ok(error.message.includes(`127.0.0.1:${port}`), error.message);
  assert.ok(error.message.includes('ECONNREFUSED'), error.message);
  // A client that never reached a server takes it for a wrong URL: no retries.
  assert.equal(client.requestsSent(), 1);
});

test('a host name that does not resolve: a TransportError at once, naming it and the cause', async () => {
  // `.invalid` never resolves (RFC 2606), whatever DNS this machine has.
  const client = new DropsClient({
    clientId: 'c',
    accessToken: 't',
    helixUrl: 'https://drops-test.invalid/helix',
  });
  const error = await rejects(() => client.entitlementsPage({}), TransportError);
  assert.equal(error.transportKind, 'connect', error.message);
  assert.ok(error.message.includes('drops-test.invalid:443'), error.message);
  assert.ok(/ENOTFOUND|EAI_AGAIN/.test(error.message), error.message);
  assert.equal(client.requestsSent(), 1);
});

test('a redirect where Twitch never redirects: an HttpError at once, naming where it pointed', async () => {
  let calls = 0;
  const client = new DropsClient({
    clientId: 'c',
    accessToken: 't',
    fetch: async () => {
      calls += 1;
      return new Response(null, {
        status: 302,
        headers: { Location: 'https://login.example/sso?session=s3cr3t' },
      });
    },
  });
  const error = await rejects(() => client.entitlementsPage({}), HttpError);
  assert.equal(error.status, 302);
  assert.ok(error.message.includes('a redirect to https://login.example/sso,'), error.message);
  assert.ok(!error.message.includes('s3cr3t'), error.message);
  assert.equal(calls, 1, 'not retried');
});

test('a custom fetch that answers no Response: TransportError (refused), not retried', async () => {
  const client = new DropsClient({ clientId: 'c', accessToken: 't', fetch: async () => 'nope' });
  const error = await rejects(() => client.entitlementsPage({}), TransportError);
  assert.equal(error.transportKind, 'refused');
  assert.equal(client.requestsSent(), 1);
});

test('rate limited past the allowed waits: RateLimitedError with the reset time', async () => {
  const resetSecs = Math.floor(Date.now() / 1000);
  const client = new DropsClient({
    clientId: 'c',
    accessToken: 't',
    fetch: async () =>
      json(
        429,
        { error: 'Too Many Requests', status: 429, message: 'slow down' },
        {
          'Ratelimit-Limit': '800',
          'Ratelimit-Remaining': '0',
          'Ratelimit-Reset': String(resetSecs),
        },
      ),
  });
  const error = await rejects(() => client.entitlementsPage({}), RateLimitedError);
  assert.equal(error.status, 429);
  assert.ok(error.resetAt instanceof Date);
  assert.equal(error.resetAt.getTime(), resetSecs * 1000);
  assert.equal(client.requestsSent(), 9, 'one try and eight waits');
  assert.equal(client.rateLimit().remaining, 0);
});

test('an unreadable 2xx body: DecodeError after the retries', async () => {
  const client = new DropsClient({
    clientId: 'c',
    accessToken: 't',
    fetch: async () => new Response('{"data": [', { status: 200 }),
  });
  const error = await rejects(() => client.entitlementsPage({}), DecodeError);
  assert.equal(error.context, 'entitlements page');
});

test('an update stopped part way: PartialUpdateError with the report so far', async () => {
  const fake = await startFake();
  try {
    const ids = (await fake.entitlements())
      .filter((e) => e.game_id === '509658' && e.fulfillment_status === 'CLAIMED')
      .slice(0, 250)
      .map((e) => e.id);
    let patches = 0;
    const client = new DropsClient({
      ...fake.clientOptions,
      fetch: async (request) => {
        if (request.method === 'PATCH' && ++patches > 1) {
          return json(403, { error: 'Forbidden', status: 403, message: 'no more' });
        }
        return fetch(request);
      },
    });
    const error = await rejects(() => client.updateEntitlements(ids, 'FULFILLED'), PartialUpdateError);
    assert.equal(error.report.outcomes.length, 100);
    assert.ok(error.report.outcomes.every((o) => o.status === 'SUCCESS'));
    assert.deepEqual(error.report.unconfirmed, ids.slice(100));
    assert.ok(error.cause instanceof HttpError);
    assert.equal(error.cause.status, 403);
    assert.equal(error.status, 403);
    assert.equal(error.twitchMessage, 'no more');
  } finally {
    await fake.close();
  }
});

test('a fixed token that Twitch rejects: UnauthorizedError, no renewal possible', async () => {
  const fake = await startFake();
  try {
    const client = new DropsClient({
      clientId: fake.client_id,
      accessToken: 'revoked',
      helixUrl: fake.helix_url,
      authUrl: fake.auth_url,
    });
    const error = await rejects(() => client.entitlementsPage({}), UnauthorizedError);
    assert.equal(error.status, 401);
  } finally {
    await fake.close();
  }
});
