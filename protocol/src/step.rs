//! The sans-IO protocol between an operation and whoever drives it.
//!
//! An operation is a state machine. Its driver feeds it an [`Input`] and the current time,
//! and gets back a [`Step`]: perform this request, sleep this long, supply a token, or the
//! result. The sync `twitch_drops::Client` is one driver; an async `fetch` loop is another.
//!
//! ```text
//! let mut input = Input::Start;
//! loop {
//!     match op.resume(input, now_ms()) {
//!         Step::Send(request) => input = transport(request).into(),
//!         Step::Sleep(d) => { sleep(d); input = Input::Slept }
//!         Step::Authorize { rejected } => input = Input::Token(tokens.authorize(rejected, …)),
//!         Step::Done(result) => return result,
//!     }
//! }
//! ```

use std::time::Duration;

use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::token::AccessToken;
use crate::transport::TransportError;

/// What an operation needs next.
#[derive(Debug)]
pub enum Step<T> {
    /// Perform this request; answer with [`Input::Response`] or [`Input::TransportFailed`].
    Send(HttpRequest),
    /// Wait this long (backoff, rate limit, device-code polling); answer with [`Input::Slept`].
    Sleep(Duration),
    /// Supply an access token; answer with [`Input::Token`]. `rejected` names the token
    /// Twitch just refused (a 401): supply a different one, fetched anew, or an error.
    Authorize { rejected: Option<u64> },
    /// The operation is over.
    Done(Result<T, Error>),
}

/// What the driver feeds an operation.
#[derive(Debug)]
pub enum Input {
    /// The first call.
    Start,
    /// The response to the last [`Step::Send`].
    Response(HttpResponse),
    /// The last [`Step::Send`] got no whole response.
    TransportFailed(TransportError),
    /// The last [`Step::Sleep`] is over.
    Slept,
    /// The answer to [`Step::Authorize`].
    Token(Result<AccessToken, Error>),
}

impl From<Result<HttpResponse, TransportError>> for Input {
    fn from(result: Result<HttpResponse, TransportError>) -> Self {
        match result {
            Ok(response) => Input::Response(response),
            Err(e) => Input::TransportFailed(e),
        }
    }
}

/// A Drops operation as a state machine. Start it with [`Input::Start`]; after it returns
/// [`Step::Done`] it must not be resumed again.
pub trait Operation {
    /// What the operation produces.
    type Output;

    /// Advances the operation with the driver's answer to the previous step.
    fn resume(&mut self, input: Input, now_ms: u64) -> Step<Self::Output>;
}

impl<O: Operation + ?Sized> Operation for Box<O> {
    type Output = O::Output;

    fn resume(&mut self, input: Input, now_ms: u64) -> Step<Self::Output> {
        (**self).resume(input, now_ms)
    }
}
