//! The WebAssembly package of the Twitch Drops SDK: the core's sans-IO operations driven
//! by `fetch`, under an idiomatic JavaScript surface (`js/`, built into the npm package by
//! `wasm/build.sh`).
//!
//! Two layers, as in automerge: this crate exports a low-level `RawClient` whose methods
//! take and return JSON text; the TypeScript wrapper turns that into `DropsClient` with
//! camelCase objects, async iterators and `Error` subclasses. Neither layer knows a Helix
//! rule: every decision (paging, batching, tokens, retries, rate limits, what to grant and
//! journal, whether a webhook message is Twitch's) is the core's. The fulfillment engine
//! runs on the same async driver, calling back into JS for grants and the journal.
//!
//! The translation modules (options, data shapes, fulfillment and EventSub data, errors) are plain Rust and are tested
//! natively; the JS glue (the fetch transport, the async driver and the exports) exists on
//! `wasm32` only.

pub mod errors;
pub mod eventsub;
pub mod fulfill;
pub mod options;
pub mod wire;

#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
mod driver;
#[cfg(target_arch = "wasm32")]
mod fetch;
#[cfg(target_arch = "wasm32")]
mod hooks;

#[cfg(target_arch = "wasm32")]
pub use client::{RawClient, RawPages};
#[cfg(target_arch = "wasm32")]
pub use eventsub::RawDeduplicator;
