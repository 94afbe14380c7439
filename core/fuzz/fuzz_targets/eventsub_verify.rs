//! `eventsub::verify` with fuzzed headers, body, secret and clock. Never panics; accepts a
//! message only when its signature was made with the secret; refuses a correctly signed
//! message only for its timestamp, type or body, never its signature; what it accepts can
//! be answered, mapped to entitlements and deduplicated.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use twitch_drops::eventsub::{self, EventSubError, Message};
use twitch_drops::{Deduplicator, Secret};
use twitch_drops_fuzz::{any_json, body, number, perturb, pick, rare, text, NOW_MS};

fn grant(u: &mut Unstructured, i: usize) -> Value {
    let data = json!({
        "organization_id": "org1",
        "category_id": "509658",
        "category_name": "Game",
        "campaign_id": "camp1",
        "user_id": text(u, &["141981764"]),
        "user_name": "viewer",
        "user_login": "viewer",
        "entitlement_id": text(u, &["fb78259e-fb81-4d1b-8333-34a06ffc24c0"]),
        "benefit_id": "74c52265-e214-48a6-91b9-23b6014e8041",
        "created_at": "2023-11-14T22:13:19Z",
    });
    json!({ "id": format!("event-{i}"), "data": perturb(u, data) })
}

fn subscription(u: &mut Unstructured) -> Value {
    json!({
        "id": "sub1",
        "status": text(u, &["enabled", "authorization_revoked"]),
        "type": text(u, &["drop.entitlement.grant", "channel.follow"]),
        "version": "1",
        "condition": { "organization_id": "org1" },
        "transport": { "method": "webhook", "callback": "https://cb.example.com/webhook" },
        "created_at": "2023-11-14T22:00:00Z",
        "cost": number(u),
    })
}

fn message_body(u: &mut Unstructured, kind: &str) -> Vec<u8> {
    body(u, |u| match kind {
        "webhook_callback_verification" => {
            json!({ "challenge": text(u, &["pogchamp-kappa"]), "subscription": subscription(u) })
        }
        "revocation" => json!({ "subscription": subscription(u) }),
        _ => {
            let n = u.int_in_range(0..=5usize).unwrap_or(1);
            let events: Vec<Value> = (0..n).map(|i| grant(u, i)).collect();
            if rare(u, 4) {
                json!({ "subscription": subscription(u), "event": events.first().cloned().unwrap_or(any_json(u, 2)) })
            } else {
                json!({ "subscription": subscription(u), "events": events })
            }
        }
    })
}

/// A header name in the case Twitch sends it, or another case (names are case-insensitive).
fn name(u: &mut Unstructured, canonical: &str) -> String {
    match u.int_in_range(0..=2u8).unwrap_or(0) {
        0 => canonical.to_string(),
        1 => canonical.to_ascii_lowercase(),
        _ => canonical.to_ascii_uppercase(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let u = &mut u;
    let secret = Secret::new(text(u, &["s3cre7-s3cre7", "0123456789", ""]));
    let message_id = text(u, &["befa7b53-d79d-478f-86b9-120f112b044e", ""]);
    let timestamp = text(
        u,
        &[
            "2023-11-14T22:13:20Z",
            "2023-11-14T22:13:19.123456789Z",
            "2023-11-14T22:03:19Z",
            "2023-11-14T22:23:21Z",
            "2023-11-14T23:13:20+01:00",
            "9999-12-31T23:59:59Z",
            "0000-01-01T00:00:00Z",
            "2023-11-14 22:13:20",
        ],
    );
    let kind = text(
        u,
        &[
            "notification",
            "webhook_callback_verification",
            "revocation",
        ],
    );
    let body = message_body(u, &kind);
    let now_ms = if rare(u, 8) {
        u.arbitrary().unwrap_or(0)
    } else {
        NOW_MS
    };

    // The signature over what `verify` reads (header values without surrounding spaces).
    let good = eventsub::signature(&secret, message_id.trim(), timestamp.trim(), &body);
    let signed = !rare(u, 4);
    let signature = if signed {
        if rare(u, 6) {
            good.to_ascii_uppercase().replacen("SHA256=", "sha256=", 1)
        } else {
            good.clone()
        }
    } else {
        let other = Secret::new(text(u, &["another-secret"]));
        let forged = eventsub::signature(&other, message_id.trim(), timestamp.trim(), &body);
        text(
            u,
            &[
                forged.as_str(),
                "sha256=",
                "sha256=zz",
                "",
                &good[..good.len() - 2],
            ],
        )
    };

    let mut headers: Vec<(String, String)> = Vec::new();
    let mut complete = true;
    for (canonical, value) in [
        (eventsub::HEADER_MESSAGE_ID, message_id.clone()),
        (eventsub::HEADER_MESSAGE_TIMESTAMP, timestamp.clone()),
        (eventsub::HEADER_MESSAGE_SIGNATURE, signature.clone()),
        (eventsub::HEADER_MESSAGE_TYPE, kind.clone()),
    ] {
        if rare(u, 16) {
            complete = false;
        } else {
            headers.push((name(u, canonical), value));
        }
    }
    if rare(u, 4) {
        headers.push((
            name(u, eventsub::HEADER_SUBSCRIPTION_TYPE),
            "drop.entitlement.grant".into(),
        ));
    }
    if rare(u, 8) {
        // Shuffle: order must not matter (the first of a repeated name counts).
        headers.reverse();
    }

    let result = eventsub::verify(&headers, &body, &secret, now_ms);
    match result {
        Ok(message) => {
            assert!(
                signature.trim().eq_ignore_ascii_case(&good),
                "accepted a message not signed with the secret: {signature:?} vs {good:?}"
            );
            assert_eq!(message.message_id(), message_id.trim());
            let answer = eventsub::respond(&message);
            match &message {
                Message::Verification { challenge, .. } => {
                    assert_eq!(answer.status, 200);
                    assert_eq!(answer.body, challenge.as_bytes());
                }
                _ => assert_eq!(answer.status, 204),
            }
            let entitlements = message.entitlements();
            let _ = (
                message.subscription(),
                format!("{message:?}"),
                entitlements.len(),
            );
            let mut seen = Deduplicator::with_capacity(*pick(u, &[&100usize, &1, &0]));
            assert!(seen.first_time(message.message_id(), now_ms));
            assert!(!seen.first_time(message.message_id(), now_ms));
            assert!(seen.forget(message.message_id()));
        }
        Err(refused) => {
            if signed && complete {
                assert_ne!(
                    refused,
                    EventSubError::BadSignature,
                    "a good signature was refused"
                );
            }
            let answer = refused.response();
            assert!(answer.status == 400 || answer.status == 403);
            let _ = format!("{refused} {refused:?}");
        }
    }
});
