//! How long to wait before trying again, and how many times: exponential backoff with jitter
//! for 5xx answers, transport failures and unreadable bodies.

use std::time::Duration;

/// Retry bounds. The defaults suit Twitch: a handful of quick retries, then give up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries of one request after a 5xx, a transport failure or an unreadable body.
    pub max_retries: u32,
    /// First backoff; each retry doubles it (with jitter) up to `max_delay`.
    pub base_delay: Duration,
    /// Longest single backoff.
    pub max_delay: Duration,
    /// Waits for the rate-limit bucket (429) one request may take before giving up.
    pub max_rate_limit_waits: u32,
    /// Extra rounds for ids a PATCH answered `UPDATE_FAILED`.
    pub update_failed_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_rate_limit_waits: 8,
            update_failed_retries: 3,
        }
    }
}

/// The backoff sequence of one operation: `base * 2^n`, each drawn in `[d/2, d]`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Backoff {
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// The next delay. `now_ms` seeds the jitter the first time (no global RNG, so the same
    /// code runs in WASM).
    pub(crate) fn next_delay(&mut self, policy: &RetryPolicy, now_ms: u64) -> Duration {
        if self.rng == 0 {
            self.rng = now_ms ^ 0x9E37_79B9_7F4A_7C15 | 1;
        }
        let exp = policy
            .base_delay
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(policy.max_delay);
        self.attempt += 1;
        let ceiling = exp.as_millis() as u64;
        let floor = ceiling / 2;
        let span = ceiling - floor;
        let jitter = if span == 0 {
            0
        } else {
            self.random() % (span + 1)
        };
        Duration::from_millis(floor + jitter)
    }

    fn random(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_within_jitter_and_cap() {
        let policy = RetryPolicy::default();
        let mut b = Backoff::default();
        let delays: Vec<u64> = (0..8)
            .map(|_| b.next_delay(&policy, 1_700_000_000_000).as_millis() as u64)
            .collect();
        let ceilings = [250u64, 500, 1000, 2000, 4000, 8000, 8000, 8000];
        for (d, c) in delays.iter().zip(ceilings) {
            assert!(*d >= c / 2 && *d <= c, "{d} not in [{}, {c}]", c / 2);
        }
    }
}
