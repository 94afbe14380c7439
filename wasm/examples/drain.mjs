// Drain every CLAIMED entitlement of a game: grant it in the game, then mark it FULFILLED.
//
// Reads TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET and TWITCH_GAME_ID, and optionally
// TWITCH_HELIX_URL / TWITCH_AUTH_URL (e.g. the fake Twitch's URLs). Node >= 18.
import { DropsClient } from 'twitch-drops';

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

// Read every CLAIMED entitlement first, then update: marking items while paging a
// CLAIMED filter could skip some.
const claimed = { gameId: env('TWITCH_GAME_ID'), status: 'CLAIMED', first: 1000 };
const granted = [];
for await (const entitlement of client.entitlements(claimed)) {
  // Your game grants `benefitId` to `userId` here.
  granted.push(entitlement.id);
}

const report = await client.updateEntitlements(granted, 'FULFILLED');
for (const { id, status } of report.outcomes) {
  if (status !== 'SUCCESS') console.error(`not fulfilled: ${id} (${status})`);
}
for (const id of report.unconfirmed) console.error(`unconfirmed: ${id} (re-read it later)`);
console.log(`granted ${granted.length} entitlements in ${client.requestsSent()} requests`);
