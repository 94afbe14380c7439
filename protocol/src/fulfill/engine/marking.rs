//! Marking: PATCHes of granted entitlements, what their answers settle, and the viewers
//! whose updates keep failing.

use super::*;

impl Engine {
    pub(super) fn start_marking(&mut self, granted: Vec<Granted>, now_ms: u64) -> Next {
        // A quarantined viewer's calls keep failing: what was granted to them before the
        // quarantine (grants run ahead of marking) is left to the journal and the next run,
        // not sent again to fail (and be split and re-read) in this one.
        let granted = if self.quarantined.is_empty() {
            granted
        } else {
            let (granted, held_back): (Vec<Granted>, Vec<Granted>) = granted
                .into_iter()
                .partition(|e| !self.quarantined.contains(&e.user_id));
            for entitlement in &held_back {
                self.settle(entitlement, SettledState::Unmarked);
            }
            granted
        };
        if granted.is_empty() {
            return Next::Again;
        }
        let share = |e: &Granted| e.id.clone();
        match update_shared(&self.config, &granted, share, FulfillmentStatus::Fulfilled) {
            Ok(op) => {
                // Its `UPDATE_FAILED` ids come back as such, for the run's own pool.
                let op = Box::new(self.session.authorized(op.without_rounds()));
                self.launch(op, |op| Flight::Marking { op, granted }, now_ms)
            }
            Err(e) => {
                // Granted and journaled: the next run marks them.
                for entitlement in &granted {
                    self.settle(entitlement, SettledState::Unmarked);
                }
                self.stop(e);
                Next::Again
            }
        }
    }

    pub(super) fn on_marked(&mut self, result: Result<UpdateReport, Error>, granted: Vec<Granted>) {
        let (report, stop) = match result {
            Ok(report) => (report, None),
            Err(Error::PartialUpdate { report, cause }) => (*report, Some(*cause)),
            Err(e) => (UpdateReport::default(), Some(e)),
        };
        // The outcomes come in the order the ids were given, each once: matched to the batch
        // in one pass (a search of the batch only if one were out of order).
        let UpdateReport {
            outcomes,
            unconfirmed,
        } = report;
        // Room for the batch's settlements and records at once (grown from empty by push,
        // each batch's lists were reallocated several times).
        self.settlements.reserve(granted.len());
        self.to_record.reserve(outcomes.len());
        let mut granted: Vec<Option<Granted>> = granted.into_iter().map(Some).collect();
        let mut next = 0;
        for outcome in outcomes {
            let matches = |e: &Option<Granted>| e.as_ref().is_some_and(|e| e.id == outcome.id);
            let found = match granted.get(next) {
                Some(e) if matches(e) => Some(next),
                _ => granted.iter().position(matches),
            };
            let Some(entitlement) = found.and_then(|n| {
                next = n + 1;
                granted[n].take()
            }) else {
                continue;
            };
            let (entitlement, state) = match outcome.status {
                UpdateStatus::Success => (entitlement, SettledState::Fulfilled),
                UpdateStatus::UpdateFailed => match self.remark.failed(entitlement) {
                    Ok(()) => continue,
                    Err(entitlement) => (entitlement, SettledState::Unmarked),
                },
                status => (entitlement, SettledState::Rejected(status)),
            };
            self.remark.settled(&outcome.id);
            if state != SettledState::Unmarked {
                self.record_settled(&entitlement.id);
            }
            self.settle_granted(entitlement, state);
        }
        for entitlement in granted.into_iter().flatten() {
            // Unconfirmed: the journal keeps it granted for the next run.
            if unconfirmed.contains(&entitlement.id) {
                let failures = self
                    .user_failures
                    .entry(entitlement.user_id.clone())
                    .or_default();
                *failures += 1;
                if *failures >= self.quarantine_after
                    && self.quarantined.insert(entitlement.user_id.clone())
                {
                    self.session.note(&Note::Quarantined {
                        user_id: &entitlement.user_id,
                    });
                    self.report
                        .quarantined_users
                        .push(entitlement.user_id.to_string());
                }
            }
            self.settle_granted(entitlement, SettledState::Unmarked);
        }
        if let Some(cause) = stop {
            self.stop(cause);
        }
    }

    /// Settles a granted entitlement the run lets go of (its id and viewer move into the
    /// settlement).
    fn settle_granted(&mut self, who: Granted, state: SettledState) {
        self.report.count(&state);
        self.settlements.push(Settlement {
            id: who.id,
            user_id: who.user_id,
            state,
        });
    }
}

/// A granted entitlement stands for its id in a PATCH.
impl AsRef<str> for Granted {
    fn as_ref(&self) -> &str {
        &self.id
    }
}
