//! The fulfillment engine: every CLAIMED entitlement granted once and marked FULFILLED, as a
//! sans-IO state machine.
//!
//! The engine asks its driver for HTTP (`Send`, `Sleep`; tokens are its session's, fetched
//! with ordinary requests), for journal work (`LoadJournal`, `Claim`, `AppendJournal`) and for grants (`Grant`), and
//! is fed the answers. The blocking [`crate::Client::fulfill`], a C host and an async
//! JavaScript driver run this same machine.
//!
//! The rules it keeps:
//! - Recover first: entitlements an interrupted run granted but did not mark are re-read
//!   and marked without granting again; grants left in doubt are granted as `resumed`.
//! - List CLAIMED (first=1000) page by page, granting each page and marking in batches of
//!   100 as grants accumulate; then pass over the list again from its start until a pass
//!   finds nothing new,
//!   so a positional cursor (which skips items when earlier ones are marked) loses nothing.
//!   Clean, this costs ⌈N/1000⌉ pages and ⌈N/100⌉ updates, plus the one page of the final
//!   pass; ids left behind (failed grants) are read again once per pass, not once per page.
//! - Per batch of ≤100: claim (journal `Granting`), grant, journal the answers, PATCH
//!   FULFILLED, journal `Settled`. Nothing granted is forgotten; nothing is granted twice.
//!   A journal shared by several instances may answer that another one holds an id: that
//!   id is left to it (`HeldElsewhere`), not granted here.
//! - Ids Twitch answers `UPDATE_FAILED` are pooled across batches and marked again in
//!   batches of 100 (a bounded number of times), not one small PATCH per batch.
//! - An id taken up once in a run is never taken up again in that run (duplicates across
//!   pages are granted once).
//! - A viewer whose updates keep failing is quarantined: their other entitlements are not
//!   granted in this run and never block the rest.
//! - Pacing: every request goes through the session ([`Session::authorized`]), whose bucket
//!   holds a request back just until a point has come back (counting the requests still
//!   out), so a long drain runs at the rate limit's bound and does not run into 429s.
//! - Bounds: a pass ends at a cursor seen before in it (the server loops), and passes are
//!   limited; a run that ends so reports the cursor fault as its error.
//! - Pipelining: driven through [`Engine::advance`], the engine keeps several requests out at
//!   once (the next page while this one is granted, PATCHes side by side, up to
//!   [`FulfillOptions::requests_in_flight`]) while the studio's steps (journal, grants) run
//!   one at a time beside them; so a drain takes about as long as Twitch takes to answer, or
//!   as the rate limit allows, not the sum of every round trip and every grant. Through
//!   [`Engine::resume`] it takes one step at a time, in the same order of rules.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::entitlements::{
    get_entitlements, Entitlement, EntitlementPages, EntitlementsPage, EntitlementsQuery,
    FulfillmentStatus, MAX_IDS_PER_REQUEST, MAX_PAGE_SIZE,
};
use crate::error::Error;
use crate::fulfill::grant::{GrantOutcome, GrantRequest};
use crate::fulfill::journal::{JournalError, JournalRecord, Recovery};
use crate::fulfill::report::{FulfillReport, SettledState, Settlement};
use crate::http::{HttpRequest, HttpResponse};
use crate::retry::{Backoff, RetryPolicy};
use crate::session::{Authorized, Session};
use crate::single_request::SingleRequest;
use crate::step::{Input, Operation, Step};
use crate::transport::TransportError;
use crate::update::{update_entitlements, UpdateEntitlements, UpdateReport, UpdateStatus};

/// Passes over the list a run makes at most: a pass repeats only when the one before found
/// something new, which a list that settles stops doing within a few passes.
const MAX_PASSES: u32 = 64;
/// Requests out at once, by default, for drivers that run steps side by side.
pub const DEFAULT_REQUESTS_IN_FLIGHT: usize = 4;
/// The most requests [`FulfillOptions::requests_in_flight`] allows out at once.
pub const MAX_REQUESTS_IN_FLIGHT: usize = 16;

/// Names a step that is out; its answer is fed back with it ([`Engine::advance`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(u64);

/// What the engine needs next.
#[derive(Debug)]
pub enum EngineStep {
    /// Perform this request; answer [`EngineInput::Response`] or `TransportFailed`.
    Send(HttpRequest),
    /// Wait; answer [`EngineInput::Slept`].
    Sleep(Duration),
    /// Read the journal; answer [`EngineInput::JournalLoaded`].
    LoadJournal,
    /// Record these `Granting` records durably, taking each entitlement for this run (see
    /// [`crate::Journal::claim`]); answer [`EngineInput::Claimed`].
    Claim(Vec<JournalRecord>),
    /// Append these records durably; answer [`EngineInput::Appended`].
    AppendJournal(Vec<JournalRecord>),
    /// Grant these (up to 100); answer [`EngineInput::Granted`] with one outcome each, in order.
    Grant(Vec<GrantRequest>),
    /// The run is over.
    Done(FulfillReport),
}

/// What the driver feeds the engine.
#[derive(Debug)]
pub enum EngineInput {
    Start,
    Response(HttpResponse),
    TransportFailed(TransportError),
    Slept,
    JournalLoaded(Result<Vec<JournalRecord>, JournalError>),
    Appended(Result<(), JournalError>),
    /// The ids of the claim another instance holds (not taken: not to be granted here).
    Claimed(Result<Vec<String>, JournalError>),
    Granted(Vec<GrantOutcome>),
}

impl EngineInput {
    fn name(&self) -> &'static str {
        match self {
            EngineInput::Start => "Start",
            EngineInput::Response(_) => "Response",
            EngineInput::TransportFailed(_) => "TransportFailed",
            EngineInput::Slept => "Slept",
            EngineInput::JournalLoaded(_) => "JournalLoaded",
            EngineInput::Appended(_) => "Appended",
            EngineInput::Claimed(_) => "Claimed",
            EngineInput::Granted(_) => "Granted",
        }
    }

    /// The input as an operation's input, if it is an HTTP-level answer.
    fn into_http(self) -> Result<Input, EngineInput> {
        match self {
            EngineInput::Start => Ok(Input::Start),
            EngineInput::Response(r) => Ok(Input::Response(r)),
            EngineInput::TransportFailed(e) => Ok(Input::TransportFailed(e)),
            EngineInput::Slept => Ok(Input::Slept),
            other => Err(other),
        }
    }
}

/// Which entitlements to fulfill, and how patient to be with failing viewers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FulfillOptions {
    /// Filters (game, user); the status is always CLAIMED, the page size 1000 unless set.
    pub query: EntitlementsQuery,
    /// Unconfirmed updates of one viewer after which their other entitlements are skipped
    /// for the rest of the run.
    pub quarantine_after: u32,
    /// Requests to Twitch out at once (1..=16, default 4) for drivers that pipeline (the
    /// blocking [`crate::Client::fulfill`], [`Engine::advance`]); 1 takes one step at a time
    /// (no grant beside a request either), as [`Engine::resume`] does.
    pub requests_in_flight: usize,
}

impl FulfillOptions {
    /// Every CLAIMED entitlement of `game_id`.
    pub fn game(game_id: impl Into<String>) -> Self {
        Self::new(EntitlementsQuery::new().game(game_id))
    }

    /// Every CLAIMED entitlement matching `query`.
    pub fn new(query: EntitlementsQuery) -> Self {
        FulfillOptions {
            query,
            quarantine_after: 1,
            requests_in_flight: DEFAULT_REQUESTS_IN_FLIGHT,
        }
    }
}

/// Where listing stands.
#[derive(Debug)]
enum Listing {
    /// Between passes: the next starts from the top of the list once it is quiet.
    PassOver,
    /// Inside a pass: `pages` knows the next cursor; `read` pages so far, `fresh` whether
    /// any held an entitlement not taken up before.
    Paging {
        pages: EntitlementPages,
        read: u32,
        fresh: bool,
    },
    Finished,
}

/// A request the engine makes, driven through the session (tokens and pacing).
type Read = Authorized<SingleRequest<EntitlementsPage>>;

/// Twitch-side work in flight: one request (with its retries, waits and tokens) each.
#[derive(Debug)]
enum Flight {
    /// Re-reading entitlements an interrupted run left open.
    Checking {
        op: Read,
        batch: Vec<(Entitlement, bool)>,
    },
    /// One page of the CLAIMED list.
    Listing(Read),
    /// One PATCH of up to 100 granted entitlements.
    Marking {
        op: Box<Authorized<UpdateEntitlements>>,
        granted: Vec<Entitlement>,
    },
    /// Waiting before marking the pooled `UPDATE_FAILED` ids again (they wait here).
    Pausing(Vec<Entitlement>),
}

/// The studio side (journal and grants), one step at a time, in this order per batch:
/// claim, grant, record the outcomes; plus the records of settled entitlements.
#[derive(Debug)]
enum Studio {
    Loading,
    Intent(Vec<GrantRequest>),
    Granting(Vec<GrantRequest>),
    Recording(Vec<Entitlement>),
    Settling,
}

/// The fulfillment state machine ([`Engine::new`], [`Engine::for_entitlements`]).
#[derive(Debug)]
pub struct Engine {
    config: Config,
    /// Tokens, pacing and the request count: the driving client's, or the engine's own.
    session: Arc<Session>,
    query: EntitlementsQuery,
    quarantine_after: u32,
    requests_in_flight: usize,
    report: FulfillReport,
    settlements: Vec<Settlement>,
    taken_up: HashSet<u64>,
    user_failures: HashMap<String, u32>,
    quarantined: HashSet<String>,
    checks: VecDeque<Vec<(Entitlement, bool)>>,
    /// Batches (≤100) waiting to be granted.
    work: VecDeque<Vec<GrantRequest>>,
    /// Granted and journaled, waiting for a PATCH (sent 100 at a time; the rest when a pass
    /// over the list ends).
    to_mark: Vec<Entitlement>,
    /// `Settled` records waiting to be appended.
    to_record: Vec<JournalRecord>,
    listing: Listing,
    /// Passes over the list started so far.
    passes: u32,
    /// Why the last pass ended early (a cursor seen before): the run's error if it ends so.
    cursor_fault: Option<Error>,
    /// The client's settings with `UPDATE_FAILED` rounds left to the engine's pool.
    update_config: Config,
    /// Granted entitlements Twitch answered `UPDATE_FAILED`, to mark again.
    remark: Vec<Entitlement>,
    /// `UPDATE_FAILED` answers so far, by id (while it is in the pool).
    remark_rounds: HashMap<String, u32>,
    backoff: Backoff,
    /// Entitlements pushed by EventSub, taken up once the journal is read (those it left
    /// open go through recovery instead: never granted afresh).
    pushed: Vec<Entitlement>,
    flights: BTreeMap<Ticket, Flight>,
    studio: Option<(Ticket, Studio)>,
    next_ticket: u64,
    /// Driven through [`Engine::resume`]: one step out at a time.
    sequential: bool,
    /// The step [`Engine::resume`] is waiting on.
    awaited: Ticket,
    started: bool,
    /// Set when the run is stopping: nothing new starts; what is out is awaited.
    stopping: Option<Error>,
    finished: bool,
}

impl Engine {
    /// A run over every CLAIMED entitlement matching `options.query`.
    pub fn new(config: &Config, options: FulfillOptions) -> Result<Engine, Error> {
        let mut query = options.query;
        query.status = Some(FulfillmentStatus::Claimed);
        query.first = Some(query.first.unwrap_or(MAX_PAGE_SIZE));
        query.after = None;
        query.validate()?;
        check_requests_in_flight(options.requests_in_flight)?;
        Ok(Engine {
            config: config.clone(),
            session: Arc::new(Session::new(config)),
            query,
            quarantine_after: options.quarantine_after.max(1),
            requests_in_flight: options.requests_in_flight,
            report: FulfillReport::default(),
            settlements: Vec::new(),
            taken_up: HashSet::new(),
            user_failures: HashMap::new(),
            quarantined: HashSet::new(),
            checks: VecDeque::new(),
            work: VecDeque::new(),
            to_mark: Vec::new(),
            to_record: Vec::new(),
            listing: Listing::PassOver,
            passes: 0,
            cursor_fault: None,
            update_config: config.clone().with_retry_policy(RetryPolicy {
                update_failed_retries: 0,
                ..config.retry_policy().clone()
            }),
            remark: Vec::new(),
            remark_rounds: HashMap::new(),
            backoff: Backoff::default(),
            pushed: Vec::new(),
            flights: BTreeMap::new(),
            studio: None,
            next_ticket: 0,
            sequential: false,
            awaited: Ticket(0),
            started: false,
            stopping: None,
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

    /// Requests it may have out at once through [`Engine::advance`].
    pub fn requests_in_flight(&self) -> usize {
        self.requests_in_flight
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

    /// Advances the engine one step at a time: feed [`EngineInput::Start`] first, then the
    /// answer to each step it returns. Driven this way the engine never has more than one
    /// step out, whatever [`FulfillOptions::requests_in_flight`] says.
    pub fn resume(&mut self, input: EngineInput, now_ms: u64) -> EngineStep {
        let answer = match input {
            EngineInput::Start if !self.started => {
                self.sequential = true;
                None
            }
            input => Some((self.awaited, input)),
        };
        let mut steps = self.advance(answer, now_ms).into_iter();
        match (steps.next(), steps.next()) {
            (Some((ticket, step)), None) => {
                self.awaited = ticket;
                step
            }
            _ => unreachable!("a sequential engine has exactly one step out"),
        }
    }

    /// Advances the engine with steps side by side: `None` to start, then the answer to any
    /// step that is out, with its ticket, in any order. Returns the steps that may start
    /// now (perhaps none, while others are out). HTTP steps (`Send`, `Sleep`)
    /// of different tickets may run at once, up to [`FulfillOptions::requests_in_flight`];
    /// the studio's steps (journal and grants) come one at a time. `Done` comes alone, once
    /// nothing is out.
    pub fn advance(
        &mut self,
        answer: Option<(Ticket, EngineInput)>,
        now_ms: u64,
    ) -> Vec<(Ticket, EngineStep)> {
        let mut steps = Vec::new();
        match answer {
            _ if self.finished => {
                let got = answer.map_or("a start", |(_, input)| input.name());
                return vec![self.abort(got, "nothing (the run is over)")];
            }
            None if !self.started => {
                self.started = true;
                // One request in flight: one step at a time, exactly as `resume` takes them.
                self.sequential |= self.requests_in_flight == 1;
                let ticket = self.ticket();
                self.studio = Some((ticket, Studio::Loading));
                return vec![(ticket, EngineStep::LoadJournal)];
            }
            None => return vec![self.abort("a start", "an answer")],
            Some((_, EngineInput::Start)) => return vec![self.abort("Start", "an answer")],
            Some((ticket, input)) => {
                if let Some(flight) = self.flights.remove(&ticket) {
                    match self.on_flight(ticket, flight, input, now_ms) {
                        Ok(Some(step)) => {
                            // Every step gets its own ticket: a second answer to this one
                            // is refused, not taken for the flight's next step.
                            let flight = self.flights.remove(&ticket).expect("going on");
                            let next = self.ticket();
                            self.flights.insert(next, flight);
                            steps.push((next, step));
                        }
                        Ok(None) => {}
                        Err(Misfed { got, expected }) => return vec![self.abort(got, expected)],
                    }
                } else if self.studio.as_ref().is_some_and(|(t, _)| *t == ticket) {
                    let (_, studio) = self.studio.take().expect("just checked");
                    match self.on_studio(studio, input) {
                        Ok(Some((studio, step))) => {
                            let next = self.ticket();
                            self.studio = Some((next, studio));
                            steps.push((next, step));
                        }
                        Ok(None) => {}
                        Err(Misfed { got, expected }) => return vec![self.abort(got, expected)],
                    }
                } else {
                    return vec![self.abort(input.name(), "an answer to a step that is out")];
                }
            }
        }
        self.plan(&mut steps, now_ms);
        steps
    }

    /// Feeds a flight the answer to its step; `Some` step when it goes on.
    fn on_flight(
        &mut self,
        ticket: Ticket,
        flight: Flight,
        input: EngineInput,
        now_ms: u64,
    ) -> Result<Option<EngineStep>, Misfed> {
        let input = match (flight, input) {
            (Flight::Pausing(batch), EngineInput::Slept) => {
                self.to_mark.extend(batch);
                return Ok(None);
            }
            (Flight::Pausing(batch), other) => {
                self.flights.insert(ticket, Flight::Pausing(batch));
                return Err(Misfed {
                    got: other.name(),
                    expected: "Slept",
                });
            }
            (flight, input) => match input.into_http() {
                Ok(input) => (flight, input),
                Err(other) => {
                    self.flights.insert(ticket, flight);
                    return Err(Misfed {
                        got: other.name(),
                        expected: "an HTTP answer",
                    });
                }
            },
        };
        Ok(match input {
            (Flight::Checking { mut op, batch }, input) => {
                let step = op.resume(input, now_ms);
                self.flights.insert(ticket, Flight::Checking { op, batch });
                self.relay_flight(ticket, step)
            }
            (Flight::Listing(mut op), input) => {
                let step = op.resume(input, now_ms);
                self.flights.insert(ticket, Flight::Listing(op));
                self.relay_flight(ticket, step)
            }
            (Flight::Marking { mut op, granted }, input) => {
                let step = op.resume(input, now_ms);
                self.flights.insert(ticket, Flight::Marking { op, granted });
                self.relay_flight(ticket, step)
            }
            (Flight::Pausing(batch), _) => {
                // Every answer to a pause was taken or turned away above.
                self.flights.insert(ticket, Flight::Pausing(batch));
                return Err(Misfed {
                    got: "an HTTP answer",
                    expected: "Slept",
                });
            }
        })
    }

    /// Relays a flight's next step, or hands its result to its handler (ending the flight).
    fn relay_flight<T: FlightResult>(
        &mut self,
        ticket: Ticket,
        step: Step<T>,
    ) -> Option<EngineStep> {
        let result = match step {
            Step::Send(request) => return Some(EngineStep::Send(request)),
            Step::Sleep(duration) => return Some(EngineStep::Sleep(duration)),
            Step::Done(result) => result,
            // The session answers every token request inside the operation.
            Step::Authorize { .. } => Err(Error::Unauthorized {
                status: 401,
                message: "internal: a request of the run asked its driver for a token".into(),
            }),
        };
        if let Some(flight) = self.flights.remove(&ticket) {
            T::land(self, flight, result);
        }
        None
    }

    /// Feeds the studio the answer to its step; `Some` when the batch goes on to a next step.
    fn on_studio(
        &mut self,
        studio: Studio,
        input: EngineInput,
    ) -> Result<Option<(Studio, EngineStep)>, Misfed> {
        Ok(match (studio, input) {
            (Studio::Loading, EngineInput::JournalLoaded(Ok(records))) => {
                self.on_loaded(records);
                None
            }
            (Studio::Intent(requests), EngineInput::Claimed(Ok(held))) => {
                self.on_claimed(requests, held)
            }
            (Studio::Granting(requests), EngineInput::Granted(outcomes)) => {
                self.on_granted(requests, outcomes)
            }
            (Studio::Recording(granted), EngineInput::Appended(Ok(()))) => {
                self.to_mark.extend(granted);
                None
            }
            (Studio::Settling, EngineInput::Appended(Ok(()))) => None,
            (studio @ Studio::Loading, EngineInput::JournalLoaded(Err(e)))
            | (studio @ Studio::Intent(_), EngineInput::Claimed(Err(e)))
            | (studio @ (Studio::Recording(_) | Studio::Settling), EngineInput::Appended(Err(e))) =>
            {
                // Account for the batch in hand before stopping: every entitlement taken up
                // ends in one counted state.
                self.drop_studio(studio);
                // `Settled` records of PATCHes that land meanwhile are still offered to the
                // journal (a claim may fail where an append succeeds); if they are lost, the
                // next run re-reads those ids and finds them FULFILLED.
                self.stop(Error::Journal { message: e.0 });
                None
            }
            (studio, other) => {
                let expected = match studio {
                    Studio::Loading => "JournalLoaded",
                    Studio::Intent(_) => "Claimed",
                    Studio::Recording(_) | Studio::Settling => "Appended",
                    Studio::Granting(_) => "Granted",
                };
                // Put it back so the abort accounts for the batch in hand.
                let ticket = self.ticket();
                self.studio = Some((ticket, studio));
                return Err(Misfed {
                    got: other.name(),
                    expected,
                });
            }
        })
    }

    fn on_loaded(&mut self, records: Vec<JournalRecord>) {
        let recovery = Recovery::from_records(&records);
        let open = recovery
            .granted
            .into_iter()
            .map(|e| (e, true))
            .chain(recovery.in_doubt.into_iter().map(|e| (e, false)))
            .collect::<Vec<_>>();
        let recovering: HashSet<&str> = open.iter().map(|(e, _)| e.id.as_str()).collect();
        let pushed: Vec<Entitlement> = std::mem::take(&mut self.pushed)
            .into_iter()
            .filter(|e| !recovering.contains(e.id.as_str()))
            .filter(|e| self.take_up(e))
            .collect();
        self.queue_grants(pushed, false);
        for chunk in open.chunks(MAX_IDS_PER_REQUEST) {
            self.checks.push_back(chunk.to_vec());
        }
    }

    /// Starts what may start now, in this order: the journal's pending records, recovery
    /// checks, full batches to mark, grants, the rest to mark when a pass over the list
    /// ends, the next page; `Done` once nothing is left and nothing is out.
    fn plan(&mut self, steps: &mut Vec<(Ticket, EngineStep)>, now_ms: u64) {
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
                        || !self.checks.is_empty()
                        || !self.to_mark.is_empty()
                        || !self.remark.is_empty()
                        || !matches!(self.listing, Listing::Finished);
                    if left && self.stopping.is_none() {
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
    fn next_step(&mut self, now_ms: u64) -> Next {
        let studio_free = self.studio.is_none();
        let flights_free = self.flights.len() < self.requests_in_flight;
        if studio_free && !self.to_record.is_empty() {
            let ticket = self.ticket();
            self.studio = Some((ticket, Studio::Settling));
            return Next::Step(
                ticket,
                EngineStep::AppendJournal(std::mem::take(&mut self.to_record)),
            );
        }
        if self.stopping.is_some() {
            return Next::Idle;
        }
        let reading_out = self
            .flights
            .values()
            .any(|f| matches!(f, Flight::Listing(_) | Flight::Checking { .. }));
        if flights_free && !reading_out {
            if let Some(batch) = self.checks.pop_front() {
                let query = EntitlementsQuery {
                    ids: batch.iter().map(|(e, _)| e.id.clone()).collect(),
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
            let batch = take_batch(&mut self.remark);
            return self.start_marking(batch, now_ms);
        }
        // Grants run ahead of marking by as much as the PATCHes in flight can take, no more:
        // so a viewer found failing is quarantined before many more grants go to them.
        let marks_wanted = self.to_mark.len() < self.requests_in_flight * MAX_IDS_PER_REQUEST;
        if studio_free && marks_wanted {
            while let Some(requests) = self.work.pop_front() {
                if let Some((ticket, step)) = self.start_grants(requests) {
                    return Next::Step(ticket, step);
                }
            }
        }
        // Everything listed so far is granted and recorded (or nothing was listed yet).
        let granted_all = self.work.is_empty()
            && self.checks.is_empty()
            && !reading_out
            && !matches!(
                self.studio,
                Some((
                    _,
                    Studio::Intent(_) | Studio::Granting(_) | Studio::Recording(_)
                ))
            );
        let pass_ends = matches!(self.listing, Listing::Finished | Listing::PassOver);
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
        let in_hand = || self.work.iter().map(Vec::len).sum::<usize>() + self.to_mark.len();
        let next_page = flights_free
            && !reading_out
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
            Listing::Finished if quiet && !self.remark.is_empty() && flights_free => {
                // The last retries: wait a little before asking again (the batch waits in the
                // flight, so no PATCH takes it before the wait is over).
                let batch = take_batch(&mut self.remark);
                let ticket = self.ticket();
                self.flights.insert(ticket, Flight::Pausing(batch));
                let delay = self.backoff.next_delay(self.config.retry_policy(), now_ms);
                Next::Step(ticket, EngineStep::Sleep(delay))
            }
            _ => Next::Idle,
        }
    }

    /// Asks for the next page of the list: of the pass under way, or of a new pass from the
    /// top (at most [`MAX_PASSES`]).
    fn read_next_page(&mut self, now_ms: u64) -> Next {
        let (pages, read, fresh) = match std::mem::replace(&mut self.listing, Listing::Finished) {
            Listing::Paging { pages, read, fresh } => (pages, read, fresh),
            _ if self.passes >= MAX_PASSES => {
                self.stop(Error::decode(
                    "entitlements list",
                    format!(
                        "every one of {MAX_PASSES} passes over the CLAIMED list found \
                         entitlements the one before had not: the list never settled"
                    ),
                ));
                return Next::Again;
            }
            _ => match EntitlementPages::new(self.query.clone()) {
                Ok(pages) => {
                    self.passes += 1;
                    (pages, 0, false)
                }
                Err(e) => {
                    self.stop(e);
                    return Next::Again;
                }
            },
        };
        let request = pages.next_request(&self.config);
        self.listing = Listing::Paging { pages, read, fresh };
        match request {
            Ok(Some(op)) => {
                let op = self.session.authorized(op);
                self.launch(op, Flight::Listing, now_ms)
            }
            Ok(None) => {
                self.listing = Listing::Finished;
                Next::Again
            }
            Err(e) => {
                self.stop(e);
                Next::Again
            }
        }
    }

    /// Starts an operation as a flight: its first step, or its result handled at once.
    fn launch<T: FlightResult, O: Operation<Output = T>>(
        &mut self,
        mut op: O,
        flight: impl FnOnce(O) -> Flight,
        now_ms: u64,
    ) -> Next {
        let step = op.resume(Input::Start, now_ms);
        let ticket = self.ticket();
        self.flights.insert(ticket, flight(op));
        match self.relay_flight(ticket, step) {
            Some(step) => Next::Step(ticket, step),
            None => Next::Again,
        }
    }
    /// Re-read entitlements an interrupted run left open.
    fn on_checked(&mut self, page: EntitlementsPage, batch: Vec<(Entitlement, bool)>) {
        let status: HashMap<&str, FulfillmentStatus> = page
            .entitlements
            .iter()
            .map(|e| (e.id.as_str(), e.fulfillment_status))
            .collect();
        let mut mark = Vec::new();
        let mut regrant = Vec::new();
        for (entitlement, granted) in batch {
            if !self.take_up(&entitlement) {
                continue;
            }
            match status.get(entitlement.id.as_str()) {
                Some(FulfillmentStatus::Fulfilled) => {
                    self.record_settled(&entitlement.id);
                    self.settle(&entitlement, SettledState::AlreadyFulfilled);
                }
                Some(FulfillmentStatus::Claimed) if granted => mark.push(entitlement),
                Some(FulfillmentStatus::Claimed) => regrant.push(entitlement),
                None => {
                    self.record_settled(&entitlement.id);
                    self.settle(&entitlement, SettledState::Rejected(UpdateStatus::NotFound));
                }
            }
        }
        self.to_mark.extend(mark);
        self.queue_grants(regrant, true);
    }

    fn on_page(&mut self, page: EntitlementsPage) {
        let fresh: Vec<Entitlement> = page
            .entitlements
            .iter()
            .filter(|e| e.fulfillment_status == FulfillmentStatus::Claimed)
            .filter(|e| self.take_up(e))
            .cloned()
            .collect();
        if let Listing::Paging {
            mut pages,
            read,
            fresh: any_fresh,
        } = std::mem::replace(&mut self.listing, Listing::Finished)
        {
            let (read, any_fresh) = (read + 1, any_fresh || !fresh.is_empty());
            // The pass ends at its last page, or at a cursor seen before in it (the server
            // loops: what lies past that point cannot be reached this way).
            let fault = pages.advance(&page).err();
            self.listing = if !pages.is_finished() {
                Listing::Paging {
                    pages,
                    read,
                    fresh: any_fresh,
                }
            } else if !any_fresh || (read == 1 && fault.is_none()) {
                // A whole pass found nothing new, or one page from the top, with no cursor,
                // was everything still CLAIMED: nothing is left.
                Listing::Finished
            } else {
                // Marking moved the list under the cursor: pass over it again from the top.
                Listing::PassOver
            };
            self.cursor_fault = fault;
        }
        self.queue_grants(fresh, false);
    }

    fn queue_grants(&mut self, entitlements: Vec<Entitlement>, resumed: bool) {
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
    fn start_grants(&mut self, requests: Vec<GrantRequest>) -> Option<(Ticket, EngineStep)> {
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
        Some((ticket, EngineStep::Claim(records)))
    }

    /// Grants what the claim took; ids another instance holds are left to it.
    fn on_claimed(
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
        Some((Studio::Granting(kept.clone()), EngineStep::Grant(kept)))
    }

    fn on_granted(
        &mut self,
        requests: Vec<GrantRequest>,
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
        for (request, outcome) in requests.into_iter().zip(outcomes) {
            let id = request.entitlement.id.clone();
            if request.resumed {
                self.report.resumed += 1;
            }
            match outcome {
                GrantOutcome::Granted => {
                    self.report.granted += 1;
                    records.push(JournalRecord::Granted { id });
                    granted.push(request.entitlement);
                }
                GrantOutcome::RetryLater => {
                    records.push(JournalRecord::NotGranted { id });
                    self.settle(&request.entitlement, SettledState::RetryLater);
                }
                GrantOutcome::Failed(reason) => {
                    records.push(JournalRecord::NotGranted { id });
                    self.settle(&request.entitlement, SettledState::GrantFailed(reason));
                }
            }
        }
        Some((
            Studio::Recording(granted),
            EngineStep::AppendJournal(records),
        ))
    }

    fn start_marking(&mut self, granted: Vec<Entitlement>, now_ms: u64) -> Next {
        // A quarantined viewer's calls keep failing: what was granted to them before the
        // quarantine (grants run ahead of marking) is left to the journal and the next run,
        // not sent again to fail (and be split and re-read) in this one.
        let (granted, held_back): (Vec<Entitlement>, Vec<Entitlement>) = granted
            .into_iter()
            .partition(|e| !self.quarantined.contains(&e.user_id));
        for entitlement in &held_back {
            self.settle(entitlement, SettledState::Unmarked);
        }
        if granted.is_empty() {
            return Next::Again;
        }
        let ids: Vec<&str> = granted.iter().map(|e| e.id.as_str()).collect();
        match update_entitlements(&self.update_config, &ids, FulfillmentStatus::Fulfilled) {
            Ok(op) => {
                let op = Box::new(self.session.authorized(op));
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

    fn on_marked(&mut self, result: Result<UpdateReport, Error>, granted: Vec<Entitlement>) {
        let (report, stop) = match result {
            Ok(report) => (report, None),
            Err(Error::PartialUpdate { report, cause }) => (*report, Some(*cause)),
            Err(e) => (UpdateReport::default(), Some(e)),
        };
        let by_id: HashMap<&str, &Entitlement> =
            granted.iter().map(|e| (e.id.as_str(), e)).collect();
        let mut answered = HashSet::new();
        for outcome in &report.outcomes {
            let Some(entitlement) = by_id.get(outcome.id.as_str()) else {
                continue;
            };
            answered.insert(outcome.id.as_str());
            let state = match outcome.status {
                UpdateStatus::Success => SettledState::Fulfilled,
                UpdateStatus::UpdateFailed => {
                    let rounds = self.remark_rounds.entry(outcome.id.clone()).or_default();
                    *rounds += 1;
                    if *rounds <= self.config.retry_policy().update_failed_retries {
                        self.remark.push((*entitlement).clone());
                        continue;
                    }
                    SettledState::Unmarked
                }
                status => SettledState::Rejected(status),
            };
            self.remark_rounds.remove(&outcome.id);
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

    /// Marks an entitlement as taken up in this run; false if it already was.
    fn take_up(&mut self, entitlement: &Entitlement) -> bool {
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

    fn settle(&mut self, entitlement: &Entitlement, state: SettledState) {
        self.report.count(&state);
        self.settlements.push(Settlement {
            id: entitlement.id.clone(),
            user_id: entitlement.user_id.clone(),
            state,
        });
    }

    /// Settles the batch in hand of a studio step that will not be answered: claimed but not
    /// granted, or granted but perhaps not recorded (the journal keeps it for the next run,
    /// granted or in doubt). A grant whose outcome never came stays in doubt, uncounted.
    fn drop_studio(&mut self, studio: Studio) {
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
    fn record_settled(&mut self, id: &str) {
        self.to_record
            .push(JournalRecord::Settled { id: id.to_owned() });
    }

    fn ticket(&mut self) -> Ticket {
        self.next_ticket += 1;
        Ticket(self.next_ticket)
    }

    /// Ends the run once nothing is out; entitlements queued but not granted stay CLAIMED.
    fn finish(&mut self) -> (Ticket, EngineStep) {
        for entitlement in std::mem::take(&mut self.pushed) {
            if self.take_up(&entitlement) {
                self.settle(&entitlement, SettledState::NotReached);
            }
        }
        for requests in std::mem::take(&mut self.work) {
            for request in requests {
                self.settle(&request.entitlement, SettledState::NotReached);
            }
        }
        // Granted but not marked: the journal keeps them for the next run.
        let mut granted = std::mem::take(&mut self.remark);
        granted.append(&mut self.to_mark);
        for entitlement in &granted {
            self.settle(entitlement, SettledState::Unmarked);
        }
        if let Some(cause) = self.stopping.take().or(self.cursor_fault.take()) {
            self.report.error = Some(cause);
        }
        self.finished = true;
        (self.ticket(), EngineStep::Done(self.report.clone()))
    }

    /// Stops the run on an error: nothing new starts, what is out is awaited, then `Done`.
    fn stop(&mut self, cause: Error) {
        if self.stopping.is_none() {
            self.stopping = Some(cause);
        }
    }

    /// Ends the run at once on a driver's mistake (an input the engine did not ask for).
    /// Steps still out are abandoned: what they held is counted as it stands.
    fn abort(&mut self, got: &str, expected: &str) -> (Ticket, EngineStep) {
        for (_, flight) in std::mem::take(&mut self.flights) {
            if let Flight::Marking { granted, .. } | Flight::Pausing(granted) = flight {
                self.to_mark.extend(granted);
            }
        }
        if let Some((_, studio)) = self.studio.take() {
            self.drop_studio(studio);
        }
        self.stopping = Some(Error::invalid(
            "engine input",
            format!("the driver fed {got} where {expected} was expected"),
        ));
        self.finish()
    }
}

/// An input that was not the answer the step wanted: the run is aborted.
struct Misfed {
    got: &'static str,
    expected: &'static str,
}

/// What [`Engine::plan`] found to do.
enum Next {
    Step(Ticket, EngineStep),
    /// Something changed (an operation ended at once, the run is stopping): look again.
    Again,
    /// Nothing may start until an answer comes.
    Idle,
}

/// The result of a flight's operation, handed to the engine when the flight lands.
trait FlightResult: Sized {
    fn land(engine: &mut Engine, flight: Flight, result: Result<Self, Error>);
}

impl FlightResult for EntitlementsPage {
    fn land(engine: &mut Engine, flight: Flight, result: Result<Self, Error>) {
        match (flight, result) {
            (Flight::Checking { batch, .. }, Ok(page)) => engine.on_checked(page, batch),
            (Flight::Listing(_), Ok(page)) => engine.on_page(page),
            (_, Err(e)) => engine.stop(e),
            // Only listing and checking flights read pages.
            (_, Ok(_)) => {}
        }
    }
}

impl FlightResult for UpdateReport {
    fn land(engine: &mut Engine, flight: Flight, result: Result<Self, Error>) {
        // Only marking flights update.
        if let Flight::Marking { granted, .. } = flight {
            engine.on_marked(result, granted);
        }
    }
}

fn check_requests_in_flight(requests: usize) -> Result<usize, Error> {
    if (1..=MAX_REQUESTS_IN_FLIGHT).contains(&requests) {
        return Ok(requests);
    }
    Err(Error::invalid(
        "requests_in_flight",
        format!("{requests} is not within 1..={MAX_REQUESTS_IN_FLIGHT}"),
    ))
}

/// Takes up to one PATCH's worth from the front of a pool.
fn take_batch(pool: &mut Vec<Entitlement>) -> Vec<Entitlement> {
    let take = pool.len().min(MAX_IDS_PER_REQUEST);
    pool.drain(..take).collect()
}
