//! Injected failures, and the deterministic dice that decide when they strike.

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// Failures to inject into Helix calls (`/helix/...` only; OAuth, admin and report
/// downloads are never faulted). Everything defaults to off. Rates are probabilities in
/// `0.0..=1.0`, drawn from a generator seeded with `rng_seed`, so the same sequence of
/// calls meets the same faults. Setting faults restarts the generator and the call count.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Answer 500 with a JSON body whose `message` is empty, before doing anything.
    pub error_5xx_rate: f64,
    /// Answer 503 with an HTML body (not JSON), before doing anything.
    pub html_503_rate: f64,
    /// 0 = off; every n-th authorized Helix call answers 429 with `Ratelimit-Remaining: 0`.
    pub rate_limit_every: u32,
    /// Answer 429 although the bucket still has points (`Ratelimit-Remaining` > 0).
    pub spurious_429_rate: f64,
    /// Entitlement calls: apply the request fully, then send a JSON body cut short (a valid
    /// HTTP response whose `Content-Length` is that of the cut body).
    pub truncate_after_apply_rate: f64,
    /// Entitlement calls: apply the request fully, then close the connection without any
    /// response.
    pub drop_after_apply_rate: f64,
    /// Delay added before each Helix call is handled, in milliseconds.
    pub latency_ms: u64,
    /// 0 = off; each access token is revoked (401) after this many Helix uses. New tokens
    /// work again for as many uses.
    pub revoke_token_after: u32,
    /// Per id in a PATCH: report `UPDATE_FAILED` and leave the entitlement unchanged.
    pub update_failed_rate: f64,
    /// Users Helix keeps failing for: a GET with `user_id=U` (or a user token of U), and any
    /// PATCH naming an entitlement of U, answer 500 and change nothing.
    pub failing_users: Vec<String>,
    /// Cursors become offsets into the current filtered list, so marking items while paging
    /// a `fulfillment_status=CLAIMED` filter skips some (the default cursors are stable).
    pub positional_cursors: bool,
    /// Seed of the fault generator.
    pub rng_seed: u64,
}

/// The faults in force, their generator and the Helix call count.
#[derive(Debug)]
pub(crate) struct FaultState {
    pub(crate) faults: Faults,
    rng: Rng,
    calls: u64,
}

impl FaultState {
    pub(crate) fn new(faults: Faults) -> FaultState {
        FaultState {
            rng: Rng::new(faults.rng_seed),
            faults,
            calls: 0,
        }
    }

    /// Replace the faults; restarts the generator and the call count.
    pub(crate) fn set(&mut self, faults: Faults) {
        *self = FaultState::new(faults);
    }

    /// True with probability `rate`.
    pub(crate) fn strikes(&mut self, rate: f64) -> bool {
        self.rng.chance(rate)
    }

    /// Count one authorized Helix call; true when it is the n-th of `rate_limit_every`.
    pub(crate) fn next_call_is_limited(&mut self) -> bool {
        self.calls += 1;
        let every = self.faults.rate_limit_every as u64;
        every > 0 && self.calls % every == 0
    }

    pub(crate) fn is_failing_user(&self, user_id: &str) -> bool {
        self.faults.failing_users.iter().any(|u| u == user_id)
    }
}
