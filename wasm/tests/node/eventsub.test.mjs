// EventSub in a Node webhook: the fake Twitch subscribes, challenges and delivers signed
// grants to a real `http` server, which verifies them, answers, drops a replay, refuses a
// stale or forged message with 403, and fulfills what it was pushed.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import {
  Deduplicator,
  DropsClient,
  EventSubError,
  InvalidInputError,
  eventSubResponse,
  handleEventSub,
  verifyEventSub,
} from 'twitch-drops';
import { startFake } from './fake.mjs';
import { deliver, webhookOver } from './webhook.mjs';

const GAME = '509658';
const ORGANIZATION = '6f4d8c2a-3b1e-4a5f-9c7d-2e8b0a1f3c5d';
const SECRET = 'webhook-secret-0123456789';

/** The webhook of a game server: verify, answer, deduplicate, fulfill what is pushed. */
async function webhook(client, grant) {
  const seen = new Deduplicator();
  const log = { messages: [], refused: [], replays: [], reports: [] };
  const journal = { records: [], load: async () => journal.records, append: async (r) => void journal.records.push(...r) };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      let answer;
      try {
        const message = verifyEventSub({ headers: req.headers, body: Buffer.concat(chunks), secret: SECRET });
        log.messages.push(message);
        answer = eventSubResponse(message);
        if (message.type === 'notification' && message.entitlements.length > 0) {
          if (seen.firstTime(message.messageId)) {
            try {
              log.reports.push(await client.fulfillEntitlements(message.entitlements, { grant, journal }));
            } catch (error) {
              seen.forget(message.messageId); // not handled: let Twitch send it again
              answer = { status: 500, headers: {}, body: String(error) };
            }
          } else {
            log.replays.push(message.messageId);
          }
        }
      } catch (error) {
        if (!(error instanceof EventSubError)) throw error;
        log.refused.push(error);
        answer = eventSubResponse(error);
      }
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const callback = `http://127.0.0.1:${server.address().port}/twitch/eventsub`;
  return { server, callback, log, seen, close: () => new Promise((resolve) => server.close(resolve)) };
}

test('a Node webhook: subscribe, verify, answer, drop a replay, refuse stale and forged, fulfill', async () => {
  const fake = await startFake();
  const client = new DropsClient(fake.clientOptions);
  const given = new Map();
  const grant = async ({ entitlement }) => {
    given.set(entitlement.id, (given.get(entitlement.id) ?? 0) + 1);
    return 'granted';
  };
  const hook = await webhook(client, grant);
  try {
    // Subscribing: Twitch (the fake) challenges the callback, which must echo it.
    const subscription = await client.subscribeDropGrants({
      organizationId: ORGANIZATION,
      categoryId: GAME,
      callback: hook.callback,
      secret: SECRET,
    });
    assert.equal(subscription.type, 'drop.entitlement.grant');
    assert.equal(subscription.status, 'webhook_callback_verification_pending');
    assert.deepEqual(subscription.condition, { organization_id: ORGANIZATION, category_id: GAME });
    assert.equal(subscription.transport.callback, hook.callback);
    let status;
    for (let i = 0; i < 100 && status !== 'enabled'; i += 1) {
      await delay(20);
      const listed = await fetch(`${fake.base_url}/_fake/eventsub/subscriptions`).then((r) => r.json());
      status = listed.find((s) => s.id === subscription.id)?.status;
    }
    assert.equal(status, 'enabled', 'the challenge was answered');
    const verification = hook.log.messages.find((m) => m.type === 'verification');
    assert.equal(verification.subscription.id, subscription.id);

    // A delivery of 25 grants: verified, answered 204, fulfilled.
    const send = (body) => deliver(fake, hook.callback, SECRET, body);
    const first = await send({ count: 25 });
    assert.equal(first.status, 204, first.body);
    assert.equal(first.entitlement_ids.length, 25);
    const notification = hook.log.messages.at(-1);
    assert.equal(notification.type, 'notification');
    assert.equal(notification.messageId, first.message_id);
    assert.equal(notification.grants.length, 25);
    assert.deepEqual(notification.entitlements.map((e) => e.id), first.entitlement_ids);
    assert.equal(notification.grants[0].entitlementId, first.entitlement_ids[0]);
    assert.equal(notification.grants[0].organizationId, ORGANIZATION);
    assert.ok(notification.entitlements.every((e) => e.gameId === GAME && e.fulfillmentStatus === 'CLAIMED'));
    assert.equal(notification.rawEvents, null);
    assert.equal(hook.log.reports.length, 1);
    assert.equal(hook.log.reports[0].fulfilled, 25);

    // The same message again: verified and answered, but not acted on twice.
    const replay = await send({ replay: true });
    assert.equal(replay.status, 204);
    assert.equal(replay.message_id, first.message_id);
    assert.deepEqual(hook.log.replays, [first.message_id]);
    assert.equal(hook.log.reports.length, 1);

    // Stale and forged messages are refused with 403 and never reach the game.
    const stale = await send({ count: 3, stale: true });
    assert.equal(stale.status, 403);
    assert.match(stale.body, /old/);
    const forged = await send({ count: 3, bad_signature: true });
    assert.equal(forged.status, 403);
    assert.match(forged.body, /signature/);
    assert.deepEqual(hook.log.refused.map((e) => [e.reason, e.status]), [
      ['staleTimestamp', 403],
      ['badSignature', 403],
    ]);
    assert.ok(hook.log.refused.every((e) => e.kind === 'EventSub' && e.response.status === 403));

    // Everything delivered validly was granted once and is FULFILLED.
    assert.equal(given.size, 25);
    assert.ok([...given.values()].every((times) => times === 1));
    const store = new Map((await fake.entitlements()).map((e) => [e.id, e.fulfillment_status]));
    for (const id of first.entitlement_ids) assert.equal(store.get(id), 'FULFILLED', id);
    for (const id of [...stale.entitlement_ids, ...forged.entitlement_ids]) assert.equal(store.get(id), 'CLAIMED', id);
    assert.equal((await fake.stats()).duplicate_fulfill_attempts, 0);

    // The same subscription again: Twitch answers 409.
    await assert.rejects(
      client.subscribeDropGrants({ organizationId: ORGANIZATION, categoryId: GAME, callback: hook.callback, secret: SECRET }),
      (error) => error.status === 409,
    );
  } finally {
    await hook.close();
    await fake.close();
  }
});

test('verifyEventSub takes the header shapes frameworks give, and refuses what is malformed', () => {
  const missing = () => verifyEventSub({ headers: {}, body: '{}', secret: SECRET });
  assert.throws(missing, (error) => {
    assert.ok(error instanceof EventSubError);
    assert.equal(error.status, 400);
    assert.equal(error.reason, 'missingHeader');
    assert.deepEqual(eventSubResponse(error), error.response);
    assert.equal(error.response.status, 400);
    return true;
  });
  const headers = {
    'twitch-eventsub-message-id': 'm1',
    'twitch-eventsub-message-timestamp': new Date().toISOString(),
    'twitch-eventsub-message-signature': 'sha256=00',
    'twitch-eventsub-message-type': 'notification',
  };
  for (const shape of [headers, new Headers(headers), Object.entries(headers), new Map(Object.entries(headers))]) {
    assert.throws(
      () => verifyEventSub({ headers: shape, body: new TextEncoder().encode('{}'), secret: SECRET }),
      (error) => error instanceof EventSubError && error.reason === 'badSignature' && error.status === 403,
    );
  }
  assert.throws(() => verifyEventSub({ headers, body: 42, secret: SECRET }), InvalidInputError);
  assert.throws(() => verifyEventSub({ headers, body: '{}', secret: SECRET, now: Number.NaN }), InvalidInputError);
});

test('Deduplicator: first time only, forget lets an id through again, windows and capacity', () => {
  const seen = new Deduplicator(2);
  assert.equal(seen.firstTime('a', 0), true);
  assert.equal(seen.firstTime('a', 1), false);
  assert.equal(seen.forget('a'), true);
  assert.equal(seen.firstTime('a', new Date(2)), true);
  assert.equal(seen.firstTime('b', 3), true);
  assert.equal(seen.firstTime('c', 4), true);
  assert.equal(seen.size, 2);
  assert.equal(seen.firstTime('a', 5), true, 'the oldest was forgotten past capacity');
  const windowed = new Deduplicator();
  assert.equal(windowed.firstTime('x', 0), true);
  assert.equal(windowed.firstTime('x', 20 * 60 * 1000 - 1), false);
  assert.equal(windowed.firstTime('x', 20 * 60 * 1000), true);
  assert.throws(() => new Deduplicator(-1), InvalidInputError);
});

test('handleEventSub: the whole webhook in one call, each message acted on once', async () => {
  const fake = await startFake();
  const deliveries = new Deduplicator();
  let failLog = false;
  const log = {
    firstDelivery: async (id, nowMs) => {
      if (failLog) throw new Error('the database is away');
      return deliveries.firstDelivery(id, nowMs);
    },
  };
  const { handled, callback, close } = await webhookOver(log, SECRET);
  try {
    const send = (body) => deliver(fake, callback, SECRET, body);
    const first = await send({ count: 3 });
    assert.equal(first.status, 204);
    assert.equal(handled[0].kind, 'grants');
    assert.equal(handled[0].entitlements.length, 3);
    assert.ok(handled[0].entitlements.every((e) => e.fulfillmentStatus === 'CLAIMED' && e.gameId === GAME));
    const replay = await send({ replay: true });
    assert.equal(replay.status, 204);
    assert.deepEqual(handled[1], { kind: 'repeated', messageId: first.message_id });
    const forged = await send({ count: 1, bad_signature: true });
    assert.equal(forged.status, 403);
    assert.equal(handled[2].kind, 'refused');
    assert.ok(handled[2].error instanceof EventSubError);
    failLog = true;
    const unrecorded = await send({ count: 1 });
    assert.equal(unrecorded.status, 503, 'Twitch is asked to send it again');
    assert.equal(handled[3].kind, 'notRecorded');
    await assert.rejects(
      handleEventSub({ headers: {}, body: '', secret: SECRET, deliveries: {} }),
      (e) => e instanceof InvalidInputError && e.field === 'deliveries',
    );
  } finally {
    await close();
    await fake.close();
  }
});
