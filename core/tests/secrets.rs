//! No secret is ever printed: every type that holds a client secret, an access or refresh
//! token or a device code is formatted with `{:?}`, `{:#?}` and (where it has one) `{}`,
//! and neither the secret nor its bytes may appear.

mod common;

use std::sync::Arc;

use common::*;
use mockito::{Matcher, Server, ServerGuard};
use serde_json::json;
use twitch_drops::{
    device, AccessToken, Authorization, Config, Credentials, DeviceCode, EntitlementsQuery, Error,
    FulfillmentStatus, HttpRequest, HttpResponse, Input, Method, OAuthToken, Operation,
    RetryPolicy, Secret, Step, TokenStore, ANALYTICS_SCOPE,
};

const CLIENT_SECRET: &str = "csecret-Q7fGh2LmN9pR";
const ACCESS: &str = "access-Zx81KdPq0Wv3";
const REFRESH: &str = "refresh-Tb56YuIo4Ae2";
const DEVICE: &str = "device-Hj29KlMn7Bv5";
const FETCHED: &str = "fetched-Rt64EwQs1Ad8";
const ALL: [&str; 5] = [CLIENT_SECRET, ACCESS, REFRESH, DEVICE, FETCHED];

/// Fails if `text` shows any secret, as text or as a list of its bytes (a `Vec<u8>` body
/// printed by a derived `Debug`).
fn assert_hidden(what: &str, text: &str) {
    for secret in ALL {
        assert!(!text.contains(secret), "{what} shows `{secret}`: {text}");
        let bytes: Vec<String> = secret.bytes().map(|b| b.to_string()).collect();
        for separator in [", ", ",\n"] {
            let joined = bytes.join(separator);
            assert!(
                !text.contains(&joined),
                "{what} shows the bytes of `{secret}`: {text}"
            );
        }
        // Pretty-printed byte lists put each byte on its own indented line.
        let compact: String = text.split_whitespace().collect();
        assert!(
            !compact.contains(&bytes.join(",")),
            "{what} shows the bytes of `{secret}`: {text}"
        );
    }
}

fn assert_debug_hidden<T: std::fmt::Debug>(what: &str, value: &T) {
    assert_hidden(what, &format!("{value:?}"));
    assert_hidden(what, &format!("{value:#?}"));
}

fn assert_all_hidden<T: std::fmt::Debug + std::fmt::Display>(what: &str, value: &T) {
    assert_debug_hidden(what, value);
    assert_hidden(what, &value.to_string());
}

fn every_credentials() -> Vec<Credentials> {
    vec![
        Credentials::AccessToken(ACCESS.into()),
        Credentials::ClientSecret(CLIENT_SECRET.into()),
        Credentials::UserToken {
            access_token: ACCESS.into(),
            refresh_token: Some(REFRESH.into()),
            client_secret: Some(CLIENT_SECRET.into()),
        },
        Credentials::None,
    ]
}

fn device_code() -> DeviceCode {
    DeviceCode {
        device_code: DEVICE.into(),
        user_code: "ABCD".into(),
        verification_uri: "https://www.twitch.tv/activate".into(),
        expires_in: 600,
        interval: 5,
        scopes: vec![ANALYTICS_SCOPE.into()],
    }
}

#[test]
fn secrets_and_tokens_print_redacted() {
    let secret = Secret::new(CLIENT_SECRET);
    assert_all_hidden("Secret", &secret);
    assert_eq!(secret.to_string(), "<redacted>");
    assert_eq!(secret.expose(), CLIENT_SECRET, "still usable on the wire");

    let oauth = OAuthToken {
        access_token: ACCESS.into(),
        refresh_token: Some(REFRESH.into()),
        expires_in: Some(3600),
        scopes: vec![ANALYTICS_SCOPE.into()],
    };
    assert_debug_hidden("OAuthToken", &oauth);
    assert_debug_hidden("DeviceCode", &device_code());

    for credentials in every_credentials() {
        assert_debug_hidden("Credentials", &credentials);
        let config = Config::new("cid", credentials);
        assert_debug_hidden("Config", &config);

        let mut store = TokenStore::new(&config);
        assert_debug_hidden("TokenStore", &store);
        let installed: AccessToken = store.install(oauth.clone(), NOW_MS);
        assert_debug_hidden("AccessToken", &installed);
        assert_debug_hidden("TokenStore after install", &store);
        assert_debug_hidden("user_token", &store.user_token());
    }
}

#[test]
fn a_token_fetch_in_progress_prints_no_secret() {
    for credentials in every_credentials() {
        let config = Config::new("cid", credentials);
        let store = TokenStore::new(&config);
        // Ask for a replacement of the current token (if any) so a fetch is planned.
        let rejected = match store.authorize(None, NOW_MS) {
            Authorization::Ready(token) => Some(token.id()),
            _ => None,
        };
        let authorization = store.authorize(rejected, NOW_MS);
        assert_debug_hidden("Authorization", &authorization);
        if let Authorization::Fetch(mut fetch) = authorization {
            let step = fetch.resume(Input::Start, NOW_MS);
            assert_debug_hidden("Step::Send of a token request", &step);
            assert_debug_hidden("token request after start", &fetch);
        }
    }

    let config = Config::new("cid", Credentials::None);
    let mut poll = device::poll_device_flow(&config, &device_code());
    assert_debug_hidden("DevicePoll", &poll);
    let step = poll.resume(Input::Start, NOW_MS);
    assert!(matches!(step, Step::Send(_)));
    assert_debug_hidden("DevicePoll after start", &poll);
}

#[test]
fn operations_holding_a_token_print_no_secret() {
    let config = Config::new("cid", Credentials::AccessToken(ACCESS.into()));
    let store = TokenStore::new(&config);
    let Authorization::Ready(token) = store.authorize(None, NOW_MS) else {
        panic!("a static token is ready");
    };

    let mut page =
        twitch_drops::entitlements::get_entitlements(&config, &EntitlementsQuery::new()).unwrap();
    page.resume(Input::Start, NOW_MS);
    let step = page.resume(Input::Token(Ok(token.clone())), NOW_MS);
    assert_debug_hidden("Step::Send of a Helix request", &step);
    assert_debug_hidden("SingleRequest holding a token", &page);

    let mut update =
        twitch_drops::update::update_entitlements(&config, &["a"], FulfillmentStatus::Fulfilled)
            .unwrap();
    update.resume(Input::Start, NOW_MS);
    update.resume(Input::Token(Ok(token)), NOW_MS);
    assert_debug_hidden("UpdateEntitlements holding a token", &update);
}

#[test]
fn http_messages_print_no_credentials_and_no_bodies() {
    let request = HttpRequest::new(Method::Post, "https://id.twitch.tv/oauth2/token")
        .with_header("Authorization", format!("Bearer {ACCESS}"))
        .with_header("proxy-authorization", format!("Basic {REFRESH}"))
        .with_header("Cookie", format!("session={DEVICE}"))
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_body(format!(
            "client_id=cid&client_secret={CLIENT_SECRET}&grant_type=client_credentials"
        ));
    assert_debug_hidden("HttpRequest", &request);
    let shown = format!("{request:?}");
    assert!(
        shown.contains("Content-Type: application/x-www-form-urlencoded"),
        "{shown}"
    );
    assert!(
        shown.contains("bytes>"),
        "the body's length is shown: {shown}"
    );

    let response = HttpResponse::new(
        200,
        json!({"access_token": FETCHED, "refresh_token": REFRESH, "expires_in": 10}).to_string(),
    )
    .with_header("Set-Cookie", format!("sid={DEVICE}"))
    .with_header("Content-Type", "application/json");
    assert_debug_hidden("HttpResponse", &response);
}

#[test]
fn clients_print_no_secret_even_after_fetching_tokens() {
    let mut server = Server::new();
    let token = server
        .mock("POST", "/oauth2/token")
        .with_body(
            json!({"access_token": FETCHED, "refresh_token": REFRESH, "expires_in": 3600})
                .to_string(),
        )
        .create();
    let page_mock = server
        .mock("GET", "/helix/entitlements/drops")
        .match_query(Matcher::Any)
        .with_body(page(&["e1"], "CLAIMED", None))
        .create();

    for credentials in every_credentials() {
        let clock = clock();
        let client = client(config(&server, credentials), &clock);
        assert_debug_hidden("Client", &client);
        let _ = client.entitlements_page(&EntitlementsQuery::new());
        assert_debug_hidden("Client after a call", &client);
        assert_debug_hidden("Client::user_token", &client.user_token());
    }
    drop((token, page_mock));
}

/// Runs one call against a token endpoint answering `status` and `body`, and checks the error.
fn failed_fetch(server: &mut ServerGuard, status: usize, body: &str) -> Error {
    let token = server
        .mock("POST", "/oauth2/token")
        .with_status(status)
        .with_body(body)
        .create();
    let clock = Arc::new(twitch_drops::ManualClock::new(NOW_MS));
    let config = config(server, Credentials::ClientSecret(CLIENT_SECRET.into())).with_retry_policy(
        RetryPolicy {
            max_retries: 1,
            ..RetryPolicy::default()
        },
    );
    let client = client(config, &clock);
    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();
    token.remove();
    err
}

#[test]
fn errors_from_failed_token_requests_print_no_secret() {
    let mut server = Server::new();
    let cases = [
        (
            400,
            json!({"status":400,"message":"invalid client secret"}).to_string(),
        ),
        (
            403,
            json!({"status":403,"message":"invalid client"}).to_string(),
        ),
        (500, String::new()),
        (503, "<html>down</html>".to_string()),
        // 200s that cannot be used as tokens.
        (
            200,
            format!(r#"{{"access_token":"{FETCHED}","expires_in":"#),
        ),
        (200, r#"{"access_token":""}"#.to_string()),
        (200, json!({"token": FETCHED}).to_string()),
        (
            200,
            json!({"access_token": FETCHED, "refresh_token": 7}).to_string(),
        ),
    ];
    for (status, body) in cases {
        let err = failed_fetch(&mut server, status, &body);
        assert_all_hidden(&format!("error after a {status} token answer"), &err);
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_debug_hidden("error source", &source);
    }

    // The token endpoint unreachable.
    let clock = clock();
    let base = format!("http://127.0.0.1:{}", closed_port());
    let unreachable = client(
        config_at(&base, Credentials::ClientSecret(CLIENT_SECRET.into())),
        &clock,
    );
    let err = unreachable
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_all_hidden("transport error", &err);
}

#[test]
fn errors_from_a_failed_refresh_and_device_flow_print_no_secret() {
    let mut server = Server::new();
    let refresh = server
        .mock("POST", "/oauth2/token")
        .match_body(Matcher::UrlEncoded(
            "grant_type".into(),
            "refresh_token".into(),
        ))
        .with_status(400)
        .with_body(r#"{"status":400,"message":"Invalid refresh token"}"#)
        .expect(1)
        .create();
    let refused = server
        .mock("GET", "/helix/entitlements/drops")
        .match_query(Matcher::Any)
        .with_status(401)
        .expect(1)
        .create();
    let clock = clock();
    let user = client(
        config(
            &server,
            Credentials::UserToken {
                access_token: ACCESS.into(),
                refresh_token: Some(REFRESH.into()),
                client_secret: Some(CLIENT_SECRET.into()),
            },
        ),
        &clock,
    );
    let err = user
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();
    refresh.assert();
    refused.assert();
    assert!(
        matches!(err, Error::Unauthorized { status: 400, .. }),
        "{err:?}"
    );
    assert_all_hidden("refresh error", &err);

    let denied = server
        .mock("POST", "/oauth2/token")
        .match_body(Matcher::UrlEncoded("device_code".into(), DEVICE.into()))
        .with_status(400)
        .with_body(r#"{"status":400,"message":"access_denied"}"#)
        .expect(1)
        .create();
    let device_client = client(config(&server, Credentials::None), &clock);
    let err = device_client
        .finish_device_flow(&device_code())
        .unwrap_err();
    denied.assert();
    assert_all_hidden("device flow error", &err);
}
