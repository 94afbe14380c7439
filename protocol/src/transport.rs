//! The only door to I/O: something that performs an [`HttpRequest`] and returns the
//! [`HttpResponse`]. Any `Fn(HttpRequest) -> Result<HttpResponse, TransportError>` is one.

use std::fmt;

use crate::http::{HttpRequest, HttpResponse};

/// Performs HTTP requests for the sync client.
///
/// A transport returns every status as a response (4xx and 5xx are not errors here: the
/// core reads them). It fails only when no whole response was read.
pub trait Transport {
    /// Sends `request` and reads the whole response.
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

impl<F> Transport for F
where
    F: Fn(HttpRequest) -> Result<HttpResponse, TransportError>,
{
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self(request)
    }
}

/// Why a transport could not return a response. The kind tells whether the server may have
/// seen the request, which decides whether a non-idempotent request may be resent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    pub kind: TransportErrorKind,
    /// What went wrong, for people. Never holds credentials.
    pub message: String,
}

/// The classes of transport failure the core acts on differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportErrorKind {
    /// The request never reached the server (name lookup, connection refused, TLS setup,
    /// connect timeout). Safe to resend anything.
    Connect,
    /// The request may have reached the server but no whole response came back (connection
    /// reset or closed, body cut short, read timeout). Resending a PATCH blindly is unsafe.
    Interrupted,
    /// Refused before sending: a plain `http` URL to a host that is not loopback, or a URL the
    /// transport cannot parse. Resending will not help.
    Refused,
    /// The response body was larger than the transport's cap.
    TooLarge,
}

impl TransportError {
    /// A transport error of `kind` with a human message, scrubbed of every secret the
    /// process holds (it may quote a server or a user's transport).
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        TransportError {
            kind,
            message: crate::redact::scrub(&message.into()),
        }
    }

    /// True when the server may have received (and applied) the request.
    pub fn may_have_reached_server(&self) -> bool {
        matches!(self.kind, TransportErrorKind::Interrupted)
    }
}

impl TransportErrorKind {
    /// `"connect"`, `"interrupted"`, `"refused"`, `"too_large"`: for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportErrorKind::Connect => "connect",
            TransportErrorKind::Interrupted => "interrupted",
            TransportErrorKind::Refused => "refused",
            TransportErrorKind::TooLarge => "too_large",
        }
    }

    /// What happened, for people.
    pub fn describe(self) -> &'static str {
        match self {
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Interrupted => "connection interrupted before a whole response",
            TransportErrorKind::Refused => "request refused before sending",
            TransportErrorKind::TooLarge => "response body larger than the limit",
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.describe(), self.message)
    }
}

impl std::error::Error for TransportError {}
