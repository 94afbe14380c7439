//! The shape most operations share: one request, with the exchange's retry rules, whose
//! answer is decoded into a value.

use crate::error::Error;
use crate::exchange::{Answer, Call, Exchange};
use crate::http::HttpResponse;
use crate::step::{Input, Operation, Step};

/// An operation made of one logical request and a decoder.
pub struct SingleRequest<T> {
    exchange: Exchange,
    decode: fn(&HttpResponse) -> Result<T, Error>,
    map_error: fn(Error) -> Error,
}

impl<T> std::fmt::Debug for SingleRequest<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleRequest")
            .field("exchange", &self.exchange)
            .finish()
    }
}

impl<T> SingleRequest<T> {
    pub(crate) fn new(exchange: Exchange, decode: fn(&HttpResponse) -> Result<T, Error>) -> Self {
        SingleRequest {
            exchange,
            decode,
            map_error: |e| e,
        }
    }

    /// Rewrites definite failures (e.g. the token endpoint's 400 becomes `Unauthorized`).
    pub(crate) fn map_error(mut self, map_error: fn(Error) -> Error) -> Self {
        self.map_error = map_error;
        self
    }

    fn answer(&mut self, call: Call, now_ms: u64) -> Step<T> {
        match call {
            Call::Next(pending) => pending.into_step(),
            Call::Answer(Answer::Ok(response)) => match (self.decode)(&response) {
                Ok(value) => Step::Done(Ok(value)),
                Err(e) => {
                    let call = self.exchange.retry_unreadable(e, now_ms);
                    self.answer(call, now_ms)
                }
            },
            Call::Answer(Answer::Failed(e)) | Call::Answer(Answer::Ambiguous(e)) => {
                Step::Done(Err((self.map_error)(e)))
            }
        }
    }
}

impl<T> Operation for SingleRequest<T> {
    type Output = T;

    fn resume(&mut self, input: Input, now_ms: u64) -> Step<T> {
        let call = self.exchange.resume(input, now_ms);
        self.answer(call, now_ms)
    }
}
