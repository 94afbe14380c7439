//! The EventSub webhook, whole: one call takes a request Twitch sent to the studio's
//! callback and says what to answer and which entitlements it pushed, the first time only.
//!
//! It composes the rules of [`crate::eventsub`]: the signature and the timestamp are checked
//! ([`eventsub::verify`]), the verification challenge is answered, a revocation is reported,
//! and a notification's message id is recorded in a [`DeliveryLog`] so that a message Twitch
//! delivers again (it does, when an answer is late or lost) is answered but not acted on
//! twice. Give it a durable log (the SQLite or PostgreSQL journal's) and a redelivery after
//! a restart is recognized too.
//!
//! A message is recorded when it arrives, before its entitlements are granted: if the
//! process dies in between, those entitlements stay CLAIMED at Twitch and the next drain of
//! the list (`Client::fulfill`, run from time to time beside the webhook) grants them. The
//! journal keeps grants exactly once across both paths.

use crate::entitlements::Entitlement;
use crate::eventsub::{self, Deduplicator, EventSubError, Events, Message, Subscription};
use crate::fulfill::JournalError;
use crate::http::HttpResponse;
use crate::secret::Secret;

/// Where delivered message ids are remembered.
pub trait DeliveryLog {
    /// Records `message_id` as delivered at `now_ms`; true the first time, false when it
    /// was recorded before (within [`Deduplicator::WINDOW_MS`] at least: Twitch does not
    /// deliver a message older than that, [`eventsub::verify`] refuses it).
    fn first_delivery(&mut self, message_id: &str, now_ms: u64) -> Result<bool, JournalError>;
}

/// In memory, bounded: a restart forgets.
impl DeliveryLog for Deduplicator {
    fn first_delivery(&mut self, message_id: &str, now_ms: u64) -> Result<bool, JournalError> {
        Ok(self.first_time(message_id, now_ms))
    }
}

/// What a webhook request was.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Delivery {
    /// A `drop.entitlement.grant` notification seen for the first time: grant these (feed
    /// them to `Engine::for_entitlements` / `Client::fulfill_entitlements`).
    Grants {
        message_id: String,
        entitlements: Vec<Entitlement>,
    },
    /// A notification already recorded: answered, not acted on again.
    Repeated { message_id: String },
    /// A notification of another subscription type (recorded, nothing to grant).
    Other { message_id: String },
    /// Twitch checked the callback: the challenge is answered.
    Verification { subscription: Subscription },
    /// The subscription ended; `subscription.status` says why (subscribe again if it was
    /// not the studio's doing).
    Revocation { subscription: Subscription },
    /// Not a message to trust or read (bad signature, stale, malformed): refused.
    Refused(EventSubError),
    /// The log could not record the delivery: answered 503 so that Twitch delivers it again.
    NotRecorded(JournalError),
}

/// The answer to send back, and what the request was.
#[derive(Clone, Debug, PartialEq)]
pub struct Handled {
    pub response: HttpResponse,
    pub delivery: Delivery,
}

/// Whether to act on a verified message: a notification, the first time its id is recorded
/// in `log` (a redelivery is answered, not acted on again); never another kind (answer it).
pub fn first_delivery(
    message: &Message,
    now_ms: u64,
    log: &mut dyn DeliveryLog,
) -> Result<bool, JournalError> {
    match message {
        Message::Notification { message_id, .. } => log.first_delivery(message_id, now_ms),
        _ => Ok(false),
    }
}

/// Handles one webhook request: `headers` and `body` as received (the body's raw bytes),
/// `secret` the subscription's, `now_ms` the current time.
pub fn handle<K: AsRef<str>, V: AsRef<str>>(
    headers: &[(K, V)],
    body: &[u8],
    secret: &Secret,
    now_ms: u64,
    log: &mut dyn DeliveryLog,
) -> Handled {
    let message = match eventsub::verify(headers, body, secret, now_ms) {
        Ok(message) => message,
        Err(error) => {
            return Handled {
                response: error.response(),
                delivery: Delivery::Refused(error),
            }
        }
    };
    let response = eventsub::respond(&message);
    let first = first_delivery(&message, now_ms, log);
    let delivery = match message {
        Message::Verification { subscription, .. } => Delivery::Verification { subscription },
        Message::Revocation { subscription, .. } => Delivery::Revocation { subscription },
        Message::Notification {
            message_id, events, ..
        } => match first {
            Err(error) => {
                return Handled {
                    response: HttpResponse::new(
                        503,
                        b"delivery not recorded; send it again".to_vec(),
                    )
                    .with_header("Content-Type", "text/plain; charset=utf-8"),
                    delivery: Delivery::NotRecorded(error),
                }
            }
            Ok(false) => Delivery::Repeated { message_id },
            Ok(true) => match events {
                Events::DropGrants(grants) => Delivery::Grants {
                    message_id,
                    entitlements: eventsub::entitlements(&grants),
                },
                _ => Delivery::Other { message_id },
            },
        },
    };
    Handled { response, delivery }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cre7-s3cre7-s3cre7";
    const NOW_MS: u64 = 1_700_000_000_000;
    const TIMESTAMP: &str = "2023-11-14T22:13:20Z";

    fn request(message_id: &str, message_type: &str, body: &str) -> Vec<(String, String)> {
        let secret = Secret::new(SECRET);
        let signature = eventsub::signature(&secret, message_id, TIMESTAMP, body.as_bytes());
        vec![
            ("Twitch-Eventsub-Message-Id".into(), message_id.into()),
            ("Twitch-Eventsub-Message-Timestamp".into(), TIMESTAMP.into()),
            ("Twitch-Eventsub-Message-Signature".into(), signature),
            ("Twitch-Eventsub-Message-Type".into(), message_type.into()),
        ]
    }

    fn grants_body() -> String {
        serde_json::json!({
            "subscription": {
                "id": "sub", "type": "drop.entitlement.grant", "version": "1",
                "status": "enabled", "cost": 0, "condition": {"organization_id": "o"},
                "transport": {"method": "webhook", "callback": "https://example.com/cb"},
                "created_at": "2023-11-14T22:00:00Z"
            },
            "events": [{
                "id": "e1",
                "data": {
                    "organization_id": "o", "category_id": "509658", "category_name": "G",
                    "campaign_id": "c", "user_id": "u1", "user_name": "U", "user_login": "u",
                    "entitlement_id": "ent-1", "benefit_id": "b1",
                    "created_at": "2023-11-14T22:10:00Z"
                }
            }]
        })
        .to_string()
    }

    #[test]
    fn a_notification_is_acted_on_once_and_answered_every_time() {
        let body = grants_body();
        let headers = request("m1", "notification", &body);
        let secret = Secret::new(SECRET);
        let mut log = Deduplicator::new();
        let first = handle(&headers, body.as_bytes(), &secret, NOW_MS, &mut log);
        assert_eq!(first.response.status, 204);
        match first.delivery {
            Delivery::Grants {
                message_id,
                entitlements,
            } => {
                assert_eq!(message_id, "m1");
                assert_eq!(entitlements.len(), 1);
                assert_eq!(entitlements[0].id, "ent-1");
            }
            other => panic!("{other:?}"),
        }
        let again = handle(&headers, body.as_bytes(), &secret, NOW_MS + 1000, &mut log);
        assert_eq!(again.response.status, 204);
        assert_eq!(
            again.delivery,
            Delivery::Repeated {
                message_id: "m1".into()
            }
        );
    }

    #[test]
    fn a_forged_message_is_refused_and_not_recorded() {
        let body = grants_body();
        let headers = request("m2", "notification", &body);
        let mut log = Deduplicator::new();
        let forged = handle(
            &headers,
            body.as_bytes(),
            &Secret::new("another-secret-entirely"),
            NOW_MS,
            &mut log,
        );
        assert_eq!(forged.response.status, 403);
        assert!(matches!(
            forged.delivery,
            Delivery::Refused(EventSubError::BadSignature)
        ));
        assert!(log.is_empty());
    }

    #[test]
    fn a_log_that_fails_asks_for_the_message_again() {
        struct Broken;
        impl DeliveryLog for Broken {
            fn first_delivery(&mut self, _: &str, _: u64) -> Result<bool, JournalError> {
                Err(JournalError("disk full".into()))
            }
        }
        let body = grants_body();
        let headers = request("m3", "notification", &body);
        let handled = handle(
            &headers,
            body.as_bytes(),
            &Secret::new(SECRET),
            NOW_MS,
            &mut Broken,
        );
        assert_eq!(handled.response.status, 503);
        assert!(matches!(handled.delivery, Delivery::NotRecorded(_)));
    }
}
