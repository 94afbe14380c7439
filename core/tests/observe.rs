//! What the library tells while it works: a drain against a faulty fake Twitch, watched
//! through the client's logger and its metrics. Every retry is noted once, with its reason;
//! the counts match the faults the fake injected; no secret reaches a log line.

mod common;

use common::fake_config;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use fake_twitch::{FakeConfig, FakeTwitch, Faults, Seed};
use twitch_drops::{
    Client, FulfillOptions, GrantOutcome, GrantRequest, HttpRequest, Level, Logger, MemoryJournal,
    SystemClock, Transport, UreqTransport,
};

const GAME: &str = "509658";

fn fake(entitlements: usize, faults: Faults) -> FakeTwitch {
    let mut config = FakeConfig::new();
    config.seed = Seed::claimed_of(GAME, entitlements, 40, 7);
    config.faults = faults;
    FakeTwitch::start(config).expect("fake starts")
}

/// Log lines as the logger got them: "level target message".
type Lines = Arc<Mutex<Vec<String>>>;

fn logger(level: Level) -> (Logger, Lines) {
    let lines: Lines = Arc::default();
    let seen = Arc::clone(&lines);
    let logger = Logger::new(level, move |record| {
        seen.lock().unwrap().push(format!(
            "{} {} {}",
            record.level.as_str(),
            record.target,
            record.message
        ));
    });
    (logger, lines)
}

#[test]
fn a_faulty_drain_notes_each_retry_and_counts_match_the_fakes_faults() {
    let fake = fake(
        6000,
        Faults {
            error_5xx_rate: 0.1,
            html_503_rate: 0.05,
            spurious_429_rate: 0.05,
            drop_after_apply_rate: 0.05,
            truncate_after_apply_rate: 0.05,
            rng_seed: 3,
            ..Faults::default()
        },
    );
    let (logger, lines) = logger(Level::Debug);
    let config = fake_config(&fake).with_logger(logger);
    // Every credential the transport carries, to look for in the log afterwards.
    let sent_secrets: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&sent_secrets);
    let ureq = UreqTransport::new();
    let transport = move |request: HttpRequest| {
        if let Some(auth) = request.header("authorization") {
            let token = auth
                .split_whitespace()
                .last()
                .unwrap_or_default()
                .to_owned();
            seen.lock().unwrap().push(token);
        }
        let response = ureq.send(request)?;
        if let Ok(body) = serde_json::from_slice::<serde_json::Value>(&response.body) {
            if let Some(token) = body["access_token"].as_str() {
                seen.lock().unwrap().push(token.to_owned());
            }
        }
        Ok(response)
    };
    let client = Client::with_transport(config, transport, SystemClock).expect("client");
    let report = client
        .fulfill(
            FulfillOptions {
                // One request at a time: the fake's faults fall in a fixed order.
                requests_in_flight: 1,
                grants_in_flight: 100,
                ..FulfillOptions::game(GAME)
            },
            &mut MemoryJournal::new(),
            &mut |_: &GrantRequest| GrantOutcome::Granted,
        )
        .expect("options");
    assert!(report.is_complete(), "{report:?}");

    let metrics = client.metrics();
    let stats = fake.stats();
    let injected: usize = stats.faults_injected.values().sum();
    eprintln!(
        "faults injected {:?}; retries {:?}, update re-reads {}, requests {}",
        stats.faults_injected,
        metrics.retries,
        metrics.update_rereads,
        metrics.total_requests()
    );
    assert!(injected >= 10, "enough faults: {:?}", stats.faults_injected);
    // Every fault that reached the client is either a retry of a GET (with its reason) or
    // the re-read of a PATCH whose answer was lost; none is silent, none counted twice.
    assert_eq!(
        metrics.total_retries() + metrics.update_rereads,
        injected as u64,
        "{metrics:?} against {:?}",
        stats.faults_injected
    );
    assert_eq!(
        metrics.retries.get("429").copied().unwrap_or(0),
        stats.faults_injected.get("429").copied().unwrap_or(0) as u64
    );
    assert_eq!(metrics.rate_limited as usize, stats.rate_limited);
    assert_eq!(metrics.total_requests(), stats.requests as u64);
    assert_eq!(metrics.total_requests(), client.requests_sent());
    assert_eq!(metrics.granted, report.granted);
    assert_eq!(metrics.token_fetches, stats.tokens_issued as u64);

    let lines = lines.lock().unwrap();
    let retries = lines
        .iter()
        .filter(|l| l.starts_with("warn twitch_drops::retry "))
        .count();
    assert_eq!(
        retries as u64,
        metrics.total_retries(),
        "one line per retry"
    );
    let answered = lines
        .iter()
        .filter(|l| l.starts_with("debug twitch_drops::http "))
        .count();
    assert_eq!(
        answered as u64,
        metrics.total_requests(),
        "one line per request"
    );
    assert!(lines.iter().any(|l| l.contains("access token fetched")));

    // No secret in any line: the client secret, every token sent or received.
    let mut secrets = sent_secrets.lock().unwrap().clone();
    secrets.push(fake.client_secret());
    secrets.sort();
    secrets.dedup();
    assert!(secrets.len() >= 2, "{secrets:?}");
    for line in lines.iter() {
        for secret in &secrets {
            assert!(!line.contains(secret.as_str()), "a secret in: {line}");
        }
        assert!(!line.contains('?'), "a query in: {line}");
    }
}

#[test]
fn the_logger_hears_only_its_level_and_two_clients_log_apart() {
    let fake = fake(300, Faults::default());
    let make = |level| {
        let (logger, lines) = logger(level);
        let config = fake_config(&fake).with_logger(logger);
        let client =
            Client::with_transport(config, UreqTransport::new(), SystemClock).expect("client");
        (client, lines)
    };
    let (quiet, quiet_lines) = make(Level::Warn);
    let (chatty, chatty_lines) = make(Level::Debug);
    let drain = |client: &Client<UreqTransport, SystemClock>| {
        client
            .fulfill(
                FulfillOptions::game(GAME),
                &mut MemoryJournal::new(),
                &mut |_: &GrantRequest| GrantOutcome::Granted,
            )
            .expect("options")
    };
    assert!(drain(&chatty).is_complete());
    assert!(drain(&quiet).is_complete());
    // A clean run has nothing to warn about.
    assert!(quiet_lines.lock().unwrap().is_empty());
    let chatty_lines = chatty_lines.lock().unwrap();
    let by_level = chatty_lines
        .iter()
        .fold(BTreeMap::<&str, usize>::new(), |mut m, l| {
            *m.entry(l.split(' ').next().unwrap()).or_default() += 1;
            m
        });
    assert!(
        by_level.get("debug").copied().unwrap_or(0) >= 300,
        "{by_level:?}"
    );
    assert_eq!(chatty.metrics().granted, 300);
    assert_eq!(
        quiet.metrics().granted,
        0,
        "the second drain found nothing left"
    );
}
