// Type-checks typical (and wrong) uses of the package's public surface; compiled with
// `tsc --noEmit -p tests/types` by tests/node/package.test.mjs, never run.

import {
  Deduplicator,
  DropsClient,
  DropsError,
  EventSubError,
  eventSubResponse,
  FileJournal,
  HttpError,
  JournalError,
  verifyEventSub,
  InvalidInputError,
  PartialUpdateError,
  RateLimitedError,
  TransportError,
  type AnalyticsPage,
  type DeviceCode,
  type Entitlement,
  type EntitlementsPage,
  type ErrorKind,
  type EventSubMessage,
  type EventSubReason,
  type EventSubResponse,
  type EventSubSubscription,
  type FetchFunction,
  type FileJournalOptions,
  type FulfillJournal,
  type FulfillReport,
  type GrantFunction,
  type GrantOutcome,
  type JournalRecord,
  type Settlement,
  type RateLimit,
  type TokenInfo,
  type UpdateReport,
  type UpdateStatus,
  type UserToken,
} from 'twitch-drops';

const logging: FetchFunction = async (request) => {
  console.log(request.method, request.url);
  return fetch(request);
};

export async function usage(): Promise<void> {
  const client = new DropsClient({ clientId: 'id', clientSecret: 'secret', fetch: logging });
  new DropsClient({ clientId: 'id', accessToken: 'a', refreshToken: 'r', helixUrl: 'http://127.0.0.1:1/helix' });
  new DropsClient({ clientId: 'id', fetch }); // the global fetch fits

  const page: EntitlementsPage = await client.entitlementsPage({ gameId: '1', first: 1000 });
  const cursor: string | null = page.cursor;
  for await (const e of client.entitlements({ gameId: '1', status: 'CLAIMED' })) {
    const entitlement: Entitlement = e;
    const ids: string[] = [entitlement.id, entitlement.benefitId, entitlement.userId, `${cursor}`];
    const report: UpdateReport = await client.updateEntitlements(ids, 'FULFILLED');
    const status: UpdateStatus | undefined = report.outcomes[0]?.status;
    const unconfirmed: string[] = report.unconfirmed;
    console.log(status, unconfirmed);
  }
  for await (const p of client.entitlementPages({ ids: ['a', 'b'] })) {
    console.log(p.entitlements.length);
  }
  const analytics: AnalyticsPage = await client.gameAnalytics({
    gameId: '1',
    startedAt: new Date(Date.UTC(2025, 0, 1)),
    endedAt: '2025-01-31',
  });
  const first = analytics.reports[0];
  if (first) {
    const csv: Uint8Array = await client.downloadReport(first);
    console.log(csv.length, first.dateRange.startedAt);
  }
  const info: TokenInfo = await client.validateToken();
  const code: DeviceCode = await client.startDeviceFlow(['analytics:read:games']);
  const token: UserToken = await client.finishDeviceFlow(code);
  const saved: UserToken | null = client.userToken();
  const limit: RateLimit | null = client.rateLimit();
  const resetAt: Date | undefined = limit?.resetAt;
  const sent: number = client.requestsSent();
  console.log(info.userId, token.refreshToken, saved, resetAt, sent);

  try {
    await client.updateEntitlements(['a'], 'FULFILLED');
  } catch (error) {
    if (error instanceof PartialUpdateError) {
      const cause: DropsError = error.cause;
      const done: UpdateReport = error.report;
      console.log(cause.kind, done.unconfirmed);
    } else if (error instanceof RateLimitedError) {
      const at: Date | null = error.resetAt;
      console.log(at);
    } else if (error instanceof HttpError) {
      const status: number | null = error.status;
      const message: string | null = error.twitchMessage;
      console.log(status, message, error.twitchError);
    } else if (error instanceof InvalidInputError) {
      const field: string = error.field;
      console.log(field);
    } else if (error instanceof TransportError) {
      console.log(error.transportKind);
    } else if (error instanceof DropsError) {
      const kind: ErrorKind = error.kind;
      console.log(kind);
    }
  }
}

export async function fulfillment(client: DropsClient): Promise<void> {
  const grant: GrantFunction = async ({ entitlement, resumed }) => {
    if (resumed) console.log('check first', entitlement.id);
    const outcome: GrantOutcome = entitlement.userId ? 'granted' : { failed: 'no linked account' };
    return outcome;
  };
  const stored: JournalRecord[] = [];
  const journal: FulfillJournal = {
    load: async () => stored,
    append: async (records) => {
      for (const record of records) {
        if (record.op === 'granting') console.log(record.user_id, record.benefit_id, record.game_id);
        stored.push(record);
      }
    },
  };
  const onSettled = (s: Settlement): void => {
    if (s.state === 'grantFailed') console.log(s.reason);
    else if (s.state === 'rejected') console.log(s.status);
  };
  try {
    const report: FulfillReport = await client.fulfill({ gameId: '1', grant, journal, onSettled, quarantineAfter: 2 });
    const users: string[] = report.quarantinedUsers;
    console.log(report.fulfilled, report.resumed, report.left, users);
  } catch (error) {
    if (error instanceof JournalError || error instanceof HttpError) {
      const partial: FulfillReport | null = error.fulfillReport;
      console.log(partial?.notReached);
    }
  }
  // A journal several instances share: claim answers the ids another instance holds.
  const holders = new Map<string, string>();
  const shared: FulfillJournal = {
    load: () => [],
    append: () => undefined,
    claim: async (records) => {
      const held: string[] = [];
      for (const record of records) {
        if ((holders.get(record.id) ?? 'me') !== 'me') held.push(record.id);
        else holders.set(record.id, 'me');
      }
      return held;
    },
  };
  const sharedReport = await client.fulfill({ gameId: '1', grant, journal: shared });
  console.log(sharedReport.heldElsewhere);
  // Node's file journal: a FulfillJournal, its clock replaceable.
  const options: FileJournalOptions = { now: () => Date.now() };
  const file: FulfillJournal = new FileJournal('drops-journal.jsonl', options);
  const open: JournalRecord[] = await new FileJournal('j').load();
  const held: string[] = await new FileJournal('j').claim(open);
  console.log(held, new FileJournal('j').path, (await client.fulfill({ gameId: '1', grant, journal: file })).left);
  // A sync grant and the default journal.
  await client.fulfill({ gameId: '1', userId: 'u', grant: () => 'retryLater' });

  // A webhook: verify, answer, deduplicate, fulfill.
  const seen = new Deduplicator();
  const body = new Uint8Array();
  let answer: EventSubResponse;
  try {
    const message: EventSubMessage = verifyEventSub({ headers: { 'x-a': ['1', '2'] }, body, secret: 's', now: new Date() });
    verifyEventSub({ headers: new Headers(), body: '{}', secret: 's' });
    verifyEventSub({ headers: [['a', 'b']], body, secret: 's', now: Date.now() });
    if (message.type === 'notification' && seen.firstTime(message.messageId)) {
      await client.fulfillEntitlements(message.entitlements, { grant });
      console.log(message.grants[0]?.userLogin, message.rawEvents);
    } else if (message.type === 'verification') {
      const challenge: string = message.challenge;
      console.log(challenge);
    }
    answer = eventSubResponse(message);
  } catch (error) {
    if (!(error instanceof EventSubError)) throw error;
    const status: number = error.status;
    const reason: EventSubReason = error.reason;
    console.log(status, reason);
    answer = eventSubResponse(error);
  }
  console.log(answer.status, answer.headers['Content-Type'], answer.body, seen.size, seen.forget('m'));
  const subscription: EventSubSubscription = await client.subscribeDropGrants({
    organizationId: 'o',
    categoryId: '1',
    callback: 'https://example.com/webhook',
    secret: '0123456789',
  });
  console.log(subscription.status, subscription.condition['organization_id']);
}

export async function fulfillmentMisuse(client: DropsClient, message: EventSubMessage): Promise<void> {
  // @ts-expect-error grant is required
  await client.fulfill({ gameId: '1' });
  // @ts-expect-error not an outcome
  await client.fulfill({ gameId: '1', grant: async () => 'done' });
  // @ts-expect-error failed carries a reason
  await client.fulfill({ gameId: '1', grant: async () => ({ failed: true }) });
  // @ts-expect-error a journal has load and append
  await client.fulfill({ gameId: '1', grant: () => 'granted', journal: { load: async () => [] } });
  // @ts-expect-error a claim answers ids (strings)
  await client.fulfill({ gameId: '1', grant: () => 'granted', journal: { load: () => [], append: () => undefined, claim: async () => [1] } });
  // @ts-expect-error records are the core's shapes
  const record: JournalRecord = { op: 'granting', id: 'e' };
  // @ts-expect-error a file journal takes a path
  new FileJournal(new URL('file:///j'));
  // @ts-expect-error the clock answers ms
  new FileJournal('j', { now: () => new Date() });
  // @ts-expect-error pushed entitlements are not filtered by game
  await client.fulfillEntitlements([], { grant: () => 'granted', gameId: '1' });
  // @ts-expect-error only a verification has a challenge
  console.log(message.challenge, record);
  // @ts-expect-error the body is bytes or a string
  verifyEventSub({ headers: {}, body: 42, secret: 's' });
  // @ts-expect-error organizationId is required
  await client.subscribeDropGrants({ callback: 'https://example.com', secret: '0123456789' });
}

export async function misuse(client: DropsClient): Promise<void> {
  // @ts-expect-error clientId is required
  new DropsClient({ clientSecret: 's' });
  // @ts-expect-error not a status
  await client.updateEntitlements(['a'], 'DONE');
  // @ts-expect-error not a query field
  await client.entitlementsPage({ gameID: '1' });
  // @ts-expect-error first is a number
  await client.entitlementsPage({ first: '10' });
  // @ts-expect-error fetch must answer a Promise<Response>
  new DropsClient({ clientId: 'c', fetch: (request: Request) => request.url });
  // @ts-expect-error statuses are exact strings
  const status: UpdateStatus = 'success';
  // @ts-expect-error a page is not an array
  const list: Entitlement[] = await client.entitlementsPage();
  console.log(status, list);
}
