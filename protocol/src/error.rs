//! The one error type of the library, with variants a caller can act on.
//!
//! Messages say what was wrong and what to do. None holds a token or secret: Twitch's
//! messages are copied after the scrubber (`redact`) has cut every secret the process holds
//! out of them, and kept to one bounded line; request bodies and credentials never are.

use std::fmt;

use serde::Deserialize;

use crate::http::HttpResponse;
use crate::redact::as_data;
use crate::transport::TransportError;
use crate::update::UpdateReport;

/// Everything that can go wrong in a Drops operation.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The caller's input was rejected before any request was sent.
    InvalidInput {
        /// The parameter that was wrong (`"first"`, `"ids"`, `"helix_url"`…).
        field: &'static str,
        /// Why, in a sentence.
        reason: String,
    },
    /// Twitch refused the credentials even after a fresh token (or no fresh token could be
    /// had): the secret is wrong, the token was revoked, or a scope is missing.
    Unauthorized { status: u16, message: String },
    /// Twitch answered with an error status the client does not retry (400, 403, 404), or a
    /// 5xx that persisted through every retry.
    Http {
        status: u16,
        /// Twitch's `error` field (`"Bad Request"`), empty when the body was not JSON.
        error: String,
        /// Twitch's `message` field, or a description of a non-JSON body.
        message: String,
    },
    /// Still rate limited after the allowed number of waits.
    RateLimited {
        /// When Twitch said the bucket refills (milliseconds since the Unix epoch), if it said.
        reset_at_ms: Option<u64>,
    },
    /// No whole response could be had from the server, after the allowed retries.
    Transport(TransportError),
    /// A 2xx response whose body could not be read as the expected data.
    Decode {
        /// What was being read (`"entitlements page"`, `"token response"`…).
        context: &'static str,
        detail: String,
    },
    /// An update stopped part way: `report` holds the outcome of every id that got one, and
    /// `report.unconfirmed` the ids whose state is unknown.
    PartialUpdate {
        report: Box<UpdateReport>,
        cause: Box<Error>,
    },
    /// The fulfillment journal could not be read or written; the run stopped so that no
    /// grant goes unrecorded.
    Journal { message: String },
}

/// A coarse, stable classification of [`Error`], for bindings and for matching.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ErrorKind {
    InvalidInput = 1,
    Unauthorized = 2,
    Http = 3,
    RateLimited = 4,
    Transport = 5,
    Decode = 6,
    PartialUpdate = 7,
    Journal = 8,
}

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field,
            reason: reason.into(),
        }
    }

    /// A `Decode` error; `detail` may quote the server's data, so it is scrubbed and kept
    /// to one bounded line.
    pub(crate) fn decode(context: &'static str, detail: impl fmt::Display) -> Self {
        Error::Decode {
            context,
            detail: as_data(&detail.to_string()),
        }
    }

    /// The classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidInput { .. } => ErrorKind::InvalidInput,
            Error::Unauthorized { .. } => ErrorKind::Unauthorized,
            Error::Http { .. } => ErrorKind::Http,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Transport(_) => ErrorKind::Transport,
            Error::Decode { .. } => ErrorKind::Decode,
            Error::PartialUpdate { .. } => ErrorKind::PartialUpdate,
            Error::Journal { .. } => ErrorKind::Journal,
        }
    }

    /// The HTTP status Twitch answered with, when the error came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { status, .. } | Error::Http { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            Error::PartialUpdate { cause, .. } => cause.status(),
            _ => None,
        }
    }

    /// Twitch's own `message`, when the error came from a response.
    pub fn twitch_message(&self) -> Option<&str> {
        match self {
            Error::Unauthorized { message, .. } | Error::Http { message, .. } => Some(message),
            Error::PartialUpdate { cause, .. } => cause.twitch_message(),
            _ => None,
        }
    }

    /// A 3xx where no redirect belongs: its status and where it pointed (shown as URLs in
    /// messages are: no userinfo, no query; one bounded line).
    pub(crate) fn redirected(response: &HttpResponse) -> Self {
        let to = response
            .header("location")
            .map(|location| crate::redact::as_data(&crate::url::for_messages(location)))
            .unwrap_or_else(|| "nowhere given".into());
        let reason = match response.status {
            301 => "Moved Permanently",
            302 => "Found",
            303 => "See Other",
            307 => "Temporary Redirect",
            308 => "Permanent Redirect",
            _ => "",
        };
        Error::Http {
            status: response.status,
            error: reason.into(),
            message: format!(
                "a redirect to {to}, which Twitch's API never answers: the URL reaches \
                 something else (a proxy, a login page, another host)"
            ),
        }
    }

    /// Reads an error response (Twitch's `{"error","status","message"}`, or anything else,
    /// such as an HTML 503 page) into an [`Error`].
    pub(crate) fn from_response(response: &HttpResponse) -> Self {
        let body = TwitchErrorBody::read(response);
        match response.status {
            401 => Error::Unauthorized {
                status: 401,
                message: body.message,
            },
            status => Error::Http {
                status,
                error: body.error,
                message: body.message,
            },
        }
    }
}

/// Twitch's error body, or a description of a body that is not one.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TwitchErrorBody {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub message: String,
}

impl TwitchErrorBody {
    /// The body's `error` and `message`, scrubbed of every secret the process holds (a
    /// server may echo the request that carried them).
    pub(crate) fn read(response: &HttpResponse) -> Self {
        match serde_json::from_slice::<TwitchErrorBody>(&response.body) {
            Ok(body) => TwitchErrorBody {
                error: as_data(&body.error),
                message: as_data(&body.message),
            },
            Err(_) if response.body.is_empty() => TwitchErrorBody::default(),
            Err(_) => {
                let kind = as_data(response.header("content-type").unwrap_or("unknown type"));
                TwitchErrorBody {
                    error: String::new(),
                    message: format!(
                        "non-JSON error body ({kind}, {} bytes)",
                        response.body.len()
                    ),
                }
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput { field, reason } => write!(f, "invalid `{field}`: {reason}"),
            Error::Unauthorized { status, message } => write!(
                f,
                "Twitch refused the credentials ({status}: {}); check the client id and \
                 secret, or obtain a new token with the needed scopes",
                or_none(message)
            ),
            Error::Http {
                status,
                error,
                message,
            } => {
                write!(f, "Twitch answered {status}")?;
                if !error.is_empty() {
                    write!(f, " {error}")?;
                }
                write!(f, ": {}", or_none(message))?;
                if *status >= 500 {
                    write!(f, " (retries exhausted; try again later)")?;
                }
                Ok(())
            }
            Error::RateLimited { reset_at_ms } => match reset_at_ms {
                Some(ms) => write!(
                    f,
                    "rate limited by Twitch; the bucket refills at {} (Unix seconds)",
                    ms / 1000
                ),
                None => write!(f, "rate limited by Twitch; slow down and try again later"),
            },
            Error::Transport(e) => write!(f, "could not reach Twitch: {e}"),
            Error::Decode { context, detail } => {
                write!(f, "could not read Twitch's {context}: {detail}")
            }
            Error::PartialUpdate { report, cause } => write!(
                f,
                "update stopped with {} of {} ids confirmed ({} unconfirmed; re-read them \
                 before retrying): {cause}",
                report.outcomes.len(),
                report.outcomes.len() + report.unconfirmed.len(),
                report.unconfirmed.len()
            ),
            Error::Journal { message } => write!(
                f,
                "the fulfillment journal failed ({message}); the run stopped so that no grant \
                 goes unrecorded: fix the journal's storage and run again"
            ),
        }
    }
}

fn or_none(message: &str) -> &str {
    if message.is_empty() {
        "no message"
    } else {
        message
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport(e) => Some(e),
            Error::PartialUpdate { cause, .. } => Some(cause.as_ref()),
            _ => None,
        }
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Error::Transport(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::MAX_SERVER_TEXT;

    #[test]
    fn a_servers_text_is_one_bounded_line_in_an_error() {
        let hostile = format!(
            r#"{{"error":"Bad\nRequest","message":"drops: error: forged\r\n\u001b[31m{}"}}"#,
            "x".repeat(10_000)
        );
        let error = Error::from_response(&HttpResponse::new(400, hostile.into_bytes()));
        let shown = error.to_string();
        assert!(!shown.contains(['\n', '\r', '\u{1b}']), "{shown}");
        assert!(
            shown.starts_with("Twitch answered 400 Bad Request: drops: error: forged"),
            "{shown}"
        );
        assert!(
            shown.chars().count() < 2 * MAX_SERVER_TEXT,
            "{}",
            shown.len()
        );
        assert!(shown.ends_with('…'), "{shown}");

        let mut html = HttpResponse::new(503, b"<html>down</html>".to_vec());
        html.headers
            .push(("Content-Type".into(), "text/html\u{2028}fake".into()));
        let shown = Error::from_response(&html).to_string();
        assert!(
            shown.contains("non-JSON error body (text/html fake, 17 bytes)"),
            "{shown}"
        );
    }
}
