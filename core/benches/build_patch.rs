//! Building one PATCH of 100 ids: `update::update_entitlements` driven to its first
//! `Step::Send` (dedup, batching, the JSON body, headers with the token).
//!
//! `cargo bench -p twitch-drops --bench build_patch`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use twitch_drops::update::update_entitlements;
use twitch_drops::{
    Authorization, Config, Credentials, FulfillmentStatus, Input, Operation, Step, TokenStore,
};

const NOW_MS: u64 = 1_700_000_000_000;

fn build_patch(c: &mut Criterion) {
    let config = Config::new("cid", Credentials::AccessToken("tok-3f9a".into()));
    let Authorization::Ready(token) = TokenStore::new(&config).authorize(None, NOW_MS) else {
        panic!("a static token is ready");
    };
    let ids: Vec<String> = (0..100)
        .map(|i| format!("fb78259e-fb81-4d1b-8333-{i:012x}"))
        .collect();
    let mut group = c.benchmark_group("build_patch");
    group.throughput(Throughput::Elements(100));
    group.bench_function("100_ids", |b| {
        b.iter(|| {
            let mut op =
                update_entitlements(&config, black_box(&ids), FulfillmentStatus::Fulfilled)
                    .expect("valid ids");
            assert!(matches!(
                op.resume(Input::Start, NOW_MS),
                Step::Authorize { .. }
            ));
            match op.resume(Input::Token(Ok(token.clone())), NOW_MS) {
                Step::Send(request) => request,
                other => panic!("expected the PATCH, got {other:?}"),
            }
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = build_patch
}
criterion_main!(benches);
