//! A journal in an SQLite database (bundled SQLite, WAL, synchronous=FULL): crash-safe like
//! the file journal, and shared safely by several processes on one host through claims.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, TransactionBehavior};

use super::shared::{
    claimed_rows, is_dead_here, not_held, now_ms, records_of, same_kind, update_sql, ClaimSettings,
    Dialect, Heartbeat, OpenRow,
};
use crate::fulfill::{Journal, JournalError, JournalRecord};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS td_journal (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    benefit_id TEXT NOT NULL,
    game_id TEXT NOT NULL,
    state TEXT NOT NULL,
    owner TEXT,
    claimed_until INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS td_journal_open ON td_journal (state, claimed_until);
CREATE TABLE IF NOT EXISTS td_eventsub_deliveries (
    message_id TEXT PRIMARY KEY,
    at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS td_eventsub_deliveries_at ON td_eventsub_deliveries (at_ms);";

/// Records an EventSub message id; no row changes when it was recorded before.
const DELIVERED: &str =
    "INSERT INTO td_eventsub_deliveries (message_id, at_ms) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
/// Forgets deliveries older than Twitch delivers a message.
const FORGET_DELIVERIES: &str = "DELETE FROM td_eventsub_deliveries WHERE at_ms < ?1";

/// Takes an entitlement unless another live instance holds it, or it is granted or settled.
const CLAIM: &str = "INSERT INTO td_journal
        (id, user_id, benefit_id, game_id, state, owner, claimed_until)
    VALUES (?1, ?2, ?3, ?4, 'granting', ?5, ?6)
    ON CONFLICT (id) DO UPDATE
        SET state = 'granting', owner = excluded.owner, claimed_until = excluded.claimed_until
        WHERE td_journal.state = 'not_granted'
           OR (td_journal.state = 'granting' AND td_journal.owner = excluded.owner)";

/// The holders of open claims other than this instance.
const HOLDERS: &str = "SELECT DISTINCT owner FROM td_journal
    WHERE state IN ('granting', 'granted') AND owner IS NOT NULL AND owner <> ?1";

/// Ends the claims of a holder that is gone.
const EXPIRE: &str = "UPDATE td_journal SET claimed_until = 0
    WHERE owner = ?1 AND state IN ('granting', 'granted')";

/// Takes over the open rows whose claims expired (and keeps this instance's own).
const TAKE_OVER: &str = "UPDATE td_journal SET owner = ?1, claimed_until = ?2
    WHERE state IN ('granting', 'granted') AND (claimed_until < ?3 OR owner = ?1)
    RETURNING id, user_id, benefit_id, game_id, state";

const RENEW: &str = "UPDATE td_journal SET claimed_until = ?2
    WHERE owner = ?1 AND state IN ('granting', 'granted')";

const RELEASE: &str = "UPDATE td_journal SET claimed_until = 0
    WHERE owner = ?1 AND state IN ('granting', 'granted')";

/// A record's update matches one id; a row no one holds has `claimed_until` 0.
const DIALECT: Dialect = Dialect {
    ids: "id = ?1",
    owner: "?2",
    unclaimed: "0",
    returning: "",
};

/// How long a writer waits for another process's transaction before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A journal in an SQLite file. Rows of settled entitlements are kept (so a stale listing
/// never grants one again); delete a row to let its entitlement be granted anew.
pub struct SqliteJournal {
    path: PathBuf,
    connection: Connection,
    claims: ClaimSettings,
    heartbeat: Option<Heartbeat>,
}

impl std::fmt::Debug for SqliteJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteJournal")
            .field("path", &self.path)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl SqliteJournal {
    /// Opens (creating if needed) the journal at `path`, with claims held 60 s past this
    /// process's last heartbeat.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, JournalError> {
        Self::with_claims(path, ClaimSettings::default())
    }

    /// Opens the journal at `path` with these claim settings.
    pub fn with_claims(
        path: impl Into<PathBuf>,
        claims: ClaimSettings,
    ) -> Result<Self, JournalError> {
        let path = path.into();
        let claims = claims.checked()?;
        let connection = connect(&path)?;
        connection
            .execute_batch(SCHEMA)
            .map_err(|e| error(&path, "cannot create the table in", e))?;
        let beat = connect(&path)?;
        let (owner, ttl) = (claims.owner.clone(), claims.ttl_ms());
        let heartbeat = Heartbeat::start(claims.ttl / 3, move || {
            // A failed renewal is retried at the next beat.
            let _ = beat.execute(RENEW, params![owner, now_ms().saturating_add(ttl)]);
        })?;
        Ok(SqliteJournal {
            path,
            connection,
            claims,
            heartbeat: Some(heartbeat),
        })
    }

    /// Where the journal lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This instance's claim settings.
    pub fn claims(&self) -> &ClaimSettings {
        &self.claims
    }

    /// Runs `work` in one write transaction (taken at once: BEGIN IMMEDIATE, so it waits
    /// for other processes' writers rather than failing part way) and commits it; on an
    /// error nothing of it is written.
    fn immediate<T>(
        &mut self,
        work: impl FnOnce(&rusqlite::Transaction<'_>, &Path) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| error(&self.path, "cannot begin a transaction in", e))?;
        let value = work(&transaction, &self.path)?;
        transaction
            .commit()
            .map_err(|e| error(&self.path, "cannot commit to", e))?;
        Ok(value)
    }
}

fn error(path: &Path, what: &str, e: impl std::fmt::Display) -> JournalError {
    JournalError(format!("{what} {}: {e}", path.display()))
}

fn connect(path: &Path) -> Result<Connection, JournalError> {
    let connection = Connection::open(path).map_err(|e| error(path, "cannot open", e))?;
    connection
        .busy_timeout(BUSY_TIMEOUT)
        .and_then(|_| connection.pragma_update(None, "synchronous", "FULL"))
        .map_err(|e| error(path, "cannot configure", e))?;
    into_wal(&connection, path)?;
    Ok(connection)
}

/// Switches the database to WAL (once; it stays so). The switch needs the database to
/// itself and fails at once, without the busy handler, while another process has it open:
/// processes opening a new journal together each try until one has switched it.
fn into_wal(connection: &Connection, path: &Path) -> Result<(), JournalError> {
    let started = std::time::Instant::now();
    loop {
        let mode: Result<String, _> =
            connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0));
        match mode {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(error(
                    path,
                    "cannot use write-ahead logging in",
                    format!("journal mode stays {mode}"),
                ))
            }
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(error(path, "cannot configure", e)),
        }
    }
}

impl Journal for SqliteJournal {
    fn load(&mut self) -> Result<Vec<JournalRecord>, JournalError> {
        let now = now_ms();
        let until = now.saturating_add(self.claims.ttl_ms());
        let owner = self.claims.owner.clone();
        let rows = self.immediate(|transaction, path| {
            let holders: Vec<String> = transaction
                .prepare(HOLDERS)
                .and_then(|mut statement| {
                    statement
                        .query_map(params![owner], |row| row.get(0))?
                        .collect::<Result<_, _>>()
                })
                .map_err(|e| error(path, "cannot read", e))?;
            for gone in holders.iter().filter(|h| is_dead_here(h)) {
                transaction
                    .execute(EXPIRE, params![gone])
                    .map_err(|e| error(path, "cannot write to", e))?;
            }
            let mut statement = transaction
                .prepare(TAKE_OVER)
                .map_err(|e| error(path, "cannot read", e))?;
            let rows = statement
                .query_map(params![owner, until, now], |row| {
                    Ok(OpenRow {
                        id: row.get(0)?,
                        user_id: row.get(1)?,
                        benefit_id: row.get(2)?,
                        game_id: row.get(3)?,
                        state: row.get(4)?,
                    })
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| error(path, "cannot read", e));
            rows
        })?;
        records_of(&format!("journal {}", self.path.display()), rows)
    }

    fn claim(&mut self, records: &[JournalRecord]) -> Result<Vec<String>, JournalError> {
        self.append_and_claim(&[], records)
    }

    fn append(&mut self, records: &[JournalRecord]) -> Result<(), JournalError> {
        let owner = self.claims.owner.clone();
        self.immediate(|transaction, path| write_answers(transaction, path, records, &owner))
    }

    /// One transaction (one commit, one sync) for both.
    fn append_and_claim(
        &mut self,
        append: &[JournalRecord],
        claim: &[JournalRecord],
    ) -> Result<Vec<String>, JournalError> {
        let rows = claimed_rows(&format!("journal {}", self.path.display()), claim)?;
        let until = now_ms().saturating_add(self.claims.ttl_ms());
        let owner = self.claims.owner.clone();
        self.immediate(|transaction, path| {
            write_answers(transaction, path, append, &owner)?;
            let mut held = Vec::new();
            if rows.is_empty() {
                return Ok(held);
            }
            let mut statement = transaction
                .prepare_cached(CLAIM)
                .map_err(|e| error(path, "cannot claim in", e))?;
            for row in rows {
                let taken = statement
                    .execute(params![
                        row.id,
                        row.user_id,
                        row.benefit_id,
                        row.game_id,
                        owner,
                        until
                    ])
                    .map_err(|e| error(path, "cannot claim in", e))?;
                if taken == 0 {
                    held.push(row.id);
                }
            }
            Ok(held)
        })
    }
}

/// Writes records other than `Granting` (each updates the row this instance holds).
fn write_answers(
    transaction: &rusqlite::Transaction<'_>,
    path: &Path,
    records: &[JournalRecord],
    owner: &str,
) -> Result<(), JournalError> {
    for run in records.chunk_by(same_kind) {
        let sql = update_sql(&run[0], &DIALECT)?;
        let mut statement = transaction
            .prepare_cached(&sql)
            .map_err(|e| error(path, "cannot write to", e))?;
        for record in run {
            let changed = statement
                .execute(params![record.id(), owner])
                .map_err(|e| error(path, "cannot write to", e))?;
            if changed == 0 {
                return Err(not_held(record.id()));
            }
        }
    }
    Ok(())
}

/// EventSub message ids in the journal's database: a redelivery after a restart, or to
/// another process sharing the file, is recognized.
impl twitch_drops_protocol::webhook::DeliveryLog for SqliteJournal {
    fn first_delivery(&mut self, message_id: &str, now_ms: u64) -> Result<bool, JournalError> {
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
        let window = twitch_drops_protocol::eventsub::Deduplicator::WINDOW_MS as i64;
        self.immediate(|transaction, path| {
            transaction
                .prepare_cached(FORGET_DELIVERIES)
                .and_then(|mut s| s.execute(params![now.saturating_sub(window)]))
                .map_err(|e| error(path, "cannot write to", e))?;
            let added = transaction
                .prepare_cached(DELIVERED)
                .and_then(|mut s| s.execute(params![message_id, now]))
                .map_err(|e| error(path, "cannot write to", e))?;
            Ok(added == 1)
        })
    }
}

impl Drop for SqliteJournal {
    /// Stops renewing and lets the next run take over what this one left open at once,
    /// rather than after the ttl.
    fn drop(&mut self) {
        drop(self.heartbeat.take());
        let _ = self.connection.execute(RELEASE, params![self.claims.owner]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granting(id: &str) -> JournalRecord {
        JournalRecord::Granting {
            id: id.into(),
            user_id: "u".into(),
            benefit_id: "b".into(),
            game_id: "g".into(),
        }
    }

    fn settings(owner: &str, ttl_ms: u64) -> ClaimSettings {
        ClaimSettings {
            owner: owner.into(),
            ttl: Duration::from_millis(ttl_ms),
        }
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "twitch-drops-sqlite-{name}-{}-{}",
            std::process::id(),
            now_ms()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join("journal.db")
    }

    #[test]
    fn one_instance_takes_what_another_holds_only_after_it_settles_or_expires() {
        let path = temp("claims");
        let mut a = SqliteJournal::with_claims(&path, settings("a", 60_000)).expect("a opens");
        let mut b = SqliteJournal::with_claims(&path, settings("b", 60_000)).expect("b opens");
        assert_eq!(
            a.claim(&[granting("1"), granting("2")]).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(b.claim(&[granting("2"), granting("3")]).unwrap(), vec!["2"]);
        // B may not record what it does not hold.
        assert!(b
            .append(&[JournalRecord::Granted { id: "2".into() }])
            .is_err());
        a.append(&[
            JournalRecord::Granted { id: "1".into() },
            JournalRecord::NotGranted { id: "2".into() },
        ])
        .unwrap();
        // Not granted: free again. Granted (and later settled): never again.
        assert_eq!(b.claim(&[granting("2")]).unwrap(), Vec::<String>::new());
        assert_eq!(b.claim(&[granting("1")]).unwrap(), vec!["1"]);
        a.append(&[JournalRecord::Settled { id: "1".into() }])
            .unwrap();
        assert_eq!(b.claim(&[granting("1")]).unwrap(), vec!["1"]);
        // B's open claims are B's: A's load takes over none of them while B lives.
        assert!(a.load().unwrap().is_empty());
        drop(b);
        // B's drop released its claims: A takes over 2 and 3 (in doubt).
        let taken = a.load().unwrap();
        let ids: Vec<&str> = taken.iter().map(|r| r.id()).collect();
        assert_eq!(ids.len(), 2, "{taken:?}");
        assert!(ids.contains(&"2") && ids.contains(&"3"), "{taken:?}");
        assert!(taken
            .iter()
            .all(|r| matches!(r, JournalRecord::Granting { .. })));
    }

    #[test]
    fn eventsub_deliveries_are_recorded_once_and_forgotten_past_the_window() {
        use twitch_drops_protocol::webhook::DeliveryLog;
        let path = temp("deliveries");
        let mut a = SqliteJournal::open(&path).expect("a opens");
        let mut b = SqliteJournal::open(&path).expect("b opens");
        let now = 1_700_000_000_000;
        assert!(a.first_delivery("m1", now).unwrap());
        assert!(
            !b.first_delivery("m1", now + 5).unwrap(),
            "known to the other"
        );
        assert!(b.first_delivery("m2", now + 5).unwrap());
        let later = now + twitch_drops_protocol::eventsub::Deduplicator::WINDOW_MS + 1;
        assert!(
            a.first_delivery("m1", later).unwrap(),
            "forgotten past the window"
        );
    }

    #[test]
    fn an_expired_claim_is_taken_over_with_its_state() {
        let path = temp("expiry");
        let mut dead = SqliteJournal::with_claims(&path, settings("dead", 1000)).expect("opens");
        dead.claim(&[granting("x"), granting("y")]).unwrap();
        dead.append(&[JournalRecord::Granted { id: "x".into() }])
            .unwrap();
        // A crash: no release, no more heartbeats.
        drop(dead.heartbeat.take());
        std::mem::forget(dead);
        let mut next = SqliteJournal::with_claims(&path, settings("next", 60_000)).unwrap();
        assert!(next.load().unwrap().is_empty(), "not expired yet");
        std::thread::sleep(Duration::from_millis(1300));
        let mut taken = next.load().unwrap();
        taken.sort_by(|a, b| a.id().cmp(b.id()));
        assert_eq!(
            taken,
            vec![
                granting("x"),
                JournalRecord::Granted { id: "x".into() },
                granting("y")
            ]
        );
        // Taken over in doubt, so claimable (resumed) by its new holder only.
        assert!(next.claim(&[granting("y")]).unwrap().is_empty());
    }

    #[test]
    fn a_live_instance_keeps_its_claims_past_the_ttl() {
        let path = temp("heartbeat");
        let mut live = SqliteJournal::with_claims(&path, settings("live", 900)).unwrap();
        live.claim(&[granting("k")]).unwrap();
        std::thread::sleep(Duration::from_millis(2500));
        let mut other = SqliteJournal::with_claims(&path, settings("other", 900)).unwrap();
        assert!(other.load().unwrap().is_empty(), "renewed by the heartbeat");
        live.append(&[JournalRecord::Granted { id: "k".into() }])
            .unwrap();
    }

    #[test]
    fn many_open_a_new_journal_at_once() {
        let path = temp("together");
        for _ in 0..5 {
            let _ = std::fs::remove_file(&path);
            let opened: Vec<_> = (0..8)
                .map(|i| {
                    let path = path.clone();
                    std::thread::spawn(move || {
                        SqliteJournal::with_claims(&path, settings(&format!("o{i}"), 60_000))
                            .map(|_| ())
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|t| t.join().expect("no panic"))
                .collect();
            assert!(opened.iter().all(Result::is_ok), "{opened:?}");
        }
    }

    #[test]
    fn bad_settings_and_paths_are_journal_errors() {
        assert!(SqliteJournal::with_claims(temp("ttl"), settings("o", 10)).is_err());
        assert!(SqliteJournal::with_claims(temp("owner"), settings(" ", 1000)).is_err());
        let err = SqliteJournal::open("/nonexistent-dir/x/journal.db").unwrap_err();
        assert!(err.0.contains("/nonexistent-dir/x/journal.db"), "{err}");
    }
}
