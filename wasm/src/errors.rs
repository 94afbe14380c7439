//! The core's [`Error`] as JavaScript sees it: a plain description (`kind`, `message`,
//! `status`, `twitchMessage` and the variant's details) from which the TypeScript layer
//! builds the matching `Error` subclass (`js/errors.ts`).

use serde_json::{json, Map, Value};
use twitch_drops_protocol::{Error, TransportErrorKind};

use crate::wire;

/// An [`Error::InvalidInput`] raised by this crate (malformed options or queries).
pub fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidInput {
        field,
        reason: reason.into(),
    }
}

/// The name JavaScript knows a parameter by: camelCase, and the query's `status` for
/// the wire's `fulfillment_status`.
pub fn js_field(field: &str) -> String {
    if field == "fulfillment_status" {
        return "status".to_string();
    }
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The name of `DropsError.kind`: the core's [`twitch_drops_protocol::ErrorKind`] variant name
/// (`"InvalidInput"`, `"Http"`…), so a kind the core adds needs no change here.
pub fn kind_name(error: &Error) -> String {
    format!("{:?}", error.kind())
}

/// The `transportKind` of a `TransportError`.
pub fn transport_kind_name(kind: TransportErrorKind) -> &'static str {
    match kind {
        TransportErrorKind::Connect => "connect",
        TransportErrorKind::Interrupted => "interrupted",
        TransportErrorKind::Refused => "refused",
        TransportErrorKind::TooLarge => "tooLarge",
    }
}

/// Describes `error` for the TypeScript layer. Every description has `kind`, `message`,
/// `status` (number or null) and `twitchMessage` (string or null); the variant adds
/// `field`, `twitchError`, `resetAtMs`, `transportKind`, `context`, or `report` and `cause`.
pub fn describe(error: &Error) -> Value {
    let mut out = Map::new();
    out.insert("kind".into(), json!(kind_name(error)));
    out.insert("status".into(), json!(error.status()));
    out.insert(
        "twitchMessage".into(),
        json!(error.twitch_message().filter(|m| !m.is_empty())),
    );
    let message = match error {
        Error::InvalidInput { field, reason } => {
            let field = js_field(field);
            let message = format!("invalid `{field}`: {reason}");
            out.insert("field".into(), json!(field));
            message
        }
        Error::Http { error: name, .. } => {
            out.insert(
                "twitchError".into(),
                json!(Some(name).filter(|n| !n.is_empty())),
            );
            error.to_string()
        }
        Error::RateLimited { reset_at_ms } => {
            out.insert("resetAtMs".into(), json!(reset_at_ms));
            error.to_string()
        }
        Error::Transport(e) => {
            out.insert("transportKind".into(), json!(transport_kind_name(e.kind)));
            error.to_string()
        }
        Error::Decode { context, .. } => {
            out.insert("context".into(), json!(context));
            error.to_string()
        }
        Error::PartialUpdate { report, cause } => {
            out.insert("report".into(), wire::update_report(report));
            out.insert("cause".into(), describe(cause));
            error.to_string()
        }
        _ => error.to_string(),
    };
    out.insert("message".into(), json!(message));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use twitch_drops_protocol::{IdOutcome, TransportError, UpdateReport, UpdateStatus};

    #[test]
    fn fields_are_camel_case() {
        assert_eq!(js_field("helix_url"), "helixUrl");
        assert_eq!(js_field("started_at"), "startedAt");
        assert_eq!(js_field("first"), "first");
        assert_eq!(js_field("fulfillment_status"), "status");
    }

    #[test]
    fn every_variant_keeps_what_a_caller_acts_on() {
        let d = describe(&invalid("game_id", "is empty"));
        assert_eq!(d["kind"], "InvalidInput");
        assert_eq!(d["field"], "gameId");
        assert_eq!(d["message"], "invalid `gameId`: is empty");
        assert_eq!(d["status"], Value::Null);

        let d = describe(&Error::Http {
            status: 403,
            error: "Forbidden".into(),
            message: "The organization does not own the game".into(),
        });
        assert_eq!(d["kind"], "Http");
        assert_eq!(d["status"], 403);
        assert_eq!(d["twitchError"], "Forbidden");
        assert_eq!(d["twitchMessage"], "The organization does not own the game");

        let d = describe(&Error::Http {
            status: 500,
            error: String::new(),
            message: String::new(),
        });
        assert_eq!(d["twitchMessage"], Value::Null);
        assert_eq!(d["twitchError"], Value::Null);

        let d = describe(&Error::RateLimited {
            reset_at_ms: Some(1_700_000_000_000),
        });
        assert_eq!(
            (d["kind"].as_str(), d["status"].as_u64()),
            (Some("RateLimited"), Some(429))
        );
        assert_eq!(d["resetAtMs"], 1_700_000_000_000u64);

        let d = describe(&Error::Transport(TransportError::new(
            TransportErrorKind::Interrupted,
            "fetch failed",
        )));
        assert_eq!(d["transportKind"], "interrupted");

        let d = describe(&Error::PartialUpdate {
            report: Box::new(UpdateReport {
                outcomes: vec![IdOutcome {
                    id: "a".into(),
                    status: UpdateStatus::Success,
                }],
                unconfirmed: vec!["b".into()],
            }),
            cause: Box::new(Error::Unauthorized {
                status: 401,
                message: "Invalid OAuth token".into(),
            }),
        });
        assert_eq!(d["kind"], "PartialUpdate");
        assert_eq!(d["status"], 401);
        assert_eq!(d["report"]["outcomes"][0]["status"], "SUCCESS");
        assert_eq!(d["report"]["unconfirmed"][0], "b");
        assert_eq!(d["cause"]["kind"], "Unauthorized");
    }
}
