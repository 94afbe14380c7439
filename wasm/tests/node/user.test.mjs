// User tokens: the device flow, token validation, analytics and report downloads.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DropsClient, UnauthorizedError } from 'twitch-drops';
import { startFake } from './fake.mjs';

const SCOPE = 'analytics:read:games';

test('device flow, then validate, analytics and a report download as that user', async () => {
  const fake = await startFake();
  try {
    const client = new DropsClient({
      clientId: fake.client_id,
      helixUrl: fake.helix_url,
      authUrl: fake.auth_url,
    });
    await assert.rejects(() => client.entitlementsPage({}), UnauthorizedError);
    assert.equal(client.userToken(), null);

    const code = await client.startDeviceFlow([SCOPE]);
    assert.equal(typeof code.userCode, 'string');
    assert.equal(typeof code.verificationUri, 'string');
    assert.ok(code.interval >= 1 && code.expiresIn > 0);
    assert.deepEqual(code.scopes, [SCOPE]);
    await fake.approveDevice(code.userCode, '100000001');

    const token = await client.finishDeviceFlow(code);
    assert.equal(typeof token.accessToken, 'string');
    assert.equal(typeof token.refreshToken, 'string');
    assert.deepEqual(client.userToken()?.accessToken, token.accessToken);

    const info = await client.validateToken();
    assert.equal(info.clientId, fake.client_id);
    assert.equal(info.userId, '100000001');
    assert.ok(info.scopes.includes(SCOPE));

    const page = await client.gameAnalytics({ gameId: '509658', type: 'overview_v2' });
    assert.ok(page.reports.length > 0);
    const [report] = page.reports;
    assert.equal(report.gameId, '509658');
    assert.equal(report.type, 'overview_v2');
    assert.match(report.url, /^http:\/\/127\.0\.0\.1:\d+\//);
    assert.equal(typeof report.dateRange.startedAt, 'string');

    const csv = await client.downloadReport(report);
    assert.ok(csv instanceof Uint8Array && csv.length > 0);
    assert.match(new TextDecoder().decode(csv).split('\n')[0], /,/);
    const again = await client.downloadReport(report.url);
    assert.deepEqual(again, csv);
  } finally {
    await fake.close();
  }
});

test('analytics dates may be Dates at midnight UTC', async () => {
  const fake = await startFake();
  try {
    const minted = await fake.userToken('100000002', SCOPE);
    const client = new DropsClient({
      clientId: fake.client_id,
      accessToken: minted.access_token,
      refreshToken: minted.refresh_token,
      helixUrl: fake.helix_url,
      authUrl: fake.auth_url,
    });
    const day = 24 * 3600 * 1000;
    const today = Math.floor(Date.now() / day) * day;
    const page = await client.gameAnalytics({
      gameId: '509658',
      startedAt: new Date(today - 30 * day),
      endedAt: new Date(today - 3 * day),
    });
    assert.ok(page.reports.length > 0);
  } finally {
    await fake.close();
  }
});
