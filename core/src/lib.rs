//! # twitch-drops
//!
//! Twitch Drops for game studios: list the entitlements viewers earned, grant them in the
//! game, mark them `FULFILLED`, and download analytics reports — with Twitch's rules (paging,
//! batching, tokens, rate limits, retries, ambiguous writes) kept in one place.
//!
//! The core is sans-IO. Each operation is a state machine ([`Operation`]) that asks its
//! driver to send a request, sleep, or supply a token ([`Step`]), and is fed the answer
//! ([`Input`]). The blocking [`Client`] drives operations with a [`Transport`] (by default
//! [`UreqTransport`]) and a [`Clock`]; the C library and the WASM package drive the same
//! operations with their own I/O.
//!
//! ```no_run
//! use twitch_drops::{Client, Config, Credentials, EntitlementsQuery, FulfillmentStatus};
//!
//! let config = Config::new("my-client-id", Credentials::ClientSecret("my-secret".into()));
//! let client = Client::new(config)?;
//! let claimed = EntitlementsQuery::new().game("509658").status(FulfillmentStatus::Claimed);
//! for entitlement in client.entitlements(claimed.first(1000)) {
//!     let entitlement = entitlement?;
//!     println!("grant {} to {}", entitlement.benefit_id, entitlement.user_id);
//! }
//! # Ok::<(), twitch_drops::Error>(())
//! ```

pub mod analytics;
mod client;
mod clock;
mod config;
pub mod device;
pub mod entitlements;
mod error;
pub mod eventsub;
mod exchange;
pub mod file_name;
pub mod fulfill;
mod http;
pub mod ids;
mod rate_limit;
mod redact;
mod retry;
mod secret;
mod session;
mod single_request;
mod step;
pub mod token;
mod transport;
pub mod update;
#[cfg(all(feature = "ureq", not(target_arch = "wasm32")))]
mod ureq_transport;
mod url;

pub use analytics::{AnalyticsPage, AnalyticsQuery, AnalyticsReport, DateRange};
pub use client::{Client, Entitlements, Pages};
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
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use fulfill::ClaimSettings;
#[cfg(feature = "postgres")]
pub use fulfill::PostgresJournal;
#[cfg(feature = "sqlite")]
pub use fulfill::SqliteJournal;
pub use fulfill::{
    Engine, FileJournal, FulfillOptions, FulfillReport, Grant, GrantOutcome, GrantRequest,
    HostAnswer, HostStep, HostedRun, Journal, MemoryJournal, SettledState, Settlement,
};
pub use http::{HttpRequest, HttpResponse, Method};
pub use ids::{check_id, IdProblem, InvalidId, MAX_ID_BYTES};
pub use rate_limit::RateLimit;
pub use redact::{scrub, MIN_SCRUBBED_BYTES, REDACTED};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use session::{AskToken, Authorized, InstallToken, Session};
pub use single_request::SingleRequest;
pub use step::{Input, Operation, Step};
pub use token::{AccessToken, Authorization, OAuthToken, TokenInfo, TokenStore};
pub use transport::{Transport, TransportError, TransportErrorKind};
pub use update::{IdOutcome, UpdateReport, UpdateStatus};
#[cfg(all(feature = "ureq", not(target_arch = "wasm32")))]
pub use ureq_transport::{UreqOptions, UreqTransport};
pub use url::{check_secure_url, UrlProblem};
