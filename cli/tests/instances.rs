//! Several `drops fulfill` processes draining one game at once through a PostgreSQL journal:
//! every entitlement granted exactly once, FULFILLED, no id marked twice — with clean runs,
//! with random SIGKILLs, and with an instance killed while it holds claims; and two
//! `drops serve` instances sharing the journal while the fake pushes claims to both.
//!
//! Runs a real PostgreSQL server on a loopback port for the test (Debian's `postgresql`
//! package: initdb and pg_ctl, as the `postgres` user when run as root), or uses the server
//! at `TD_POSTGRES_URL` if set. Each test works in a schema of its own.
#![cfg(unix)]

mod common;

use std::collections::HashMap;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{free_address, GAME};
use fake_twitch::{FakeConfig, FakeTwitch, Seed, CLAIMED};

/// Grants each instance runs at once: the most a kill may leave in doubt.
const GRANT_JOBS: usize = 4;

/// The studio's grant: append to a shared ledger. A resumed grant checks the ledger first,
/// as the engine asks of grants it may have called before a crash. `HANG` makes it hang
/// (an instance stuck mid-grant, to be killed).
const GRANT_SCRIPT: &str = r#"
echo "$DROPS_ENTITLEMENT_ID $DROPS_GRANT_RESUMED" >> "$CALLS"
if [ -n "$HANG" ]; then sleep 120; fi
if [ "$DROPS_GRANT_RESUMED" = 1 ] && grep -q "^$DROPS_ENTITLEMENT_ID " "$LEDGER"; then
  exit 0
fi
echo "$DROPS_ENTITLEMENT_ID $DROPS_GRANT_RESUMED $INSTANCE" >> "$LEDGER"
"#;

/// A PostgreSQL server for one test, stopped (and its files removed) when dropped.
struct Server {
    url: String,
    _owned: Option<OwnedServer>,
}

struct OwnedServer {
    dir: PathBuf,
    pg_ctl: PathBuf,
    as_postgres: bool,
}

impl Drop for OwnedServer {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = as_user(self.as_postgres, &self.pg_ctl)
            .args(["stop", "-m", "immediate", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn as_user(as_postgres: bool, program: &Path) -> Command {
    if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn server_binaries() -> (PathBuf, PathBuf) {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    versions.sort();
    let bin = versions
        .pop()
        .map(|v| v.join("bin"))
        .filter(|b| b.join("initdb").exists());
    let bin = bin.unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server found under /usr/lib/postgresql: install Debian's \
             `postgresql` package (.ci/run does), or set TD_POSTGRES_URL to a server"
        )
    });
    (bin.join("initdb"), bin.join("pg_ctl"))
}

fn start_server() -> Server {
    if let Ok(url) = std::env::var("TD_POSTGRES_URL") {
        return Server { url, _owned: None };
    }
    let (initdb, pg_ctl) = server_binaries();
    let as_postgres = is_root();
    let dir = std::env::temp_dir().join(format!("td-postgres-{}-{}", std::process::id(), nanos()));
    std::fs::create_dir_all(&dir).expect("server dir");
    if as_postgres {
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("chown runs");
        assert!(status.success(), "chown the server dir to postgres");
    }
    let owned = OwnedServer {
        dir: dir.clone(),
        pg_ctl: pg_ctl.clone(),
        as_postgres,
    };
    let data = dir.join("data");
    let out = as_user(as_postgres, &initdb)
        .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
        .arg(&data)
        .output()
        .expect("initdb runs");
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100",
        dir.display()
    );
    let out = as_user(as_postgres, &pg_ctl)
        .args(["start", "-w", "-t", "60", "-D"])
        .arg(&data)
        .arg("-l")
        .arg(dir.join("log"))
        .args(["-o", &options])
        .output()
        .expect("pg_ctl runs");
    assert!(
        out.status.success(),
        "pg_ctl start: {}{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.join("log")).unwrap_or_default()
    );
    Server {
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        _owned: Some(owned),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// A fresh schema on the server; the URL selects it.
fn schema_url(server: &Server, name: &str) -> String {
    let base = &server.url;
    let schema = format!("t_{name}_{}", nanos() % 1_000_000_000);
    let mut client = postgres::Client::connect(base, postgres::NoTls).expect("connect");
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("create schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-csearch_path%3D{schema}")
}

fn query_count(url: &str, sql: &str) -> i64 {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    client.query_one(sql, &[]).expect("query").get(0)
}

fn fake(entitlements: usize) -> FakeTwitch {
    let mut config = FakeConfig::new();
    config.seed = Seed::claimed_of(GAME, entitlements, 80, 77);
    // Rate limits are not what this test is about; the drain is.
    config.rate_limit_per_minute = 0;
    FakeTwitch::start(config).expect("fake starts")
}

fn claimed(fake: &FakeTwitch) -> Vec<String> {
    fake.entitlements()
        .into_iter()
        .filter(|e| e.game_id == GAME && e.fulfillment_status == CLAIMED)
        .map(|e| e.id)
        .collect()
}

/// A `drops fulfill` instance on the shared journal, in its own process group.
fn instance(fake: &FakeTwitch, url: &str, dir: &Path, name: &str, ttl: &str) -> Command {
    let mut command = drops(fake, url, dir, name);
    command
        .args(["fulfill", "--game", GAME, "--grant-exec", GRANT_SCRIPT])
        .args(["--grant-jobs", &GRANT_JOBS.to_string(), "--claim-ttl", ttl])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    command
}

/// `drops` on the journal at `url` (`DROPS_JOURNAL`), as instance `name` of the ledger's
/// grant script (the subcommand and its flags come after).
fn drops(fake: &FakeTwitch, url: &str, dir: &Path, name: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_drops"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DROPS_JOURNAL", url)
        .env("LEDGER", dir.join("ledger"))
        .env("CALLS", dir.join("calls"))
        .env("INSTANCE", name)
        .env("TWITCH_CLIENT_ID", fake.client_id())
        .env("TWITCH_CLIENT_SECRET", fake.client_secret())
        .env("TWITCH_HELIX_URL", fake.helix_url())
        .env("TWITCH_AUTH_URL", fake.auth_url());
    command
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("td-instances-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// Grant calls marked resumed (whether or not the ledger already had them).
fn resumed_calls(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("calls"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.ends_with(" 1"))
        .count()
}

/// Grants per id from the ledger, and how many were resumed.
fn ledger(dir: &Path) -> (HashMap<String, usize>, usize) {
    let text = std::fs::read_to_string(dir.join("ledger")).unwrap_or_default();
    let mut grants: HashMap<String, usize> = HashMap::new();
    let mut resumed = 0;
    for line in text.lines() {
        let mut parts = line.split(' ');
        *grants
            .entry(parts.next().unwrap_or_default().to_string())
            .or_default() += 1;
        if parts.next() == Some("1") {
            resumed += 1;
        }
    }
    (grants, resumed)
}

/// SIGKILL to the instance and its grant scripts, then reaps it.
fn kill_group(child: &mut Child) {
    kill_group_unreaped(child);
    let _ = child.wait();
}

/// SIGKILL to the instance and its grant scripts, leaving it a zombie (its pid stays).
fn kill_group_unreaped(child: &Child) {
    let status = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status()
        .expect("kill runs");
    assert!(status.success(), "the process group was killed");
}

fn summary(output: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap_or_else(|_| {
        panic!(
            "no summary line: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Checks the end state: everything granted once, FULFILLED, nothing marked twice.
fn assert_exactly_once(fake: &FakeTwitch, ids: &[String], dir: &Path) -> (usize, usize) {
    let (grants, resumed) = ledger(dir);
    let lost = ids.iter().filter(|id| !grants.contains_key(*id)).count();
    let double = grants.values().filter(|n| **n > 1).count();
    let left = claimed(fake).len();
    let stats = fake.stats();
    eprintln!(
        "entitlements {}, grants {}, resumed {resumed}, double {double}, lost {lost}, \
         left CLAIMED {left}, duplicate FULFILLED marks {}",
        ids.len(),
        grants.values().sum::<usize>(),
        stats.duplicate_fulfill_attempts
    );
    assert_eq!(lost, 0, "entitlements never granted");
    assert_eq!(double, 0, "entitlements granted twice");
    assert_eq!(left, 0, "entitlements left CLAIMED");
    (grants.values().sum(), resumed)
}

/// Where the instances of a drain keep their journal.
enum Shared<'a> {
    Postgres(&'a Server),
    Sqlite,
}

fn drain(
    shared: Shared,
    instances: usize,
    entitlements: usize,
) -> (f64, u64, Vec<serde_json::Value>) {
    let fake = fake(entitlements);
    let ids = claimed(&fake);
    let name = match shared {
        Shared::Postgres(_) => format!("drain{instances}-postgres"),
        Shared::Sqlite => format!("drain{instances}-sqlite"),
    };
    // One directory per test and kind: tests of this binary run at once.
    let dir = scratch(&name);
    let url = match shared {
        Shared::Postgres(server) => schema_url(server, &format!("drain{instances}")),
        Shared::Sqlite => format!("sqlite:{}", dir.join("journal.db").display()),
    };
    let started = Instant::now();
    let children: Vec<Child> = (0..instances)
        .map(|i| {
            instance(&fake, &url, &dir, &format!("i{i}"), "60")
                .spawn()
                .expect("drops starts")
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("drops ends"))
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    let summaries: Vec<serde_json::Value> = outputs.iter().map(summary).collect();
    for (output, summary) in outputs.iter().zip(&summaries) {
        assert!(
            output.status.success(),
            "{summary} {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_exactly_once(&fake, &ids, &dir);
    let stats = fake.stats();
    assert_eq!(
        stats.duplicate_fulfill_attempts, 0,
        "an id marked FULFILLED twice"
    );
    let fulfilled: u64 = summaries
        .iter()
        .map(|s| s["fulfilled"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        fulfilled,
        ids.len() as u64,
        "each fulfilled by one instance: {summaries:?}"
    );
    if url.starts_with("postgres") {
        assert_eq!(
            query_count(
                &url,
                "SELECT count(*) FROM td_journal WHERE state = 'settled'"
            ),
            ids.len() as i64
        );
    }
    std::fs::remove_dir_all(&dir).ok();
    (seconds, stats.requests as u64, summaries)
}

#[test]
fn four_instances_drain_one_game_granting_each_entitlement_once() {
    let server = start_server();
    let entitlements = 3000;
    let (one, one_requests, _) = drain(Shared::Postgres(&server), 1, entitlements);
    let (four, four_requests, summaries) = drain(Shared::Postgres(&server), 4, entitlements);
    let held: u64 = summaries
        .iter()
        .map(|s| s["held_elsewhere"].as_u64().unwrap_or(0))
        .sum();
    eprintln!(
        "{entitlements} entitlements: 1 instance {one:.2} s ({one_requests} requests), \
         4 instances {four:.2} s ({four_requests} requests, {held} ids met held by another)"
    );
    let shares: Vec<u64> = summaries
        .iter()
        .map(|s| s["fulfilled"].as_u64().unwrap_or(0))
        .collect();
    eprintln!("fulfilled per instance: {shares:?}");
}

#[test]
fn four_processes_on_one_host_share_an_sqlite_journal() {
    let (seconds, requests, summaries) = drain(Shared::Sqlite, 4, 3000);
    let shares: Vec<u64> = summaries
        .iter()
        .map(|s| s["fulfilled"].as_u64().unwrap_or(0))
        .collect();
    eprintln!("SQLite, 4 processes: {seconds:.2} s, {requests} requests, fulfilled {shares:?}");
}

#[test]
fn random_kills_of_instances_lose_nothing_and_grant_nothing_twice() {
    let server = start_server();
    let url = schema_url(&server, "kills");
    random_kills(&url, "kills");
    assert_eq!(
        query_count(
            &url,
            "SELECT count(*) FROM td_journal WHERE state <> 'settled'"
        ),
        0,
        "nothing left open in the journal"
    );
}

#[test]
fn random_kills_of_processes_sharing_an_sqlite_journal_lose_nothing_and_grant_nothing_twice() {
    let dir = scratch("sqlite-kills-journal");
    random_kills(
        &format!("sqlite:{}", dir.join("journal.db").display()),
        "sqlite-kills",
    );
}

/// The claim ttl of the kill tests. Live instances renew every third of it; on a loaded
/// two-core runner (six such tests, twenty processes) a renewal can come a second late, and
/// a claim that expires under a live instance stops it (`not_held`) — safe, but not what
/// these tests measure. Killed instances never wait for it: they are reaped, so known gone.
const CLAIM_TTL: &str = "20";

/// Four instances on the journal at `url`, killed and replaced at random, then a last run:
/// each entitlement granted once, and at most `--grant-jobs` grants in doubt per kill.
fn random_kills(url: &str, name: &str) {
    let fake = fake(8000);
    let ids = claimed(&fake);
    let dir = scratch(name);
    let mut seed = (nanos() as u64) | 1;
    eprintln!("kill schedule seed {seed}");
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Four instances run at once; every 30–230 ms one of them is killed (with its grant
    // scripts) and a new one takes its slot, until 12 kills.
    let mut spawned = 0;
    let spawn = |spawned: &mut usize| {
        *spawned += 1;
        let stderr = std::fs::File::create(dir.join(format!("n{spawned}.err"))).expect("log");
        instance(&fake, url, &dir, &format!("n{spawned}"), CLAIM_TTL)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("drops starts")
    };
    let mut slots: Vec<Child> = (0..4).map(|_| spawn(&mut spawned)).collect();
    let mut kills = 0;
    while kills < 12 {
        std::thread::sleep(Duration::from_millis(30 + next() % 200));
        let victim = (next() % 4) as usize;
        if slots[victim].try_wait().expect("wait").is_some() {
            // It finished: the drain is over (or nearly).
            if slots
                .iter_mut()
                .all(|c| c.try_wait().ok().flatten().is_some())
            {
                break;
            }
            continue;
        }
        kill_group(&mut slots[victim]);
        kills += 1;
        slots[victim] = spawn(&mut spawned);
    }
    // The instances never killed ran to their end: each must have succeeded (a write about
    // a claim it no longer held would have failed it).
    for mut child in slots {
        let status = child.wait().expect("reaped");
        let errors: Vec<String> = (1..=spawned)
            .filter_map(|n| std::fs::read_to_string(dir.join(format!("n{n}.err"))).ok())
            .flat_map(|text| {
                let lines: Vec<String> = text
                    .lines()
                    .filter(|l| l.starts_with("drops:"))
                    .map(String::from)
                    .collect();
                lines
            })
            .collect();
        assert!(
            status.success(),
            "an instance that was not killed failed: {status}\n{}",
            errors.join("\n")
        );
    }
    // A killed instance was reaped, so its pid is gone and its claims are taken over at
    // once, long before their ttl: a last instance finishes them.
    let last = instance(&fake, url, &dir, "last", CLAIM_TTL)
        .output()
        .expect("drops runs");
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    eprintln!(
        "{name}: instances {spawned}, kills {kills}, last run: {}",
        summary(&last)
    );
    assert!(kills >= 8, "enough instances were killed mid-way ({kills})");
    assert_exactly_once(&fake, &ids, &dir);
    // Only a killed instance leaves grants in doubt, at most the grants it had running
    // (--grant-jobs): more resumed calls would mean live claims were taken over, or answers
    // that had come back were not journaled.
    let resumed = resumed_calls(&dir);
    eprintln!(
        "{name}: resumed grant calls {resumed} over {kills} kills (at most {} allowed)",
        GRANT_JOBS * kills
    );
    assert!(
        resumed <= GRANT_JOBS * kills,
        "{resumed} resumed calls for {kills} kills"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_instance_killed_holding_claims_is_finished_by_another_after_they_expire() {
    let server = start_server();
    let fake = fake(600);
    let ids = claimed(&fake);
    let url = schema_url(&server, "expiry");
    let dir = scratch("expiry");
    // A hangs in its first grants, holding its first batch's claims; then it dies.
    let mut a = instance(&fake, &url, &dir, "a", "5")
        .env("HANG", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("a starts");
    wait_for_table(&url);
    let started = Instant::now();
    let held = loop {
        let held = query_count(
            &url,
            "SELECT count(*) FROM td_journal WHERE state = 'granting'",
        );
        if held > 0 {
            break held;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "a never claimed anything"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // Killed but not reaped: a zombie, so its pid still exists and nothing tells the others
    // it is gone — as with an instance on another host. (A reaped process on this host is
    // known to be gone, and its claims are taken over at once: the crash test shows that.)
    kill_group_unreaped(&a);
    // B, at once: A's claims are still live, so B leaves them and does the rest.
    let b = instance(&fake, &url, &dir, "b", "5")
        .output()
        .expect("b runs");
    let b_summary = summary(&b);
    assert!(b.status.success(), "{b_summary}");
    assert_eq!(
        b_summary["held_elsewhere"].as_i64(),
        Some(held),
        "{b_summary}"
    );
    assert_eq!(
        claimed(&fake).len() as i64,
        held,
        "only A's claims are left CLAIMED"
    );
    // After the ttl, C takes A's claims over: granted as resumed, once each.
    std::thread::sleep(Duration::from_millis(5300));
    let c = instance(&fake, &url, &dir, "c", "5")
        .output()
        .expect("c runs");
    let c_summary = summary(&c);
    assert!(c.status.success(), "{c_summary}");
    assert_eq!(c_summary["fulfilled"].as_i64(), Some(held), "{c_summary}");
    let (_, resumed) = assert_exactly_once(&fake, &ids, &dir);
    assert_eq!(
        resumed as i64, held,
        "A's claims were granted as resumed grants"
    );
    assert_eq!(
        resumed_calls(&dir) as i64,
        held,
        "resumed calls: only A's claims"
    );
    let _ = a.wait();
    std::fs::remove_dir_all(&dir).ok();
}

/// The table appears when the first instance connects.
fn wait_for_table(url: &str) {
    let started = Instant::now();
    while query_count(
        url,
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'td_journal' \
         AND table_schema = current_schema()",
    ) == 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the journal table never appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// EventSub deliveries recorded in the PostgreSQL journal's database: a message id handed to
/// one instance is known to every other, and forgotten once Twitch would no longer send it.
#[test]
fn eventsub_deliveries_are_recorded_once_across_instances() {
    use twitch_drops::eventsub::Deduplicator;
    use twitch_drops::webhook::DeliveryLog;
    let server = start_server();
    let url = schema_url(&server, "deliveries");
    let mut a = twitch_drops::PostgresJournal::connect(&url).expect("journal a");
    let mut b = twitch_drops::PostgresJournal::connect(&url).expect("journal b");
    let now = 1_700_000_000_000;
    assert!(a.first_delivery("m1", now).unwrap(), "first time");
    assert!(
        !b.first_delivery("m1", now + 5).unwrap(),
        "known to the other"
    );
    assert!(!a.first_delivery("m1", now + 10).unwrap(), "and to itself");
    assert!(b.first_delivery("m2", now + 10).unwrap());
    let later = now + Deduplicator::WINDOW_MS + 1;
    assert!(
        a.first_delivery("m1", later).unwrap(),
        "forgotten past the window"
    );
}

/// `GET /healthz` answered 200.
fn healthy(address: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(address) else {
        return false;
    };
    let _ = write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    );
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

/// Two `drops serve` instances on one PostgreSQL journal, each subscribed with a callback of
/// its own, so every claim is pushed to both (under different message ids) and both drain:
/// each claim granted once, marked once, and both stop gracefully on SIGTERM.
#[test]
fn two_serve_instances_on_one_postgres_journal_grant_each_pushed_claim_once() {
    let server = start_server();
    let url = schema_url(&server, "serve");
    let fake = fake(0);
    let dir = scratch("serve");
    let services: Vec<(Child, String)> = ["s1", "s2"]
        .into_iter()
        .map(|name| {
            let address = free_address();
            let child = drops(&fake, &url, &dir, name)
                .args(["serve", "--game", GAME, "--listen", &address])
                .args(["--callback-url", &format!("http://{address}/eventsub")])
                .args(["--organization", fake_twitch::ORGANIZATION_ID])
                .args(["--reconcile-every", "2", "--grant-exec", GRANT_SCRIPT])
                .env("DROPS_EVENTSUB_SECRET", "a-webhook-secret-for-two")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join(format!("{name}.err"))).unwrap())
                .spawn()
                .expect("drops serve starts");
            (child, address)
        })
        .collect();
    let started = Instant::now();
    while !services.iter().all(|(_, address)| healthy(address)) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "both subscribed and ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(fake.eventsub_subscriptions().len(), 2);

    fake.stream_claims(&fake_twitch::ClaimStream {
        claims: 600,
        per_second: 300.0,
        lost_rate: 0.1,
        duplicate_rate: 0.1,
        ..fake_twitch::ClaimStream::default()
    })
    .unwrap();
    let started = Instant::now();
    loop {
        let stream = fake.claim_stream_stats();
        if stream.claims == 600 && !stream.running && claimed(&fake).is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "every claim fulfilled: {stream:?}, {} left",
            claimed(&fake).len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let stream = fake.claim_stream_stats();
    assert!(stream.lost > 0 && stream.duplicated > 0, "{stream:?}");
    for (child, _) in services {
        let pid = child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "a graceful stop: {}",
            output.status
        );
    }
    let ids: Vec<String> = fake
        .entitlements()
        .into_iter()
        .filter(|e| e.game_id == GAME)
        .map(|e| e.id)
        .collect();
    assert_eq!(ids.len(), 600);
    assert_exactly_once(&fake, &ids, &dir);
    let (grants, _) = ledger(&dir);
    let by_instance = std::fs::read_to_string(dir.join("ledger")).unwrap_or_default();
    eprintln!(
        "two serve instances: {} grants ({} by s1), stream {stream:?}",
        grants.len(),
        by_instance.lines().filter(|l| l.ends_with(" s1")).count()
    );
    assert_eq!(
        fake.stats().duplicate_fulfill_attempts,
        0,
        "an id marked twice"
    );
    std::fs::remove_dir_all(&dir).ok();
}
