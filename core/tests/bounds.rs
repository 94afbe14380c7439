//! Loops and waits that always end, whatever the server answers: cursors that repeat (A→A,
//! A→B→A) end a listing with an error naming what was seen, a fulfillment run over such a
//! list ends in a few requests, no rate-limit wait outlasts the bucket's window, and pacing
//! keeps every operation (not only the engine) from drawing 429s, whatever the local clock.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use fake_twitch::{FakeTwitch, CLAIMED};
use mockito::{Matcher, Server};
use twitch_drops::{
    Client, Clock, EntitlementsQuery, Error, FulfillOptions, FulfillmentStatus, GrantOutcome,
    GrantRequest, MemoryJournal, SystemClock, UreqTransport,
};

const PATH: &str = "/helix/entitlements/drops";

/// A Helix whose list is `pages` (ids per page, and the cursor each page names), read from
/// the `after` a request gives; PATCHes succeed and are remembered, so a later page shows
/// those ids FULFILLED. Returns the server and the count of GETs.
fn looping_helix(
    pages: &'static [(&'static [&'static str], Option<&'static str>)],
) -> (mockito::ServerGuard, Arc<AtomicU64>) {
    let mut server = Server::new();
    let fulfilled: Arc<Mutex<HashSet<String>>> = Arc::default();
    let gets = Arc::new(AtomicU64::new(0));
    let (seen, count) = (Arc::clone(&fulfilled), Arc::clone(&gets));
    server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_body_from_request(move |request| {
            count.fetch_add(1, Ordering::SeqCst);
            let after = request
                .path_and_query()
                .split(['?', '&'])
                .find_map(|pair| pair.strip_prefix("after="))
                .map(str::to_string);
            // Page i names cursor `pages[i].1`; a request after cursor C gets the page that
            // follows the first page naming C.
            let index = match after {
                None => 0,
                Some(c) => pages.iter().position(|p| p.1 == Some(c.as_str())).unwrap() + 1,
            };
            let (ids, cursor) = pages[index];
            let fulfilled = seen.lock().unwrap();
            let data: Vec<serde_json::Value> = ids
                .iter()
                .map(|id| {
                    let status = if fulfilled.contains(*id) {
                        "FULFILLED"
                    } else {
                        "CLAIMED"
                    };
                    entitlement(id, status)
                })
                .collect();
            let pagination =
                cursor.map_or(serde_json::json!({}), |c| serde_json::json!({"cursor": c}));
            serde_json::json!({"data": data, "pagination": pagination})
                .to_string()
                .into_bytes()
        })
        .create();
    server
        .mock("PATCH", PATH)
        .with_body_from_request(move |request| {
            let ids = patch_ids(request.body().unwrap());
            fulfilled.lock().unwrap().extend(ids.iter().cloned());
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            update_answer(&[("SUCCESS", &ids)]).into_bytes()
        })
        .create();
    (server, gets)
}

/// A→B→A: `A` names page 1, `B` page 2, and page 2 names `A` again.
const A_B_A: &[(&[&str], Option<&str>)] = &[
    (&["e1"], Some("A")),
    (&["e2"], Some("B")),
    (&["e3"], Some("A")),
];

#[test]
fn a_listing_ends_with_an_error_at_a_cursor_seen_before_in_it() {
    let (server, gets) = looping_helix(A_B_A);
    let (client, _clock) = static_client(&server);

    let items: Vec<Result<_, Error>> = client
        .entitlements(EntitlementsQuery::new().game(GAME))
        .collect();

    let ids: Vec<&str> = items
        .iter()
        .filter_map(|i| i.as_ref().ok())
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["e1", "e2", "e3"],
        "every page up to the loop is read once"
    );
    match items.last() {
        Some(Err(Error::Decode { context, detail })) => {
            assert_eq!(*context, "entitlements page");
            assert!(
                detail.contains("page 3") && detail.contains("seen earlier"),
                "{detail}"
            );
            assert!(
                !detail.contains("\"A\""),
                "the cursor is the server's text: {detail}"
            );
        }
        other => panic!("the listing ends with a decode error: {other:?}"),
    }
    assert_eq!(gets.load(Ordering::SeqCst), 3);
}

#[test]
fn a_run_over_a_list_whose_cursor_repeats_ends_in_a_few_requests() {
    // A→A: every page names the same cursor (a server that never advances).
    const SAME: &[(&[&str], Option<&str>)] =
        &[(&["e1", "e2"], Some("same")), (&["e3"], Some("same"))];
    for pages in [SAME, A_B_A] {
        let (server, gets) = looping_helix(pages);
        let (client, _clock) = static_client(&server);
        let mut granted = Vec::new();
        let report = client
            .fulfill(
                FulfillOptions::game(GAME),
                &mut MemoryJournal::new(),
                &mut |r: &GrantRequest| {
                    granted.push(r.entitlement.id.clone());
                    GrantOutcome::Granted
                },
            )
            .expect("options are valid");

        // What the loop let the run reach is done, each once.
        let mut expected: Vec<String> = pages
            .iter()
            .flat_map(|p| p.0.iter().map(|s| s.to_string()))
            .collect();
        granted.sort();
        expected.sort();
        assert_eq!(granted, expected, "{pages:?}");
        assert_eq!(report.fulfilled as usize, expected.len(), "{report:?}");
        // Two passes (the second finds nothing new), each ending at the loop; then the run
        // stops and says why.
        let reads = gets.load(Ordering::SeqCst);
        assert!(
            reads <= 2 * pages.len() as u64,
            "{reads} GETs for {pages:?}"
        );
        match &report.error {
            Some(Error::Decode { detail, .. }) => {
                assert!(detail.contains("seen earlier"), "{detail}")
            }
            other => panic!("the run reports the loop: {other:?}"),
        }
    }
}

/// A Helix that always answers with an empty bucket that refills one point a minute and is
/// full only in an hour, on a server clock an hour ahead of the client's.
#[test]
fn no_rate_limit_wait_outlasts_the_buckets_window() {
    let mut server = Server::new();
    let hour_ahead = NOW_MS / 1000 + 3600;
    let date = "Tue, 14 Nov 2023 23:13:20 GMT"; // NOW + 1 h
    let reset = (hour_ahead + 3600).to_string();
    server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_header("Ratelimit-Limit", "1")
        .with_header("Ratelimit-Remaining", "0")
        .with_header("Ratelimit-Reset", &reset)
        .with_header("Date", date)
        .with_body(page(&["e1"], "CLAIMED", Some("next")))
        .expect_at_least(3)
        .create();
    let (client, clock) = static_client(&server);

    let pages: Vec<_> = client
        .entitlement_pages(EntitlementsQuery::new().game(GAME))
        .take(3)
        .collect();

    assert_eq!(pages.len(), 3);
    let sleeps = clock.sleeps();
    assert!(!sleeps.is_empty(), "an empty bucket holds requests back");
    assert!(
        sleeps.iter().all(|s| *s <= Duration::from_secs(60)),
        "every wait within the 60 s window: {sleeps:?}"
    );
}

/// The system clock moved by `offset_ms`, recording the longest single sleep.
struct SkewedClock {
    offset_ms: i64,
    longest: Mutex<Duration>,
}

impl SkewedClock {
    fn new(offset_ms: i64) -> Arc<SkewedClock> {
        Arc::new(SkewedClock {
            offset_ms,
            longest: Mutex::new(Duration::ZERO),
        })
    }

    fn longest(&self) -> Duration {
        *self.longest.lock().unwrap()
    }
}

impl Clock for SkewedClock {
    fn now_ms(&self) -> u64 {
        SystemClock.now_ms().saturating_add_signed(self.offset_ms)
    }

    fn sleep(&self, duration: Duration) {
        let mut longest = self.longest.lock().unwrap();
        *longest = (*longest).max(duration);
        drop(longest);
        SystemClock.sleep(duration);
    }
}

fn small_bucket_fake(entitlements: usize) -> FakeTwitch {
    let fake = fake_of_game(entitlements, 50, 11);
    // 600 points a minute (10 a second), 8 at once.
    fake.set_rate_limit(600, 8);
    fake
}

#[test]
fn a_plain_update_of_many_ids_is_paced_too() {
    let fake = small_bucket_fake(3000);
    let ids: Vec<String> = fake
        .entitlements()
        .into_iter()
        .filter(|e| e.fulfillment_status == CLAIMED)
        .map(|e| e.id)
        .collect();
    let clock = SkewedClock::new(0);
    let client =
        Client::with_transport(fake_config(&fake), UreqTransport::new(), Arc::clone(&clock))
            .expect("client");

    let report = client
        .update_entitlements(&ids, FulfillmentStatus::Fulfilled)
        .expect("update");

    assert!(report.all_succeeded(), "{report:?}");
    assert_eq!(report.outcomes.len(), 3000);
    assert_eq!(
        fake.stats().rate_limited,
        0,
        "30 PATCHes through an 8-point bucket, no 429"
    );
    assert!(
        clock.longest() < Duration::from_secs(2),
        "waits of points, not of a full bucket: {:?}",
        clock.longest()
    );
}

#[test]
fn pacing_holds_whatever_the_local_clock_says() {
    for offset_ms in [-90_000, 90_000] {
        let fake = small_bucket_fake(3000);
        let clock = SkewedClock::new(offset_ms);
        let client =
            Client::with_transport(fake_config(&fake), UreqTransport::new(), Arc::clone(&clock))
                .expect("client");
        let report = client
            .fulfill(
                FulfillOptions::game(GAME),
                &mut MemoryJournal::new(),
                &mut |_: &GrantRequest| GrantOutcome::Granted,
            )
            .expect("options");
        assert!(
            report.is_complete(),
            "clock off by {offset_ms} ms: {report:?}"
        );
        assert_eq!(report.fulfilled, 3000);
        assert_eq!(
            fake.stats().rate_limited,
            0,
            "clock off by {offset_ms} ms: no 429"
        );
        assert!(
            clock.longest() < Duration::from_secs(2),
            "clock off by {offset_ms} ms: a wait of {:?}",
            clock.longest()
        );
    }
}
