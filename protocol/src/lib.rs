//! # twitch-drops-protocol
//!
//! The sans-IO layer of the Twitch Drops SDK: Twitch's rules (paging, batching, tokens, rate
//! limits, retries, ambiguous writes) and the fulfillment engine, with no I/O and no I/O
//! dependency. Each operation is a state machine ([`Operation`]) that asks its driver to
//! send a request or sleep ([`Step`]) and is fed the answer ([`Input`]); the engine
//! ([`Engine`]) hands out typed steps the same way. The `twitch-drops` crate drives them
//! with blocking I/O (its `Client`, the ureq transport, the journals on files and
//! databases); the C library and the WASM package drive the same machines with their own.

pub mod analytics;
mod clock;
mod config;
pub mod device;
pub mod entitlements;
mod error;
pub mod eventsub;
mod exchange;
mod fast_json;
pub mod file_name;
pub mod fulfill;
mod hash;
mod http;
pub mod ids;
pub mod observe;
mod rate_limit;
mod redact;
mod retry;
mod secret;
mod session;
mod shared_str;
mod single_request;
mod step;
pub mod token;
mod transport;
pub mod update;
pub mod url;
pub mod webhook;

pub use analytics::{AnalyticsPage, AnalyticsQuery, AnalyticsReport, DateRange};
#[cfg(not(target_arch = "wasm32"))]
pub use clock::SystemClock;
pub use clock::{Clock, ManualClock};
pub use config::{Config, Credentials, DEFAULT_AUTH_URL, DEFAULT_HELIX_URL};
pub use device::{DeviceCode, ANALYTICS_SCOPE};
pub use entitlements::{
    Entitlement, EntitlementPages, EntitlementsPage, EntitlementsQuery, FulfillmentStatus,
};
pub use error::{Error, ErrorKind};
pub use eventsub::{Deduplicator, DropGrantCondition, EventSubError};
pub use file_name::safe_file_name;
pub use fulfill::{
    Engine, FulfillOptions, FulfillReport, Grant, GrantOutcome, GrantRequest, HostAnswer, HostStep,
    HostedRun, Journal, MemoryJournal, SettledState, Settlement, StopSignal,
};
pub use http::{HttpRequest, HttpResponse, Method};
pub use ids::{check_id, IdProblem, InvalidId, MAX_ID_BYTES};
pub use observe::{Level, LogRecord, Logger, Metrics, MetricsSnapshot};
pub use rate_limit::RateLimit;
pub use redact::{as_data, scrub, MAX_SERVER_TEXT, MIN_SCRUBBED_BYTES, REDACTED};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use session::{AskToken, Authorized, InstallToken, Session};
pub use shared_str::SharedStr;
pub use single_request::SingleRequest;
pub use step::{Input, Operation, Step};
pub use token::{AccessToken, Authorization, OAuthToken, TokenInfo, TokenStore};
pub use transport::{Transport, TransportError, TransportErrorKind};
pub use update::{IdOutcome, UpdateReport, UpdateStatus};
pub use url::{check_secure_url, UrlProblem};
