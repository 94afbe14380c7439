//! Granting: a batch claimed in the journal, granted, its answers recorded; and the
//! accounting every entitlement taken up ends in.

use super::*;

impl Engine {
    pub(super) fn queue_grants(&mut self, entitlements: Vec<Entitlement>, resumed: bool) {
        let mut requests = entitlements.into_iter().map(|entitlement| GrantRequest {
            entitlement,
            resumed,
        });
        loop {
            let chunk: Vec<GrantRequest> = requests.by_ref().take(MAX_IDS_PER_REQUEST).collect();
            if chunk.is_empty() {
                break;
            }
            self.work.push_back(chunk);
        }
    }

    /// Claims a batch (journal `Granting`); `None` when every one was skipped.
    pub(super) fn start_grants(
        &mut self,
        requests: Vec<GrantRequest>,
    ) -> Option<(Ticket, EngineStep)> {
        let mut kept = Vec::with_capacity(requests.len());
        for request in requests {
            if self.quarantined.contains(&request.entitlement.user_id) {
                self.settle(&request.entitlement, SettledState::Quarantined);
            } else {
                kept.push(request);
            }
        }
        if kept.is_empty() {
            return None;
        }
        let records = kept
            .iter()
            .map(|r| JournalRecord::granting(&r.entitlement))
            .collect();
        let ticket = self.ticket();
        self.studio = Some((ticket, Studio::Intent(kept)));
        Some((ticket, EngineStep::Studio(StudioStep::Claim(records))))
    }

    /// Grants what the claim took; ids another instance holds are left to it.
    pub(super) fn on_claimed(
        &mut self,
        requests: Vec<GrantRequest>,
        held: Vec<String>,
    ) -> Option<(Studio, EngineStep)> {
        let held: HashSet<String> = held.into_iter().collect();
        let mut kept = Vec::with_capacity(requests.len());
        for request in requests {
            if held.contains(&request.entitlement.id) {
                self.settle(&request.entitlement, SettledState::HeldElsewhere);
            } else {
                kept.push(request);
            }
        }
        if kept.is_empty() {
            return None;
        }
        let who = kept
            .iter()
            .map(|r| {
                let granted = Granted {
                    id: r.entitlement.id.clone(),
                    user_id: r.entitlement.user_id.clone(),
                };
                (granted, r.resumed)
            })
            .collect();
        Some((
            Studio::Granting(who),
            EngineStep::Studio(StudioStep::Grant(kept)),
        ))
    }

    pub(super) fn on_granted(
        &mut self,
        requests: Vec<(Granted, bool)>,
        outcomes: Vec<GrantOutcome>,
    ) -> Option<(Studio, EngineStep)> {
        if outcomes.len() != requests.len() {
            self.stop(Error::invalid(
                "grant outcomes",
                format!(
                    "{} outcomes for {} grant requests",
                    outcomes.len(),
                    requests.len()
                ),
            ));
            return None;
        }
        let mut records = Vec::with_capacity(requests.len());
        let mut granted = Vec::new();
        for ((who, resumed), outcome) in requests.into_iter().zip(outcomes) {
            let id = who.id.clone();
            if resumed {
                self.report.resumed += 1;
            }
            match outcome {
                GrantOutcome::Granted => {
                    self.report.granted += 1;
                    records.push(JournalRecord::Granted { id });
                    granted.push(who);
                }
                GrantOutcome::RetryLater => {
                    records.push(JournalRecord::NotGranted { id });
                    self.settle(&who, SettledState::RetryLater);
                }
                GrantOutcome::Failed(reason) => {
                    records.push(JournalRecord::NotGranted { id });
                    self.settle(&who, SettledState::GrantFailed(reason));
                }
            }
        }
        Some((
            Studio::Recording(granted),
            EngineStep::Studio(StudioStep::AppendJournal(records)),
        ))
    }
    /// Marks an entitlement as taken up in this run; false if it already was.
    pub(super) fn take_up(&mut self, entitlement: &Entitlement) -> bool {
        // Eight bytes per id keeps a 200 000-entitlement run small. A collision would only
        // leave an entitlement CLAIMED for the next run, never grant one twice.
        let mut hasher = DefaultHasher::new();
        entitlement.id.hash(&mut hasher);
        let fresh = self.taken_up.insert(hasher.finish());
        if fresh {
            self.report.listed += 1;
        }
        fresh
    }

    pub(super) fn settle(&mut self, who: &impl Named, state: SettledState) {
        self.report.count(&state);
        self.settlements.push(Settlement {
            id: who.id().to_owned(),
            user_id: who.user_id().to_owned(),
            state,
        });
    }

    /// Settles the batch in hand of a studio step that will not be answered: claimed but not
    /// granted, or granted but perhaps not recorded (the journal keeps it for the next run,
    /// granted or in doubt). A grant whose outcome never came stays in doubt, uncounted.
    pub(super) fn drop_studio(&mut self, studio: Studio) {
        match studio {
            Studio::Intent(requests) => {
                for request in requests {
                    self.settle(&request.entitlement, SettledState::NotReached);
                }
            }
            Studio::Recording(granted) => {
                for entitlement in granted {
                    self.settle(&entitlement, SettledState::Unmarked);
                }
            }
            Studio::Loading | Studio::Granting(_) | Studio::Settling => {}
        }
    }

    /// Queues the journal record that `id` needs nothing more.
    pub(super) fn record_settled(&mut self, id: &str) {
        self.to_record
            .push(JournalRecord::Settled { id: id.to_owned() });
    }
}
