//! EventSub `drop.entitlement.grant` webhooks: the push path next to polling.
//!
//! Twitch POSTs batched grants to a studio's HTTPS callback as they happen. These helpers
//! are sans-IO like the rest of the core: a web framework hands them the raw headers and
//! body, and they say what the message is and what to answer.
//!
//! - [`verify`] checks the HMAC-SHA256 signature (constant time), refuses messages whose
//!   timestamp is more than 10 minutes away from `now_ms`, and parses the body into a
//!   [`Message`].
//! - [`respond`] is the answer to send: the raw `challenge` for a callback verification,
//!   `204` otherwise. [`EventSubError::response`] is the answer to a refused message.
//! - [`Deduplicator`] remembers message ids, since Twitch may deliver one message twice.
//! - [`entitlements`] turns grants into the [`Entitlement`]s the fulfillment path takes.
//! - [`subscription_request`] builds `POST /helix/eventsub/subscriptions`.
//!
//! A handler, whatever the framework:
//!
//! ```
//! use twitch_drops_protocol::eventsub::{self, Deduplicator};
//! use twitch_drops_protocol::{Entitlement, HttpResponse, Secret};
//!
//! fn webhook(
//!     headers: &[(String, String)],
//!     body: &[u8],
//!     secret: &Secret,
//!     seen: &mut Deduplicator,
//!     now_ms: u64,
//!     fulfill: impl FnOnce(Vec<Entitlement>) -> Result<(), String>,
//! ) -> HttpResponse {
//!     let message = match eventsub::verify(headers, body, secret, now_ms) {
//!         Ok(message) => message,
//!         Err(refused) => return refused.response(),
//!     };
//!     let grants = message.entitlements();
//!     if !grants.is_empty() && seen.first_time(message.message_id(), now_ms) {
//!         if fulfill(grants).is_err() {
//!             // Not handled: let Twitch send it again.
//!             seen.forget(message.message_id());
//!             return HttpResponse::new(500, Vec::new());
//!         }
//!     }
//!     eventsub::respond(&message)
//! }
//! # let secret = Secret::new("s3cre7-s3cre7");
//! # let now_ms = 1_700_000_000_000;
//! # let body = br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"s1","type":"drop.entitlement.grant"}}"#;
//! # let signature = eventsub::signature(&secret, "m1", "2023-11-14T22:13:20Z", body);
//! # let headers: Vec<(String, String)> = [
//! #     ("Twitch-Eventsub-Message-Id", "m1"),
//! #     ("Twitch-Eventsub-Message-Timestamp", "2023-11-14T22:13:20Z"),
//! #     ("Twitch-Eventsub-Message-Signature", signature.as_str()),
//! #     ("Twitch-Eventsub-Message-Type", "webhook_callback_verification"),
//! # ].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
//! # let answer = webhook(&headers, body, &secret, &mut Deduplicator::new(), now_ms, |_| Ok(()));
//! # assert_eq!(answer.status, 200);
//! # assert_eq!(answer.body, b"pogchamp-kappa-360noscope-vohiyo");
//! ```
//!
//! Pushed grants are also listed by `GET /entitlements/drops` as `CLAIMED`, so a lost push
//! is picked up by the next poll; a grant seen both ways is granted once by the fulfillment
//! path, which is why pushed entitlements go through it rather than straight to the game.

use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::config::{Config, Credentials};
use crate::entitlements::{helix_auth, non_empty, Entitlement, FulfillmentStatus};
use crate::error::Error;
use crate::exchange::{Exchange, Replay};
use crate::http::{HttpResponse, Method};
use crate::secret::Secret;
use crate::shared_str::SharedStr;
use crate::single_request::SingleRequest;
use crate::url::{check_secure_url, encode_pairs, join};

/// The message's id: the same on every delivery of one message.
pub const HEADER_MESSAGE_ID: &str = "Twitch-Eventsub-Message-Id";
/// When Twitch sent the message (RFC 3339, up to nanoseconds).
pub const HEADER_MESSAGE_TIMESTAMP: &str = "Twitch-Eventsub-Message-Timestamp";
/// `sha256=<hex>` of HMAC-SHA256(secret, message id + timestamp + body).
pub const HEADER_MESSAGE_SIGNATURE: &str = "Twitch-Eventsub-Message-Signature";
/// `notification`, `webhook_callback_verification` or `revocation`.
pub const HEADER_MESSAGE_TYPE: &str = "Twitch-Eventsub-Message-Type";
/// The subscription's type (`drop.entitlement.grant`); informational.
pub const HEADER_SUBSCRIPTION_TYPE: &str = "Twitch-Eventsub-Subscription-Type";
/// The subscription's version (`1`); informational.
pub const HEADER_SUBSCRIPTION_VERSION: &str = "Twitch-Eventsub-Subscription-Version";

/// The subscription type of Drops grants.
pub const DROP_GRANT_TYPE: &str = "drop.entitlement.grant";
/// The version of [`DROP_GRANT_TYPE`] these helpers read and subscribe to.
pub const DROP_GRANT_VERSION: &str = "1";

/// Oldest message accepted: Twitch's advice is to refuse anything older than 10 minutes.
pub const MAX_MESSAGE_AGE_MS: u64 = 10 * 60 * 1000;
/// Furthest a message's timestamp may lie ahead of `now_ms` (clock skew).
pub const MAX_CLOCK_SKEW_MS: u64 = 10 * 60 * 1000;

/// Twitch's bounds on a webhook secret's length (ASCII characters).
pub const SECRET_LEN: std::ops::RangeInclusive<usize> = 10..=100;

/// Why a webhook message was refused. [`EventSubError::http_status`] is what to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventSubError {
    /// A required `Twitch-Eventsub-*` header is absent (its name).
    MissingHeader(&'static str),
    /// The signature header is not `sha256=<hex>` of the message under the secret: the
    /// message was not sent by Twitch, or the secret is not the subscription's.
    BadSignature,
    /// The timestamp is more than 10 minutes old (or that far ahead): a replay, or a
    /// clock that is wrong.
    StaleTimestamp {
        /// The header's value.
        timestamp: String,
        /// `now_ms` minus the timestamp; negative when the timestamp is in the future.
        age_ms: i64,
    },
    /// The timestamp header is not RFC 3339.
    BadTimestamp(String),
    /// The message type header is not one Twitch sends.
    UnknownMessageType(String),
    /// The body is not what the message type says it is.
    Malformed {
        /// What was being read (`"notification body"`…).
        context: &'static str,
        detail: String,
    },
}

impl EventSubError {
    /// The status to answer with: 403 for a message that cannot be trusted (bad signature,
    /// stale timestamp), 400 for one that is not well formed.
    pub fn http_status(&self) -> u16 {
        match self {
            EventSubError::BadSignature | EventSubError::StaleTimestamp { .. } => 403,
            _ => 400,
        }
    }

    /// The answer to send Twitch: [`Self::http_status`] with this error as plain text.
    pub fn response(&self) -> HttpResponse {
        HttpResponse::new(self.http_status(), self.to_string())
            .with_header("Content-Type", "text/plain; charset=utf-8")
    }

    fn malformed(context: &'static str, detail: impl fmt::Display) -> Self {
        EventSubError::Malformed {
            context,
            detail: crate::redact::as_data(&detail.to_string()),
        }
    }
}

impl fmt::Display for EventSubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventSubError::MissingHeader(name) => {
                write!(f, "EventSub message without the `{name}` header")
            }
            EventSubError::BadSignature => f.write_str(
                "EventSub signature does not match; the message is not from Twitch or the \
                 secret is not the subscription's",
            ),
            EventSubError::StaleTimestamp { timestamp, age_ms } if *age_ms < 0 => write!(
                f,
                "EventSub message timestamp {timestamp} is {}s in the future; check the clock",
                age_ms.unsigned_abs() / 1000
            ),
            EventSubError::StaleTimestamp { timestamp, age_ms } => write!(
                f,
                "EventSub message timestamp {timestamp} is {}s old (more than 10 minutes); \
                 refused as a possible replay",
                age_ms / 1000
            ),
            EventSubError::BadTimestamp(value) => write!(
                f,
                "EventSub message timestamp `{}` is not RFC 3339",
                crate::redact::as_data(value)
            ),
            EventSubError::UnknownMessageType(value) => write!(
                f,
                "unknown EventSub message type `{}`",
                crate::redact::as_data(value)
            ),
            EventSubError::Malformed { context, detail } => {
                write!(f, "could not read the EventSub {context}: {detail}")
            }
        }
    }
}

impl std::error::Error for EventSubError {}

/// A subscription as Twitch describes it, in the answer to a subscription request and in
/// every message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    /// `enabled`, `webhook_callback_verification_pending`, or why it ended (in a
    /// revocation: `authorization_revoked`, `notification_failures_exceeded`,
    /// `version_removed`…).
    #[serde(default)]
    pub status: String,
    /// `drop.entitlement.grant`.
    #[serde(rename = "type")]
    pub subscription_type: String,
    #[serde(default)]
    pub version: String,
    /// What the subscription selects (for Drops: `organization_id`, and maybe
    /// `category_id`, `campaign_id`).
    #[serde(default)]
    pub condition: Value,
    /// Where events go. Twitch never echoes the secret.
    #[serde(default)]
    pub transport: SubscriptionTransport,
    /// When it was created (RFC 3339).
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub cost: u64,
}

/// A subscription's delivery method as Twitch echoes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionTransport {
    /// `webhook`.
    #[serde(default)]
    pub method: String,
    /// The callback URL (webhooks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<String>,
}

/// One `drop.entitlement.grant` event: a viewer earned a Drop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EntitlementGrant {
    /// The event's id (not the entitlement's).
    pub event_id: String,
    pub organization_id: String,
    /// The game (Helix's `game_id`).
    pub category_id: String,
    pub category_name: String,
    pub campaign_id: String,
    pub user_id: String,
    pub user_name: String,
    pub user_login: String,
    /// The entitlement to grant and mark `FULFILLED`.
    pub entitlement_id: String,
    pub benefit_id: String,
    /// When the viewer earned it (RFC 3339).
    pub created_at: String,
}

impl EntitlementGrant {
    /// Checks the ids the fulfillment path uses with [`check_id`](crate::check_id).
    pub fn validate(&self) -> Result<(), crate::InvalidId> {
        use crate::check_id;
        check_id("event_id", &self.event_id)?;
        check_id("entitlement_id", &self.entitlement_id)?;
        check_id("user_id", &self.user_id)?;
        check_id("benefit_id", &self.benefit_id)?;
        check_id("category_id", &self.category_id)?;
        check_id("organization_id", &self.organization_id)?;
        check_id("campaign_id", &self.campaign_id)?;
        check_id("created_at", &self.created_at)
    }

    /// The entitlement this grant created, `CLAIMED` as Helix lists it.
    pub fn entitlement(&self) -> Entitlement {
        let created_at = SharedStr::from(self.created_at.as_str());
        Entitlement {
            id: self.entitlement_id.as_str().into(),
            benefit_id: self.benefit_id.as_str().into(),
            timestamp: created_at.clone(),
            user_id: self.user_id.as_str().into(),
            game_id: self.category_id.as_str().into(),
            fulfillment_status: FulfillmentStatus::Claimed,
            last_updated: created_at,
        }
    }
}

/// The entitlements behind `grants`, in order, one per grant (duplicates included: the
/// fulfillment path grants an id once however often it is fed).
pub fn entitlements(grants: &[EntitlementGrant]) -> Vec<Entitlement> {
    grants.iter().map(EntitlementGrant::entitlement).collect()
}

/// What a notification carries.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Events {
    /// `drop.entitlement.grant` events (one or many: Drops subscriptions are batched).
    DropGrants(Vec<EntitlementGrant>),
    /// Another subscription type: the body's fields other than `subscription` (`event`,
    /// or `events` when batched), unread.
    Other(Value),
}

/// A verified webhook message.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// Events to act on (after [`Deduplicator::first_time`]); answer [`respond`] (204).
    Notification {
        message_id: String,
        subscription: Subscription,
        events: Events,
    },
    /// Twitch checks that the callback is ours: answer [`respond`] (200 with the challenge).
    Verification {
        message_id: String,
        subscription: Subscription,
        challenge: String,
    },
    /// The subscription ended; `subscription.status` says why. Answer [`respond`] (204).
    Revocation {
        message_id: String,
        subscription: Subscription,
    },
}

impl Message {
    /// The message's id, the key for [`Deduplicator`].
    pub fn message_id(&self) -> &str {
        match self {
            Message::Notification { message_id, .. }
            | Message::Verification { message_id, .. }
            | Message::Revocation { message_id, .. } => message_id,
        }
    }

    /// The subscription the message is about.
    pub fn subscription(&self) -> &Subscription {
        match self {
            Message::Notification { subscription, .. }
            | Message::Verification { subscription, .. }
            | Message::Revocation { subscription, .. } => subscription,
        }
    }

    /// The entitlements a `drop.entitlement.grant` notification carries; empty for any
    /// other message.
    pub fn entitlements(&self) -> Vec<Entitlement> {
        match self {
            Message::Notification {
                events: Events::DropGrants(grants),
                ..
            } => entitlements(grants),
            _ => Vec::new(),
        }
    }
}

/// The `sha256=<hex>` signature Twitch sends for a message: HMAC-SHA256 under `secret` of
/// `message_id`, `timestamp` and `body`, concatenated. For testing a handler.
pub fn signature(secret: &Secret, message_id: &str, timestamp: &str, body: &[u8]) -> String {
    let mac = keyed(secret, message_id, timestamp, body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn keyed(secret: &Secret, message_id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(message_id.as_bytes());
    mac.update(timestamp.as_bytes());
    mac.update(body);
    mac
}

/// Checks a webhook message and reads it.
///
/// `headers` are the request's headers (names in any case), `body` its raw bytes as
/// received (before any JSON parsing: the signature covers them exactly), `secret` the one
/// given when subscribing, `now_ms` the current time (milliseconds since the Unix epoch).
/// Checks, in order: the headers are there, the signature matches (compared in constant
/// time), the timestamp is within 10 minutes of `now_ms`, the body is what the message type
/// says. Does not deduplicate: that needs memory, see [`Deduplicator`].
pub fn verify<K: AsRef<str>, V: AsRef<str>>(
    headers: &[(K, V)],
    body: &[u8],
    secret: &Secret,
    now_ms: u64,
) -> Result<Message, EventSubError> {
    let header = |name: &'static str| {
        headers
            .iter()
            .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref().trim())
            .ok_or(EventSubError::MissingHeader(name))
    };
    let message_id = header(HEADER_MESSAGE_ID)?;
    let timestamp = header(HEADER_MESSAGE_TIMESTAMP)?;
    let signature = header(HEADER_MESSAGE_SIGNATURE)?;
    let message_type = header(HEADER_MESSAGE_TYPE)?;

    let sent = signature
        .strip_prefix("sha256=")
        .and_then(|digest| hex::decode(digest).ok())
        .ok_or(EventSubError::BadSignature)?;
    keyed(secret, message_id, timestamp, body)
        .verify_slice(&sent)
        .map_err(|_| EventSubError::BadSignature)?;

    check_fresh(timestamp, now_ms)?;
    let message_id = message_id.to_string();
    match message_type {
        "notification" => {
            let body: NotificationBody = read(body, "notification body")?;
            let events = if body.subscription.subscription_type == DROP_GRANT_TYPE {
                Events::DropGrants(body.grants()?)
            } else {
                Events::Other(body.rest)
            };
            Ok(Message::Notification {
                message_id,
                subscription: body.subscription,
                events,
            })
        }
        "webhook_callback_verification" => {
            let body: VerificationBody = read(body, "verification body")?;
            Ok(Message::Verification {
                message_id,
                subscription: body.subscription,
                challenge: body.challenge,
            })
        }
        "revocation" => {
            let body: RevocationBody = read(body, "revocation body")?;
            Ok(Message::Revocation {
                message_id,
                subscription: body.subscription,
            })
        }
        other => Err(EventSubError::UnknownMessageType(other.to_string())),
    }
}

fn check_fresh(timestamp: &str, now_ms: u64) -> Result<(), EventSubError> {
    let sent = OffsetDateTime::parse(timestamp, &Rfc3339)
        .map_err(|_| EventSubError::BadTimestamp(timestamp.to_string()))?;
    let sent_ms = sent.unix_timestamp_nanos() / 1_000_000;
    let age_ms = now_ms as i128 - sent_ms;
    if age_ms > MAX_MESSAGE_AGE_MS as i128 || -age_ms > MAX_CLOCK_SKEW_MS as i128 {
        return Err(EventSubError::StaleTimestamp {
            timestamp: timestamp.to_string(),
            age_ms: age_ms.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
        });
    }
    Ok(())
}

fn read<T: serde::de::DeserializeOwned>(
    body: &[u8],
    context: &'static str,
) -> Result<T, EventSubError> {
    serde_json::from_slice(body).map_err(|e| EventSubError::malformed(context, e))
}

#[derive(Deserialize)]
struct NotificationBody {
    subscription: Subscription,
    /// Everything but `subscription`: `events` (batched) or `event`.
    #[serde(flatten)]
    rest: Value,
}

impl NotificationBody {
    fn grants(&self) -> Result<Vec<EntitlementGrant>, EventSubError> {
        const CONTEXT: &str = "drop.entitlement.grant events";
        let events: Vec<GrantEvent> = match (self.rest.get("events"), self.rest.get("event")) {
            (Some(events), _) => serde_json::from_value(events.clone()),
            (None, Some(event)) => serde_json::from_value(event.clone()).map(|e| vec![e]),
            (None, None) => return Err(EventSubError::malformed(CONTEXT, "no `events` field")),
        }
        .map_err(|e| EventSubError::malformed(CONTEXT, e))?;
        let grants: Vec<EntitlementGrant> =
            events.into_iter().map(GrantEvent::into_grant).collect();
        for (index, grant) in grants.iter().enumerate() {
            grant
                .validate()
                .map_err(|e| EventSubError::malformed(CONTEXT, format!("event {index}: {e}")))?;
        }
        Ok(grants)
    }
}

/// One element of `events`: `{"id": …, "data": {…}}`.
#[derive(Deserialize)]
struct GrantEvent {
    id: String,
    data: GrantData,
}

#[derive(Deserialize)]
struct GrantData {
    #[serde(default)]
    organization_id: String,
    #[serde(default)]
    category_id: String,
    #[serde(default)]
    category_name: String,
    #[serde(default)]
    campaign_id: String,
    user_id: String,
    #[serde(default)]
    user_name: String,
    #[serde(default)]
    user_login: String,
    entitlement_id: String,
    benefit_id: String,
    #[serde(default)]
    created_at: String,
}

impl GrantEvent {
    fn into_grant(self) -> EntitlementGrant {
        let d = self.data;
        EntitlementGrant {
            event_id: self.id,
            organization_id: d.organization_id,
            category_id: d.category_id,
            category_name: d.category_name,
            campaign_id: d.campaign_id,
            user_id: d.user_id,
            user_name: d.user_name,
            user_login: d.user_login,
            entitlement_id: d.entitlement_id,
            benefit_id: d.benefit_id,
            created_at: d.created_at,
        }
    }
}

#[derive(Deserialize)]
struct VerificationBody {
    challenge: String,
    subscription: Subscription,
}

#[derive(Deserialize)]
struct RevocationBody {
    subscription: Subscription,
}

/// The answer to a verified message: `200` with the raw challenge as `text/plain` for a
/// callback verification, `204` for anything else (a replayed message too: Twitch only
/// needs to hear it arrived).
pub fn respond(message: &Message) -> HttpResponse {
    match message {
        Message::Verification { challenge, .. } => {
            HttpResponse::new(200, challenge.as_bytes().to_vec())
                .with_header("Content-Type", "text/plain")
        }
        _ => HttpResponse::new(204, Vec::new()),
    }
}

mod dedup;
mod subscriptions;

pub use dedup::Deduplicator;
pub use subscriptions::{
    parse_subscription, parse_subscriptions, subscription_request, subscriptions_request,
    DropGrantCondition, SubscriptionsPage,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_quoted_in_errors_stay_on_one_line() {
        for error in [
            EventSubError::UnknownMessageType("x\u{1b}[2J\ndrops: forged".into()),
            EventSubError::BadTimestamp("2023\r\nforged".into()),
        ] {
            let shown = error.to_string();
            assert!(!shown.contains(['\n', '\r', '\u{1b}']), "{shown}");
        }
    }
}
