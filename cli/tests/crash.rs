//! Kill a real `drops fulfill` (and its grant scripts) with SIGKILL at random moments, many
//! times, restarting it each time with the same journal; and stop one with Ctrl-C. At the end
//! every entitlement is FULFILLED and was granted exactly once, as the grant script's own
//! ledger shows.
#![cfg(unix)]

mod common;

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{fake_of_game as fake, GAME};
use fake_twitch::{FakeTwitch, CLAIMED};

const KILLS: usize = 30;
/// Grants run at once: the most a kill may leave in doubt.
const GRANT_JOBS: usize = 4;

/// Random moments to kill at, from a seed printed so that a failing schedule can be replayed.
struct KillSchedule(u64);

impl KillSchedule {
    fn new() -> KillSchedule {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1;
        eprintln!("kill schedule seed {seed}");
        KillSchedule(seed)
    }

    /// The next moment, between `from_ms` and `from_ms + span_ms` into a run (xorshift).
    fn next(&mut self, from_ms: u64, span_ms: u64) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_millis(from_ms + self.0 % span_ms)
    }
}

/// Ids of the game's entitlements still CLAIMED.
fn claimed_ids(fake: &FakeTwitch) -> Vec<String> {
    fake.entitlements()
        .into_iter()
        .filter(|e| e.game_id == GAME && e.fulfillment_status == CLAIMED)
        .map(|e| e.id)
        .collect()
}

/// An empty scratch folder, `drops-NAME-PID`.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("drops-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// Lets `child` run for `after`, checking every `poll`; true when it ended by itself first.
fn ends_within(child: &mut Child, after: Duration, poll: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < after {
        if child.try_wait().expect("wait").is_some() {
            return true;
        }
        std::thread::sleep(poll);
    }
    child.try_wait().expect("wait").is_some()
}

/// The studio's grant: append to a ledger. A resumed grant checks the ledger first, as
/// the engine asks of grants it may have called before a crash. Every call is also noted in
/// `$CALLS`, resumed or not, to count the grants each kill left in doubt.
const GRANT_SCRIPT: &str = r#"
echo "$DROPS_ENTITLEMENT_ID $DROPS_GRANT_RESUMED" >> "$CALLS"
if [ "$DROPS_GRANT_RESUMED" = 1 ] && grep -q "^$DROPS_ENTITLEMENT_ID " "$LEDGER"; then
  exit 0
fi
echo "$DROPS_ENTITLEMENT_ID $DROPS_GRANT_RESUMED" >> "$LEDGER"
"#;

fn fulfill(fake: &FakeTwitch, dir: &Path, kind: &str) -> Command {
    fulfill_with(fake, dir, kind, GRANT_SCRIPT)
}

/// `drops fulfill` with the journal `kind:dir/journal` and `script` as its grant.
fn fulfill_with(fake: &FakeTwitch, dir: &Path, kind: &str, script: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_drops"));
    command
        .args(["fulfill", "--game", GAME, "--grant-jobs"])
        .arg(GRANT_JOBS.to_string())
        .arg("--journal")
        .arg(format!("{kind}:{}", dir.join("journal").display()))
        .arg("--grant-exec")
        .arg(script)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LEDGER", dir.join("ledger"))
        .env("CALLS", dir.join("calls"))
        .env("TWITCH_CLIENT_ID", fake.client_id())
        .env("TWITCH_CLIENT_SECRET", fake.client_secret())
        .env("TWITCH_HELIX_URL", fake.helix_url())
        .env("TWITCH_AUTH_URL", fake.auth_url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group (its grant scripts have theirs, and die with it).
        .process_group(0);
    command
}

#[test]
fn sigkill_at_random_points_loses_nothing_and_grants_nothing_twice_sqlite() {
    sigkill_at_random_points("sqlite");
}

#[test]
fn sigkill_at_random_points_loses_nothing_and_grants_nothing_twice_file() {
    sigkill_at_random_points("file");
}

/// The schedule and checks, with `drops fulfill --journal KIND:PATH`.
fn sigkill_at_random_points(kind: &str) {
    let fake = fake(6000, 60, 21);
    let claimed = claimed_ids(&fake);
    let dir = scratch(&format!("crash-{kind}"));

    let mut schedule = KillSchedule::new();
    let mut kills = 0;
    let mut finished_early = 0;
    for _ in 0..KILLS {
        // A kill between 10 ms and 250 ms into the run.
        let after = schedule.next(10, 240);
        let mut child = fulfill(&fake, &dir, kind).spawn().expect("drops starts");
        if ends_within(&mut child, after, Duration::from_millis(5)) {
            finished_early += 1;
            break;
        }
        let group = format!("-{}", child.id());
        let status = Command::new("kill")
            .args(["-KILL", "--", &group])
            .status()
            .expect("kill runs");
        assert!(status.success(), "the process group was killed");
        child.wait().expect("reaped");
        kills += 1;
    }
    let last = fulfill(&fake, &dir, kind).status().expect("drops runs");
    assert!(last.success(), "the final run completes: {last:?}");

    let ledger = std::fs::read_to_string(dir.join("ledger")).unwrap_or_default();
    let mut grants: HashMap<&str, usize> = HashMap::new();
    let mut resumed = 0;
    for line in ledger.lines() {
        let mut parts = line.split(' ');
        let id = parts.next().unwrap_or_default();
        *grants.entry(id).or_default() += 1;
        if parts.next() == Some("1") {
            resumed += 1;
        }
    }
    let lost = claimed
        .iter()
        .filter(|id| !grants.contains_key(id.as_str()))
        .count();
    let double = grants.values().filter(|n| **n > 1).count();
    // Grants called as resumed: each kill leaves in doubt at most the grants running then.
    let calls = std::fs::read_to_string(dir.join("calls")).unwrap_or_default();
    let resumed_calls = calls.lines().filter(|l| l.ends_with(" 1")).count();
    let left = claimed_ids(&fake).len();
    let stats = fake.stats();
    eprintln!(
        "{kind} journal: kills {kills} (+{finished_early} runs that finished before their kill), \
         entitlements {}, grants {}, resumed grants {resumed_calls} ({resumed} of them not \
         in the ledger yet), lost {lost}, double {double}, left CLAIMED {left}, duplicate \
         fulfill attempts {}",
        claimed.len(),
        grants.values().sum::<usize>(),
        stats.duplicate_fulfill_attempts
    );
    assert!(kills >= 20, "enough runs were killed mid-way ({kills})");
    assert!(
        resumed_calls <= GRANT_JOBS * kills,
        "at most --grant-jobs ({GRANT_JOBS}) grants in doubt per kill: {resumed_calls} resumed \
         over {kills} kills"
    );
    assert_eq!(lost, 0, "granted entitlements missing from the ledger");
    assert_eq!(double, 0, "entitlements granted twice");
    assert_eq!(grants.len(), claimed.len());
    assert_eq!(left, 0, "everything FULFILLED");
    std::fs::remove_dir_all(&dir).ok();
}

/// `drops fulfill --journal J --grant-log F`, the process itself SIGKILLed while grants
/// run, many times, then a clean rerun: F holds every entitlement once. A grant resumed
/// after a kill between F's write and the journal's record finds its id in F and counts as
/// given instead of being written again.
#[test]
fn sigkill_with_a_grant_log_writes_no_id_twice() {
    sigkill_with_a_grant_log(true);
}

/// The same without `--journal`: the default journal in the user's state folder keeps the
/// rerun from granting twice.
#[test]
fn sigkill_without_journal_flag_writes_no_id_twice() {
    sigkill_with_a_grant_log(false);
}

/// The schedule and checks, with `--journal sqlite:PATH` when `journal_flag`, else the
/// default journal (under a scratch `XDG_STATE_HOME`).
fn sigkill_with_a_grant_log(journal_flag: bool) {
    let fake = fake(20_000, 60, 22);
    let claimed = claimed_ids(&fake).len();
    let dir = scratch(&format!("crash-log-{journal_flag}"));
    let run = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_drops"));
        command
            .args(["fulfill", "--game", GAME])
            .arg("--grant-log")
            .arg(dir.join("grants"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("XDG_STATE_HOME", dir.join("state"))
            .env("TWITCH_CLIENT_ID", fake.client_id())
            .env("TWITCH_CLIENT_SECRET", fake.client_secret())
            .env("TWITCH_HELIX_URL", fake.helix_url())
            .env("TWITCH_AUTH_URL", fake.auth_url())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if journal_flag {
            command
                .arg("--journal")
                .arg(format!("sqlite:{}", dir.join("journal").display()));
        }
        command
    };

    let mut schedule = KillSchedule::new();
    let mut kills = 0;
    for _ in 0..KILLS {
        // Without scripts a run is quick: a kill between 5 ms and 65 ms into it.
        let after = schedule.next(5, 60);
        let mut child = run().spawn().expect("drops starts");
        if ends_within(&mut child, after, Duration::from_millis(1)) {
            break;
        }
        // SIGKILL to the process itself (no script, no shell in between).
        child.kill().expect("killed");
        child.wait().expect("reaped");
        kills += 1;
    }
    let last = run().output().expect("drops runs");
    assert!(last.status.success(), "the final run completes: {last:?}");
    let summary: serde_json::Value =
        serde_json::from_slice(&last.stdout).expect("a JSON summary line");

    let log = std::fs::read_to_string(dir.join("grants")).expect("the grant log");
    let mut written: HashMap<&str, usize> = HashMap::new();
    for line in log.lines() {
        *written
            .entry(line.split(' ').next().unwrap_or_default())
            .or_default() += 1;
    }
    let twice = written.values().filter(|n| **n > 1).count();
    let left = claimed_ids(&fake).len();
    eprintln!(
        "kills {kills}, entitlements {claimed}, log lines {}, ids twice {twice}, last run {summary}",
        log.lines().count()
    );
    assert!(kills >= 20, "enough runs were killed mid-way ({kills})");
    assert_eq!(twice, 0, "ids written twice to the grant log");
    assert_eq!(written.len(), claimed, "every grant is in the log");
    assert!(log.is_empty() || log.ends_with('\n'), "no torn line left");
    assert_eq!(left, 0, "everything FULFILLED");
    if !journal_flag {
        let journals = std::fs::read_dir(dir.join("state").join("twitch-drops"))
            .expect("the default journal's folder")
            .count();
        assert!(journals >= 1, "the default journal is there");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Checks that the ledger holds each of the `claimed` entitlements once (none lost, none
/// granted twice); returns how many ids it holds.
fn each_granted_once(dir: &Path, claimed: usize) -> usize {
    let mut grants: HashMap<String, usize> = HashMap::new();
    for line in std::fs::read_to_string(dir.join("ledger"))
        .unwrap_or_default()
        .lines()
    {
        *grants
            .entry(line.split(' ').next().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    let twice = grants.values().filter(|n| **n > 1).count();
    assert_eq!(
        (grants.len(), twice),
        (claimed, 0),
        "ids granted, and granted twice, of {claimed}"
    );
    grants.len()
}

/// Ctrl-C as a terminal sends it: SIGINT to the process group of `child` (its own).
fn ctrl_c(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Lines in the ledger (grants recorded).
fn recorded(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("ledger"))
        .unwrap_or_default()
        .lines()
        .count()
}

/// Waits (30 s at most) until `n` grants are recorded.
fn wait_for_grants(dir: &Path, n: usize) {
    let started = Instant::now();
    while recorded(dir) < n {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first grants ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ctrl-C as a terminal sends it (SIGINT to the whole process group) while grant scripts
/// run: the run stops gracefully (the running grants finish and are journaled, what was
/// granted is marked), prints its summary, says how to finish and exits 130; the rerun
/// with the same journal finishes with nothing in doubt and nothing granted twice.
#[test]
fn ctrl_c_stops_gracefully_and_the_rerun_finishes() {
    let fake = fake(400, 20, 23);
    let claimed = claimed_ids(&fake).len();
    let dir = scratch("ctrl-c");
    // Slow grants (20 ms each), so the signal comes while some run.
    let slow = format!("sleep 0.02\n{GRANT_SCRIPT}");
    let run = || {
        let mut command = fulfill_with(&fake, &dir, "sqlite", &slow);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        command
    };
    let child = run().spawn().expect("drops starts");
    // Let some grants through, then Ctrl-C: SIGINT to the process group.
    std::thread::sleep(Duration::from_millis(700));
    ctrl_c(&child);
    let first = child.wait_with_output().expect("reaped");
    let stdout = String::from_utf8_lossy(&first.stdout);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(130), "{stdout}\n{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("a JSON summary");
    assert_eq!(summary["interrupted"], true, "{summary}");
    assert!(
        stderr.contains("interrupted: rerun with the same journal to finish"),
        "{stderr}"
    );
    let fulfilled = summary["fulfilled"].as_u64().expect("fulfilled");
    assert!(
        fulfilled > 0 && (fulfilled as usize) < claimed,
        "stopped mid-way: {summary}"
    );
    // Every grant that ran before the stop was recorded and marked: nothing in doubt.
    let granted_first = recorded(&dir);
    assert_eq!(
        granted_first as u64, fulfilled,
        "what was granted was marked: {summary}"
    );

    let last = run().output().expect("drops runs");
    assert!(last.status.success(), "the rerun completes: {last:?}");
    let summary: serde_json::Value =
        serde_json::from_slice(&last.stdout).expect("a JSON summary line");
    assert_eq!(
        summary["resumed"], 0,
        "nothing was left in doubt: {summary}"
    );
    let granted = each_granted_once(&dir, claimed);
    let left = claimed_ids(&fake).len();
    eprintln!(
        "Ctrl-C after 700 ms: {fulfilled} fulfilled before the stop; rerun {summary}; \
         entitlements {claimed}, granted {granted}, twice 0, left CLAIMED {left}"
    );
    assert_eq!(left, 0);
    std::fs::remove_dir_all(&dir).ok();
}

/// Ctrl-C while grant scripts hang: the graceful stop waits `--stop-grace` for them, then
/// quits as a second Ctrl-C would (exit 130, saying so); the rerun resumes exactly the
/// grants that were running, and the script's own records keep each one given once.
#[test]
fn a_graceful_stop_waits_for_hung_grants_only_its_grace() {
    let fake = fake(200, 20, 24);
    let claimed = claimed_ids(&fake).len();
    let dir = scratch("stop-grace");
    // The grant is recorded, then the script hangs (while $HANG is set).
    let hanging = format!("{GRANT_SCRIPT}\nif [ -n \"$HANG\" ]; then exec sleep 60; fi");
    let mut first = fulfill_with(&fake, &dir, "sqlite", &hanging);
    first
        .args(["--stop-grace", "1"])
        .env("HANG", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = first.spawn().expect("drops starts");
    // The first grants hang at once; then Ctrl-C.
    wait_for_grants(&dir, GRANT_JOBS);
    ctrl_c(&child);
    let first = child.wait_with_output().expect("reaped");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("the stop did not finish within 1 s: quitting"),
        "{stderr}"
    );
    let hung = recorded(&dir);
    assert_eq!(hung, GRANT_JOBS, "only the first grants ran");

    let last = fulfill_with(&fake, &dir, "sqlite", GRANT_SCRIPT)
        .stdout(Stdio::piped())
        .output()
        .expect("drops runs");
    assert!(last.status.success(), "the rerun completes: {last:?}");
    let summary: serde_json::Value =
        serde_json::from_slice(&last.stdout).expect("a JSON summary line");
    assert_eq!(
        summary["resumed"], GRANT_JOBS as u64,
        "the hung grants, resumed: {summary}"
    );
    let granted = each_granted_once(&dir, claimed);
    eprintln!(
        "stop grace 1 s: {hung} grants hung at the stop; rerun {summary}; entitlements \
         {claimed}, granted {granted}, twice 0"
    );
    assert_eq!(claimed_ids(&fake).len(), 0);
    std::fs::remove_dir_all(&dir).ok();
}

/// A grant script that outlives `--grant-timeout` stops the run as a Ctrl-C would, but as
/// an error (exit 2). One that finishes within the stop's grace has its answer journaled
/// and marked like any other (the rerun resumes nothing); scripts that hang past it are
/// left in doubt, and the rerun resumes exactly those.
#[test]
fn a_grant_that_outlives_its_timeout_stops_the_run() {
    // Slow once: the first grant takes 1.5 s against a 1 s timeout, and finishes in the grace.
    let slow_fake = fake(100, 10, 25);
    let hung_fake = fake(100, 10, 26);
    let fake = slow_fake;
    let claimed = claimed_ids(&fake).len();
    let dir = scratch("grant-timeout-slow");
    let slow = format!("if mkdir \"$SLOW\" 2>/dev/null; then sleep 1.5; fi\n{GRANT_SCRIPT}");
    let out = fulfill_with(&fake, &dir, "sqlite", &slow)
        .args(["--grant-timeout", "1", "--stop-grace", "20"])
        .env("SLOW", dir.join("slow"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("drops runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("has run over 1 s (--grant-timeout)"),
        "{stderr}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a summary");
    assert_eq!(summary["interrupted"], true, "{summary}");
    let rerun = fulfill_with(&fake, &dir, "sqlite", GRANT_SCRIPT)
        .stdout(Stdio::piped())
        .output()
        .expect("drops runs");
    assert!(rerun.status.success(), "{rerun:?}");
    let summary: serde_json::Value = serde_json::from_slice(&rerun.stdout).expect("a summary");
    assert_eq!(
        summary["resumed"], 0,
        "the slow grant was journaled: {summary}"
    );
    each_granted_once(&dir, claimed);

    // Hung: every script hangs after recording its grant; past the grace drops quits.
    std::fs::remove_dir_all(&dir).ok();
    let fake = hung_fake;
    let claimed = claimed_ids(&fake).len();
    let dir = scratch("grant-timeout-hung");
    let hanging = format!("{GRANT_SCRIPT}\nif [ -n \"$HANG\" ]; then exec sleep 60; fi");
    let out = fulfill_with(&fake, &dir, "sqlite", &hanging)
        .args(["--grant-timeout", "1", "--stop-grace", "1"])
        .env("HANG", "1")
        .stderr(Stdio::piped())
        .output()
        .expect("drops runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the stop did not finish within 1 s: quitting"),
        "{stderr}"
    );
    let rerun = fulfill_with(&fake, &dir, "sqlite", GRANT_SCRIPT)
        .stdout(Stdio::piped())
        .output()
        .expect("drops runs");
    assert!(rerun.status.success(), "{rerun:?}");
    let summary: serde_json::Value = serde_json::from_slice(&rerun.stdout).expect("a summary");
    assert_eq!(
        summary["resumed"], GRANT_JOBS as u64,
        "the hung grants: {summary}"
    );
    let granted = each_granted_once(&dir, claimed);
    eprintln!(
        "grant timeout 1 s: rerun {summary}; entitlements {claimed}, granted {granted}, twice 0"
    );
    assert_eq!(claimed_ids(&fake).len(), 0);
    std::fs::remove_dir_all(&dir).ok();
}

/// Without a journal a quit past the grace could only be rerun by granting again what was
/// running, so there a stop has no grace: it waits for a hung script until a second Ctrl-C.
#[test]
fn without_a_journal_a_stop_waits_until_a_second_ctrl_c() {
    let fake = fake(50, 5, 27);
    let dir = scratch("no-journal-grace");
    let hanging = format!("{GRANT_SCRIPT}\nif [ -n \"$HANG\" ]; then exec sleep 60; fi");
    let mut child = Command::new(env!("CARGO_BIN_EXE_drops"))
        .args([
            "fulfill",
            "--game",
            GAME,
            "--no-journal",
            "--stop-grace",
            "1",
        ])
        .arg("--grant-exec")
        .arg(&hanging)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HANG", "1")
        .env("LEDGER", dir.join("ledger"))
        .env("CALLS", dir.join("calls"))
        .env("TWITCH_CLIENT_ID", fake.client_id())
        .env("TWITCH_CLIENT_SECRET", fake.client_secret())
        .env("TWITCH_HELIX_URL", fake.helix_url())
        .env("TWITCH_AUTH_URL", fake.auth_url())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("drops starts");
    wait_for_grants(&dir, GRANT_JOBS);
    ctrl_c(&child);
    // Three times the grace, and still waiting for its grants.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "no grace without a journal"
    );
    ctrl_c(&child);
    let out = child.wait_with_output().expect("reaped");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("quitting at once"), "{stderr}");
    assert!(!stderr.contains("did not finish within"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
