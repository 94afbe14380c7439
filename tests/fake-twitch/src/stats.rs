//! Counters for assertions on how a client used the fake.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How many of one game's entitlements are in each status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GameCounts {
    /// Entitlements of the game currently `CLAIMED`.
    pub claimed: usize,
    /// Entitlements of the game currently `FULFILLED`.
    pub fulfilled: usize,
}

/// A snapshot of the fake's counters. Admin routes and CORS preflights are not counted.
/// Everything is zeroed by [`FakeTwitch::reset`](crate::FakeTwitch::reset).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    /// Entitlements currently `CLAIMED` (all games).
    pub claimed: usize,
    /// Entitlements currently `FULFILLED` (all games).
    pub fulfilled: usize,
    /// The same two counts for each game id in the store (ours and other organizations').
    pub games: BTreeMap<String, GameCounts>,
    /// Ids a PATCH set to `FULFILLED` that already were `FULFILLED`.
    pub duplicate_fulfill_attempts: usize,
    /// Requests received (OAuth, Helix, report downloads, unknown paths).
    pub requests: usize,
    /// Requests by `"METHOD /path"` (report downloads as `GET /_reports`, unknown paths as
    /// `"other"`).
    pub requests_by_route: BTreeMap<String, usize>,
    /// 429 responses sent, real or injected.
    pub rate_limited: usize,
    /// Faults injected by the configured rates, by kind: `"500"`, `"503"` (HTML), `"429"`
    /// (every n-th call and spurious ones), `"drop"` (no response after applying),
    /// `"truncate"` (a body cut short after applying).
    pub faults_injected: BTreeMap<String, usize>,
    /// Access tokens issued, by any grant or by [`FakeTwitch::user_token`](crate::FakeTwitch::user_token).
    pub tokens_issued: usize,
    /// Total time spent inside handlers, in microseconds, excluding injected latency.
    pub busy_micros: u64,
}
