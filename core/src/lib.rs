//! # twitch-drops
//!
//! Twitch Drops for game studios: list the entitlements viewers earned, grant them in the
//! game, mark them `FULFILLED`, and download analytics reports — with Twitch's rules (paging,
//! batching, tokens, rate limits, retries, ambiguous writes) kept in one place.
//!
//! Two layers. The rules are sans-IO, in `twitch-drops-protocol` (re-exported here whole):
//! each operation is a state machine ([`Operation`]) that asks its driver to send a request
//! or sleep ([`Step`]) and is fed the answer ([`Input`]); the fulfillment [`Engine`] works the
//! same way. This crate drives them with blocking I/O: the [`Client`] over a [`Transport`]
//! (by default [`UreqTransport`]) and a [`Clock`], and the journals that keep fulfillment
//! exactly-once on disk ([`FileJournal`], `SqliteJournal`, `PostgresJournal`). The C library
//! and the WASM package drive the same machines with their own I/O.
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

pub use twitch_drops_protocol::*;

mod blocking;
mod client;
mod journal;
#[cfg(all(feature = "ureq", not(target_arch = "wasm32")))]
mod ureq_transport;

pub use client::{Client, Entitlements, Pages, MAX_SUBSCRIPTION_PAGES};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use journal::ClaimSettings;
#[cfg(feature = "postgres")]
pub use journal::PostgresJournal;
#[cfg(feature = "sqlite")]
pub use journal::SqliteJournal;
pub use journal::{FileDeliveryLog, FileJournal};
#[cfg(all(feature = "ureq", not(target_arch = "wasm32")))]
pub use ureq_transport::{UreqOptions, UreqTransport};

/// Fulfillment: claim → grant → fulfill, so that no reward is lost or granted twice. The
/// engine and its vocabulary (`twitch_drops_protocol::fulfill`), with the journals this
/// crate keeps on disk; [`Client::fulfill`] drives it.
pub mod fulfill {
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub use crate::journal::ClaimSettings;
    pub use crate::journal::FileJournal;
    #[cfg(feature = "postgres")]
    pub use crate::journal::PostgresJournal;
    #[cfg(feature = "sqlite")]
    pub use crate::journal::SqliteJournal;
    pub use twitch_drops_protocol::fulfill::*;
}
