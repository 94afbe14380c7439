//! The C ABI tested by real programs: the C and C++ programs under `ffi/tests/` are compiled
//! with `-Wall -Wextra -Wpedantic -Werror` against the library cargo just built, and run
//! against the fake Twitch (in-process, on loopback) or with no network at all: the blocking
//! calls, the step API, the fulfillment engine (file, memory and C-callback journals, crashes
//! simulated by a failing journal, two instances sharing a journal through claims), EventSub
//! webhooks and the C++ wrapper. The same programs run again under AddressSanitizer + UBSan
//! (clang) and under valgrind.
//!
//! Needs gcc, g++, clang and valgrind (`apt-get install -y clang valgrind`); a missing tool
//! fails the test with the package to install.

mod common;

use common::*;
use fake_twitch::{FakeTwitch, Faults, CLAIMED, FULFILLED};
use serde_json::json;

/// The main job through the blocking API: every scenario must end with nothing CLAIMED left
/// in our game and no entitlement fulfilled twice.
/// The drain program against a fake with `faults`: the fake's stats, the program's totals,
/// and the client's metrics as it printed them.
fn drain(
    build: Build,
    how: Run,
    faults: Faults,
    args: &[&str],
) -> (
    fake_twitch::Stats,
    std::collections::HashMap<String, u64>,
    serde_json::Value,
) {
    let fake = fake(faults);
    let out = run(&common::build(DRAIN, build), args, &fake_env(&fake), how);
    let got = summary(&out);
    let stats = fake.stats();
    assert_eq!(got["listed"], 720, "{out}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(stats.duplicate_fulfill_attempts, 0);
    let metrics = out
        .lines()
        .find_map(|line| line.strip_prefix("metrics "))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| panic!("a metrics line of JSON: {out}"));
    (stats, got, metrics)
}

fn drain_clean(build: Build, how: Run) {
    let (stats, got, metrics) = drain(build, how, no_faults(), &[]);
    // 1 token + 4 pages of 200 + 8 batches of 100 + 1 check: nothing wasted.
    assert_eq!(got["requests"], 14);
    assert_eq!(stats.requests, 14);
    assert_eq!(stats.tokens_issued, 1);
    assert_eq!(
        got["log_lines"], 0,
        "a clean drain has nothing to warn about"
    );
    assert_eq!(metrics["retries"], serde_json::json!({}));
    let requests: u64 = metrics["requests"]
        .as_object()
        .expect("requests by route")
        .values()
        .flat_map(|by_status| by_status.as_object().expect("by status").values())
        .map(|n| n.as_u64().unwrap_or(0))
        .sum();
    assert_eq!(requests, 14, "{metrics}");
}

fn drain_401(build: Build, how: Run) {
    let faults = Faults {
        revoke_token_after: 3,
        ..Faults::default()
    };
    let (stats, got, _) = drain(build, how, faults, &["--manual-clock"]);
    assert!(stats.tokens_issued >= 4, "tokens renewed: {stats:?}");
    assert!(got["requests"] > 14);
}

fn drain_429(build: Build, how: Run) {
    let faults = Faults {
        rate_limit_every: 4,
        ..Faults::default()
    };
    let (stats, got, _) = drain(build, how, faults, &["--manual-clock"]);
    assert!(stats.rate_limited >= 3, "{stats:?}");
    // Each 429 says the bucket is empty: the client waited for two points to come back
    // (800 a minute: 150 ms), not for the whole bucket, before resending.
    assert!(got["sleeps"] >= stats.rate_limited as u64, "{got:?}");
    assert!(
        got["slept_ms"] >= 150 * stats.rate_limited as u64,
        "{got:?}"
    );
    assert!(
        got["slept_ms"] < 1000 * stats.rate_limited as u64,
        "not a second per 429: {got:?}"
    );
}

fn drain_5xx(build: Build, how: Run) {
    let faults = Faults {
        error_5xx_rate: 0.2,
        html_503_rate: 0.05,
        rng_seed: 11,
        ..Faults::default()
    };
    let (stats, got, got_metrics) = drain(build, how, faults, &["--manual-clock"]);
    assert!(got["requests"] > 14, "retries happened: {got:?} {stats:?}");
    assert!(got["sleeps"] > 0);
    // The logger heard one warning per retry, the metrics count them, and every fault the
    // fake injected is a retry of a read or the re-read of an update whose answer was lost.
    let metrics = got_metrics;
    let retries: u64 = metrics["retries"]
        .as_object()
        .expect("retries by reason")
        .values()
        .map(|n| n.as_u64().unwrap_or(0))
        .sum();
    assert_eq!(got["retry_lines"], retries, "{metrics}");
    assert_eq!(
        got["log_lines"],
        retries + metrics["update_rereads"].as_u64().unwrap_or(0),
        "warnings: the retries and the updates read back"
    );
    let injected: usize = stats.faults_injected.values().sum();
    assert_eq!(
        retries + metrics["update_rereads"].as_u64().unwrap_or(0),
        injected as u64,
        "{metrics} against {:?}",
        stats.faults_injected
    );
    assert_eq!(metrics["token_fetches"], stats.tokens_issued as u64);
}

fn outcomes(build: Build, how: Run) {
    let fake = fake(Faults {
        revoke_token_after: 2,
        ..Faults::default()
    });
    let all = fake.entitlements();
    let own = all
        .iter()
        .find(|e| e.game_id == fake_twitch::DEFAULT_GAME && e.fulfillment_status == "CLAIMED")
        .expect("a CLAIMED entitlement of ours");
    let foreign = all
        .iter()
        .find(|e| e.game_id == fake_twitch::DEFAULT_FOREIGN_GAME)
        .expect("an entitlement of the other organization");
    let mut env = fake_env(&fake);
    env.push(("TD_TEST_OWN_ID".into(), own.id.clone()));
    env.push(("TD_TEST_FOREIGN_ID".into(), foreign.id.clone()));
    env.push(("TD_TEST_APP_TOKEN".into(), fake.app_token()));
    run(&build_of(OUTCOMES, build), &[], &env, how);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

fn build_of(program: Program, kind: Build) -> std::path::PathBuf {
    common::build(program, kind)
}

fn step(build: Build, how: Run, faults: Faults) -> std::collections::HashMap<String, u64> {
    let fake = fake(faults);
    let out = run(&build_of(STEP, build), &[], &fake_env(&fake), how);
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
    summary(&out)
}

fn step_faults() -> Faults {
    Faults {
        drop_after_apply_rate: 0.2,
        error_5xx_rate: 0.1,
        rng_seed: 7,
        ..Faults::default()
    }
}

fn readme_examples(build: Build, how: Run) {
    let fake = fake(no_faults());
    let out = run(&build_of(README_DRAIN, build), &[], &fake_env(&fake), how);
    assert!(out.starts_with("granted 720 entitlements"), "{out}");
    assert_eq!(claimed_left(&fake), 0);

    let fake = fake_with_claims();
    let out = run(&build_of(README_ENGINE, build), &[], &fake_env(&fake), how);
    assert_eq!(summary(&out)["fulfilled"], 720, "{out}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);

    // The non-blocking fulfillment example: each reward given once, all FULFILLED; the same
    // journal again finds nothing.
    let fake = fake_with_claims();
    let journal = temp_path(&format!("readme-run-{build:?}-{how:?}.jsonl"));
    let mut env = fake_env(&fake);
    env.push((
        "TD_TEST_JOURNAL".into(),
        journal.to_string_lossy().into_owned(),
    ));
    let out = run(&build_of(README_FULFILL_RUN, build), &[], &env, how);
    let _ = std::fs::remove_file(&journal);
    let got = summary(out.lines().next().unwrap_or_default());
    assert_eq!(
        (got["fulfilled"], got["given"], got["twice"]),
        (720, 720, 0),
        "{out}"
    );
    assert!(got["frames"] > 0, "{out}");
    assert!(out.contains("again: fulfilled=0 given=0"), "{out}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);

    // The fulfillment example: plain and sanitized (valgrind runs the same path in
    // `fulfill_drain`). A second run with the journal finds nothing to do.
    if how == Run::Valgrind {
        return;
    }
    let fake = fake_with_claims();
    let journal = temp_path(&format!("readme-{build:?}.jsonl"));
    let mut env = fake_env(&fake);
    env.push((
        "TWITCH_DROPS_JOURNAL".into(),
        journal.to_string_lossy().into_owned(),
    ));
    let out = run(&build_of(README_FULFILL, build), &[], &env, how);
    let again = run(&build_of(README_FULFILL, build), &[], &env, how);
    let _ = std::fs::remove_file(&journal);
    assert!(
        out.starts_with("gave 720 rewards: 720 fulfilled, 0 left"),
        "{out}"
    );
    assert!(again.starts_with("gave 0 rewards"), "{again}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

fn fake_with_claims() -> fake_twitch::FakeTwitch {
    fake(no_faults())
}

fn wrapper(build: Build, how: Run) {
    let fake = fake(no_faults());
    let out = run(&build_of(WRAPPER, build), &[], &fake_env(&fake), how);
    assert!(out.contains("wrapper: ok"), "{out}");
    assert_eq!(claimed_left(&fake), 0);
}

/// The fulfillment engine from C with a file journal: every CLAIMED entitlement granted once
/// (the C program counts) and FULFILLED, in ⌈N/100⌉ updates; the same journal again finds
/// nothing to do.
fn fulfill_drain(build: Build, how: Run) {
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake);
    let journal = temp_path(&format!("drain-{build:?}-{how:?}.jsonl"));
    let path = journal.to_str().expect("a UTF-8 temporary path");
    let out = run(
        &build_of(FULFILL, build),
        &["drain", path],
        &fake_env(&fake),
        how,
    );
    let _ = std::fs::remove_file(&journal);
    let got = summary(&out);
    assert_eq!(got["granted"], claimed as u64, "{out}");
    assert_eq!(got["duplicates"], 0);
    assert_eq!(claimed_left(&fake), 0);
    let stats = fake.stats();
    assert_eq!(stats.duplicate_fulfill_attempts, 0);
    assert_eq!(
        stats.requests_by_route["PATCH /helix/entitlements/drops"],
        claimed.div_ceil(100),
        "{stats:?}"
    );
}

/// RETRY_LATER, FAILED and an unknown answer reported, then granted by the next run.
fn fulfill_outcomes(build: Build, how: Run) {
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let out = run(
        &build_of(FULFILL, build),
        &["outcomes"],
        &fake_env(&fake),
        how,
    );
    let got = summary(&out);
    assert_eq!(got["granted"], claimed, "{out}");
    assert!(got["first_run"] < claimed);
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// A C journal whose appends fail part way, run after run, like crashes: a settle that was not
/// recorded (found FULFILLED next time) and grants in doubt (resumed), nothing given twice.
fn fulfill_crash(build: Build, how: Run) {
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let out = run(
        &build_of(FULFILL, build),
        &["crash", "3", "3"],
        &fake_env(&fake),
        how,
    );
    let got = summary(&out);
    assert_eq!(got["granted"], claimed, "{out}");
    assert_eq!(got["duplicates"], 0);
    assert!(got["resumed"] > 0, "grants in doubt were resumed: {out}");
    assert!(got["already_fulfilled"] > 0, "{out}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// The engine driven by a non-blocking C loop (`td_fulfill_run`): every request through the
/// loop's own HTTP (the fake saw exactly those), steps out side by side and answered in reverse
/// order, RETRY_LATER and FAILED left CLAIMED, each reward given once, the minimum requests.
fn fulfill_run_drain(
    build: Build,
    how: Run,
    faults: Faults,
) -> std::collections::HashMap<String, u64> {
    let clean = faults == no_faults();
    let fake = fake(faults);
    let claimed = claimed_left(&fake) as u64;
    let journal = temp_path(&format!("run-{build:?}-{how:?}-{clean}.jsonl"));
    let path = journal.to_str().expect("a UTF-8 temporary path");
    let out = run(
        &build_of(FULFILL_RUN, build),
        &["drain", path],
        &fake_env(&fake),
        how,
    );
    let _ = std::fs::remove_file(&journal);
    let got = summary(&out);
    let stats = fake.stats();
    assert_eq!(got["sends"], stats.requests as u64, "{out}");
    assert_eq!(got["requests"], got["sends"]);
    assert_eq!(got["duplicates"], 0, "{out}");
    assert!(got["retry_later"] > 0 && got["failed"] > 0, "{out}");
    let left = got["retry_later"] + got["failed"];
    assert_eq!(got["granted"] + left, claimed, "{out}");
    assert_eq!(got["fulfilled"], got["granted"]);
    assert_eq!(
        claimed_left(&fake) as u64,
        left,
        "exactly what was not granted stays CLAIMED"
    );
    assert_eq!(
        got["settled"], claimed,
        "a settlement per entitlement: {out}"
    );
    assert!(got["most_out"] > 1, "steps were out side by side: {out}");
    assert_eq!(stats.duplicate_fulfill_attempts, 0);
    if clean {
        // 1 token + 1 page (fewer than 1000) + ⌈granted/100⌉ updates.
        assert!(claimed < 1000);
        assert_eq!(got["sends"], 2 + got["granted"].div_ceil(100), "{out}");
        assert_eq!(got["sleeps"], 0);
    }
    got
}

/// A non-blocking run freed with steps out (a crash), then a new run with the same file
/// journal: only the grants in doubt come back (resumed), nothing is given twice.
fn fulfill_run_crash(build: Build, how: Run) {
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let journal = temp_path(&format!("run-crash-{build:?}-{how:?}.jsonl"));
    let path = journal.to_str().expect("a UTF-8 temporary path");
    let out = run(
        &build_of(FULFILL_RUN, build),
        &["crash", "250", path],
        &fake_env(&fake),
        how,
    );
    let _ = std::fs::remove_file(&journal);
    let got = summary(&out);
    assert_eq!(got["granted"], claimed, "{out}");
    assert_eq!(got["duplicates"], 0);
    assert!(
        got["resumed"] > 0 && got["resumed"] <= 100,
        "one batch in doubt: {out}"
    );
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// A non-blocking run whose stop signal is raised mid-run: it ends DONE and interrupted, having
/// marked every grant it made (the C program checks it); a second run finishes resuming
/// nothing, and nothing is given twice.
fn fulfill_run_interrupt(build: Build, how: Run) {
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let journal = temp_path(&format!("run-interrupt-{build:?}-{how:?}.jsonl"));
    let path = journal.to_str().expect("a UTF-8 temporary path");
    let out = run(
        &build_of(FULFILL_RUN, build),
        &["interrupt", "250", path],
        &fake_env(&fake),
        how,
    );
    let _ = std::fs::remove_file(&journal);
    assert!(out.contains("interrupted after"), "{out}");
    let got = summary(&out);
    assert_eq!(got["granted"], claimed, "{out}");
    assert_eq!((got["duplicates"], got["resumed"]), (0, 0), "{out}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// Two instances sharing one C store through claim callbacks: `interleaved` (B's whole run
/// inside A's first batch) and `takeover` (failing claims, a dead instance's claims taken
/// over). The C program checks each instance's report and settlements; here, that every
/// entitlement was granted once across both and Twitch has them all FULFILLED.
fn claims(build: Build, how: Run, scenario: &str) -> std::collections::HashMap<String, u64> {
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let out = run(&build_of(CLAIMS, build), &[scenario], &fake_env(&fake), how);
    let got = summary(&out);
    assert_eq!(got["claimed"], claimed, "{out}");
    assert_eq!(got["granted"], claimed, "{out}");
    assert_eq!(got["duplicates"], 0, "{out}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
    got
}

fn claims_interleaved(build: Build, how: Run) {
    let got = claims(build, how, "interleaved");
    assert_eq!(got["a_granted"], 100, "{got:?}");
    assert_eq!(got["b_held"], 100, "{got:?}");
    assert_eq!(got["a_granted"] + got["b_granted"], got["claimed"]);
    assert_eq!(
        got["a_held"], got["b_granted"],
        "A's stale listing held: {got:?}"
    );
}

fn claims_takeover(build: Build, how: Run) {
    let got = claims(build, how, "takeover");
    assert_eq!(got["resumed"], 100, "{got:?}");
}

/// The secret of core/tests/eventsub.rs's vector, and its message id and timestamp.
const EVENTSUB_SECRET: &str = "s3cre7-s3cre7-s3cre7";
const VECTOR_MESSAGE_ID: &str = "e76c6bd4-55c9-4987-8304-da1588d8988b";
const VECTOR_TIMESTAMP: &str = "2023-11-14T22:13:20.634234626Z";

/// A signed verification and a signed notification of 150 of the fake's CLAIMED entitlements
/// (the first twice), signed here with the core's `eventsub::signature`. Returns the
/// environment and the pushed ids.
fn eventsub_env(fake: &FakeTwitch) -> (Vec<(String, String)>, Vec<String>) {
    use twitch_drops::eventsub::signature;
    let secret = twitch_drops::Secret::new(EVENTSUB_SECRET);
    let subscription = json!({
        "id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4", "status": "enabled",
        "type": "drop.entitlement.grant", "version": "1",
        "condition": {"organization_id": fake_twitch::ORGANIZATION_ID},
        "transport": {"method": "webhook", "callback": "https://example.com/webhooks/callback"},
        "created_at": "2023-11-01T10:00:00.000Z", "cost": 0,
    });
    let challenge = json!({
        "challenge": "pogchamp-kappa-360noscope-vohiyo", "subscription": subscription,
    })
    .to_string();
    let pushed: Vec<fake_twitch::Entitlement> = fake
        .entitlements()
        .into_iter()
        .filter(|e| e.game_id == fake_twitch::DEFAULT_GAME && e.fulfillment_status == CLAIMED)
        .take(150)
        .collect();
    let mut events: Vec<serde_json::Value> = pushed
        .iter()
        .enumerate()
        .map(|(i, e)| {
            json!({"id": format!("event-{i}"), "data": {
                "organization_id": fake_twitch::ORGANIZATION_ID, "category_id": e.game_id,
                "category_name": "Game", "campaign_id": "campaign", "user_id": e.user_id,
                "user_name": "Viewer", "user_login": "viewer", "entitlement_id": e.id,
                "benefit_id": e.benefit_id, "created_at": e.timestamp,
            }})
        })
        .collect();
    events.push(events[0].clone());
    let body = json!({"subscription": subscription, "events": events}).to_string();
    let (push_id, push_timestamp) = ("push-1", "2023-11-14T22:13:20Z");
    let mut env = fake_env(fake);
    for (key, value) in [
        ("TD_TEST_CHALLENGE_BODY", challenge.clone()),
        (
            "TD_TEST_CHALLENGE_SIGNATURE",
            signature(
                &secret,
                VECTOR_MESSAGE_ID,
                VECTOR_TIMESTAMP,
                challenge.as_bytes(),
            ),
        ),
        (
            "TD_TEST_PUSH_SIGNATURE",
            signature(&secret, push_id, push_timestamp, body.as_bytes()),
        ),
        ("TD_TEST_PUSH_BODY", body),
        ("TD_TEST_PUSH_ID", push_id.into()),
        ("TD_TEST_PUSH_TIMESTAMP", push_timestamp.into()),
        ("TD_TEST_PUSH_NOW_MS", "1700000001000".into()),
    ] {
        env.push((key.into(), value));
    }
    (env, pushed.into_iter().map(|e| e.id).collect())
}

/// EventSub from C: the vector, refusals, the challenge, the deduplicator, and a signed push
/// fulfilled through the engine (then a polling run with the same journal).
fn eventsub(build: Build, how: Run) {
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let (env, pushed) = eventsub_env(&fake);
    let out = run(&build_of(EVENTSUB, build), &[], &env, how);
    let got = summary(&out);
    assert_eq!(got["pushed"], pushed.len() as u64, "{out}");
    assert_eq!(got["events"], pushed.len() as u64 + 1);
    assert_eq!(got["granted"], claimed);
    assert_eq!(got["duplicates"], 0);
    let store = fake.entitlements();
    for id in &pushed {
        let stored = store.iter().find(|e| &e.id == id).expect("known to Helix");
        assert_eq!(stored.fulfillment_status, FULFILLED);
    }
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// The C++ wrapper's fulfillment: throwing grant and settlement functions, a journal that
/// throws, a file journal, EventSub.
/// The root README's C++ sketch of a journal several instances share: two instances in two
/// threads over one store, every entitlement granted once and FULFILLED, split between them.
fn readme_shared_journal(build: Build, how: Run) {
    let fake = fake(no_faults());
    let out = run(
        &build_of(README_SHARED_JOURNAL, build),
        &[],
        &fake_env(&fake),
        how,
    );
    let numbers: Vec<u64> = out
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let [a, b, a_held, b_held, twice] = numbers[..] else {
        panic!("unexpected output: {out}");
    };
    assert_eq!(twice, 0, "{out}");
    assert_eq!(
        a + b,
        720,
        "every entitlement fulfilled by one of them: {out}"
    );
    assert!(a_held + b_held <= 720, "{out}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

fn wrapper_fulfill(build: Build, how: Run) {
    let fake = fake(no_faults());
    let journal = temp_path(&format!("wrapper-{build:?}-{how:?}.jsonl"));
    let mut env = fake_env(&fake);
    env.push((
        "TD_TEST_JOURNAL_PATH".into(),
        journal.to_string_lossy().into_owned(),
    ));
    let out = run(&build_of(WRAPPER_FULFILL, build), &[], &env, how);
    let _ = std::fs::remove_file(&journal);
    assert!(out.contains("fulfill wrapper: ok"), "{out}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

#[test]
fn c_fulfill_drains_with_a_file_journal() {
    fulfill_drain(Build::Plain, Run::Direct);
}

#[test]
fn c_fulfill_reports_retry_later_and_failed() {
    fulfill_outcomes(Build::Plain, Run::Direct);
}

#[test]
fn c_fulfill_recovers_from_a_c_journal_that_fails() {
    fulfill_crash(Build::Plain, Run::Direct);
}

#[test]
fn c_fulfill_run_drains_from_a_non_blocking_loop() {
    fulfill_run_drain(Build::Plain, Run::Direct, no_faults());
}

#[test]
fn c_fulfill_run_survives_dropped_answers_and_5xx() {
    let got = fulfill_run_drain(Build::Plain, Run::Direct, step_faults());
    assert!(got["sleeps"] > 0, "retries waited: {got:?}");
}

/// Given entitlements (as EventSub pushes them) through `td_client_begin_fulfill_entitlements`:
/// exactly those granted once and FULFILLED, the rest left alone; requests in flight checked.
#[test]
fn c_fulfill_run_fulfills_given_entitlements() {
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let out = run(
        &build_of(FULFILL_RUN, Build::Plain),
        &["pushed", "50"],
        &fake_env(&fake),
        Run::Direct,
    );
    let got = summary(&out);
    assert_eq!((got["granted"], got["fulfilled"]), (50, 50), "{out}");
    assert_eq!((got["duplicates"], got["settled"]), (0, 50), "{out}");
    assert_eq!(claimed_left(&fake) as u64, claimed - 50);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

#[test]
fn c_fulfill_run_freed_mid_run_resumes_without_granting_twice() {
    fulfill_run_crash(Build::Plain, Run::Direct);
}

#[test]
fn c_fulfill_run_stops_gracefully_on_its_stop_signal() {
    fulfill_run_interrupt(Build::Plain, Run::Direct);
}

#[test]
fn c_claims_share_a_journal_between_interleaved_instances() {
    claims_interleaved(Build::Plain, Run::Direct);
}

#[test]
fn c_claims_fail_cleanly_and_a_dead_instance_is_taken_over() {
    claims_takeover(Build::Plain, Run::Direct);
}

#[test]
fn c_eventsub_verify_and_fulfill_pushed_grants() {
    eventsub(Build::Plain, Run::Direct);
}

#[test]
fn cpp_wrapper_fulfill_survives_throwing_callbacks() {
    wrapper_fulfill(Build::Plain, Run::Direct);
}

#[test]
fn c_drain_clean() {
    drain_clean(Build::Plain, Run::Direct);
}

#[test]
fn c_drain_renews_a_revoked_token() {
    drain_401(Build::Plain, Run::Direct);
}

#[test]
fn c_drain_waits_out_429s() {
    drain_429(Build::Plain, Run::Direct);
}

#[test]
fn c_drain_retries_5xx_without_duplicates() {
    drain_5xx(Build::Plain, Run::Direct);
}

#[test]
fn c_per_id_outcomes_and_partial_update() {
    outcomes(Build::Plain, Run::Direct);
}

#[test]
fn c_bad_input_is_refused_at_the_boundary() {
    run(&build_of(BAD_INPUT, Build::Plain), &[], &[], Run::Direct);
}

#[test]
fn c_callback_transport_needs_no_network() {
    run(&build_of(CALLBACK, Build::Plain), &[], &[], Run::Direct);
}

#[test]
fn c_step_api_driven_by_a_c_http_loop() {
    let clean = step(Build::Plain, Run::Direct, no_faults());
    assert_eq!(clean["sleeps"], 0);
    let faulty = step(Build::Plain, Run::Direct, step_faults());
    assert!(faulty["sends"] > clean["sends"], "{faulty:?} vs {clean:?}");
    assert!(
        faulty["interrupted"] > 0,
        "dropped connections reached the op: {faulty:?}"
    );
}

#[test]
fn c_readme_examples_drain_the_fake() {
    readme_examples(Build::Plain, Run::Direct);
}

#[test]
fn cpp_wrapper() {
    wrapper(Build::Plain, Run::Direct);
}

#[test]
fn cpp_readme_shared_journal_grants_each_once_across_two_instances() {
    readme_shared_journal(Build::Plain, Run::Direct);
}

/// Every program and scenario again, built with clang's AddressSanitizer and UBSan (leak
/// detection on): any report fails the run.
#[test]
fn sanitizers_report_nothing() {
    drain_clean(Build::Sanitized, Run::Direct);
    drain_401(Build::Sanitized, Run::Direct);
    drain_429(Build::Sanitized, Run::Direct);
    drain_5xx(Build::Sanitized, Run::Direct);
    outcomes(Build::Sanitized, Run::Direct);
    run(
        &build_of(BAD_INPUT, Build::Sanitized),
        &[],
        &[],
        Run::Direct,
    );
    run(&build_of(CALLBACK, Build::Sanitized), &[], &[], Run::Direct);
    step(Build::Sanitized, Run::Direct, step_faults());
    readme_examples(Build::Sanitized, Run::Direct);
    wrapper(Build::Sanitized, Run::Direct);
    fulfill_drain(Build::Sanitized, Run::Direct);
    fulfill_outcomes(Build::Sanitized, Run::Direct);
    fulfill_crash(Build::Sanitized, Run::Direct);
    fulfill_run_drain(Build::Sanitized, Run::Direct, step_faults());
    fulfill_run_crash(Build::Sanitized, Run::Direct);
    fulfill_run_interrupt(Build::Sanitized, Run::Direct);
    claims_interleaved(Build::Sanitized, Run::Direct);
    claims_takeover(Build::Sanitized, Run::Direct);
    eventsub(Build::Sanitized, Run::Direct);
    wrapper_fulfill(Build::Sanitized, Run::Direct);
    readme_shared_journal(Build::Sanitized, Run::Direct);
}

/// Every program once under valgrind, linked against the shared library: no errors and no
/// leaks (suppressed: only the one allocation of Rust's standard library that
/// `tests/valgrind.supp` explains).
#[test]
fn valgrind_reports_no_leaks() {
    drain_clean(Build::Shared, Run::Valgrind);
    outcomes(Build::Shared, Run::Valgrind);
    run(&build_of(BAD_INPUT, Build::Shared), &[], &[], Run::Valgrind);
    run(&build_of(CALLBACK, Build::Shared), &[], &[], Run::Valgrind);
    step(Build::Shared, Run::Valgrind, no_faults());
    readme_examples(Build::Shared, Run::Valgrind);
    wrapper(Build::Shared, Run::Valgrind);
    // The fulfillment outcomes and the C++ wrapper's fulfillment run plain and under the
    // sanitizers (LeakSanitizer included) only, to keep this run short.
    fulfill_drain(Build::Shared, Run::Valgrind);
    fulfill_crash(Build::Shared, Run::Valgrind);
    fulfill_run_drain(Build::Shared, Run::Valgrind, no_faults());
    fulfill_run_crash(Build::Shared, Run::Valgrind);
    fulfill_run_interrupt(Build::Shared, Run::Valgrind);
    claims_interleaved(Build::Shared, Run::Valgrind);
    claims_takeover(Build::Shared, Run::Valgrind);
    eventsub(Build::Shared, Run::Valgrind);
}

/// The same programs and scenarios, with the same checks of the fake's counts, on the other
/// platforms the library ships for: cross-built by `tests/platforms.sh` (which runs these
/// with `--ignored`; a missing cross compiler, Wine or qemu fails them with its package).
macro_rules! platform_tests {
    ($platform:ident, $build:expr, $how:expr) => {
        mod $platform {
            use super::*;
            const BUILD: Build = $build;
            const HOW: Run = $how;

            #[test]
            #[ignore = "cross-built and run by tests/platforms.sh"]
            fn readme_examples_drain_the_fake() {
                readme_examples(BUILD, HOW);
            }

            #[test]
            #[ignore = "cross-built and run by tests/platforms.sh"]
            fn blocking_drain_with_401_429_and_5xx() {
                drain_clean(BUILD, HOW);
                drain_401(BUILD, HOW);
                drain_429(BUILD, HOW);
                drain_5xx(BUILD, HOW);
            }

            #[test]
            #[ignore = "cross-built and run by tests/platforms.sh"]
            fn outcomes_bad_input_and_callback_transport() {
                outcomes(BUILD, HOW);
                run(&build_of(BAD_INPUT, BUILD), &[], &[], HOW);
                run(&build_of(CALLBACK, BUILD), &[], &[], HOW);
            }

            #[test]
            #[ignore = "cross-built and run by tests/platforms.sh"]
            fn step_api_engine_pattern() {
                let clean = step(BUILD, HOW, no_faults());
                assert_eq!(clean["sleeps"], 0);
                let faulty = step(BUILD, HOW, step_faults());
                assert!(faulty["interrupted"] > 0, "{faulty:?}");
            }

            #[test]
            #[ignore = "cross-built and run by tests/platforms.sh"]
            fn fulfill_with_file_and_c_journals() {
                fulfill_drain(BUILD, HOW);
                fulfill_outcomes(BUILD, HOW);
                fulfill_crash(BUILD, HOW);
            }

            #[test]
            #[ignore = "cross-built and run by tests/platforms.sh"]
            fn fulfill_run_non_blocking() {
                fulfill_run_drain(BUILD, HOW, no_faults());
                let got = fulfill_run_drain(BUILD, HOW, step_faults());
                assert!(got["sleeps"] > 0, "retries waited: {got:?}");
                fulfill_run_crash(BUILD, HOW);
                fulfill_run_interrupt(BUILD, HOW);
            }

            #[test]
            #[ignore = "cross-built and run by tests/platforms.sh"]
            fn claims_and_eventsub() {
                claims_interleaved(BUILD, HOW);
                claims_takeover(BUILD, HOW);
                eventsub(BUILD, HOW);
            }

            #[test]
            #[ignore = "cross-built and run by tests/platforms.sh"]
            fn cpp_wrapper_fulfill_and_shared_journal() {
                wrapper(BUILD, HOW);
                wrapper_fulfill(BUILD, HOW);
                readme_shared_journal(BUILD, HOW);
            }
        }
    };
}

platform_tests!(windows_x64_wine, Build::Windows, Run::Wine);
platform_tests!(linux_arm64_qemu, Build::Arm64, Run::Qemu);
