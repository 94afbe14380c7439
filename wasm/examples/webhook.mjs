// An EventSub webhook for Drops: Twitch pushes each grant as it happens; this server checks
// that the message is Twitch's, answers it, and fulfills the pushed entitlements (granted
// once, even if the same grant is also found by polling or delivered twice).
//
// Reads TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET, TWITCH_ORGANIZATION_ID and EVENTSUB_SECRET
// (10 to 100 characters), and optionally TWITCH_GAME_ID, PORT (default 8080), WEBHOOK_URL
// (the public https address Twitch calls; default http://127.0.0.1:PORT/, enough for the
// fake Twitch) and TWITCH_HELIX_URL / TWITCH_AUTH_URL. Node >= 18.
import { createServer } from 'node:http';
import {
  Deduplicator,
  DropsClient,
  EventSubError,
  HttpError,
  eventSubResponse,
  verifyEventSub,
} from 'twitch-drops';

const env = (name) => {
  if (!process.env[name]) throw new Error(`set ${name}`);
  return process.env[name];
};

const client = new DropsClient({
  clientId: env('TWITCH_CLIENT_ID'),
  clientSecret: env('TWITCH_CLIENT_SECRET'),
  helixUrl: process.env.TWITCH_HELIX_URL,
  authUrl: process.env.TWITCH_AUTH_URL,
});
const secret = env('EVENTSUB_SECRET');
const seen = new Deduplicator();

async function grant({ entitlement, resumed }) {
  // Your game grants `entitlement.benefitId` to `entitlement.userId` here.
  return 'granted';
}

async function answer(headers, body) {
  try {
    const message = verifyEventSub({ headers, body, secret });
    if (message.type === 'notification' && seen.firstTime(message.messageId)) {
      try {
        const report = await client.fulfillEntitlements(message.entitlements, { grant });
        console.log(`fulfilled ${report.fulfilled} of ${message.entitlements.length} pushed entitlements`);
      } catch (error) {
        seen.forget(message.messageId); // not handled: let Twitch send it again
        throw error;
      }
    }
    return eventSubResponse(message); // the challenge for a verification, else 204
  } catch (error) {
    if (error instanceof EventSubError) return eventSubResponse(error); // 403 or 400
    console.error(error);
    return { status: 500, headers: {}, body: '' };
  }
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    const { status, headers, body } = await answer(req.headers, Buffer.concat(chunks));
    res.writeHead(status, headers).end(body);
  });
});

server.listen(Number(process.env.PORT ?? 8080), async () => {
  const callback = process.env.WEBHOOK_URL ?? `http://127.0.0.1:${server.address().port}/`;
  try {
    const subscription = await client.subscribeDropGrants({
      organizationId: env('TWITCH_ORGANIZATION_ID'),
      categoryId: process.env.TWITCH_GAME_ID,
      callback,
      secret,
    });
    console.log(`subscribed ${callback} (${subscription.status})`);
  } catch (error) {
    if (!(error instanceof HttpError && error.status === 409)) throw error;
    console.log(`already subscribed: ${callback}`);
  }
});
