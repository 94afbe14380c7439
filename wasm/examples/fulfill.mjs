// Fulfill every CLAIMED entitlement of a game with the fulfillment engine: each one granted
// in the game once, even across crashes, then marked FULFILLED.
//
// Reads TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET and TWITCH_GAME_ID, and optionally
// TWITCH_HELIX_URL / TWITCH_AUTH_URL (e.g. the fake Twitch's URLs) and JOURNAL (the journal
// file, default drops-journal.jsonl). Node >= 18.
import { DropsClient, FileJournal } from 'twitch-drops';

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

// The journal makes grants exactly-once across crashes. Here: a file of JSON lines, synced on
// every append (the Rust FileJournal's file; a table in your database works the same way).
const journal = new FileJournal(process.env.JOURNAL ?? 'drops-journal.jsonl');

// Gives the reward in the game. `resumed` means an earlier run may already have given it:
// check your records by `entitlement.id` first. Answer 'granted', 'retryLater' or
// { failed: reason }.
async function grant({ entitlement, resumed }) {
  // Your game grants `entitlement.benefitId` to `entitlement.userId` here.
  return 'granted';
}

try {
  const report = await client.fulfill({ gameId: env('TWITCH_GAME_ID'), grant, journal });
  console.log(
    `fulfilled ${report.fulfilled} of ${report.listed} entitlements in ${client.requestsSent()} requests`,
  );
  if (report.left > 0) console.error(`left CLAIMED for a later run: ${report.left}`);
} catch (error) {
  // The run stopped (Twitch kept failing, the journal failed): run again to finish.
  console.error(`stopped: ${error.message}`, error.fulfillReport ?? '');
  process.exitCode = 1;
}
