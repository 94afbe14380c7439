//! The blocking drivers of the fulfillment engine: the client's transport, clock and token
//! cache for HTTP, a [`Journal`] and a [`Grant`] function for the rest.
//!
//! [`Client::fulfill`] pipelines: Twitch's requests go out side by side on a few worker
//! threads while this thread journals and grants. [`Client::drive_engine`] takes one step at
//! a time, for transports that must stay on the calling thread.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex, PoisonError};

use crate::client::Client;
use crate::fulfill::{
    Engine, EngineInput, EngineStep, FulfillOptions, FulfillReport, Grant, Journal, Settlement,
    StudioStep, Ticket, TwitchStep,
};
use crate::{Clock, Error, Transport};

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
        type Answer = (Ticket, std::thread::Result<EngineInput>);
        let mut engine = engine.with_session(Arc::clone(self.session()));
        let (jobs, job_queue) = mpsc::channel::<(Ticket, TwitchStep)>();
        let job_queue = Mutex::new(job_queue);
        std::thread::scope(|scope| {
            // Owned here, so the queue closes (and the workers end) when this returns.
            let jobs = jobs;
            let (answers, answered) = mpsc::channel::<Answer>();
            let mut workers = Vec::with_capacity(engine.requests_in_flight());
            for _ in 0..engine.requests_in_flight() {
                let (job_queue, answers) = (&job_queue, answers.clone());
                workers.push(scope.spawn(move || loop {
                    let job = job_queue
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .recv();
                    // The queue closes when the run ends (or unwinds): the worker goes.
                    let Ok((ticket, step)) = job else { return };
                    let input = panic::catch_unwind(AssertUnwindSafe(|| self.answer_twitch(step)));
                    if answers.send((ticket, input)).is_err() {
                        return;
                    }
                }));
            }
            drop(answers);
            let mut studio = VecDeque::new();
            let mut answer = None;
            let report = 'run: loop {
                let steps = engine.advance(answer.take(), self.now_ms());
                for settlement in engine.take_settlements() {
                    on_settled(&settlement);
                }
                for (ticket, step) in steps {
                    match step {
                        EngineStep::Done(report) => break 'run report,
                        EngineStep::Twitch(step) => jobs
                            .send((ticket, step))
                            .expect("the workers outlive the queue"),
                        EngineStep::Studio(step) => studio.push_back((ticket, step)),
                    }
                }
                // Answers from Twitch first (they free requests to send), then the studio's
                // step, else wait for Twitch.
                let (ticket, input) = match answered.try_recv() {
                    Ok(answer) => answer,
                    Err(_) => match studio.pop_front() {
                        Some((ticket, step)) => {
                            (ticket, Ok(Self::answer_studio(step, journal, grant)))
                        }
                        None => answered.recv().expect("a step is out, so a worker lives"),
                    },
                };
                match input {
                    Ok(input) => answer = Some((ticket, input)),
                    // A transport or clock that panicked: panic here, as one step at a
                    // time would (the workers end as the queue drops).
                    Err(payload) => panic::resume_unwind(payload),
                }
            };
            // Close the queue and join each worker's thread: the scope alone waits for their
            // closures, not for the threads to be gone, and a C program may exit right after.
            drop(jobs);
            for worker in workers {
                let _ = worker.join();
            }
            report
        })
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
