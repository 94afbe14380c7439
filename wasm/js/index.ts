// The public surface of the twitch-drops package.

export { DropsClient } from './client.js';
export { Deduplicator, eventSubResponse, handleEventSub, verifyEventSub } from './eventsub.js';
export type { DeliveryLog, EventSubHandled } from './eventsub.js';
export { FileDeliveryLog } from './file-deliveries.js';
export { FileJournal } from './file-journal.js';
export type { FileJournalOptions } from './file-journal.js';
export {
  DropsError,
  InvalidInputError,
  UnauthorizedError,
  HttpError,
  RateLimitedError,
  TransportError,
  DecodeError,
  PartialUpdateError,
  JournalError,
  EventSubError,
} from './errors.js';
export type { ErrorKind, EventSubReason, TransportKind, DropsErrorDetails } from './errors.js';
export type {
  AnalyticsPage,
  AnalyticsQuery,
  AnalyticsReport,
  DeviceCode,
  DropsClientOptions,
  Entitlement,
  EntitlementsPage,
  EntitlementGrant,
  EntitlementsQuery,
  EventSubHeaders,
  EventSubMessage,
  EventSubNotification,
  EventSubResponse,
  EventSubRevocation,
  EventSubSubscription,
  EventSubVerification,
  FetchFunction,
  FulfillJournal,
  FulfillOptions,
  FulfillReport,
  FulfillRunOptions,
  FulfillmentStatus,
  GrantFunction,
  GrantOutcome,
  GrantRequest,
  IdOutcome,
  JournalRecord,
  LogLevel,
  Logger,
  Metrics,
  RateLimit,
  SettledState,
  Settlement,
  SubscribeDropGrantsOptions,
  TokenInfo,
  UpdateReport,
  UpdateStatus,
  UserToken,
  VerifyEventSubOptions,
} from './types.js';
