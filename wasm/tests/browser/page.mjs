// Runs in headless Chromium, served from loopback, against the fake Twitch on another
// origin (CORS). Posts what it saw to /result for tests/node/browser.test.mjs to check.

const report = (findings) =>
  fetch('/result', { method: 'POST', body: JSON.stringify(findings) });

const describe = (error) => ({
  name: error?.name,
  message: String(error?.message ?? error),
  stack: String(error?.stack ?? ''),
});

window.addEventListener('error', (event) => report({ fatal: describe(event.error) }));
window.addEventListener('unhandledrejection', (event) => report({ fatal: describe(event.reason) }));

const findings = {};
try {
  const { DropsClient, DropsError, FileJournal, InvalidInputError, HttpError } = await import('/pkg/browser.js');
  const config = JSON.parse(new URLSearchParams(location.search).get('config'));
  const urls = { helixUrl: config.helixUrl, authUrl: config.authUrl };

  // A client secret never enters a page.
  try {
    new DropsClient({ clientId: config.clientId, clientSecret: 'secret', ...urls });
    findings.secret = 'accepted';
  } catch (error) {
    findings.secret = {
      ...describe(error),
      invalidInput: error instanceof InvalidInputError,
      dropsError: error instanceof DropsError,
      field: error.field,
    };
  }

  // A file journal needs Node: refused at once, pointing to IndexedDB.
  try {
    new FileJournal('drops-journal.jsonl');
    findings.fileJournal = 'accepted';
  } catch (error) {
    findings.fileJournal = { ...describe(error), invalidInput: error instanceof InvalidInputError };
  }

  // A viewer's own token: drain their CLAIMED entitlements of the game.
  const client = new DropsClient({
    clientId: config.clientId,
    accessToken: config.accessToken,
    refreshToken: config.refreshToken,
    ...urls,
  });
  const ids = [];
  for await (const e of client.entitlements({ gameId: config.gameId, status: 'CLAIMED', first: 1000 })) {
    ids.push(e.id);
  }
  const update = await client.updateEntitlements(ids, 'FULFILLED');
  findings.listed = ids.length;
  findings.statuses = [...new Set(update.outcomes.map((o) => o.status))];
  findings.fulfilled = update.outcomes.length;
  findings.unconfirmed = update.unconfirmed.length;
  findings.rateLimit = client.rateLimit();
  findings.requests = client.requestsSent();
  findings.refreshed = client.userToken()?.refreshToken !== config.refreshToken;
  findings.validated = (await client.validateToken()).userId;

  // Errors keep their class, status and Twitch's message across CORS.
  try {
    await client.entitlementsPage({ gameId: '999999' });
    findings.forbidden = 'allowed';
  } catch (error) {
    findings.forbidden = {
      ...describe(error),
      httpError: error instanceof HttpError,
      status: error.status,
      twitchMessage: error.twitchMessage,
    };
  }

  // A server that echoes the request (bearer token, then the refresh's token) in its error
  // bodies: no secret reaches the thrown error, and no request carries the page's
  // credentials or address.
  const SECRETS = ['page-access-token-0123456789', 'page-refresh-token-0123456789'];
  const seen = [];
  const echoing = new DropsClient({
    clientId: config.clientId,
    accessToken: SECRETS[0],
    refreshToken: SECRETS[1],
    ...urls,
    fetch: async (request) => {
      seen.push({ credentials: request.credentials, referrerPolicy: request.referrerPolicy });
      const body = request.body ? await request.text() : '';
      const headers = [...request.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
      const message = `${request.method} ${request.url}\n${headers}\n\n${body}`;
      const status = request.url.includes('/helix/') ? 401 : 400;
      return new Response(JSON.stringify({ error: 'Echo', status, message }), {
        status,
        headers: { 'Content-Type': 'application/json' },
      });
    },
  });
  try {
    await echoing.entitlementsPage({ gameId: config.gameId });
    findings.echo = 'no error';
  } catch (error) {
    const parts = [];
    for (let e = error; e; e = e.cause) {
      parts.push(String(e), String(e.stack ?? ''), JSON.stringify(e, Object.getOwnPropertyNames(e)));
    }
    const text = parts.join('\n');
    findings.echo = {
      leaked: SECRETS.filter((secret) => text.includes(secret)),
      redacted: text.includes('<redacted>'),
      requests: seen,
    };
  }

  // The README's IndexedDB journal (examples/indexeddb-journal.mjs), for a second viewer:
  // an earlier run left one entitlement granted but not marked and one in doubt; a run on
  // the journal opened anew (a reopened tab) finishes them, then refuses what it settled.
  const { indexedDbJournal } = await import('/examples/indexeddb-journal.mjs');
  const viewer = config.journalViewer;
  const viewerClient = new DropsClient({
    clientId: config.clientId,
    accessToken: viewer.accessToken,
    refreshToken: viewer.refreshToken,
    ...urls,
  });
  const theirs = [];
  for await (const e of viewerClient.entitlements({ gameId: config.gameId, status: 'CLAIMED', first: 1000 })) {
    theirs.push(e);
  }
  const record = (e) => ({ op: 'granting', id: e.id, user_id: e.userId, benefit_id: e.benefitId, game_id: e.gameId });
  const earlier = indexedDbJournal('drops-test');
  await earlier.load();
  const heldBefore = await earlier.claim([record(theirs[0]), record(theirs[1])]);
  await earlier.append([{ op: 'granted', id: theirs[0].id }]);
  const journal = indexedDbJournal('drops-test');
  const grants = [];
  const run = await viewerClient.fulfill({
    gameId: config.gameId,
    journal,
    grant: ({ entitlement, resumed }) => {
      grants.push({ id: entitlement.id, resumed });
      return 'granted';
    },
  });
  findings.idb = {
    listed: theirs.map((e) => e.id),
    heldBefore,
    granted: theirs[0].id,
    inDoubt: theirs[1].id,
    run,
    grants,
    openAfter: await journal.load(),
    heldAfter: await journal.claim(theirs.slice(0, 3).map(record)),
  };
} catch (error) {
  findings.fatal = describe(error);
}
await report(findings);
