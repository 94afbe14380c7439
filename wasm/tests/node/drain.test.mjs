// The main job against the fake Twitch, clean and under faults: list every CLAIMED
// entitlement of a game, mark them FULFILLED, and check the fake's own account of it.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DropsClient } from 'twitch-drops';
import { count, startFake } from './fake.mjs';

const GAME = '509658';

/** Lists every CLAIMED entitlement of GAME, then fulfills them all. */
async function drain(client) {
  const ids = [];
  for await (const e of client.entitlements({ gameId: GAME, status: 'CLAIMED', first: 1000 })) {
    assert.equal(e.gameId, GAME);
    assert.equal(e.fulfillmentStatus, 'CLAIMED');
    ids.push(e.id);
  }
  const report = await client.updateEntitlements(ids, 'FULFILLED');
  return { ids, report };
}

function assertAllFulfilled(ids, report) {
  assert.equal(report.outcomes.length, ids.length);
  assert.deepEqual(report.unconfirmed, []);
  assert.ok(report.outcomes.every((o) => o.status === 'SUCCESS'));
  assert.deepEqual(
    report.outcomes.map((o) => o.id),
    ids,
  );
}

test('clean drain: every CLAIMED entitlement fulfilled once, in the fewest requests', async () => {
  const fake = await startFake();
  try {
    const before = await count(fake, GAME, 'CLAIMED');
    assert.ok(before > 100, `seeded ${before}`);
    const client = new DropsClient(fake.clientOptions);
    assert.equal(client.rateLimit(), null);
    const { ids, report } = await drain(client);
    assert.equal(ids.length, before);
    assertAllFulfilled(ids, report);

    assert.equal(await count(fake, GAME, 'CLAIMED'), 0);
    const stats = await fake.stats();
    assert.equal(stats.duplicate_fulfill_attempts, 0);
    const minimum = Math.ceil(before / 1000) + Math.ceil(before / 100) + 1; // + the token
    assert.equal(client.requestsSent(), minimum);
    assert.equal(stats.requests, minimum);
    const limit = client.rateLimit();
    assert.ok(limit && limit.limit > 0 && limit.resetAt instanceof Date, 'Node sees Ratelimit-*');
  } finally {
    await fake.close();
  }
});

test('401: a revoked app token is fetched anew and the drain completes', async () => {
  const fake = await startFake();
  try {
    await fake.setFaults({ revoke_token_after: 3 });
    const client = new DropsClient(fake.clientOptions);
    const { ids, report } = await drain(client);
    assertAllFulfilled(ids, report);
    assert.equal(await count(fake, GAME, 'CLAIMED'), 0);
    const stats = await fake.stats();
    assert.ok(stats.tokens_issued > 2, `tokens issued: ${stats.tokens_issued}`);
    assert.equal(stats.duplicate_fulfill_attempts, 0);
  } finally {
    await fake.close();
  }
});

test('401: a user token is refreshed, and the rotated refresh token is readable', async () => {
  const fake = await startFake();
  try {
    const all = await fake.entitlements();
    const user = all.find((e) => e.game_id === GAME && e.fulfillment_status === 'CLAIMED').user_id;
    const minted = await fake.userToken(user);
    await fake.setFaults({ revoke_token_after: 1 });
    const client = new DropsClient({
      clientId: fake.client_id,
      accessToken: minted.access_token,
      refreshToken: minted.refresh_token,
      helixUrl: fake.helix_url,
      authUrl: fake.auth_url,
    });
    const { ids, report } = await drain(client);
    assert.ok(ids.length > 0);
    assertAllFulfilled(ids, report);
    const mine = (await fake.entitlements()).filter((e) => e.user_id === user && e.game_id === GAME);
    assert.ok(mine.every((e) => e.fulfillment_status === 'FULFILLED'));
    const token = client.userToken();
    assert.ok(token && token.refreshToken && token.refreshToken !== minted.refresh_token);
    assert.notEqual(token.accessToken, minted.access_token);
  } finally {
    await fake.close();
  }
});

test('429: waited out until the reset, nothing lost or doubled', async () => {
  const fake = await startFake();
  try {
    await fake.setFaults({ rate_limit_every: 3 });
    const client = new DropsClient(fake.clientOptions);
    const { ids, report } = await drain(client);
    assertAllFulfilled(ids, report);
    assert.equal(await count(fake, GAME, 'CLAIMED'), 0);
    const stats = await fake.stats();
    assert.ok(stats.rate_limited >= 2, `429s: ${stats.rate_limited}`);
    assert.equal(stats.duplicate_fulfill_attempts, 0);
    assert.equal(client.requestsSent(), stats.requests);
  } finally {
    await fake.close();
  }
});

test('5xx and HTML 503s: retried, ambiguous PATCHes re-read, never fulfilled twice', async () => {
  const fake = await startFake();
  try {
    await fake.setFaults({ error_5xx_rate: 0.2, html_503_rate: 0.1, rng_seed: 7 });
    const client = new DropsClient(fake.clientOptions);
    const { ids, report } = await drain(client);
    assertAllFulfilled(ids, report);
    assert.equal(await count(fake, GAME, 'CLAIMED'), 0);
    const stats = await fake.stats();
    assert.equal(stats.duplicate_fulfill_attempts, 0);
    const minimum = Math.ceil(ids.length / 1000) + Math.ceil(ids.length / 100) + 1;
    assert.ok(client.requestsSent() > minimum, 'faults cost retries');
  } finally {
    await fake.close();
  }
});

test('lost answers (dropped connections) are re-read, not replayed', async () => {
  const fake = await startFake();
  try {
    await fake.setFaults({ drop_after_apply_rate: 0.15, truncate_after_apply_rate: 0.1, rng_seed: 3 });
    const client = new DropsClient(fake.clientOptions);
    const { ids, report } = await drain(client);
    assertAllFulfilled(ids, report);
    assert.equal(await count(fake, GAME, 'CLAIMED'), 0);
    assert.equal((await fake.stats()).duplicate_fulfill_attempts, 0);
  } finally {
    await fake.close();
  }
});

test('concurrent calls share one token fetch', async () => {
  const fake = await startFake();
  try {
    const client = new DropsClient(fake.clientOptions);
    const pages = await Promise.all(
      [1, 2, 3, 4, 5].map((first) => client.entitlementsPage({ gameId: GAME, first })),
    );
    assert.deepEqual(
      pages.map((p) => p.entitlements.length),
      [1, 2, 3, 4, 5],
    );
    const stats = await fake.stats();
    assert.equal(stats.tokens_issued, 1);
    assert.equal(stats.requests_by_route['POST /oauth2/token'], 1);
    assert.equal(client.requestsSent(), 6);
  } finally {
    await fake.close();
  }
});

test('per-id outcomes: SUCCESS, INVALID_ID, NOT_FOUND, UNAUTHORIZED (foreign game)', async () => {
  const fake = await startFake();
  try {
    const all = await fake.entitlements();
    const ours = all.find((e) => e.game_id === GAME && e.fulfillment_status === 'CLAIMED').id;
    const foreign = all.find((e) => e.game_id === '999999').id;
    const unknown = crypto.randomUUID();
    const client = new DropsClient(fake.clientOptions);
    const report = await client.updateEntitlements(
      [ours, 'not-an-id', unknown, foreign, ours],
      'FULFILLED',
    );
    assert.deepEqual(report, {
      outcomes: [
        { id: ours, status: 'SUCCESS' },
        { id: 'not-an-id', status: 'INVALID_ID' },
        { id: unknown, status: 'NOT_FOUND' },
        { id: foreign, status: 'UNAUTHORIZED' },
      ],
      unconfirmed: [],
    });
  } finally {
    await fake.close();
  }
});

test('the custom fetch carries every request', async () => {
  const fake = await startFake();
  try {
    const seen = [];
    const client = new DropsClient({
      ...fake.clientOptions,
      fetch: async (request) => {
        assert.ok(request instanceof Request);
        seen.push(`${request.method} ${new URL(request.url).pathname}`);
        return fetch(request);
      },
    });
    const { ids, report } = await drain(client);
    assertAllFulfilled(ids, report);
    assert.equal(seen.length, client.requestsSent());
    assert.equal(seen.length, (await fake.stats()).requests);
    assert.equal(seen[0], 'POST /oauth2/token');
    assert.ok(seen.includes('GET /helix/entitlements/drops'));
    assert.ok(seen.includes('PATCH /helix/entitlements/drops'));
  } finally {
    await fake.close();
  }
});

test('paging: one request per page until the cursor is null; breaking out early is fine', async () => {
  const fake = await startFake();
  try {
    const client = new DropsClient(fake.clientOptions);
    const claimed = await count(fake, GAME, 'CLAIMED');
    const sizes = [];
    let last;
    for await (const page of client.entitlementPages({ gameId: GAME, status: 'CLAIMED', first: 100 })) {
      sizes.push(page.entitlements.length);
      last = page;
    }
    assert.equal(sizes.reduce((a, b) => a + b, 0), claimed);
    assert.equal(sizes.length, Math.ceil(claimed / 100));
    assert.equal(last.cursor, null);
    assert.equal(client.requestsSent(), 1 + sizes.length);

    let seen = 0;
    for await (const e of client.entitlements({ gameId: GAME, first: 10 })) {
      assert.equal(typeof e.id, 'string');
      if (++seen === 15) break;
    }
    assert.equal(client.requestsSent(), 1 + sizes.length + 2, 'two pages of 10 for 15 items');
    const resumed = await client.entitlementsPage({ gameId: GAME, first: 10, after: undefined });
    assert.equal(resumed.entitlements.length, 10);
  } finally {
    await fake.close();
  }
});
