//! One logical request and every rule for getting an answer to it: the token header, one
//! renewal after a 401, waiting out a 429, and bounded backoff after 5xx answers and
//! transport failures. Requests that must not be replayed blindly (PATCH) report an
//! *ambiguous* answer instead of retrying when the server may have applied them.

use std::time::Duration;

use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse, Method};
use crate::observe::{self, Note, RetryReason};
use crate::rate_limit::{wait_after_429, RateLimit};
use crate::retry::{Backoff, RetryPolicy};
use crate::step::{Input, Step};
use crate::token::AccessToken;
use crate::transport::{TransportError, TransportErrorKind};

/// How a request proves who sends it.
#[derive(Clone, Debug)]
pub(crate) enum AuthScheme {
    /// Helix: `Client-Id` and `Authorization: Bearer <token>`.
    Helix { client_id: String },
    /// The validate endpoint: `Authorization: OAuth <token>`.
    OAuth,
    /// No credentials in headers (token endpoint, report downloads).
    None,
}

/// Whether the request may be sent again when the server may already have applied it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Reads and token grants: resend after any failure.
    Safe,
    /// Writes: after a 5xx or a lost response, stop and say the outcome is ambiguous.
    Unsafe,
}

/// What the exchange asks of the driver next.
#[derive(Debug)]
pub(crate) enum Pending {
    Send(HttpRequest),
    Sleep(Duration),
    Authorize(Option<u64>),
}

impl Pending {
    pub(crate) fn into_step<T>(self) -> Step<T> {
        match self {
            Pending::Send(request) => Step::Send(request),
            Pending::Sleep(duration) => Step::Sleep(duration),
            Pending::Authorize(rejected) => Step::Authorize { rejected },
        }
    }
}

/// How the exchange ended.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A response below 400 (2xx, or a 3xx for the caller to follow).
    Ok(HttpResponse),
    /// A definite failure: nothing more to try.
    Failed(Error),
    /// An `Unsafe` request whose effect is unknown: the server may or may not have applied it.
    Ambiguous(Error),
}

/// Either a step for the driver or the exchange's answer.
#[derive(Debug)]
pub(crate) enum Call {
    Next(Pending),
    Answer(Answer),
}

/// One request with its retry state.
pub(crate) struct Exchange {
    method: Method,
    url: String,
    content: Option<(&'static str, Vec<u8>)>,
    auth: AuthScheme,
    replay: Replay,
    policy: RetryPolicy,
    token: Option<AccessToken>,
    renewed: bool,
    failures: u32,
    rate_waits: u32,
    backoff: Backoff,
    /// A 3xx is answered to the caller (a report download follows it); otherwise it fails.
    redirects_answered: bool,
}

/// Prints the body's length only: token requests carry the client secret, the refresh
/// token or the device code in their form body.
impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("method", &self.method)
            .field("url", &self.url)
            .field(
                "content",
                &self
                    .content
                    .as_ref()
                    .map(|(kind, body)| format!("{kind}, <{} bytes>", body.len())),
            )
            .field("auth", &self.auth)
            .field("replay", &self.replay)
            .field("token", &self.token)
            .field("renewed", &self.renewed)
            .field("failures", &self.failures)
            .field("rate_waits", &self.rate_waits)
            .finish_non_exhaustive()
    }
}

impl Exchange {
    pub(crate) fn new(
        method: Method,
        url: String,
        auth: AuthScheme,
        replay: Replay,
        policy: &RetryPolicy,
    ) -> Self {
        Exchange {
            method,
            url,
            content: None,
            auth,
            replay,
            policy: policy.clone(),
            token: None,
            renewed: false,
            failures: 0,
            rate_waits: 0,
            backoff: Backoff::default(),
            redirects_answered: false,
        }
    }

    /// Hands a 3xx to the caller to follow, instead of failing on it.
    pub(crate) fn answering_redirects(mut self) -> Self {
        self.redirects_answered = true;
        self
    }

    /// Sets a JSON body.
    pub(crate) fn json(mut self, body: Vec<u8>) -> Self {
        self.content = Some(("application/json", body));
        self
    }

    /// Sets a form body.
    pub(crate) fn form(mut self, body: String) -> Self {
        self.content = Some(("application/x-www-form-urlencoded", body.into_bytes()));
        self
    }

    /// Advances the exchange with the driver's input.
    pub(crate) fn resume(&mut self, input: Input, now_ms: u64) -> Call {
        match input {
            Input::Start | Input::Slept => self.send_or_authorize(),
            Input::Token(Ok(token)) => {
                self.token = Some(token);
                Call::Next(Pending::Send(self.request()))
            }
            Input::Token(Err(e)) => Call::Answer(Answer::Failed(e)),
            Input::Response(response) => self.on_response(response, now_ms),
            Input::TransportFailed(e) => self.on_transport_error(e, now_ms),
        }
    }

    /// The caller could not read a 2xx body: retry a `Safe` request, report an `Unsafe` one
    /// as ambiguous (the server answered, so it may have applied it).
    pub(crate) fn retry_unreadable(&mut self, error: Error, now_ms: u64) -> Call {
        self.retry_or_give_up(error, now_ms)
    }

    fn needs_token(&self) -> bool {
        !matches!(self.auth, AuthScheme::None)
    }

    fn send_or_authorize(&mut self) -> Call {
        if self.needs_token() && self.token.is_none() {
            Call::Next(Pending::Authorize(None))
        } else {
            Call::Next(Pending::Send(self.request()))
        }
    }

    fn request(&self) -> HttpRequest {
        let mut request = HttpRequest::new(self.method, self.url.clone());
        let token = self.token.as_ref().map(|t| t.secret().expose());
        match (&self.auth, token) {
            (AuthScheme::Helix { client_id }, Some(token)) => {
                request = request
                    .with_header("Client-Id", client_id.clone())
                    .with_header("Authorization", format!("Bearer {token}"));
            }
            (AuthScheme::OAuth, Some(token)) => {
                request = request.with_header("Authorization", format!("OAuth {token}"));
            }
            _ => {}
        }
        if let Some((content_type, body)) = &self.content {
            request = request
                .with_header("Content-Type", *content_type)
                .with_body(body.clone());
        }
        request.with_header("Accept", "application/json")
    }

    fn on_response(&mut self, response: HttpResponse, now_ms: u64) -> Call {
        match response.status {
            // Helix and OAuth never redirect: a 3xx comes from something else at the URL (a
            // proxy, a login page, the wrong host), and its body is not an answer.
            300..=399 if !self.redirects_answered => {
                Call::Answer(Answer::Failed(Error::redirected(&response)))
            }
            s if s < 400 => Call::Answer(Answer::Ok(response)),
            401 if self.needs_token() && !self.renewed => {
                // Twitch advises reacting to 401: renew once, then believe it.
                self.renewed = true;
                self.note_retry(RetryReason::TokenRejected, Duration::ZERO, 1);
                let rejected = self.token.take().map(|t| t.id());
                Call::Next(Pending::Authorize(rejected))
            }
            429 => {
                // A 429 was not applied, so even a PATCH may be resent.
                self.rate_waits += 1;
                if self.rate_waits > self.policy.max_rate_limit_waits {
                    let reset_at_ms = RateLimit::from_response(&response)
                        .map(|l| l.reset_at_secs.saturating_mul(1000));
                    return Call::Answer(Answer::Failed(Error::RateLimited { reset_at_ms }));
                }
                let wait = wait_after_429(&response, now_ms, &mut self.backoff, &self.policy);
                self.note_retry(RetryReason::RateLimited, wait, self.rate_waits);
                Call::Next(Pending::Sleep(wait))
            }
            500..=599 => self.retry_or_give_up(Error::from_response(&response), now_ms),
            _ => Call::Answer(Answer::Failed(Error::from_response(&response))),
        }
    }

    fn on_transport_error(&mut self, error: TransportError, now_ms: u64) -> Call {
        match error.kind {
            // A client that never had an answer from any server fails at once: the URL is
            // wrong or the server is not running, and retrying only hides it.
            TransportErrorKind::Connect if !observe::reached() => {
                Call::Answer(Answer::Failed(Error::Transport(error)))
            }
            // Never reached the server: resending is safe for any method.
            TransportErrorKind::Connect => self.retry(Error::Transport(error), now_ms),
            TransportErrorKind::Interrupted => {
                self.retry_or_give_up(Error::Transport(error), now_ms)
            }
            TransportErrorKind::Refused | TransportErrorKind::TooLarge => {
                Call::Answer(Answer::Failed(Error::Transport(error)))
            }
        }
    }

    fn retry_or_give_up(&mut self, error: Error, now_ms: u64) -> Call {
        match self.replay {
            Replay::Safe => self.retry(error, now_ms),
            Replay::Unsafe => Call::Answer(Answer::Ambiguous(error)),
        }
    }

    fn retry(&mut self, error: Error, now_ms: u64) -> Call {
        self.failures += 1;
        if self.failures > self.policy.max_retries {
            return Call::Answer(Answer::Failed(error));
        }
        let delay = self.backoff.next_delay(&self.policy, now_ms);
        let reason = match &error {
            Error::Http { status, .. } | Error::Unauthorized { status, .. } => {
                RetryReason::Status(*status)
            }
            Error::Transport(e) => RetryReason::Transport(e.kind),
            _ => RetryReason::Unreadable,
        };
        self.note_retry(reason, delay, self.failures);
        Call::Next(Pending::Sleep(delay))
    }

    /// Tells the session's observer this request goes out again.
    fn note_retry(&self, reason: RetryReason, delay: Duration, attempt: u32) {
        observe::note(&Note::Retry {
            method: self.method,
            path: observe::path_of(&self.url),
            reason,
            delay,
            attempt,
        });
    }
}
