//! EventSub webhooks as JavaScript sees them: the core's `verify`, `respond` and
//! `Deduplicator` over JSON text, and the options of a `drop.entitlement.grant`
//! subscription. Every check (signature, freshness, body shape, what to answer) is the
//! core's [`twitch_drops_protocol::eventsub`]; this module only translates.

use serde::Deserialize;
use serde_json::{json, Map, Value};
use twitch_drops_protocol::eventsub::{
    self, EntitlementGrant, EventSubError, Events, Message, Subscription,
};
use twitch_drops_protocol::{DropGrantCondition, Error, HttpResponse, Secret};

use crate::errors::{describe, invalid};
use crate::wire::{read, EntitlementJs};

/// `{ status, headers: { name: value }, body }`: an answer for the web framework to send.
pub fn response(r: &HttpResponse) -> Value {
    let headers: Map<String, Value> = r
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    json!({
        "status": r.status,
        "headers": headers,
        "body": String::from_utf8_lossy(&r.body),
    })
}

/// The name of `EventSubError.reason`.
fn reason(e: &EventSubError) -> &'static str {
    match e {
        EventSubError::MissingHeader(_) => "missingHeader",
        EventSubError::BadSignature => "badSignature",
        EventSubError::StaleTimestamp { .. } => "staleTimestamp",
        EventSubError::BadTimestamp(_) => "badTimestamp",
        EventSubError::UnknownMessageType(_) => "unknownMessageType",
        EventSubError::Malformed { .. } => "malformed",
        _ => "refused",
    }
}

/// Describes a refused message for the TypeScript layer's `EventSubError`: `kind`
/// `"EventSub"`, `status` (403 or 400), `reason`, and the `response` to send.
pub fn refusal(e: &EventSubError) -> Value {
    json!({
        "kind": "EventSub",
        "message": e.to_string(),
        "status": e.http_status(),
        "twitchMessage": null,
        "reason": reason(e),
        "response": response(&e.response()),
    })
}

/// `{ id, status, type, version, condition, transport: { method, callback }, createdAt, cost }`;
/// `condition` as Twitch sends it (`{ organization_id, … }`).
pub fn subscription(s: &Subscription) -> Value {
    json!({
        "id": s.id,
        "status": s.status,
        "type": s.subscription_type,
        "version": s.version,
        "condition": s.condition,
        "transport": { "method": s.transport.method, "callback": s.transport.callback },
        "createdAt": s.created_at,
        "cost": s.cost,
    })
}

fn grant(g: &EntitlementGrant) -> Value {
    json!({
        "eventId": g.event_id,
        "organizationId": g.organization_id,
        "categoryId": g.category_id,
        "categoryName": g.category_name,
        "campaignId": g.campaign_id,
        "userId": g.user_id,
        "userName": g.user_name,
        "userLogin": g.user_login,
        "entitlementId": g.entitlement_id,
        "benefitId": g.benefit_id,
        "createdAt": g.created_at,
    })
}

/// A verified message: `{ type: 'notification' | 'verification' | 'revocation', messageId,
/// subscription, … }`. A notification has `grants`, `entitlements` (what
/// `fulfillEntitlements` takes; both empty for other subscription types) and `rawEvents`
/// (the body's other fields for other subscription types, else null); a verification has
/// `challenge`.
pub fn message(m: &Message) -> Value {
    let base = |kind: &str| {
        json!({
            "type": kind,
            "messageId": m.message_id(),
            "subscription": subscription(m.subscription()),
        })
    };
    match m {
        Message::Notification { events, .. } => {
            let mut out = base("notification");
            let (grants, raw) = match events {
                Events::DropGrants(grants) => (grants.iter().map(grant).collect(), Value::Null),
                Events::Other(raw) => (Vec::new(), raw.clone()),
                _ => (Vec::new(), Value::Null),
            };
            let entitlements = m.entitlements();
            out["grants"] = Value::Array(grants);
            out["entitlements"] = json!(entitlements
                .iter()
                .map(EntitlementJs::from)
                .collect::<Vec<_>>());
            out["rawEvents"] = raw;
            out
        }
        Message::Verification { challenge, .. } => {
            let mut out = base("verification");
            out["challenge"] = json!(challenge);
            out
        }
        Message::Revocation { .. } => base("revocation"),
        _ => base("unknown"),
    }
}

/// Reads the headers as the TypeScript layer passes them: `[[name, value], …]`.
fn headers(text: &str) -> Result<Vec<(String, String)>, Error> {
    read("headers", text)
}

/// Milliseconds since the epoch as JavaScript gives them (`Date.now()`, `date.getTime()`).
pub fn epoch_ms(field: &'static str, value: f64) -> Result<u64, Error> {
    if value.is_finite() && value >= 0.0 {
        Ok(value as u64)
    } else {
        Err(invalid(
            field,
            format!("{value} is not a time (ms since 1970)"),
        ))
    }
}

/// Verifies a webhook message with the core; `Err` is the description to throw (an
/// `EventSubError`'s, or an `InvalidInputError`'s for unusable arguments).
pub fn verify(headers_json: &str, body: &[u8], secret: &str, now_ms: f64) -> Result<Value, Value> {
    let headers = headers(headers_json).map_err(|e| describe(&e))?;
    let now_ms = epoch_ms("now", now_ms).map_err(|e| describe(&e))?;
    eventsub::verify(&headers, body, &Secret::new(secret), now_ms)
        .map(|m| message(&m))
        .map_err(|e| refusal(&e))
}

/// The part of a verified message `respond` looks at.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageJs {
    #[serde(rename = "type")]
    kind: String,
    message_id: String,
    #[serde(default)]
    challenge: Option<String>,
}

/// The answer to a verified message (JSON text of what `verify` gave), from the core's
/// [`eventsub::respond`].
pub fn respond(message_json: &str) -> Result<Value, Error> {
    let m: MessageJs = read("message", message_json)?;
    let subscription = Subscription::default();
    let message_id = m.message_id;
    let message = match (m.kind.as_str(), m.challenge) {
        ("verification", Some(challenge)) => Message::Verification {
            message_id,
            subscription,
            challenge,
        },
        ("notification", _) => Message::Notification {
            message_id,
            subscription,
            events: Events::Other(Value::Null),
        },
        ("revocation", _) => Message::Revocation {
            message_id,
            subscription,
        },
        (kind, _) => {
            return Err(invalid(
                "message",
                format!("`{kind}` is not a message `verifyEventSub` returns"),
            ))
        }
    };
    Ok(response(&eventsub::respond(&message)))
}

/// `{ organizationId, categoryId?, campaignId?, callback, secret }`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubscribeJs {
    organization_id: String,
    category_id: Option<String>,
    campaign_id: Option<String>,
    callback: String,
    secret: String,
}

/// What `subscribeDropGrants` needs, read from its options (checked by the core when the
/// request is made).
pub struct Subscribe {
    pub condition: DropGrantCondition,
    pub callback: String,
    pub secret: Secret,
}

/// Reads `subscribeDropGrants`' options.
pub fn subscribe_options(text: &str) -> Result<Subscribe, Error> {
    let o: SubscribeJs = read("options", text)?;
    Ok(Subscribe {
        condition: DropGrantCondition {
            organization_id: o.organization_id,
            category_id: o.category_id,
            campaign_id: o.campaign_id,
        },
        callback: o.callback,
        secret: Secret::new(o.secret),
    })
}

#[cfg(target_arch = "wasm32")]
pub use exports::*;

/// The wasm exports: verification and answers as free functions, the deduplicator as a class.
#[cfg(target_arch = "wasm32")]
mod exports {
    use twitch_drops_protocol::Deduplicator;
    use wasm_bindgen::prelude::wasm_bindgen;
    use wasm_bindgen::JsValue;

    use crate::client::thrown;
    use crate::errors::describe;
    use crate::wire::count;

    /// Verifies a webhook message: `headers` JSON text of `[[name, value], …]`, `body` the
    /// raw bytes, `secret` the subscription's, `now_ms` the current time. Returns JSON text
    /// of the message; throws an `Error` with a `payload` when it is refused.
    #[wasm_bindgen(js_name = verifyEventSub)]
    pub fn verify_event_sub(
        headers: &str,
        body: &[u8],
        secret: &str,
        now_ms: f64,
    ) -> Result<String, JsValue> {
        super::verify(headers, body, secret, now_ms)
            .map(|m| m.to_string())
            .map_err(thrown)
    }

    /// JSON text of the answer to a verified message (JSON text of what `verifyEventSub` gave).
    #[wasm_bindgen(js_name = eventSubResponse)]
    pub fn event_sub_response(message: &str) -> Result<String, JsValue> {
        super::respond(message)
            .map(|r| r.to_string())
            .map_err(|e| thrown(describe(&e)))
    }

    /// Message ids seen recently (the core's `Deduplicator`).
    #[wasm_bindgen]
    pub struct RawDeduplicator {
        inner: Deduplicator,
    }

    #[wasm_bindgen]
    impl RawDeduplicator {
        /// Remembers up to `capacity` ids (default 100 000), each for 20 minutes.
        #[wasm_bindgen(constructor)]
        pub fn new(capacity: Option<f64>) -> Result<RawDeduplicator, JsValue> {
            let capacity = count("capacity", capacity).map_err(|e| thrown(describe(&e)))?;
            Ok(RawDeduplicator {
                inner: match capacity {
                    Some(n) => Deduplicator::with_capacity(n as usize),
                    None => Deduplicator::new(),
                },
            })
        }

        /// True the first time `message_id` is seen at `now_ms`.
        #[wasm_bindgen(js_name = firstTime)]
        pub fn first_time(&mut self, message_id: &str, now_ms: f64) -> Result<bool, JsValue> {
            let now_ms = super::epoch_ms("now", now_ms).map_err(|e| thrown(describe(&e)))?;
            Ok(self.inner.first_time(message_id, now_ms))
        }

        /// Forgets `message_id` (handling failed: let its next delivery through).
        pub fn forget(&mut self, message_id: &str) -> bool {
            self.inner.forget(message_id)
        }

        /// Ids remembered now.
        pub fn size(&self) -> u32 {
            self.inner.len() as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cre7-s3cre7";
    const NOW_MS: f64 = 1_700_000_000_000.0;
    const STAMP: &str = "2023-11-14T22:13:20Z";

    fn signed(message_type: &str, id: &str, stamp: &str, body: &str, secret: &str) -> String {
        let signature = eventsub::signature(&Secret::new(secret), id, stamp, body.as_bytes());
        json!([
            ["twitch-eventsub-message-id", id],
            ["twitch-eventsub-message-timestamp", stamp],
            ["twitch-eventsub-message-signature", signature],
            ["twitch-eventsub-message-type", message_type],
        ])
        .to_string()
    }

    const GRANTS: &str = r#"{"subscription":{"id":"s1","status":"enabled","type":"drop.entitlement.grant","version":"1","condition":{"organization_id":"o"},"transport":{"method":"webhook","callback":"https://x.test/cb"},"created_at":"c","cost":0},"events":[{"id":"ev1","data":{"organization_id":"o","category_id":"509658","category_name":"G","campaign_id":"k","user_id":"u","user_name":"U","user_login":"u","entitlement_id":"e1","benefit_id":"b","created_at":"2023-11-14T22:13:00Z"}}]}"#;

    #[test]
    fn a_notification_carries_grants_and_entitlements_in_camel_case() {
        let headers = signed("notification", "m1", STAMP, GRANTS, SECRET);
        let m = verify(&headers, GRANTS.as_bytes(), SECRET, NOW_MS).unwrap();
        assert_eq!(m["type"], "notification");
        assert_eq!(m["messageId"], "m1");
        assert_eq!(m["subscription"]["type"], "drop.entitlement.grant");
        assert_eq!(m["subscription"]["condition"]["organization_id"], "o");
        assert_eq!(
            m["subscription"]["transport"]["callback"],
            "https://x.test/cb"
        );
        assert_eq!(m["grants"][0]["entitlementId"], "e1");
        assert_eq!(m["grants"][0]["userLogin"], "u");
        assert_eq!(
            m["entitlements"],
            json!([{"id":"e1","benefitId":"b","timestamp":"2023-11-14T22:13:00Z","userId":"u",
                "gameId":"509658","fulfillmentStatus":"CLAIMED","lastUpdated":"2023-11-14T22:13:00Z"}])
        );
        assert_eq!(m["rawEvents"], Value::Null);
        let answer = respond(&m.to_string()).unwrap();
        assert_eq!(answer, json!({"status":204,"headers":{},"body":""}));
    }

    #[test]
    fn a_verification_is_answered_with_its_challenge() {
        let body = r#"{"challenge":"pogchamp","subscription":{"id":"s1","type":"drop.entitlement.grant"}}"#;
        let headers = signed("webhook_callback_verification", "m2", STAMP, body, SECRET);
        let m = verify(&headers, body.as_bytes(), SECRET, NOW_MS).unwrap();
        assert_eq!(
            (m["type"].as_str(), m["challenge"].as_str()),
            (Some("verification"), Some("pogchamp"))
        );
        let answer = respond(&m.to_string()).unwrap();
        assert_eq!(answer["status"], 200);
        assert_eq!(answer["body"], "pogchamp");
        assert_eq!(answer["headers"]["Content-Type"], "text/plain");
    }

    #[test]
    fn refusals_say_why_and_what_to_answer() {
        let bad = signed("notification", "m1", STAMP, GRANTS, "another-secret");
        let e = verify(&bad, GRANTS.as_bytes(), SECRET, NOW_MS).unwrap_err();
        assert_eq!(
            (e["kind"].as_str(), e["status"].as_u64()),
            (Some("EventSub"), Some(403))
        );
        assert_eq!(e["reason"], "badSignature");
        assert_eq!(e["response"]["status"], 403);

        let headers = signed("notification", "m1", STAMP, GRANTS, SECRET);
        let later = NOW_MS + 11.0 * 60.0 * 1000.0;
        let e = verify(&headers, GRANTS.as_bytes(), SECRET, later).unwrap_err();
        assert_eq!(
            (e["reason"].as_str(), e["status"].as_u64()),
            (Some("staleTimestamp"), Some(403))
        );

        let e = verify("[]", b"{}", SECRET, NOW_MS).unwrap_err();
        assert_eq!(
            (e["reason"].as_str(), e["status"].as_u64()),
            (Some("missingHeader"), Some(400))
        );

        let e = verify("{}", b"{}", SECRET, NOW_MS).unwrap_err();
        assert_eq!(
            (e["kind"].as_str(), e["field"].as_str()),
            (Some("InvalidInput"), Some("headers"))
        );
        let e = verify("[]", b"{}", SECRET, f64::NAN).unwrap_err();
        assert_eq!(e["field"], "now");
        assert!(respond(r#"{"type":"ping","messageId":"m"}"#).is_err());
    }

    #[test]
    fn subscribe_options_read_camel_case() {
        let s = subscribe_options(
            r#"{"organizationId":"o","categoryId":"509658","callback":"https://x.test/cb","secret":"0123456789"}"#,
        )
        .unwrap();
        assert_eq!(s.condition, DropGrantCondition::new("o").category("509658"));
        assert_eq!(s.callback, "https://x.test/cb");
        assert!(subscribe_options(r#"{"callback":"c","secret":"s"}"#).is_err());
    }
}
