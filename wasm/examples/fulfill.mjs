// Fulfill every CLAIMED entitlement of a game with the fulfillment engine: each one granted
// in the game once, even across crashes, then marked FULFILLED.
//
// Reads TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET and TWITCH_GAME_ID, and optionally
// TWITCH_HELIX_URL / TWITCH_AUTH_URL (e.g. the fake Twitch's URLs) and JOURNAL (the journal
// file, default drops-journal.jsonl). Node >= 18.
import { open, readFile } from 'node:fs/promises';
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

// The journal makes grants exactly-once across crashes. Here: a file of JSON lines, synced
// on every append (a table in your database works the same way).
const path = process.env.JOURNAL ?? 'drops-journal.jsonl';
const journal = {
  async load() {
    const text = await readFile(path, 'utf8').catch((e) => (e.code === 'ENOENT' ? '' : Promise.reject(e)));
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    // A crash mid-append can tear the last line only.
    return lines.flatMap((line, i) => {
      try {
        return [JSON.parse(line)];
      } catch (error) {
        if (i === lines.length - 1) return [];
        throw error;
      }
    });
  },
  async append(records) {
    const file = await open(path, 'a');
    try {
      await file.appendFile(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
      await file.sync();
    } finally {
      await file.close();
    }
  },
};

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
