//! Operations driven by hand, without the `Client`: the protocol an async driver (the WASM
//! package, a C callback loop) reuses. Every step is asserted: asking for a token, the exact
//! request, a 429 and its sleep, a 401 and the token it rejects, a lost PATCH answer and
//! its re-read, and the final result.

mod common;

use std::time::Duration;

use common::{entitlement, page, update_answer, NOW_MS, TOKEN};
use serde_json::json;
use twitch_drops::entitlements::get_entitlements;
use twitch_drops::update::update_entitlements;
use twitch_drops::{
    analytics, device, token, AccessToken, Authorization, Config, Credentials, DeviceCode,
    EntitlementPages, EntitlementsQuery, Error, FulfillmentStatus, HttpRequest, HttpResponse,
    Input, Method, Operation, Step, TokenStore, TransportError, TransportErrorKind, UpdateStatus,
};

const HELIX: &str = "https://api.twitch.tv/helix";

fn static_config() -> Config {
    Config::new("cid", Credentials::AccessToken(TOKEN.into()))
}

fn expect_send<T: std::fmt::Debug>(step: Step<T>) -> HttpRequest {
    match step {
        Step::Send(request) => request,
        other => panic!("expected Send, got {other:?}"),
    }
}

fn expect_sleep<T: std::fmt::Debug>(step: Step<T>) -> Duration {
    match step {
        Step::Sleep(duration) => duration,
        other => panic!("expected Sleep, got {other:?}"),
    }
}

fn expect_done<T: std::fmt::Debug>(step: Step<T>) -> Result<T, Error> {
    match step {
        Step::Done(result) => result,
        other => panic!("expected Done, got {other:?}"),
    }
}

fn ready(store: &TokenStore, rejected: Option<u64>, now: u64) -> AccessToken {
    match store.authorize(rejected, now) {
        Authorization::Ready(token) => token,
        other => panic!("expected a ready token, got {other:?}"),
    }
}

fn json_response(status: u16, body: String) -> HttpResponse {
    HttpResponse::new(status, body).with_header("Content-Type", "application/json")
}

#[test]
fn a_page_step_by_step_through_a_429() {
    let config = static_config();
    let store = TokenStore::new(&config);
    let query = EntitlementsQuery::new().game("509658").first(10);
    let mut op = get_entitlements(&config, &query).unwrap();
    let mut now = NOW_MS;

    // 1. The operation asks for a token; nothing was rejected yet.
    assert!(matches!(
        op.resume(Input::Start, now),
        Step::Authorize { rejected: None }
    ));
    let token = ready(&store, None, now);
    assert_eq!(token.secret().expose(), TOKEN);

    // 2. With the token it asks to send the request, fully formed.
    let request = expect_send(op.resume(Input::Token(Ok(token)), now));
    assert_eq!(request.method, Method::Get);
    assert_eq!(
        request.url,
        format!("{HELIX}/entitlements/drops?game_id=509658&first=10")
    );
    assert_eq!(request.header("Client-Id"), Some("cid"));
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.header("Accept"), Some("application/json"));
    assert_eq!(request.body, None);

    // 3. A 429 with an empty bucket: sleep while two points come back (800 a minute: one
    //    every 75 ms), not until the reset, when the bucket is full.
    let reset_secs = NOW_MS / 1000 + 5;
    let limited = HttpResponse::new(429, "")
        .with_header("Ratelimit-Limit", "800")
        .with_header("Ratelimit-Remaining", "0")
        .with_header("Ratelimit-Reset", reset_secs.to_string());
    let wait = expect_sleep(op.resume(Input::Response(limited), now));
    assert_eq!(wait, Duration::from_millis(150));
    now += wait.as_millis() as u64;

    // 4. After the sleep, the same request again (the token is kept).
    let resend = expect_send(op.resume(Input::Slept, now));
    assert_eq!(resend, request);

    // 5. The answer: the page.
    let body = page(&["e1", "e2"], "CLAIMED", Some("next"));
    let result = expect_done(op.resume(Input::Response(json_response(200, body)), now));
    let page = result.unwrap();
    assert_eq!(page.entitlements.len(), 2);
    assert_eq!(page.cursor.as_deref(), Some("next"));
}

#[test]
fn a_5xx_and_a_transport_failure_each_ask_for_a_backoff_sleep() {
    let config = static_config();
    let store = TokenStore::new(&config);
    let mut op = get_entitlements(&config, &EntitlementsQuery::new()).unwrap();
    let now = NOW_MS;

    assert!(matches!(
        op.resume(Input::Start, now),
        Step::Authorize { rejected: None }
    ));
    let request = expect_send(op.resume(Input::Token(Ok(ready(&store, None, now))), now));

    let first = expect_sleep(op.resume(Input::Response(HttpResponse::new(503, "<html>")), now));
    assert!(first <= Duration::from_millis(250), "{first:?}");
    assert_eq!(expect_send(op.resume(Input::Slept, now)), request);

    let lost = TransportError::new(TransportErrorKind::Interrupted, "reset");
    let second = expect_sleep(op.resume(Input::TransportFailed(lost), now));
    assert!(second <= Duration::from_millis(500), "{second:?}");
    assert_eq!(expect_send(op.resume(Input::Slept, now)), request);

    let done = expect_done(op.resume(
        Input::Response(json_response(200, page(&[], "CLAIMED", None))),
        now,
    ));
    assert!(done.unwrap().entitlements.is_empty());
}

#[test]
fn a_401_names_the_rejected_token_and_an_app_store_fetches_a_new_one() {
    let config = Config::new("cid", Credentials::ClientSecret("app-secret".into()));
    let mut store = TokenStore::new(&config);
    let mut op = get_entitlements(&config, &EntitlementsQuery::new()).unwrap();
    let now = NOW_MS;

    assert!(matches!(
        op.resume(Input::Start, now),
        Step::Authorize { rejected: None }
    ));

    // The store has no token yet: it hands out the fetch, an operation of its own.
    let first = fetch_app_token(&mut store, None, "app-1", now);
    let request = expect_send(op.resume(Input::Token(Ok(first.clone())), now));
    assert_eq!(request.header("Authorization"), Some("Bearer app-1"));

    // A 401: the operation asks for another token, naming the one Twitch refused.
    let unauthorized = json_response(
        401,
        json!({"error":"Unauthorized","status":401,"message":"Invalid OAuth token"}).to_string(),
    );
    match op.resume(Input::Response(unauthorized.clone()), now) {
        Step::Authorize { rejected } => assert_eq!(rejected, Some(first.id())),
        other => panic!("expected Authorize, got {other:?}"),
    }
    let second = fetch_app_token(&mut store, Some(first.id()), "app-2", now);
    assert_ne!(second.id(), first.id());
    let resend = expect_send(op.resume(Input::Token(Ok(second.clone())), now));
    assert_eq!(resend.header("Authorization"), Some("Bearer app-2"));

    // The cached token is now the new one, for every later operation.
    assert_eq!(ready(&store, None, now), second);

    // A second 401 is believed.
    let done = expect_done(op.resume(Input::Response(unauthorized), now));
    assert!(
        matches!(done, Err(Error::Unauthorized { status: 401, .. })),
        "{done:?}"
    );
}

/// Answers `Authorization::Fetch` by driving the token request by hand.
fn fetch_app_token(
    store: &mut TokenStore,
    rejected: Option<u64>,
    token: &str,
    now: u64,
) -> AccessToken {
    let mut fetch = match store.authorize(rejected, now) {
        Authorization::Fetch(fetch) => fetch,
        other => panic!("expected Fetch, got {other:?}"),
    };
    let request = expect_send(fetch.resume(Input::Start, now));
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.url, "https://id.twitch.tv/oauth2/token");
    assert_eq!(request.header("Authorization"), None);
    assert_eq!(
        request.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        request.body.as_deref(),
        Some(&b"client_id=cid&client_secret=app-secret&grant_type=client_credentials"[..])
    );
    let answer = json_response(
        200,
        json!({"access_token": token, "expires_in": 5_000_000, "token_type": "bearer"}).to_string(),
    );
    let fetched = expect_done(fetch.resume(Input::Response(answer), now)).unwrap();
    store.install(fetched, now)
}

#[test]
fn a_static_store_refuses_to_replace_a_rejected_token() {
    let config = static_config();
    let store = TokenStore::new(&config);
    let token = ready(&store, None, NOW_MS);

    match store.authorize(Some(token.id()), NOW_MS) {
        Authorization::Failed(Error::Unauthorized { status: 401, .. }) => {}
        other => panic!("expected Failed(Unauthorized), got {other:?}"),
    }
    // A stale rejection (of a token no longer current) does not matter.
    assert_eq!(ready(&store, Some(token.id() + 100), NOW_MS), token);
}

#[test]
fn an_update_step_by_step_through_update_failed_and_a_lost_answer() {
    let config = static_config();
    let store = TokenStore::new(&config);
    let mut op =
        update_entitlements(&config, &["a", "b", "c"], FulfillmentStatus::Fulfilled).unwrap();
    let now = NOW_MS;

    // Round one: the PATCH, with its JSON body.
    assert!(matches!(
        op.resume(Input::Start, now),
        Step::Authorize { rejected: None }
    ));
    let patch = expect_send(op.resume(Input::Token(Ok(ready(&store, None, now))), now));
    assert_eq!(patch.method, Method::Patch);
    assert_eq!(patch.url, format!("{HELIX}/entitlements/drops"));
    assert_eq!(patch.header("Content-Type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(patch.body.as_ref().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"entitlement_ids": ["a", "b", "c"], "fulfillment_status": "FULFILLED"})
    );

    // a succeeds, b and c fail for now: a pause, then a second round for b and c.
    let answer = update_answer(&[("SUCCESS", &["a"]), ("UPDATE_FAILED", &["b", "c"])]);
    expect_sleep(op.resume(Input::Response(json_response(200, answer)), now));
    assert!(matches!(
        op.resume(Input::Slept, now),
        Step::Authorize { rejected: None }
    ));
    let retry = expect_send(op.resume(Input::Token(Ok(ready(&store, None, now))), now));
    let body: serde_json::Value = serde_json::from_slice(retry.body.as_ref().unwrap()).unwrap();
    assert_eq!(body["entitlement_ids"], json!(["b", "c"]));

    // The answer to that PATCH is lost: no blind resend, a pause and a re-read instead.
    let lost = TransportError::new(TransportErrorKind::Interrupted, "connection reset");
    expect_sleep(op.resume(Input::TransportFailed(lost), now));
    assert!(matches!(
        op.resume(Input::Slept, now),
        Step::Authorize { rejected: None }
    ));
    let reread = expect_send(op.resume(Input::Token(Ok(ready(&store, None, now))), now));
    assert_eq!(reread.method, Method::Get);
    assert_eq!(
        reread.url,
        format!("{HELIX}/entitlements/drops?id=b&id=c&first=100")
    );

    // b was applied before the connection dropped; only c is sent again.
    let current = json!({
        "data": [entitlement("b", "FULFILLED"), entitlement("c", "CLAIMED")],
        "pagination": {},
    })
    .to_string();
    assert!(matches!(
        op.resume(Input::Response(json_response(200, current)), now),
        Step::Authorize { rejected: None }
    ));
    let resend = expect_send(op.resume(Input::Token(Ok(ready(&store, None, now))), now));
    let body: serde_json::Value = serde_json::from_slice(resend.body.as_ref().unwrap()).unwrap();
    assert_eq!(body["entitlement_ids"], json!(["c"]));

    let answer = update_answer(&[("SUCCESS", &["c"])]);
    let report = expect_done(op.resume(Input::Response(json_response(200, answer)), now)).unwrap();
    assert!(report.all_succeeded());
    let order: Vec<(&str, UpdateStatus)> = report
        .outcomes
        .iter()
        .map(|o| (o.id.as_str(), o.status))
        .collect();
    assert_eq!(
        order,
        [
            ("a", UpdateStatus::Success),
            ("b", UpdateStatus::Success),
            ("c", UpdateStatus::Success)
        ]
    );
}

#[test]
fn paging_state_is_reusable_by_any_driver() {
    let config = static_config();
    let store = TokenStore::new(&config);
    let mut pages = EntitlementPages::new(EntitlementsQuery::new().first(2)).unwrap();
    let answers = [
        page(&["e1", "e2"], "CLAIMED", Some("c1")),
        page(&["e3"], "CLAIMED", None),
    ];
    let mut urls = Vec::new();
    let mut seen = Vec::new();

    for body in answers {
        // Boxed, as a driver holding operations of several kinds would.
        let mut op: Box<dyn Operation<Output = _>> =
            Box::new(pages.next_request(&config).unwrap().expect("another page"));
        assert!(matches!(
            op.resume(Input::Start, NOW_MS),
            Step::Authorize { rejected: None }
        ));
        let request = expect_send(op.resume(Input::Token(Ok(ready(&store, None, NOW_MS))), NOW_MS));
        urls.push(request.url);
        let page =
            expect_done(op.resume(Input::Response(json_response(200, body)), NOW_MS)).unwrap();
        pages.advance(&page).unwrap();
        seen.extend(page.entitlements.into_iter().map(|e| e.id));
    }

    assert!(pages.is_finished());
    assert!(pages.next_request(&config).unwrap().is_none());
    assert_eq!(seen, ["e1", "e2", "e3"]);
    assert_eq!(
        urls,
        [
            format!("{HELIX}/entitlements/drops?first=2"),
            format!("{HELIX}/entitlements/drops?first=2&after=c1"),
        ]
    );
}

#[test]
fn validate_uses_the_oauth_scheme() {
    let config = static_config();
    let store = TokenStore::new(&config);
    let mut op = token::validate(&config);

    assert!(matches!(
        op.resume(Input::Start, NOW_MS),
        Step::Authorize { rejected: None }
    ));
    let request = expect_send(op.resume(Input::Token(Ok(ready(&store, None, NOW_MS))), NOW_MS));
    assert_eq!(request.url, "https://id.twitch.tv/oauth2/validate");
    assert_eq!(
        request.header("Authorization"),
        Some(format!("OAuth {TOKEN}").as_str())
    );
    assert_eq!(request.header("Client-Id"), None);
    let info = expect_done(op.resume(
        Input::Response(json_response(
            200,
            r#"{"client_id":"cid","scopes":[],"expires_in":60}"#.into(),
        )),
        NOW_MS,
    ))
    .unwrap();
    assert_eq!(info.client_id, "cid");
}

#[test]
fn device_polling_sleeps_the_interval_between_polls() {
    let config = Config::new("cid", Credentials::None);
    let code = DeviceCode {
        device_code: "dev-code".into(),
        user_code: "WXYZ".into(),
        verification_uri: "https://www.twitch.tv/activate".into(),
        expires_in: 600,
        interval: 5,
        scopes: vec![twitch_drops::ANALYTICS_SCOPE.into()],
    };
    let mut op = device::poll_device_flow(&config, &code);
    let mut now = NOW_MS;

    let poll = expect_send(op.resume(Input::Start, now));
    assert_eq!(poll.url, "https://id.twitch.tv/oauth2/token");
    let form = String::from_utf8(poll.body.clone().unwrap()).unwrap();
    assert!(form.contains("device_code=dev-code"), "{form}");
    assert!(
        form.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"),
        "{form}"
    );

    let pending = json_response(
        400,
        r#"{"status":400,"message":"authorization_pending"}"#.into(),
    );
    assert_eq!(
        expect_sleep(op.resume(Input::Response(pending), now)),
        Duration::from_secs(5)
    );
    now += 5_000;
    assert_eq!(expect_send(op.resume(Input::Slept, now)), poll);

    let approved = json_response(200, r#"{"access_token":"u","refresh_token":"r"}"#.into());
    let token = expect_done(op.resume(Input::Response(approved), now)).unwrap();
    assert_eq!(token.access_token.expose(), "u");
}

#[test]
fn a_report_download_carries_no_credentials() {
    let config = static_config();
    let mut op =
        analytics::download_report(&config, "https://reports.example.com/r.csv?sig=1").unwrap();

    // No token is asked for: the first step is the request itself.
    let request = expect_send(op.resume(Input::Start, NOW_MS));
    assert_eq!(request.url, "https://reports.example.com/r.csv?sig=1");
    assert_eq!(request.header("Authorization"), None);
    assert_eq!(request.header("Client-Id"), None);
    let csv = expect_done(op.resume(Input::Response(HttpResponse::new(200, "a,b\n")), NOW_MS));
    assert_eq!(csv.unwrap(), b"a,b\n");
}
