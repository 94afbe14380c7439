//! `drops serve` against the fake Twitch: what was CLAIMED before it started is drained at
//! start, pushed grants are granted at once (a redelivery is not granted again), grants
//! whose push never came are caught by the next drain, /healthz and /metrics answer, and
//! SIGTERM stops it with exit 0.
#![cfg(unix)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{fake_of_game as fake, free_address, GAME};
use fake_twitch::{Delivery, Entitlement, FakeTwitch, CLAIMED};

const SECRET: &str = "a-webhook-secret-for-the-tests";

/// `GET path` on `address`: the status and the body.
fn get(address: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connects");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// Lines of the grant log, by id.
fn granted(log: &Path) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for line in std::fs::read_to_string(log).unwrap_or_default().lines() {
        *ids.entry(line.split(' ').next().unwrap_or("").to_string())
            .or_default() += 1;
    }
    ids
}

fn claimed(fake: &FakeTwitch) -> usize {
    fake.entitlements()
        .iter()
        .filter(|e| e.game_id == GAME && e.fulfillment_status == CLAIMED)
        .count()
}

/// Waits until `done` holds, up to `limit`.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// An empty scratch folder for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("drops-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `drops serve` on `listen` with `extra` flags: grants logged in `dir/grants`, journal in
/// `dir/journal.sqlite`, a drain every second.
fn serve(fake: &FakeTwitch, dir: &Path, listen: &str, extra: &[&str], stderr: Stdio) -> Child {
    let journal = format!("sqlite:{}", dir.join("journal.sqlite").display());
    serve_on(fake, dir, &journal, listen, extra, stderr)
}

/// The same with the journal `journal`.
fn serve_on(
    fake: &FakeTwitch,
    dir: &Path,
    journal: &str,
    listen: &str,
    extra: &[&str],
    stderr: Stdio,
) -> Child {
    Command::new(env!("CARGO_BIN_EXE_drops"))
        .args(["serve", "--game", GAME, "--listen", listen])
        .args(extra)
        .args(["--reconcile-every", "1", "--grant-log"])
        .arg(dir.join("grants"))
        .args(["--journal", journal])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TWITCH_CLIENT_ID", fake.client_id())
        .env("TWITCH_CLIENT_SECRET", fake.client_secret())
        .env("TWITCH_HELIX_URL", fake.helix_url())
        .env("TWITCH_AUTH_URL", fake.auth_url())
        .env("DROPS_EVENTSUB_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("drops serve starts")
}

/// SIGTERM to `child`, then its exit (within 10 seconds).
fn terminate(mut child: Child) -> ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            return exit;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "stops in time");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_grants_pushes_once_catches_missed_ones_and_stops_on_sigterm() {
    let fake = fake(30, 10, 31);
    let dir = scratch("serve");
    let log = dir.join("grants");
    let mut child = serve(&fake, &dir, "127.0.0.1:0", &[], Stdio::piped());
    // Its stderr, line by line, on a channel (the first says where it listens).
    let (lines, said) = mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let address = loop {
        let line = said
            .recv_timeout(Duration::from_secs(10))
            .expect("drops serve says where it listens");
        if let Some(url) = line.strip_prefix("drops: listening on http://") {
            break url.to_string();
        }
    };
    let callback = format!("http://{address}/eventsub");

    // What was CLAIMED before it started: drained at start.
    assert!(
        eventually(Duration::from_secs(10), || claimed(&fake) == 0),
        "the start-up drain"
    );
    assert_eq!(granted(&log).len(), 30);
    assert_eq!(get(&address, "/healthz"), (200, "ok\n".to_string()));
    assert_eq!(get(&address, "/livez"), (200, "live\n".to_string()));

    // A push: granted at once, well before the next drain could matter.
    let push = fake
        .deliver_grants(&callback, SECRET, 5)
        .expect("delivered");
    assert_eq!(push.status, 204);
    assert!(
        eventually(Duration::from_secs(5), || granted(&log).len() == 35),
        "the pushed grants"
    );
    // The same message again: answered, not granted again.
    let replay = fake
        .deliver(&Delivery {
            replay: true,
            ..Delivery::new(&callback, SECRET, 0)
        })
        .expect("delivered");
    assert_eq!(replay.status, 204);
    // A forged one: refused.
    let forged = fake
        .deliver_grants(&callback, "not-the-webhook-secret", 1)
        .expect("delivered");
    assert_eq!(forged.status, 403);
    // Three claims whose push never comes: the next drain grants them.
    for n in 0..3 {
        fake.insert_entitlement(Entitlement {
            id: format!("00000000-0000-4000-8000-00000000000{n}"),
            benefit_id: "b".into(),
            timestamp: "2026-12-05T00:00:00Z".into(),
            user_id: "4242".into(),
            game_id: GAME.into(),
            fulfillment_status: CLAIMED.into(),
            last_updated: "2026-12-05T00:00:00Z".into(),
        });
    }
    assert!(
        eventually(Duration::from_secs(10), || claimed(&fake) == 0),
        "the missed claims, at the next drain"
    );
    let ids = granted(&log);
    assert_eq!(
        ids.len(),
        30 + 5 + 1 + 3,
        "the forged message's grant is one more claim, drained"
    );
    assert!(
        ids.values().all(|n| *n == 1),
        "nothing granted twice: {ids:?}"
    );

    let (status, metrics) = get(&address, "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("drops_eventsub_messages_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("drops_eventsub_duplicates_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("drops_eventsub_refused_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("drops_pushed_entitlements_total 5"),
        "{metrics}"
    );
    // Every grant timed from its claim; the five pushed ones within seconds.
    assert!(
        metrics.contains("drops_claim_to_grant_seconds_count 39"),
        "{metrics}"
    );
    let within_10s: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("drops_claim_to_grant_seconds_bucket{le=\"10\"} "))
        .and_then(|n| n.parse().ok())
        .expect("a 10 s bucket");
    assert!(within_10s >= 5, "{metrics}");
    assert!(!metrics.contains(&fake.client_secret()));

    // SIGTERM: a graceful stop, exit 0.
    let exit = terminate(child);
    assert!(exit.success(), "{exit}");
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn serve_subscribes_resubscribes_after_failed_deliveries_and_drains_lost_pushes() {
    let fake = fake(0, 5, 32);
    let dir = scratch("serve-sub");
    let log = dir.join("grants");
    // A free port, known before start: the callback URL names it.
    let address = free_address();
    let callback = format!("http://{address}/eventsub");
    let child = serve(
        &fake,
        &dir,
        &address,
        &[
            "--callback-url",
            &callback,
            "--organization",
            fake_twitch::ORGANIZATION_ID,
            "--campaign",
            "3b1e4a5f-0000-4000-8000-00000000c0de",
        ],
        Stdio::null(),
    );
    assert!(ready(&address), "ready once subscribed");
    assert_eq!(
        fake.eventsub_subscriptions().len(),
        1,
        "subscribed, callback verified"
    );

    let condition = fake.eventsub_subscriptions()[0].condition.clone();
    assert_eq!(
        condition,
        serde_json::json!({
            "organization_id": fake_twitch::ORGANIZATION_ID,
            "category_id": GAME,
            "campaign_id": "3b1e4a5f-0000-4000-8000-00000000c0de",
        }),
        "the game and the campaign narrow the subscription"
    );
    let first = fake.eventsub_subscriptions()[0].id.clone();
    // Twitch gave up on failed deliveries: subscribed again.
    let revoked = fake
        .deliver(&Delivery {
            revoke: Some("notification_failures_exceeded".into()),
            ..Delivery::new(&callback, SECRET, 0)
        })
        .expect("delivered");
    assert_eq!(revoked.status, 204);
    assert!(
        eventually(Duration::from_secs(10), || fake
            .eventsub_subscriptions()
            .iter()
            .any(|s| s.id != first)),
        "subscribed again"
    );
    // Authorization revoked: a human must act; no new subscription.
    fake.deliver(&Delivery {
        revoke: Some("authorization_revoked".into()),
        ..Delivery::new(&callback, SECRET, 0)
    })
    .expect("delivered");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        fake.eventsub_subscriptions().is_empty(),
        "not subscribed again"
    );

    // Pushes Twitch lost: the next drain grants them.
    let lost = fake
        .deliver(&Delivery {
            lost: true,
            ..Delivery::new(&callback, SECRET, 4)
        })
        .expect("created");
    assert_eq!(lost.status, 0, "never sent");
    assert!(
        eventually(Duration::from_secs(10), || granted(&log).len() == 4),
        "the lost pushes, at the next drain"
    );
    terminate(child);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
    std::fs::remove_dir_all(&dir).ok();
}

/// Waits (10 s at most) for `GET /healthz` on `address` to answer 200.
fn ready(address: &str) -> bool {
    eventually(Duration::from_secs(10), || {
        TcpStream::connect(address).is_ok() && get(address, "/healthz").0 == 200
    })
}

#[test]
fn with_a_file_journal_a_message_delivered_again_after_a_restart_is_known() {
    let fake = fake(0, 5, 33);
    let dir = scratch("serve-file");
    let journal = format!("file:{}", dir.join("journal.jsonl").display());
    let address = free_address();
    let callback = format!("http://{address}/eventsub");
    let first = serve_on(&fake, &dir, &journal, &address, &[], Stdio::null());
    assert!(ready(&address), "the first instance answers");
    let push = fake
        .deliver_grants(&callback, SECRET, 3)
        .expect("delivered");
    assert_eq!(push.status, 204);
    assert!(
        eventually(Duration::from_secs(10), || granted(&dir.join("grants"))
            .len()
            == 3),
        "the pushed grants"
    );
    assert!(terminate(first).success());
    let deliveries = std::fs::read_to_string(dir.join("journal.jsonl.deliveries"))
        .expect("deliveries are kept beside the journal");
    assert!(deliveries.contains(&push.message_id), "{deliveries}");

    // Twitch delivers the same message again to the restarted service.
    let second = serve_on(&fake, &dir, &journal, &address, &[], Stdio::null());
    assert!(ready(&address), "the second instance answers");
    let replay = fake
        .deliver(&Delivery {
            replay: true,
            ..Delivery::new(&callback, SECRET, 0)
        })
        .expect("delivered");
    assert_eq!(replay.status, 204);
    let (_, metrics) = get(&address, "/metrics");
    assert!(
        metrics.contains("drops_eventsub_duplicates_total 1"),
        "known as a repeat, not acted on: {metrics}"
    );
    assert!(
        metrics.contains("drops_pushed_entitlements_total 0"),
        "{metrics}"
    );
    assert!(terminate(second).success());
    let ids = granted(&dir.join("grants"));
    assert_eq!(ids.len(), 3);
    assert!(ids.values().all(|n| *n == 1), "{ids:?}");
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_restarted_serve_reuses_its_subscription() {
    let fake = fake(0, 5, 34);
    let dir = scratch("serve-reuse");
    let address = free_address();
    let callback = format!("http://{address}/eventsub");
    let flags = [
        "--callback-url",
        callback.as_str(),
        "--organization",
        fake_twitch::ORGANIZATION_ID,
    ];
    let log = |n: usize| std::fs::File::create(dir.join(format!("serve{n}.err"))).unwrap();
    let first = serve(&fake, &dir, &address, &flags, Stdio::from(log(1)));
    assert!(ready(&address), "the first instance subscribed");
    assert!(terminate(first).success());
    let second = serve(&fake, &dir, &address, &flags, Stdio::from(log(2)));
    assert!(
        ready(&address),
        "the second instance is ready with the same subscription"
    );
    assert!(terminate(second).success());
    let said = std::fs::read_to_string(dir.join("serve2.err")).unwrap();
    let subscriptions = fake.eventsub_subscriptions();
    assert_eq!(subscriptions.len(), 1, "{said}");
    assert!(
        said.contains(&format!(
            "drops: reusing drop.entitlement.grant ({}, enabled)",
            subscriptions[0].id
        )),
        "{said}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// What came back on `stream` until the server closed it (30 s at most).
fn answer_of(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// Anyone can reach the webhook. A sender that stops half-way through its body, one that
/// drips it a byte at a time, one that never ends its headers and one that announces a
/// terabyte hold up neither Twitch's deliveries nor the probes nor the stop; each is
/// answered (408, 413) or let go, and the service lives on.
#[test]
fn hostile_senders_hold_up_nobody_and_crash_nothing() {
    let fake = fake(0, 5, 35);
    let dir = scratch("serve-hostile");
    let address = free_address();
    let callback = format!("http://{address}/eventsub");
    let child = serve(&fake, &dir, &address, &[], Stdio::null());
    assert!(ready(&address), "it answers");
    let post = |length: &str| {
        format!(
            "POST /eventsub HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: {length}\r\n\r\n"
        )
    };
    let connect = || TcpStream::connect(&address).expect("connects");

    let mut stalled = connect();
    write!(stalled, "{}{{\"challenge", post("5000")).unwrap();
    let mut headless = connect();
    let headless_since = Instant::now();
    write!(headless, "POST /eventsub HTTP/1.1\r\nHost: {address}\r\n").unwrap();
    let mut dripping = connect();
    write!(dripping, "{}", post("5000")).unwrap();
    let dripper = std::thread::spawn(move || {
        for _ in 0..150 {
            if dripping.write_all(b"x").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        dripping
    });
    let mut huge = connect();
    write!(huge, "{}", post("1000000000000")).unwrap();

    // Meanwhile a delivery is granted and the probes answer.
    let push = fake
        .deliver_grants(&callback, SECRET, 2)
        .expect("delivered");
    assert_eq!(push.status, 204);
    assert_eq!(get(&address, "/livez").0, 200);
    assert!(
        eventually(Duration::from_secs(10), || granted(&dir.join("grants"))
            .len()
            == 2),
        "the pushed grants, while the others hang"
    );

    let answer = answer_of(&mut huge);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let answer = answer_of(&mut stalled);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let answer = answer_of(&mut dripper.join().unwrap());
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // Headers that never end: the connection is closed after the 10 s header deadline
    // (hyper's own default would be 30 s).
    let _ = answer_of(&mut headless);
    let held = headless_since.elapsed();
    assert!(
        held >= Duration::from_secs(9) && held < Duration::from_secs(25),
        "let go after {held:?}"
    );

    assert_eq!(get(&address, "/livez").0, 200, "still serving");
    assert!(terminate(child).success());
    let ids = granted(&dir.join("grants"));
    assert!(ids.values().all(|n| *n == 1), "{ids:?}");
    std::fs::remove_dir_all(&dir).ok();
}
