//! How a fake server starts.

use serde::{Deserialize, Serialize};

use crate::faults::Faults;
use crate::seed::Seed;

/// Everything a [`FakeTwitch`](crate::FakeTwitch) starts with. [`FakeConfig::new`] (also
/// `Default`) gives a working setup: fixed credentials, Twitch's usual 800 points a
/// minute, hour-long tokens, five-minute report links and [`Seed::standard`] data.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct FakeConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The only client id the fake accepts.
    pub client_id: String,
    /// Its secret, checked by the client-credentials grant.
    pub client_secret: String,
    /// Initial data.
    pub seed: Seed,
    /// Initial faults (all off by default).
    pub faults: Faults,
    /// Bucket refill rate in points a minute; 0 turns rate limiting off.
    pub rate_limit_per_minute: u32,
    /// Bucket size; 0 means the same as `rate_limit_per_minute`.
    pub rate_limit_burst: u32,
    /// Lifetime of access tokens, in seconds.
    pub token_ttl_secs: u64,
    /// How long an analytics report URL stays downloadable, in seconds.
    pub report_ttl_secs: u64,
}

impl FakeConfig {
    /// Client id `fake-client-id`, secret `fake-client-secret`, 800 points a minute with a
    /// burst of 800, tokens valid 3600 s, report URLs 300 s, any free port,
    /// [`Seed::standard`] data and no faults.
    pub fn new() -> FakeConfig {
        FakeConfig {
            port: 0,
            client_id: "fake-client-id".to_string(),
            client_secret: "fake-client-secret".to_string(),
            seed: Seed::standard(),
            faults: Faults::default(),
            rate_limit_per_minute: 800,
            rate_limit_burst: 800,
            token_ttl_secs: 3600,
            report_ttl_secs: 300,
        }
    }
}

impl Default for FakeConfig {
    /// Same as [`FakeConfig::new`].
    fn default() -> FakeConfig {
        FakeConfig::new()
    }
}
