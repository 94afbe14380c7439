//! The promises of SECURITY.md, tested through the public surface on loopback only:
//!
//! - no secret or token in any `Debug`/`Display`/error output, beyond what `secrets.rs`
//!   covers: EventSub secrets, the fulfillment engine's steps, reports and journal, report
//!   URLs' signatures in errors;
//! - plain `http` refused for hosts that are not loopback (config, transport, callbacks,
//!   report downloads and their redirects);
//! - a response larger than the cap fails cleanly, chunked or not, and stops a run;
//! - redirects never carry `Authorization` to another host (a recording server proves it);
//! - timeouts apply to a server that accepts and never answers, or stalls mid-body;
//! - exactly-once fulfillment holds for the cases the fuzzers found (regressions).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use mockito::{Matcher, Server};
use serde_json::json;
use twitch_drops::eventsub::{self, EventSubError};
use twitch_drops::fulfill::{EngineInput, EngineStep, JournalRecord, StudioStep, TwitchStep};
use twitch_drops::{
    analytics, device, Authorization, Client, Config, Credentials, DeviceCode, DropGrantCondition,
    Engine, EntitlementsQuery, Error, FileJournal, FulfillOptions, FulfillReport, GrantOutcome,
    GrantRequest, HttpRequest, HttpResponse, Input, Journal, ManualClock, Method, Operation,
    RetryPolicy, Secret, Step, TokenStore, Transport, TransportError, TransportErrorKind,
    UreqOptions, UreqTransport,
};

const CLIENT_SECRET: &str = "csecret-Vb93XcLk0Tq7";
const FETCHED: &str = "fetched-Yp28NmRe6Ws1";
const WEBHOOK_SECRET: &str = "webhook-Gd71QaZx5Lo3";
const SIGNATURE: &str = "SigNat8Ur3Kq";
const SECRETS: [&str; 4] = [CLIENT_SECRET, FETCHED, WEBHOOK_SECRET, SIGNATURE];

/// Fails if `text` shows a secret, as text or as the list of its bytes.
fn assert_hidden(what: &str, text: &str) {
    let compact: String = text.split_whitespace().collect();
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows `{secret}`: {text}");
        let bytes: Vec<String> = secret.bytes().map(|b| b.to_string()).collect();
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

// ---------------------------------------------------------------------------------------
// Secrets: EventSub

#[test]
fn an_eventsub_subscription_in_flight_prints_no_webhook_secret() {
    let config = Config::new("cid", Credentials::ClientSecret(CLIENT_SECRET.into()));
    let secret = Secret::new(WEBHOOK_SECRET);
    let mut op = eventsub::subscription_request(
        &config,
        &DropGrantCondition::new("org1"),
        "https://cb.example.com/webhook",
        &secret,
    )
    .unwrap();
    assert_debug_hidden("subscription request", &op);
    let token = static_token(FETCHED);
    assert!(matches!(
        op.resume(Input::Start, NOW_MS),
        Step::Authorize { .. }
    ));
    let step = op.resume(Input::Token(Ok(token)), NOW_MS);
    let Step::Send(request) = &step else {
        panic!("expected a request, got {step:?}");
    };
    let body = String::from_utf8(request.body.clone().unwrap()).unwrap();
    assert!(body.contains(WEBHOOK_SECRET), "the secret goes on the wire");
    assert_debug_hidden("Step::Send of a subscription", &step);
    assert_debug_hidden("subscription request after start", &op);
}

#[test]
fn eventsub_refusals_print_no_webhook_secret() {
    let secret = Secret::new(WEBHOOK_SECRET);
    let body = br#"{"subscription":{"id":"s","type":"drop.entitlement.grant"},"events":[]}"#;
    let headers = |signature: &str, timestamp: &str| -> Vec<(String, String)> {
        vec![
            (eventsub::HEADER_MESSAGE_ID.into(), "m1".into()),
            (eventsub::HEADER_MESSAGE_TIMESTAMP.into(), timestamp.into()),
            (eventsub::HEADER_MESSAGE_SIGNATURE.into(), signature.into()),
            (eventsub::HEADER_MESSAGE_TYPE.into(), "notification".into()),
        ]
    };
    let now = "2023-11-14T22:13:20Z";
    let good = eventsub::signature(&secret, "m1", now, body);
    let forged = eventsub::signature(&Secret::new("another-secret"), "m1", now, body);
    let stale = "2023-11-14T21:00:00Z";
    let stale_good = eventsub::signature(&secret, "m1", stale, body);
    let cases = [
        (headers(&forged, now), body.to_vec()),
        (headers(&stale_good, stale), body.to_vec()),
        (headers(&good, now), b"{not json".to_vec()),
        (headers(&good, "yesterday"), body.to_vec()),
        (headers(&good, now)[1..].to_vec(), body.to_vec()),
    ];
    for (headers, body) in cases {
        let refused: EventSubError =
            eventsub::verify(&headers, &body, &secret, NOW_MS).unwrap_err();
        assert_all_hidden("EventSubError", &refused);
        let answer = refused.response();
        assert_debug_hidden("refusal response", &answer);
        assert_hidden("refusal body", &String::from_utf8_lossy(&answer.body));
    }
    assert_debug_hidden("webhook Secret", &secret);

    let config = Config::new("cid", Credentials::ClientSecret(CLIENT_SECRET.into()));
    let err = eventsub::subscription_request(
        &config,
        &DropGrantCondition::new("org1"),
        "https://cb.example.com/webhook",
        &Secret::new(format!("{WEBHOOK_SECRET}\u{e9}")),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: "secret",
                ..
            }
        ),
        "{err:?}"
    );
    assert_all_hidden("invalid webhook secret error", &err);
}

// ---------------------------------------------------------------------------------------
// Secrets: the fulfillment engine, its reports and its journal

fn static_token(token: &str) -> twitch_drops::AccessToken {
    let config = Config::new("cid", Credentials::AccessToken(token.into()));
    match TokenStore::new(&config).authorize(None, NOW_MS) {
        Authorization::Ready(token) => token,
        other => panic!("a static token is ready: {other:?}"),
    }
}

#[test]
fn a_fulfillment_run_prints_and_journals_no_secret() {
    let mut server = Server::new();
    let token = server
        .mock("POST", "/oauth2/token")
        .match_body(Matcher::UrlEncoded(
            "client_secret".into(),
            CLIENT_SECRET.into(),
        ))
        .with_body(app_token_body(FETCHED, 3600))
        .expect(1)
        .create();
    let list = server
        .mock("GET", "/helix/entitlements/drops")
        .match_header("authorization", bearer(FETCHED).as_str())
        .match_query(Matcher::Any)
        .with_body(page(&["e1", "e2"], "CLAIMED", None))
        .create();
    let batches: Batches = Arc::default();
    let mark = server
        .mock("PATCH", "/helix/entitlements/drops")
        .with_body_from_request(answer_all("SUCCESS", &batches))
        .create();
    let clock = clock();
    let client = client(
        config(&server, Credentials::ClientSecret(CLIENT_SECRET.into())),
        &clock,
    );
    let dir = temp_dir("journal-secrets");
    let mut journal = FileJournal::new(dir.join("drops.journal"));

    // Drive the engine by hand so every step can be printed.
    let mut engine = Engine::new(client.config(), FulfillOptions::game("509658")).unwrap();
    assert_debug_hidden("Engine", &engine);
    let transport = UreqTransport::new();
    let mut input = EngineInput::Start;
    let report = loop {
        let step = engine.resume(input, NOW_MS);
        assert_debug_hidden("EngineStep", &step);
        assert_debug_hidden("Engine during the run", &engine);
        for settlement in engine.take_settlements() {
            assert_debug_hidden("Settlement", &settlement);
            assert_hidden(
                "Settlement JSON",
                &serde_json::to_string(&settlement).unwrap(),
            );
        }
        input = match step {
            EngineStep::Twitch(TwitchStep::Send(request)) => match transport.send(request) {
                Ok(response) => {
                    assert_debug_hidden("HttpResponse", &response);
                    EngineInput::Response(response)
                }
                Err(e) => EngineInput::TransportFailed(e),
            },
            EngineStep::Twitch(TwitchStep::Sleep(_)) => EngineInput::Slept,
            EngineStep::Studio(StudioStep::LoadJournal) => {
                EngineInput::JournalLoaded(journal.load())
            }
            EngineStep::Studio(StudioStep::Claim { append, claim }) => {
                assert_debug_hidden("journal records", &append);
                assert_debug_hidden("journal records", &claim);
                EngineInput::Claimed(journal.append_and_claim(&append, &claim))
            }
            EngineStep::Studio(StudioStep::AppendJournal(records)) => {
                assert_debug_hidden("journal records", &records);
                EngineInput::Appended(journal.append(&records))
            }
            EngineStep::Studio(StudioStep::Grant(requests)) => {
                assert_debug_hidden("grant requests", &requests);
                EngineInput::Granted(vec![GrantOutcome::Granted; requests.len()])
            }
            EngineStep::Done(report) => break report,
        };
    };
    token.assert();
    drop((list, mark));
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.fulfilled, 2);
    assert_debug_hidden("FulfillReport", &report);
    assert_hidden(
        "FulfillReport JSON",
        &serde_json::to_string(&report).unwrap(),
    );
    assert_debug_hidden("FileJournal", &journal);
    assert_debug_hidden("Client after a run", &client);
    let on_disk = std::fs::read(journal.path()).unwrap();
    assert_hidden("the journal file", &String::from_utf8_lossy(&on_disk));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_run_that_fails_on_credentials_reports_no_secret() {
    let mut server = Server::new();
    let refused = server
        .mock("POST", "/oauth2/token")
        .with_status(403)
        .with_body(json!({"status": 403, "message": "invalid client secret"}).to_string())
        .expect(1)
        .create();
    let clock = clock();
    let client = client(
        config(&server, Credentials::ClientSecret(CLIENT_SECRET.into())),
        &clock,
    );
    let mut grant = |_: &GrantRequest| GrantOutcome::Granted;
    let report = client
        .fulfill(
            FulfillOptions::game("509658"),
            &mut twitch_drops::MemoryJournal::new(),
            &mut grant,
        )
        .unwrap();
    refused.assert();
    let err = report.error.as_ref().expect("the run stopped");
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert_all_hidden("fulfill error", err);
    assert_debug_hidden("FulfillReport", &report);
}

#[test]
fn report_download_errors_do_not_show_the_url_signature() {
    let clock = clock();
    let user = Credentials::UserToken {
        access_token: FETCHED.into(),
        refresh_token: None,
        client_secret: None,
    };
    let base = format!("http://127.0.0.1:{}", closed_port());
    let client = client(config_at(&base, user), &clock);
    let report = twitch_drops::AnalyticsReport {
        game_id: "1".into(),
        url: format!("{base}/r.csv?X-Amz-Signature={SIGNATURE}"),
        report_type: "overview_v2".into(),
        date_range: Default::default(),
    };
    let err = client.download_report(&report).unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_all_hidden("download error", &err);
}

// ---------------------------------------------------------------------------------------
// Plain http only to loopback

/// A transport that counts what it is asked to send and answers 200 `{}`.
fn counting_transport(
    sent: &Arc<AtomicUsize>,
) -> impl Fn(HttpRequest) -> Result<HttpResponse, TransportError> {
    let sent = Arc::clone(sent);
    move |_| {
        sent.fetch_add(1, Ordering::SeqCst);
        Ok(HttpResponse::new(200, "{}"))
    }
}

const INSECURE: [&str; 6] = [
    "http://api.twitch.tv/helix",
    "http://127.0.0.1.nip.io/helix",
    "http://localhost@api.twitch.tv/helix",
    "http://localhost.api.twitch.tv/helix",
    "HTTP://api.twitch.tv/helix",
    "http://[::ffff:8.8.8.8]/helix",
];

#[test]
fn a_config_with_plain_http_to_another_host_is_refused_before_any_request() {
    let sent = Arc::new(AtomicUsize::new(0));
    for url in INSECURE {
        for config in [
            Config::new("cid", Credentials::ClientSecret(CLIENT_SECRET.into())).with_helix_url(url),
            Config::new("cid", Credentials::ClientSecret(CLIENT_SECRET.into())).with_auth_url(url),
        ] {
            let err = Client::with_transport(config, counting_transport(&sent), clock())
                .map(|_| ())
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidInput {
                        field: "helix_url" | "auth_url",
                        ..
                    }
                ),
                "{url}: {err:?}"
            );
            assert!(err.to_string().contains("https"), "{err}");
            assert_all_hidden("config error", &err);
        }
    }
    for url in [
        "https://api.twitch.tv/helix",
        "http://127.0.0.1:8080/helix",
        "http://localhost:8080/helix",
        "http://[::1]:8080/helix",
    ] {
        let config = Config::new("cid", Credentials::AccessToken("t".into())).with_helix_url(url);
        assert!(Client::with_transport(config, counting_transport(&sent), clock()).is_ok());
    }
    assert_eq!(sent.load(Ordering::SeqCst), 0);
}

#[test]
fn the_transport_refuses_plain_http_to_another_host_without_connecting() {
    // A listener on loopback proves nothing connects: `localhost@` and the like must not
    // smuggle a request to it, and a remote host is refused before name lookup.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    for url in INSECURE {
        let err = UreqTransport::new()
            .send(
                HttpRequest::new(Method::Get, url)
                    .with_header("Authorization", format!("Bearer {FETCHED}")),
            )
            .unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Refused, "{url}: {err}");
        assert!(!err.may_have_reached_server());
        assert_all_hidden("refused transport error", &err);
    }
    assert!(listener.accept().is_err(), "nothing connected");
}

#[test]
fn callbacks_and_report_urls_over_plain_http_elsewhere_are_refused() {
    let config = Config::new("cid", Credentials::ClientSecret(CLIENT_SECRET.into()));
    for url in INSECURE {
        let err = eventsub::subscription_request(
            &config,
            &DropGrantCondition::new("org1"),
            url,
            &Secret::new(WEBHOOK_SECRET),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    field: "callback",
                    ..
                }
            ),
            "{err:?}"
        );
        let err = analytics::download_report(&config, url).unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { field: "url", .. }),
            "{err:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Size caps

fn capped(max_body_bytes: u64) -> UreqTransport {
    UreqTransport::with_options(UreqOptions {
        max_body_bytes,
        ..UreqOptions::default()
    })
}

#[test]
fn the_default_cap_is_16_mib() {
    assert_eq!(UreqOptions::default().max_body_bytes, 16 * 1024 * 1024);
}

#[test]
fn a_chunked_body_over_the_cap_is_too_large() {
    let mut chunked =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..8 {
        chunked.extend_from_slice(b"100\r\n");
        chunked.extend_from_slice(&[b'x'; 256]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let server = ScriptedServer::start(vec![Action::Respond(chunked)]);

    let err = capped(1024)
        .send(HttpRequest::new(
            Method::Get,
            format!("{}/big", server.url()),
        ))
        .unwrap_err();

    assert_eq!(err.kind, TransportErrorKind::TooLarge, "{err}");
    server.finish();
}

#[test]
fn an_oversized_page_stops_a_run_cleanly_with_nothing_granted() {
    let mut server = Server::new();
    let big = server
        .mock("GET", "/helix/entitlements/drops")
        .match_query(Matcher::Any)
        .with_body(page(&["e1", "e2", "e3", "e4", "e5", "e6"], "CLAIMED", None))
        .expect(1)
        .create();
    let clock = clock();
    let client = Client::with_transport(
        config(&server, Credentials::AccessToken(FETCHED.into())),
        capped(256),
        Arc::clone(&clock),
    )
    .unwrap();
    let mut grants = 0;
    let mut grant = |_: &GrantRequest| {
        grants += 1;
        GrantOutcome::Granted
    };
    let report = client
        .fulfill(
            FulfillOptions::game("509658"),
            &mut twitch_drops::MemoryJournal::new(),
            &mut grant,
        )
        .unwrap();
    big.assert();
    assert!(
        matches!(
            report.error,
            Some(Error::Transport(TransportError {
                kind: TransportErrorKind::TooLarge,
                ..
            }))
        ),
        "{report:?}"
    );
    assert_eq!(grants, 0);
    assert_eq!(report.listed, 0);
    assert_eq!(
        client.requests_sent(),
        1,
        "a body over the cap is not fetched again"
    );
}

// ---------------------------------------------------------------------------------------
// Redirects

fn redirect_to(location: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )
    .into_bytes()
}

/// The port of `http://127.0.0.1:port`, so the other server can be named `localhost`.
fn port(url: &str) -> &str {
    url.rsplit(':').next().unwrap()
}

#[test]
fn the_transport_returns_a_redirect_to_another_host_without_following_it() {
    let elsewhere = ScriptedServer::start(vec![Action::Respond(raw_response(200, "{}"))]);
    let target = format!("http://localhost:{}/stolen", port(&elsewhere.url()));
    let origin = ScriptedServer::start(vec![Action::Respond(redirect_to(&target))]);

    let response = UreqTransport::new()
        .send(
            HttpRequest::new(Method::Get, format!("{}/helix/x", origin.url()))
                .with_header("Authorization", format!("Bearer {FETCHED}")),
        )
        .unwrap();

    assert_eq!(response.status, 307);
    assert_eq!(response.header("location"), Some(target.as_str()));
    let asked = origin.finish();
    assert_eq!(
        asked[0].header("authorization"),
        Some(bearer(FETCHED).as_str())
    );
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere.requests()
    );
}

#[test]
fn a_helix_call_redirected_elsewhere_never_sends_the_token_there() {
    let elsewhere = ScriptedServer::start(vec![Action::Respond(raw_response(
        200,
        &page(&["e1"], "CLAIMED", None),
    ))]);
    let target = format!(
        "http://localhost:{}/helix/entitlements/drops",
        port(&elsewhere.url())
    );
    let origin = ScriptedServer::start(vec![Action::Respond(redirect_to(&format!(
        "{target}?token={FETCHED}"
    )))]);
    let clock = clock();
    let client = client(
        config_at(&origin.url(), Credentials::AccessToken(FETCHED.into())).with_retry_policy(
            RetryPolicy {
                max_retries: 1,
                ..RetryPolicy::default()
            },
        ),
        &clock,
    );

    let err = client
        .entitlements_page(&EntitlementsQuery::new())
        .unwrap_err();

    // Helix never redirects: the redirect fails the call at once, saying where it pointed
    // (without its query), instead of being read as a page and retried.
    assert!(matches!(err, Error::Http { status: 307, .. }), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains(&format!("307 Temporary Redirect: a redirect to {target},")),
        "{shown}"
    );
    assert!(!shown.contains(FETCHED), "{shown}");
    assert!(clock.sleeps().is_empty(), "no retry");
    let asked = origin.finish();
    assert_eq!(asked.len(), 1);
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere.requests()
    );
}

#[test]
fn a_report_download_follows_a_redirect_to_another_host_with_no_credentials() {
    let csv = "date,views\n2023-10-01,12\n";
    let storage = ScriptedServer::start(vec![Action::Respond(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{csv}",
            csv.len()
        )
        .into_bytes(),
    )]);
    let target = format!("http://localhost:{}/r1.csv?sig=2", port(&storage.url()));
    let reports = ScriptedServer::start(vec![Action::Respond(redirect_to(&target))]);
    let clock = clock();
    let client = client(
        config_at(
            &reports.url(),
            Credentials::UserToken {
                access_token: FETCHED.into(),
                refresh_token: None,
                client_secret: Some(CLIENT_SECRET.into()),
            },
        ),
        &clock,
    );
    let report = twitch_drops::AnalyticsReport {
        game_id: "1".into(),
        url: format!("{}/r1.csv?sig=1", reports.url()),
        report_type: "overview_v2".into(),
        date_range: Default::default(),
    };

    let bytes = client.download_report(&report).unwrap();

    assert_eq!(bytes, csv.as_bytes());
    for request in reports.finish().iter().chain(&storage.finish()) {
        for (name, value) in &request.headers {
            assert!(
                !["authorization", "client-id", "cookie"]
                    .contains(&name.to_ascii_lowercase().as_str()),
                "a download sent `{name}: {value}`"
            );
            assert_hidden("download request header", value);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Timeouts

fn short_timeouts(read_timeout: Duration) -> UreqTransport {
    UreqTransport::with_options(UreqOptions {
        connect_timeout: Duration::from_secs(2),
        read_timeout,
        ..UreqOptions::default()
    })
}

/// A server that accepts, reads the request, writes `prefix`, then holds the connection
/// open without another byte until the test ends.
fn stalling_server(prefix: &'static [u8]) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let thread = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 2 {
            line.clear();
        }
        writer.write_all(prefix).unwrap();
        writer.flush().unwrap();
        // Hold the connection until the client gives up and closes it.
        let mut rest = Vec::new();
        let _ = reader.read_to_end(&mut rest);
    });
    (url, thread)
}

#[test]
fn a_server_that_accepts_and_never_answers_times_out() {
    let (url, server) = stalling_server(b"");
    let started = Instant::now();
    let err = short_timeouts(Duration::from_millis(150))
        .send(HttpRequest::new(Method::Get, format!("{url}/helix/x")))
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.kind, TransportErrorKind::Interrupted, "{err}");
    assert!(elapsed >= Duration::from_millis(100), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    server.join().unwrap();
}

#[test]
fn a_body_that_stalls_midway_times_out() {
    let (url, server) =
        stalling_server(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"data\":[");
    let started = Instant::now();
    let err = short_timeouts(Duration::from_millis(150))
        .send(HttpRequest::new(Method::Get, format!("{url}/helix/x")))
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.kind, TransportErrorKind::Interrupted, "{err}");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    server.join().unwrap();
}

#[test]
fn a_run_against_a_silent_server_ends_with_nothing_granted() {
    let (url, server) = stalling_server(b"");
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let client = Client::with_transport(
        config_at(&url, Credentials::AccessToken(FETCHED.into())).with_retry_policy(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }),
        short_timeouts(Duration::from_millis(150)),
        Arc::clone(&clock),
    )
    .unwrap();
    let mut grants = 0;
    let mut grant = |_: &GrantRequest| {
        grants += 1;
        GrantOutcome::Granted
    };
    let report = client
        .fulfill(
            FulfillOptions::game("509658"),
            &mut twitch_drops::MemoryJournal::new(),
            &mut grant,
        )
        .unwrap();
    assert!(
        matches!(
            report.error,
            Some(Error::Transport(TransportError {
                kind: TransportErrorKind::Interrupted,
                ..
            }))
        ),
        "{report:?}"
    );
    assert_eq!(grants, 0);
    server.join().unwrap();
}

// ---------------------------------------------------------------------------------------
// Exactly once: regressions found by the fuzzers (core/fuzz)

/// Drives `engine` with no I/O: the journal holds `journal`, every grant succeeds, a
/// re-read finds each id CLAIMED, a PATCH succeeds for every id. Returns every grant request.
fn run_sans_io(
    mut engine: Engine,
    journal: Vec<JournalRecord>,
) -> (Vec<GrantRequest>, FulfillReport) {
    let mut grants = Vec::new();
    let mut input = EngineInput::Start;
    for _ in 0..1000 {
        input = match engine.resume(input, NOW_MS) {
            EngineStep::Twitch(TwitchStep::Send(request)) => {
                let body = if request.method == Method::Patch {
                    let ids = patch_ids(request.body.as_deref().unwrap());
                    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                    update_answer(&[("SUCCESS", &ids)])
                } else {
                    let query = request.url.split_once('?').map(|(_, q)| q).unwrap_or("");
                    let ids: Vec<&str> = query
                        .split('&')
                        .filter_map(|p| p.strip_prefix("id="))
                        .collect();
                    page(&ids, "CLAIMED", None)
                };
                EngineInput::Response(HttpResponse::new(200, body))
            }
            EngineStep::Twitch(TwitchStep::Sleep(_)) => EngineInput::Slept,
            EngineStep::Studio(StudioStep::LoadJournal) => {
                EngineInput::JournalLoaded(Ok(journal.clone()))
            }
            EngineStep::Studio(StudioStep::Claim { .. }) => EngineInput::Claimed(Ok(Vec::new())),
            EngineStep::Studio(StudioStep::AppendJournal(_)) => EngineInput::Appended(Ok(())),
            EngineStep::Studio(StudioStep::Grant(requests)) => {
                let outcomes = vec![GrantOutcome::Granted; requests.len()];
                grants.extend(requests);
                EngineInput::Granted(outcomes)
            }
            EngineStep::Done(report) => return (grants, report),
        };
    }
    panic!("the engine did not finish");
}

fn pushed(id: &str) -> twitch_drops::Entitlement {
    serde_json::from_value(entitlement(id, "CLAIMED")).unwrap()
}

fn granting(id: &str) -> JournalRecord {
    JournalRecord::Granting {
        id: id.into(),
        user_id: "user-1".into(),
        benefit_id: format!("benefit-{id}").into(),
        game_id: "509658".into(),
    }
}

#[test]
fn a_pushed_entitlement_an_interrupted_run_granted_is_not_granted_again() {
    let config = Config::new("cid", Credentials::AccessToken(FETCHED.into()));
    let engine = Engine::for_entitlements(&config, vec![pushed("e1"), pushed("e2")], 1);
    let journal = vec![granting("e1"), JournalRecord::Granted { id: "e1".into() }];

    let (grants, report) = run_sans_io(engine, journal);

    let granted: Vec<(&str, bool)> = grants
        .iter()
        .map(|r| (r.entitlement.id.as_str(), r.resumed))
        .collect();
    assert_eq!(
        granted,
        [("e2", false)],
        "e1 was granted by the earlier run"
    );
    assert!(report.is_complete(), "{report:?}");
    assert_eq!((report.listed, report.fulfilled), (2, 2), "{report:?}");
}

#[test]
fn a_pushed_entitlement_left_in_doubt_is_granted_as_resumed() {
    let config = Config::new("cid", Credentials::AccessToken(FETCHED.into()));
    let engine = Engine::for_entitlements(&config, vec![pushed("e1")], 1);

    let (grants, report) = run_sans_io(engine, vec![granting("e1")]);

    let granted: Vec<(&str, bool)> = grants
        .iter()
        .map(|r| (r.entitlement.id.as_str(), r.resumed))
        .collect();
    assert_eq!(
        granted,
        [("e1", true)],
        "the game must check its records first"
    );
    assert_eq!((report.listed, report.fulfilled, report.resumed), (1, 1, 1));
}

#[test]
fn a_pushed_run_whose_journal_cannot_be_read_reports_what_it_did_not_reach() {
    let config = Config::new("cid", Credentials::AccessToken(FETCHED.into()));
    let mut engine = Engine::for_entitlements(&config, vec![pushed("e1"), pushed("e1")], 1);
    assert!(matches!(
        engine.resume(EngineInput::Start, NOW_MS),
        EngineStep::Studio(StudioStep::LoadJournal)
    ));
    let failed = Err(twitch_drops::fulfill::JournalError("unreadable".into()));
    let EngineStep::Done(report) = engine.resume(EngineInput::JournalLoaded(failed), NOW_MS) else {
        panic!("a journal that cannot be read stops the run");
    };
    assert!(
        matches!(report.error, Some(Error::Journal { .. })),
        "{report:?}"
    );
    assert_eq!((report.listed, report.not_reached), (1, 1), "{report:?}");
}

#[test]
fn a_journal_whose_last_line_is_torn_inside_a_character_still_loads() {
    let dir = temp_dir("torn-utf8");
    let path = dir.join("drops.journal");
    let mut bytes = Vec::new();
    for record in [granting("été"), JournalRecord::Granted { id: "été".into() }] {
        bytes.extend(serde_json::to_vec(&record).unwrap());
        bytes.push(b'\n');
    }
    let torn = serde_json::to_vec(&JournalRecord::Settled { id: "été".into() }).unwrap();
    let cut = torn.iter().position(|b| *b >= 0x80).unwrap() + 1; // inside the first `é`
    bytes.extend(&torn[..cut]);
    std::fs::write(&path, &bytes).unwrap();

    let records = FileJournal::new(&path).load().unwrap();

    assert_eq!(
        records,
        [granting("été"), JournalRecord::Granted { id: "été".into() }]
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_device_code_with_huge_lifetimes_does_not_panic() {
    let config = Config::new("cid", Credentials::None);
    let code = DeviceCode {
        device_code: Secret::new("device-code"),
        user_code: "ABCD".into(),
        verification_uri: "https://www.twitch.tv/activate".into(),
        expires_in: u64::MAX,
        interval: u64::MAX,
        scopes: Vec::new(),
    };
    let mut poll = device::poll_device_flow(&config, &code);
    assert!(matches!(
        poll.resume(Input::Start, u64::MAX - 1),
        Step::Send(_)
    ));
    let slow_down = HttpResponse::new(400, r#"{"status":400,"message":"slow_down"}"#);
    let step = poll.resume(Input::Response(slow_down), u64::MAX - 1);
    assert!(
        matches!(
            step,
            Step::Done(Err(Error::Unauthorized { .. })) | Step::Sleep(_)
        ),
        "{step:?}"
    );
}

/// A fresh directory under the system's temporary directory.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "twitch-drops-security-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_blank_cursor_ends_paging_instead_of_failing_as_bad_input() {
    let mut server = Server::new();
    let first = server
        .mock("GET", "/helix/entitlements/drops")
        .match_query(Matcher::Any)
        .with_body(page(&["e1"], "CLAIMED", Some(" ")))
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let listed: Vec<_> = client
        .entitlements(EntitlementsQuery::new().first(1000))
        .collect::<Result<_, _>>()
        .unwrap();

    first.assert();
    assert_eq!(listed.len(), 1);
    let page = twitch_drops::entitlements::parse_entitlements_page(
        br#"{"data":[],"pagination":{"cursor":"  "}}"#,
    )
    .unwrap();
    assert_eq!(page.cursor, None);
}
