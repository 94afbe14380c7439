// An EventSub webhook for the tests: handleEventSub behind a loopback HTTP server, and the
// fake Twitch's route that delivers to it.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import { handleEventSub } from 'twitch-drops';

/** A webhook over `deliveries`, checking `secret`, that records what each request was. */
export async function webhookOver(deliveries, secret) {
  const handled = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const { response, delivery } = await handleEventSub({
        headers: req.headers,
        body: Buffer.concat(chunks),
        secret,
        deliveries,
      });
      handled.push(delivery);
      res.writeHead(response.status, response.headers);
      res.end(response.body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    handled,
    callback: `http://127.0.0.1:${server.address().port}/eventsub`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Has `fake` deliver to `callback`, signed with `secret`; `body` as its deliver route takes. */
export async function deliver(fake, callback, secret, body) {
  const response = await fetch(`${fake.base_url}/_fake/eventsub/deliver`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ callback, secret, ...body }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}
