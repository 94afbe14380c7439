//! What a client's operations share, whoever drives them: the token store, the request
//! count and the rate-limit bucket.
//!
//! [`Session::authorized`] wraps an operation so its `Step::Authorize` is answered inside it
//! from the shared store: drivers then see only Send, Sleep and Done. When the store needs a
//! token fetched, the fetch runs inside the same operation (its Send steps go to the driver
//! like any other). One fetch at a time per session: another operation that needs a token
//! meanwhile waits in short sleeps, unless the fetch looks abandoned (an operation dropped
//! mid-fetch clears it; one left unpolled for a minute is overtaken). The blocking client, the
//! C step API, the WASM package and the fulfillment engine all drive operations this way.
//!
//! The same wrapper paces: every Helix request (one that carries `Client-Id`) takes a point
//! from the session's [`Bucket`] as it goes out, and is held back with a `Sleep` when the
//! bucket would be empty; every answer hands its reading back. So every operation of a
//! session, whichever driver runs it and however many run at once, keeps to one bucket. It
//! also counts every request it lets out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::config::Config;
use crate::error::Error;
use crate::http::HttpRequest;
use crate::http::HttpResponse;
use crate::http::Method;
use crate::observe::{self, MetricsSnapshot, Note, Observer};
use crate::rate_limit::{Bucket, RateLimit};
use crate::single_request::SingleRequest;
use crate::step::{Input, Operation, Step};
use crate::token::{AccessToken, Authorization, OAuthToken, TokenStore};

/// How long to wait before asking again while another operation fetches the token.
const FETCH_WAIT: Duration = Duration::from_millis(20);
/// A fetch older than this is taken as abandoned.
const ABANDONED_AFTER_MS: u64 = 60_000;

/// A client's shared state.
#[derive(Debug)]
pub struct Session {
    state: Mutex<TokenState>,
    /// Signalled when a token fetch ends, for blocking drivers waiting on it.
    fetched: Condvar,
    requests: AtomicU64,
    bucket: Mutex<Bucket>,
    observer: Arc<Observer>,
}

#[derive(Debug)]
struct TokenState {
    store: TokenStore,
    /// Which fetch is running (an increasing number) and since when.
    fetch: Option<(u64, u64)>,
    next_fetch: u64,
}

impl Session {
    /// A session for `config`'s credentials.
    pub fn new(config: &Config) -> Session {
        Session {
            state: Mutex::new(TokenState {
                store: TokenStore::new(config),
                fetch: None,
                next_fetch: 1,
            }),
            fetched: Condvar::new(),
            requests: AtomicU64::new(0),
            bucket: Mutex::new(Bucket::default()),
            observer: Arc::new(Observer::new(config.logger().cloned())),
        }
    }

    /// The counters of every operation of this session so far.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.observer.metrics().snapshot()
    }

    /// Notes `note` to this session's observer (metrics, logger, `tracing`).
    pub(crate) fn note(&self, note: &Note<'_>) {
        self.observer.note(note);
    }

    /// `op` with its token requests answered from this session's store.
    pub fn authorized<O: Operation>(self: &Arc<Self>, op: O) -> Authorized<O> {
        Authorized::new(op, Arc::clone(self))
    }

    /// The operation that answers a [`Step::Authorize`] for a state machine of the caller's
    /// that this session does not wrap: run it like any other; its token fetch, if one is
    /// needed, shows up as ordinary Send steps. (The library's own operations and the
    /// fulfillment engine never ask: they run wrapped, through [`Session::authorized`].)
    pub fn authorize(self: &Arc<Self>, rejected: Option<u64>) -> Authorized<AskToken> {
        self.authorized(AskToken {
            rejected,
            asked: false,
        })
    }

    /// `op` (a device-flow login) whose token is installed in this session when it is done,
    /// so later calls use it.
    pub fn installing<O: Operation<Output = OAuthToken>>(
        self: &Arc<Self>,
        op: O,
    ) -> InstallToken<O> {
        InstallToken {
            op,
            session: Arc::clone(self),
        }
    }

    /// Requests sent so far (every attempt counts).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The bucket as the newest response described it.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        lock(&self.bucket).last()
    }

    /// Lets `request` out: counts it and, for Helix, takes a point from the bucket. Returns
    /// the bucket's number for it (Helix only) and how long to hold it back first.
    fn let_out(&self, request: &HttpRequest, now_ms: u64) -> (Option<u64>, Duration) {
        if request.header("client-id").is_none() {
            return (None, Duration::ZERO);
        }
        let (number, wait) = lock(&self.bucket).reserve(now_ms);
        (Some(number), wait)
    }

    /// The answer to a paced request came back (`response` when there was one).
    fn answered(&self, number: u64, response: Option<&HttpResponse>, now_ms: u64) {
        lock(&self.bucket).answered(number, response, now_ms);
    }

    fn lock(&self) -> MutexGuard<'_, TokenState> {
        lock(&self.state)
    }

    /// Blocks the calling thread until the token fetch in flight ends, or `timeout` passes:
    /// what a blocking driver does instead of sleeping when [`Authorized::waiting_for_token`].
    pub fn wait_for_token(&self, timeout: Duration) {
        let state = self.lock();
        if state.fetch.is_some() {
            let _ = self.fetched.wait_timeout(state, timeout);
        }
    }

    /// Stores a token fetched outside an authorization (the device flow) and returns it.
    pub fn install(&self, token: OAuthToken, now_ms: u64) -> AccessToken {
        self.lock().store.install(token, now_ms)
    }

    /// The user token and refresh token to persist, if the client has a user token.
    pub fn user_token(&self) -> Option<OAuthToken> {
        self.lock().store.user_token()
    }

    fn finish_fetch(&self, id: u64, result: Result<OAuthToken, Error>, now_ms: u64) -> Input {
        let mut state = self.lock();
        if result.is_ok() {
            let renewal = state.next_fetch > 2;
            self.observer.note(&Note::TokenFetched { renewal });
        }
        if state.fetch.is_some_and(|(running, _)| running == id) {
            state.fetch = None;
        }
        self.fetched.notify_all();
        Input::Token(result.map(|token| state.store.install(token, now_ms)))
    }

    fn abandon(&self, id: u64) {
        let mut state = self.lock();
        if state.fetch.is_some_and(|(running, _)| running == id) {
            state.fetch = None;
        }
        self.fetched.notify_all();
    }
}

/// A poisoned lock only means another thread panicked mid-call; the state is still usable.
fn lock<V>(mutex: &Mutex<V>) -> MutexGuard<'_, V> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An operation whose token requests are answered from a [`Session`].
pub struct Authorized<O> {
    op: O,
    tokens: Arc<Session>,
    stage: Stage,
    /// A Helix request held back for the bucket, and its number: sent when the wait is over.
    held: Option<(HttpRequest, u64)>,
    /// The bucket's number of the Helix request out, until its answer comes.
    out: Option<u64>,
    /// The request out: its method, its URL's path (query left out) and when it went.
    sent: Option<(Method, String, u64)>,
}

impl<O> std::fmt::Debug for Authorized<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorized").finish_non_exhaustive()
    }
}

enum Stage {
    /// Driving the operation.
    Op,
    /// Fetching a token (fetch number, request).
    Fetch(u64, Box<SingleRequest<OAuthToken>>),
    /// Waiting for another operation's fetch; then ask again for this `rejected`.
    Wait(Option<u64>),
}

enum Flow<T> {
    Feed(Input),
    Yield(Step<T>),
}

impl<O: Operation> Authorized<O> {
    /// True when the last step was a short sleep waiting for another operation's token
    /// fetch; a blocking driver may call [`Session::wait_for_token`] instead of sleeping.
    pub fn waiting_for_token(&self) -> bool {
        matches!(self.stage, Stage::Wait(_))
    }

    fn new(op: O, tokens: Arc<Session>) -> Self {
        Authorized {
            op,
            tokens,
            stage: Stage::Op,
            held: None,
            out: None,
            sent: None,
        }
    }

    /// Lets a request out, or holds it back while the bucket refills.
    fn send(&mut self, request: HttpRequest, now_ms: u64) -> Step<O::Output> {
        let (number, wait) = self.tokens.let_out(&request, now_ms);
        match number {
            Some(number) if !wait.is_zero() => {
                self.tokens.note(&Note::Paced { delay: wait });
                self.held = Some((request, number));
                Step::Sleep(wait)
            }
            _ => self.release(request, number, now_ms),
        }
    }

    fn release(
        &mut self,
        request: HttpRequest,
        number: Option<u64>,
        now_ms: u64,
    ) -> Step<O::Output> {
        self.tokens.requests.fetch_add(1, Ordering::Relaxed);
        self.out = number;
        self.sent = Some((
            request.method,
            observe::path_of(&request.url).to_owned(),
            now_ms,
        ));
        Step::Send(request)
    }

    /// Notes the answer to the request out, if `input` is one.
    fn note_answer(&mut self, input: &Input, now_ms: u64) {
        let status = match input {
            Input::Response(response) => Some(response.status),
            Input::TransportFailed(_) => None,
            _ => return,
        };
        let Some((method, path, sent_at)) = self.sent.take() else {
            return;
        };
        if status.is_some() {
            self.tokens.observer.mark_reached();
        }
        let remaining = match input {
            Input::Response(response) => RateLimit::from_response(response)
                .map(|limit| (u64::from(limit.remaining), u64::from(limit.limit))),
            _ => None,
        };
        self.tokens.note(&Note::Answered {
            method,
            path: &path,
            status,
            ms: now_ms.saturating_sub(sent_at),
            remaining,
        });
    }

    fn authorize(&mut self, rejected: Option<u64>, now_ms: u64) -> Flow<O::Output> {
        let mut state = self.tokens.lock();
        match state.store.authorize(rejected, now_ms) {
            Authorization::Ready(token) => Flow::Feed(Input::Token(Ok(token))),
            Authorization::Failed(e) => Flow::Feed(Input::Token(Err(e))),
            Authorization::Fetch(request) => {
                let busy = state
                    .fetch
                    .is_some_and(|(_, since)| now_ms.saturating_sub(since) < ABANDONED_AFTER_MS);
                if busy {
                    self.stage = Stage::Wait(rejected);
                    return Flow::Yield(Step::Sleep(FETCH_WAIT));
                }
                let id = state.next_fetch;
                state.next_fetch += 1;
                state.fetch = Some((id, now_ms));
                self.stage = Stage::Fetch(id, Box::new(request));
                Flow::Feed(Input::Start)
            }
        }
    }
}

impl<O: Operation> Operation for Authorized<O> {
    type Output = O::Output;

    fn resume(&mut self, input: Input, now_ms: u64) -> Step<O::Output> {
        self.note_answer(&input, now_ms);
        if let Some(number) = self.out.take() {
            let response = match &input {
                Input::Response(response) => Some(response),
                _ => None,
            };
            self.tokens.answered(number, response, now_ms);
        }
        if let Some((request, number)) = self.held.take() {
            if matches!(input, Input::Slept) {
                return self.release(request, Some(number), now_ms);
            }
            // Not the answer to the wait: the request never went out.
            self.tokens.answered(number, None, now_ms);
        }
        // What the operation notes on the way (retries and their reasons) is this session's.
        let observer = Arc::clone(&self.tokens.observer);
        match observer.scope(|| self.step(input, now_ms)) {
            Step::Send(request) => self.send(request, now_ms),
            other => other,
        }
    }
}

impl<O: Operation> Authorized<O> {
    /// The operation's next step, its token requests answered from the session.
    fn step(&mut self, input: Input, now_ms: u64) -> Step<O::Output> {
        let mut input = input;
        loop {
            let flow = match std::mem::replace(&mut self.stage, Stage::Op) {
                Stage::Op => match self.op.resume(input, now_ms) {
                    Step::Authorize { rejected } => self.authorize(rejected, now_ms),
                    other => return other,
                },
                Stage::Wait(rejected) => self.authorize(rejected, now_ms),
                Stage::Fetch(id, mut request) => match request.resume(input, now_ms) {
                    Step::Send(r) => {
                        self.stage = Stage::Fetch(id, request);
                        return Step::Send(r);
                    }
                    Step::Sleep(d) => {
                        self.stage = Stage::Fetch(id, request);
                        return Step::Sleep(d);
                    }
                    Step::Done(result) => Flow::Feed(self.tokens.finish_fetch(id, result, now_ms)),
                    Step::Authorize { .. } => {
                        self.tokens.abandon(id);
                        Flow::Feed(Input::Token(Err(Error::Unauthorized {
                            status: 401,
                            message: "the token request itself asked for a token".into(),
                        })))
                    }
                },
            };
            match flow {
                Flow::Feed(next) => input = next,
                Flow::Yield(step) => return step,
            }
        }
    }
}

impl<O> Drop for Authorized<O> {
    fn drop(&mut self) {
        if let Stage::Fetch(id, _) = self.stage {
            self.tokens.abandon(id);
        }
        // A request out or held back is no longer waited for.
        let number = self.out.take().or(self.held.take().map(|(_, n)| n));
        if let Some(number) = number {
            lock(&self.tokens.bucket).answered(number, None, 0);
        }
    }
}

/// Installs the token a device-flow login returns, so later calls use it
/// ([`Session::installing`]).
#[derive(Debug)]
pub struct InstallToken<O> {
    op: O,
    session: Arc<Session>,
}

impl<O: Operation<Output = OAuthToken>> Operation for InstallToken<O> {
    type Output = OAuthToken;

    fn resume(&mut self, input: Input, now_ms: u64) -> Step<OAuthToken> {
        match self.op.resume(input, now_ms) {
            Step::Done(Ok(token)) => {
                self.session.install(token.clone(), now_ms);
                Step::Done(Ok(token))
            }
            other => other,
        }
    }
}

/// Asks once for a token and returns it ([`Session::authorize`]).
#[derive(Debug)]
pub struct AskToken {
    rejected: Option<u64>,
    asked: bool,
}

impl Operation for AskToken {
    type Output = AccessToken;

    fn resume(&mut self, input: Input, _now_ms: u64) -> Step<AccessToken> {
        match input {
            Input::Token(token) => Step::Done(token),
            _ if !self.asked => {
                self.asked = true;
                Step::Authorize {
                    rejected: self.rejected,
                }
            }
            _ => Step::Done(Err(Error::invalid(
                "input",
                "a token request was answered with something other than a token",
            ))),
        }
    }
}
