//! Making an engine and reading it: the constructors, the options a driver may change,
//! and the report.

use super::*;

impl Engine {
    /// A run over every CLAIMED entitlement matching `options.query`.
    pub fn new(config: &Config, options: FulfillOptions) -> Result<Engine, Error> {
        let mut query = options.query;
        query.status = Some(FulfillmentStatus::Claimed);
        query.first = Some(query.first.unwrap_or(MAX_PAGE_SIZE));
        query.after = None;
        query.validate()?;
        check_requests_in_flight(options.requests_in_flight)?;
        check_grants_in_flight(options.grants_in_flight)?;
        Ok(Engine {
            config: config.clone(),
            session: Arc::new(Session::new(config)),
            query,
            quarantine_after: options.quarantine_after.max(1),
            requests_in_flight: options.requests_in_flight,
            grants_in_flight: options.grants_in_flight,
            report: FulfillReport::default(),
            settlements: Vec::new(),
            taken_up: HashSet::default(),
            digest: IdDigest::default(),
            user_failures: HashMap::new(),
            quarantined: HashSet::new(),
            checks: VecDeque::new(),
            work: VecDeque::new(),
            answers: Vec::new(),
            answered: Vec::new(),
            spare_answered: Vec::new(),
            spare_granting: Vec::new(),
            to_mark: Vec::new(),
            to_record: Vec::new(),
            listing: Listing::PassOver,
            passes: 0,
            cursor_fault: None,
            remark: UpdateFailedPool::new(config.retry_policy()),
            pushed: Vec::new(),
            flights: BTreeMap::new(),
            studio: None,
            next_ticket: 0,
            sequential: false,
            awaited: Ticket(0),
            started: false,
            stopping: None,
            interrupted: false,
            stop_signal: options.stop_signal,
            finished: false,
        })
    }

    /// A run over entitlements pushed by EventSub: no listing, the same rules.
    pub fn for_entitlements(
        config: &Config,
        entitlements: Vec<Entitlement>,
        quarantine_after: u32,
    ) -> Engine {
        let mut engine = Engine::new(
            config,
            FulfillOptions {
                quarantine_after,
                ..FulfillOptions::new(EntitlementsQuery::new())
            },
        )
        .unwrap_or_else(|_| unreachable!("an empty query is valid"));
        engine.listing = Listing::Finished;
        engine.pushed = entitlements
            .into_iter()
            .filter(|e| e.fulfillment_status == FulfillmentStatus::Claimed)
            .collect();
        engine
    }

    /// Runs the engine's requests in `session`: its tokens, its rate-limit bucket (shared with
    /// the session's other calls) and its request count. Without it the engine has a session
    /// of its own. Set it before the run starts.
    pub fn with_session(mut self, session: Arc<Session>) -> Engine {
        self.session = session;
        self
    }

    /// Requests allowed in flight at once (1..=16) when driven through [`Engine::advance`]
    /// ([`FulfillOptions::requests_in_flight`] sets it for [`Engine::new`]).
    pub fn with_requests_in_flight(mut self, requests: usize) -> Result<Engine, Error> {
        self.requests_in_flight = check_requests_in_flight(requests)?;
        Ok(self)
    }

    /// Stops gracefully once `signal` is raised ([`FulfillOptions::stop_signal`] sets it for
    /// [`Engine::new`]).
    pub fn with_stop_signal(mut self, signal: StopSignal) -> Engine {
        self.stop_signal = Some(signal);
        self
    }

    /// Grants handed out at once (1..=100; [`FulfillOptions::grants_in_flight`] sets it for
    /// [`Engine::new`]).
    pub fn with_grants_in_flight(mut self, grants: usize) -> Result<Engine, Error> {
        self.grants_in_flight = check_grants_in_flight(grants)?;
        Ok(self)
    }

    /// Requests it may have out at once through [`Engine::advance`].
    pub fn requests_in_flight(&self) -> usize {
        self.requests_in_flight
    }

    /// Grants it hands out at once (one `Grant` step's worth).
    pub fn grants_in_flight(&self) -> usize {
        self.grants_in_flight
    }

    /// Asks the run to stop gracefully: no new grant, page or re-read starts; the grants and
    /// requests out are awaited, their answers recorded, what was granted is marked
    /// FULFILLED, and then it is `Done` with [`FulfillReport::interrupted`] set. What was not
    /// reached stays CLAIMED (and the journal's open records) for the next run. Raising the
    /// options' [`StopSignal`] does the same from another thread.
    pub fn interrupt(&mut self) {
        if !self.interrupted {
            self.interrupted = true;
            self.session.note(&Note::Interrupted);
        }
    }

    pub(super) fn check_stop_signal(&mut self) {
        if !self.interrupted && self.stop_signal.as_ref().is_some_and(StopSignal::is_raised) {
            self.interrupt();
        }
    }

    /// Outcomes settled since the last call (hand them to a report or a log; the engine
    /// keeps none, so memory stays flat however many entitlements pass through).
    pub fn take_settlements(&mut self) -> Vec<Settlement> {
        std::mem::take(&mut self.settlements)
    }

    /// The totals so far.
    pub fn report(&self) -> &FulfillReport {
        &self.report
    }
}
