//! What the library tells about what it does: one typed note per decision (a request
//! answered, a retry and why, a wait for the rate limit, a token fetched, a viewer
//! quarantined…), and the one place each note becomes a `tracing` event, a line for the
//! client's own logger (C, JavaScript and C# hosts hand one in) and a count in the client's
//! [`Metrics`].
//!
//! Notes carry no secret: a request is named by its method and path (never its query, its
//! headers or its body), an error by its kind and status. Server text is never formatted
//! into a note.
//!
//! Code deep inside an operation (the exchange's retry rules, an update's re-reads) notes
//! through [`note`], which reaches the observer of the session whose operation is running on
//! this thread ([`Observer::scope`], entered by the session's wrapper around each step):
//! per client, no global state.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::http::Method;
use crate::transport::TransportErrorKind;

/// How much a note matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Something failed for good.
    Error = 1,
    /// A human should notice: retries, rate-limit waits, a viewer quarantined.
    Warn = 2,
    /// The run's milestones: tokens, recovery, passes over the list.
    Info = 3,
    /// Every request and its answer.
    Debug = 4,
}

impl Level {
    /// `"error"`, `"warn"`, `"info"`, `"debug"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    /// The level of a number as C and JavaScript pass it (1 error … 4 debug).
    pub fn from_number(n: u32) -> Option<Level> {
        Some(match n {
            1 => Level::Error,
            2 => Level::Warn,
            3 => Level::Info,
            4 => Level::Debug,
            _ => return None,
        })
    }
}

/// One line for a logger: its level, what it is about (`twitch_drops::http`,
/// `twitch_drops::retry`, `twitch_drops::rate_limit`, `twitch_drops::token`,
/// `twitch_drops::fulfill`) and the message.
#[derive(Clone, Copy, Debug)]
pub struct LogRecord<'a> {
    pub level: Level,
    pub target: &'static str,
    pub message: &'a str,
}

/// A client's own logger: called on the thread where the library decided, with every note
/// at or above its level. Must not panic (a panic is caught and the line dropped).
#[derive(Clone)]
pub struct Logger {
    level: Level,
    log: Arc<dyn Fn(&LogRecord<'_>) + Send + Sync>,
}

impl Logger {
    /// Hands `log` every note at `level` or above.
    pub fn new(level: Level, log: impl Fn(&LogRecord<'_>) + Send + Sync + 'static) -> Logger {
        Logger {
            level,
            log: Arc::new(log),
        }
    }

    /// The lowest level it hears.
    pub fn level(&self) -> Level {
        self.level
    }
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

/// Two loggers are equal when they are the same function at the same level.
impl PartialEq for Logger {
    fn eq(&self, other: &Logger) -> bool {
        self.level == other.level && Arc::ptr_eq(&self.log, &other.log)
    }
}

impl Eq for Logger {}

/// Why a request is sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryReason {
    /// Twitch answered this 5xx.
    Status(u16),
    /// No whole answer came.
    Transport(TransportErrorKind),
    /// The answer could not be read.
    Unreadable,
    /// A 429: the rate limit's bucket was empty.
    RateLimited,
    /// A 401: the token is renewed and the request sent again.
    TokenRejected,
}

impl RetryReason {
    fn key(self) -> String {
        match self {
            RetryReason::Status(status) => status.to_string(),
            RetryReason::Transport(kind) => format!("transport_{}", kind.as_str()),
            RetryReason::Unreadable => "unreadable".into(),
            RetryReason::RateLimited => "429".into(),
            RetryReason::TokenRejected => "401".into(),
        }
    }
}

impl fmt::Display for RetryReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryReason::Status(status) => write!(f, "Twitch answered {status}"),
            RetryReason::Transport(kind) => write!(f, "{}", kind.describe()),
            RetryReason::Unreadable => f.write_str("the answer could not be read"),
            RetryReason::RateLimited => f.write_str("rate limited (429)"),
            RetryReason::TokenRejected => f.write_str("the token was refused (401)"),
        }
    }
}

/// One decision of the library.
#[derive(Clone, Debug)]
pub(crate) enum Note<'a> {
    /// A request came back: its status, or no whole answer; how long it took; the bucket.
    Answered {
        method: Method,
        path: &'a str,
        status: Option<u16>,
        ms: u64,
        remaining: Option<(u64, u64)>,
    },
    /// The request is sent again after `delay`.
    Retry {
        method: Method,
        path: &'a str,
        reason: RetryReason,
        delay: Duration,
        attempt: u32,
    },
    /// A request held back until the rate limit's bucket has a point again.
    Paced { delay: Duration },
    /// An access token was fetched (`renewal`: one was refused or expired before).
    TokenFetched { renewal: bool },
    /// A PATCH whose answer was lost is checked by reading the ids back.
    UpdateReread { ids: usize },
    /// A run found work an interrupted run left: granted to mark, grants in doubt.
    Recovered { granted: usize, in_doubt: usize },
    /// A pass over the CLAIMED list starts.
    PassStarted { pass: u32 },
    /// A viewer's updates kept failing: their other entitlements are skipped this run.
    Quarantined { user_id: &'a str },
    /// A grant's outcome.
    Granted {
        outcome: &'static str,
        resumed: bool,
    },
    /// The run was asked to stop gracefully.
    Interrupted,
}

impl Note<'_> {
    fn level(&self) -> Level {
        match self {
            Note::Answered { .. } | Note::Paced { .. } | Note::Granted { .. } => Level::Debug,
            Note::TokenFetched { .. } | Note::Recovered { .. } | Note::PassStarted { .. } => {
                Level::Info
            }
            Note::Interrupted => Level::Info,
            Note::Retry { .. } | Note::UpdateReread { .. } | Note::Quarantined { .. } => {
                Level::Warn
            }
        }
    }

    fn target(&self) -> &'static str {
        match self {
            Note::Answered { .. } => "twitch_drops::http",
            Note::Retry { .. } => "twitch_drops::retry",
            Note::Paced { .. } => "twitch_drops::rate_limit",
            Note::TokenFetched { .. } => "twitch_drops::token",
            Note::UpdateReread { .. }
            | Note::Recovered { .. }
            | Note::PassStarted { .. }
            | Note::Quarantined { .. }
            | Note::Granted { .. }
            | Note::Interrupted => "twitch_drops::fulfill",
        }
    }
}

impl fmt::Display for Note<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Answered {
                method,
                path,
                status,
                ms,
                remaining,
            } => {
                match status {
                    Some(status) => write!(f, "{} {path}: {status} in {ms} ms", method.as_str())?,
                    None => write!(f, "{} {path}: no answer after {ms} ms", method.as_str())?,
                }
                if let Some((remaining, limit)) = remaining {
                    write!(f, " (rate limit {remaining}/{limit} left)")?;
                }
                Ok(())
            }
            Note::Retry {
                method,
                path,
                reason,
                delay,
                attempt,
            } => write!(
                f,
                "{} {path}: {reason}; retry {attempt} in {} ms",
                method.as_str(),
                delay.as_millis()
            ),
            Note::Paced { delay } => write!(
                f,
                "rate limit: a request waits {} ms for the bucket",
                delay.as_millis()
            ),
            Note::TokenFetched { renewal: false } => f.write_str("access token fetched"),
            Note::TokenFetched { renewal: true } => f.write_str("access token renewed"),
            Note::UpdateReread { ids } => write!(
                f,
                "an update's answer was lost: reading its {ids} ids back before sending again"
            ),
            Note::Recovered { granted, in_doubt } => write!(
                f,
                "journal: {granted} granted entitlements to mark, {in_doubt} grants in doubt \
                 (granted again as resumed)"
            ),
            Note::PassStarted { pass } => write!(f, "pass {pass} over the CLAIMED list"),
            Note::Quarantined { user_id } => write!(
                f,
                "viewer {user_id}: updates keep failing; their other entitlements wait for \
                 the next run"
            ),
            Note::Granted { outcome, resumed } => write!(
                f,
                "grant: {outcome}{}",
                if *resumed { " (resumed)" } else { "" }
            ),
            Note::Interrupted => {
                f.write_str("stopping: no new grants; the running ones finish and are marked")
            }
        }
    }
}

/// Counters a studio can scrape or read: [`Metrics::snapshot`].
#[derive(Debug, Default)]
pub struct Metrics {
    /// "METHOD path" → status (0: no whole answer) → count.
    requests: Mutex<BTreeMap<String, BTreeMap<u16, u64>>>,
    /// Reason → count.
    retries: Mutex<BTreeMap<String, u64>>,
    rate_limited: AtomicU64,
    rate_limit_waits: AtomicU64,
    rate_limit_wait_ms: AtomicU64,
    token_fetches: AtomicU64,
    update_rereads: AtomicU64,
    granted: AtomicU64,
    retry_later: AtomicU64,
    grant_failed: AtomicU64,
    resumed_grants: AtomicU64,
    journal_recoveries: AtomicU64,
    quarantined_users: AtomicU64,
}

/// The counters at one moment (serialized as JSON for C, JavaScript and C#).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MetricsSnapshot {
    /// Requests by route ("GET /helix/entitlements/drops") and status ("0": no whole answer).
    pub requests: BTreeMap<String, BTreeMap<u16, u64>>,
    /// Retries by reason: a status ("503"), "429", "401", "transport_connect",
    /// "transport_interrupted", "unreadable".
    pub retries: BTreeMap<String, u64>,
    /// Answers 429 (rate limited).
    pub rate_limited: u64,
    /// Times a request waited for the rate limit: held back by pacing, or after a 429.
    pub rate_limit_waits: u64,
    /// Time requests were held back for the rate limit: pacing and 429 waits (ms).
    pub rate_limit_wait_ms: u64,
    pub token_fetches: u64,
    /// PATCHes whose answer was lost, checked by reading their ids back.
    pub update_rereads: u64,
    /// Grant outcomes.
    pub granted: u64,
    pub retry_later: u64,
    pub grant_failed: u64,
    /// Grants called again after a crash left them in doubt.
    pub resumed_grants: u64,
    /// Entitlements found open in the journal at the start of a run.
    pub journal_recoveries: u64,
    pub quarantined_users: u64,
}

impl MetricsSnapshot {
    /// Every retry, whatever its reason.
    pub fn total_retries(&self) -> u64 {
        self.retries.values().sum()
    }

    /// Every request sent.
    pub fn total_requests(&self) -> u64 {
        self.requests.values().flat_map(|by| by.values()).sum()
    }
}

impl Metrics {
    /// The counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            requests: lock(&self.requests).clone(),
            retries: lock(&self.retries).clone(),
            rate_limited: n(&self.rate_limited),
            rate_limit_waits: n(&self.rate_limit_waits),
            rate_limit_wait_ms: n(&self.rate_limit_wait_ms),
            token_fetches: n(&self.token_fetches),
            update_rereads: n(&self.update_rereads),
            granted: n(&self.granted),
            retry_later: n(&self.retry_later),
            grant_failed: n(&self.grant_failed),
            resumed_grants: n(&self.resumed_grants),
            journal_recoveries: n(&self.journal_recoveries),
            quarantined_users: n(&self.quarantined_users),
        }
    }

    fn count(&self, note: &Note<'_>) {
        let add = |c: &AtomicU64, by: u64| {
            c.fetch_add(by, Ordering::Relaxed);
        };
        match note {
            Note::Answered {
                method,
                path,
                status,
                ..
            } => {
                let route = format!("{} {path}", method.as_str());
                *lock(&self.requests)
                    .entry(route)
                    .or_default()
                    .entry(status.unwrap_or(0))
                    .or_default() += 1;
                if *status == Some(429) {
                    add(&self.rate_limited, 1);
                }
            }
            Note::Retry { reason, delay, .. } => {
                *lock(&self.retries).entry(reason.key()).or_default() += 1;
                if *reason == RetryReason::RateLimited {
                    add(&self.rate_limit_waits, 1);
                    add(&self.rate_limit_wait_ms, delay.as_millis() as u64);
                }
            }
            Note::Paced { delay } => {
                add(&self.rate_limit_waits, 1);
                add(&self.rate_limit_wait_ms, delay.as_millis() as u64);
            }
            Note::TokenFetched { .. } => add(&self.token_fetches, 1),
            Note::UpdateReread { .. } => add(&self.update_rereads, 1),
            Note::Recovered { granted, in_doubt } => {
                add(&self.journal_recoveries, (granted + in_doubt) as u64)
            }
            Note::Quarantined { .. } => add(&self.quarantined_users, 1),
            Note::Granted { outcome, resumed } => {
                match *outcome {
                    "granted" => add(&self.granted, 1),
                    "retry_later" => add(&self.retry_later, 1),
                    _ => add(&self.grant_failed, 1),
                }
                if *resumed {
                    add(&self.resumed_grants, 1);
                }
            }
            Note::PassStarted { .. } | Note::Interrupted => {}
        }
    }
}

/// A session's observer: its metrics and its logger; every note also becomes a `tracing`
/// event (see the crate's documentation for turning them on).
#[derive(Debug, Default)]
pub struct Observer {
    metrics: Metrics,
    logger: Option<Logger>,
    /// Some server answered this session once: from then on a failed connection is taken
    /// as passing, and retried; before, as a wrong URL or a server that is not running.
    reached: std::sync::atomic::AtomicBool,
}

thread_local! {
    /// The observer of the operation running on this thread, if any.
    static CURRENT: RefCell<Option<Arc<Observer>>> = const { RefCell::new(None) };
}

impl Observer {
    /// An observer with `logger` (or none).
    pub fn new(logger: Option<Logger>) -> Observer {
        Observer {
            metrics: Metrics::default(),
            logger,
            reached: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A server answered (any status).
    pub(crate) fn mark_reached(&self) {
        self.reached.store(true, Ordering::Relaxed);
    }

    /// The counters so far.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Counts `note`, and hands it to `tracing` and to the logger at their levels.
    pub(crate) fn note(&self, note: &Note<'_>) {
        self.metrics.count(note);
        emit_tracing(note);
        if let Some(logger) = &self.logger {
            let level = note.level();
            if level <= logger.level {
                let message = note.to_string();
                let record = LogRecord {
                    level,
                    target: note.target(),
                    message: &message,
                };
                // A logger that panics loses its line, never the run.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    (logger.log)(&record)
                }));
            }
        }
    }

    /// Runs `body` with this observer as the one [`note`] reaches on this thread.
    pub(crate) fn scope<T>(self: &Arc<Self>, body: impl FnOnce() -> T) -> T {
        let previous = CURRENT.with(|c| c.replace(Some(Arc::clone(self))));
        struct Restore(Option<Arc<Observer>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0.take();
                CURRENT.with(|c| *c.borrow_mut() = previous);
            }
        }
        let _restore = Restore(previous);
        body()
    }
}

/// False while the session whose operation runs on this thread has never had an answer
/// from any server (true outside a session: nothing is known).
pub(crate) fn reached() -> bool {
    CURRENT.with(|c| {
        c.borrow()
            .as_ref()
            .is_none_or(|observer| observer.reached.load(Ordering::Relaxed))
    })
}

/// Notes `note` to the observer of the operation running on this thread (see
/// [`Observer::scope`]); outside one, to `tracing` only.
pub(crate) fn note(note: &Note<'_>) {
    let current = CURRENT.with(|c| c.borrow().clone());
    match current {
        Some(observer) => observer.note(note),
        None => emit_tracing(note),
    }
}

fn emit_tracing(note: &Note<'_>) {
    // `tracing`'s targets and levels are static: one arm per level, the target a field.
    let target = note.target();
    match note.level() {
        Level::Error => tracing::error!(target: "twitch_drops", about = target, "{note}"),
        Level::Warn => tracing::warn!(target: "twitch_drops", about = target, "{note}"),
        Level::Info => tracing::info!(target: "twitch_drops", about = target, "{note}"),
        Level::Debug => tracing::debug!(target: "twitch_drops", about = target, "{note}"),
    }
}

fn lock<V>(mutex: &Mutex<V>) -> std::sync::MutexGuard<'_, V> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The path of `url` (no scheme, host, query or fragment): how a note names a request.
pub(crate) fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = rest.find('/').map_or("/", |at| &rest[at..]);
    path.split(['?', '#']).next().unwrap_or("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_named_by_its_path_alone() {
        assert_eq!(
            path_of("https://api.twitch.tv/helix/entitlements/drops?after=x&user_id=1"),
            "/helix/entitlements/drops"
        );
        assert_eq!(
            path_of("http://127.0.0.1:8080/oauth2/token?client_secret=s#f"),
            "/oauth2/token"
        );
        assert_eq!(path_of("http://host"), "/");
    }

    #[test]
    fn notes_reach_the_logger_at_its_level_and_are_counted() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&lines);
        let observer = Arc::new(Observer::new(Some(Logger::new(Level::Warn, move |r| {
            seen.lock()
                .unwrap()
                .push(format!("{} {} {}", r.level.as_str(), r.target, r.message))
        }))));
        observer.scope(|| {
            note(&Note::Answered {
                method: Method::Get,
                path: "/helix/entitlements/drops",
                status: Some(503),
                ms: 12,
                remaining: Some((799, 800)),
            });
            note(&Note::Retry {
                method: Method::Get,
                path: "/helix/entitlements/drops",
                reason: RetryReason::Status(503),
                delay: Duration::from_millis(250),
                attempt: 1,
            });
        });
        // Outside the scope: not this observer's.
        note(&Note::Paced {
            delay: Duration::from_millis(5),
        });
        assert_eq!(
            *lines.lock().unwrap(),
            [
                "warn twitch_drops::retry GET /helix/entitlements/drops: Twitch answered 503; \
              retry 1 in 250 ms"
            ]
        );
        let m = observer.metrics().snapshot();
        assert_eq!(m.requests["GET /helix/entitlements/drops"][&503], 1);
        assert_eq!(m.retries["503"], 1);
        assert_eq!((m.total_retries(), m.rate_limit_wait_ms), (1, 0));
    }
}
