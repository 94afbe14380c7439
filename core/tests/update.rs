//! `PATCH /helix/entitlements/drops`: batches of 100, per-id outcomes, `UPDATE_FAILED`
//! rounds, duplicate ids, and a definite failure part way.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use mockito::{Matcher, Server};
use serde_json::json;
use twitch_drops::{Credentials, Error, FulfillmentStatus, RetryPolicy, UpdateStatus};

const PATH: &str = "/helix/entitlements/drops";

#[test]
fn two_hundred_fifty_ids_go_out_as_100_100_50() {
    let mut server = Server::new();
    let batches: Batches = Arc::new(Mutex::new(Vec::new()));
    let mock = server
        .mock("PATCH", PATH)
        .match_header("client-id", CLIENT_ID)
        .match_header("authorization", bearer(TOKEN).as_str())
        .match_header("content-type", "application/json")
        .match_body(Matcher::PartialJson(
            json!({ "fulfillment_status": "FULFILLED" }),
        ))
        .with_body_from_request(answer_all("SUCCESS", &batches))
        .expect(3)
        .create();
    let (client, clock) = static_client(&server);
    let ids = ids(250);

    let report = client
        .update_entitlements(&ids, FulfillmentStatus::Fulfilled)
        .unwrap();

    mock.assert();
    let batches = batches.lock().unwrap().clone();
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(batches.concat(), ids, "every id once, in order");
    assert!(report.all_succeeded());
    assert!(report.unconfirmed.is_empty());
    let reported: Vec<&str> = report.outcomes.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(reported, ids, "outcomes in the order the ids were given");
    assert_eq!(client.requests_sent(), 3);
    assert!(clock.sleeps().is_empty());
}

#[test]
fn exactly_100_ids_are_one_patch() {
    let mut server = Server::new();
    let batches: Batches = Arc::new(Mutex::new(Vec::new()));
    let mock = server
        .mock("PATCH", PATH)
        .with_body_from_request(answer_all("SUCCESS", &batches))
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let report = client
        .update_entitlements(&ids(100), FulfillmentStatus::Fulfilled)
        .unwrap();

    mock.assert();
    assert_eq!(batches.lock().unwrap()[0].len(), 100);
    assert_eq!(report.outcomes.len(), 100);
}

#[test]
fn answers_in_any_order_are_matched_to_their_ids() {
    let mut server = Server::new();
    server
        .mock("PATCH", PATH)
        .with_body(update_answer(&[
            ("NOT_FOUND", &["c", "stranger"]),
            ("SUCCESS", &["d", "a"]),
            ("INVALID_ID", &["b"]),
        ]))
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let report = client
        .update_entitlements(&["a", "b", "c", "d"], FulfillmentStatus::Fulfilled)
        .unwrap();

    assert_eq!(report.status_of("a"), Some(UpdateStatus::Success));
    assert_eq!(report.status_of("b"), Some(UpdateStatus::InvalidId));
    assert_eq!(report.status_of("c"), Some(UpdateStatus::NotFound));
    assert_eq!(report.status_of("d"), Some(UpdateStatus::Success));
    assert_eq!(
        report.status_of("stranger"),
        None,
        "an id not sent is ignored"
    );
    let order: Vec<&str> = report.outcomes.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(order, ["a", "b", "c", "d"], "outcomes in the order given");
}

#[test]
fn every_per_id_status_is_mapped() {
    let mut server = Server::new();
    let mock = server
        .mock("PATCH", PATH)
        .match_body(Matcher::Json(json!({
            "entitlement_ids": ["ok", "bad", "gone", "theirs"],
            "fulfillment_status": "CLAIMED",
        })))
        .with_body(update_answer(&[
            ("SUCCESS", &["ok"]),
            ("INVALID_ID", &["bad"]),
            ("NOT_FOUND", &["gone"]),
            ("UNAUTHORIZED", &["theirs"]),
        ]))
        .expect(1)
        .create();
    let (client, clock) = static_client(&server);

    let report = client
        .update_entitlements(&["ok", "bad", "gone", "theirs"], FulfillmentStatus::Claimed)
        .unwrap();

    mock.assert();
    assert_eq!(report.status_of("ok"), Some(UpdateStatus::Success));
    assert_eq!(report.status_of("bad"), Some(UpdateStatus::InvalidId));
    assert_eq!(report.status_of("gone"), Some(UpdateStatus::NotFound));
    assert_eq!(report.status_of("theirs"), Some(UpdateStatus::Unauthorized));
    assert_eq!(
        report.ids_with(UpdateStatus::NotFound).collect::<Vec<_>>(),
        ["gone"]
    );
    assert!(!report.all_succeeded());
    assert!(report.unconfirmed.is_empty());
    assert!(clock.sleeps().is_empty(), "final statuses are not retried");
}

#[test]
fn update_failed_ids_are_sent_again_in_a_later_round() {
    let mut server = Server::new();
    let first = server
        .mock("PATCH", PATH)
        .match_body(Matcher::Json(json!({
            "entitlement_ids": ["a", "b", "c"],
            "fulfillment_status": "FULFILLED",
        })))
        .with_body(update_answer(&[
            ("SUCCESS", &["a", "c"]),
            ("UPDATE_FAILED", &["b"]),
        ]))
        .expect(1)
        .create();
    let retry = server
        .mock("PATCH", PATH)
        .match_body(Matcher::Json(json!({
            "entitlement_ids": ["b"],
            "fulfillment_status": "FULFILLED",
        })))
        .with_body(update_answer(&[("SUCCESS", &["b"])]))
        .expect(1)
        .create();
    let (client, clock) = static_client(&server);

    let report = client
        .update_entitlements(&["a", "b", "c"], FulfillmentStatus::Fulfilled)
        .unwrap();

    first.assert();
    retry.assert();
    assert!(report.all_succeeded());
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 1, "one pause before the second round");
    let base = RetryPolicy::default().base_delay;
    assert!(sleeps[0] >= base / 2 && sleeps[0] <= base, "{sleeps:?}");
}

#[test]
fn update_failed_is_reported_after_the_allowed_rounds() {
    let mut server = Server::new();
    let batches: Batches = Arc::new(Mutex::new(Vec::new()));
    let rounds = RetryPolicy::default().update_failed_retries;
    let mock = server
        .mock("PATCH", PATH)
        .with_body_from_request(answer_all("UPDATE_FAILED", &batches))
        .expect(rounds as usize + 1)
        .create();
    let (client, clock) = static_client(&server);

    let report = client
        .update_entitlements(&["stuck"], FulfillmentStatus::Fulfilled)
        .unwrap();

    mock.assert();
    assert_eq!(report.status_of("stuck"), Some(UpdateStatus::UpdateFailed));
    assert!(!report.all_succeeded());
    assert_eq!(batches.lock().unwrap().len(), rounds as usize + 1);
    assert_eq!(clock.sleeps().len(), rounds as usize);
}

#[test]
fn update_failed_rounds_follow_the_policy() {
    let mut server = Server::new();
    let batches: Batches = Arc::new(Mutex::new(Vec::new()));
    let mock = server
        .mock("PATCH", PATH)
        .with_body_from_request(answer_all("UPDATE_FAILED", &batches))
        .expect(2)
        .create();
    let clock = clock();
    let policy = RetryPolicy {
        update_failed_retries: 1,
        ..RetryPolicy::default()
    };
    let client = client(
        config(&server, Credentials::AccessToken(TOKEN.into())).with_retry_policy(policy),
        &clock,
    );

    let report = client
        .update_entitlements(&["x", "y"], FulfillmentStatus::Fulfilled)
        .unwrap();

    mock.assert();
    assert_eq!(
        report
            .ids_with(UpdateStatus::UpdateFailed)
            .collect::<Vec<_>>(),
        ["x", "y"]
    );
    assert_eq!(clock.sleeps().len(), 1);
}

#[test]
fn repeated_ids_are_sent_once() {
    let mut server = Server::new();
    let mock = server
        .mock("PATCH", PATH)
        .match_body(Matcher::Json(json!({
            "entitlement_ids": ["a", "b", "c"],
            "fulfillment_status": "FULFILLED",
        })))
        .with_body(update_answer(&[("SUCCESS", &["a", "b", "c"])]))
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let report = client
        .update_entitlements(
            &["a", "b", "a", "c", "b", "a"],
            FulfillmentStatus::Fulfilled,
        )
        .unwrap();

    mock.assert();
    let reported: Vec<&str> = report.outcomes.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(reported, ["a", "b", "c"]);
}

#[test]
fn an_empty_list_sends_nothing() {
    let mut server = Server::new();
    let mock = server.mock("PATCH", PATH).expect(0).create();
    let (client, _clock) = static_client(&server);

    let report = client
        .update_entitlements::<&str>(&[], FulfillmentStatus::Fulfilled)
        .unwrap();

    mock.assert();
    assert!(report.outcomes.is_empty());
    assert_eq!(client.requests_sent(), 0);
}

#[test]
fn a_definite_failure_part_way_reports_what_is_known() {
    let mut server = Server::new();
    let ids = ids(150);
    let first_ids: Vec<&str> = ids[..100].iter().map(String::as_str).collect();
    let first = server
        .mock("PATCH", PATH)
        .match_body(Matcher::PartialJson(
            json!({ "entitlement_ids": first_ids }),
        ))
        .with_body(update_answer(&[("SUCCESS", &first_ids)]))
        .expect(1)
        .create();
    let refused = server
        .mock("PATCH", PATH)
        .with_status(403)
        .with_body(r#"{"error":"Forbidden","status":403,"message":"no"}"#)
        .expect(1)
        .create();
    let (client, clock) = static_client(&server);

    let err = client
        .update_entitlements(&ids, FulfillmentStatus::Fulfilled)
        .unwrap_err();

    first.assert();
    refused.assert();
    match err {
        Error::PartialUpdate { report, cause } => {
            assert_eq!(report.outcomes.len(), 100);
            assert!(report
                .outcomes
                .iter()
                .all(|o| o.status == UpdateStatus::Success));
            assert_eq!(report.unconfirmed, ids[100..].to_vec());
            assert!(
                matches!(*cause, Error::Http { status: 403, .. }),
                "{cause:?}"
            );
        }
        other => panic!("expected PartialUpdate, got {other:?}"),
    }
    assert!(clock.sleeps().is_empty());
}

#[test]
fn a_failure_before_any_outcome_is_the_cause_itself() {
    let mut server = Server::new();
    let mock = server
        .mock("PATCH", PATH)
        .with_status(400)
        .with_body(r#"{"error":"Bad Request","status":400,"message":"bad status"}"#)
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let err = client
        .update_entitlements(&["a"], FulfillmentStatus::Fulfilled)
        .unwrap_err();

    mock.assert();
    assert!(
        matches!(&err, Error::Http { status: 400, message, .. } if message == "bad status"),
        "{err:?}"
    );
}

#[test]
fn ids_the_answer_leaves_out_are_re_read_not_guessed() {
    let mut server = Server::new();
    let patch = server
        .mock("PATCH", PATH)
        .with_body(update_answer(&[("SUCCESS", &["a"])]))
        .expect(1)
        .create();
    let reread = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact("id=b&first=100".into()))
        .with_body(page(&["b"], "FULFILLED", None))
        .expect(1)
        .create();
    let (client, clock) = static_client(&server);

    let report = client
        .update_entitlements(&["a", "b"], FulfillmentStatus::Fulfilled)
        .unwrap();

    patch.assert();
    reread.assert();
    assert!(report.all_succeeded());
    assert_eq!(clock.sleeps().len(), 1, "a pause before the re-read");
    assert!(clock.slept() <= Duration::from_secs(1));
}
