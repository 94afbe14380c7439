//! The C# bindings (`bindings/csharp`) tested for real: the runtime is compiled with Mono's
//! C# compiler (`mcs`, warnings as errors) into `TwitchDrops.dll`, exactly the sources Unity
//! compiles, and the programs under `ffi/tests/csharp` run on `mono` against the library cargo
//! just built and the fake Twitch (in-process): the drain through IEnumerable paging and Tasks,
//! per-id outcomes and errors, the fulfillment engine with a grant function that throws, a C#
//! transport carrying every request (drain, faults, failures, lifetime), handles disposed twice
//! and a GC stress counted by `td_live_handle_count`, and the README's Unity quickstart (a
//! MonoBehaviour, compiled against a stand-in for UnityEngine).
//!
//! Needs Mono (`apt-get install -y mono-mcs mono-runtime`); a missing tool fails the test with
//! the packages to install.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use fake_twitch::{FakeTwitch, Faults, CLAIMED, FULFILLED};

/// The Unity quickstart the root README quotes, and the file the test compiles.
const QUICKSTART: &str = "bindings/csharp/Samples~/Quickstart/DropsFulfiller.cs";

fn require_mono() {
    for tool in ["mcs", "mono"] {
        let found = Command::new(tool)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(
            found,
            "`{tool}` is needed by the C# tests and was not found: install Mono with \
             `apt-get install -y mono-mcs mono-runtime` (CI: see .ci/run)"
        );
    }
}

fn out_dir() -> PathBuf {
    let dir = lib_dir().join("csharp-tests");
    std::fs::create_dir_all(&dir).expect("can create the C# output directory");
    dir
}

/// `.cs` files under `dir`, recursively, sorted.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a readable source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|ext| ext == "cs") {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn mcs(args: &[&std::ffi::OsStr], what: &str) {
    let output = Command::new("mcs")
        .args(["-unsafe", "-warnaserror", "-debug"])
        .args(args)
        .output()
        .expect("mcs runs");
    assert!(
        output.status.success(),
        "compiling {what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `TwitchDrops.dll` from `bindings/csharp/Runtime`, compiled once per test binary.
fn runtime_dll() -> PathBuf {
    static DLL: OnceLock<PathBuf> = OnceLock::new();
    DLL.get_or_init(|| {
        require_mono();
        let dll = out_dir().join("TwitchDrops.dll");
        let mut args: Vec<std::ffi::OsString> = vec!["-target:library".into(), {
            let mut out = std::ffi::OsString::from("-out:");
            out.push(&dll);
            out
        }];
        args.extend(
            sources(&repo().join("bindings/csharp/Runtime"))
                .into_iter()
                .map(Into::into),
        );
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        mcs(&refs, "bindings/csharp/Runtime");
        dll
    })
    .clone()
}

/// A test program: `TestUtil.cs` and `files` (relative to the repository), referencing the
/// runtime. Returns the `.exe`.
fn program(name: &str, files: &[&str]) -> PathBuf {
    let dll = runtime_dll();
    let exe = out_dir().join(format!("{name}.exe"));
    let mut args: Vec<std::ffi::OsString> = vec![
        format!("-r:{}", dll.display()).into(),
        format!("-out:{}", exe.display()).into(),
        repo().join("ffi/tests/csharp/TestUtil.cs").into(),
    ];
    args.extend(files.iter().map(|f| repo().join(f).into()));
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    mcs(&refs, name);
    exe
}

/// Runs a program on mono with the fake's environment; the native library is found through
/// `LD_LIBRARY_PATH` (the library cargo built for this test run, nothing older).
fn mono(exe: &Path, args: &[&str], env: &[(String, String)]) -> String {
    let mut all: Vec<&str> = vec!["--debug", exe.to_str().expect("a UTF-8 path")];
    all.extend_from_slice(args);
    let mut env = env.to_vec();
    env.push((
        "LD_LIBRARY_PATH".into(),
        lib_dir().to_string_lossy().into_owned(),
    ));
    run(Path::new("mono"), &all, &env, Run::Direct)
}

fn claimed_ids(fake: &FakeTwitch) -> HashSet<String> {
    fake.entitlements()
        .into_iter()
        .filter(|e| e.game_id == fake_twitch::DEFAULT_GAME && e.fulfillment_status == CLAIMED)
        .map(|e| e.id)
        .collect()
}

#[test]
fn csharp_drain_pages_and_updates_with_tasks() {
    let exe = program("drain", &["ffi/tests/csharp/Drain.cs"]);
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let out = mono(&exe, &[], &fake_env(&fake));
    let got = summary(&out);
    assert_eq!(got["listed"], claimed, "{out}");
    assert_eq!(got["fulfilled"], claimed);
    assert_eq!(got["pages"], claimed.div_ceil(200));
    // 1 token + the pages (and the empty last page check) + ⌈N/100⌉ updates + 2 re-reads.
    let stats = fake.stats();
    assert_eq!(stats.tokens_issued, 1);
    assert_eq!(
        stats.requests_by_route["PATCH /helix/entitlements/drops"],
        claimed.div_ceil(100) as usize
    );
    assert_eq!(got["requests"], stats.requests as u64);
    assert!(
        got["frames"] > 0,
        "the main thread ticked while the update ran: {out}"
    );
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(stats.duplicate_fulfill_attempts, 0);
}

#[test]
fn csharp_log_hears_retries_and_requests_and_metrics_count_them() {
    let exe = program("log", &["ffi/tests/csharp/Log.cs"]);
    let fake = fake(Faults {
        error_5xx_rate: 0.15,
        html_503_rate: 0.05,
        rng_seed: 12,
        ..Faults::default()
    });
    let out = mono(&exe, &[], &fake_env(&fake));
    let got = summary(&out);
    let stats = fake.stats();
    // The program checked its lines against the metrics; here, that faults were met and
    // every request it counted reached the fake (a second client made a few more).
    assert!(got["retries"] > 0, "faults were retried: {out}");
    assert!(got["requests"] < stats.requests as u64, "{out} {stats:?}");
    assert_eq!(claimed_left(&fake), 0);
}

#[test]
fn csharp_per_id_outcomes_and_typed_errors() {
    let exe = program("outcomes", &["ffi/tests/csharp/Outcomes.cs"]);
    let fake = fake(no_faults());
    let all = fake.entitlements();
    let own = all
        .iter()
        .find(|e| e.game_id == fake_twitch::DEFAULT_GAME && e.fulfillment_status == CLAIMED)
        .expect("a CLAIMED entitlement of ours");
    let foreign = all
        .iter()
        .find(|e| e.game_id == fake_twitch::DEFAULT_FOREIGN_GAME)
        .expect("an entitlement of the other organization");
    let mut env = fake_env(&fake);
    env.push(("TD_TEST_OWN_ID".into(), own.id.clone()));
    env.push(("TD_TEST_FOREIGN_ID".into(), foreign.id.clone()));
    let out = mono(&exe, &[], &env);
    assert!(out.contains("outcomes: ok"), "{out}");
    let after = fake.entitlements();
    let status = |id: &str| {
        after
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.fulfillment_status.clone())
    };
    assert_eq!(status(&own.id).as_deref(), Some(FULFILLED));
    assert_eq!(
        status(&foreign.id),
        Some(foreign.fulfillment_status.clone())
    );
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// A grant function that throws (and one answering RetryLater, Failed and nothing) must not
/// take the process down: what it did not grant stays CLAIMED in the fake, exactly those ids;
/// a second run with the same journal grants just those, nothing twice.
#[test]
fn csharp_fulfill_survives_a_throwing_grant() {
    let exe = program("fulfill", &["ffi/tests/csharp/Fulfill.cs"]);
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let journal = temp_path("csharp-fulfill.jsonl");
    let path = journal.to_str().expect("a UTF-8 temporary path");

    let out = mono(&exe, &["mixed", path], &fake_env(&fake));
    let got = summary(&out);
    let left: HashSet<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("left "))
        .map(str::to_string)
        .collect();
    assert!(
        got["thrown"] > 0 && got["retry"] > 0 && got["failed"] > 0,
        "{out}"
    );
    assert_eq!(got["listed"], claimed);
    assert_eq!(
        left.len() as u64,
        got["thrown"] + got["retry"] + got["failed"]
    );
    assert_eq!(
        claimed_ids(&fake),
        left,
        "exactly what was not granted is still CLAIMED"
    );
    assert_eq!(got["fulfilled"], claimed - left.len() as u64);

    let again = mono(&exe, &["rest", path], &fake_env(&fake));
    let _ = std::fs::remove_file(&journal);
    let rest = summary(&again);
    assert_eq!(rest["granted"], left.len() as u64, "{again}");
    assert_eq!(rest["fulfilled"], left.len() as u64);
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// Handles disposed twice, used after Dispose, abandoned; then rounds of clients and journals
/// never disposed, left to the GC: the native live-handle count is back at its baseline after
/// every round, and RSS stays flat from the first round to the last.
#[test]
fn csharp_handles_are_freed_once_and_gc_stress_leaks_nothing() {
    let exe = program("handles", &["ffi/tests/csharp/Handles.cs"]);
    let fake = fake(no_faults());
    let (per_round, rounds) = (2000, 5);
    let out = mono(
        &exe,
        &[&per_round.to_string(), &rounds.to_string()],
        &fake_env(&fake),
    );
    let got = summary(&out);
    eprintln!("GC stress: {out}");
    assert_eq!(got["created"], (per_round * 2 * rounds) as u64, "{out}");
    assert_eq!(got["after"], got["baseline"]);
    assert!(got["peak"] > 0);
    // The live-handle count is the exact check; RSS is a coarse second one (managed heap
    // included), so that memory held outside handles would show too.
    let growth_kb = got["rss_last_kb"].saturating_sub(got["rss_first_kb"]);
    assert!(growth_kb < 16 * 1024, "RSS grew {growth_kb} KiB: {out}");
}

/// `Transport.cs`, compiled once for the tests that run it side by side.
fn transport_program() -> PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        program(
            "transport",
            &["ffi/tests/csharp/Transport.cs", "ffi/tests/csharp/Web.cs"],
        )
    })
    .clone()
}

/// Every request through a C# transport (HttpWebRequest): the fake saw exactly the requests
/// the transport carried, so the native library opened no socket of its own; the drain is
/// complete, each entitlement granted once, at the minimum of requests.
#[test]
fn csharp_transport_carries_every_request_of_a_drain() {
    let exe = transport_program();
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let out = mono(&exe, &["drain"], &fake_env(&fake));
    let got = summary(&out);
    let stats = fake.stats();
    assert_eq!(got["calls"], stats.requests as u64, "{out}");
    assert_eq!(got["calls"], got["requests"]);
    assert_eq!(
        (got["listed"], got["fulfilled"], got["granted"]),
        (claimed, claimed, claimed)
    );
    // The minimum: 1 token, one page (fewer than 1000, so no second pass), ⌈N/100⌉ updates.
    assert!(claimed < 1000);
    assert_eq!(got["calls"], 1 + 1 + claimed.div_ceil(100), "{out}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(stats.duplicate_fulfill_attempts, 0);
}

/// The same drain while the fake answers 5xx and HTML 503s: the retries go through the C#
/// transport too, and nothing is lost or granted twice.
#[test]
fn csharp_transport_drain_survives_5xx_and_html_errors() {
    let exe = transport_program();
    let fake = fake(Faults {
        error_5xx_rate: 0.15,
        html_503_rate: 0.1,
        rng_seed: 7,
        ..no_faults()
    });
    let claimed = claimed_left(&fake) as u64;
    let out = mono(&exe, &["drain"], &fake_env(&fake));
    let got = summary(&out);
    let stats = fake.stats();
    assert_eq!(got["calls"], stats.requests as u64, "{out}");
    let failed = fake.journal().iter().filter(|e| e.status >= 500).count();
    assert!(failed > 0, "faults were injected");
    assert_eq!(
        (got["listed"], got["fulfilled"]),
        (claimed, claimed),
        "{out}"
    );
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(stats.duplicate_fulfill_attempts, 0);
}

/// A transport that fails in every way a C# one can gives typed exceptions and no crash;
/// typed connect failures are retried.
#[test]
fn csharp_transport_failures_are_typed_exceptions() {
    let exe = transport_program();
    let fake = fake(no_faults());
    let out = mono(&exe, &["failures"], &fake_env(&fake));
    assert!(out.contains("failures: ok"), "{out}");
}

/// An iterator keeps using its client's C# transport after the client is disposed (through
/// full collections); clients with transports left to the GC free every native handle.
#[test]
fn csharp_transport_lives_as_long_as_its_native_users() {
    let exe = transport_program();
    let fake = fake(no_faults());
    let ours = fake
        .entitlements()
        .iter()
        .filter(|e| e.game_id == fake_twitch::DEFAULT_GAME)
        .count() as u64;
    let out = mono(&exe, &["lifetime"], &fake_env(&fake));
    assert!(out.contains("lifetime: ok"), "{out}");
    assert_eq!(
        summary(&out)["listed"],
        ours,
        "every entitlement of the game: {out}"
    );
}

/// The root README's C# block is the quickstart file, byte for byte.
#[test]
fn csharp_readme_block_is_the_tested_quickstart() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("the README");
    let marker = format!("<!-- cs-example: {QUICKSTART} -->");
    let at = readme
        .find(&marker)
        .expect("README.md marks the C# quickstart");
    let rest = &readme[at + marker.len()..];
    let start = rest.find("```csharp\n").expect("a ```csharp block follows") + "```csharp\n".len();
    let block = &rest[start..];
    let block = &block[..block.find("```\n").expect("the block closes")];
    let file = std::fs::read_to_string(repo().join(QUICKSTART)).expect("the quickstart");
    assert_eq!(
        block, file,
        "README.md's C# block differs from {QUICKSTART}"
    );
}

/// The quickstart MonoBehaviour, driven frame by frame as Unity would: every CLAIMED
/// entitlement granted once and FULFILLED while the frames go on; again with the same journal,
/// nothing to do.
#[test]
fn csharp_readme_quickstart_fulfills_from_a_monobehaviour() {
    let exe = program(
        "readme",
        &[
            QUICKSTART,
            "ffi/tests/csharp/UnityStub.cs",
            "ffi/tests/csharp/ReadmeMain.cs",
        ],
    );
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake);
    let data = temp_path("csharp-readme");
    std::fs::create_dir_all(&data).expect("a data directory");
    let mut env = fake_env(&fake);
    env.push((
        "TD_TEST_DATA_DIR".into(),
        data.to_string_lossy().into_owned(),
    ));
    let out = mono(&exe, &[], &env);
    let again = mono(&exe, &[], &env);
    let _ = std::fs::remove_dir_all(&data);
    assert!(
        out.contains(&format!("drops: {claimed} fulfilled, 0 left")),
        "{out}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("gave ")).count(),
        claimed
    );
    assert!(summary(&out)["frames"] > 0, "{out}");
    assert!(again.contains("drops: 0 fulfilled, 0 left"), "{again}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// The EventSub secret of the C# webhook tests (never printed by the programs).
const EVENTSUB_SECRET: &str = "s3cre7-csharp-s3cre7";

/// A signed verification challenge for `EventSub.cs`, signed with the core's
/// `eventsub::signature` (the fake signs its deliveries itself).
fn challenge_env(fake: &FakeTwitch) -> Vec<(String, String)> {
    use twitch_drops::eventsub::signature;
    let secret = twitch_drops::Secret::new(EVENTSUB_SECRET);
    let (id, timestamp, challenge) = (
        "e76c6bd4-55c9-4987-8304-da1588d8988b",
        "2023-11-14T22:13:20.634234626Z",
        "pogchamp-kappa-360noscope-vohiyo",
    );
    let body = serde_json::json!({
        "challenge": challenge,
        "subscription": {
            "id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4", "status": "webhook_callback_verification_pending",
            "type": "drop.entitlement.grant", "version": "1",
            "condition": {"organization_id": fake_twitch::ORGANIZATION_ID},
            "transport": {"method": "webhook", "callback": "https://example.com/webhooks/callback"},
            "created_at": "2023-11-01T10:00:00.000Z", "cost": 0,
        },
    })
    .to_string();
    let mut env = fake_env(fake);
    for (key, value) in [
        ("TD_TEST_EVENTSUB_SECRET", EVENTSUB_SECRET.to_string()),
        (
            "TD_TEST_CHALLENGE_SIGNATURE",
            signature(&secret, id, timestamp, body.as_bytes()),
        ),
        ("TD_TEST_CHALLENGE_BODY", body),
        ("TD_TEST_CHALLENGE_ID", id.into()),
        ("TD_TEST_CHALLENGE_TIMESTAMP", timestamp.into()),
        ("TD_TEST_CHALLENGE_NOW_MS", "1700000001000".into()),
        ("TD_TEST_CHALLENGE", challenge.into()),
    ] {
        env.push((key.into(), value));
    }
    env
}

/// A C# webhook server (HttpListener) handling the fake's real deliveries with
/// `EventSub.Handle`: every pushed entitlement granted once and FULFILLED, the redelivery and
/// the refused ones not acted on, a log that throws answered 503 and the redelivery granted;
/// then a second process with the same delivery log recognizes the last message as a repeat.
#[test]
fn csharp_eventsub_webhook_verifies_deduplicates_and_fulfills_pushes() {
    let exe = program("eventsub", &["ffi/tests/csharp/EventSub.cs"]);
    let fake = fake(no_faults());
    let claimed_before = claimed_left(&fake);
    let journal = temp_path("csharp-eventsub.jsonl");
    let deliveries = temp_path("csharp-eventsub-deliveries.txt");
    let (journal_arg, log_arg) = (
        journal.to_str().expect("a UTF-8 path"),
        deliveries.to_str().expect("a UTF-8 path"),
    );
    let env = challenge_env(&fake);
    let out = mono(&exe, &["first", journal_arg, log_arg], &env);
    let again = mono(&exe, &["restart", journal_arg, log_arg], &env);
    let _ = std::fs::remove_file(&journal);
    let _ = std::fs::remove_file(&deliveries);
    assert!(
        !out.contains(EVENTSUB_SECRET) && !again.contains(EVENTSUB_SECRET),
        "{out}"
    );
    let got = summary(&out);
    assert_eq!(
        (
            got["grants"],
            got["repeated"],
            got["refused"],
            got["not_recorded"]
        ),
        (2, 1, 2, 1),
        "{out}"
    );
    assert_eq!(got["granted"], 50, "{out}");
    let delivered: HashSet<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("delivered "))
        .collect();
    assert_eq!(delivered.len(), 50, "{out}");
    let store = fake.entitlements();
    for id in &delivered {
        let e = store.iter().find(|e| e.id == *id).expect("in the store");
        assert_eq!(e.fulfillment_status, FULFILLED, "{id}");
    }
    // The seeded ones were not touched; the two refused messages' grants stay CLAIMED.
    assert_eq!(claimed_left(&fake), claimed_before + 2);
    let rest = summary(&again);
    assert_eq!(
        (rest["grants"], rest["repeated"], rest["granted"]),
        (0, 1, 0),
        "{again}"
    );
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// `FulfillRun.cs` with the sender it uses, compiled once.
fn fulfill_run_program() -> PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        program(
            "fulfill_run",
            &["ffi/tests/csharp/FulfillRun.cs", "ffi/tests/csharp/Web.cs"],
        )
    })
    .clone()
}

/// A fake holding `n` CLAIMED entitlements of our game and nothing else.
fn fake_with(n: usize) -> FakeTwitch {
    let config = fake_twitch::FakeConfig {
        seed: fake_twitch::Seed::claimed_of("509658", n, 50, 42),
        ..fake_twitch::FakeConfig::new()
    };
    FakeTwitch::start(config).expect("the fake Twitch starts")
}

/// 20 000 entitlements through `FulfillRun.Update()` called once a frame of a 60 fps loop
/// (after a warm-up run on another fake), pages of 1000: the run disposed after 7 000 grants
/// and resumed by a new run on the same journal; every entitlement given once and FULFILLED,
/// the warm-up's too, with the fewest requests. Prints the Update() times (the figures of the C# README): run with `--nocapture`.
#[test]
fn csharp_fulfill_run_drains_20000_from_a_60_fps_loop() {
    let fake = fake_with(20_000);
    assert_eq!(claimed_left(&fake), 20_000);
    // A whole run against a second fake first, so that Mono has compiled every path before
    // the timed run (IL2CPP compiles ahead of time).
    let warm = fake_with(1_000);
    let mut env = fake_env(&fake);
    env.push(("TD_TEST_WARM_HELIX_URL".into(), warm.helix_url()));
    env.push(("TD_TEST_WARM_AUTH_URL".into(), warm.auth_url()));
    let out = mono(&fulfill_run_program(), &["drain", "7000"], &env);
    eprintln!("FulfillRun at 60 fps: {out}");
    let stats = fake.stats();
    eprintln!(
        "requests: {:?} tokens {}",
        stats.requests_by_route, stats.tokens_issued
    );
    let got = summary(&out);
    assert_eq!(got["given"], 20_000, "{out}");
    assert_eq!(got["twice"], 0, "{out}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
    assert!(got["updates"] > 0 && got["max_us"] >= got["median_us"]);
    // Pages of 1000 (Update reads none of them): one token, ⌈N/100⌉ updates; the first run
    // reads the pages of its 7 000 and those it reads ahead while granting (1 or 2, with the
    // timing), the second what is left from the top and the final pass's page, plus a
    // re-read by id of each PATCH the first run had out when it was disposed (at most the
    // 4 requests in flight; pages of 100 took 203 to 205 requests).
    assert_eq!(stats.tokens_issued, 1, "{out}");
    assert_eq!(
        stats.requests_by_route["PATCH /helix/entitlements/drops"],
        20_000usize.div_ceil(100)
    );
    let rereads = fake
        .journal()
        .iter()
        .filter(|e| e.method == "GET" && e.query.starts_with("id="))
        .count() as u64;
    assert!(rereads <= 4, "{rereads} re-reads by id: {out}");
    assert!(got["first_pages"] <= 7_000u64.div_ceil(1000) + 2, "{out}");
    assert!(
        got["second_pages"] <= got["second_listed"].div_ceil(1000) + 1 + rereads,
        "{out}"
    );
    assert_eq!(
        stats.requests_by_route["GET /helix/entitlements/drops"] as u64,
        got["first_pages"] + got["second_pages"]
    );
    assert_eq!(claimed_left(&warm), 0, "the warm-up run was whole");
}

/// A stop signal raised mid-run, then `Interrupt()` on a second run: each ends gracefully,
/// what was given is FULFILLED, the rest still CLAIMED.
#[test]
fn csharp_fulfill_run_stops_on_its_signal_and_on_interrupt() {
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake);
    let out = mono(&fulfill_run_program(), &["interrupt"], &fake_env(&fake));
    let got = summary(&out);
    assert_eq!(got["interrupted"], 1, "{out}");
    assert_eq!(got["twice"], 0);
    let given = got["given"] as usize;
    assert!(given >= 250 && given < claimed, "{out}");
    assert_eq!(claimed_left(&fake), claimed - given, "{out}");
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// A run driven by hand with `Poll` and the `Feed…` methods, typed errors for wrong answers.
#[test]
fn csharp_fulfill_run_by_hand_with_poll_and_feed() {
    let fake = fake(no_faults());
    let out = mono(&fulfill_run_program(), &["manual"], &fake_env(&fake));
    assert!(out.contains("manual: ok"), "{out}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// `Account.cs` with its sender, compiled once.
fn account_program() -> PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        program(
            "account",
            &["ffi/tests/csharp/Account.cs", "ffi/tests/csharp/Web.cs"],
        )
    })
    .clone()
}

/// The step API from C#: pages by operation, one update of them all driven frame by frame,
/// every request through the C# sender; a cancelled operation.
#[test]
fn csharp_step_api_pages_and_updates_through_operations() {
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let out = mono(&account_program(), &["steps"], &fake_env(&fake));
    let got = summary(&out);
    assert_eq!(got["ids"], claimed, "{out}");
    assert_eq!(got["pages"], claimed.div_ceil(300));
    assert_eq!(claimed_left(&fake), 0);
}

/// A player's device-code login through operations, then validation, analytics and a report
/// download with the player's token, each blocking, as a Task and as an operation.
#[test]
fn csharp_device_flow_then_analytics_and_a_report_download() {
    let fake = fake(no_faults());
    let out = mono(&account_program(), &["device"], &fake_env(&fake));
    assert!(out.contains("device: ok user=100000123 reports=1"), "{out}");
    let stats = fake.stats();
    assert!(stats.tokens_issued >= 1, "{stats:?}");
}

/// A stored user token Twitch refuses is renewed with its refresh token, and the new pair is
/// read back; credentials never shown.
#[test]
fn csharp_user_token_is_refreshed_and_read_back() {
    let fake = fake(no_faults());
    let out = mono(&account_program(), &["refresh"], &fake_env(&fake));
    assert!(out.contains("refresh: ok"), "{out}");
}

/// A C# store behind `Journal.Custom` that fails part way: the run stops with a Journal error
/// keeping the store's exception; the next run on the same records grants the rest, nothing
/// twice.
#[test]
fn csharp_custom_journal_recovers_from_a_store_that_fails() {
    let exe = program("custom_journal", &["ffi/tests/csharp/CustomJournal.cs"]);
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let out = mono(&exe, &["crash"], &fake_env(&fake));
    let got = summary(&out);
    assert_eq!((got["granted"], got["twice"]), (claimed, 0), "{out}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// Two instances in two threads share one claiming C# store: every entitlement granted by
/// exactly one of them.
#[test]
fn csharp_custom_journal_shared_by_two_instances_through_claims() {
    let exe = program(
        "custom_journal_shared",
        &["ffi/tests/csharp/CustomJournal.cs"],
    );
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let out = mono(&exe, &["shared"], &fake_env(&fake));
    let got = summary(&out);
    assert_eq!(got["twice"], 0, "{out}");
    assert_eq!(got["a"] + got["b"], claimed, "{out}");
    assert_eq!(got["given"], claimed, "{out}");
    assert_eq!(claimed_left(&fake), 0);
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// The Unity sample in which a player links their Twitch account.
const LINK_TWITCH: &str = "bindings/csharp/Samples~/LinkTwitch/LinkTwitch.cs";

/// The LinkTwitch MonoBehaviour, driven frame by frame as Unity would, its requests through
/// the stand-in UnityWebRequest: the device code shown and approved by the player, then
/// exactly that player's CLAIMED entitlements given once each and FULFILLED with the player's
/// token; everyone else's left alone; a second session finds nothing to do.
#[test]
fn csharp_link_twitch_sample_claims_the_players_drops() {
    let exe = program(
        "link_twitch",
        &[
            LINK_TWITCH,
            "ffi/tests/csharp/UnityStub.cs",
            "ffi/tests/csharp/LinkTwitchMain.cs",
        ],
    );
    let fake = fake(no_faults());
    let ours = |fake: &FakeTwitch, user: &str| -> HashSet<String> {
        fake.entitlements()
            .into_iter()
            .filter(|e| {
                e.game_id == fake_twitch::DEFAULT_GAME
                    && e.fulfillment_status == CLAIMED
                    && e.user_id == user
            })
            .map(|e| e.id)
            .collect()
    };
    let player = fake
        .entitlements()
        .into_iter()
        .find(|e| e.game_id == fake_twitch::DEFAULT_GAME && e.fulfillment_status == CLAIMED)
        .expect("a player with a CLAIMED drop")
        .user_id;
    let theirs = ours(&fake, &player);
    let others = claimed_left(&fake) - theirs.len();
    let data = temp_path("csharp-link-twitch");
    std::fs::create_dir_all(&data).expect("a data directory");
    let mut env = fake_env(&fake);
    env.push((
        "TD_TEST_DATA_DIR".into(),
        data.to_string_lossy().into_owned(),
    ));
    env.push(("TD_TEST_PLAYER_ID".into(), player.clone()));
    let out = mono(&exe, &[], &env);
    let again = mono(&exe, &[], &env);
    let _ = std::fs::remove_dir_all(&data);
    let given: HashSet<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("gave "))
        .map(|l| l.split(' ').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(given, theirs, "{out}");
    assert!(
        out.contains(&format!("drops: {} fulfilled, 0 left", theirs.len())),
        "{out}"
    );
    assert!(again.contains("drops: 0 fulfilled, 0 left"), "{again}");
    assert!(ours(&fake, &player).is_empty());
    assert_eq!(
        claimed_left(&fake),
        others,
        "the other players' drops untouched"
    );
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// The IL2CPP scanner, and a library with one of each mistake it must catch.
fn il2cpp_scanner() -> PathBuf {
    program("il2cpp_scan", &["ffi/tests/csharp/Il2cppScan.cs"])
}

/// `TwitchDrops.dll` passes the IL2CPP scan: every delegate handed to native code is a static
/// `[MonoPInvokeCallback]` method kept in a static readonly field, no generic virtual method,
/// no reflection IL2CPP strips. The scan is shown to fail on a library with each mistake.
#[test]
fn csharp_runtime_passes_the_il2cpp_scan_which_catches_each_mistake() {
    let scanner = il2cpp_scanner();
    let dll = runtime_dll();
    let out = mono(&scanner, &[dll.to_str().expect("a UTF-8 path")], &[]);
    let got = summary(&out);
    assert_eq!(got["problems"], 0, "{out}");
    // Grant (twice: its two delegate types), settlement, EventSub deliveries, transport,
    // logger, and the journal store's load, append and claim.
    assert!(got["callbacks"] >= 9, "{out}");
    assert!(got["delegates"] >= got["callbacks"], "{out}");

    let bad = out_dir().join("Il2cppBad.dll");
    let out_arg = format!("-out:{}", bad.display());
    let source = repo().join("ffi/tests/csharp/Il2cppBad.cs");
    mcs(
        &[
            "-target:library".as_ref(),
            out_arg.as_ref(),
            source.as_os_str(),
        ],
        "Il2cppBad.cs",
    );
    let output = Command::new("mono")
        .arg(&scanner)
        .arg(&bad)
        .output()
        .expect("mono runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "the scan must fail: {text}");
    for expected in [
        "generic virtual method Virtual.Make",
        "[MonoPInvokeCallback] on an instance method Holder.Instance",
        "Bad.Closure makes a Fn of an instance method or a closure",
        "Bad.Unmarked is handed to native code as Fn without [MonoPInvokeCallback(typeof(Fn))]",
        "Bad.NotMarked does not keep its Fn in a static readonly field",
        "Bad.Reflect calls System.Type.GetMethod (reflection)",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

/// The lines of `// example: NAME` … `// end example` in `text`, less their common indent.
fn example_region(text: &str, name: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == format!("// example: {name}"))
        .unwrap_or_else(|| panic!("no `// example: {name}`"));
    let end = start
        + lines[start..]
            .iter()
            .position(|l| l.trim() == "// end example")
            .unwrap_or_else(|| panic!("`// example: {name}` is not closed"));
    let body = &lines[start + 1..end];
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    body.iter()
        .map(|l| format!("{}\n", l.get(indent..).unwrap_or("")))
        .collect()
}

/// Every C# block of the C# README is a tested file, or a marked region of one, byte for
/// byte (`<!-- cs-example: PATH -->` or `PATH#NAME`).
#[test]
fn csharp_readme_blocks_are_tested_code() {
    let readme =
        std::fs::read_to_string(repo().join("bindings/csharp/README.md")).expect("the README");
    let marker = "<!-- cs-example: ";
    let mut checked = 0;
    for (at, _) in readme.match_indices(marker) {
        let rest = &readme[at + marker.len()..];
        let source = &rest[..rest.find(" -->").expect("the marker closes")];
        let start =
            rest.find("```csharp\n").expect("a ```csharp block follows") + "```csharp\n".len();
        let block = &rest[start..];
        let block = &block[..block.find("```\n").expect("the block closes")];
        let (path, region) = match source.split_once('#') {
            Some((path, name)) => (path, Some(name)),
            None => (source, None),
        };
        let file = std::fs::read_to_string(repo().join(path)).expect("the quoted file");
        let expected = match region {
            Some(name) => example_region(&file, name),
            None => file,
        };
        assert_eq!(block, expected, "the README's block of {source} differs");
        checked += 1;
    }
    assert!(checked >= 6, "{checked} blocks");
}

/// The C# README's list of C functions not reached from C# is exactly the header's functions
/// that `bindings/csharp/Runtime` (outside the generated declarations) never calls.
#[test]
fn csharp_readme_lists_exactly_the_c_functions_left_out() {
    let header =
        std::fs::read_to_string(repo().join("include/twitch_drops.h")).expect("the header");
    let declared: HashSet<String> = header
        .lines()
        .filter(|l| !l.starts_with("//") && !l.starts_with(' '))
        .filter_map(|l| {
            let name = l.split('(').next()?.split([' ', '*']).next_back()?;
            (name.starts_with("td_") && l.contains('(')).then(|| name.to_string())
        })
        .collect();
    assert!(declared.len() > 150, "{}", declared.len());
    let mut used = HashSet::new();
    for path in sources(&repo().join("bindings/csharp/Runtime")) {
        if path.ends_with("NativeMethods.g.cs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a runtime source");
        for (at, _) in text.match_indices("NativeMethods.td_") {
            let name: String = text[at + "NativeMethods.".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            used.insert(name);
        }
    }
    let missing: HashSet<String> = declared.difference(&used).cloned().collect();
    let readme =
        std::fs::read_to_string(repo().join("bindings/csharp/README.md")).expect("the README");
    let section = &readme[readme.find("### Not in C#").expect("the section")..];
    let section = &section[..section[3..]
        .find("\n#")
        .map_or(section.len(), |end| end + 3)];
    let listed: HashSet<String> = section
        .lines()
        .filter(|l| l.starts_with("- "))
        .flat_map(|l| {
            let head = l.split(':').next().unwrap_or("");
            head.split('`')
                .filter(|w| w.starts_with("td_"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        listed, missing,
        "README lists {listed:?}, C# leaves out {missing:?}"
    );
}

/// `FulfillAsync` cancelled by its token stops gracefully: what was given is FULFILLED, the
/// rest still CLAIMED; a listing cancelled before it starts throws.
#[test]
fn csharp_fulfill_async_stops_gracefully_when_cancelled() {
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let out = mono(&fulfill_run_program(), &["cancel"], &fake_env(&fake));
    let got = summary(&out);
    assert!(out.contains("cancel: ok"), "{out}");
    assert_eq!(got["twice"], 0);
    assert_eq!(claimed_left(&fake) as u64, claimed - got["given"], "{out}");
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

/// `RunAsync` with grants given asynchronously, side by side: the faulted ones stay CLAIMED,
/// the rest are FULFILLED.
#[test]
fn csharp_fulfill_run_with_async_grants_side_by_side() {
    let fake = fake(no_faults());
    let claimed = claimed_left(&fake) as u64;
    let out = mono(&fulfill_run_program(), &["async"], &fake_env(&fake));
    let got = summary(&out);
    assert!(out.contains("async: ok"), "{out}");
    assert_eq!(got["given"] + got["failed"], claimed, "{out}");
    assert_eq!(claimed_left(&fake) as u64, got["failed"], "{out}");
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}
