//! The default ureq transport on a real socket: body cap, read timeout, refused connections,
//! statuses returned as responses, and no redirects followed.

mod common;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use mockito::{Matcher, Server};
use twitch_drops::{
    Client, Credentials, EntitlementsQuery, Error, FulfillmentStatus, HttpRequest, ManualClock,
    Method, RetryPolicy, Transport, TransportError, TransportErrorKind, UreqOptions, UreqTransport,
};

fn small_body_transport(max_body_bytes: u64) -> UreqTransport {
    UreqTransport::with_options(UreqOptions {
        max_body_bytes,
        ..UreqOptions::default()
    })
}

fn short_timeout_transport(read_timeout: Duration) -> UreqTransport {
    UreqTransport::with_options(UreqOptions {
        read_timeout,
        connect_timeout: Duration::from_secs(2),
        ..UreqOptions::default()
    })
}

#[test]
fn a_body_over_the_cap_is_too_large() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", "/big")
        .with_body(vec![b'x'; 64 * 1024])
        .expect(1)
        .create();

    let err = small_body_transport(1024)
        .send(HttpRequest::new(
            Method::Get,
            format!("{}/big", server.url()),
        ))
        .unwrap_err();

    mock.assert();
    assert_eq!(err.kind, TransportErrorKind::TooLarge, "{err}");
}

#[test]
fn a_body_at_the_cap_is_read_whole() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", "/exact")
        .with_body(vec![b'y'; 1024])
        .expect(1)
        .create();

    let response = small_body_transport(1024)
        .send(HttpRequest::new(
            Method::Get,
            format!("{}/exact", server.url()),
        ))
        .unwrap();

    mock.assert();
    assert_eq!(response.body.len(), 1024);
}

#[test]
fn a_too_large_page_is_not_retried() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", "/helix/entitlements/drops")
        .match_query(Matcher::Any)
        .with_body(page(&["e1", "e2", "e3", "e4", "e5"], "CLAIMED", None))
        .expect(1)
        .create();
    let clock = clock();
    let client = Client::with_transport(
        config(&server, Credentials::AccessToken(TOKEN.into())),
        small_body_transport(64),
        Arc::clone(&clock),
    )
    .unwrap();

    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();

    mock.assert();
    assert!(
        matches!(
            err,
            Error::Transport(TransportError {
                kind: TransportErrorKind::TooLarge,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(clock.sleeps().is_empty());
}

#[test]
fn a_server_that_never_answers_times_out_as_interrupted() {
    // The kernel completes the handshake (the listener's backlog); nothing ever answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/helix/entitlements/drops",
        listener.local_addr().unwrap()
    );
    let transport = short_timeout_transport(Duration::from_millis(200));

    let started = Instant::now();
    let err = transport
        .send(HttpRequest::new(Method::Get, url))
        .unwrap_err();
    let elapsed = started.elapsed();

    assert_eq!(err.kind, TransportErrorKind::Interrupted, "{err}");
    assert!(err.may_have_reached_server());
    assert!(elapsed >= Duration::from_millis(150), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    drop(listener);
}

#[test]
fn a_get_that_times_out_is_retried_then_reported() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clock = clock();
    let client = Client::with_transport(
        config_at(&base, Credentials::AccessToken(TOKEN.into())).with_retry_policy(RetryPolicy {
            max_retries: 1,
            ..RetryPolicy::default()
        }),
        short_timeout_transport(Duration::from_millis(150)),
        Arc::clone(&clock),
    )
    .unwrap();

    let started = Instant::now();
    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        matches!(
            err,
            Error::Transport(TransportError {
                kind: TransportErrorKind::Interrupted,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(client.requests_sent(), 2);
    assert_eq!(clock.sleeps().len(), 1);
    drop(listener);
}

#[test]
fn a_refused_connection_is_a_connect_error() {
    let url = format!("http://127.0.0.1:{}/x", closed_port());

    let err = UreqTransport::new()
        .send(HttpRequest::new(Method::Get, url))
        .unwrap_err();

    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!err.may_have_reached_server());
}

/// A client whose token came from a live server (so it has reached one), and whose Helix
/// is at a closed port: a refused connection is then taken as passing, and retried.
fn reached_client_of_a_closed_helix(
    auth: &mut mockito::ServerGuard,
    clock: &Arc<ManualClock>,
) -> TestClient {
    auth.mock("POST", "/oauth2/token")
        .with_body(app_token_body("fetched", 3600))
        .create();
    let helix = format!("http://127.0.0.1:{}/helix", closed_port());
    client(
        config(auth, Credentials::ClientSecret("secret".into())).with_helix_url(helix),
        clock,
    )
}

#[test]
fn a_refused_connection_is_retried_max_retries_times_then_reported() {
    let policy = RetryPolicy::default();
    let clock = clock();
    let mut auth = Server::new();
    let client = reached_client_of_a_closed_helix(&mut auth, &clock);

    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();

    assert!(
        matches!(
            err,
            Error::Transport(TransportError {
                kind: TransportErrorKind::Connect,
                ..
            })
        ),
        "{err:?}"
    );
    // The token, then the page with every retry.
    assert_eq!(client.requests_sent(), 1 + policy.max_retries as u64 + 1);
    assert_eq!(clock.sleeps().len(), policy.max_retries as usize);
    assert!(
        err.to_string().starts_with("could not reach Twitch"),
        "{err}"
    );
    assert!(err.to_string().contains("connection refused"), "{err}");
}

#[test]
fn a_client_that_never_reached_a_server_reports_a_refused_connection_at_once() {
    let port = closed_port();
    let clock = clock();
    let client = client(
        config_at(
            &format!("http://127.0.0.1:{port}"),
            Credentials::AccessToken(TOKEN.into()),
        ),
        &clock,
    );
    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();
    assert_eq!(client.requests_sent(), 1, "no retry: {err}");
    assert!(clock.sleeps().is_empty());
    let shown = err.to_string();
    assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");
    assert!(shown.contains("connection refused"), "{shown}");
}

/// A host name that does not resolve is told as such (not as a connection dropped
/// half-way), names the host and port, and fails at once: the URL is wrong.
#[test]
fn a_name_that_does_not_resolve_is_told_apart_and_fails_at_once() {
    // `.invalid` never resolves (RFC 2606), whatever DNS this machine has.
    let err = UreqTransport::new()
        .send(HttpRequest::new(
            Method::Get,
            "https://drops-test.invalid/helix/entitlements/drops",
        ))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(
        err.message
            .contains("drops-test.invalid:443: the host name could not be resolved (DNS"),
        "{err}"
    );

    // The same through the plain-http (loopback) agent's own resolver, and a client.
    let transport = UreqTransport::with_loopback_resolver(UreqOptions::default(), |_, _| {
        Err(std::io::Error::other("no such name"))
    });
    let clock = clock();
    let client = Client::with_transport(
        config_at("http://localhost:8", Credentials::AccessToken(TOKEN.into())),
        transport,
        Arc::clone(&clock),
    )
    .expect("valid config");
    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();
    assert_eq!(client.requests_sent(), 1, "no retry: {err}");
    assert!(clock.sleeps().is_empty());
    assert!(
        err.to_string()
            .contains("localhost:8: the host name could not be resolved (DNS: no such name)"),
        "{err}"
    );
}

#[test]
fn a_patch_that_cannot_connect_is_retried_like_a_read() {
    let policy = RetryPolicy::default();
    let clock = clock();
    let mut auth = Server::new();
    let client = reached_client_of_a_closed_helix(&mut auth, &clock);

    let err = client
        .update_entitlements(&["a", "b"], FulfillmentStatus::Fulfilled)
        .unwrap_err();

    // Nothing reached the server, so no re-read was needed and nothing is ambiguous.
    assert!(
        matches!(
            err,
            Error::Transport(TransportError {
                kind: TransportErrorKind::Connect,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(client.requests_sent(), 1 + policy.max_retries as u64 + 1);
}

#[test]
fn error_statuses_come_back_as_responses_with_their_headers() {
    let mut server = Server::new();
    let mock = server
        .mock("PATCH", "/teapot")
        .match_header("x-custom", "1")
        .match_header("user-agent", Matcher::Regex("^twitch-drops/".into()))
        .match_body("raw body")
        .with_status(418)
        .with_header("Ratelimit-Remaining", "5")
        .with_body("short and stout")
        .expect(1)
        .create();

    let response = UreqTransport::new()
        .send(
            HttpRequest::new(Method::Patch, format!("{}/teapot", server.url()))
                .with_header("X-Custom", "1")
                .with_body("raw body"),
        )
        .unwrap();

    mock.assert();
    assert_eq!(response.status, 418);
    assert_eq!(response.header("ratelimit-remaining"), Some("5"));
    assert_eq!(response.body, b"short and stout");
    assert!(!response.is_success());
}

#[test]
fn redirects_are_returned_not_followed() {
    let mut server = Server::new();
    let moved = server
        .mock("GET", "/from")
        .with_status(307)
        .with_header("location", "/to")
        .expect(1)
        .create();
    let target = server.mock("GET", "/to").expect(0).create();

    let response = UreqTransport::new()
        .send(
            HttpRequest::new(Method::Get, format!("{}/from", server.url()))
                .with_header("Authorization", "Bearer must-not-travel"),
        )
        .unwrap();

    moved.assert();
    target.assert();
    assert_eq!(response.status, 307);
    assert_eq!(response.header("Location"), Some("/to"));
}
