//! The blocking drivers of the fulfillment engine: the client's transport, clock and token
//! cache for HTTP, a [`Journal`] and a [`Grant`] function for the rest.
//!
//! [`Client::fulfill`] pipelines: Twitch's requests go out side by side on a few worker
//! threads while this thread journals and grants (requests answered within 2 ms go out from
//! this thread, between grants). [`Client::drive_engine`] takes one step at a time, for
//! transports that must stay on the calling thread.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::fulfill::{
    Engine, EngineInput, EngineStep, FulfillOptions, FulfillReport, Grant, Journal, Settlement,
    StudioStep, Ticket, TwitchStep,
};
use crate::{Clock, Error, HttpRequest, Transport};

/// A step on Twitch's side for a worker of the pipelined driver.
type Job = (Ticket, TwitchStep);

impl<T: Transport + Sync, C: Clock + Sync> Client<T, C> {
    /// Grants and fulfills every CLAIMED entitlement matching `options`, recovering first
    /// what an interrupted run left in `journal`, with up to
    /// [`FulfillOptions::requests_in_flight`] requests out at once. Returns the totals; a
    /// run that stopped early says why in [`FulfillReport::error`]. The journal and the
    /// grant function are called on this thread only, one call at a time.
    pub fn fulfill(
        &self,
        options: FulfillOptions,
        journal: &mut dyn Journal,
        grant: &mut dyn Grant,
    ) -> Result<FulfillReport, Error> {
        let engine = Engine::new(self.config(), options)?;
        Ok(self.drive_engine_pipelined(engine, journal, grant, &mut |_| {}))
    }

    /// Runs an engine to its end with its requests side by side (on scoped worker threads,
    /// as many as it allows in flight), handing each settled entitlement to `on_settled`.
    /// Journal, grant and `on_settled` run on this thread. Requests the server has been
    /// answering within 2 ms (loopback, a LAN) run on this thread too: handed
    /// to a worker they cost more (a wake-up and a switch of threads each way) than running
    /// beside the grants saves. The engine's requests are this client's: its tokens, its
    /// rate-limit bucket, its request count.
    pub fn drive_engine_pipelined(
        &self,
        engine: Engine,
        journal: &mut dyn Journal,
        grant: &mut dyn Grant,
        on_settled: &mut dyn FnMut(&Settlement),
    ) -> FulfillReport {
        // Each worker has a queue of its own and is handed a step only when idle: one
        // wake-up per step (a queue shared behind a lock woke a second worker, to wait on
        // the lock, at every step). Workers start when a step first needs one.
        type Answer = (
            usize,
            Ticket,
            Option<Duration>,
            std::thread::Result<EngineInput>,
        );
        let mut engine = engine.with_session(Arc::clone(self.session()));
        std::thread::scope(|scope| {
            let (answers, answered) = mpsc::channel::<Answer>();
            // Owned here, so the queues close (and the workers end) when this returns or
            // unwinds.
            let mut queues: Vec<mpsc::Sender<Job>> = Vec::new();
            let mut workers = Vec::new();
            // Workers without a step, steps waiting for a worker, and requests to run here.
            let mut idle: Vec<usize> = Vec::new();
            let mut waiting: VecDeque<Job> = VecDeque::new();
            let mut here: VecDeque<(Ticket, HttpRequest)> = VecDeque::new();
            let mut pace = Pace::default();
            let mut studio = VecDeque::new();
            let mut answer = None;
            // One buffer for the steps of every answer.
            let mut steps = Vec::new();
            let report = 'run: loop {
                engine.advance_into(answer.take(), self.now_ms(), &mut steps);
                for settlement in engine.take_settlements() {
                    on_settled(&settlement);
                }
                for (ticket, step) in steps.drain(..) {
                    match step {
                        EngineStep::Done(report) => break 'run report,
                        EngineStep::Twitch(TwitchStep::Send(request)) if pace.is_quick() => {
                            here.push_back((ticket, request))
                        }
                        EngineStep::Twitch(step) => waiting.push_back((ticket, step)),
                        EngineStep::Studio(step) => studio.push_back((ticket, step)),
                    }
                }
                while let Some(job) = waiting.pop_front() {
                    let worker = match idle.pop() {
                        Some(worker) => worker,
                        None if workers.len() < engine.requests_in_flight() => {
                            let (jobs, queue) = mpsc::channel::<Job>();
                            let (index, answers) = (workers.len(), answers.clone());
                            workers.push(scope.spawn(move || {
                                // The queue closes when the run ends (or unwinds): the
                                // worker goes.
                                while let Ok((ticket, step)) = queue.recv() {
                                    let started = Instant::now();
                                    let sending = matches!(step, TwitchStep::Send(_));
                                    let input = panic::catch_unwind(AssertUnwindSafe(|| {
                                        self.answer_twitch(step)
                                    }));
                                    let took = sending.then(|| started.elapsed());
                                    if answers.send((index, ticket, took, input)).is_err() {
                                        return;
                                    }
                                }
                            }));
                            queues.push(jobs);
                            index
                        }
                        // Every worker is busy (none is while the engine keeps to its
                        // requests in flight, which is the number of workers).
                        None => {
                            waiting.push_front(job);
                            break;
                        }
                    };
                    queues[worker]
                        .send(job)
                        .expect("the workers outlive their queues");
                }
                // Answers from Twitch first (they free requests to send), then a request to
                // run here, then the studio's step, else wait for Twitch.
                let (ticket, input) = if let Ok((worker, ticket, took, input)) = answered.try_recv()
                {
                    pace.answered(took);
                    idle.push(worker);
                    (ticket, input)
                } else if let Some((ticket, request)) = here.pop_front() {
                    let started = Instant::now();
                    let input = self.answer_twitch(TwitchStep::Send(request));
                    pace.answered(Some(started.elapsed()));
                    (ticket, Ok(input))
                } else if let Some((ticket, step)) = studio.pop_front() {
                    (ticket, Ok(Self::answer_studio(step, journal, grant)))
                } else {
                    let (worker, ticket, took, input) =
                        answered.recv().expect("a step is out, so a worker lives");
                    pace.answered(took);
                    idle.push(worker);
                    (ticket, input)
                };
                match input {
                    Ok(input) => answer = Some((ticket, input)),
                    // A transport or clock that panicked: panic here, as one step at a
                    // time would (the workers end as their queues drop).
                    Err(payload) => panic::resume_unwind(payload),
                }
            };
            // Close the queues and join each worker's thread: the scope alone waits for their
            // closures, not for the threads to be gone, and a C program may exit right after.
            drop(queues);
            for worker in workers {
                let _ = worker.join();
            }
            report
        })
    }
}

/// Below this, the time the server has been taking to answer a request (a running mean),
/// the pipelined driver sends requests from its own thread ([`Client::drive_engine_pipelined`]).
/// Over loopback a drain's requests take a few hundred microseconds and a worker thread's
/// wake-ups cost about a quarter of the run's CPU; Twitch over the internet takes tens of
/// milliseconds, which the workers hide behind the grants.
const RUN_HERE_BELOW: Duration = Duration::from_millis(2);

/// How long the server has been taking to answer: a running mean of the last few requests
/// (the first request runs here, and tells).
#[derive(Default)]
struct Pace {
    mean: Duration,
}

impl Pace {
    fn is_quick(&self) -> bool {
        self.mean < RUN_HERE_BELOW
    }

    /// A step was answered: `took`, if it was a request.
    fn answered(&mut self, took: Option<Duration>) {
        if let Some(took) = took {
            self.mean = (self.mean * 3 + took) / 4;
        }
    }
}

impl<T: Transport, C: Clock> Client<T, C> {
    /// Runs an engine to its end one step at a time, on this thread (any transport),
    /// handing each settled entitlement to `on_settled`. The engine's requests are this
    /// client's: its tokens, its rate-limit bucket, its request count.
    pub fn drive_engine(
        &self,
        engine: Engine,
        journal: &mut dyn Journal,
        grant: &mut dyn Grant,
        on_settled: &mut dyn FnMut(&Settlement),
    ) -> FulfillReport {
        let mut engine = engine.with_session(Arc::clone(self.session()));
        let mut input = EngineInput::Start;
        loop {
            let step = engine.resume(input, self.now_ms());
            for settlement in engine.take_settlements() {
                on_settled(&settlement);
            }
            input = match step {
                EngineStep::Done(report) => return report,
                EngineStep::Twitch(step) => self.answer_twitch(step),
                EngineStep::Studio(step) => Self::answer_studio(step, journal, grant),
            };
        }
    }

    /// Performs a step on Twitch's side: a request, a wait.
    fn answer_twitch(&self, step: TwitchStep) -> EngineInput {
        match step {
            TwitchStep::Send(request) => match self.transport().send(request) {
                Ok(response) => EngineInput::Response(response),
                Err(e) => EngineInput::TransportFailed(e),
            },
            TwitchStep::Sleep(duration) => {
                self.sleep(duration);
                EngineInput::Slept
            }
        }
    }

    /// Performs a step on the studio's side: the journal or the grant function.
    fn answer_studio(
        step: StudioStep,
        journal: &mut dyn Journal,
        grant: &mut dyn Grant,
    ) -> EngineInput {
        match step {
            StudioStep::LoadJournal => EngineInput::JournalLoaded(journal.load()),
            StudioStep::Claim { append, claim } => {
                EngineInput::Claimed(journal.append_and_claim(&append, &claim))
            }
            StudioStep::AppendJournal(records) => EngineInput::Appended(journal.append(&records)),
            StudioStep::Grant(requests) => EngineInput::Granted(grant.grant_batch(&requests)),
        }
    }
}
