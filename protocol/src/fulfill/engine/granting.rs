//! Granting: a batch (up to `grants_in_flight`) claimed in the journal, granted, its answers
//! recorded with the next batch's claim; and the accounting every entitlement taken up ends in.

use super::*;

impl Engine {
    pub(super) fn queue_grants(&mut self, entitlements: Vec<Entitlement>, resumed: bool) {
        self.work
            .extend(entitlements.into_iter().map(|entitlement| GrantRequest {
                entitlement,
                resumed,
            }));
    }

    /// Claims the next batch (up to `grants_in_flight`; quarantined viewers' are skipped) in
    /// one journal write with the answers of the batch before; `None` when nothing is left.
    pub(super) fn start_grants(&mut self) -> Option<(Ticket, EngineStep)> {
        let mut kept = Vec::with_capacity(self.grants_in_flight.min(self.work.len()));
        while kept.len() < self.grants_in_flight {
            let Some(request) = self.work.pop_front() else {
                break;
            };
            if self.quarantined.contains(&request.entitlement.user_id) {
                self.settle(&request.entitlement, SettledState::Quarantined);
            } else {
                kept.push(request);
            }
        }
        if kept.is_empty() {
            return None;
        }
        let claim = kept
            .iter()
            .map(|r| JournalRecord::granting(&r.entitlement))
            .collect();
        let append = self.take_appends();
        let answered = self.take_answered();
        let ticket = self.ticket();
        self.studio = Some((
            ticket,
            Studio::Intent {
                requests: kept,
                answered,
            },
        ));
        Some((
            ticket,
            EngineStep::Studio(StudioStep::Claim { append, claim }),
        ))
    }

    /// Appends what waits (the last batch's answers, settled ids) when no claim follows at
    /// once to carry it: an answer is never held back for long.
    pub(super) fn start_recording(&mut self) -> Option<(Ticket, EngineStep)> {
        if self.answers.is_empty() && self.to_record.is_empty() {
            return None;
        }
        let records = self.take_appends();
        let ticket = self.ticket();
        let granted = self.take_answered();
        self.studio = Some((ticket, Studio::Recording(granted)));
        Some((
            ticket,
            EngineStep::Studio(StudioStep::AppendJournal(records)),
        ))
    }

    /// The granted entitlements whose answers go into the next journal write (the spare
    /// list takes their place).
    fn take_answered(&mut self) -> Vec<Granted> {
        let spare = std::mem::take(&mut self.spare_answered);
        std::mem::replace(&mut self.answered, spare)
    }

    /// Their answers are durable: they go on to be marked; the emptied list is kept.
    pub(super) fn answers_recorded(&mut self, mut answered: Vec<Granted>) {
        self.to_mark.append(&mut answered);
        if answered.capacity() > self.spare_answered.capacity() {
            self.spare_answered = answered;
        }
    }

    /// The records waiting to be appended: the last batch's answers, then settled ids.
    fn take_appends(&mut self) -> Vec<JournalRecord> {
        let mut records = std::mem::take(&mut self.answers);
        records.append(&mut self.to_record);
        records
    }

    /// Grants what the claim took; ids another instance holds are left to it. The answers
    /// the claim carried are durable now: those granted go on to be marked.
    pub(super) fn on_claimed(
        &mut self,
        requests: Vec<GrantRequest>,
        answered: Vec<Granted>,
        held: Vec<String>,
    ) -> Option<(Studio, EngineStep)> {
        self.answers_recorded(answered);
        let kept = if held.is_empty() {
            requests
        } else {
            let held: HashSet<String> = held.into_iter().collect();
            let mut kept = Vec::with_capacity(requests.len());
            for request in requests {
                if held.contains(request.entitlement.id.as_str()) {
                    self.settle(&request.entitlement, SettledState::HeldElsewhere);
                } else {
                    kept.push(request);
                }
            }
            kept
        };
        if kept.is_empty() {
            return None;
        }
        let mut who = std::mem::take(&mut self.spare_granting);
        who.extend(kept.iter().map(|r| {
            let granted = Granted {
                id: r.entitlement.id.clone(),
                user_id: r.entitlement.user_id.clone(),
            };
            (granted, r.resumed)
        }));
        Some((
            Studio::Granting(who),
            EngineStep::Studio(StudioStep::Grant(kept)),
        ))
    }

    pub(super) fn on_granted(
        &mut self,
        mut requests: Vec<(Granted, bool)>,
        outcomes: Vec<GrantOutcome>,
    ) {
        if outcomes.len() != requests.len() {
            self.stop(Error::invalid(
                "grant outcomes",
                format!(
                    "{} outcomes for {} grant requests",
                    outcomes.len(),
                    requests.len()
                ),
            ));
            return;
        }
        // Held until the next claim carries them, or appended alone at once (see
        // `start_grants`, `start_recording`).
        for ((who, resumed), outcome) in requests.drain(..).zip(outcomes) {
            let id = who.id.clone();
            if resumed {
                self.report.resumed += 1;
            }
            let name = match &outcome {
                GrantOutcome::Granted => "granted",
                GrantOutcome::RetryLater => "retry_later",
                GrantOutcome::Failed(_) => "failed",
            };
            self.session.note(&Note::Granted {
                outcome: name,
                resumed,
            });
            match outcome {
                GrantOutcome::Granted => {
                    self.report.granted += 1;
                    self.answers.push(JournalRecord::Granted { id });
                    self.answered.push(who);
                }
                GrantOutcome::RetryLater => {
                    self.answers.push(JournalRecord::NotGranted { id });
                    self.settle(&who, SettledState::RetryLater);
                }
                GrantOutcome::Failed(reason) => {
                    self.answers.push(JournalRecord::NotGranted { id });
                    self.settle(&who, SettledState::GrantFailed(reason));
                }
            }
        }
        self.spare_granting = requests;
    }

    /// Marks an entitlement as taken up in this run; false if it already was.
    pub(super) fn take_up(&mut self, entitlement: &Entitlement) -> bool {
        // Eight bytes per id keeps a 200 000-entitlement run small. The digest's keys are
        // random (a server cannot choose ids that collide to keep one from being granted);
        // a collision would only leave an entitlement CLAIMED for the next run, never grant
        // one twice.
        let fresh = self.taken_up.insert(self.digest.of(&entitlement.id));
        if fresh {
            self.report.listed += 1;
        }
        fresh
    }

    pub(super) fn settle(&mut self, who: &impl Named, state: SettledState) {
        self.report.count(&state);
        self.settlements.push(Settlement {
            id: who.id().clone(),
            user_id: who.user_id().clone(),
            state,
        });
    }

    /// Settles the batch in hand of a studio step that will not be answered: claimed but not
    /// granted, or granted but perhaps not recorded (the journal keeps it for the next run,
    /// granted or in doubt). A grant whose outcome never came stays in doubt, uncounted.
    pub(super) fn drop_studio(&mut self, studio: Studio) {
        match studio {
            Studio::Intent { requests, answered } => {
                for request in requests {
                    self.settle(&request.entitlement, SettledState::NotReached);
                }
                for entitlement in answered {
                    self.settle(&entitlement, SettledState::Unmarked);
                }
            }
            Studio::Recording(granted) => {
                for entitlement in granted {
                    self.settle(&entitlement, SettledState::Unmarked);
                }
            }
            Studio::Loading | Studio::Granting(_) => {}
        }
    }

    /// Queues the journal record that `id` needs nothing more.
    pub(super) fn record_settled(&mut self, id: &SharedStr) {
        self.to_record
            .push(JournalRecord::Settled { id: id.clone() });
    }
}
