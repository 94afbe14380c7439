//! What became of each entitlement, and the totals of a run.

use serde::Serialize;

use crate::error::Error;
use crate::shared_str::SharedStr;
use crate::update::UpdateStatus;

/// The final state of one entitlement in a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "detail", rename_all = "snake_case")]
pub enum SettledState {
    /// Granted and marked FULFILLED.
    Fulfilled,
    /// Found FULFILLED already while recovering an interrupted run: granted then, not now.
    AlreadyFulfilled,
    /// The grant function said retry later: left CLAIMED.
    RetryLater,
    /// The grant function failed for good (its reason): left CLAIMED.
    GrantFailed(String),
    /// Granted, but Twitch refused the update for good (`INVALID_ID`, `NOT_FOUND`,
    /// `UNAUTHORIZED`).
    Rejected(UpdateStatus),
    /// Granted, but Twitch would not confirm FULFILLED after every retry. The journal keeps
    /// it: the next run marks it without granting again.
    Unmarked,
    /// Not granted: this viewer's calls keep failing, so the run stopped trying them.
    Quarantined,
    /// Not granted: the run stopped on an error before reaching it. Left CLAIMED.
    NotReached,
    /// Not granted here: another instance sharing the journal holds its claim.
    HeldElsewhere,
}

/// One entitlement's outcome, as the engine hands them out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Settlement {
    pub id: SharedStr,
    pub user_id: SharedStr,
    #[serde(flatten)]
    pub state: SettledState,
}

/// The totals of a run. Every listed entitlement ends in exactly one of the counted states.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FulfillReport {
    /// Distinct CLAIMED entitlements taken up (listed, pushed, or recovered from the journal).
    pub listed: u64,
    /// Grant calls that answered `Granted`.
    pub granted: u64,
    pub fulfilled: u64,
    pub already_fulfilled: u64,
    pub retry_later: u64,
    pub grant_failed: u64,
    pub rejected: u64,
    pub unmarked: u64,
    pub quarantined: u64,
    pub not_reached: u64,
    /// Left to another instance sharing the journal, which holds their claims.
    pub held_elsewhere: u64,
    /// Viewers quarantined in this run.
    pub quarantined_users: Vec<String>,
    /// Grants called again after a crash left them in doubt (`resumed: true`).
    pub resumed: u64,
    /// The run was interrupted (a stop signal, [`Engine::interrupt`](crate::fulfill::Engine::interrupt)):
    /// what was granted is recorded and marked, what was not reached stays CLAIMED for the
    /// next run with the same journal.
    pub interrupted: bool,
    /// Why the run stopped early, if it did (entitlements not reached stay CLAIMED).
    #[serde(skip)]
    pub error: Option<Error>,
}

impl FulfillReport {
    /// Entitlements this run took up but did not fulfill (those held by another instance
    /// are that instance's to fulfill, not left by this run).
    pub fn left(&self) -> u64 {
        self.listed - self.fulfilled - self.already_fulfilled - self.held_elsewhere
    }

    /// Entitlements settled in this run, in any state: equal to `listed` once a run has
    /// ended, or stopped on its journal.
    pub fn settled(&self) -> u64 {
        self.fulfilled
            + self.already_fulfilled
            + self.retry_later
            + self.grant_failed
            + self.rejected
            + self.unmarked
            + self.quarantined
            + self.not_reached
            + self.held_elsewhere
    }

    /// True when the run reached the end (not interrupted, no error) and everything listed
    /// is FULFILLED.
    pub fn is_complete(&self) -> bool {
        self.error.is_none() && !self.interrupted && self.left() == 0
    }

    pub(crate) fn count(&mut self, state: &SettledState) {
        let counter = match state {
            SettledState::Fulfilled => &mut self.fulfilled,
            SettledState::AlreadyFulfilled => &mut self.already_fulfilled,
            SettledState::RetryLater => &mut self.retry_later,
            SettledState::GrantFailed(_) => &mut self.grant_failed,
            SettledState::Rejected(_) => &mut self.rejected,
            SettledState::Unmarked => &mut self.unmarked,
            SettledState::Quarantined => &mut self.quarantined,
            SettledState::NotReached => &mut self.not_reached,
            SettledState::HeldElsewhere => &mut self.held_elsewhere,
        };
        *counter += 1;
    }
}
