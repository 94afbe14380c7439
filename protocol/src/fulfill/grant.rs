//! The one thing a studio supplies: a grant function that gives a viewer the reward.

use crate::entitlements::Entitlement;

/// One entitlement to grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRequest {
    pub entitlement: Entitlement,
    /// True when an earlier run called grant for this entitlement and was interrupted (a
    /// crash) before it could record the answer. The grant may or may not have happened:
    /// check your own records by `entitlement.id` before granting again.
    pub resumed: bool,
}

/// What the grant function answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantOutcome {
    /// The reward is in the game: mark the entitlement FULFILLED.
    Granted,
    /// Not now (the game's service is down…): leave it CLAIMED for a later run.
    RetryLater,
    /// Never in this run (e.g. the viewer never linked an account): leave it CLAIMED and
    /// report why.
    Failed(String),
}

/// A grant function. Any `FnMut(&GrantRequest) -> GrantOutcome` is one; implement
/// [`Grant::grant_batch`] to grant a batch concurrently.
pub trait Grant {
    /// Grants one entitlement.
    fn grant(&mut self, request: &GrantRequest) -> GrantOutcome;

    /// Grants a batch (up to 100), answering in the same order. Sequential by default.
    fn grant_batch(&mut self, requests: &[GrantRequest]) -> Vec<GrantOutcome> {
        requests.iter().map(|r| self.grant(r)).collect()
    }
}

impl<F: FnMut(&GrantRequest) -> GrantOutcome> Grant for F {
    fn grant(&mut self, request: &GrantRequest) -> GrantOutcome {
        self(request)
    }
}
