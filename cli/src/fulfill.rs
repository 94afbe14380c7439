//! `drops fulfill`: the fulfillment engine with the command's grant (a script per
//! entitlement, a grant log, or both), a journal, progress on stderr and one JSON summary
//! line on stdout.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use twitch_drops::{
    Client, Clock, Engine, FulfillOptions, Grant, GrantOutcome, GrantRequest, Journal,
    SettledState, Transport,
};

/// Exit status a grant script uses for "retry later" (`EX_TEMPFAIL`).
const RETRY_LATER: i32 = 75;

/// The one JSON line `fulfill` ends with.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub listed: u64,
    pub fulfilled: u64,
    pub failed: u64,
    /// Left to other instances sharing the journal (they hold the claims).
    pub held_elsewhere: u64,
    pub requests: u64,
    pub seconds: f64,
}

impl Summary {
    /// Non-zero when anything was left unfulfilled.
    pub fn exit_code(&self) -> ExitCode {
        if self.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}

/// How the command grants: a script per entitlement, a log line per grant, or both.
pub struct CommandGrant {
    exec: Option<String>,
    log: Option<(PathBuf, File)>,
    jobs: usize,
}

impl CommandGrant {
    /// Refuses to run without a way to grant: marking FULFILLED without granting would lose
    /// every reward.
    pub fn new(exec: Option<String>, log: Option<&Path>, jobs: usize) -> Result<Self, String> {
        if exec.is_none() && log.is_none() {
            return Err(
                "nothing would grant the rewards: pass --grant-exec CMD (a script \
                        run per entitlement) and/or --grant-log FILE"
                    .into(),
            );
        }
        let log = match log {
            Some(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("grant log {}: {e}", path.display()))?;
                Some((path.to_path_buf(), file))
            }
            None => None,
        };
        Ok(CommandGrant {
            exec,
            log,
            jobs: jobs.max(1),
        })
    }

    fn run_script(script: &str, request: &GrantRequest) -> GrantOutcome {
        let e = &request.entitlement;
        let mut command = Command::new("sh");
        dies_with_this_process(&mut command);
        let output = command
            .arg("-c")
            .arg(script)
            .env("DROPS_ENTITLEMENT_ID", &e.id)
            .env("DROPS_USER_ID", &e.user_id)
            .env("DROPS_BENEFIT_ID", &e.benefit_id)
            .env("DROPS_GAME_ID", &e.game_id)
            .env("DROPS_TIMESTAMP", &e.timestamp)
            .env(
                "DROPS_GRANT_RESUMED",
                if request.resumed { "1" } else { "0" },
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
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
        let Some((path, file)) = self.log.as_mut() else {
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
        if let Err(e) = file
            .write_all(lines.as_bytes())
            .and_then(|_| file.sync_data())
        {
            let reason = format!("grant log {}: {e}", path.display());
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
        let mut outcomes = match &self.exec {
            None => vec![GrantOutcome::Granted; requests.len()],
            Some(script) => {
                let per_job = requests.len().div_ceil(self.jobs).max(1);
                std::thread::scope(|scope| {
                    let handles: Vec<_> = requests
                        .chunks(per_job)
                        .map(|chunk| {
                            scope.spawn(move || {
                                chunk
                                    .iter()
                                    .map(|r| Self::run_script(script, r))
                                    .collect::<Vec<_>>()
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
) -> Result<Summary, String> {
    let started = Instant::now();
    let requests_before = client.requests_sent();
    let engine = Engine::new(client.config(), options).map_err(|e| e.to_string())?;
    let progress = Progress::new();
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
    progress.finish(settled);
    let summary = Summary {
        listed: report.listed,
        fulfilled: report.fulfilled + report.already_fulfilled,
        failed: report.left(),
        held_elsewhere: report.held_elsewhere,
        requests: client.requests_sent() - requests_before,
        seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
    };
    if !report.quarantined_users.is_empty() {
        progress.note(&format!(
            "quarantined viewers (their calls kept failing): {}",
            report.quarantined_users.join(", ")
        ));
    }
    let line = serde_json::to_string(&summary).map_err(|e| e.to_string())?;
    println!("{line}");
    match report.error {
        Some(e) => Err(e.to_string()),
        None => Ok(summary),
    }
}

/// A bar on a terminal, plain lines otherwise.
enum Progress {
    Bar(ProgressBar),
    Lines,
}

impl Progress {
    fn new() -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
                bar.set_style(style);
            }
            Progress::Bar(bar)
        } else {
            Progress::Lines
        }
    }

    fn update(&self, settled: u64) {
        match self {
            Progress::Bar(bar) => bar.set_message(format!("{settled} entitlements settled")),
            Progress::Lines => eprintln!("{settled} entitlements settled"),
        }
    }

    fn note(&self, line: &str) {
        match self {
            Progress::Bar(bar) => bar.println(line),
            Progress::Lines => eprintln!("{line}"),
        }
    }

    fn finish(&self, settled: u64) {
        match self {
            Progress::Bar(bar) => {
                bar.finish_with_message(format!("{settled} entitlements settled"))
            }
            Progress::Lines => eprintln!("{settled} entitlements settled"),
        }
    }
}
