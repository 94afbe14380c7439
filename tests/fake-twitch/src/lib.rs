//! # fake-twitch
//!
//! A stateful fake of Twitch's Drops endpoints for offline tests: the OAuth server
//! (client credentials, refresh, device code, validate), Helix's
//! `GET`/`PATCH /entitlements/drops` and `GET /analytics/games`, with Twitch's token
//! buckets and switchable faults (5xx, HTML 503, 429s, truncated or dropped responses,
//! revoked tokens, per-user 500s, positional cursors). It also takes EventSub
//! `drop.entitlement.grant` webhook subscriptions (`POST /helix/eventsub/subscriptions`,
//! challenging the callback as Twitch does) and delivers signed, batched grants to a
//! loopback callback on demand ([`FakeTwitch::deliver_grants`]) or as a stream of viewers'
//! claims arrives ([`FakeTwitch::stream_claims`]: batched, retried, some lost, doubled or
//! late). Behaviour follows what the live API
//! does (`shared/TWITCH.md`), not only the seed OpenAPI file.
//!
//! Rust tests start it in-process; C, Node and browser tests run the `fake-twitch` binary,
//! which prints one JSON line with its URLs and credentials and is steered over the
//! admin routes under `/_fake/` (see *Admin routes* below).
//!
//! ```no_run
//! use fake_twitch::{FakeConfig, FakeTwitch, Faults};
//!
//! let fake = FakeTwitch::start(FakeConfig::new()).unwrap();
//! let helix = fake.helix_url(); // http://127.0.0.1:PORT/helix
//! fake.set_faults(Faults { error_5xx_rate: 0.5, ..Faults::default() });
//! // ... drive a client against `helix` and `fake.auth_url()` ...
//! assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
//! ```
//!
//! ## Admin routes
//!
//! No auth; not counted, journaled, rate limited or faulted.
//!
//! | route | body / query | answer |
//! | --- | --- | --- |
//! | `GET /_fake/info` | | `{base_url, helix_url, auth_url, client_id, client_secret, games, foreign_games, organization_id}` |
//! | `GET /_fake/stats` | | [`Stats`] |
//! | `GET /_fake/journal` | | array of [`JournalEntry`] |
//! | `GET /_fake/entitlements` | | array of [`Entitlement`] |
//! | `POST /_fake/entitlements` | an [`Entitlement`] or an array of them | 204 |
//! | `GET /_fake/faults` | | [`Faults`] |
//! | `POST /_fake/faults` | [`Faults`] (missing fields are off) | 204 |
//! | `POST /_fake/rate_limit` | `{"per_minute": n, "burst": n}` | 204 |
//! | `POST /_fake/reset` | none: the start-up [`Seed`] again; or a JSON object of [`Seed`] fields, each replacing the start-up seed's (unknown fields: 400) | 204 |
//! | `POST /_fake/users/{user_id}/token` | `?scopes=a+b` | [`UserTokens`] |
//! | `POST /_fake/device/{user_code}/approve` | `?user_id=U` | 204, or 404 for an unknown code |
//! | `GET /_fake/eventsub/subscriptions` | | array of [`EventSubSubscription`] |
//! | `POST /_fake/eventsub/deliver` | [`Delivery`] | [`DeliveryOutcome`]; 400 for bad input or a replay of nothing, 502 if the callback is unreachable |
//! | `POST /_fake/eventsub/stream` | [`ClaimStream`] (missing fields: its defaults) | 204: claims start arriving and are pushed to every enabled subscription; 400 for bad input |
//! | `GET /_fake/eventsub/stream` | | [`ClaimStreamStats`] |

#![warn(missing_docs)]

mod claim_stream;
mod clock;
mod config;
mod cursor;
mod entitlement;
mod eventsub;
mod faults;
mod http;
mod journal;
mod rate_limit;
mod reports;
mod rng;
mod routes;
mod seed;
mod server;
mod state;
mod stats;
mod store;
mod tokens;
mod webhook;

pub use claim_stream::{ClaimStream, ClaimStreamStats};
pub use config::FakeConfig;
pub use entitlement::{Entitlement, CLAIMED, FULFILLED};
pub use eventsub::{Delivery, DeliveryOutcome, EventSubSubscription, ORGANIZATION_ID};
pub use faults::Faults;
pub use journal::JournalEntry;
pub use seed::{Seed, DEFAULT_FOREIGN_GAME, DEFAULT_GAME};
pub use server::FakeTwitch;
pub use stats::{GameCounts, Stats};
pub use tokens::UserTokens;
