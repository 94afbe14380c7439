//! EventSub webhooks: signature vectors (valid, bad signature, stale timestamp, replayed
//! id, missing headers, malformed bodies), the verification challenge and revocations,
//! grants as entitlements, the subscription request, and end to end against the fake
//! Twitch's signed deliveries.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use fake_twitch::{Delivery, FakeConfig, FakeTwitch, Seed, CLAIMED, ORGANIZATION_ID};
use hmac::{Hmac, Mac};
use mockito::{Matcher, Server};
use serde_json::{json, Value};
use sha2::Sha256;
use twitch_drops::eventsub::{
    self, Deduplicator, DropGrantCondition, EntitlementGrant, EventSubError, Events, Message,
};
use twitch_drops::webhook::{self, DeliveryLog};
use twitch_drops::{
    Client, Clock, Config, Credentials, Entitlement, Error, FulfillmentStatus, HttpResponse,
    Secret, SystemClock, UreqTransport,
};

const SECRET: &str = "s3cre7-s3cre7-s3cre7";
const MESSAGE_ID: &str = "e76c6bd4-55c9-4987-8304-da1588d8988b";
/// [`NOW_MS`] plus 634 ms, with nanoseconds as Twitch writes them.
const TIMESTAMP: &str = "2023-11-14T22:13:20.634234626Z";

/// A batched `drop.entitlement.grant` notification with one event, as Twitch sends it.
const GRANT_BODY: &str = r#"{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"enabled","type":"drop.entitlement.grant","version":"1","condition":{"organization_id":"9001","category_id":"509658"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2023-11-01T10:00:00.000Z","cost":0},"events":[{"id":"bf7c8577-e3e3-4c8a-8b7b-2a9f1b3f0c1d","data":{"organization_id":"9001","category_id":"509658","category_name":"Fortnite","campaign_id":"943d8e4a-7d7c-4d9d-9f0b-4a8c1b2d3e4f","user_id":"1234","user_name":"Cool_User","user_login":"cool_user","entitlement_id":"fb78259e-fb81-4d1b-8333-34a06ffc24c0","benefit_id":"74c52265-e214-48a6-91b9-23b6014e8041","created_at":"2023-11-14T22:13:19.000Z"}}]}"#;
/// HMAC-SHA256(SECRET, MESSAGE_ID + TIMESTAMP + GRANT_BODY), computed outside Rust
/// (Python's `hmac` module).
const GRANT_SIGNATURE: &str =
    "sha256=6e90a79fe02c234517a5b22bbdda1fff6ca15da9db45935288d4573177eebeda";

const MINUTE_MS: u64 = 60_000;

fn secret() -> Secret {
    Secret::new(SECRET)
}

/// `sha256=<hex>` computed with the hmac crate directly, not through the library.
fn hmac_hex(secret: &str, message_id: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message_id.as_bytes());
    mac.update(timestamp.as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn headers_for(
    message_type: &str,
    message_id: &str,
    timestamp: &str,
    signature: &str,
) -> Vec<(String, String)> {
    [
        ("Twitch-Eventsub-Message-Id", message_id),
        ("Twitch-Eventsub-Message-Retry", "0"),
        ("Twitch-Eventsub-Message-Type", message_type),
        ("Twitch-Eventsub-Message-Signature", signature),
        ("Twitch-Eventsub-Message-Timestamp", timestamp),
        (
            "Twitch-Eventsub-Subscription-Type",
            "drop.entitlement.grant",
        ),
        ("Twitch-Eventsub-Subscription-Version", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Headers of a well-signed message.
fn signed(message_type: &str, timestamp: &str, body: &str) -> Vec<(String, String)> {
    let signature = hmac_hex(SECRET, MESSAGE_ID, timestamp, body.as_bytes());
    headers_for(message_type, MESSAGE_ID, timestamp, &signature)
}

fn verify_at(
    headers: &[(String, String)],
    body: &str,
    now_ms: u64,
) -> Result<Message, EventSubError> {
    eventsub::verify(headers, body.as_bytes(), &secret(), now_ms)
}

fn grants(message: &Message) -> &[EntitlementGrant] {
    match message {
        Message::Notification {
            events: Events::DropGrants(grants),
            ..
        } => grants,
        other => panic!("not a grant notification: {other:?}"),
    }
}

// ---- signature vectors ------------------------------------------------------------------

#[test]
fn a_known_vector_verifies_and_parses_every_field() {
    let headers = headers_for("notification", MESSAGE_ID, TIMESTAMP, GRANT_SIGNATURE);

    let message = verify_at(&headers, GRANT_BODY, NOW_MS + 5_000).unwrap();

    assert_eq!(message.message_id(), MESSAGE_ID);
    let subscription = message.subscription();
    assert_eq!(subscription.id, "f1c2a387-161a-49f9-a165-0f21d7a4e1c4");
    assert_eq!(subscription.subscription_type, "drop.entitlement.grant");
    assert_eq!(subscription.status, "enabled");
    assert_eq!(subscription.condition["category_id"], "509658");
    assert_eq!(
        subscription.transport.callback.as_deref(),
        Some("https://example.com/webhooks/callback")
    );
    assert_eq!(
        grants(&message),
        [EntitlementGrant {
            event_id: "bf7c8577-e3e3-4c8a-8b7b-2a9f1b3f0c1d".into(),
            organization_id: "9001".into(),
            category_id: "509658".into(),
            category_name: "Fortnite".into(),
            campaign_id: "943d8e4a-7d7c-4d9d-9f0b-4a8c1b2d3e4f".into(),
            user_id: "1234".into(),
            user_name: "Cool_User".into(),
            user_login: "cool_user".into(),
            entitlement_id: "fb78259e-fb81-4d1b-8333-34a06ffc24c0".into(),
            benefit_id: "74c52265-e214-48a6-91b9-23b6014e8041".into(),
            created_at: "2023-11-14T22:13:19.000Z".into(),
        }]
    );
    let answer = eventsub::respond(&message);
    assert_eq!(answer.status, 204);
    assert!(answer.body.is_empty());
}

#[test]
fn signature_helper_matches_an_independent_hmac() {
    assert_eq!(
        eventsub::signature(&secret(), MESSAGE_ID, TIMESTAMP, GRANT_BODY.as_bytes()),
        GRANT_SIGNATURE
    );
    assert_eq!(
        eventsub::signature(&secret(), "a", "b", b"c"),
        hmac_hex(SECRET, "a", "b", b"c")
    );
}

#[test]
fn a_batch_of_grants_becomes_claimed_entitlements() {
    let events: Vec<Value> = (0..3)
        .map(|i| {
            json!({"id": format!("event-{i}"), "data": {
                "organization_id": "9001", "category_id": format!("game-{i}"),
                "category_name": "G", "campaign_id": "c", "user_id": format!("user-{i}"),
                "user_name": "U", "user_login": "u", "entitlement_id": format!("ent-{i}"),
                "benefit_id": format!("benefit-{i}"),
                "created_at": format!("2023-11-14T22:0{i}:00Z"),
            }})
        })
        .collect();
    let body = json!({
        "subscription": {"id": "s", "type": "drop.entitlement.grant", "version": "1",
                         "status": "enabled", "condition": {"organization_id": "9001"},
                         "transport": {"method": "webhook", "callback": "https://x/y"},
                         "created_at": "2023-11-01T00:00:00Z", "cost": 0},
        "events": events,
    })
    .to_string();
    let message = verify_at(&signed("notification", TIMESTAMP, &body), &body, NOW_MS).unwrap();

    let mapped = eventsub::entitlements(grants(&message));
    assert_eq!(mapped, message.entitlements());
    assert_eq!(mapped.len(), 3);
    for (i, e) in mapped.iter().enumerate() {
        assert_eq!(
            *e,
            Entitlement {
                id: format!("ent-{i}").into(),
                benefit_id: format!("benefit-{i}").into(),
                timestamp: format!("2023-11-14T22:0{i}:00Z").into(),
                user_id: format!("user-{i}").into(),
                game_id: format!("game-{i}").into(),
                fulfillment_status: FulfillmentStatus::Claimed,
                last_updated: format!("2023-11-14T22:0{i}:00Z").into(),
            }
        );
    }
    assert_eq!(grants(&message)[2].entitlement(), mapped[2]);
}

#[test]
fn a_single_unbatched_event_is_read_too() {
    let body = r#"{"subscription":{"id":"s","type":"drop.entitlement.grant","version":"1"},"event":{"id":"ev","data":{"user_id":"u","entitlement_id":"e","benefit_id":"b","category_id":"g","created_at":"2023-11-14T22:13:19Z"}}}"#;
    let message = verify_at(&signed("notification", TIMESTAMP, body), body, NOW_MS).unwrap();
    assert_eq!(message.entitlements().len(), 1);
    assert_eq!(message.entitlements()[0].id, "e");
}

#[test]
fn a_tampered_message_or_a_wrong_secret_is_a_bad_signature() {
    let headers = headers_for("notification", MESSAGE_ID, TIMESTAMP, GRANT_SIGNATURE);
    let now = NOW_MS;
    let tampered = GRANT_BODY.replace("\"user_id\":\"1234\"", "\"user_id\":\"6666\"");
    assert_eq!(
        verify_at(&headers, &tampered, now),
        Err(EventSubError::BadSignature)
    );
    assert_eq!(
        eventsub::verify(
            &headers,
            GRANT_BODY.as_bytes(),
            &Secret::new("another-secret"),
            now
        ),
        Err(EventSubError::BadSignature)
    );
    // The id and the timestamp are signed too.
    let other_id = headers_for("notification", "another-id", TIMESTAMP, GRANT_SIGNATURE);
    assert_eq!(
        verify_at(&other_id, GRANT_BODY, now),
        Err(EventSubError::BadSignature)
    );
    let other_time = headers_for(
        "notification",
        MESSAGE_ID,
        "2023-11-14T22:13:21.634234626Z",
        GRANT_SIGNATURE,
    );
    assert_eq!(
        verify_at(&other_time, GRANT_BODY, now),
        Err(EventSubError::BadSignature)
    );

    let hex = GRANT_SIGNATURE.trim_start_matches("sha256=");
    let bad_forms = [
        hex.to_string(),                    // no prefix
        format!("sha1={hex}"),              // another algorithm
        format!("sha256={}", &hex[..62]),   // truncated
        format!("sha256={}zz", &hex[..62]), // not hex
        format!("sha256={hex}00"),          // too long
        "sha256=".to_string(),              // empty
        format!("sha256={}0", &hex[..63]),  // one nibble off
    ];
    for signature in bad_forms {
        let headers = headers_for("notification", MESSAGE_ID, TIMESTAMP, &signature);
        let refused = verify_at(&headers, GRANT_BODY, now).unwrap_err();
        assert_eq!(refused, EventSubError::BadSignature, "{signature}");
        assert_eq!(refused.http_status(), 403);
    }
    // Upper-case hex is the same digest.
    let upper = format!("sha256={}", hex.to_uppercase());
    let headers = headers_for("notification", MESSAGE_ID, TIMESTAMP, &upper);
    assert!(verify_at(&headers, GRANT_BODY, now).is_ok());
}

#[test]
fn a_message_older_than_ten_minutes_is_stale() {
    let headers = headers_for("notification", MESSAGE_ID, TIMESTAMP, GRANT_SIGNATURE);
    let sent_ms = NOW_MS + 634;

    assert!(verify_at(&headers, GRANT_BODY, sent_ms + 10 * MINUTE_MS).is_ok());
    let refused = verify_at(&headers, GRANT_BODY, sent_ms + 11 * MINUTE_MS).unwrap_err();
    assert_eq!(
        refused,
        EventSubError::StaleTimestamp {
            timestamp: TIMESTAMP.into(),
            age_ms: 11 * MINUTE_MS as i64,
        }
    );
    assert_eq!(refused.http_status(), 403);
    assert!(refused.to_string().contains("660s old"), "{refused}");
    assert!(matches!(
        verify_at(&headers, GRANT_BODY, sent_ms + 10 * MINUTE_MS + 1),
        Err(EventSubError::StaleTimestamp { .. })
    ));

    // Far in the future is refused too; a little ahead is clock skew.
    assert!(verify_at(&headers, GRANT_BODY, sent_ms - MINUTE_MS).is_ok());
    let ahead = verify_at(&headers, GRANT_BODY, sent_ms - 11 * MINUTE_MS).unwrap_err();
    assert!(
        matches!(ahead, EventSubError::StaleTimestamp { age_ms, .. } if age_ms == -(11 * MINUTE_MS as i64))
    );
    assert!(ahead.to_string().contains("future"), "{ahead}");

    // Offsets other than Z are the same instant.
    let body = GRANT_BODY;
    let plus_one = "2023-11-14T23:13:20.634234626+01:00";
    assert!(verify_at(&signed("notification", plus_one, body), body, sent_ms).is_ok());
}

#[test]
fn a_timestamp_that_is_not_rfc_3339_is_malformed() {
    for timestamp in ["1700000000", "2023-11-14 22:13:20", "yesterday", ""] {
        let headers = signed("notification", timestamp, GRANT_BODY);
        let refused = verify_at(&headers, GRANT_BODY, NOW_MS).unwrap_err();
        assert_eq!(refused, EventSubError::BadTimestamp(timestamp.into()));
        assert_eq!(refused.http_status(), 400);
    }
}

#[test]
fn a_replayed_message_id_is_seen_once() {
    let headers = headers_for("notification", MESSAGE_ID, TIMESTAMP, GRANT_SIGNATURE);
    let mut seen = Deduplicator::new();
    let mut granted = Vec::new();
    for delivery in 0..3u64 {
        let now = NOW_MS + delivery * MINUTE_MS;
        let message = verify_at(&headers, GRANT_BODY, now).expect("a replay verifies");
        if seen.first_time(message.message_id(), now) {
            granted.extend(message.entitlements());
        }
        // Every delivery is answered 2xx, so Twitch stops resending.
        assert_eq!(eventsub::respond(&message).status, 204);
    }
    assert_eq!(granted.len(), 1);
    assert_eq!(seen.len(), 1);
    assert!(seen.first_time("another-message", NOW_MS));

    // A handler that failed forgets the id, so Twitch's next attempt goes through.
    assert!(seen.forget(MESSAGE_ID));
    assert!(seen.first_time(MESSAGE_ID, NOW_MS + 4 * MINUTE_MS));

    // Past its window (longer than a message stays fresh) an id is forgotten.
    let mut seen = Deduplicator::new();
    assert!(seen.first_time(MESSAGE_ID, NOW_MS));
    assert!(!seen.first_time(MESSAGE_ID, NOW_MS + 19 * MINUTE_MS));
    const { assert!(Deduplicator::WINDOW_MS > eventsub::MAX_MESSAGE_AGE_MS) };
    assert!(seen.first_time(MESSAGE_ID, NOW_MS + Deduplicator::WINDOW_MS));

    // Memory is bounded.
    let mut seen = Deduplicator::with_capacity(100);
    for i in 0..1000 {
        assert!(seen.first_time(&format!("m{i}"), NOW_MS));
    }
    assert_eq!(seen.len(), 100);
    assert!(!seen.first_time("m999", NOW_MS));
}

#[test]
fn each_missing_header_is_named() {
    let full = headers_for("notification", MESSAGE_ID, TIMESTAMP, GRANT_SIGNATURE);
    for name in [
        eventsub::HEADER_MESSAGE_ID,
        eventsub::HEADER_MESSAGE_TIMESTAMP,
        eventsub::HEADER_MESSAGE_SIGNATURE,
        eventsub::HEADER_MESSAGE_TYPE,
    ] {
        let without: Vec<_> = full.iter().filter(|(k, _)| k != name).cloned().collect();
        let refused = verify_at(&without, GRANT_BODY, NOW_MS).unwrap_err();
        assert_eq!(refused, EventSubError::MissingHeader(name));
        assert_eq!(refused.http_status(), 400);
        assert!(refused.to_string().contains(name));
    }
    // Names match in any case; the subscription headers are optional; &str pairs work.
    let lower: Vec<(String, &str)> = full
        .iter()
        .filter(|(k, _)| !k.contains("Subscription"))
        .map(|(k, v)| (k.to_lowercase(), v.as_str()))
        .collect();
    assert!(eventsub::verify(&lower, GRANT_BODY.as_bytes(), &secret(), NOW_MS).is_ok());
}

#[test]
fn malformed_bodies_and_unknown_types_are_400() {
    let cases: [(&str, &str); 6] = [
        ("notification", "not json"),
        ("notification", r#"{"events":[]}"#),
        (
            "notification",
            r#"{"subscription":{"id":"s","type":"drop.entitlement.grant"}}"#,
        ),
        (
            "notification",
            r#"{"subscription":{"id":"s","type":"drop.entitlement.grant"},"events":[{"id":"e","data":{"user_id":"u"}}]}"#,
        ),
        (
            "webhook_callback_verification",
            r#"{"subscription":{"id":"s","type":"t"}}"#,
        ),
        ("revocation", "[]"),
    ];
    for (message_type, body) in cases {
        let refused = verify_at(&signed(message_type, TIMESTAMP, body), body, NOW_MS).unwrap_err();
        assert!(
            matches!(refused, EventSubError::Malformed { .. }),
            "{message_type} {body}: {refused:?}"
        );
        assert_eq!(refused.http_status(), 400);
        let answer = refused.response();
        assert_eq!(answer.status, 400);
        assert!(String::from_utf8_lossy(&answer.body).contains("could not read"));
    }
    let refused = verify_at(&signed("heartbeat", TIMESTAMP, "{}"), "{}", NOW_MS).unwrap_err();
    assert_eq!(
        refused,
        EventSubError::UnknownMessageType("heartbeat".into())
    );
    assert_eq!(refused.http_status(), 400);

    // A bad signature is found before the body is read.
    let refused = verify_at(
        &headers_for("notification", MESSAGE_ID, TIMESTAMP, GRANT_SIGNATURE),
        "not json",
        NOW_MS,
    )
    .unwrap_err();
    assert_eq!(refused, EventSubError::BadSignature);
    assert_eq!(refused.response().status, 403);
}

#[test]
fn a_verification_is_answered_with_the_raw_challenge() {
    let body = r#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387","status":"webhook_callback_verification_pending","type":"drop.entitlement.grant","version":"1","cost":0,"condition":{"organization_id":"9001"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2023-11-14T22:13:00.000Z"}}"#;
    let message = verify_at(
        &signed("webhook_callback_verification", TIMESTAMP, body),
        body,
        NOW_MS,
    )
    .unwrap();

    assert!(matches!(
        &message,
        Message::Verification { challenge, .. } if challenge == "pogchamp-kappa-360noscope-vohiyo"
    ));
    assert_eq!(
        message.subscription().status,
        "webhook_callback_verification_pending"
    );
    assert!(message.entitlements().is_empty());
    let answer = eventsub::respond(&message);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("text/plain"));
    assert_eq!(answer.body, b"pogchamp-kappa-360noscope-vohiyo");
}

#[test]
fn a_revocation_says_why() {
    let body = r#"{"subscription":{"id":"f1c2a387","status":"authorization_revoked","type":"drop.entitlement.grant","version":"1","cost":0,"condition":{"organization_id":"9001"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2023-11-14T22:13:00.000Z"}}"#;
    let message = verify_at(&signed("revocation", TIMESTAMP, body), body, NOW_MS).unwrap();
    match &message {
        Message::Revocation {
            message_id,
            subscription,
        } => {
            assert_eq!(message_id, MESSAGE_ID);
            assert_eq!(subscription.status, "authorization_revoked");
            assert_eq!(subscription.id, "f1c2a387");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(eventsub::respond(&message).status, 204);
}

#[test]
fn other_subscription_types_are_passed_through_unread() {
    let body = r#"{"subscription":{"id":"s","type":"channel.follow","version":"2"},"event":{"user_id":"1"}}"#;
    let message = verify_at(&signed("notification", TIMESTAMP, body), body, NOW_MS).unwrap();
    match &message {
        Message::Notification {
            events: Events::Other(rest),
            ..
        } => assert_eq!(rest["event"]["user_id"], "1"),
        other => panic!("{other:?}"),
    }
    assert!(message.entitlements().is_empty());
}

// ---- the subscription request -----------------------------------------------------------

const CALLBACK: &str = "https://studio.example.com/twitch/eventsub";
const SUBSCRIBE_PATH: &str = "/helix/eventsub/subscriptions";

fn subscription_answer() -> String {
    json!({
        "data": [{
            "id": "26b1c993-bfcf-44d9-b876-379dacafe75a",
            "status": "webhook_callback_verification_pending",
            "type": "drop.entitlement.grant",
            "version": "1",
            "condition": {"organization_id": "9001", "category_id": "509658"},
            "created_at": "2023-11-14T22:13:20.000Z",
            "transport": {"method": "webhook", "callback": CALLBACK},
            "cost": 0
        }],
        "total": 1, "total_cost": 0, "max_total_cost": 10000
    })
    .to_string()
}

#[test]
fn subscribing_posts_a_batched_webhook_subscription_with_an_app_token() {
    let mut server = Server::new();
    let mock = server
        .mock("POST", SUBSCRIBE_PATH)
        .match_header("client-id", CLIENT_ID)
        .match_header("authorization", bearer(TOKEN).as_str())
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(json!({
            "type": "drop.entitlement.grant",
            "version": "1",
            "condition": {"organization_id": "9001", "category_id": "509658"},
            "transport": {"method": "webhook", "callback": CALLBACK, "secret": SECRET},
            "is_batching_enabled": true,
        })))
        .with_status(202)
        .with_header("content-type", "application/json")
        .with_body(subscription_answer())
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);
    let condition = DropGrantCondition::new("9001").category("509658");

    let operation =
        eventsub::subscription_request(client.config(), &condition, CALLBACK, &secret()).unwrap();
    assert!(!format!("{operation:?}").contains(SECRET));
    let subscription = client.run(operation).unwrap();

    mock.assert();
    assert_eq!(subscription.id, "26b1c993-bfcf-44d9-b876-379dacafe75a");
    assert_eq!(subscription.status, "webhook_callback_verification_pending");
    assert_eq!(subscription.subscription_type, "drop.entitlement.grant");
    assert_eq!(subscription.version, "1");
    assert_eq!(subscription.condition["organization_id"], "9001");
    assert_eq!(subscription.transport.callback.as_deref(), Some(CALLBACK));
    assert_eq!(subscription.created_at, "2023-11-14T22:13:20.000Z");
    assert!(!format!("{subscription:?}").contains(SECRET));
}

#[test]
fn the_campaign_condition_and_a_bare_organization_are_encoded() {
    let mut server = Server::new();
    let bare = server
        .mock("POST", SUBSCRIBE_PATH)
        .match_body(Matcher::PartialJson(
            json!({"condition": {"organization_id": "9001"}}),
        ))
        .with_status(202)
        .with_body(subscription_answer())
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);
    let op = eventsub::subscription_request(
        client.config(),
        &DropGrantCondition::new("9001"),
        CALLBACK,
        &secret(),
    )
    .unwrap();
    client.run(op).unwrap();
    bare.assert();
    server.reset();

    let campaign = server
        .mock("POST", SUBSCRIBE_PATH)
        .match_body(Matcher::PartialJson(json!({"condition": {
            "organization_id": "9001", "category_id": "g", "campaign_id": "c"
        }})))
        .with_status(202)
        .with_body(subscription_answer())
        .expect(1)
        .create();
    let condition = DropGrantCondition::new("9001").category("g").campaign("c");
    let op =
        eventsub::subscription_request(client.config(), &condition, CALLBACK, &secret()).unwrap();
    client.run(op).unwrap();
    campaign.assert();
}

#[test]
fn a_conflict_and_an_empty_answer_are_errors() {
    let mut server = Server::new();
    let conflict = server
        .mock("POST", SUBSCRIBE_PATH)
        .with_status(409)
        .with_body(r#"{"error":"Conflict","status":409,"message":"subscription already exists"}"#)
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);
    let condition = DropGrantCondition::new("9001");
    let op =
        eventsub::subscription_request(client.config(), &condition, CALLBACK, &secret()).unwrap();
    let error = client.run(op).unwrap_err();
    conflict.assert();
    assert_eq!(error.status(), Some(409));
    assert_eq!(error.twitch_message(), Some("subscription already exists"));

    assert!(matches!(
        eventsub::parse_subscription(&HttpResponse::new(202, r#"{"data":[]}"#)),
        Err(Error::Decode { .. })
    ));
    assert!(matches!(
        eventsub::parse_subscription(&HttpResponse::new(202, "<html>")),
        Err(Error::Decode { .. })
    ));
}

#[test]
fn subscription_input_is_checked_before_sending() {
    let config = Config::new(CLIENT_ID, Credentials::ClientSecret("cs".into()));
    let ok = DropGrantCondition::new("9001");
    let field = |result: Result<_, Error>| match result {
        Err(Error::InvalidInput { field, reason }) => {
            assert!(!reason.contains(SECRET));
            field
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    };
    let request = |condition: &DropGrantCondition, callback: &str, secret: &str| {
        eventsub::subscription_request(&config, condition, callback, &Secret::new(secret))
    };

    assert!(request(&ok, CALLBACK, SECRET).is_ok());
    assert!(request(&ok, "http://127.0.0.1:8080/hook", SECRET).is_ok());
    assert!(request(&ok, CALLBACK, &"x".repeat(10)).is_ok());
    assert!(request(&ok, CALLBACK, &"x".repeat(100)).is_ok());

    assert_eq!(
        field(request(&ok, "http://studio.example.com/hook", SECRET)),
        "callback"
    );
    assert_eq!(
        field(request(&ok, "studio.example.com/hook", SECRET)),
        "callback"
    );
    assert_eq!(field(request(&ok, "", SECRET)), "callback");
    assert_eq!(field(request(&ok, CALLBACK, "short")), "secret");
    assert_eq!(field(request(&ok, CALLBACK, &"x".repeat(101))), "secret");
    assert_eq!(field(request(&ok, CALLBACK, "sécret-non-ascii")), "secret");
    assert_eq!(field(request(&ok, CALLBACK, "")), "secret");
    assert_eq!(
        field(request(&DropGrantCondition::new(" "), CALLBACK, SECRET)),
        "organization_id"
    );
    assert_eq!(
        field(request(&ok.clone().category(""), CALLBACK, SECRET)),
        "category_id"
    );
    assert_eq!(
        field(request(&ok.clone().campaign(" "), CALLBACK, SECRET)),
        "campaign_id"
    );

    let user = Config::new(
        CLIENT_ID,
        Credentials::UserToken {
            access_token: "u".into(),
            refresh_token: None,
            client_secret: None,
        },
    );
    assert_eq!(
        field(eventsub::subscription_request(
            &user,
            &ok,
            CALLBACK,
            &secret()
        )),
        "credentials"
    );
}

// ---- end to end against the fake Twitch -------------------------------------------------

/// What the loopback webhook did with one request.
#[derive(Clone, Debug)]
struct Handled {
    status: u16,
    /// Entitlements handed on (first deliveries only).
    granted: Vec<Entitlement>,
}

type Log = Arc<Mutex<Vec<Handled>>>;

/// A studio's webhook on loopback: `webhook::handle` (verify, record the delivery, answer)
/// and the grants handed on.
struct Webhook {
    url: String,
    log: Log,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Webhook {
    fn start(secret: &str) -> Webhook {
        Webhook::start_with(secret, Box::new(Deduplicator::new()))
    }

    /// A webhook recording deliveries in `deliveries` (a journal's, to survive restarts).
    fn start_with(secret: &str, mut deliveries: Box<dyn DeliveryLog + Send>) -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/eventsub", listener.local_addr().unwrap());
        let log: Log = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let secret = Secret::new(secret);
        let thread = {
            let (log, stop) = (Arc::clone(&log), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Ok(stream) = stream {
                        handle(stream, &secret, deliveries.as_mut(), &log);
                    }
                }
            })
        };
        Webhook {
            url,
            log,
            stop,
            thread: Some(thread),
        }
    }

    fn log(&self) -> Vec<Handled> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let addr = self.url.trim_start_matches("http://").split('/').next();
        let _ = TcpStream::connect(addr.unwrap());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn handle(stream: TcpStream, secret: &Secret, deliveries: &mut dyn DeliveryLog, log: &Log) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    let mut headers = Vec::new();
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }

    let now_ms = SystemClock.now_ms();
    let handled = webhook::handle(&headers, &body, secret, now_ms, deliveries);
    let answer = handled.response;
    let granted = match handled.delivery {
        webhook::Delivery::Grants { entitlements, .. } => entitlements,
        _ => Vec::new(),
    };
    log.lock().unwrap().push(Handled {
        status: answer.status,
        granted,
    });
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.status,
        answer.body.len()
    );
    let _ = stream.write_all(&answer.body);
}

fn fake() -> FakeTwitch {
    let mut config = FakeConfig::new();
    config.seed = Seed {
        entitlements: 50,
        fulfilled_fraction: 0.0,
        ..Seed::standard()
    };
    FakeTwitch::start(config).unwrap()
}

#[test]
fn a_delivery_from_the_fake_verifies_and_maps_to_its_claimed_entitlements() {
    let fake = fake();
    let hook = Webhook::start(SECRET);

    let outcome = fake.deliver_grants(&hook.url, SECRET, 5).unwrap();

    assert_eq!(outcome.status, 204, "{}", outcome.body);
    let log = hook.log();
    assert_eq!(log.len(), 1);
    let granted = &log[0].granted;
    let ids: Vec<&str> = granted.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, outcome.entitlement_ids);
    let store = fake.entitlements();
    for e in granted {
        let stored = store.iter().find(|s| s.id == e.id).expect("known to Helix");
        assert_eq!(stored.fulfillment_status, CLAIMED);
        assert_eq!(e.fulfillment_status, FulfillmentStatus::Claimed);
        assert_eq!(e.user_id, stored.user_id);
        assert_eq!(e.benefit_id, stored.benefit_id);
        assert_eq!(e.game_id, stored.game_id);
        assert_eq!(e.timestamp, stored.timestamp);
    }
}

#[test]
fn the_fakes_replay_stale_and_forged_deliveries_are_refused_or_deduplicated() {
    let fake = fake();
    let hook = Webhook::start(SECRET);
    let first = fake.deliver_grants(&hook.url, SECRET, 2).unwrap();
    assert_eq!(first.status, 204);

    let replay = fake
        .deliver(&Delivery {
            replay: true,
            ..Delivery::new(&hook.url, SECRET, 0)
        })
        .unwrap();
    assert_eq!(replay.status, 204, "a replay is acknowledged");
    assert_eq!(replay.message_id, first.message_id);

    let stale = fake
        .deliver(&Delivery {
            stale: true,
            ..Delivery::new(&hook.url, SECRET, 1)
        })
        .unwrap();
    assert_eq!(stale.status, 403);
    assert!(stale.body.contains("old"), "{}", stale.body);

    let forged = fake
        .deliver(&Delivery {
            bad_signature: true,
            ..Delivery::new(&hook.url, SECRET, 1)
        })
        .unwrap();
    assert_eq!(forged.status, 403);

    let wrong_secret = fake
        .deliver_grants(&hook.url, "not-the-webhook-secret", 1)
        .unwrap();
    assert_eq!(wrong_secret.status, 403);

    let log = hook.log();
    let statuses: Vec<u16> = log.iter().map(|h| h.status).collect();
    assert_eq!(statuses, [204, 204, 403, 403, 403]);
    assert_eq!(log[0].granted.len(), 2);
    assert!(
        log[1].granted.is_empty(),
        "the replay is handed on once only"
    );
    let handed_on: usize = log.iter().map(|h| h.granted.len()).sum();
    assert_eq!(handed_on, 2);
}

/// A delivery recorded in the SQLite journal's database is known after a restart: Twitch's
/// redelivery of it to the new process is answered and not handed on again.
#[cfg(feature = "sqlite")]
#[test]
fn a_redelivery_after_a_restart_is_recognized_through_the_journal() {
    let fake = fake();
    let dir = std::env::temp_dir().join(format!("drops-webhook-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("journal.sqlite");
    let _ = std::fs::remove_file(&path);
    let first = {
        let hook = Webhook::start_with(
            SECRET,
            Box::new(twitch_drops::SqliteJournal::open(&path).unwrap()),
        );
        let first = fake.deliver_grants(&hook.url, SECRET, 3).unwrap();
        assert_eq!(first.status, 204);
        assert_eq!(hook.log()[0].granted.len(), 3);
        first
    };
    // A new process on the same journal: the same message again.
    let hook = Webhook::start_with(
        SECRET,
        Box::new(twitch_drops::SqliteJournal::open(&path).unwrap()),
    );
    let replay = fake
        .deliver(&Delivery {
            replay: true,
            ..Delivery::new(&hook.url, SECRET, 0)
        })
        .unwrap();
    assert_eq!(replay.status, 204, "acknowledged");
    assert_eq!(replay.message_id, first.message_id);
    assert!(hook.log()[0].granted.is_empty(), "not handed on again");
    // A new message still is.
    fake.deliver_grants(&hook.url, SECRET, 2).unwrap();
    assert_eq!(hook.log()[1].granted.len(), 2);
    drop(hook);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn subscribing_at_the_fake_gets_the_callback_verified() {
    let fake = fake();
    let hook = Webhook::start(SECRET);
    let config = fake_config(&fake);
    let client = Client::with_transport(config, UreqTransport::new(), SystemClock).unwrap();
    let condition = DropGrantCondition::new(ORGANIZATION_ID).category("509658");

    let op =
        eventsub::subscription_request(client.config(), &condition, &hook.url, &secret()).unwrap();
    let subscription = client.run(op).unwrap();

    assert_eq!(subscription.status, "webhook_callback_verification_pending");
    assert_eq!(subscription.condition["organization_id"], ORGANIZATION_ID);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let status = fake
            .eventsub_subscriptions()
            .into_iter()
            .find(|s| s.id == subscription.id)
            .expect("the fake holds it")
            .status;
        if status != "webhook_callback_verification_pending" || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status, "enabled");
    assert_eq!(hook.log()[0].status, 200);

    // Subscribing again is a conflict.
    let op =
        eventsub::subscription_request(client.config(), &condition, &hook.url, &secret()).unwrap();
    assert_eq!(client.run(op).unwrap_err().status(), Some(409));
}

#[test]
fn pushed_grants_feed_the_fulfillment_engine() {
    let fake = fake();
    let hook = Webhook::start(SECRET);
    fake.deliver_grants(&hook.url, SECRET, 40).unwrap();
    fake.deliver(&fake_twitch::Delivery {
        callback: hook.url.clone(),
        secret: SECRET.into(),
        replay: true,
        ..Default::default()
    })
    .unwrap();
    fake.deliver_grants(&hook.url, SECRET, 70).unwrap();
    let pushed: Vec<Entitlement> = hook.log().into_iter().flat_map(|h| h.granted).collect();
    assert_eq!(pushed.len(), 110, "the replay is handed on once");

    let config = fake_config(&fake);
    let client = twitch_drops::Client::with_transport(
        config,
        twitch_drops::UreqTransport::new(),
        twitch_drops::ManualClock::new(1_700_000_000_000),
    )
    .unwrap();
    let engine = twitch_drops::Engine::for_entitlements(client.config(), pushed.clone(), 1);
    let mut granted = std::collections::HashMap::<String, u32>::new();
    let report = client.drive_engine(
        engine,
        &mut twitch_drops::MemoryJournal::new(),
        &mut |r: &twitch_drops::GrantRequest| {
            *granted.entry(r.entitlement.id.to_string()).or_default() += 1;
            twitch_drops::GrantOutcome::Granted
        },
        &mut |_| {},
    );
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.fulfilled, 110);
    assert!(granted.values().all(|n| *n == 1));
    let store = fake.entitlements();
    for e in &pushed {
        let stored = store.iter().find(|s| s.id == e.id).expect("known to Helix");
        assert_eq!(stored.fulfillment_status, fake_twitch::FULFILLED);
    }
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// A subscription on a page of the app's subscriptions, to `callback`.
fn listed(id: &str, callback: &str) -> serde_json::Value {
    json!({"id": id, "status": "enabled", "type": "drop.entitlement.grant", "version": "1",
           "condition": {"organization_id": "9001", "category_id": "509658"},
           "transport": {"method": "webhook", "callback": callback},
           "created_at": "2023-11-14T22:13:20.000Z", "cost": 0})
}

#[test]
fn the_subscription_a_409_means_is_found_page_by_page_and_a_looping_cursor_ends() {
    let mut server = Server::new();
    let first = server
        .mock("GET", SUBSCRIBE_PATH)
        .match_query(Matcher::UrlEncoded(
            "type".into(),
            "drop.entitlement.grant".into(),
        ))
        .with_status(200)
        .with_body(
            json!({"data": [listed("other", "https://elsewhere.example/hook")],
                   "pagination": {"cursor": "page-2"}})
            .to_string(),
        )
        .expect(1)
        .create();
    let second = server
        .mock("GET", SUBSCRIBE_PATH)
        .match_query(Matcher::AllOf(vec![
            Matcher::UrlEncoded("type".into(), "drop.entitlement.grant".into()),
            Matcher::UrlEncoded("after".into(), "page-2".into()),
        ]))
        .with_status(200)
        .with_body(json!({"data": [listed("ours", CALLBACK)], "pagination": {}}).to_string())
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);
    let condition = DropGrantCondition::new("9001").category("509658");
    let found = client
        .find_drop_grant_subscription(&condition, CALLBACK)
        .unwrap();
    assert_eq!(found.map(|s| s.id), Some("ours".to_string()));
    first.assert();
    second.assert();
    server.reset();

    // A server whose cursor comes back: the search ends, having asked each cursor once.
    let looping = server
        .mock("GET", SUBSCRIBE_PATH)
        .match_query(Matcher::Any)
        .with_status(200)
        .with_body(json!({"data": [], "pagination": {"cursor": "again"}}).to_string())
        .expect(2)
        .create();
    let found = client
        .find_drop_grant_subscription(&condition, CALLBACK)
        .unwrap();
    assert_eq!(found, None);
    looping.assert();
}
