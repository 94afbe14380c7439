//! The fulfillment engine for a host that must never block (a game loop, a console's
//! asynchronous HTTP): the host performs the requests, the waits and the grants, each when it
//! can, and answers them in any order; the journal and the token cache stay inside.
//!
//! [`HostedRun::poll`] hands out one [`HostStep`] at a time, each with its own ticket: a
//! request to send, a wait, or one entitlement to grant. Several may be out at once (the
//! engine's requests in flight, a batch's grants). [`HostedRun::answer`] takes the answer to
//! a ticket. `Idle` means everything handed out is still out: answer something, then poll
//! again. The journal's steps (load, claim, append) run inside `poll`, on the journal given
//! to it; a token the engine needs is its session's, fetched with ordinary `Send` steps.
//! Every rule stays the engine's: this only routes its steps.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use crate::fulfill::engine::{Engine, EngineInput, EngineStep, StudioStep, Ticket, TwitchStep};
use crate::fulfill::grant::{GrantOutcome, GrantRequest};
use crate::fulfill::journal::Journal;
use crate::fulfill::report::{FulfillReport, Settlement};
use crate::http::{HttpRequest, HttpResponse};
use crate::session::Session;
use crate::transport::TransportError;

/// What the host does next.
#[derive(Debug)]
pub enum HostStep {
    /// Perform this request; answer [`HostAnswer::Response`] (any status) or
    /// [`HostAnswer::TransportFailed`].
    Send(u64, HttpRequest),
    /// Wait this long without blocking; answer [`HostAnswer::Slept`].
    Sleep(u64, Duration),
    /// Grant this entitlement; answer [`HostAnswer::Granted`].
    Grant(u64, GrantRequest),
    /// Every step handed out is still out: answer one, then poll again.
    Idle,
    /// The run is over: [`HostedRun::take_report`] says how it went.
    Done,
}

/// The host's answer to a step, fed with the step's ticket.
#[derive(Debug)]
pub enum HostAnswer {
    Response(HttpResponse),
    TransportFailed(TransportError),
    Slept,
    Granted(GrantOutcome),
}

impl HostAnswer {
    fn name(&self) -> &'static str {
        match self {
            HostAnswer::Response(_) => "a response",
            HostAnswer::TransportFailed(_) => "a transport failure",
            HostAnswer::Slept => "slept",
            HostAnswer::Granted(_) => "a grant outcome",
        }
    }
}

/// What a handed-out step is waiting for, and whose it is.
enum Out {
    /// An engine's request or wait.
    Engine(Ticket, Awaits),
    /// One entitlement of an engine's grant batch.
    Grant { batch: Ticket, index: usize },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Awaits {
    Response,
    Slept,
}

impl Awaits {
    fn name(self) -> &'static str {
        match self {
            Awaits::Response => "a response or a transport failure",
            Awaits::Slept => "slept",
        }
    }
}

/// One grant batch: an outcome per entitlement as the host answers them.
struct Batch {
    outcomes: Vec<Option<GrantOutcome>>,
    left: usize,
}

/// A fulfillment run driven by a non-blocking host (see the module's documentation).
pub struct HostedRun {
    engine: Engine,
    started: bool,
    next_ticket: u64,
    /// Steps for the host, handed out one per poll.
    ready: VecDeque<HostStep>,
    /// The engine's steps not yet routed.
    pending: VecDeque<(Ticket, EngineStep)>,
    /// Answers for the engine, fed at the next poll.
    inbox: VecDeque<(Ticket, EngineInput)>,
    out: HashMap<u64, Out>,
    batches: HashMap<Ticket, Batch>,
    report: Option<FulfillReport>,
    done: bool,
}

impl std::fmt::Debug for HostedRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedRun")
            .field("out", &self.out.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl HostedRun {
    /// A run of `engine` in `session`: its tokens, its rate-limit bucket, its request count
    /// (shared with the session's other calls).
    pub fn new(engine: Engine, session: Arc<Session>) -> HostedRun {
        HostedRun {
            engine: engine.with_session(session),
            started: false,
            next_ticket: 1,
            ready: VecDeque::new(),
            pending: VecDeque::new(),
            inbox: VecDeque::new(),
            out: HashMap::new(),
            batches: HashMap::new(),
            report: None,
            done: false,
        }
    }

    /// The next step for the host. `journal` is the run's journal (the same one at every
    /// poll); `now_ms` the wall-clock time in milliseconds since the Unix epoch.
    pub fn poll(&mut self, journal: &mut dyn Journal, now_ms: u64) -> HostStep {
        loop {
            if let Some(step) = self.ready.pop_front() {
                return step;
            }
            if let Some((ticket, step)) = self.pending.pop_front() {
                self.route(ticket, step, journal);
            } else if let Some(answer) = self.inbox.pop_front() {
                let steps = self.engine.advance(Some(answer), now_ms);
                self.pending.extend(steps);
            } else if !self.started {
                self.started = true;
                let steps = self.engine.advance(None, now_ms);
                self.pending.extend(steps);
            } else if self.done {
                return HostStep::Done;
            } else {
                return HostStep::Idle;
            }
        }
    }

    /// Takes the host's answer to the step of `ticket`. A ticket that is not out, or an
    /// answer of the wrong kind, is refused (the step stays out) with what was expected.
    pub fn answer(&mut self, ticket: u64, answer: HostAnswer) -> Result<(), String> {
        let Some(out) = self.out.remove(&ticket) else {
            return Err(format!(
                "no step with ticket {ticket} is out (never handed out, or already answered)"
            ));
        };
        match (out, answer) {
            (Out::Engine(engine, Awaits::Response), HostAnswer::Response(r)) => {
                self.inbox.push_back((engine, EngineInput::Response(r)));
            }
            (Out::Engine(engine, Awaits::Response), HostAnswer::TransportFailed(e)) => {
                self.inbox
                    .push_back((engine, EngineInput::TransportFailed(e)));
            }
            (Out::Engine(engine, Awaits::Slept), HostAnswer::Slept) => {
                self.inbox.push_back((engine, EngineInput::Slept));
            }
            (Out::Grant { batch, index }, HostAnswer::Granted(outcome)) => {
                self.granted(batch, index, outcome);
            }
            (out, answer) => {
                let expected = match &out {
                    Out::Engine(_, awaits) => awaits.name(),
                    Out::Grant { .. } => "a grant outcome",
                };
                let got = answer.name();
                self.out.insert(ticket, out);
                return Err(format!(
                    "the step with ticket {ticket} awaits {expected}, not {got}"
                ));
            }
        }
        Ok(())
    }

    /// Records one outcome of a grant batch; the whole batch goes to the engine at once.
    fn granted(&mut self, batch: Ticket, index: usize, outcome: GrantOutcome) {
        let Some(slots) = self.batches.get_mut(&batch) else {
            return;
        };
        slots.outcomes[index] = Some(outcome);
        slots.left -= 1;
        if slots.left == 0 {
            let outcomes = self
                .batches
                .remove(&batch)
                .map(|b| b.outcomes.into_iter().flatten().collect())
                .unwrap_or_default();
            self.inbox
                .push_back((batch, EngineInput::Granted(outcomes)));
        }
    }

    /// Asks the run to stop gracefully ([`Engine::interrupt`]): keep polling and answering
    /// what is out until `Done`; the report says [`FulfillReport::interrupted`].
    pub fn interrupt(&mut self) {
        self.engine.interrupt();
    }

    /// Entitlements settled since the last call (for a progress log or a settlement callback).
    pub fn take_settlements(&mut self) -> Vec<Settlement> {
        self.engine.take_settlements()
    }

    /// The run's report, once `poll` has said `Done` (`None` before, and after it was taken).
    /// A run that stopped early says why in [`FulfillReport::error`].
    pub fn take_report(&mut self) -> Option<FulfillReport> {
        self.report.take()
    }

    /// Steps handed out and not yet answered.
    pub fn steps_out(&self) -> usize {
        self.out.len()
    }

    fn ticket(&mut self) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        ticket
    }

    /// Hands an engine step to the host, or answers it here (the journal).
    fn route(&mut self, ticket: Ticket, step: EngineStep, journal: &mut dyn Journal) {
        let input = match step {
            EngineStep::Twitch(TwitchStep::Send(request)) => {
                self.send(Out::Engine(ticket, Awaits::Response), request);
                return;
            }
            EngineStep::Twitch(TwitchStep::Sleep(duration)) => {
                self.sleep(Out::Engine(ticket, Awaits::Slept), duration);
                return;
            }
            EngineStep::Studio(StudioStep::Grant(requests)) => {
                if requests.is_empty() {
                    EngineInput::Granted(Vec::new())
                } else {
                    self.batches.insert(
                        ticket,
                        Batch {
                            outcomes: vec![None; requests.len()],
                            left: requests.len(),
                        },
                    );
                    for (index, request) in requests.into_iter().enumerate() {
                        let host = self.ticket();
                        self.out.insert(
                            host,
                            Out::Grant {
                                batch: ticket,
                                index,
                            },
                        );
                        self.ready.push_back(HostStep::Grant(host, request));
                    }
                    return;
                }
            }
            EngineStep::Studio(StudioStep::LoadJournal) => {
                EngineInput::JournalLoaded(journal.load())
            }
            EngineStep::Studio(StudioStep::Claim { append, claim }) => {
                EngineInput::Claimed(journal.append_and_claim(&append, &claim))
            }
            EngineStep::Studio(StudioStep::AppendJournal(records)) => {
                EngineInput::Appended(journal.append(&records))
            }
            EngineStep::Done(report) => {
                self.report = Some(report);
                self.done = true;
                return;
            }
        };
        self.inbox.push_back((ticket, input));
    }

    fn send(&mut self, out: Out, request: HttpRequest) {
        let host = self.ticket();
        self.out.insert(host, out);
        self.ready.push_back(HostStep::Send(host, request));
    }

    fn sleep(&mut self, out: Out, duration: Duration) {
        let host = self.ticket();
        self.out.insert(host, out);
        self.ready.push_back(HostStep::Sleep(host, duration));
    }
}
