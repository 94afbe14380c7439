//! `--journal`: where `drops fulfill` records its grants.
//!
//! - `PATH` or `sqlite:PATH`: an SQLite database (the default kind): crash-safe, and shared
//!   safely by several `drops` processes on one host.
//! - `postgres://…` (or `postgresql://…`): a PostgreSQL database, shared by instances on
//!   many hosts; each entitlement is claimed by one of them.
//! - `file:PATH`: a file of JSON lines: crash-safe, one process at a time.
//! - none given: SQLite in the user's state folder, one per client id and game
//!   ([`default_path`]); `--no-journal`: in memory (nothing survives a crash).

use std::path::PathBuf;
use std::time::Duration;

use twitch_drops::webhook::DeliveryLog;
use twitch_drops::{
    ClaimSettings, Clock, FileDeliveryLog, FileJournal, Journal, MemoryJournal, PostgresJournal,
    SqliteJournal,
};

/// Where `drops serve` remembers EventSub deliveries: the journal's own database (SQLite,
/// PostgreSQL), or for a file journal the file `<journal>.deliveries` beside it, so a
/// redelivery after a restart is known.
pub fn open_deliveries(spec: &JournalSpec) -> Result<Box<dyn DeliveryLog + Send>, String> {
    Ok(match spec {
        JournalSpec::Sqlite(path) => {
            Box::new(SqliteJournal::open(path).map_err(|e| e.to_string())?)
        }
        JournalSpec::Postgres(url) => {
            Box::new(PostgresJournal::connect(url).map_err(|e| e.to_string())?)
        }
        JournalSpec::File(path) => {
            let mut beside = path.clone().into_os_string();
            beside.push(".deliveries");
            let now = twitch_drops::SystemClock.now_ms();
            Box::new(FileDeliveryLog::open(beside, now).map_err(|e| e.to_string())?)
        }
    })
}

/// A parsed `--journal` value.
#[derive(Clone)]
pub enum JournalSpec {
    Sqlite(PathBuf),
    Postgres(String),
    File(PathBuf),
}

impl std::fmt::Debug for JournalSpec {
    /// A PostgreSQL URL may hold a password: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JournalSpec::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            JournalSpec::Postgres(_) => f.write_str("postgres://…"),
            JournalSpec::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

impl std::str::FromStr for JournalSpec {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        let path = |rest: &str, kind: &str| {
            if rest.trim().is_empty() {
                Err(format!("`{kind}:` names no path; write {kind}:PATH"))
            } else {
                Ok(PathBuf::from(rest))
            }
        };
        let lower = value.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Ok(JournalSpec::Postgres(value.to_string()))
        } else if lower.starts_with("postgres") || value.contains("://") {
            // Not shown: a mistyped URL may hold a password.
            Err(
                "not a journal this command knows (a URL other than postgres://…?); give a \
                 PATH, sqlite:PATH, file:PATH or postgres://…"
                    .into(),
            )
        } else if let Some(rest) = value.strip_prefix("sqlite:") {
            path(rest, "sqlite").map(JournalSpec::Sqlite)
        } else if let Some(rest) = value.strip_prefix("file:") {
            path(rest, "file").map(JournalSpec::File)
        } else if value.trim().is_empty() {
            Err("the journal is empty; give a PATH, sqlite:PATH, file:PATH or postgres://…".into())
        } else {
            Ok(JournalSpec::Sqlite(PathBuf::from(value)))
        }
    }
}

/// `spec`, or else the default journal ([`default_path`]), said on stderr unless `quiet`.
pub fn given_or_default(
    spec: Option<JournalSpec>,
    client_id: &str,
    game: &str,
    quiet: bool,
) -> Result<JournalSpec, String> {
    if let Some(spec) = spec {
        return Ok(spec);
    }
    let path = default_path(client_id, game)?;
    if !quiet {
        eprintln!("drops: journal {}", path.display());
    }
    Ok(JournalSpec::Sqlite(path))
}

/// The journal `drops fulfill` and `drops serve` keep when given none:
/// `$XDG_STATE_HOME/twitch-drops/` (else `~/.local/state/twitch-drops/`, created 0700)
/// `journal-<client id>-<game>-<hash>.sqlite`, the name reduced to a safe file name and the
/// hash (of the exact pair) keeping pairs that reduce alike apart.
pub fn default_path(client_id: &str, game: &str) -> Result<PathBuf, String> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let state = var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".local").join("state")))
        .ok_or(
            "no place for the default journal: set XDG_STATE_HOME or HOME, pass --journal, \
             or --no-journal (not crash-safe)",
        )?;
    let dir = state.join("twitch-drops");
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    // FNV-1a: stable across builds, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in client_id.bytes().chain([0]).chain(game.bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let name =
        twitch_drops::safe_file_name(&format!("journal-{client_id}-{game}-{hash:016x}"), "sqlite")
            .ok_or("no file name for the default journal")?;
    Ok(dir.join(name))
}

/// Opens the journal; claims (shared journals only) last `claim_ttl` past this process's
/// last heartbeat.
pub fn open(
    spec: Option<&JournalSpec>,
    claim_ttl: Duration,
) -> Result<Box<dyn Journal + Send>, String> {
    let claims = ClaimSettings {
        ttl: claim_ttl,
        ..ClaimSettings::default()
    };
    Ok(match spec {
        // `--no-journal`: nothing survives a crash.
        None => Box::new(MemoryJournal::new()),
        Some(JournalSpec::File(path)) => Box::new(FileJournal::new(path)),
        Some(JournalSpec::Sqlite(path)) => {
            if holds_json_lines(path) {
                return Err(format!(
                    "{} holds a file journal (JSON lines, the kind `--journal PATH` meant \
                     before SQLite became the default): pass file:{}",
                    path.display(),
                    path.display()
                ));
            }
            Box::new(SqliteJournal::with_claims(path, claims).map_err(|e| e.to_string())?)
        }
        Some(JournalSpec::Postgres(url)) => {
            Box::new(PostgresJournal::with_claims(url, claims).map_err(|e| e.to_string())?)
        }
    })
}

/// True when `path` is a file whose first byte opens a JSON object: a file journal.
fn holds_json_lines(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut first = [0u8; 1];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut first))
        .is_ok()
        && first[0] == b'{'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_apart_and_urls_are_never_shown() {
        let parse = |s: &str| s.parse::<JournalSpec>();
        assert!(
            matches!(parse("drops.db"), Ok(JournalSpec::Sqlite(p)) if p.as_path() == std::path::Path::new("drops.db"))
        );
        assert!(matches!(
            parse("sqlite:/x/y.db"),
            Ok(JournalSpec::Sqlite(_))
        ));
        assert!(matches!(parse("file:j.jsonl"), Ok(JournalSpec::File(_))));
        let pg = parse("postgres://drops:hunter2@db/drops").unwrap();
        assert!(matches!(pg, JournalSpec::Postgres(_)));
        assert!(!format!("{pg:?}").contains("hunter2"));
        assert!(parse("sqlite:").unwrap_err().contains("sqlite:PATH"));
        assert!(matches!(
            parse("POSTGRESQL://db/x"),
            Ok(JournalSpec::Postgres(_))
        ));
        for typo in [
            "postgres:/u:hunter2@db/x",
            "postgress://u:hunter2@db",
            "mysql://u:hunter2@db",
        ] {
            let err = parse(typo).unwrap_err();
            assert!(!err.contains("hunter2"), "{err}");
        }
        assert!(parse("").is_err());
    }

    #[test]
    fn a_file_journal_given_as_a_bare_path_is_named_not_opened_as_sqlite() {
        let path = std::env::temp_dir().join(format!("drops-old-journal-{}", std::process::id()));
        std::fs::write(&path, "{\"op\":\"settled\",\"id\":\"a\"}\n").expect("write");
        let spec: JournalSpec = path.to_str().expect("utf-8").parse().expect("a path");
        let err = open(Some(&spec), Duration::from_secs(60))
            .err()
            .expect("refused");
        assert!(err.contains("file:"), "{err}");
        let _ = std::fs::remove_file(&path);
    }
}
