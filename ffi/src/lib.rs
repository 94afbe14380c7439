//! # twitchdrops: the C ABI of the Twitch Drops SDK
//!
//! `include/twitch_drops.h` (generated from this crate by cbindgen) is the contract; this
//! crate translates between it and the `twitch-drops` core and holds no Twitch rule of its
//! own. The header's opening comment is the overview: conventions, ownership, threads, the
//! blocking calls, bring-your-own HTTP and the step API.
//!
//! | file | what it holds |
//! |---|---|
//! | `boundary.rs` | the panic boundary, pointer and UTF-8 checks, `td_str`, caller buffers |
//! | `result.rs`, `error.rs` | `td_result` and the `td_error` detail object |
//! | `config.rs`, `client.rs` | `td_client_config`, `td_client` and its blocking calls |
//! | `transport.rs` | the request view, the C transport callback and response builder, the clock |
//! | `op.rs` | the step API (`td_op`) |
//! | `entitlements.rs`, `update.rs`, `analytics.rs`, `token.rs` | queries and results |
//! | `fulfill.rs` | the fulfillment engine, blocking: options, settlements, the run's report |
//! | `fulfill_run.rs` | the fulfillment engine driven by a non-blocking host (`td_fulfill_run`) |
//! | `grant.rs`, `journal.rs` | the grant callback, and the journals (file, memory, C callbacks) |
//! | `eventsub.rs` | EventSub webhooks: verify a message, its answer, the deduplicator |

#![allow(non_camel_case_types)]
#![warn(missing_docs)]

pub mod analytics;
pub mod boundary;
pub mod client;
pub mod config;
pub mod entitlements;
pub mod error;
pub mod eventsub;
pub mod fulfill;
pub mod fulfill_run;
pub mod grant;
pub mod journal;
pub mod observe;
pub mod op;
pub mod result;
pub mod token;
pub mod transport;
pub mod update;
