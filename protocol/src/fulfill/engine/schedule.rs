//! What may start now: the order in which the engine's work is taken up, and how many
//! requests are out at once.

use super::*;

impl Engine {
    /// Starts what may start now, in this order: the next batch of grants (its claim carrying
    /// the journal's pending records), else those records alone; recovery checks, full
    /// batches to mark, the rest to mark when a pass over the list ends (or the run is
    /// interrupted), the next page; `Done` once nothing is left and nothing is out.
    pub(super) fn plan(&mut self, steps: &mut Vec<(Ticket, EngineStep)>, now_ms: u64) {
        loop {
            let out = self.flights.len() + usize::from(self.studio.is_some());
            if self.sequential && out > 0 {
                return;
            }
            match self.next_step(now_ms) {
                Next::Step(ticket, step) => steps.push((ticket, step)),
                Next::Again => {}
                Next::Idle if out == 0 => {
                    let left = !self.work.is_empty()
                        || !self.answers.is_empty()
                        || !self.checks.is_empty()
                        || !self.to_mark.is_empty()
                        || !self.remark.is_empty()
                        || !matches!(self.listing, Listing::Finished);
                    if left && self.stopping.is_none() && !self.interrupted {
                        // Nothing out and nothing startable, yet work is left: a bug here, not
                        // the driver's; end the run saying so rather than wait for ever.
                        debug_assert!(false, "the engine stalled with work left");
                        self.stop(Error::decode("engine", "stalled with work left"));
                    }
                    steps.push(self.finish());
                    return;
                }
                Next::Idle => return,
            }
        }
    }

    /// The next step that may start, if any.
    pub(super) fn next_step(&mut self, now_ms: u64) -> Next {
        let studio_free = self.studio.is_none();
        let flights_free = self.flights.len() < self.requests_in_flight;
        let starting = self.stopping.is_none() && !self.interrupted;
        // Grants run ahead of marking by as much as the PATCHes in flight can take, no more:
        // so a viewer found failing is quarantined before many more grants go to them.
        let marks_wanted = self.to_mark.len() + self.answered.len()
            < self.requests_in_flight * MAX_IDS_PER_REQUEST;
        if studio_free && !self.answers.is_empty() {
            // The last batch's answers are written first: with the next batch's claim when
            // one may start, else alone (as when a full PATCH waits for them: marking is
            // not held back behind grants).
            let mark_ready = flights_free && self.to_mark.len() >= MAX_IDS_PER_REQUEST;
            if starting && marks_wanted && !mark_ready {
                if let Some((ticket, step)) = self.start_grants() {
                    return Next::Step(ticket, step);
                }
            }
            if let Some((ticket, step)) = self.start_recording() {
                return Next::Step(ticket, step);
            }
        }
        if self.stopping.is_some() {
            // Nothing new starts; what waits to be written still is.
            return match studio_free.then(|| self.start_recording()).flatten() {
                Some((ticket, step)) => Next::Step(ticket, step),
                None => Next::Idle,
            };
        }
        let reading_out = self
            .flights
            .values()
            .any(|f| matches!(f, Flight::Listing(_) | Flight::Checking { .. }));
        if flights_free && !reading_out && !self.interrupted {
            if let Some(batch) = self.checks.pop_front() {
                let query = EntitlementsQuery {
                    ids: batch.iter().map(|(e, _)| e.id.to_string()).collect(),
                    first: Some(MAX_IDS_PER_REQUEST as u32),
                    ..Default::default()
                };
                return match get_entitlements(&self.config, &query) {
                    Ok(op) => {
                        let op = self.session.authorized(op);
                        self.launch(op, |op| Flight::Checking { op, batch }, now_ms)
                    }
                    Err(e) => {
                        self.stop(e);
                        Next::Again
                    }
                };
            }
        }
        if flights_free && self.to_mark.len() >= MAX_IDS_PER_REQUEST {
            let batch = take_batch(&mut self.to_mark);
            return self.start_marking(batch, now_ms);
        }
        if flights_free && self.remark.len() >= MAX_IDS_PER_REQUEST {
            // A full batch of retries: time has passed while other batches went by.
            let batch = self.remark.take_batch();
            return self.start_marking(batch, now_ms);
        }
        if studio_free && starting && marks_wanted {
            if let Some((ticket, step)) = self.start_grants() {
                return Next::Step(ticket, step);
            }
        }
        if studio_free {
            if let Some((ticket, step)) = self.start_recording() {
                return Next::Step(ticket, step);
            }
        }
        // Everything listed so far is granted and recorded (or nothing was listed yet), or
        // the run is interrupted and nothing more will be.
        let granted_all = (self.interrupted || self.work.is_empty() && self.checks.is_empty())
            && !reading_out
            && self.answered.is_empty()
            && !matches!(
                self.studio,
                Some((
                    _,
                    Studio::Intent { .. } | Studio::Granting(_) | Studio::Recording(_)
                ))
            );
        let pass_ends =
            self.interrupted || matches!(self.listing, Listing::Finished | Listing::PassOver);
        if flights_free && granted_all && pass_ends && !self.to_mark.is_empty() {
            // Partial batches wait for more grants until the pass ends, so updates stay
            // at ⌈granted/100⌉; a list that has not moved under the cursor skips less.
            let batch = take_batch(&mut self.to_mark);
            return self.start_marking(batch, now_ms);
        }
        let marking = self
            .flights
            .values()
            .any(|f| matches!(f, Flight::Marking { .. } | Flight::Pausing(_)));
        // Quiet: nothing granted waits to be marked and nothing is out to Twitch.
        let quiet = granted_all && self.to_mark.is_empty() && !marking;
        let page = self.query.first.unwrap_or(MAX_PAGE_SIZE) as usize;
        let in_hand = || self.work.len() + self.to_mark.len();
        let next_page = flights_free
            && !reading_out
            && !self.interrupted
            && match self.listing {
                // A new pass starts from a quiet list, so it reads only what is left.
                Listing::PassOver => quiet,
                // The next page while this one is granted, keeping about a page in hand
                // (never less than a PATCH's worth, so a partial batch does not stall it).
                Listing::Paging { .. } => in_hand() < page.max(MAX_IDS_PER_REQUEST),
                Listing::Finished => false,
            };
        if next_page {
            return self.read_next_page(now_ms);
        }
        match &self.listing {
            Listing::Finished
                if quiet && !self.remark.is_empty() && flights_free && !self.interrupted =>
            {
                // The last retries: wait a little before asking again (the batch waits in the
                // flight, so no PATCH takes it before the wait is over).
                let batch = self.remark.take_batch();
                let ticket = self.ticket();
                self.flights.insert(ticket, Flight::Pausing(batch));
                let delay = self.remark.pause(self.config.retry_policy(), now_ms);
                Next::Step(ticket, EngineStep::Twitch(TwitchStep::Sleep(delay)))
            }
            _ => Next::Idle,
        }
    }
}
