//! Each fault, switched on and off at runtime.

mod common;

use std::time::{Duration, Instant};

use common::*;
use fake_twitch::{FakeTwitch, Faults, CLAIMED, FULFILLED};

fn fake() -> FakeTwitch {
    start_with(|c| c.seed = small_seed())
}

fn claimed_ids(fake: &FakeTwitch, n: usize) -> Vec<String> {
    fake.entitlements()
        .into_iter()
        .filter(|e| e.game_id == "509658" && e.fulfillment_status == CLAIMED)
        .take(n)
        .map(|e| e.id)
        .collect()
}

fn status_of(fake: &FakeTwitch, id: &str) -> String {
    fake.entitlements()
        .into_iter()
        .find(|e| e.id == id)
        .unwrap()
        .fulfillment_status
}

fn list_status(fake: &FakeTwitch, token: &str) -> u16 {
    helix_get(fake, token, "/entitlements/drops?first=1").status
}

#[test]
fn error_5xx_answers_500_with_an_empty_message_and_changes_nothing() {
    let fake = fake();
    let token = app_token(&fake);
    fake.set_faults(Faults {
        error_5xx_rate: 1.0,
        ..Faults::default()
    });
    let resp = helix_get(&fake, &token, "/entitlements/drops");
    assert_eq!(resp.status, 500);
    assert_eq!(
        resp.json(),
        serde_json::json!({"error": "Internal Server Error", "status": 500, "message": ""})
    );
    let id = claimed_ids(&fake, 1).remove(0);
    assert_eq!(
        helix_patch(&fake, &token, &update_body(&[&id], FULFILLED)).status,
        500
    );
    assert_eq!(status_of(&fake, &id), CLAIMED);
    // Even before authentication.
    assert_eq!(
        helix_get(&fake, "bad-token", "/entitlements/drops").status,
        500
    );
    // The OAuth server is not faulted.
    app_token(&fake);

    fake.set_faults(Faults::default());
    assert_eq!(list_status(&fake, &token), 200);
}

#[test]
fn error_5xx_rate_is_a_probability() {
    let fake = fake();
    let token = app_token(&fake);
    fake.set_faults(Faults {
        error_5xx_rate: 0.5,
        rng_seed: 9,
        ..Faults::default()
    });
    let statuses: Vec<u16> = (0..40).map(|_| list_status(&fake, &token)).collect();
    let failures = statuses.iter().filter(|s| **s == 500).count();
    assert!((8..=32).contains(&failures), "{failures} of 40");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 500));
}

#[test]
fn faults_are_deterministic_for_a_seed() {
    let fake = fake();
    let token = app_token(&fake);
    let faults = Faults {
        error_5xx_rate: 0.3,
        html_503_rate: 0.2,
        rng_seed: 1234,
        ..Faults::default()
    };
    let run = || {
        fake.set_faults(faults.clone());
        (0..30)
            .map(|_| list_status(&fake, &token))
            .collect::<Vec<_>>()
    };
    let first = run();
    assert_eq!(first, run());
    assert!(first.contains(&503) && first.contains(&500) && first.contains(&200));
}

#[test]
fn html_503_is_not_json() {
    let fake = fake();
    let token = app_token(&fake);
    fake.set_faults(Faults {
        html_503_rate: 1.0,
        ..Faults::default()
    });
    let resp = helix_get(&fake, &token, "/entitlements/drops");
    assert_eq!(resp.status, 503);
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(resp.body.contains("<html>"));
    assert!(serde_json::from_str::<serde_json::Value>(&resp.body).is_err());
    fake.set_faults(Faults::default());
    assert_eq!(list_status(&fake, &token), 200);
}

#[test]
fn rate_limit_every_nth_call() {
    let fake = fake();
    let token = app_token(&fake);
    fake.set_faults(Faults {
        rate_limit_every: 3,
        ..Faults::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let resp = helix_get(&fake, &token, "/entitlements/drops?first=1");
        if resp.status == 429 {
            assert_eq!(resp.header_u64("ratelimit-remaining"), 0);
            assert!(resp.header("ratelimit-reset").is_some());
        }
        statuses.push(resp.status);
    }
    assert_eq!(statuses, [200, 200, 429, 200, 200, 429]);
    assert_eq!(fake.stats().rate_limited, 2);
    fake.set_faults(Faults::default());
    assert!((0..6).all(|_| list_status(&fake, &token) == 200));
}

#[test]
fn spurious_429_leaves_points_in_the_bucket() {
    let fake = fake();
    let token = app_token(&fake);
    fake.set_faults(Faults {
        spurious_429_rate: 1.0,
        ..Faults::default()
    });
    let resp = helix_get(&fake, &token, "/entitlements/drops");
    assert_eq!(resp.status, 429);
    assert!(resp.header_u64("ratelimit-remaining") > 0);
    assert_eq!(resp.json()["status"], 429);
    fake.set_faults(Faults::default());
    assert_eq!(list_status(&fake, &token), 200);
}

#[test]
fn truncate_after_apply_applies_then_cuts_the_body() {
    let fake = fake();
    let token = app_token(&fake);
    fake.set_faults(Faults {
        truncate_after_apply_rate: 1.0,
        ..Faults::default()
    });
    let id = claimed_ids(&fake, 1).remove(0);
    let resp = helix_patch(&fake, &token, &update_body(&[&id], FULFILLED));
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header_u64("content-length") as usize,
        resp.body.len(),
        "Content-Length is the cut body's"
    );
    assert!(serde_json::from_str::<serde_json::Value>(&resp.body).is_err());
    assert_eq!(status_of(&fake, &id), FULFILLED, "applied before cutting");

    let list = helix_get(&fake, &token, "/entitlements/drops");
    assert_eq!(list.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&list.body).is_err());

    fake.set_faults(Faults::default());
    helix_get(&fake, &token, "/entitlements/drops").json();
}

#[test]
fn drop_after_apply_closes_the_connection_without_a_response() {
    let fake = fake();
    let token = app_token(&fake);
    fake.set_faults(Faults {
        drop_after_apply_rate: 1.0,
        ..Faults::default()
    });
    let id = claimed_ids(&fake, 1).remove(0);
    let body = update_body(&[&id], FULFILLED).to_string();
    let agent = fresh_agent();
    let result = try_helix_patch(&agent, &fake, &token, "/entitlements/drops", &body);
    assert!(
        matches!(result, Err(ureq::Error::Io(_))),
        "expected a connection error, got {result:?}"
    );
    assert_eq!(status_of(&fake, &id), FULFILLED, "applied before dropping");
    let result = try_helix_get(&agent, &fake, &token, "/entitlements/drops");
    assert!(
        matches!(result, Err(ureq::Error::Io(_))),
        "expected a connection error, got {result:?}"
    );
    let journal = fake.journal();
    assert_eq!(journal.last().unwrap().status, 0);

    // Errors are answered normally: only applied requests are dropped.
    let resp = try_helix_get(&agent, &fake, &token, "/entitlements/drops?first=0").unwrap();
    assert_eq!(resp.status, 400);

    fake.set_faults(Faults::default());
    let resp = try_helix_get(&agent, &fake, &token, "/entitlements/drops").unwrap();
    assert_eq!(resp.status, 200);
}

#[test]
fn latency_is_added_but_not_counted_as_busy() {
    // A latency long enough that a stall of the machine cannot pass for it, or hide it.
    const LATENCY: Duration = Duration::from_millis(1500);
    let fake = fake();
    let token = app_token(&fake);
    fake.set_faults(Faults {
        latency_ms: LATENCY.as_millis() as u64,
        ..Faults::default()
    });
    let busy_before = fake.stats().busy_micros;
    let started = Instant::now();
    assert_eq!(list_status(&fake, &token), 200);
    assert!(started.elapsed() >= LATENCY);
    let busy = fake.stats().busy_micros - busy_before;
    assert!(busy < 1_000_000, "busy {busy} µs includes the latency");
    // OAuth is not delayed.
    let started = Instant::now();
    app_token(&fake);
    let elapsed = started.elapsed();
    assert!(elapsed < LATENCY, "a token took {elapsed:?}");
    fake.set_faults(Faults::default());
}

#[test]
fn revoke_token_after_n_uses() {
    let fake = fake();
    fake.set_faults(Faults {
        revoke_token_after: 2,
        ..Faults::default()
    });
    let token = app_token(&fake);
    assert_eq!(list_status(&fake, &token), 200);
    assert_eq!(list_status(&fake, &token), 200);
    let revoked = helix_get(&fake, &token, "/entitlements/drops");
    assert_eq!(revoked.status, 401);
    assert_eq!(revoked.message(), "Invalid OAuth token");
    // Validation agrees.
    let validate = get(
        &format!("{}/validate", fake.auth_url()),
        &[("Authorization", &format!("OAuth {token}"))],
    );
    assert_eq!(validate.status, 401);
    // A new token works again for n uses.
    let fresh = app_token(&fake);
    assert_eq!(list_status(&fake, &fresh), 200);
    assert_eq!(list_status(&fake, &fresh), 200);
    assert_eq!(list_status(&fake, &fresh), 401);

    fake.set_faults(Faults::default());
    let another = app_token(&fake);
    assert!((0..5).all(|_| list_status(&fake, &another) == 200));
}

#[test]
fn update_failed_rate_fails_some_ids_and_leaves_them() {
    let fake = fake();
    let token = app_token(&fake);
    fake.set_faults(Faults {
        update_failed_rate: 0.5,
        rng_seed: 3,
        ..Faults::default()
    });
    let ids = claimed_ids(&fake, 40);
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let resp = helix_patch(&fake, &token, &update_body(&refs, FULFILLED));
    let failed = group(&resp, "UPDATE_FAILED");
    let succeeded = group(&resp, "SUCCESS");
    assert_eq!(failed.len() + succeeded.len(), 40);
    assert!(!failed.is_empty() && !succeeded.is_empty());
    assert!(failed.iter().all(|id| status_of(&fake, id) == CLAIMED));
    assert!(succeeded.iter().all(|id| status_of(&fake, id) == FULFILLED));

    fake.set_faults(Faults::default());
    let refs: Vec<&str> = failed.iter().map(String::as_str).collect();
    let retry = helix_patch(&fake, &token, &update_body(&refs, FULFILLED));
    assert_eq!(group(&retry, "SUCCESS").len(), failed.len());
}

#[test]
fn failing_users_always_get_500() {
    let fake = fake();
    let token = app_token(&fake);
    let entitlements = fake.entitlements();
    let victim = entitlements
        .iter()
        .find(|e| e.game_id == "509658" && e.fulfillment_status == CLAIMED)
        .unwrap()
        .clone();
    let bystander = entitlements
        .iter()
        .find(|e| {
            e.game_id == "509658" && e.user_id != victim.user_id && e.fulfillment_status == CLAIMED
        })
        .unwrap()
        .clone();
    fake.set_faults(Faults {
        failing_users: vec![victim.user_id.clone()],
        ..Faults::default()
    });
    for _ in 0..3 {
        let resp = helix_get(
            &fake,
            &token,
            &format!("/entitlements/drops?user_id={}", victim.user_id),
        );
        assert_eq!(resp.status, 500);
    }
    let user_token = fake.user_token(&victim.user_id, &[]).access_token;
    assert_eq!(list_status(&fake, &user_token), 500);
    // A PATCH naming the victim's entitlement fails whole.
    let resp = helix_patch(
        &fake,
        &token,
        &update_body(&[&bystander.id, &victim.id], FULFILLED),
    );
    assert_eq!(resp.status, 500);
    assert_eq!(status_of(&fake, &bystander.id), CLAIMED);
    // Everyone else is fine.
    assert_eq!(
        helix_get(
            &fake,
            &token,
            &format!("/entitlements/drops?user_id={}", bystander.user_id)
        )
        .status,
        200
    );
    let resp = helix_patch(&fake, &token, &update_body(&[&bystander.id], FULFILLED));
    assert_eq!(group(&resp, "SUCCESS"), vec![bystander.id.clone()]);

    fake.set_faults(Faults::default());
    let resp = helix_patch(&fake, &token, &update_body(&[&victim.id], FULFILLED));
    assert_eq!(group(&resp, "SUCCESS"), vec![victim.id.clone()]);
}

#[test]
fn faults_can_be_set_over_http() {
    let fake = fake();
    let token = app_token(&fake);
    let url = format!("{}/_fake/faults", fake.base_url());
    let resp = post_json(&url, &serde_json::json!({"error_5xx_rate": 1.0}));
    assert_eq!(resp.status, 204);
    assert_eq!(fake.faults().error_5xx_rate, 1.0);
    assert_eq!(get(&url, &[]).json()["error_5xx_rate"], 1.0);
    assert_eq!(list_status(&fake, &token), 500);
    // Admin routes are never faulted.
    assert_eq!(
        get(&format!("{}/_fake/stats", fake.base_url()), &[]).status,
        200
    );
    post_json(&url, &serde_json::json!({}));
    assert_eq!(list_status(&fake, &token), 200);
    assert_eq!(
        post_json(&url, &serde_json::json!({"latency_ms": "x"})).status,
        400
    );
}
