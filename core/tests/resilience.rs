//! What happens when Twitch or the network misbehaves: 429 and the rate-limit headers, 5xx
//! and backoff, unreadable 200 bodies, and PATCHes whose outcome is unknown (re-read, then
//! resend only what is not yet applied).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use mockito::{Matcher, Server};
use serde_json::json;
use twitch_drops::{
    Client, Config, Credentials, EntitlementsQuery, Error, FulfillmentStatus, HttpRequest,
    HttpResponse, Method, RateLimit, RetryPolicy, Transport, TransportError, TransportErrorKind,
    UpdateStatus, UreqTransport,
};

const PATH: &str = "/helix/entitlements/drops";
const NOW_SECS: u64 = NOW_MS / 1000;
/// Two points' time at 800 a minute: what a 429 with an empty bucket waits.
const TWO_POINTS: Duration = Duration::from_millis(150);
/// `NOW_SECS` as an HTTP date: the server's clock agrees with the client's.
const NOW_DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";

fn limited(mock: mockito::Mock, remaining: u32, reset: u64) -> mockito::Mock {
    mock.with_header("Ratelimit-Limit", "800")
        .with_header("Ratelimit-Remaining", &remaining.to_string())
        .with_header("Ratelimit-Reset", &reset.to_string())
        .with_header("Date", NOW_DATE)
}

/// Asserts each backoff is in `[base·2ⁿ/2, base·2ⁿ]`.
fn assert_backoff(sleeps: &[Duration], policy: &RetryPolicy) {
    for (n, sleep) in sleeps.iter().enumerate() {
        let ceiling = (policy.base_delay * (1 << n)).min(policy.max_delay);
        assert!(
            *sleep >= ceiling / 2 && *sleep <= ceiling,
            "backoff #{n} = {sleep:?}, expected within [{:?}, {ceiling:?}]",
            ceiling / 2
        );
    }
}

// ---- 429 and rate limits ----

#[test]
fn a_429_with_an_empty_bucket_waits_for_points_to_come_back_then_resends() {
    let mut server = Server::new();
    let reset = NOW_SECS + 12;
    let limited_mock = limited(
        server
            .mock("GET", PATH)
            .match_query(Matcher::Any)
            .with_status(429)
            .with_body(r#"{"error":"Too Many Requests","status":429,"message":""}"#),
        0,
        reset,
    )
    .expect(1)
    .create();
    let ok = limited(
        server
            .mock("GET", PATH)
            .match_query(Matcher::Any)
            .with_body(page(&["e1"], "CLAIMED", None)),
        799,
        NOW_SECS + 60,
    )
    .expect(1)
    .create();
    let (client, clock) = static_client(&server);

    let page = client.entitlements_page(&EntitlementsQuery::new()).unwrap();

    limited_mock.assert();
    ok.assert();
    assert_eq!(page.entitlements.len(), 1);
    // Not until the reset (12 s away): points come back every 75 ms.
    assert_eq!(clock.sleeps(), [TWO_POINTS]);
    assert_eq!(client.requests_sent(), 2);
    assert_eq!(
        client.rate_limit(),
        Some(RateLimit {
            limit: 800,
            remaining: 799,
            reset_at_secs: NOW_SECS + 60,
        })
    );
}

#[test]
fn rate_limit_follows_the_last_response() {
    let mut server = Server::new();
    let first = limited(
        server
            .mock("GET", PATH)
            .match_query(Matcher::Exact("first=1".into()))
            .with_body(page(&[], "CLAIMED", None)),
        700,
        NOW_SECS + 30,
    )
    .create();
    let second = limited(
        server
            .mock("GET", PATH)
            .match_query(Matcher::Exact("first=2".into()))
            .with_body(page(&[], "CLAIMED", None)),
        650,
        NOW_SECS + 45,
    )
    .create();
    let (client, _clock) = static_client(&server);
    assert_eq!(client.rate_limit(), None, "nothing read yet");

    client
        .entitlements_page(&EntitlementsQuery::new().first(1))
        .unwrap();
    assert_eq!(client.rate_limit().unwrap().remaining, 700);
    assert_eq!(client.rate_limit().unwrap().reset_at_secs, NOW_SECS + 30);

    client
        .entitlements_page(&EntitlementsQuery::new().first(2))
        .unwrap();
    let limit = client.rate_limit().unwrap();
    assert_eq!(limit.limit, 800);
    assert_eq!(limit.remaining, 650);
    assert_eq!(limit.reset_at_secs, NOW_SECS + 45);
    assert_eq!(limit.until_reset(NOW_MS), Duration::from_secs(45));
    first.assert();
    second.assert();
}

#[test]
fn too_many_429s_end_in_rate_limited() {
    let mut server = Server::new();
    let waits = RetryPolicy::default().max_rate_limit_waits;
    let reset = NOW_SECS + 3;
    let mock = limited(
        server
            .mock("GET", PATH)
            .match_query(Matcher::Any)
            .with_status(429),
        0,
        reset,
    )
    .expect(waits as usize + 1)
    .create();
    let (client, clock) = static_client(&server);

    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();

    mock.assert();
    assert_eq!(
        err,
        Error::RateLimited {
            reset_at_ms: Some(reset * 1000)
        }
    );
    assert_eq!(err.status(), Some(429));
    // Each wait is two points' time; the bucket then lets the resend out at once.
    assert_eq!(clock.sleeps(), vec![TWO_POINTS; waits as usize]);
}

#[test]
fn a_429_with_points_left_backs_off_instead_of_waiting_for_the_reset() {
    let mut server = Server::new();
    let spurious = limited(
        server
            .mock("GET", PATH)
            .match_query(Matcher::Any)
            .with_status(429),
        500,
        NOW_SECS + 50,
    )
    .expect(1)
    .create();
    let ok = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_body(page(&[], "CLAIMED", None))
        .expect(1)
        .create();
    let (client, clock) = static_client(&server);

    client.entitlements_page(&EntitlementsQuery::new()).unwrap();

    spurious.assert();
    ok.assert();
    assert_backoff(&clock.sleeps(), &RetryPolicy::default());
    assert_eq!(clock.sleeps().len(), 1);
}

#[test]
fn retry_after_is_honoured() {
    let mut server = Server::new();
    let limited_mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_status(429)
        .with_header("Retry-After", "7")
        .expect(1)
        .create();
    let ok = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_body(page(&[], "CLAIMED", None))
        .expect(1)
        .create();
    let (client, clock) = static_client(&server);

    client.entitlements_page(&EntitlementsQuery::new()).unwrap();

    limited_mock.assert();
    ok.assert();
    assert_eq!(clock.sleeps(), [Duration::from_secs(7)]);
}

#[test]
fn a_rate_limited_patch_is_resent_without_a_re_read() {
    let mut server = Server::new();
    let limited_mock = limited(server.mock("PATCH", PATH).with_status(429), 0, NOW_SECS + 2)
        .expect(1)
        .create();
    let ok = server
        .mock("PATCH", PATH)
        .match_body(Matcher::Json(
            json!({ "entitlement_ids": ["a"], "fulfillment_status": "FULFILLED" }),
        ))
        .with_body(update_answer(&[("SUCCESS", &["a"])]))
        .expect(1)
        .create();
    let reread = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .expect(0)
        .create();
    let (client, clock) = static_client(&server);

    let report = client
        .update_entitlements(&["a"], FulfillmentStatus::Fulfilled)
        .unwrap();

    limited_mock.assert();
    ok.assert();
    reread.assert();
    assert!(report.all_succeeded());
    assert_eq!(clock.sleeps(), [TWO_POINTS]);
}

// ---- 5xx ----

#[test]
fn a_500_then_200_is_retried_after_a_backoff() {
    let mut server = Server::new();
    let failing = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_status(500)
        .with_body(r#"{"error":"Internal Server Error","status":500,"message":""}"#)
        .expect(1)
        .create();
    let ok = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_body(page(&["e1"], "CLAIMED", None))
        .expect(1)
        .create();
    let (client, clock) = static_client(&server);

    let page = client.entitlements_page(&EntitlementsQuery::new()).unwrap();

    failing.assert();
    ok.assert();
    assert_eq!(page.entitlements[0].id, "e1");
    assert_eq!(clock.sleeps().len(), 1);
    assert_backoff(&clock.sleeps(), &RetryPolicy::default());
}

#[test]
fn a_503_html_page_then_200_is_retried() {
    let mut server = Server::new();
    let failing = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_status(503)
        .with_header("content-type", "text/html")
        .with_body("<html><body><h1>503 Service Unavailable</h1></body></html>")
        .expect(1)
        .create();
    let ok = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_body(page(&["e1"], "CLAIMED", None))
        .expect(1)
        .create();
    let (client, clock) = static_client(&server);

    client.entitlements_page(&EntitlementsQuery::new()).unwrap();

    failing.assert();
    ok.assert();
    assert_eq!(clock.sleeps().len(), 1);
}

#[test]
fn a_persistent_500_fails_after_max_retries_plus_one_attempts() {
    let mut server = Server::new();
    let policy = RetryPolicy::default();
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_status(500)
        .with_body(r#"{"error":"Internal Server Error","status":500,"message":"oops"}"#)
        .expect(policy.max_retries as usize + 1)
        .create();
    let (client, clock) = static_client(&server);

    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();

    mock.assert();
    match &err {
        Error::Http {
            status: 500,
            error,
            message,
        } => {
            assert_eq!(error, "Internal Server Error");
            assert_eq!(message, "oops");
        }
        other => panic!("expected Http 500, got {other:?}"),
    }
    assert!(err.to_string().contains("retries exhausted"), "{err}");
    assert_eq!(client.requests_sent(), policy.max_retries as u64 + 1);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), policy.max_retries as usize);
    assert_backoff(&sleeps, &policy);
}

#[test]
fn a_non_json_error_body_is_described_not_panicked_on() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_status(503)
        .with_header("content-type", "text/html; charset=utf-8")
        .with_body("<html>\u{0}\u{fffd} not json")
        .expect(1)
        .create();
    let clock = clock();
    let client = client(
        config(&server, Credentials::AccessToken(TOKEN.into())).with_retry_policy(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }),
        &clock,
    );

    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();

    mock.assert();
    match &err {
        Error::Http {
            status: 503,
            error,
            message,
        } => {
            assert!(error.is_empty());
            assert!(
                message.starts_with("non-JSON error body (text/html; charset=utf-8,"),
                "{message}"
            );
        }
        other => panic!("expected Http 503, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(shown.contains("503"), "{shown}");
    assert!(clock.sleeps().is_empty());
}

#[test]
fn an_empty_error_body_says_no_message() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_status(404)
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();

    mock.assert();
    assert_eq!(
        err,
        Error::Http {
            status: 404,
            error: String::new(),
            message: String::new()
        }
    );
    assert!(err.to_string().contains("no message"), "{err}");
}

// ---- unreadable 200 bodies ----

#[test]
fn a_truncated_page_is_read_again() {
    let mut server = Server::new();
    let truncated = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_body(r#"{"data":[{"id""#)
        .expect(1)
        .create();
    let ok = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_body(page(&["e1"], "CLAIMED", None))
        .expect(1)
        .create();
    let (client, clock) = static_client(&server);

    let page = client.entitlements_page(&EntitlementsQuery::new()).unwrap();

    truncated.assert();
    ok.assert();
    assert_eq!(page.entitlements[0].id, "e1");
    assert_eq!(clock.sleeps().len(), 1);
}

#[test]
fn a_page_that_never_parses_is_a_decode_error() {
    let mut server = Server::new();
    let policy = RetryPolicy::default();
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_body(r#"{"data":[{"id""#)
        .expect(policy.max_retries as usize + 1)
        .create();
    let (client, _clock) = static_client(&server);

    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();

    mock.assert();
    assert!(
        matches!(
            err,
            Error::Decode {
                context: "entitlements page",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn an_unreadable_patch_answer_is_re_read_and_only_unapplied_ids_are_resent() {
    let mut server = Server::new();
    let first = server
        .mock("PATCH", PATH)
        .match_body(Matcher::Json(json!({
            "entitlement_ids": ["a", "b", "c"],
            "fulfillment_status": "FULFILLED",
        })))
        .with_body(r#"{"data":[{"status":"SUCC"#)
        .expect(1)
        .create();
    let reread = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact("id=a&id=b&id=c&first=100".into()))
        .match_header("authorization", bearer(TOKEN).as_str())
        .with_body(
            json!({
                "data": [
                    entitlement("a", "FULFILLED"),
                    entitlement("b", "CLAIMED"),
                    entitlement("c", "CLAIMED"),
                ],
                "pagination": {},
            })
            .to_string(),
        )
        .expect(1)
        .create();
    let resend = server
        .mock("PATCH", PATH)
        .match_body(Matcher::Json(json!({
            "entitlement_ids": ["b", "c"],
            "fulfillment_status": "FULFILLED",
        })))
        .with_body(update_answer(&[("SUCCESS", &["b", "c"])]))
        .expect(1)
        .create();
    let (client, clock) = static_client(&server);

    let report = client
        .update_entitlements(&["a", "b", "c"], FulfillmentStatus::Fulfilled)
        .unwrap();

    first.assert();
    reread.assert();
    resend.assert();
    assert!(report.all_succeeded());
    assert_eq!(client.requests_sent(), 3);
    assert_eq!(clock.sleeps().len(), 1, "a pause before the re-read");
}

#[test]
fn a_patch_500_is_ambiguous_and_nothing_applied_is_sent_again() {
    let mut server = Server::new();
    let patch = server
        .mock("PATCH", PATH)
        .with_status(502)
        .with_body("bad gateway")
        .expect(1)
        .create();
    let reread = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact("id=a&id=b&first=100".into()))
        .with_body(page(&["a", "b"], "FULFILLED", None))
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let report = client
        .update_entitlements(&["a", "b"], FulfillmentStatus::Fulfilled)
        .unwrap();

    patch.assert();
    reread.assert();
    assert_eq!(report.status_of("a"), Some(UpdateStatus::Success));
    assert_eq!(report.status_of("b"), Some(UpdateStatus::Success));
    assert_eq!(client.requests_sent(), 2, "no second PATCH");
}

// ---- lost answers to a PATCH ----

#[test]
fn a_dropped_connection_on_patch_re_reads_before_resending_only_the_rest() {
    let reread_body = json!({
        "data": [
            entitlement("a", "FULFILLED"),
            entitlement("b", "CLAIMED"),
            entitlement("c", "CLAIMED"),
        ],
        "pagination": {},
    })
    .to_string();
    let server = ScriptedServer::start(vec![
        Action::Close,
        Action::Respond(raw_response(200, &reread_body)),
        Action::Respond(raw_response(
            200,
            &update_answer(&[("SUCCESS", &["b", "c"])]),
        )),
    ]);
    let clock = clock();
    let client = client(
        config_at(&server.url(), Credentials::AccessToken(TOKEN.into())),
        &clock,
    );

    let report = client
        .update_entitlements(&["a", "b", "c"], FulfillmentStatus::Fulfilled)
        .unwrap();
    let requests = server.finish();

    assert!(report.all_succeeded(), "{report:?}");
    let shape: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.target.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("PATCH", PATH),
            ("GET", "/helix/entitlements/drops?id=a&id=b&id=c&first=100"),
            ("PATCH", PATH),
        ],
        "re-read before any resend"
    );
    assert_eq!(patch_ids(&requests[0].body), ["a", "b", "c"]);
    assert_eq!(
        patch_ids(&requests[2].body),
        ["b", "c"],
        "a is not sent again"
    );
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some(bearer(TOKEN).as_str())
        );
        assert_eq!(request.header("client-id"), Some(CLIENT_ID));
    }
    assert_eq!(clock.sleeps().len(), 1);
    assert_eq!(client.requests_sent(), 3);
}

#[test]
fn a_lone_id_whose_answer_is_always_lost_ends_unconfirmed() {
    let claimed = raw_response(200, &page(&["a"], "CLAIMED", None));
    let server = ScriptedServer::start(vec![
        Action::Close,
        Action::Respond(claimed.clone()),
        Action::Close,
        Action::Respond(claimed),
    ]);
    let clock = clock();
    let client = client(
        config_at(&server.url(), Credentials::AccessToken(TOKEN.into())).with_retry_policy(
            RetryPolicy {
                max_retries: 1,
                ..RetryPolicy::default()
            },
        ),
        &clock,
    );

    let report = client
        .update_entitlements(&["a"], FulfillmentStatus::Fulfilled)
        .unwrap();
    let requests = server.finish();

    assert_eq!(report.unconfirmed, ["a"]);
    assert!(report.outcomes.is_empty());
    assert!(!report.all_succeeded());
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(
        methods,
        ["PATCH", "GET", "PATCH", "GET"],
        "every lost answer is re-read"
    );
    assert_eq!(clock.sleeps().len(), 2, "a pause before each re-read");
}

#[test]
fn a_failed_re_read_after_a_partial_success_is_a_partial_update() {
    let ids = ids(101);
    let first_ids: Vec<&str> = ids[..100].iter().map(String::as_str).collect();
    let server = ScriptedServer::start(vec![
        Action::Respond(raw_response(
            200,
            &update_answer(&[("SUCCESS", &first_ids)]),
        )),
        Action::Close,
        Action::Respond(raw_response(
            403,
            r#"{"error":"Forbidden","status":403,"message":"not yours"}"#,
        )),
    ]);
    let clock = clock();
    let client = client(
        config_at(&server.url(), Credentials::AccessToken(TOKEN.into())),
        &clock,
    );

    let err = client
        .update_entitlements(&ids, FulfillmentStatus::Fulfilled)
        .unwrap_err();
    let requests = server.finish();

    match err {
        Error::PartialUpdate { report, cause } => {
            assert_eq!(report.outcomes.len(), 100);
            assert_eq!(report.unconfirmed, [ids[100].clone()]);
            assert!(
                matches!(*cause, Error::Http { status: 403, .. }),
                "{cause:?}"
            );
        }
        other => panic!("expected PartialUpdate, got {other:?}"),
    }
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["PATCH", "PATCH", "GET"]);
}

#[test]
fn a_batch_that_keeps_failing_is_split_so_one_bad_id_cannot_hold_back_the_rest() {
    let mut server = Server::new();
    let batches: Batches = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&batches);
    // Any PATCH holding "d" fails (a viewer whose calls always answer 500).
    let poisoned = server
        .mock("PATCH", PATH)
        .match_request(|request| {
            patch_ids(request.body().expect("body")).contains(&"d".to_string())
        })
        .with_status(500)
        .with_body_from_request(move |request| {
            recorded
                .lock()
                .unwrap()
                .push(patch_ids(request.body().expect("body")));
            Vec::new()
        })
        .expect_at_least(1)
        .create();
    let healthy = server
        .mock("PATCH", PATH)
        .match_request(|request| {
            !patch_ids(request.body().expect("body")).contains(&"d".to_string())
        })
        .with_body_from_request(answer_all("SUCCESS", &batches))
        .expect_at_least(1)
        .create();
    // The re-read finds every id it is asked about still CLAIMED.
    let reread = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_body_from_request(|request| {
            let query = request.path_and_query().split_once('?').map_or("", |q| q.1);
            let asked: Vec<String> = query
                .split('&')
                .filter_map(|pair| pair.strip_prefix("id="))
                .map(str::to_string)
                .collect();
            let refs: Vec<&str> = asked.iter().map(String::as_str).collect();
            page(&refs, "CLAIMED", None).into_bytes()
        })
        .expect_at_least(1)
        .create();
    let (client, _clock) = static_client(&server);

    let report = client
        .update_entitlements(&["a", "b", "c", "d"], FulfillmentStatus::Fulfilled)
        .unwrap();

    poisoned.assert();
    healthy.assert();
    reread.assert();
    assert_eq!(report.status_of("a"), Some(UpdateStatus::Success));
    assert_eq!(report.status_of("b"), Some(UpdateStatus::Success));
    assert_eq!(report.status_of("c"), Some(UpdateStatus::Success));
    assert_eq!(report.status_of("d"), None);
    assert_eq!(report.unconfirmed, ["d"]);
    // Two ambiguous answers in a row split a batch in halves; the lone bad id is then
    // tried up to max_retries times in all.
    let whole = vec!["a", "b", "c", "d"];
    let mut expected = vec![
        whole.clone(),
        whole,
        vec!["a", "b"],
        vec!["c", "d"],
        vec!["c"],
    ];
    let max_retries = RetryPolicy::default().max_retries as usize;
    expected.extend(std::iter::repeat_n(vec!["d"], max_retries));
    assert_eq!(*batches.lock().unwrap(), expected);
    let failures = expected.iter().filter(|ids| ids.contains(&"d")).count();
    assert_eq!(
        client.requests_sent() as usize,
        expected.len() + failures,
        "a re-read after each failure"
    );
}

/// Forwards to ureq, then reports the connection lost after the first PATCH reached the
/// server (applied, answer lost).
fn lose_first_patch_answer(
    calls: Arc<AtomicUsize>,
) -> impl Fn(HttpRequest) -> Result<HttpResponse, TransportError> {
    let inner = UreqTransport::new();
    move |request: HttpRequest| {
        let is_patch = request.method == Method::Patch;
        let response = inner.send(request)?;
        if is_patch && calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(TransportError::new(
                TransportErrorKind::Interrupted,
                "connection reset after the request was sent",
            ));
        }
        Ok(response)
    }
}

#[test]
fn an_applied_patch_whose_answer_was_lost_is_not_sent_again() {
    let mut server = Server::new();
    let patch = server
        .mock("PATCH", PATH)
        .with_body(update_answer(&[("SUCCESS", &["a", "b"])]))
        .expect(1)
        .create();
    let reread = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact("id=a&id=b&first=100".into()))
        .with_body(page(&["a", "b"], "FULFILLED", None))
        .expect(1)
        .create();
    let clock = clock();
    let patches = Arc::new(AtomicUsize::new(0));
    let client = Client::with_transport(
        config(&server, Credentials::AccessToken(TOKEN.into())),
        lose_first_patch_answer(Arc::clone(&patches)),
        Arc::clone(&clock),
    )
    .unwrap();

    let report = client
        .update_entitlements(&["a", "b"], FulfillmentStatus::Fulfilled)
        .unwrap();

    patch.assert();
    reread.assert();
    assert!(report.all_succeeded());
    assert_eq!(
        patches.load(Ordering::SeqCst),
        1,
        "one PATCH reached the server"
    );
}

#[test]
fn a_patch_that_never_connected_is_resent_without_a_re_read() {
    let mut server = Server::new();
    let patch = server
        .mock("PATCH", PATH)
        .with_body(update_answer(&[("SUCCESS", &["a"])]))
        .expect(1)
        .create();
    let reread = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .expect(0)
        .create();
    let clock = clock();
    let attempts = AtomicUsize::new(0);
    let inner = UreqTransport::new();
    // The server answered once (a 429: not applied), so a failed connection after it is
    // taken as passing and retried (a client that never reached a server fails at once).
    let transport = |request: HttpRequest| match attempts.fetch_add(1, Ordering::SeqCst) {
        0 => Ok(HttpResponse {
            status: 429,
            headers: Vec::new(),
            body: Vec::new(),
        }),
        1 => Err(TransportError::new(
            TransportErrorKind::Connect,
            "connection refused",
        )),
        _ => inner.send(request),
    };
    let client = Client::with_transport(
        config(&server, Credentials::AccessToken(TOKEN.into())),
        transport,
        Arc::clone(&clock),
    )
    .unwrap();

    let report = client
        .update_entitlements(&["a"], FulfillmentStatus::Fulfilled)
        .unwrap();

    patch.assert();
    reread.assert();
    assert!(report.all_succeeded());
    assert_eq!(client.requests_sent(), 3);
    assert_eq!(clock.sleeps().len(), 2);
}

#[test]
fn a_client_that_never_reached_a_server_fails_at_once_naming_it() {
    let clock = clock();
    let attempts = AtomicUsize::new(0);
    let transport = |_: HttpRequest| -> Result<HttpResponse, TransportError> {
        attempts.fetch_add(1, Ordering::SeqCst);
        Err(TransportError::new(
            TransportErrorKind::Connect,
            "127.0.0.1:9: connection refused",
        ))
    };
    let client = Client::with_transport(
        Config::new("cid", Credentials::AccessToken(TOKEN.into()))
            .with_helix_url("http://127.0.0.1:9/helix"),
        transport,
        Arc::clone(&clock),
    )
    .unwrap();
    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "no retry");
    assert!(clock.sleeps().is_empty());
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
}
