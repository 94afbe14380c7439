//! Parsing one full `GET /entitlements/drops` page: 1000 entitlements (Twitch's largest
//! page), shaped like Twitch's (UUID ids, RFC 3339 times, a cursor).
//!
//! `cargo bench -p twitch-drops --bench parse_page`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;
use twitch_drops::entitlements::parse_entitlements_page;

/// A UUID-shaped id, distinct for each `n`.
fn uuid(n: usize, salt: u32) -> String {
    format!("{salt:08x}-{:04x}-4d1b-8333-{n:012x}", n % 0xffff)
}

fn page_body(size: usize) -> Vec<u8> {
    let data: Vec<_> = (0..size)
        .map(|i| {
            json!({
                "id": uuid(i, 0xfb78_259e),
                "benefit_id": uuid(i % 7, 0x74c5_2265),
                "timestamp": "2023-11-01T10:00:00.325Z",
                "user_id": (25_009_227 + i).to_string(),
                "game_id": "509658",
                "fulfillment_status": "CLAIMED",
                "last_updated": "2023-11-02T10:00:00.325Z",
            })
        })
        .collect();
    json!({
        "data": data,
        "pagination": { "cursor": "eyJiIjpudWxsLCJhIjp7IkN1cnNvciI6IjEwMDAifX0" },
    })
    .to_string()
    .into_bytes()
}

fn parse_page(c: &mut Criterion) {
    let body = page_body(1000);
    let mut group = c.benchmark_group("parse_page");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("1000_entitlements", |b| {
        b.iter(|| {
            let page = parse_entitlements_page(black_box(&body)).expect("a valid page");
            assert_eq!(page.entitlements.len(), 1000);
            page
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = parse_page
}
criterion_main!(benches);
