//! The async driver: runs the core's sans-IO operations on the JS event loop, as the
//! blocking `Client` runs them on a thread. `Send` goes to `fetch`, `Sleep` to a
//! `setTimeout` promise; the clock is `Date.now()`. Token requests are answered inside each
//! operation by the core's [`Session`] (one fetch at a time: concurrent calls wait for it in
//! short sleeps), which also counts requests and keeps the rate-limit reading. The
//! fulfillment engine runs on the same loop, several of its requests at once, its grants
//! and journal on JS promises one at a time.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{select, Either, LocalBoxFuture};
use futures_util::stream::{FuturesUnordered, StreamExt};
use js_sys::Promise;
use twitch_drops_protocol::fulfill::{EngineInput, EngineStep, StudioStep, Ticket, TwitchStep};
use twitch_drops_protocol::{
    Config, Engine, Error, FulfillReport, HttpRequest, HttpResponse, Input, OAuthToken, Operation,
    RateLimit, Session, Step, TransportError,
};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::fetch::FetchTransport;
use crate::hooks::Hooks;

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout` (Node and browsers alike).
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: f64) -> JsValue;
}

/// Milliseconds since the Unix epoch, from `Date.now()`.
pub(crate) fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Resolves after `duration`, without blocking the event loop.
async fn sleep(duration: Duration) {
    let ms = duration.as_millis() as f64;
    let promise = Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// One client's state: settings, transport, and the core's session.
pub(crate) struct Driver {
    config: Config,
    transport: FetchTransport,
    session: Arc<Session>,
}

impl Driver {
    pub(crate) fn new(config: Config, transport: FetchTransport) -> Self {
        Driver {
            session: Arc::new(Session::new(&config)),
            config,
            transport,
        }
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The client's session: its tokens, bucket and metrics.
    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// Runs `operation` to completion, its token requests answered from the session.
    pub(crate) async fn run<O: Operation>(&self, operation: O) -> Result<O::Output, Error> {
        self.drive(self.session.authorized(operation)).await
    }

    /// Runs an operation whose token requests are already answered (an `Authorized` one).
    async fn drive<O: Operation>(&self, mut operation: O) -> Result<O::Output, Error> {
        let mut input = Input::Start;
        loop {
            input = match operation.resume(input, now_ms()) {
                Step::Send(request) => self.send(request).await.into(),
                Step::Sleep(duration) => {
                    sleep(duration).await;
                    Input::Slept
                }
                // Answered inside `Authorized`.
                Step::Authorize { .. } => Input::Token(Err(Error::Unauthorized {
                    status: 401,
                    message: "no token: the session did not answer".into(),
                })),
                Step::Done(result) => return result,
            };
        }
    }

    /// Sends one request (the session has counted it and paced it).
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.transport.send(request).await
    }

    /// Runs a fulfillment engine to its end, as the blocking `Client::fulfill` does: its
    /// requests side by side through `fetch` and the session (tokens, pacing), up to the engine's requests in flight, while journal and
    /// grants go through `hooks` one call at a time; each settlement is handed to
    /// `onSettled` between hook calls.
    pub(crate) async fn fulfill(&self, engine: Engine, hooks: &mut Hooks) -> FulfillReport {
        let mut engine = engine.with_session(Arc::clone(&self.session));
        let mut flights: FuturesUnordered<LocalBoxFuture<'_, (Ticket, EngineInput)>> =
            FuturesUnordered::new();
        // The hooks are lent to the studio's call while it runs and come back with its answer.
        let mut idle_hooks = Some(hooks);
        let mut studio: Option<LocalBoxFuture<'_, (&mut Hooks, Ticket, EngineInput)>> = None;
        // The engine gives one studio step at a time; one more waits here for the hooks.
        let mut queued: VecDeque<(Ticket, StudioStep)> = VecDeque::new();
        let mut settled = Vec::new();
        let mut answer = None;
        loop {
            let steps = engine.advance(answer.take(), now_ms());
            settled.extend(engine.take_settlements());
            if let Some(hooks) = idle_hooks.as_deref() {
                hooks.settled(&std::mem::take(&mut settled));
            }
            for (ticket, step) in steps {
                match step {
                    // Nothing is out now, so the hooks are back and every settlement handed on.
                    EngineStep::Done(report) => return report,
                    EngineStep::Twitch(step) => {
                        flights.push(Box::pin(
                            async move { (ticket, self.answer_twitch(step).await) },
                        ))
                    }
                    EngineStep::Studio(step) => queued.push_back((ticket, step)),
                }
            }
            if let Some(hooks) = idle_hooks.take() {
                match queued.pop_front() {
                    Some((ticket, step)) => {
                        studio = Some(Box::pin(answer_studio(hooks, ticket, step)))
                    }
                    None => idle_hooks = Some(hooks),
                }
            }
            // Whichever answer comes first: a response frees a request to send, while a
            // grant may take its time.
            let (ticket, input) = match (studio.as_mut(), flights.is_empty()) {
                (Some(call), true) => {
                    let (hooks, ticket, input) = call.await;
                    (studio, idle_hooks) = (None, Some(hooks));
                    (ticket, input)
                }
                (Some(call), false) => match select(call, flights.next()).await {
                    Either::Left(((hooks, ticket, input), _)) => {
                        (studio, idle_hooks) = (None, Some(hooks));
                        (ticket, input)
                    }
                    Either::Right((next, _)) => next.expect("flights is not empty"),
                },
                (None, _) => flights
                    .next()
                    .await
                    .expect("the engine is Done when nothing is out"),
            };
            answer = Some((ticket, input));
        }
    }

    /// Performs a step of the engine on Twitch's side: a request, a wait.
    async fn answer_twitch(&self, step: TwitchStep) -> EngineInput {
        match step {
            TwitchStep::Send(request) => match self.send(request).await {
                Ok(response) => EngineInput::Response(response),
                Err(e) => EngineInput::TransportFailed(e),
            },
            TwitchStep::Sleep(duration) => {
                sleep(duration).await;
                EngineInput::Slept
            }
        }
    }

    /// Installs a token the device flow produced: later calls use it.
    pub(crate) fn install(&self, token: OAuthToken) {
        self.session.install(token, now_ms());
    }

    /// The current user token and refresh token, to persist.
    pub(crate) fn user_token(&self) -> Option<OAuthToken> {
        self.session.user_token()
    }

    /// The bucket as the last response described it (`None` where headers are hidden).
    pub(crate) fn rate_limit(&self) -> Option<RateLimit> {
        self.session.rate_limit()
    }

    /// HTTP requests sent so far (every attempt counts).
    pub(crate) fn requests_sent(&self) -> u64 {
        self.session.requests_sent()
    }
}

/// Performs a step of the engine on the studio's side (journal or grants), handing the
/// hooks back.
async fn answer_studio(
    hooks: &mut Hooks,
    ticket: Ticket,
    step: StudioStep,
) -> (&mut Hooks, Ticket, EngineInput) {
    let input = match step {
        StudioStep::LoadJournal => EngineInput::JournalLoaded(hooks.load().await),
        StudioStep::Claim { append, claim } => {
            EngineInput::Claimed(hooks.append_and_claim(&append, &claim).await)
        }
        StudioStep::AppendJournal(records) => EngineInput::Appended(hooks.append(&records).await),
        StudioStep::Grant(requests) => EngineInput::Granted(hooks.grant(&requests).await),
    };
    (hooks, ticket, input)
}
