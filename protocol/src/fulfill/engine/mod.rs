//! The fulfillment engine: every CLAIMED entitlement granted once and marked FULFILLED, as a
//! sans-IO state machine.
//!
//! The engine asks its driver for HTTP (`Send`, `Sleep`; tokens are its session's, fetched
//! with ordinary requests), for journal work (`LoadJournal`, `Claim`, `AppendJournal`) and for grants (`Grant`), and
//! is fed the answers. The blocking `twitch_drops::Client::fulfill`, a C host and an async
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

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use crate::config::Config;
use crate::entitlements::{
    get_entitlements, Entitlement, EntitlementPages, EntitlementsPage, EntitlementsQuery,
    FulfillmentStatus, MAX_IDS_PER_REQUEST, MAX_PAGE_SIZE,
};
use crate::error::Error;
use crate::fulfill::grant::{GrantOutcome, GrantRequest};
use crate::fulfill::journal::{JournalRecord, Recovery};
use crate::fulfill::report::{FulfillReport, SettledState, Settlement};
use crate::hash::{Digested, IdDigest};
use crate::observe::Note;
use crate::session::{Authorized, Session};
use crate::shared_str::SharedStr;
use crate::single_request::SingleRequest;
use crate::step::{Input, Operation, Step};
use crate::update::{
    update_shared, HasId, UpdateEntitlements, UpdateFailedPool, UpdateReport, UpdateStatus,
};

mod build;
mod granting;
mod listing;
mod marking;
mod schedule;
mod steps;

use steps::{check_grants_in_flight, check_requests_in_flight, MAX_PASSES};
pub use steps::{
    EngineInput, EngineStep, FulfillOptions, StopSignal, StudioStep, Ticket, TwitchStep,
    DEFAULT_GRANTS_IN_FLIGHT, DEFAULT_REQUESTS_IN_FLIGHT, MAX_GRANTS_IN_FLIGHT,
    MAX_REQUESTS_IN_FLIGHT,
};

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
        granted: Vec<Granted>,
    },
    /// Waiting before marking the pooled `UPDATE_FAILED` ids again (they wait here).
    Pausing(Vec<Granted>),
}

/// An entitlement granted in the game and owed its FULFILLED mark: all the run keeps of it
/// (the driver has the whole entitlement for the grant; nothing else is copied).
#[derive(Clone, Debug)]
struct Granted {
    id: SharedStr,
    user_id: SharedStr,
}

impl From<Entitlement> for Granted {
    fn from(e: Entitlement) -> Granted {
        Granted {
            id: e.id,
            user_id: e.user_id,
        }
    }
}

impl HasId for Granted {
    fn id(&self) -> &str {
        &self.id
    }
}

/// What a settlement names: an entitlement's id and viewer.
trait Named {
    fn id(&self) -> &SharedStr;
    fn user_id(&self) -> &SharedStr;
}

impl Named for Entitlement {
    fn id(&self) -> &SharedStr {
        &self.id
    }
    fn user_id(&self) -> &SharedStr {
        &self.user_id
    }
}

impl Named for Granted {
    fn id(&self) -> &SharedStr {
        &self.id
    }
    fn user_id(&self) -> &SharedStr {
        &self.user_id
    }
}

impl<N: Named> Named for &N {
    fn id(&self) -> &SharedStr {
        (**self).id()
    }
    fn user_id(&self) -> &SharedStr {
        (**self).user_id()
    }
}

/// The studio side (journal and grants), one step at a time, in this order per batch:
/// claim (with the answers of the batch before), grant; the answers of the last batch and the
/// records of settled entitlements are appended alone when no claim follows at once.
#[derive(Debug)]
enum Studio {
    Loading,
    /// A claim out: the batch it takes, and the granted entitlements whose answers it
    /// carries (owed their FULFILLED mark once it is durable).
    Intent {
        requests: Vec<GrantRequest>,
        answered: Vec<Granted>,
    },
    /// The driver has the requests; the run keeps who each is, and whether it was resumed.
    Granting(Vec<(Granted, bool)>),
    /// An append out: answers and settled ids; the granted entitlements among them.
    Recording(Vec<Granted>),
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
    grants_in_flight: usize,
    report: FulfillReport,
    settlements: Vec<Settlement>,
    /// The ids taken up in this run as digests under this run's random keys; the set does
    /// not hash them again.
    taken_up: HashSet<u64, Digested>,
    digest: IdDigest,
    user_failures: HashMap<SharedStr, u32>,
    quarantined: HashSet<SharedStr>,
    checks: VecDeque<Vec<(Entitlement, bool)>>,
    /// Entitlements waiting to be granted, taken up `grants_in_flight` at a time.
    work: VecDeque<GrantRequest>,
    /// The answers of the last batch granted, waiting for the next journal write.
    answers: Vec<JournalRecord>,
    /// The granted entitlements among `answers`.
    answered: Vec<Granted>,
    /// Emptied lists of a batch's entitlements kept for the next batch, so that granting one
    /// entitlement at a time does not allocate them anew for each.
    spare_answered: Vec<Granted>,
    spare_granting: Vec<(Granted, bool)>,
    /// Granted and journaled, waiting for a PATCH (sent 100 at a time; the rest when a pass
    /// over the list ends).
    to_mark: Vec<Granted>,
    /// `Settled` records waiting to be appended.
    to_record: Vec<JournalRecord>,
    listing: Listing,
    /// Passes over the list started so far.
    passes: u32,
    /// Why the last pass ended early (a cursor seen before): the run's error if it ends so.
    cursor_fault: Option<Error>,
    /// Granted entitlements Twitch answered `UPDATE_FAILED`, to mark again (pooled across
    /// the run's PATCHes).
    remark: UpdateFailedPool<Granted>,
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
    /// Set by [`Engine::interrupt`] (or the options' stop signal): no new grant, page or
    /// re-read starts; what is granted is still recorded and marked.
    interrupted: bool,
    stop_signal: Option<StopSignal>,
    finished: bool,
}

impl Engine {
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
            // Driven one step at a time the engine has exactly one out: anything else is a
            // fault of its own, and ends the run rather than a driver.
            _ => {
                let (ticket, step) = self.abort("an answer", "one step at a time");
                self.awaited = ticket;
                step
            }
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
        self.advance_into(answer, now_ms, &mut steps);
        steps
    }

    /// [`Engine::advance`], appending the steps to `steps`: a driver that keeps one buffer
    /// for the whole run allocates nothing per answer for them.
    pub fn advance_into(
        &mut self,
        answer: Option<(Ticket, EngineInput)>,
        now_ms: u64,
        steps: &mut Vec<(Ticket, EngineStep)>,
    ) {
        self.check_stop_signal();
        match answer {
            _ if self.finished => {
                let got = answer.map_or("a start", |(_, input)| input.name());
                steps.push(self.abort(got, "nothing (the run is over)"));
                return;
            }
            None if !self.started => {
                self.started = true;
                // One request in flight: one step at a time, exactly as `resume` takes them.
                self.sequential |= self.requests_in_flight == 1;
                let ticket = self.ticket();
                self.studio = Some((ticket, Studio::Loading));
                steps.push((ticket, EngineStep::Studio(StudioStep::LoadJournal)));
                return;
            }
            None => {
                steps.push(self.abort("a start", "an answer"));
                return;
            }
            Some((_, EngineInput::Start)) => {
                steps.push(self.abort("Start", "an answer"));
                return;
            }
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
                        Err(Misfed { got, expected }) => {
                            steps.push(self.abort(got, expected));
                            return;
                        }
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
                        Err(Misfed { got, expected }) => {
                            steps.push(self.abort(got, expected));
                            return;
                        }
                    }
                } else {
                    steps.push(self.abort(input.name(), "an answer to a step that is out"));
                    return;
                }
            }
        }
        self.plan(steps, now_ms);
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
            Step::Send(request) => return Some(EngineStep::Twitch(TwitchStep::Send(request))),
            Step::Sleep(duration) => return Some(EngineStep::Twitch(TwitchStep::Sleep(duration))),
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
            (Studio::Intent { requests, answered }, EngineInput::Claimed(Ok(held))) => {
                self.on_claimed(requests, answered, held)
            }
            (Studio::Granting(requests), EngineInput::Granted(outcomes)) => {
                self.on_granted(requests, outcomes);
                None
            }
            (Studio::Recording(granted), EngineInput::Appended(Ok(()))) => {
                self.answers_recorded(granted);
                None
            }
            (studio @ Studio::Loading, EngineInput::JournalLoaded(Err(e)))
            | (studio @ Studio::Intent { .. }, EngineInput::Claimed(Err(e)))
            | (studio @ Studio::Recording(_), EngineInput::Appended(Err(e))) => {
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
                    Studio::Intent { .. } => "Claimed",
                    Studio::Recording(_) => "Appended",
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
        for request in std::mem::take(&mut self.work) {
            self.settle(&request.entitlement, SettledState::NotReached);
        }
        // Granted but not marked (or their answers not recorded: in doubt): the journal
        // keeps them for the next run.
        let mut granted = self.remark.drain();
        granted.append(&mut self.answered);
        self.answers.clear();
        granted.append(&mut self.to_mark);
        for entitlement in &granted {
            self.settle(entitlement, SettledState::Unmarked);
        }
        if let Some(cause) = self.stopping.take().or(self.cursor_fault.take()) {
            self.report.error = Some(cause);
        }
        self.report.interrupted = self.interrupted;
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

/// Takes up to one PATCH's worth from the front of a pool.
fn take_batch(pool: &mut Vec<Granted>) -> Vec<Granted> {
    let take = pool.len().min(MAX_IDS_PER_REQUEST);
    pool.drain(..take).collect()
}
