//! `drops fulfill`: the fulfillment engine with the command's grant (a script per
//! entitlement, a grant log, or both), a journal, progress on stderr and one JSON summary
//! line on stdout.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use twitch_drops::{
    Client, Clock, Engine, EntitlementsQuery, FulfillOptions, Grant, GrantOutcome, GrantRequest,
    HttpRequest, Journal, Method, SettledState, Transport, UreqTransport,
};

/// Exit status a grant script uses for "retry later" (`EX_TEMPFAIL`).
const RETRY_LATER: i32 = 75;

/// The one JSON line `fulfill` ends with.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// This `drops`'s version.
    pub version: &'static str,
    pub listed: u64,
    /// FULFILLED now, `already_fulfilled` included.
    pub fulfilled: u64,
    /// Found FULFILLED (by an earlier run whose mark had not been recorded): not granted.
    pub already_fulfilled: u64,
    /// Grants left in doubt by a crash and called again (`DROPS_GRANT_RESUMED=1`); those
    /// already in the grant log were not given again.
    pub resumed: u64,
    pub failed: u64,
    /// Left to other instances sharing the journal (they hold the claims).
    pub held_elsewhere: u64,
    pub requests: u64,
    /// Requests sent again (a 5xx, a dropped connection, a 429, a refused token).
    pub retries: u64,
    /// Times a request waited for the rate limit (paced before sending, or after a 429).
    pub rate_limited_waits: u64,
    pub seconds: f64,
    /// Stopped before the end (Ctrl-C, SIGTERM, a grant over `--grant-timeout`): rerun
    /// with the same journal to finish.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

impl Summary {
    /// Non-zero when anything was left unfulfilled.
    pub fn exit_code(&self) -> ExitCode {
        if self.interrupted {
            ExitCode::from(crate::interrupt::status().unwrap_or(crate::interrupt::INTERRUPTED))
        } else if self.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}

/// How the command grants: a script or an HTTP POST per entitlement, a log line per grant,
/// or both.
pub struct CommandGrant {
    giver: Option<Giver>,
    log: Option<GrantLog>,
    jobs: usize,
}

/// The grant log: the command's record of what was given. A line is written (and on
/// disk) only after the grant succeeded, so an id in it was given; a resumed grant whose
/// id is there counts as given and is neither written nor run again.
struct GrantLog {
    path: PathBuf,
    file: File,
    /// Hashes of the ids in the log, read once when the first resumed grant arrives.
    logged: Option<HashSet<u128>>,
    /// Two keys for a 128-bit hash of an id (a collision would skip a grant).
    keys: (RandomState, RandomState),
}

impl GrantLog {
    fn hash(&self, id: &str) -> u128 {
        (u128::from(self.keys.0.hash_one(id)) << 64) | u128::from(self.keys.1.hash_one(id))
    }

    /// Whether `id` has a whole line in the log; the first call reads the log.
    fn holds(&mut self, id: &str) -> Result<bool, String> {
        if self.logged.is_none() {
            let mut logged = HashSet::new();
            let file = File::open(&self.path)
                .map_err(|e| format!("grant log {}: {e}", self.path.display()))?;
            let mut reader = BufReader::new(file);
            let mut line = Vec::new();
            loop {
                line.clear();
                let read = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| format!("grant log {}: {e}", self.path.display()))?;
                // A last line without its newline was torn by a crash: not a record.
                if read == 0 || line.last() != Some(&b'\n') {
                    break;
                }
                if let Some(logged_id) = line.split(|b| *b == b' ').next() {
                    if let Ok(logged_id) = std::str::from_utf8(logged_id) {
                        logged.insert(self.hash(logged_id.trim_end()));
                    }
                }
            }
            self.logged = Some(logged);
        }
        let hash = self.hash(id);
        Ok(self.logged.as_ref().is_some_and(|l| l.contains(&hash)))
    }

    /// Appends `lines` and syncs them, first cutting a torn last line a crashed writer left
    /// (under an exclusive lock, so it is never a live writer's line).
    fn append(&mut self, lines: &str) -> std::io::Result<()> {
        // A stream (`/dev/stdout`, a pipe) is written as it comes: nothing to lock, cut or
        // sync, and nothing kept to be read back.
        if !self.file.metadata()?.is_file() {
            return self.file.write_all(lines.as_bytes());
        }
        lock(&self.file, true)?;
        let written = (|| {
            let len = self.file.metadata()?.len();
            if len > 0 {
                let torn = last_newline_end(&mut self.file, len)?;
                if torn < len {
                    self.file.set_len(torn)?;
                }
            }
            self.file.write_all(lines.as_bytes())?;
            self.file.sync_data()
        })();
        let unlocked = lock(&self.file, false);
        written.and(unlocked)?;
        if self.logged.is_some() {
            let hashes: Vec<u128> = lines
                .lines()
                .filter_map(|line| line.split(' ').next())
                .map(|id| self.hash(id))
                .collect();
            self.logged.get_or_insert_default().extend(hashes);
        }
        Ok(())
    }
}

/// Takes (or releases) an exclusive advisory lock on `file`, between processes sharing a
/// grant log. Unix only; elsewhere processes sharing one grant log are not supported.
fn lock(file: &File, take: bool) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let op = if take { libc::LOCK_EX } else { libc::LOCK_UN };
        // SAFETY: flock on a descriptor this `File` owns for the whole call.
        if unsafe { libc::flock(file.as_raw_fd(), op) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    #[cfg(not(unix))]
    let _ = (file, take);
    Ok(())
}

/// The length of `file` up to and including its last newline (0 if it has none).
fn last_newline_end(file: &mut File, len: u64) -> std::io::Result<u64> {
    let mut end = len;
    let mut buf = [0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

impl CommandGrant {
    /// Refuses to run without a way to grant: marking FULFILLED without granting would lose
    /// every reward.
    pub fn new(giver: Option<Giver>, log: Option<&Path>, jobs: usize) -> Result<Self, String> {
        if giver.is_none() && log.is_none() {
            return Err(
                "nothing would grant the rewards: pass --grant-exec CMD (a script \
                        run per entitlement), --grant-url URL (a POST to your backend per \
                        entitlement) and/or --grant-log FILE"
                    .into(),
            );
        }
        let log = match log {
            Some(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .read(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("grant log {}: {e}", path.display()))?;
                Some(GrantLog {
                    path: path.to_path_buf(),
                    file,
                    logged: None,
                    keys: (RandomState::new(), RandomState::new()),
                })
            }
            None => None,
        };
        Ok(CommandGrant {
            giver,
            log,
            jobs: jobs.max(1),
        })
    }
}

/// What gives a reward: a shell command, or an HTTP POST to the studio's backend.
pub enum Giver {
    /// The script, and how long one run of it may take before the run stops.
    Script(String, Duration),
    Url(String, UreqTransport),
}

impl Giver {
    /// `--grant-exec`, `--grant-url` (one of them at most).
    pub fn of(
        exec: Option<String>,
        url: Option<String>,
        timeout: Duration,
    ) -> Result<Option<Giver>, String> {
        match (exec, url) {
            (Some(_), Some(_)) => Err("give --grant-exec or --grant-url, not both".into()),
            (Some(script), None) => Ok(Some(Giver::Script(script, timeout))),
            (None, Some(url)) => {
                twitch_drops::url::check_secure_url(&url)
                    .map_err(|p| format!("--grant-url: {}", p.describe(&url)))?;
                Ok(Some(Giver::Url(url, UreqTransport::new())))
            }
            (None, None) => Ok(None),
        }
    }

    fn give(&self, request: &GrantRequest) -> GrantOutcome {
        match self {
            Giver::Script(script, timeout) => CommandGrant::run_script(script, *timeout, request),
            Giver::Url(url, transport) => post_grant(url, transport, request),
        }
    }
}

/// POSTs the entitlement as JSON, its id as the `Idempotency-Key`: 2xx granted, 409 given
/// before (granted), 429 and 5xx (or no answer) retry later, another 4xx failed.
fn post_grant(url: &str, transport: &UreqTransport, request: &GrantRequest) -> GrantOutcome {
    let e = &request.entitlement;
    let body = serde_json::json!({
        "entitlement_id": e.id,
        "user_id": e.user_id,
        "benefit_id": e.benefit_id,
        "game_id": e.game_id,
        "timestamp": e.timestamp,
        "resumed": request.resumed,
    })
    .to_string();
    let post = HttpRequest::new(Method::Post, url.to_string())
        .with_header("Content-Type", "application/json")
        .with_header("Idempotency-Key", e.id.clone())
        .with_body(body.into_bytes());
    match transport.send(post) {
        Ok(answer) => match answer.status {
            200..=299 | 409 => GrantOutcome::Granted,
            429 | 500..=599 => GrantOutcome::RetryLater,
            status => {
                let said = twitch_drops::as_data(&String::from_utf8_lossy(&answer.body));
                GrantOutcome::Failed(format!("grant URL answered {status}: {said}"))
            }
        },
        Err(_) => GrantOutcome::RetryLater,
    }
}

impl CommandGrant {
    /// Runs `script` for `request`. One that outlives `timeout` stops the run gracefully:
    /// it still has the stop's grace to finish (its answer then journaled as any other);
    /// past that the process exits, and the rerun resumes it.
    fn run_script(script: &str, timeout: Duration, request: &GrantRequest) -> GrantOutcome {
        let e = &request.entitlement;
        let mut command = Command::new("sh");
        dies_with_this_process(&mut command);
        command
            .arg("-c")
            .arg(script)
            .env("DROPS_ENTITLEMENT_ID", e.id.as_str())
            .env("DROPS_USER_ID", e.user_id.as_str())
            .env("DROPS_BENEFIT_ID", e.benefit_id.as_str())
            .env("DROPS_GAME_ID", e.game_id.as_str())
            .env("DROPS_TIMESTAMP", e.timestamp.as_str())
            .env(
                "DROPS_GRANT_RESUMED",
                if request.resumed { "1" } else { "0" },
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // The thread that starts the script waits for it (a script dies with the thread that
        // started it); this one waits for that thread, up to the timeout.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(command.output());
        });
        let output = match finished.recv_timeout(timeout) {
            Ok(output) => output,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                crate::interrupt::stop_on_error(&format!(
                    "the grant of {} has run over {} s (--grant-timeout)",
                    e.id,
                    timeout.as_secs_f64()
                ));
                finished.recv().unwrap_or_else(|_| {
                    Err(std::io::Error::other("the grant script's thread ended"))
                })
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Err(std::io::Error::other("the grant script's thread ended"))
            }
        };
        match output {
            Ok(out) if out.status.success() => GrantOutcome::Granted,
            Ok(out) if out.status.code() == Some(RETRY_LATER) => GrantOutcome::RetryLater,
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let reason = stderr.lines().next().unwrap_or("").trim();
                GrantOutcome::Failed(format!("grant script {}: {reason}", out.status))
            }
            // The script could not start (a problem of this machine, not of the grant).
            Err(_) => GrantOutcome::RetryLater,
        }
    }

    fn log(&mut self, requests: &[GrantRequest], outcomes: &mut [GrantOutcome]) {
        let Some(log) = self.log.as_mut() else {
            return;
        };
        let mut lines = String::new();
        for (request, outcome) in requests.iter().zip(outcomes.iter_mut()) {
            if *outcome == GrantOutcome::Granted {
                match log_line(&request.entitlement) {
                    Ok(line) => lines.push_str(&line),
                    Err(reason) => *outcome = GrantOutcome::Failed(reason),
                }
            }
        }
        // Durable before the engine journals the grants and marks them.
        if lines.is_empty() {
            return;
        }
        if let Err(e) = log.append(&lines) {
            let reason = format!("grant log {}: {e}", log.path.display());
            for outcome in outcomes.iter_mut() {
                if *outcome == GrantOutcome::Granted {
                    *outcome = GrantOutcome::Failed(reason.clone());
                }
            }
        }
    }
}

/// The grant log's line for `e`: `id user_id benefit_id`, space-separated. A field that
/// is empty or holds whitespace or a control character cannot be told apart in that format
/// (a newline would forge a line of the studio's record), so it is refused, not written.
fn log_line(e: &twitch_drops::Entitlement) -> Result<String, String> {
    for (field, value) in [
        ("id", &e.id),
        ("user_id", &e.user_id),
        ("benefit_id", &e.benefit_id),
    ] {
        if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "the grant log cannot hold this entitlement: its `{field}` is empty or holds \
                 whitespace or a control character"
            ));
        }
    }
    Ok(format!("{} {} {}\n", e.id, e.user_id, e.benefit_id))
}

/// A grant script must not outlive `drops`: once it is gone, the next run takes its claims
/// over and may grant the same entitlements again (as resumed). On Linux the script gets
/// SIGKILL when the thread that started it ends (that thread waits for it, so only when
/// `drops` dies); elsewhere, and for what the script itself starts in the background, that
/// is the script's own business.
fn dies_with_this_process(command: &mut Command) {
    // Its own process group (Unix) or console group (Windows): a Ctrl-C at the terminal
    // stops `drops` gracefully and lets a running script finish, rather than killing it
    // half-way (its answer lost, the entitlement in doubt).
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(command, 0);
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        command.creation_flags(CREATE_NEW_PROCESS_GROUP);
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only async-signal-safe calls (prctl, getppid, _exit).
        let parent = std::process::id();
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() as u32 != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

impl Grant for CommandGrant {
    fn grant(&mut self, request: &GrantRequest) -> GrantOutcome {
        let mut outcomes = self.grant_batch(std::slice::from_ref(request));
        outcomes.pop().unwrap_or(GrantOutcome::RetryLater)
    }

    fn grant_batch(&mut self, requests: &[GrantRequest]) -> Vec<GrantOutcome> {
        // A resumed grant already in the log was given before the crash: not again.
        let mut given = vec![None; requests.len()];
        if let Some(log) = self.log.as_mut() {
            for (request, given) in requests.iter().zip(given.iter_mut()) {
                if request.resumed {
                    *given = Some(match log.holds(&request.entitlement.id) {
                        Ok(true) => GrantOutcome::Granted,
                        Ok(false) => continue,
                        Err(reason) => GrantOutcome::Failed(reason),
                    });
                }
            }
        }
        if given.iter().any(Option::is_some) {
            let rest: Vec<GrantRequest> = requests
                .iter()
                .zip(&given)
                .filter(|(_, g)| g.is_none())
                .map(|(r, _)| r.clone())
                .collect();
            let mut rest = self.grant_new(&rest).into_iter();
            return given
                .into_iter()
                .map(|g| g.unwrap_or_else(|| rest.next().unwrap_or(GrantOutcome::RetryLater)))
                .collect();
        }
        self.grant_new(requests)
    }
}

impl CommandGrant {
    /// Runs the script (if any) for `requests` and logs the grants that succeeded.
    fn grant_new(&mut self, requests: &[GrantRequest]) -> Vec<GrantOutcome> {
        if requests.is_empty() {
            return Vec::new();
        }
        let mut outcomes = match &self.giver {
            None => vec![GrantOutcome::Granted; requests.len()],
            Some(giver) => {
                let per_job = requests.len().div_ceil(self.jobs).max(1);
                std::thread::scope(|scope| {
                    let handles: Vec<_> = requests
                        .chunks(per_job)
                        .map(|chunk| {
                            scope.spawn(move || {
                                chunk.iter().map(|r| giver.give(r)).collect::<Vec<_>>()
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .flat_map(|h| {
                            h.join().unwrap_or_else(|_| {
                                vec![GrantOutcome::Failed("grant thread panicked".into()); per_job]
                            })
                        })
                        .collect()
                })
            }
        };
        outcomes.truncate(requests.len());
        self.log(requests, &mut outcomes);
        outcomes
    }
}

/// Runs the engine over `options`, printing progress on stderr and, even when the run
/// stops on an error, the summary on stdout.
pub fn fulfill<T: Transport + Sync, C: Clock + Sync>(
    client: &Client<T, C>,
    options: FulfillOptions,
    journal: &mut dyn Journal,
    grant: &mut dyn Grant,
    quiet: bool,
    explain: &dyn Fn(&twitch_drops::Error) -> String,
) -> Result<Summary, String> {
    let started = Instant::now();
    let requests_before = client.requests_sent();
    let metrics_before = client.metrics();
    let game = options.query.game_id.clone();
    let engine = Engine::new(client.config(), options).map_err(|e| e.to_string())?;
    let progress = Progress::new(quiet);
    let mut settled = 0u64;
    let report = client.drive_engine_pipelined(engine, journal, grant, &mut |s| {
        settled += 1;
        if let SettledState::GrantFailed(reason) = &s.state {
            progress.note(&format!("{}: not granted: {reason}", s.id));
        }
        if settled % 1000 == 0 {
            progress.update(settled);
        }
    });
    // A run that stopped before taking anything up (Twitch unreachable, credentials
    // refused) has nothing to sum up: its error says it all.
    if let (Some(e), 0) = (&report.error, report.listed) {
        return Err(explain(e));
    }
    progress.finish(settled);
    if report.listed == 0 && report.error.is_none() && !report.interrupted {
        if let Some(game) = &game {
            check_game_has_entitlements(client, game, &progress);
        }
    }
    let metrics = client.metrics();
    let summary = Summary {
        version: env!("CARGO_PKG_VERSION"),
        listed: report.listed,
        fulfilled: report.fulfilled + report.already_fulfilled,
        already_fulfilled: report.already_fulfilled,
        resumed: report.resumed,
        failed: report.left(),
        held_elsewhere: report.held_elsewhere,
        requests: client.requests_sent() - requests_before,
        retries: metrics.total_retries() - metrics_before.total_retries(),
        rate_limited_waits: metrics.rate_limit_waits - metrics_before.rate_limit_waits,
        seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        interrupted: report.interrupted,
    };
    if !report.quarantined_users.is_empty() {
        progress.note(&format!(
            "quarantined viewers (their calls kept failing): {}",
            report.quarantined_users.join(", ")
        ));
    }
    let line = serde_json::to_string(&summary).map_err(|e| e.to_string())?;
    println!("{line}");
    if report.interrupted {
        progress.note("interrupted: rerun with the same journal to finish");
    }
    match report.error {
        Some(e) => Err(explain(&e)),
        None => Ok(summary),
    }
}

/// Nothing to fulfill: warns when the game has no entitlements at all (any status), the
/// mark of a mistyped game id rather than of a drained one. One request, made only then.
fn check_game_has_entitlements<T: Transport + Sync, C: Clock + Sync>(
    client: &Client<T, C>,
    game: &str,
    progress: &Progress,
) {
    let mut query = EntitlementsQuery::new().game(game);
    query.first = Some(1);
    if let Ok(page) = client.entitlements_page(&query) {
        if page.entitlements.is_empty() {
            progress.note(&format!(
                "drops: warning: game {game} has no entitlements at all, CLAIMED or \
                 FULFILLED: check the game id (--game)"
            ));
        }
    }
}

/// A bar on a terminal, plain lines otherwise, nothing with `-q`.
enum Progress {
    Bar(ProgressBar),
    /// The last count printed, so the final line is not printed twice.
    Lines(std::cell::Cell<Option<u64>>),
    Silent,
}

impl Progress {
    fn new(quiet: bool) -> Self {
        if quiet {
            Progress::Silent
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
                bar.set_style(style);
            }
            Progress::Bar(bar)
        } else {
            Progress::Lines(std::cell::Cell::new(None))
        }
    }

    fn update(&self, settled: u64) {
        match self {
            Progress::Bar(bar) => bar.set_message(format!("{settled} entitlements settled")),
            Progress::Lines(last) => {
                eprintln!("{settled} entitlements settled");
                last.set(Some(settled));
            }
            Progress::Silent => {}
        }
    }

    fn note(&self, line: &str) {
        match self {
            Progress::Bar(bar) => bar.println(line),
            Progress::Lines(_) => eprintln!("{line}"),
            Progress::Silent => {}
        }
    }

    fn finish(&self, settled: u64) {
        match self {
            Progress::Bar(bar) => {
                bar.finish_with_message(format!("{settled} entitlements settled"))
            }
            Progress::Lines(last) if last.get() == Some(settled) => {}
            Progress::Lines(_) => eprintln!("{settled} entitlements settled"),
            Progress::Silent => {}
        }
    }
}
