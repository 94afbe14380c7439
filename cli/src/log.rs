//! What `drops` says on stderr while it works: the library's notes at the chosen level, as
//! text or JSON lines. By default only warnings (retries, waits for the rate limit, a
//! viewer quarantined), at most one a second per kind with a count of those held back;
//! `-v` every warning and the milestones, `-vv` every request, `-q` errors only.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use serde_json::json;
use twitch_drops::{Level, LogRecord, Logger};

/// How often a kind of warning is printed at the default level.
const WARN_EVERY: Duration = Duration::from_secs(1);

#[derive(Args)]
pub struct Logging {
    /// Say more: -v the run's milestones and every retry (a 429 included), -vv every request,
    /// grant and wait for the rate limit.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Say only errors (no warnings, no progress).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// The form of log lines on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `drops: warn: …`
    Text,
    /// One JSON object per line: `{"time_ms":…,"level":"warn","target":…,"message":…}`.
    Json,
}

impl Logging {
    /// True with `-q`: progress lines are not printed either.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// The logger for the client.
    pub fn logger(&self) -> Logger {
        let level = match (self.quiet, self.verbose) {
            (true, _) => Level::Error,
            (false, 0) => Level::Warn,
            (false, 1) => Level::Info,
            (false, _) => Level::Debug,
        };
        let printer = Printer {
            format: self.log_format,
            throttle: (self.verbose == 0).then(|| Mutex::new(Vec::new())),
        };
        Logger::new(level, move |record| printer.print(record))
    }
}

/// Per target: when a warning was last printed, and how many were held back since.
type Throttle = Mutex<Vec<(&'static str, Instant, u64)>>;

struct Printer {
    format: LogFormat,
    /// At the default level only.
    throttle: Option<Throttle>,
}

impl Printer {
    fn print(&self, record: &LogRecord<'_>) {
        let mut held_back = 0;
        if let (Some(throttle), Level::Warn) = (&self.throttle, record.level) {
            let mut seen = throttle.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            match seen
                .iter_mut()
                .find(|(target, _, _)| *target == record.target)
            {
                Some((_, last, held)) if now.duration_since(*last) < WARN_EVERY => {
                    *held += 1;
                    return;
                }
                Some((_, last, held)) => {
                    *last = now;
                    held_back = std::mem::take(held);
                }
                None => seen.push((record.target, now, 0)),
            }
        }
        let line = match self.format {
            LogFormat::Text if held_back > 0 => format!(
                "drops: {}: {} ({held_back} more like it since the last one shown)",
                record.level.as_str(),
                record.message
            ),
            LogFormat::Text => format!("drops: {}: {}", record.level.as_str(), record.message),
            LogFormat::Json => {
                let time_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                let mut event = json!({
                    "time_ms": time_ms,
                    "level": record.level.as_str(),
                    "target": record.target,
                    "message": record.message,
                });
                if held_back > 0 {
                    event["held_back"] = json!(held_back);
                }
                event.to_string()
            }
        };
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}
