// A drain with the package's FileJournal, for file-journal.test.mjs to SIGKILL mid-grant:
// every grant call that gives appends `id resumed` (0 or 1) to GRANT_LOG first, so the test
// sees what was given twice and whether the engine flagged it resumed. Prints the report.
//
// Reads TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET, TWITCH_HELIX_URL, TWITCH_AUTH_URL,
// TWITCH_GAME_ID, JOURNAL and GRANT_LOG.
import { appendFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

import { DropsClient, FileJournal } from 'twitch-drops';

const env = process.env;
const client = new DropsClient({
  clientId: env.TWITCH_CLIENT_ID,
  clientSecret: env.TWITCH_CLIENT_SECRET,
  helixUrl: env.TWITCH_HELIX_URL,
  authUrl: env.TWITCH_AUTH_URL,
});

// A game that takes a while per reward, so the kill lands while grants are running. No
// check of its own records on `resumed`: a resumed grant gives again, and the test sees it.
async function grant({ entitlement, resumed }) {
  await delay(Math.random() * 20);
  appendFileSync(env.GRANT_LOG, `${entitlement.id} ${resumed ? 1 : 0}\n`);
  return 'granted';
}

const report = await client.fulfill({
  gameId: env.TWITCH_GAME_ID,
  grant,
  journal: new FileJournal(env.JOURNAL),
});
console.log(JSON.stringify(report));
