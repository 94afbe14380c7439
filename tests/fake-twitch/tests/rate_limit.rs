//! Token buckets and the Ratelimit-* headers.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn every_helix_response_carries_the_headers() {
    let fake = start();
    let token = app_token(&fake);
    let ok = helix_get(&fake, &token, "/entitlements/drops");
    assert_eq!(ok.header_u64("ratelimit-limit"), 800);
    assert_eq!(ok.header_u64("ratelimit-remaining"), 799);
    let reset = ok.header_u64("ratelimit-reset");
    assert!(reset >= unix_now() && reset <= unix_now() + 61, "{reset}");
    let error = helix_get(&fake, &token, "/entitlements/drops?first=0");
    assert_eq!(error.status, 400);
    assert!(error.header("ratelimit-remaining").is_some());
    let unauthorized = helix_get(&fake, "bad", "/entitlements/drops");
    assert!(unauthorized.header("ratelimit-limit").is_some());
    // Not on the OAuth server.
    let resp = post_form(&format!("{}/token", fake.auth_url()), &[]);
    assert!(resp.header("ratelimit-limit").is_none());
}

#[test]
fn an_empty_bucket_answers_429_then_refills() {
    let fake = start();
    fake.set_rate_limit(120, 3); // two points a second
    let token = app_token(&fake);
    let mut refused = None;
    for _ in 0..10 {
        let resp = helix_get(&fake, &token, "/entitlements/drops?first=1");
        if resp.status == 429 {
            refused = Some(resp);
            break;
        }
        assert_eq!(resp.status, 200);
    }
    let refused = refused.expect("a 429 within 10 calls");
    assert_eq!(
        refused.json(),
        serde_json::json!({
            "error": "Too Many Requests",
            "status": 429,
            "message": refused.message(),
        })
    );
    assert_eq!(refused.header_u64("ratelimit-remaining"), 0);
    assert_eq!(refused.header_u64("ratelimit-limit"), 120);
    let reset = refused.header_u64("ratelimit-reset");
    assert!(reset >= unix_now() && reset <= unix_now() + 3, "{reset}");
    assert_eq!(fake.stats().rate_limited, 1);

    std::thread::sleep(Duration::from_millis(600));
    let resp = helix_get(&fake, &token, "/entitlements/drops?first=1");
    assert_eq!(resp.status, 200, "{}", resp.body);
}

#[test]
fn app_and_each_user_have_their_own_bucket() {
    let fake = start();
    fake.set_rate_limit(1, 2);
    let app = app_token(&fake);
    let alice = fake.user_token("1", &[]).access_token;
    let alice_again = fake.user_token("1", &[]).access_token;
    let bob = fake.user_token("2", &[]).access_token;
    let status = |token: &str| helix_get(&fake, token, "/entitlements/drops?first=1").status;
    assert_eq!(status(&app), 200);
    assert_eq!(status(&app), 200);
    assert_eq!(status(&app), 429);
    assert_eq!(status(&alice), 200);
    assert_eq!(status(&alice_again), 200);
    assert_eq!(status(&alice), 429);
    assert_eq!(status(&bob), 200);
    assert_eq!(fake.stats().rate_limited, 2);

    // Reshaping refills everything; per_minute 0 turns limiting off.
    fake.set_rate_limit(0, 0);
    for _ in 0..5 {
        assert_eq!(status(&app), 200);
    }
}

#[test]
fn oauth_and_admin_are_not_rate_limited() {
    let fake = start();
    fake.set_rate_limit(1, 1);
    for _ in 0..3 {
        app_token(&fake);
        assert_eq!(
            get(&format!("{}/_fake/stats", fake.base_url()), &[]).status,
            200
        );
    }
}
