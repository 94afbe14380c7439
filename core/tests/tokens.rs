//! Tokens: client credentials fetched once and cached, renewed after a 401 (once), user
//! tokens refreshed, static tokens final, single-flight fetching across threads, token
//! validation and the device code flow.

mod common;

use std::sync::Barrier;
use std::time::Duration;

use common::*;
use mockito::{Matcher, Mock, Server, ServerGuard};
use serde_json::json;
use twitch_drops::{Credentials, EntitlementsQuery, Error, Secret, ANALYTICS_SCOPE};

const ENTITLEMENTS: &str = "/helix/entitlements/drops";
const TOKEN_PATH: &str = "/oauth2/token";
const APP_SECRET: &str = "app-secret-77x";

fn form(pairs: &[(&str, &str)]) -> Matcher {
    Matcher::AllOf(
        pairs
            .iter()
            .map(|(k, v)| Matcher::UrlEncoded(k.to_string(), v.to_string()))
            .collect(),
    )
}

/// The client-credentials grant for [`APP_SECRET`], answering `token`.
fn app_token_mock(server: &mut ServerGuard, token: &str, hits: usize) -> Mock {
    server
        .mock("POST", TOKEN_PATH)
        .match_header("content-type", "application/x-www-form-urlencoded")
        .match_header("authorization", Matcher::Missing)
        .match_body(form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", APP_SECRET),
            ("grant_type", "client_credentials"),
        ]))
        .with_header("content-type", "application/json")
        .with_body(app_token_body(token, 5_000_000))
        .expect(hits)
        .create()
}

fn entitlements_mock(server: &mut ServerGuard, token: &str, status: usize, hits: usize) -> Mock {
    let body = if status == 401 {
        r#"{"error":"Unauthorized","status":401,"message":"Invalid OAuth token"}"#.to_string()
    } else {
        page(&["e1"], "CLAIMED", None)
    };
    server
        .mock("GET", ENTITLEMENTS)
        .match_query(Matcher::Any)
        .match_header("client-id", CLIENT_ID)
        .match_header("authorization", bearer(token).as_str())
        .with_status(status)
        .with_body(body)
        .expect(hits)
        .create()
}

fn app_client(server: &ServerGuard) -> (TestClient, std::sync::Arc<twitch_drops::ManualClock>) {
    let clock = clock();
    let client = client(
        config(server, Credentials::ClientSecret(APP_SECRET.into())),
        &clock,
    );
    (client, clock)
}

#[test]
fn app_token_is_fetched_on_first_use_then_cached() {
    let mut server = Server::new();
    let token = app_token_mock(&mut server, "app-1", 1);
    let helix = entitlements_mock(&mut server, "app-1", 200, 3);
    let (client, _clock) = app_client(&server);

    for _ in 0..3 {
        client.entitlements_page(&EntitlementsQuery::new()).unwrap();
    }

    token.assert();
    helix.assert();
    assert_eq!(client.requests_sent(), 4);
    assert_eq!(
        client.user_token(),
        None,
        "an app token is not a user token"
    );
}

#[test]
fn a_401_fetches_a_new_app_token_and_resends() {
    let mut server = Server::new();
    let first_token = app_token_mock(&mut server, "app-1", 1);
    let second_token = app_token_mock(&mut server, "app-2", 1);
    let refused = entitlements_mock(&mut server, "app-1", 401, 1);
    let accepted = entitlements_mock(&mut server, "app-2", 200, 1);
    let (client, clock) = app_client(&server);

    let page = client.entitlements_page(&EntitlementsQuery::new()).unwrap();

    first_token.assert();
    second_token.assert();
    refused.assert();
    accepted.assert();
    assert_eq!(page.entitlements[0].id, "e1");
    assert_eq!(client.requests_sent(), 4);
    assert!(
        clock.sleeps().is_empty(),
        "a 401 is answered without waiting"
    );
}

#[test]
fn a_second_401_after_renewal_is_unauthorized() {
    let mut server = Server::new();
    let first_token = app_token_mock(&mut server, "app-1", 1);
    let second_token = app_token_mock(&mut server, "app-2", 1);
    let refused_1 = entitlements_mock(&mut server, "app-1", 401, 1);
    let refused_2 = entitlements_mock(&mut server, "app-2", 401, 1);
    let (client, _clock) = app_client(&server);

    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();

    first_token.assert();
    second_token.assert();
    refused_1.assert();
    refused_2.assert();
    match err {
        Error::Unauthorized { status, message } => {
            assert_eq!(status, 401);
            assert_eq!(message, "Invalid OAuth token");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert_eq!(client.requests_sent(), 4);
}

#[test]
fn a_renewed_token_is_kept_for_later_calls() {
    let mut server = Server::new();
    let first_token = app_token_mock(&mut server, "app-1", 1);
    let second_token = app_token_mock(&mut server, "app-2", 1);
    let refused = entitlements_mock(&mut server, "app-1", 401, 1);
    let accepted = entitlements_mock(&mut server, "app-2", 200, 2);
    let (client, _clock) = app_client(&server);

    client.entitlements_page(&EntitlementsQuery::new()).unwrap();
    client.entitlements_page(&EntitlementsQuery::new()).unwrap();

    first_token.assert();
    second_token.assert();
    refused.assert();
    accepted.assert();
}

#[test]
fn a_static_token_401_is_final_and_fetches_nothing() {
    let mut server = Server::new();
    let token = server.mock("POST", Matcher::Any).expect(0).create();
    let refused = entitlements_mock(&mut server, TOKEN, 401, 1);
    let (client, clock) = static_client(&server);

    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();

    token.assert();
    refused.assert();
    assert!(
        matches!(err, Error::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    assert_eq!(client.requests_sent(), 1);
    assert!(clock.sleeps().is_empty());
}

#[test]
fn an_expired_app_token_is_replaced_before_use() {
    let mut server = Server::new();
    let first_token = server
        .mock("POST", TOKEN_PATH)
        .with_body(app_token_body("app-1", 3600))
        .expect(1)
        .create();
    let second_token = server
        .mock("POST", TOKEN_PATH)
        .with_body(app_token_body("app-2", 3600))
        .expect(1)
        .create();
    let with_first = entitlements_mock(&mut server, "app-1", 200, 1);
    let with_second = entitlements_mock(&mut server, "app-2", 200, 1);
    let (client, clock) = app_client(&server);

    client.entitlements_page(&EntitlementsQuery::new()).unwrap();
    // Within the renewal margin (a minute before expiry), not past it.
    clock.advance(Duration::from_secs(3600 - 30));
    client.entitlements_page(&EntitlementsQuery::new()).unwrap();

    first_token.assert();
    second_token.assert();
    with_first.assert();
    with_second.assert();
    assert_eq!(client.requests_sent(), 4, "no 401 was needed");
}

#[test]
fn refused_client_credentials_are_unauthorized_and_helix_is_never_called() {
    let mut server = Server::new();
    let token = server
        .mock("POST", TOKEN_PATH)
        .with_status(400)
        .with_body(r#"{"status":400,"message":"invalid client secret"}"#)
        .expect(1)
        .create();
    let helix = server
        .mock("GET", ENTITLEMENTS)
        .match_query(Matcher::Any)
        .expect(0)
        .create();
    let (client, clock) = app_client(&server);

    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();

    token.assert();
    helix.assert();
    assert_eq!(
        err,
        Error::Unauthorized {
            status: 400,
            message: "invalid client secret".into()
        }
    );
    assert!(
        clock.sleeps().is_empty(),
        "a 400 from the token endpoint is not retried"
    );
}

#[test]
fn eight_threads_share_one_token_fetch() {
    let mut server = Server::new();
    let token = app_token_mock(&mut server, "app-shared", 1);
    let helix = entitlements_mock(&mut server, "app-shared", 200, 8);
    let (client, _clock) = app_client(&server);
    let barrier = Barrier::new(8);

    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    client.entitlements_page(&EntitlementsQuery::new())
                })
            })
            .collect();
        for handle in handles {
            assert_eq!(handle.join().unwrap().unwrap().entitlements.len(), 1);
        }
    });

    token.assert();
    helix.assert();
    assert_eq!(client.requests_sent(), 9);
}

#[test]
fn a_user_token_is_refreshed_after_a_401_and_the_new_refresh_token_kept() {
    let mut server = Server::new();
    let refresh = server
        .mock("POST", TOKEN_PATH)
        .match_body(form(&[
            ("client_id", CLIENT_ID),
            ("grant_type", "refresh_token"),
            ("refresh_token", "refresh-1"),
            ("client_secret", "cs-1"),
        ]))
        .with_body(
            json!({
                "access_token": "user-2",
                "refresh_token": "refresh-2",
                "expires_in": 14_000,
                "scope": [ANALYTICS_SCOPE],
                "token_type": "bearer",
            })
            .to_string(),
        )
        .expect(1)
        .create();
    let refused = entitlements_mock(&mut server, "user-1", 401, 1);
    let accepted = entitlements_mock(&mut server, "user-2", 200, 1);
    let clock = clock();
    let client = client(
        config(
            &server,
            Credentials::UserToken {
                access_token: "user-1".into(),
                refresh_token: Some("refresh-1".into()),
                client_secret: Some("cs-1".into()),
            },
        ),
        &clock,
    );
    let before = client.user_token().unwrap();
    assert_eq!(before.access_token.expose(), "user-1");

    client.entitlements_page(&EntitlementsQuery::new()).unwrap();

    refresh.assert();
    refused.assert();
    accepted.assert();
    let after = client.user_token().unwrap();
    assert_eq!(after.access_token, Secret::new("user-2"));
    assert_eq!(after.refresh_token, Some(Secret::new("refresh-2")));
    assert_eq!(after.scopes, [ANALYTICS_SCOPE]);
}

#[test]
fn a_public_client_refresh_sends_no_client_secret() {
    let mut server = Server::new();
    let refresh = server
        .mock("POST", TOKEN_PATH)
        .match_body(Matcher::Regex(
            "^client_id=cid&grant_type=refresh_token&refresh_token=r1$".into(),
        ))
        .with_body(r#"{"access_token":"user-2","refresh_token":"r2","scope":"a b"}"#)
        .expect(1)
        .create();
    let refused = entitlements_mock(&mut server, "user-1", 401, 1);
    let accepted = entitlements_mock(&mut server, "user-2", 200, 1);
    let clock = clock();
    let client = client(
        config(
            &server,
            Credentials::UserToken {
                access_token: "user-1".into(),
                refresh_token: Some("r1".into()),
                client_secret: None,
            },
        ),
        &clock,
    );

    client.entitlements_page(&EntitlementsQuery::new()).unwrap();

    refresh.assert();
    refused.assert();
    accepted.assert();
    let token = client.user_token().unwrap();
    assert_eq!(token.refresh_token, Some(Secret::new("r2")));
    assert_eq!(token.scopes, ["a", "b"], "a space-separated scope is split");
}

#[test]
fn a_user_token_without_refresh_token_is_final_on_401() {
    let mut server = Server::new();
    let token = server.mock("POST", Matcher::Any).expect(0).create();
    let refused = entitlements_mock(&mut server, "user-1", 401, 1);
    let clock = clock();
    let client = client(
        config(
            &server,
            Credentials::UserToken {
                access_token: "user-1".into(),
                refresh_token: None,
                client_secret: None,
            },
        ),
        &clock,
    );

    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();

    token.assert();
    refused.assert();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
}

#[test]
fn no_credentials_means_unauthorized_before_any_request() {
    let mut server = Server::new();
    let get = server.mock("GET", Matcher::Any).expect(0).create();
    let post = server.mock("POST", Matcher::Any).expect(0).create();
    let clock = clock();
    let client = client(config(&server, Credentials::None), &clock);

    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();

    get.assert();
    post.assert();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert_eq!(client.requests_sent(), 0);
}

#[test]
fn validate_token_sends_the_oauth_scheme_and_reads_the_answer() {
    let mut server = Server::new();
    let validate = server
        .mock("GET", "/oauth2/validate")
        .match_header("authorization", format!("OAuth {TOKEN}").as_str())
        .match_header("client-id", Matcher::Missing)
        .with_body(
            json!({
                "client_id": CLIENT_ID,
                "login": "studio",
                "user_id": "1234",
                "scopes": [ANALYTICS_SCOPE],
                "expires_in": 5000,
            })
            .to_string(),
        )
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let info = client.validate_token().unwrap();

    validate.assert();
    assert_eq!(info.client_id, CLIENT_ID);
    assert_eq!(info.login.as_deref(), Some("studio"));
    assert_eq!(info.user_id.as_deref(), Some("1234"));
    assert_eq!(info.scopes, [ANALYTICS_SCOPE]);
    assert_eq!(info.expires_in, 5000);
}

#[test]
fn validate_token_of_an_app_token_has_no_user() {
    let mut server = Server::new();
    let token = app_token_mock(&mut server, "app-1", 1);
    let validate = server
        .mock("GET", "/oauth2/validate")
        .match_header("authorization", "OAuth app-1")
        .with_body(r#"{"client_id":"cid","scopes":[],"expires_in":4000}"#)
        .expect(1)
        .create();
    let (client, _clock) = app_client(&server);

    let info = client.validate_token().unwrap();

    token.assert();
    validate.assert();
    assert_eq!(info.login, None);
    assert_eq!(info.user_id, None);
}

#[test]
fn validate_token_reports_a_revoked_static_token() {
    let mut server = Server::new();
    let validate = server
        .mock("GET", "/oauth2/validate")
        .with_status(401)
        .with_body(r#"{"status":401,"message":"invalid access token"}"#)
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let err = client.validate_token().unwrap_err();

    validate.assert();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
}

fn device_mocks(server: &mut ServerGuard, interval: u64, expires_in: u64) -> Mock {
    server
        .mock("POST", "/oauth2/device")
        .match_header("content-type", "application/x-www-form-urlencoded")
        .match_body(form(&[
            ("client_id", CLIENT_ID),
            ("scopes", ANALYTICS_SCOPE),
        ]))
        .with_body(
            json!({
                "device_code": "device-code-secret",
                "user_code": "ABCDEFGH",
                "verification_uri": "https://www.twitch.tv/activate?device-code=ABCDEFGH",
                "expires_in": expires_in,
                "interval": interval,
            })
            .to_string(),
        )
        .expect(1)
        .create()
}

fn poll_mock(server: &mut ServerGuard, status: usize, body: &str, hits: usize) -> Mock {
    server
        .mock("POST", TOKEN_PATH)
        .match_body(form(&[
            ("client_id", CLIENT_ID),
            ("scopes", ANALYTICS_SCOPE),
            ("device_code", "device-code-secret"),
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ]))
        .with_status(status)
        .with_body(body)
        .expect(hits)
        .create()
}

const PENDING: &str = r#"{"status":400,"message":"authorization_pending"}"#;

#[test]
fn device_flow_polls_at_the_interval_until_approved() {
    let mut server = Server::new();
    let device = device_mocks(&mut server, 5, 1800);
    let pending = poll_mock(&mut server, 400, PENDING, 2);
    let approved = poll_mock(
        &mut server,
        200,
        &json!({
            "access_token": "user-from-device",
            "refresh_token": "refresh-from-device",
            "expires_in": 14_000,
            "scope": [ANALYTICS_SCOPE],
        })
        .to_string(),
        1,
    );
    let helix = entitlements_mock(&mut server, "user-from-device", 200, 1);
    let clock = clock();
    let client = client(config(&server, Credentials::None), &clock);

    let code = client.start_device_flow(&[ANALYTICS_SCOPE]).unwrap();
    assert_eq!(code.user_code, "ABCDEFGH");
    assert_eq!(code.interval, 5);
    assert_eq!(code.expires_in, 1800);
    assert_eq!(code.scopes, [ANALYTICS_SCOPE]);
    assert_eq!(code.device_code.expose(), "device-code-secret");

    let token = client.finish_device_flow(&code).unwrap();

    device.assert();
    pending.assert();
    approved.assert();
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(5), Duration::from_secs(5)]
    );
    assert_eq!(token.access_token.expose(), "user-from-device");
    let kept = client
        .user_token()
        .expect("a user token after the device flow");
    assert_eq!(kept.access_token, token.access_token);
    assert_eq!(kept.refresh_token, Some(Secret::new("refresh-from-device")));
    assert_eq!(kept.scopes, [ANALYTICS_SCOPE]);

    // The new user token is used for Helix from now on.
    client.entitlements_page(&EntitlementsQuery::new()).unwrap();
    helix.assert();
}

#[test]
fn device_flow_slows_down_when_asked() {
    let mut server = Server::new();
    let _device = device_mocks(&mut server, 2, 1800);
    let slow = poll_mock(
        &mut server,
        400,
        r#"{"status":400,"message":"slow_down"}"#,
        1,
    );
    let approved = poll_mock(
        &mut server,
        200,
        r#"{"access_token":"u","refresh_token":"r"}"#,
        1,
    );
    let clock = clock();
    let client = client(config(&server, Credentials::None), &clock);

    let code = client.start_device_flow(&[ANALYTICS_SCOPE]).unwrap();
    client.finish_device_flow(&code).unwrap();

    slow.assert();
    approved.assert();
    assert_eq!(clock.sleeps(), [Duration::from_secs(7)]);
}

#[test]
fn device_flow_gives_up_when_the_code_expires() {
    let mut server = Server::new();
    let _device = device_mocks(&mut server, 5, 12);
    let pending = poll_mock(&mut server, 400, PENDING, 3);
    let clock = clock();
    let client = client(config(&server, Credentials::None), &clock);

    let code = client.start_device_flow(&[ANALYTICS_SCOPE]).unwrap();
    let err = client.finish_device_flow(&code).unwrap_err();

    pending.assert();
    assert!(
        matches!(&err, Error::Unauthorized { message, .. } if message.contains("expired")),
        "{err:?}"
    );
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(5), Duration::from_secs(5)]
    );
    assert_eq!(client.user_token(), None);
}

#[test]
fn device_flow_stops_when_the_user_refuses() {
    let mut server = Server::new();
    let _device = device_mocks(&mut server, 5, 1800);
    let denied = poll_mock(
        &mut server,
        400,
        r#"{"status":400,"message":"access_denied"}"#,
        1,
    );
    let clock = clock();
    let client = client(config(&server, Credentials::None), &clock);

    let code = client.start_device_flow(&[ANALYTICS_SCOPE]).unwrap();
    let err = client.finish_device_flow(&code).unwrap_err();

    denied.assert();
    assert_eq!(
        err,
        Error::Unauthorized {
            status: 400,
            message: "access_denied".into()
        }
    );
    assert!(clock.sleeps().is_empty());
}

#[test]
fn device_flow_refuses_a_malformed_scope_before_sending() {
    let mut server = Server::new();
    let device = server.mock("POST", "/oauth2/device").expect(0).create();
    let clock = clock();
    let client = client(config(&server, Credentials::None), &clock);

    for scopes in [&["two words"][..], &[""][..]] {
        let err = client.start_device_flow(scopes).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    field: "scopes",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    device.assert();
}
