//! The blocking drivers of the fulfillment engine: the client's transport, clock and token
//! cache for HTTP, a [`Journal`] and a [`Grant`] function for the rest.
//!
//! [`Client::fulfill`] pipelines: Twitch's requests go out side by side on a few worker
//! threads while this thread journals and grants. [`Client::drive_engine`] takes one step at
//! a time, for transports that must stay on the calling thread.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{mpsc, Arc};

use crate::client::Client;
use crate::fulfill::{
    Engine, EngineInput, EngineStep, FulfillOptions, FulfillReport, Grant, Journal, Settlement,
    StudioStep, Ticket, TwitchStep,
};
use crate::{Clock, Error, Transport};

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
    /// Journal, grant and `on_settled` run on this thread. The engine's requests are this
    /// client's: its tokens, its rate-limit bucket, its request count.
    pub fn drive_engine_pipelined(
        &self,
        engine: Engine,
        journal: &mut dyn Journal,
        grant: &mut dyn Grant,
        on_settled: &mut dyn FnMut(&Settlement),
    ) -> FulfillReport {
        // Each worker has a queue of its own and is handed a step only when idle: one
        // wake-up per step (a queue shared behind a lock woke a second worker, to wait on
        // the lock, at every step).
        type Answer = (usize, Ticket, std::thread::Result<EngineInput>);
        let mut engine = engine.with_session(Arc::clone(self.session()));
        std::thread::scope(|scope| {
            let (answers, answered) = mpsc::channel::<Answer>();
            // Owned here, so the queues close (and the workers end) when this returns or
            // unwinds.
            let mut queues = Vec::with_capacity(engine.requests_in_flight());
            let mut workers = Vec::with_capacity(engine.requests_in_flight());
            for index in 0..engine.requests_in_flight() {
                let (jobs, queue) = mpsc::channel::<Job>();
                let answers = answers.clone();
                let worker = scope.spawn(move || {
                    // The queue closes when the run ends (or unwinds): the worker goes.
                    while let Ok((ticket, step)) = queue.recv() {
                        let input =
                            panic::catch_unwind(AssertUnwindSafe(|| self.answer_twitch(step)));
                        if answers.send((index, ticket, input)).is_err() {
                            return;
                        }
                    }
                });
                queues.push(jobs);
                workers.push(worker);
            }
            drop(answers);
            // Workers without a step, and steps waiting for a worker (none while the engine
            // keeps to its requests in flight, which is the number of workers).
            let mut idle: Vec<usize> = (0..workers.len()).rev().collect();
            let mut waiting: VecDeque<Job> = VecDeque::new();
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
                        EngineStep::Twitch(step) => match idle.pop() {
                            Some(worker) => queues[worker]
                                .send((ticket, step))
                                .expect("the workers outlive their queues"),
                            None => waiting.push_back((ticket, step)),
                        },
                        EngineStep::Studio(step) => studio.push_back((ticket, step)),
                    }
                }
                // Answers from Twitch first (they free requests to send), then the studio's
                // step, else wait for Twitch.
                let (ticket, input) = match answered.try_recv() {
                    Ok((worker, ticket, input)) => {
                        Self::free_worker(worker, &queues, &mut idle, &mut waiting);
                        (ticket, input)
                    }
                    Err(_) => match studio.pop_front() {
                        Some((ticket, step)) => {
                            (ticket, Ok(Self::answer_studio(step, journal, grant)))
                        }
                        None => {
                            let (worker, ticket, input) =
                                answered.recv().expect("a step is out, so a worker lives");
                            Self::free_worker(worker, &queues, &mut idle, &mut waiting);
                            (ticket, input)
                        }
                    },
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

    /// A worker answered: it takes the next waiting step, or waits for one.
    fn free_worker(
        worker: usize,
        queues: &[mpsc::Sender<Job>],
        idle: &mut Vec<usize>,
        waiting: &mut VecDeque<Job>,
    ) {
        match waiting.pop_front() {
            Some(job) => queues[worker]
                .send(job)
                .expect("the workers outlive their queues"),
            None => idle.push(worker),
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
