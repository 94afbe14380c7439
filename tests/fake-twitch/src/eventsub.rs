//! EventSub on the fake: `drop.entitlement.grant` webhook subscriptions, their callback
//! verification, and signed, batched deliveries of new grants to a callback.
//!
//! Messages are shaped and signed as Twitch's are: HMAC-SHA256 under the subscription's
//! secret of message id + timestamp + body, sent as `Twitch-Eventsub-Message-Signature:
//! sha256=<hex>`. Deliveries go over plain HTTP to loopback callbacks only.

use std::fmt;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::clock::rfc3339_millis;
use crate::entitlement::{Entitlement, CLAIMED};
use crate::rng::{Rng, TOKEN_ALPHABET};
use crate::seed::{Seed, DEFAULT_GAME};
use crate::state::State;
use crate::webhook;

/// The organization that owns the fake's games, as it appears in grants.
pub const ORGANIZATION_ID: &str = "6f4d8c2a-3b1e-4a5f-9c7d-2e8b0a1f3c5d";

/// The only subscription type the fake knows.
pub(crate) const DROP_GRANT_TYPE: &str = "drop.entitlement.grant";
pub(crate) const DROP_GRANT_VERSION: &str = "1";

/// How far back a `stale` delivery's timestamp is set: past Twitch's 10-minute window.
const STALE_BY_SECS: i64 = 11 * 60;
/// Most grants one delivery may create.
pub(crate) const MAX_GRANTS_PER_DELIVERY: usize = 1000;

/// Salts keep the fake's generators apart from the seed's and from each other.
const GRANT_SALT: u64 = 0x6576_656e_7473_7562;
const SUBSCRIPTION_SALT: u64 = 0x7375_6273_6372_6962;

/// A delivery to make: the body of `POST /_fake/eventsub/deliver`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Delivery {
    /// Where to POST: `http://` to a loopback host.
    pub callback: String,
    /// The key to sign with (the subscription's secret).
    pub secret: String,
    /// How many new `CLAIMED` entitlements to create and send in one batched message
    /// (1..=1000; ignored with `replay`).
    pub count: usize,
    /// Send the last delivered message again: same message id, timestamp, body and
    /// entitlements, signed with `secret`. Nothing new is created.
    pub replay: bool,
    /// Date the message 11 minutes back (signed as such), which a receiver must refuse.
    pub stale: bool,
    /// Sign with another key, which a receiver must refuse.
    pub bad_signature: bool,
    /// Create the grants but never send the message (a push Twitch lost): the outcome's
    /// status is 0.
    pub lost: bool,
    /// Send a `revocation` of the callback's subscription with this status instead
    /// (`notification_failures_exceeded`, `authorization_revoked`…), and delete the
    /// subscription, as Twitch does; nothing is created.
    pub revoke: Option<String>,
}

impl Delivery {
    /// `count` new grants to `callback`, signed with `secret`, with no fault.
    pub fn new(callback: &str, secret: &str, count: usize) -> Delivery {
        Delivery {
            callback: callback.to_string(),
            secret: secret.to_string(),
            count,
            ..Delivery::default()
        }
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("callback", &self.callback)
            .field("secret", &"<redacted>")
            .field("count", &self.count)
            .field("replay", &self.replay)
            .field("stale", &self.stale)
            .field("bad_signature", &self.bad_signature)
            .field("lost", &self.lost)
            .field("revoke", &self.revoke)
            .finish()
    }
}

/// What a delivery sent and what the callback answered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliveryOutcome {
    /// The callback's HTTP status.
    pub status: u16,
    /// The callback's answer body (at most 64 KiB, lossily UTF-8).
    pub body: String,
    /// `Twitch-Eventsub-Message-Id` of the message sent.
    pub message_id: String,
    /// `Twitch-Eventsub-Message-Timestamp` of the message sent.
    pub timestamp: String,
    /// The entitlements the message granted, in its order (all in the store, `CLAIMED`
    /// when created).
    pub entitlement_ids: Vec<String>,
}

/// A webhook subscription as the fake holds it (without its secret).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventSubSubscription {
    /// Subscription id.
    pub id: String,
    /// `webhook_callback_verification_pending`, then `enabled` once the callback echoed
    /// the challenge, or `webhook_callback_verification_failed`.
    pub status: String,
    /// `drop.entitlement.grant`.
    #[serde(rename = "type")]
    pub subscription_type: String,
    /// `1`.
    pub version: String,
    /// As sent: `organization_id` and maybe `category_id`, `campaign_id`.
    pub condition: Value,
    /// The callback URL.
    pub callback: String,
    /// When it was created.
    pub created_at: String,
}

impl EventSubSubscription {
    /// The subscription object of Helix answers and webhook bodies.
    pub(crate) fn wire(&self) -> Value {
        json!({
            "id": self.id,
            "status": self.status,
            "type": self.subscription_type,
            "version": self.version,
            "condition": self.condition,
            "transport": { "method": "webhook", "callback": self.callback },
            "created_at": self.created_at,
            "cost": 0,
        })
    }
}

#[derive(Clone, Debug)]
struct Record {
    subscription: EventSubSubscription,
    secret: String,
}

/// A message as sent, kept for `replay`.
#[derive(Clone, Debug)]
struct Sent {
    message_id: String,
    timestamp: String,
    body: Bytes,
    entitlement_ids: Vec<String>,
}

/// The fake's EventSub state, inside [`State`]'s lock.
#[derive(Debug)]
pub(crate) struct EventSub {
    subscriptions: Vec<Record>,
    /// Subscriptions created but not yet sent their challenge.
    unverified: Vec<String>,
    /// Subscription ids and challenges; never reset, so ids stay unique.
    subscription_rng: Rng,
    grants: Grants,
    last: Option<Sent>,
}

/// What new grants are made of; drawn again from the seed on reset.
#[derive(Debug)]
struct Grants {
    rng: Rng,
    game: String,
    benefits: Vec<String>,
    users: Vec<String>,
    campaign_id: String,
    /// The subscription id used for a callback nobody subscribed.
    adhoc_subscription_id: String,
}

impl Grants {
    fn new(seed: &Seed) -> Grants {
        let mut rng = Rng::new(seed.rng_seed ^ GRANT_SALT);
        let game = seed
            .our_games()
            .into_iter()
            .next()
            .unwrap_or_else(|| DEFAULT_GAME.to_string());
        let benefits = seed
            .benefits()
            .into_iter()
            .find(|(g, _)| *g == game)
            .map(|(_, list)| list)
            .unwrap_or_else(|| (0..3).map(|_| rng.uuid()).collect());
        let campaign_id = rng.uuid();
        let adhoc_subscription_id = rng.uuid();
        Grants {
            rng,
            game,
            benefits,
            users: seed.user_ids(),
            campaign_id,
            adhoc_subscription_id,
        }
    }

    /// A new entitlement and its event (`{"id", "data"}`), granted at `now`.
    fn grant(&mut self, now: OffsetDateTime) -> (Entitlement, Value) {
        let id = self.rng.uuid();
        let event_id = self.rng.uuid();
        let user = self.users[self.rng.below(self.users.len() as u64) as usize].clone();
        let benefit = self.benefits[self.rng.below(self.benefits.len() as u64) as usize].clone();
        let at = rfc3339_millis(now);
        let event = json!({
            "id": event_id,
            "data": {
                "organization_id": ORGANIZATION_ID,
                "category_id": self.game,
                "category_name": format!("Fake Game {}", self.game),
                "campaign_id": self.campaign_id,
                "user_id": user,
                "user_name": format!("User{user}"),
                "user_login": format!("user{user}"),
                "entitlement_id": id,
                "benefit_id": benefit,
                "created_at": at,
            }
        });
        let entitlement = Entitlement {
            id,
            benefit_id: benefit,
            timestamp: at.clone(),
            user_id: user,
            game_id: self.game.clone(),
            fulfillment_status: CLAIMED.to_string(),
            last_updated: at,
        };
        (entitlement, event)
    }
}

impl EventSub {
    pub(crate) fn new(seed: &Seed) -> EventSub {
        EventSub {
            subscriptions: Vec::new(),
            unverified: Vec::new(),
            subscription_rng: Rng::new(seed.rng_seed ^ SUBSCRIPTION_SALT),
            grants: Grants::new(seed),
            last: None,
        }
    }

    /// After a store reset: grants are drawn anew from `seed` and the last message is
    /// forgotten; subscriptions stay, as tokens do.
    pub(crate) fn reseed(&mut self, seed: &Seed) {
        self.grants = Grants::new(seed);
        self.last = None;
    }

    pub(crate) fn subscriptions(&self) -> Vec<EventSubSubscription> {
        self.subscriptions
            .iter()
            .map(|r| r.subscription.clone())
            .collect()
    }

    /// True if a subscription of this type, version, condition and callback exists.
    pub(crate) fn exists(&self, s: &EventSubSubscription) -> bool {
        self.subscriptions.iter().any(|r| {
            let o = &r.subscription;
            o.subscription_type == s.subscription_type
                && o.version == s.version
                && o.condition == s.condition
                && o.callback == s.callback
        })
    }

    /// Records a new subscription, pending verification, and returns it.
    pub(crate) fn subscribe(
        &mut self,
        condition: Value,
        callback: String,
        secret: String,
    ) -> EventSubSubscription {
        let subscription = EventSubSubscription {
            id: self.subscription_rng.uuid(),
            status: "webhook_callback_verification_pending".to_string(),
            subscription_type: DROP_GRANT_TYPE.to_string(),
            version: DROP_GRANT_VERSION.to_string(),
            condition,
            callback,
            created_at: rfc3339_millis(OffsetDateTime::now_utc()),
        };
        self.unverified.push(subscription.id.clone());
        self.subscriptions.push(Record {
            subscription: subscription.clone(),
            secret,
        });
        subscription
    }

    fn set_status(&mut self, id: &str, status: &str) {
        if let Some(r) = self
            .subscriptions
            .iter_mut()
            .find(|r| r.subscription.id == id)
        {
            r.subscription.status = status.to_string();
        }
    }

    /// A new message id.
    pub(crate) fn message_id(&mut self) -> String {
        self.grants.rng.uuid()
    }

    /// The enabled subscriptions: each one's callback, secret and wire object.
    pub(crate) fn enabled(&self) -> Vec<(String, String, Value)> {
        self.subscriptions
            .iter()
            .filter(|r| r.subscription.status == "enabled")
            .map(|r| {
                (
                    r.subscription.callback.clone(),
                    r.secret.clone(),
                    r.subscription.wire(),
                )
            })
            .collect()
    }

    /// The subscription object for messages to `callback`: its subscription if one exists,
    /// else an ad-hoc enabled one.
    fn subscription_for(&self, callback: &str) -> Value {
        match self
            .subscriptions
            .iter()
            .rev()
            .find(|r| r.subscription.callback == callback)
        {
            Some(r) => r.subscription.wire(),
            None => EventSubSubscription {
                id: self.grants.adhoc_subscription_id.clone(),
                status: "enabled".to_string(),
                subscription_type: DROP_GRANT_TYPE.to_string(),
                version: DROP_GRANT_VERSION.to_string(),
                condition: json!({ "organization_id": ORGANIZATION_ID }),
                callback: callback.to_string(),
                created_at: "2025-01-01T00:00:00.000Z".to_string(),
            }
            .wire(),
        }
    }
}

impl crate::state::Inner {
    /// New CLAIMED grants, one claimed at each of `times`, put in the store: their ids and
    /// events.
    pub(crate) fn grant(&mut self, times: &[OffsetDateTime]) -> (Vec<String>, Vec<Value>) {
        let mut ids = Vec::with_capacity(times.len());
        let mut events = Vec::with_capacity(times.len());
        for &at in times {
            let (entitlement, event) = self.eventsub.grants.grant(at);
            ids.push(entitlement.id.clone());
            self.store.insert(entitlement);
            events.push(event);
        }
        (ids, events)
    }
}

/// `sha256=<hex>` of HMAC-SHA256(key, message id + timestamp + body).
pub(crate) fn sign(key: &str, message_id: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(message_id.as_bytes());
    mac.update(timestamp.as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Twitch's message timestamp: RFC 3339 in UTC with nanoseconds when there are any.
pub(crate) fn timestamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

pub(crate) fn message_headers(
    message_id: &str,
    timestamp: &str,
    signature: String,
    message_type: &str,
) -> Vec<(String, String)> {
    [
        ("Twitch-Eventsub-Message-Id", message_id.to_string()),
        ("Twitch-Eventsub-Message-Retry", "0".to_string()),
        ("Twitch-Eventsub-Message-Type", message_type.to_string()),
        ("Twitch-Eventsub-Message-Signature", signature),
        ("Twitch-Eventsub-Message-Timestamp", timestamp.to_string()),
        (
            "Twitch-Eventsub-Subscription-Type",
            DROP_GRANT_TYPE.to_string(),
        ),
        (
            "Twitch-Eventsub-Subscription-Version",
            DROP_GRANT_VERSION.to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Makes `delivery`: creates its grants in the store, then POSTs one signed notification.
/// Errors: `InvalidInput` (bad callback, secret or count), `NotFound` (a replay with
/// nothing sent before), or the connection's error.
pub(crate) async fn deliver(state: &State, delivery: &Delivery) -> io::Result<DeliveryOutcome> {
    let target = webhook::target(&delivery.callback).map_err(invalid)?;
    if delivery.secret.is_empty() {
        return Err(invalid("`secret` is empty".to_string()));
    }
    if let Some(status) = &delivery.revoke {
        let (message_id, body) = {
            let mut inner = state.lock();
            let mut subscription = inner.eventsub.subscription_for(&delivery.callback);
            subscription["status"] = json!(status);
            // Twitch deletes a subscription it revokes: the callback may subscribe again.
            inner
                .eventsub
                .subscriptions
                .retain(|r| r.subscription.callback != delivery.callback);
            let message_id = inner.eventsub.grants.rng.uuid();
            (
                message_id,
                Bytes::from(json!({ "subscription": subscription }).to_string()),
            )
        };
        let stamp = timestamp(OffsetDateTime::now_utc());
        let signature = sign(&delivery.secret, &message_id, &stamp, &body);
        let headers = message_headers(&message_id, &stamp, signature, "revocation");
        let answer = webhook::post(&target, &headers, body).await?;
        return Ok(DeliveryOutcome {
            status: answer.status,
            body: answer.body,
            message_id,
            timestamp: stamp,
            entitlement_ids: Vec::new(),
        });
    }
    let sent = {
        let mut inner = state.lock();
        if delivery.replay {
            inner.eventsub.last.clone().ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "no message was delivered yet")
            })?
        } else {
            if !(1..=MAX_GRANTS_PER_DELIVERY).contains(&delivery.count) {
                return Err(invalid(format!(
                    "`count` must be 1..={MAX_GRANTS_PER_DELIVERY}, not {}",
                    delivery.count
                )));
            }
            let now = OffsetDateTime::now_utc();
            let (entitlement_ids, events) = inner.grant(&vec![now; delivery.count]);
            let body = json!({
                "subscription": inner.eventsub.subscription_for(&delivery.callback),
                "events": events,
            });
            let sent = Sent {
                message_id: inner.eventsub.message_id(),
                timestamp: timestamp(now),
                body: Bytes::from(body.to_string()),
                entitlement_ids,
            };
            inner.eventsub.last = Some(sent.clone());
            sent
        }
    };

    let stamp = if delivery.stale {
        timestamp(OffsetDateTime::now_utc() - Duration::seconds(STALE_BY_SECS))
    } else {
        sent.timestamp.clone()
    };
    let key = if delivery.bad_signature {
        format!("{}-not-the-secret", delivery.secret)
    } else {
        delivery.secret.clone()
    };
    if delivery.lost {
        return Ok(DeliveryOutcome {
            status: 0,
            body: String::new(),
            message_id: sent.message_id,
            timestamp: stamp,
            entitlement_ids: sent.entitlement_ids,
        });
    }
    let signature = sign(&key, &sent.message_id, &stamp, &sent.body);
    let headers = message_headers(&sent.message_id, &stamp, signature, "notification");
    let answer = webhook::post(&target, &headers, sent.body.clone()).await?;
    Ok(DeliveryOutcome {
        status: answer.status,
        body: answer.body,
        message_id: sent.message_id,
        timestamp: stamp,
        entitlement_ids: sent.entitlement_ids,
    })
}

/// Sends each new subscription its `webhook_callback_verification` challenge and enables
/// the ones whose callback answers 2xx with the challenge as its whole body. A callback the
/// fake cannot reach (not loopback http) stays pending.
pub(crate) async fn verify_new_subscriptions(state: Arc<State>) {
    let pending: Vec<_> = {
        let mut inner = state.lock();
        let ids = std::mem::take(&mut inner.eventsub.unverified);
        let eventsub = &mut inner.eventsub;
        ids.into_iter()
            .filter_map(|id| {
                let record = eventsub
                    .subscriptions
                    .iter()
                    .find(|r| r.subscription.id == id)?
                    .clone();
                let challenge = eventsub.subscription_rng.string(32, TOKEN_ALPHABET);
                let message_id = eventsub.subscription_rng.uuid();
                Some((record, challenge, message_id))
            })
            .collect()
    };
    for (record, challenge, message_id) in pending {
        let Ok(target) = webhook::target(&record.subscription.callback) else {
            continue;
        };
        let body = json!({
            "challenge": challenge,
            "subscription": record.subscription.wire(),
        })
        .to_string();
        let stamp = timestamp(OffsetDateTime::now_utc());
        let signature = sign(&record.secret, &message_id, &stamp, body.as_bytes());
        let headers = message_headers(
            &message_id,
            &stamp,
            signature,
            "webhook_callback_verification",
        );
        let status = match webhook::post(&target, &headers, Bytes::from(body)).await {
            Ok(answer) if (200..300).contains(&answer.status) && answer.body == challenge => {
                "enabled"
            }
            _ => "webhook_callback_verification_failed",
        };
        state
            .lock()
            .eventsub
            .set_status(&record.subscription.id, status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    #[test]
    fn signature_is_hmac_sha256_of_id_timestamp_body() {
        assert_eq!(
            sign("Jefe", "what do ya", " want ", b"for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn same_seed_same_grants() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut a = Grants::new(&Seed::standard());
        let mut b = Grants::new(&Seed::standard());
        for _ in 0..5 {
            assert_eq!(a.grant(now), b.grant(now));
        }
        let (e, event) = a.grant(now);
        assert_eq!(e.fulfillment_status, CLAIMED);
        assert_eq!(event["data"]["entitlement_id"], e.id.as_str());
        assert!(Seed::standard().user_ids().contains(&e.user_id));
    }
}
