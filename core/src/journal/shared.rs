//! What the database journals share: how long a claim lasts, who holds it, the states a
//! row goes through, and the heartbeat that keeps a live instance's claims from expiring.
//!
//! A row per entitlement: `granting` (claimed, grant called or about to be), `granted`,
//! `not_granted` (free to claim again), `settled` (FULFILLED or refused for good: never
//! claimed again). A claim belongs to one instance (`owner`) until `claimed_until`; the
//! heartbeat pushes that forward while the instance lives, so only a dead (or cut-off)
//! instance's claims expire, and the next run to load the journal takes them over.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::fulfill::{check_records, JournalError, JournalRecord};
use crate::SharedStr;

/// The row states, as stored.
pub(super) const GRANTING: &str = "granting";
pub(super) const GRANTED: &str = "granted";
pub(super) const NOT_GRANTED: &str = "not_granted";
pub(super) const SETTLED: &str = "settled";

/// How an instance holds its claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimSettings {
    /// This instance's name in the journal (unique per process by default). Two live
    /// instances must never share a name: the journal would take them for one.
    pub owner: String,
    /// How long a claim outlives its holder's last heartbeat. Another instance takes over
    /// the claims of one that died only after this; a live instance renews them every
    /// third of it.
    pub ttl: Duration,
}

impl Default for ClaimSettings {
    fn default() -> Self {
        ClaimSettings {
            owner: default_owner(),
            ttl: Duration::from_secs(60),
        }
    }
}

impl ClaimSettings {
    /// Checks the settings before a journal is opened with them.
    pub(super) fn checked(self) -> Result<Self, JournalError> {
        if self.owner.trim().is_empty() {
            return Err(JournalError("claim owner must not be empty".into()));
        }
        if self.ttl < Duration::from_millis(100) {
            return Err(JournalError(format!(
                "claim ttl must be at least 100 ms, got {} ms",
                self.ttl.as_millis()
            )));
        }
        Ok(self)
    }

    pub(super) fn ttl_ms(&self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX)
    }
}

/// `host:pid:nanos:pidns:boot` — distinct for every process, readable in the table. The pid
/// namespace and boot id tell whether another owner's pid can be checked from here.
fn default_owner() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}:{}:{nanos:08x}:{}",
        host_name(),
        std::process::id(),
        process_space()
    )
}

/// The machine's name: Linux's `/proc`, else `HOSTNAME` (Unix shells) or `COMPUTERNAME`
/// (Windows).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "host".into())
}

/// `pidns:boot`: this process's pid namespace (its inode) and the kernel's boot id, or
/// `-:-` where they cannot be read. Two processes see each other's pids only when both match.
fn process_space() -> String {
    let namespace = std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .and_then(|link| {
            let link = link.to_string_lossy().into_owned();
            let inode = link.strip_prefix("pid:[")?.strip_suffix(']')?.to_string();
            inode.bytes().all(|b| b.is_ascii_digit()).then_some(inode)
        })
        .unwrap_or_else(|| "-".into());
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().replace('-', ""))
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| "-".into());
    format!("{namespace}:{boot}")
}

/// True when `owner` is a default owner name of a process that has ended and that this
/// process can see: same host name, same pid namespace, same boot, and no `/proc/<pid>`.
/// Its claims can then be taken over at once instead of after their ttl, so a crashed
/// `drops` restarted on the same machine resumes without waiting. Anything else (another
/// host or container, a custom owner name, no `/proc`, a pid alive or reused) is left to
/// the ttl. Linux only, by what it reads (`/proc`): elsewhere (Windows, macOS) nothing can be
/// seen this way and every dead owner's claims are taken over after their ttl.
pub(super) fn is_dead_here(owner: &str) -> bool {
    let parts: Vec<&str> = owner.rsplitn(5, ':').collect();
    let [boot, namespace, nanos, pid, host] = parts[..] else {
        return false;
    };
    let (Ok(pid), true) = (pid.parse::<u32>(), is_nanos(nanos)) else {
        return false;
    };
    let here = process_space();
    !here.contains('-')
        && here == format!("{namespace}:{boot}")
        && host == host_name()
        && pid != std::process::id()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Milliseconds since the Unix epoch.
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// One taken-over row, as [`crate::fulfill::Journal::load`] returns it.
pub(super) struct OpenRow {
    pub id: String,
    pub user_id: String,
    pub benefit_id: String,
    pub game_id: String,
    pub state: String,
}

/// The records that say what each open row is: in doubt (`Granting`), or granted and
/// waiting to be marked (`Granting`, `Granted`). A row whose ids fail
/// [`JournalRecord::validate`] refuses the load, named by `journal` and the row's position.
pub(super) fn records_of(
    journal: &str,
    rows: Vec<OpenRow>,
) -> Result<Vec<JournalRecord>, JournalError> {
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let granted = row.state == GRANTED;
        let id = SharedStr::from(row.id);
        records.push(JournalRecord::Granting {
            id: id.clone(),
            user_id: row.user_id.into(),
            benefit_id: row.benefit_id.into(),
            game_id: row.game_id.into(),
        });
        if granted {
            records.push(JournalRecord::Granted { id });
        }
    }
    check_records(
        journal,
        records
            .iter()
            .enumerate()
            .map(|(n, r)| (format!("open row {}", n + 1), r)),
    )?;
    Ok(records)
}

/// The `Granting` records of a claim, each id once, in order; anything else is a misuse, and
/// a record that fails [`JournalRecord::validate`] is refused, named by `journal`.
pub(super) fn claimed_rows(
    journal: &str,
    records: &[JournalRecord],
) -> Result<Vec<OpenRow>, JournalError> {
    check_records(
        journal,
        records.iter().map(|r| ("a record to claim".to_string(), r)),
    )?;
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::with_capacity(records.len());
    for record in records {
        match record {
            JournalRecord::Granting {
                id,
                user_id,
                benefit_id,
                game_id,
            } => {
                if seen.insert(id.clone()) {
                    rows.push(OpenRow {
                        id: id.to_string(),
                        user_id: user_id.to_string(),
                        benefit_id: benefit_id.to_string(),
                        game_id: game_id.to_string(),
                        state: GRANTING.into(),
                    });
                }
            }
            other => {
                return Err(JournalError(format!(
                    "a claim takes only granting records, got {:?} for {}",
                    other,
                    other.id()
                )))
            }
        }
    }
    Ok(rows)
}

/// How each database writes the pieces of a record's update.
pub(super) struct Dialect {
    /// Matches the row(s) of the ids (the first parameter).
    pub ids: &'static str,
    /// This instance's owner name (the second parameter).
    pub owner: &'static str,
    /// The `claimed_until` of a row no one holds.
    pub unclaimed: &'static str,
    /// What the statement returns (for counting the rows it changed).
    pub returning: &'static str,
}

/// The update that records `record` (its kind; the ids are parameters): the one place that
/// says which state a record moves a row to, from which states, and whether it ends the
/// claim. Only the holder's rows change; a row in another state is left alone, so the caller
/// sees it unchanged and answers [`not_held`].
pub(super) fn update_sql(
    record: &JournalRecord,
    dialect: &Dialect,
) -> Result<String, JournalError> {
    let (to, from, release) = match record {
        JournalRecord::Granting { id, .. } => {
            return Err(JournalError(format!(
                "entitlement {id}: granting records go through claim, not append"
            )))
        }
        JournalRecord::Granted { .. } => (GRANTED, format!("'{GRANTING}'"), false),
        JournalRecord::NotGranted { .. } => (NOT_GRANTED, format!("'{GRANTING}'"), true),
        JournalRecord::Settled { .. } => (SETTLED, format!("'{GRANTING}', '{GRANTED}'"), true),
    };
    let release = if release {
        format!(", owner = NULL, claimed_until = {}", dialect.unclaimed)
    } else {
        String::new()
    };
    Ok(format!(
        "UPDATE td_journal SET state = '{to}'{release} WHERE {} AND owner = {} AND state IN \
         ({from}){}",
        dialect.ids, dialect.owner, dialect.returning
    ))
}

/// Records of one kind share an update statement: appends go run by run.
pub(super) fn same_kind(a: &JournalRecord, b: &JournalRecord) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// The error when a record is about an entitlement this instance does not hold.
pub(super) fn not_held(id: &str) -> JournalError {
    JournalError(format!(
        "entitlement {id}: this instance does not hold its claim (it expired and another \
         instance took it over, or it was never claimed)"
    ))
}

/// The default owner's last part: 8 hex digits.
fn is_nanos(part: &str) -> bool {
    part.len() == 8 && part.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A thread that renews this instance's claims until dropped.
pub(super) struct Heartbeat {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// Calls `renew` every `interval` until dropped. A failed renewal is tried again at the
    /// next beat; if the database stays away past the ttl, the claims expire, and this
    /// instance's next write about them fails (`not_held`) rather than double-recording.
    pub(super) fn start(
        interval: Duration,
        mut renew: impl FnMut() + Send + 'static,
    ) -> Result<Self, JournalError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("twitch-drops-claims".into())
            .spawn(move || loop {
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => renew(),
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            })
            .map_err(|e| JournalError(format!("cannot start the claim heartbeat: {e}")))?;
        Ok(Heartbeat {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Heartbeat")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_default_owners_of_ended_processes_here_are_dead() {
        let me = ClaimSettings::default().owner;
        assert!(!is_dead_here(&me), "this process is alive: {me}");
        let (host, space) = (host_name(), process_space());
        // A child that has exited and been reaped.
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("true runs");
        let pid = child.id();
        child.wait().expect("reaped");
        assert!(is_dead_here(&format!("{host}:{pid}:0000abcd:{space}")));
        let other_space = format!("1:{}", "0".repeat(32));
        for (owner, why) in [
            (format!("elsewhere:{pid}:0000abcd:{space}"), "another host"),
            (
                format!("{host}:{pid}:0000abcd:{other_space}"),
                "another pid namespace (a container with the same host name)",
            ),
            (format!("{host}:{pid}:0000abcd"), "an old-style name"),
            (format!("{host}:{pid}:custom:{space}"), "not a default name"),
            ("worker-1".to_string(), "a custom name"),
            (format!("{host}:1:0000abcd:{space}"), "pid 1 lives"),
        ] {
            assert!(!is_dead_here(&owner), "{why}: {owner}");
        }
    }
}
