//! Marking: PATCHes of granted entitlements, what their answers settle, and the viewers
//! whose updates keep failing.

use super::*;

impl Engine {
    pub(super) fn start_marking(&mut self, granted: Vec<Granted>, now_ms: u64) -> Next {
        // A quarantined viewer's calls keep failing: what was granted to them before the
        // quarantine (grants run ahead of marking) is left to the journal and the next run,
        // not sent again to fail (and be split and re-read) in this one.
        let (granted, held_back): (Vec<Granted>, Vec<Granted>) = granted
            .into_iter()
            .partition(|e| !self.quarantined.contains(&e.user_id));
        for entitlement in &held_back {
            self.settle(entitlement, SettledState::Unmarked);
        }
        if granted.is_empty() {
            return Next::Again;
        }
        let ids: Vec<&str> = granted.iter().map(|e| e.id.as_str()).collect();
        match update_entitlements(&self.config, &ids, FulfillmentStatus::Fulfilled) {
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
        let by_id: HashMap<&str, &Granted> = granted.iter().map(|e| (e.id.as_str(), e)).collect();
        let mut answered = HashSet::new();
        for outcome in &report.outcomes {
            let Some(entitlement) = by_id.get(outcome.id.as_str()) else {
                continue;
            };
            answered.insert(outcome.id.as_str());
            let state = match outcome.status {
                UpdateStatus::Success => SettledState::Fulfilled,
                UpdateStatus::UpdateFailed => match self.remark.failed((*entitlement).clone()) {
                    Ok(()) => continue,
                    Err(_) => SettledState::Unmarked,
                },
                status => SettledState::Rejected(status),
            };
            self.remark.settled(&outcome.id);
            if state != SettledState::Unmarked {
                self.record_settled(&outcome.id);
            }
            self.settle(entitlement, state);
        }
        for entitlement in &granted {
            if answered.contains(entitlement.id.as_str()) {
                continue;
            }
            // Unconfirmed: the journal keeps it granted for the next run.
            self.settle(entitlement, SettledState::Unmarked);
            if report.unconfirmed.contains(&entitlement.id) {
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
                        .push(entitlement.user_id.clone());
                }
            }
        }
        if let Some(cause) = stop {
            self.stop(cause);
        }
    }
}
