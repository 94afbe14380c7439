//! Processing one EventSub delivery: `eventsub::verify` (HMAC-SHA256 over the body, the
//! timestamp check, parsing) of a batched `drop.entitlement.grant` notification with 100
//! grants, then mapping them to entitlements for the fulfillment engine.
//!
//! `cargo bench -p twitch-drops --bench eventsub_batch`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;
use twitch_drops::eventsub;
use twitch_drops::Secret;

const NOW_MS: u64 = 1_700_000_000_000;
const TIMESTAMP: &str = "2023-11-14T22:13:19.123456789Z";

fn notification(grants: usize) -> Vec<u8> {
    let events: Vec<_> = (0..grants)
        .map(|i| {
            json!({
                "id": format!("bf7c8577-e3e6-4b4f-9e5a-{i:012x}"),
                "data": {
                    "organization_id": "9001",
                    "category_id": "509658",
                    "category_name": "Just Chatting",
                    "campaign_id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4",
                    "user_id": (141_981_764 + i).to_string(),
                    "user_name": "TwitchDev",
                    "user_login": "twitchdev",
                    "entitlement_id": format!("fb78259e-fb81-4d1b-8333-{i:012x}"),
                    "benefit_id": "74c52265-e214-48a6-91b9-23b6014e8041",
                    "created_at": "2023-11-14T22:13:18Z",
                }
            })
        })
        .collect();
    json!({
        "subscription": {
            "id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4",
            "status": "enabled",
            "type": "drop.entitlement.grant",
            "version": "1",
            "condition": { "organization_id": "9001", "category_id": "509658" },
            "transport": { "method": "webhook", "callback": "https://example.com/webhooks/callback" },
            "created_at": "2023-11-14T22:00:00Z",
            "cost": 0,
        },
        "events": events,
    })
    .to_string()
    .into_bytes()
}

fn eventsub_batch(c: &mut Criterion) {
    let secret = Secret::new("s3cre7-s3cre7-s3cre7");
    let body = notification(100);
    let message_id = "befa7b53-d79d-478f-86b9-120f112b044e";
    let signature = eventsub::signature(&secret, message_id, TIMESTAMP, &body);
    let headers: Vec<(String, String)> = [
        (eventsub::HEADER_MESSAGE_ID, message_id),
        (eventsub::HEADER_MESSAGE_TIMESTAMP, TIMESTAMP),
        (eventsub::HEADER_MESSAGE_SIGNATURE, signature.as_str()),
        (eventsub::HEADER_MESSAGE_TYPE, "notification"),
        (eventsub::HEADER_SUBSCRIPTION_TYPE, "drop.entitlement.grant"),
        (eventsub::HEADER_SUBSCRIPTION_VERSION, "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();

    let mut group = c.benchmark_group("eventsub_batch");
    group.throughput(Throughput::Elements(100));
    group.bench_function("verify_and_map_100_grants", |b| {
        b.iter(|| {
            let message = eventsub::verify(black_box(&headers), black_box(&body), &secret, NOW_MS)
                .expect("a valid delivery");
            let entitlements = message.entitlements();
            assert_eq!(entitlements.len(), 100);
            entitlements
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = eventsub_batch
}
criterion_main!(benches);
