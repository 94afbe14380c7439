//! The `drops` command end to end: the real binary against the fake Twitch, clean and under
//! every fault the fake can inject. Each run must leave nothing CLAIMED that could be
//! fulfilled and make no duplicate fulfill attempt, as the fake itself counts.

use std::process::{Command, Output};

use fake_twitch::{FakeConfig, FakeTwitch, Faults, Seed, CLAIMED};
use serde::Deserialize;
use twitch_drops::fulfill::Recovery;
use twitch_drops::{Journal, SqliteJournal};

const GAME: &str = "509658";

#[derive(Debug, Deserialize)]
struct Summary {
    listed: u64,
    fulfilled: u64,
    failed: u64,
    requests: u64,
    seconds: f64,
}

fn fake(entitlements: usize, faults: Faults) -> FakeTwitch {
    let mut config = FakeConfig::new();
    config.seed = Seed {
        entitlements,
        games: vec![GAME.into()],
        foreign_games: vec!["999999".into()],
        users: 300,
        fulfilled_fraction: 0.1,
        rng_seed: 11,
    };
    config.faults = faults;
    FakeTwitch::start(config).expect("the fake starts")
}

/// A fresh user's state folder for one run (the default journal goes there): never the
/// real one, and no journal left by another test.
fn state_home() -> std::path::PathBuf {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("drops-cli-state-{}-{run}", std::process::id()))
}

fn drops(fake: &FakeTwitch, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drops"))
        .args(args)
        .env_clear()
        .env("XDG_STATE_HOME", state_home())
        .env("TWITCH_CLIENT_ID", fake.client_id())
        .env("TWITCH_CLIENT_SECRET", fake.client_secret())
        .env("TWITCH_HELIX_URL", fake.helix_url())
        .env("TWITCH_AUTH_URL", fake.auth_url())
        .output()
        .expect("drops runs")
}

fn claimed_of_game(fake: &FakeTwitch) -> Vec<fake_twitch::Entitlement> {
    fake.entitlements()
        .into_iter()
        .filter(|e| e.game_id == GAME && e.fulfillment_status == CLAIMED)
        .collect()
}

fn summary_of(output: &Output) -> Summary {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "no summary line ({e}); stdout: {stdout}; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("drops-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Ids in a grant log, one line per grant.
fn granted_ids(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').next().map(String::from))
        .collect()
}

/// Runs `drops fulfill` under `faults` with a journal and a grant log, then checks, from the
/// fake's own state, the grant log and the journal: nothing lost, nothing granted twice, no
/// duplicate fulfill attempt, and only what cannot be fulfilled left CLAIMED. An id Twitch
/// kept answering `UPDATE_FAILED` past the retries stays in the journal, granted: a rerun
/// with the same journal (at most two more) marks it without granting it again.
fn drain_under(name: &str, entitlements: usize, faults: Faults) -> Summary {
    let fake = fake(entitlements, faults.clone());
    let dir = scratch(&name.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    let (journal, log) = (dir.join("journal"), dir.join("grants"));
    let claimed = claimed_of_game(&fake);
    let unfulfillable: Vec<_> = claimed
        .iter()
        .filter(|e| faults.failing_users.contains(&e.user_id))
        .map(|e| e.id.clone())
        .collect();
    let run = || {
        drops(
            &fake,
            &[
                "fulfill",
                "--game",
                GAME,
                "--journal",
                journal.to_str().expect("utf-8 path"),
                "--grant-log",
                log.to_str().expect("utf-8 path"),
            ],
        )
    };
    // Granted, not confirmed FULFILLED: kept by the journal for the next run.
    let pending = || -> std::collections::HashSet<String> {
        // `--journal PATH` is an SQLite journal; the run released its claims on exit.
        let mut journal = SqliteJournal::open(&journal).expect("journal opens");
        let records = journal.load().expect("journal loads");
        Recovery::from_records(&records)
            .granted
            .into_iter()
            .map(|e| e.id.to_string())
            .collect()
    };
    let mut output = run();
    let summary = summary_of(&output);
    let mut fulfilled = summary.fulfilled;
    let mut reruns = 0;
    while !pending().is_empty() && reruns < 2 {
        output = run();
        fulfilled += summary_of(&output).fulfilled;
        reruns += 1;
    }
    let left = claimed_of_game(&fake);
    let stats = fake.stats();
    let granted = granted_ids(&log);
    let distinct: std::collections::HashSet<&String> = granted.iter().collect();
    let pending = pending();
    let lost = left
        .iter()
        .filter(|e| distinct.contains(&e.id) && !pending.contains(&e.id))
        .count();
    let minimum = claimed.len().div_ceil(1000) + claimed.len().div_ceil(100);
    eprintln!(
        "| {name} | {} | {} (min {minimum}) | {:.2} | {} | {lost} | {} | {} | {} | {reruns} |",
        summary.listed,
        summary.requests,
        summary.seconds,
        left.len(),
        granted.len() - distinct.len(),
        stats.duplicate_fulfill_attempts,
        stats.rate_limited
    );
    assert_eq!(summary.listed as usize, claimed.len(), "{name}: listed");
    assert_eq!(
        lost, 0,
        "{name}: granted entitlements left CLAIMED and unjournaled"
    );
    assert_eq!(
        granted.len(),
        distinct.len(),
        "{name}: an entitlement granted twice"
    );
    assert_eq!(
        left.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        unfulfillable,
        "{name}: only entitlements that cannot be fulfilled are left CLAIMED"
    );
    assert_eq!(
        summary_of(&output).failed as usize,
        unfulfillable.len(),
        "{name}: failed (in the last run)"
    );
    assert_eq!(
        fulfilled as usize,
        claimed.len() - unfulfillable.len(),
        "{name}: fulfilled"
    );
    assert_eq!(stats.duplicate_fulfill_attempts, 0, "{name}: duplicates");
    assert!(summary.requests as usize >= minimum, "{name}: requests");
    assert_eq!(
        output.status.success(),
        unfulfillable.is_empty(),
        "{name}: exit status {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
    summary
}

fn faults(rng_seed: u64) -> Faults {
    Faults {
        rng_seed,
        ..Faults::default()
    }
}

#[test]
fn clean_drain_of_20000_uses_the_minimum_requests() {
    let summary = drain_under("none (20 000)", 20_000, faults(1));
    let pages = (summary.listed as usize).div_ceil(1000);
    let updates = (summary.listed as usize).div_ceil(100);
    // Two more requests: the final pass's (empty) page, and the app token.
    assert_eq!(summary.requests as usize, pages + updates + 2);
}

#[test]
fn drains_through_5xx() {
    drain_under(
        "5xx 15%",
        3000,
        Faults {
            error_5xx_rate: 0.15,
            ..faults(2)
        },
    );
}

#[test]
fn drains_through_html_503() {
    drain_under(
        "503 HTML 15%",
        3000,
        Faults {
            html_503_rate: 0.15,
            ..faults(3)
        },
    );
}

#[test]
fn drains_through_429_every_7() {
    drain_under(
        "429 every 7th",
        3000,
        Faults {
            rate_limit_every: 7,
            ..faults(4)
        },
    );
}

#[test]
fn drains_through_spurious_429() {
    drain_under(
        "spurious 429 15%",
        3000,
        Faults {
            spurious_429_rate: 0.15,
            ..faults(5)
        },
    );
}

#[test]
fn drains_through_truncated_json_after_apply() {
    drain_under(
        "truncated JSON after apply 15%",
        3000,
        Faults {
            truncate_after_apply_rate: 0.15,
            ..faults(6)
        },
    );
}

#[test]
fn drains_through_dropped_connections_after_apply() {
    drain_under(
        "connection dropped after apply 15%",
        3000,
        Faults {
            drop_after_apply_rate: 0.15,
            ..faults(7)
        },
    );
}

#[test]
fn drains_with_latency() {
    drain_under(
        "latency 20 ms",
        3000,
        Faults {
            latency_ms: 20,
            ..faults(8)
        },
    );
}

#[test]
fn drains_through_revoked_tokens() {
    drain_under(
        "token revoked after 10 uses",
        3000,
        Faults {
            revoke_token_after: 10,
            ..faults(9)
        },
    );
}

#[test]
fn drains_through_update_failed() {
    drain_under(
        "UPDATE_FAILED 10% per id",
        3000,
        Faults {
            update_failed_rate: 0.1,
            ..faults(10)
        },
    );
}

#[test]
fn drains_with_positional_cursors() {
    drain_under(
        "positional cursors",
        3000,
        Faults {
            positional_cursors: true,
            ..faults(11)
        },
    );
}

#[test]
fn a_user_whose_calls_always_fail_does_not_block_the_rest() {
    // The viewer with the fewest CLAIMED entitlements of the game (so the test stays quick).
    let probe = fake(3000, Faults::default());
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for e in claimed_of_game(&probe) {
        *counts.entry(e.user_id).or_default() += 1;
    }
    let (user, _) = counts.into_iter().min_by_key(|(_, n)| *n).expect("users");
    drop(probe);
    let summary = drain_under(
        "one user always 500",
        3000,
        Faults {
            failing_users: vec![user],
            ..faults(12)
        },
    );
    assert!(summary.failed > 0);
}

#[test]
fn entitlements_update_and_errors() {
    let fake = fake(50, Faults::default());
    let out = drops(
        &fake,
        &[
            "entitlements",
            "--game",
            GAME,
            "--status",
            "claimed",
            "--all",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), claimed_of_game(&fake).len());
    let id = lines[0]["id"].as_str().expect("id").to_string();

    let out = drops(
        &fake,
        &["update", "--status", "FULFILLED", &id, "not-a-uuid"],
    );
    let outcomes: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(outcomes[0]["id"], id.as_str());
    assert_eq!(outcomes[0]["status"], "SUCCESS");
    assert_eq!(outcomes[1]["status"], "INVALID_ID");
    assert_eq!(out.status.code(), Some(1), "not everything succeeded");

    let out = drops(&fake, &["entitlements", "--first", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    assert!(stderr.contains("`first`"), "{stderr}");

    let out = drops(&fake, &["fulfill", "--game", GAME]);
    assert_eq!(out.status.code(), Some(2), "no grant given");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--grant-exec"));

    let out = Command::new(env!("CARGO_BIN_EXE_drops"))
        .args(["fulfill", "--game", GAME, "--grant-log", "/dev/null"])
        .env_clear()
        .env("XDG_STATE_HOME", state_home())
        .output()
        .expect("drops runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TWITCH_CLIENT_ID"));
}

#[test]
fn demo_runs_offline() {
    let out = Command::new(env!("CARGO_BIN_EXE_drops"))
        .args(["demo", "--entitlements", "1500"])
        .env_clear()
        .env("XDG_STATE_HOME", state_home())
        .output()
        .expect("drops runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = summary_of(&out);
    assert!(summary.listed > 1000);
    assert_eq!(summary.fulfilled, summary.listed);
    assert_eq!(summary.failed, 0);
}

#[test]
fn analytics_lists_and_downloads_reports_with_a_user_token() {
    let fake = fake(10, Faults::default());
    let user = fake.user_token("100000001", &["analytics:read:games"]);
    let dir = std::env::temp_dir().join(format!("drops-analytics-{}", std::process::id()));
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_drops"))
            .args(args)
            .env_clear()
            .env("TWITCH_CLIENT_ID", fake.client_id())
            .env("TWITCH_ACCESS_TOKEN", &user.access_token)
            .env("TWITCH_HELIX_URL", fake.helix_url())
            .env("TWITCH_AUTH_URL", fake.auth_url())
            .output()
            .expect("drops runs")
    };
    let dir_arg = dir.to_string_lossy().to_string();
    let out = run(&["analytics", "--game", GAME, "--download", &dir_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .expect("a report"),
    )
    .expect("JSON line");
    assert_eq!(report["game_id"], GAME);
    let saved: Vec<_> = std::fs::read_dir(&dir).expect("download dir").collect();
    assert_eq!(saved.len(), 1);
    let csv = std::fs::read_to_string(saved[0].as_ref().expect("entry").path()).expect("csv");
    assert!(csv.lines().count() > 1, "a header and rows: {csv}");
    std::fs::remove_dir_all(&dir).ok();

    let out = run(&["analytics", "--from", "2026-01-31", "--to", "2026-01-01"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ended_at"));

    // An app token may not read analytics: a clear error, not a crash.
    let out = drops(&fake, &["analytics", "--game", GAME]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
}

/// A grant log whose last line a crash tore (no newline) is cut back to its last whole line
/// before the next grants are appended, so no line is glued to a fragment.
#[test]
fn a_torn_last_line_in_the_grant_log_is_cut_before_appending() {
    let fake = fake(300, Faults::default());
    let dir = scratch("torn-log");
    let log = dir.join("grants");
    std::fs::write(&log, "earlier-id user-1 benefit-1\nhalf-written-id us").expect("log");
    let out = drops(
        &fake,
        &[
            "fulfill",
            "--game",
            GAME,
            "--journal",
            dir.join("journal").to_str().expect("utf-8 path"),
            "--grant-log",
            log.to_str().expect("utf-8 path"),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(text.starts_with("earlier-id user-1 benefit-1\n"), "{text}");
    assert!(!text.contains("half-written-id"), "{text}");
    assert!(text.ends_with('\n'));
    assert!(text.lines().all(|l| l.split(' ').count() == 3), "{text}");
    assert_eq!(
        text.lines().count(),
        1 + summary_of(&out).fulfilled as usize
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Without `--journal`, `fulfill` keeps an SQLite journal in `$XDG_STATE_HOME/twitch-drops/`
/// (a 0700 folder), named after the client id and game, and says where on one stderr line;
/// `--no-journal` keeps none and warns that a crash may grant twice.
#[test]
fn the_default_journal_is_in_the_state_folder_and_no_journal_warns() {
    let fake = fake(300, Faults::default());
    let dir = scratch("default-journal");
    let state = dir.join("state");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_drops"))
            .args(["fulfill", "--game", GAME, "--grant-log"])
            .arg(dir.join("grants"))
            .args(extra)
            .env_clear()
            .env("XDG_STATE_HOME", &state)
            .env("TWITCH_CLIENT_ID", fake.client_id())
            .env("TWITCH_CLIENT_SECRET", fake.client_secret())
            .env("TWITCH_HELIX_URL", fake.helix_url())
            .env("TWITCH_AUTH_URL", fake.auth_url())
            .output()
            .expect("drops runs")
    };
    let out = run(&[]);
    assert!(out.status.success(), "{out:?}");
    let folder = state.join("twitch-drops");
    let journals: Vec<_> = std::fs::read_dir(&folder)
        .expect("the state folder")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(journals.len(), 1, "{journals:?}");
    let journal = &journals[0];
    let name = journal.file_name().and_then(|n| n.to_str()).unwrap_or("");
    assert!(
        name.starts_with(&format!("journal-{}-{GAME}-", fake.client_id()))
            && name.ends_with(".sqlite"),
        "{name}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&folder)
            .expect("folder")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said: Vec<_> = stderr.lines().filter(|l| l.contains("journal")).collect();
    assert_eq!(said, [format!("drops: journal {}", journal.display())]);

    let out = run(&["--no-journal"]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("twice"),
        "{stderr}"
    );
    let out = run(&["--no-journal", "--journal", "x.db"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Grants a crash left in doubt (`Granting` journaled, no answer): the one whose id is in
/// the grant log was given, so its script does not run again and its line is not written
/// again; the other runs with `DROPS_GRANT_RESUMED=1` and is logged once.
#[test]
fn a_resumed_grant_already_in_the_grant_log_is_not_given_again() {
    use twitch_drops::fulfill::JournalRecord;
    let fake = fake(50, Faults::default());
    let dir = scratch("resumed-in-log");
    let (journal, log, ledger) = (dir.join("journal"), dir.join("grants"), dir.join("ledger"));
    let claimed = claimed_of_game(&fake);
    let (given, in_doubt) = (&claimed[0], &claimed[1]);
    let mut file = twitch_drops::FileJournal::new(&journal);
    let granting = |e: &fake_twitch::Entitlement| JournalRecord::Granting {
        id: e.id.as_str().into(),
        user_id: e.user_id.as_str().into(),
        benefit_id: e.benefit_id.as_str().into(),
        game_id: e.game_id.as_str().into(),
    };
    file.append(&[granting(given), granting(in_doubt)])
        .expect("journal written");
    drop(file);
    std::fs::write(
        &log,
        format!("{} {} {}\n", given.id, given.user_id, given.benefit_id),
    )
    .expect("log");
    let out = Command::new(env!("CARGO_BIN_EXE_drops"))
        .args(["fulfill", "--game", GAME, "--grant-jobs", "1"])
        .arg("--journal")
        .arg(format!("file:{}", journal.display()))
        .arg("--grant-log")
        .arg(&log)
        .arg("--grant-exec")
        .arg(r#"echo "$DROPS_ENTITLEMENT_ID $DROPS_GRANT_RESUMED" >> "$LEDGER""#)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LEDGER", &ledger)
        .env("XDG_STATE_HOME", state_home())
        .env("TWITCH_CLIENT_ID", fake.client_id())
        .env("TWITCH_CLIENT_SECRET", fake.client_secret())
        .env("TWITCH_HELIX_URL", fake.helix_url())
        .env("TWITCH_AUTH_URL", fake.auth_url())
        .output()
        .expect("drops runs");
    assert!(out.status.success(), "{out:?}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(summary["resumed"], 2, "{summary}");
    let ledger = std::fs::read_to_string(&ledger).expect("ledger");
    assert!(!ledger.contains(&given.id), "script ran again: {ledger}");
    assert!(ledger.contains(&format!("{} 1\n", in_doubt.id)), "{ledger}");
    assert_eq!(ledger.lines().count(), claimed.len() - 1);
    let ids = granted_ids(&log);
    assert_eq!(ids.len(), claimed.len(), "each id once: {ids:?}");
    assert!(claimed_of_game(&fake).is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

/// `drops fulfill -vv --log-format json` against a faulty fake with a small bucket: one
/// JSON event per line, one `retry` event per retry (the summary's count), one event per
/// wait for the rate limit (the summary's `rate_limited_waits`), every injected fault seen
/// as a retry or an update re-read, no 429 of the bucket's own, and neither the client
/// secret nor the access token in any line.
#[test]
fn a_verbose_json_log_of_a_faulty_run_counts_every_fault_and_holds_no_secret() {
    let mut config = FakeConfig::new();
    config.seed = Seed {
        entitlements: 3000,
        games: vec![GAME.into()],
        foreign_games: vec!["999999".into()],
        users: 300,
        fulfilled_fraction: 0.1,
        rng_seed: 11,
    };
    config.faults = Faults {
        error_5xx_rate: 0.1,
        html_503_rate: 0.05,
        spurious_429_rate: 0.05,
        drop_after_apply_rate: 0.05,
        truncate_after_apply_rate: 0.05,
        rng_seed: 9,
        ..Faults::default()
    };
    // About 60 requests against a bucket of 5 that refills 10 a second: most wait.
    config.rate_limit_per_minute = 600;
    config.rate_limit_burst = 5;
    let fake = FakeTwitch::start(config).expect("the fake starts");
    let token = fake.app_token();
    let log = std::env::temp_dir().join(format!("drops-cli-vv-{}.log", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_drops"))
        .args(["-vv", "--log-format", "json", "fulfill", "--game", GAME])
        .args(["--requests-in-flight", "1", "--grant-log"])
        .arg(&log)
        .env_clear()
        .env("XDG_STATE_HOME", state_home())
        .env("TWITCH_CLIENT_ID", fake.client_id())
        .env("TWITCH_CLIENT_SECRET", fake.client_secret())
        .env("TWITCH_ACCESS_TOKEN", &token)
        .env("TWITCH_HELIX_URL", fake.helix_url())
        .env("TWITCH_AUTH_URL", fake.auth_url())
        .output()
        .expect("drops runs");
    let _ = std::fs::remove_file(&log);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("one JSON summary line");
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let of = |target: &str| events.iter().filter(|e| e["target"] == target).count() as u64;
    let rereads = events
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("reading its"))
        })
        .count() as u64;
    let stats = fake.stats();
    let injected: usize = stats.faults_injected.values().sum();
    eprintln!(
        "events {}, retries {}, re-reads {rereads}, rate-limit waits {}, requests {}; \
         injected {:?}; summary {summary}",
        events.len(),
        of("twitch_drops::retry"),
        of("twitch_drops::rate_limit"),
        of("twitch_drops::http"),
        stats.faults_injected
    );
    assert!(injected >= 10, "{:?}", stats.faults_injected);
    assert_eq!(summary["retries"], of("twitch_drops::retry"), "{summary}");
    assert_eq!(of("twitch_drops::retry") + rereads, injected as u64);
    assert_eq!(of("twitch_drops::http"), stats.requests as u64);
    assert_eq!(summary["requests"], stats.requests as u64);
    assert_eq!(summary["version"], env!("CARGO_PKG_VERSION"));
    // Waits: one event per pacing wait and per 429 waited out, as many as the summary says.
    let waited_429 = events
        .iter()
        .filter(|e| {
            e["target"] == "twitch_drops::retry"
                && e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("rate limited (429)"))
        })
        .count() as u64;
    let paced = of("twitch_drops::rate_limit");
    assert!(paced >= 10, "the small bucket paced the run: {paced} waits");
    assert_eq!(
        summary["rate_limited_waits"],
        paced + waited_429,
        "{summary}"
    );
    let spurious = stats.faults_injected.get("429").copied().unwrap_or(0);
    assert_eq!(
        waited_429 as usize, spurious,
        "each spurious 429 waited out once"
    );
    assert_eq!(stats.rate_limited, spurious, "no 429 of the bucket's own");
    for line in stderr.lines() {
        assert!(
            !line.contains(&fake.client_secret()),
            "the secret in: {line}"
        );
        assert!(!line.contains(&token), "the token in: {line}");
    }
}

/// The default level warns about retries at most once a second per kind, with a count of
/// those held back; -q says nothing but errors.
#[test]
fn warnings_are_few_by_default_and_quiet_is_quiet() {
    let faults = Faults {
        error_5xx_rate: 0.3,
        rng_seed: 4,
        ..Faults::default()
    };
    let noisy = fake(3000, faults.clone());
    let out = drops(
        &noisy,
        &["fulfill", "--game", GAME, "--grant-log", "/dev/null"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings = stderr
        .lines()
        .filter(|l| l.starts_with("drops: warn:"))
        .count();
    let retries = noisy.stats().faults_injected.values().sum::<usize>();
    assert!(
        warnings >= 1 && warnings < retries,
        "{warnings} of {retries}:\n{stderr}"
    );
    let quiet = fake(3000, faults);
    let out = drops(
        &quiet,
        &["-q", "fulfill", "--game", GAME, "--grant-log", "/dev/null"],
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "nothing on stderr with -q"
    );
}

/// What the backend received: each POST's Idempotency-Key and JSON body.
type Posts = std::sync::Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>;

/// A studio backend on loopback for `--grant-url`: records each POST (the Idempotency-Key
/// and the JSON body), answers 503 to the first POST of `flaky`, 409 to an id it already
/// gave, 201 otherwise.
fn grant_backend(flaky: String) -> (String, Posts) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/grant", listener.local_addr().unwrap());
    let posts: Posts = std::sync::Arc::default();
    let seen = std::sync::Arc::clone(&posts);
    std::thread::spawn(move || {
        let mut given = std::collections::HashSet::new();
        let mut refused_once = false;
        for stream in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(stream);
            let (mut key, mut length) = (String::new(), 0usize);
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                let l = line.trim_end().to_string();
                line.clear();
                if l.is_empty() {
                    break;
                }
                if let Some((name, value)) = l.split_once(':') {
                    match name.trim().to_ascii_lowercase().as_str() {
                        "idempotency-key" => key = value.trim().to_string(),
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            seen.lock().unwrap().push((key.clone(), json));
            let status = if key == flaky && !refused_once {
                refused_once = true;
                503
            } else if given.insert(key) {
                201
            } else {
                409
            };
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, posts)
}

#[test]
fn grant_url_posts_each_entitlement_with_its_idempotency_key() {
    let fake = fake(250, Faults::default());
    let ids: Vec<String> = claimed_of_game(&fake).into_iter().map(|e| e.id).collect();
    let (url, posts) = grant_backend(ids[7].clone());
    let journal = std::env::temp_dir().join(format!("drops-cli-url-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&journal);
    let journal_flag = format!("sqlite:{}", journal.display());
    let args = [
        "fulfill",
        "--game",
        GAME,
        "--grant-url",
        &url,
        "--journal",
        &journal_flag,
    ];
    let first = drops(&fake, &args);
    // One answered 503: left CLAIMED for the next run (exit 1), the rest fulfilled.
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(claimed_of_game(&fake).len(), 1);
    let second = drops(&fake, &args);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(claimed_of_game(&fake).is_empty());
    let posts = posts.lock().unwrap();
    assert_eq!(
        posts.len(),
        ids.len() + 1,
        "each id once, the refused one twice"
    );
    for (key, body) in posts.iter() {
        assert_eq!(
            body["entitlement_id"],
            key.as_str(),
            "the key is the entitlement id"
        );
        assert_eq!(body["game_id"], GAME);
        assert_eq!(body["resumed"], false);
        assert!(body["user_id"].as_str().is_some_and(|u| !u.is_empty()));
    }
    let _ = std::fs::remove_file(&journal);
}
