//! A journal in PostgreSQL: the coordination point of several instances (processes, hosts)
//! fulfilling the same game. A claim is an upsert on the entitlement's id, so exactly one
//! instance takes each entitlement; times are the server's (`now()`), so instances' clocks
//! need not agree.

use std::time::Duration;

use postgres::{Client, NoTls};

use super::shared::{
    claimed_rows, is_dead_here, not_held, records_of, same_kind, update_sql, ClaimSettings,
    Dialect, Heartbeat, OpenRow,
};
use crate::fulfill::{Journal, JournalError, JournalRecord};

/// Serializes the schema's creation between instances starting together.
const SCHEMA_LOCK: i64 = 0x7464_6a6f_7572; // "tdjour"

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS td_journal (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    benefit_id TEXT NOT NULL,
    game_id TEXT NOT NULL,
    state TEXT NOT NULL,
    owner TEXT,
    claimed_until TIMESTAMPTZ NOT NULL DEFAULT '-infinity'
);
CREATE INDEX IF NOT EXISTS td_journal_open ON td_journal (state, claimed_until);
CREATE TABLE IF NOT EXISTS td_eventsub_deliveries (
    message_id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS td_eventsub_deliveries_at ON td_eventsub_deliveries (at_ms)";

/// Records an EventSub message id; returns it when it was not recorded before.
const DELIVERED: &str = "INSERT INTO td_eventsub_deliveries (message_id, at_ms) VALUES ($1, $2)
    ON CONFLICT DO NOTHING RETURNING message_id";
/// Forgets deliveries older than Twitch delivers a message.
const FORGET_DELIVERIES: &str = "DELETE FROM td_eventsub_deliveries WHERE at_ms < $1";

/// One statement per batch: takes each entitlement unless another live instance holds it,
/// or it is granted or settled. Concurrent claims of one id serialize on its row.
const CLAIM: &str = "INSERT INTO td_journal
        (id, user_id, benefit_id, game_id, state, owner, claimed_until)
    SELECT c.id, c.user_id, c.benefit_id, c.game_id, 'granting', $5,
           now() + $6::float8 * interval '1 millisecond'
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
         AS c(id, user_id, benefit_id, game_id)
    ON CONFLICT (id) DO UPDATE
        SET state = 'granting', owner = EXCLUDED.owner, claimed_until = EXCLUDED.claimed_until
        WHERE td_journal.state = 'not_granted'
           OR (td_journal.state = 'granting' AND td_journal.owner = EXCLUDED.owner)
    RETURNING id";

/// The holders of open claims other than this instance.
const HOLDERS: &str = "SELECT DISTINCT owner FROM td_journal
    WHERE state IN ('granting', 'granted') AND owner IS NOT NULL AND owner <> $1";

// Lock order. Every statement that locks several rows takes them in id order, or skips the
// rows another transaction holds (`FOR UPDATE SKIP LOCKED`: a bulk takeover, expiry, renewal
// or release that skips a row loses nothing — the row stays for the next one), so instances
// claiming, recording and taking over overlapping ids do not deadlock. A deadlock the server
// still reports is retried (see `retrying`).

/// Ends the claims of holders that are gone.
const EXPIRE: &str = "UPDATE td_journal SET claimed_until = '-infinity'
    WHERE id IN (SELECT id FROM td_journal
                 WHERE owner = ANY($1) AND state IN ('granting', 'granted')
                 ORDER BY id FOR UPDATE SKIP LOCKED)";

/// Takes over the open rows whose claims expired (and keeps this instance's own).
const TAKE_OVER: &str = "UPDATE td_journal
    SET owner = $1, claimed_until = now() + $2::float8 * interval '1 millisecond'
    WHERE id IN (SELECT id FROM td_journal
                 WHERE state IN ('granting', 'granted') AND (claimed_until < now() OR owner = $1)
                 ORDER BY id FOR UPDATE SKIP LOCKED)
    RETURNING id, user_id, benefit_id, game_id, state";

/// A record's update matches a run's ids and returns those it changed.
const DIALECT: Dialect = Dialect {
    ids: "id = ANY($1)",
    owner: "$2",
    unclaimed: "'-infinity'",
    returning: " RETURNING id",
};

/// Locks a batch's rows in id order before it is recorded (several statements follow).
const LOCK: &str = "SELECT id FROM td_journal WHERE id = ANY($1) ORDER BY id FOR UPDATE";

/// Skips rows this instance's own writes hold locked (they are being written now, and are
/// renewed at the next beat), so the heartbeat never waits on the main connection and the
/// two can never deadlock.
const RENEW: &str = "UPDATE td_journal
    SET claimed_until = now() + $2::float8 * interval '1 millisecond'
    WHERE id IN (SELECT id FROM td_journal
                 WHERE owner = $1 AND state IN ('granting', 'granted')
                 FOR UPDATE SKIP LOCKED)";

const RELEASE: &str = "UPDATE td_journal SET claimed_until = '-infinity'
    WHERE id IN (SELECT id FROM td_journal
                 WHERE owner = $1 AND state IN ('granting', 'granted')
                 ORDER BY id FOR UPDATE SKIP LOCKED)";

/// A journal in a PostgreSQL database (table `td_journal`, created if missing; pick a schema
/// with the URL's `options=-csearch_path%3D...`). Plain TCP or a Unix socket: no TLS, so
/// reach the server over loopback or a private network. The URL (and its password) never
/// appears in errors or `Debug`.
pub struct PostgresJournal {
    client: Client,
    claims: ClaimSettings,
    heartbeat: Option<Heartbeat>,
}

impl std::fmt::Debug for PostgresJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresJournal")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// The error with its causes ("error connecting to server: Connection refused"); the
/// connection URL is never part of them.
fn error(what: &str, e: postgres::Error) -> JournalError {
    let mut message = format!("postgres: {what}: {e}");
    let mut cause = std::error::Error::source(&e);
    while let Some(inner) = cause {
        message.push_str(&format!(": {inner}"));
        cause = inner.source();
    }
    JournalError(message)
}

impl PostgresJournal {
    /// Connects with claims held 60 s past this process's last heartbeat.
    pub fn connect(url: &str) -> Result<Self, JournalError> {
        Self::with_claims(url, ClaimSettings::default())
    }

    /// Connects with these claim settings.
    pub fn with_claims(url: &str, claims: ClaimSettings) -> Result<Self, JournalError> {
        let claims = claims.checked()?;
        let mut config: postgres::Config = url.parse().map_err(|_| {
            JournalError(
                "postgres: the connection URL is not valid (not shown: it may hold a password)"
                    .into(),
            )
        })?;
        // Never hang on a server that does not answer: connecting gives up after 10 s, and
        // keepalives find a dead connection (unless the URL says otherwise).
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.keepalives(true);
        let mut client = config
            .connect(NoTls)
            .map_err(|e| error("cannot connect", e))?;
        let mut transaction = client.transaction().map_err(|e| error("cannot begin", e))?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .and_then(|_| transaction.batch_execute(SCHEMA))
            .map_err(|e| error("cannot create the table", e))?;
        transaction
            .commit()
            .map_err(|e| error("cannot create the table", e))?;
        let mut beat = Some(
            config
                .connect(NoTls)
                .map_err(|e| error("cannot connect", e))?,
        );
        let (owner, ttl) = (claims.owner.clone(), ttl_ms(claims.ttl));
        let heartbeat = Heartbeat::start(claims.ttl / 3, move || {
            // A failed renewal drops the connection; the next beat connects again (after a
            // server restart or a dropped connection) and renews.
            if beat.is_none() {
                beat = config.connect(NoTls).ok();
            }
            if let Some(client) = beat.as_mut() {
                if client.execute(RENEW, &[&owner, &ttl]).is_err() {
                    beat = None;
                }
            }
        })?;
        Ok(PostgresJournal {
            client,
            claims,
            heartbeat: Some(heartbeat),
        })
    }

    /// This instance's claim settings.
    pub fn claims(&self) -> &ClaimSettings {
        &self.claims
    }
}

fn ttl_ms(ttl: Duration) -> f64 {
    ttl.as_secs_f64() * 1000.0
}

/// Why an attempt failed: the database (transient or not), or the journal's own rules.
enum Failed {
    Db(&'static str, postgres::Error),
    Journal(JournalError),
}

/// Runs `attempt` again (up to five times) when PostgreSQL aborted it as a deadlock victim
/// or a serialization failure: instances claiming and recording overlapping ids take row
/// locks in orders the server may find circular, and it then aborts one of them, with
/// nothing written, for its client to retry.
fn retrying<T>(
    client: &mut Client,
    mut attempt: impl FnMut(&mut Client) -> Result<T, Failed>,
) -> Result<T, JournalError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt(client) {
            Ok(value) => return Ok(value),
            Err(Failed::Db(_, e)) if tries < 5 && is_transient(&e) => continue,
            Err(Failed::Db(what, e)) => return Err(error(what, e)),
            Err(Failed::Journal(e)) => return Err(e),
        }
    }
}

fn is_transient(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.code().is_some_and(|code| {
        *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

fn db(what: &'static str) -> impl Fn(postgres::Error) -> Failed {
    move |e| Failed::Db(what, e)
}

impl Journal for PostgresJournal {
    fn load(&mut self) -> Result<Vec<JournalRecord>, JournalError> {
        let (owner, ttl) = (self.claims.owner.clone(), ttl_ms(self.claims.ttl));
        let rows = retrying(&mut self.client, |client| {
            let gone: Vec<String> = client
                .query(HOLDERS, &[&owner])
                .map_err(db("cannot read the journal"))?
                .iter()
                .filter_map(|row| row.try_get::<_, String>(0).ok())
                .filter(|holder| is_dead_here(holder))
                .collect();
            if !gone.is_empty() {
                client
                    .execute(EXPIRE, &[&gone])
                    .map_err(db("cannot expire the claims of ended processes"))?;
            }
            client
                .query(TAKE_OVER, &[&owner, &ttl])
                .map_err(db("cannot take over expired claims"))?
                .iter()
                .map(|row| {
                    Ok(OpenRow {
                        id: row.try_get(0)?,
                        user_id: row.try_get(1)?,
                        benefit_id: row.try_get(2)?,
                        game_id: row.try_get(3)?,
                        state: row.try_get(4)?,
                    })
                })
                .collect::<Result<Vec<_>, postgres::Error>>()
                .map_err(db("cannot read the journal"))
        })?;
        records_of("the PostgreSQL journal", rows)
    }

    fn claim(&mut self, records: &[JournalRecord]) -> Result<Vec<String>, JournalError> {
        self.append_and_claim(&[], records)
    }

    /// One statement per run of records of a kind (a batch's answers, its settlements),
    /// all in one transaction.
    fn append(&mut self, records: &[JournalRecord]) -> Result<(), JournalError> {
        self.append_and_claim(records, &[]).map(|_| ())
    }

    /// One transaction for both: the answers, then the claim.
    fn append_and_claim(
        &mut self,
        append: &[JournalRecord],
        claim: &[JournalRecord],
    ) -> Result<Vec<String>, JournalError> {
        let owner = self.claims.owner.clone();
        let answers = Answers::of(append)?;
        let mut rows = claimed_rows("the PostgreSQL journal", claim)?;
        // Every instance takes ids in the same order.
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        let column = |f: fn(&OpenRow) -> &String| -> Vec<&str> {
            rows.iter().map(|r| f(r).as_str()).collect()
        };
        let (ids, users, benefits, games) = (
            column(|r| &r.id),
            column(|r| &r.user_id),
            column(|r| &r.benefit_id),
            column(|r| &r.game_id),
        );
        let ttl = ttl_ms(self.claims.ttl);
        let taken: std::collections::HashSet<String> = retrying(&mut self.client, |client| {
            // Dropped without commit on any failure: nothing of it is written.
            let mut transaction = client.transaction().map_err(db("cannot begin"))?;
            answers.write(&mut transaction, &owner)?;
            let taken = if ids.is_empty() {
                Default::default()
            } else {
                transaction
                    .query(CLAIM, &[&ids, &users, &benefits, &games, &owner, &ttl])
                    .map_err(db("cannot claim"))?
                    .iter()
                    .map(|row| row.try_get::<_, String>(0))
                    .collect::<Result<_, _>>()
                    .map_err(db("cannot claim"))?
            };
            transaction.commit().map_err(db("cannot commit"))?;
            Ok(taken)
        })?;
        Ok(rows
            .into_iter()
            .filter(|r| !taken.contains(&r.id))
            .map(|r| r.id)
            .collect())
    }
}

/// Records other than `Granting`, as statements: one per run of records of a kind.
struct Answers<'a> {
    all: Vec<&'a str>,
    runs: Vec<(String, Vec<&'a str>)>,
}

impl<'a> Answers<'a> {
    fn of(records: &'a [JournalRecord]) -> Result<Answers<'a>, JournalError> {
        let mut runs = Vec::new();
        for run in records.chunk_by(same_kind) {
            let sql = update_sql(&run[0], &DIALECT)?;
            let mut ids: Vec<&str> = run.iter().map(|r| r.id()).collect();
            ids.sort_unstable();
            runs.push((sql, ids));
        }
        let all = records.iter().map(JournalRecord::id).collect();
        Ok(Answers { all, runs })
    }

    /// Each updates the row this instance holds (locked first, in id order).
    fn write(
        &self,
        transaction: &mut postgres::Transaction<'_>,
        owner: &str,
    ) -> Result<(), Failed> {
        if self.all.is_empty() {
            return Ok(());
        }
        transaction
            .query(LOCK, &[&self.all])
            .map_err(db("cannot write"))?;
        for (sql, ids) in &self.runs {
            let changed: std::collections::HashSet<String> = transaction
                .query(sql.as_str(), &[ids, &owner])
                .map_err(db("cannot write"))?
                .iter()
                .map(|row| row.try_get::<_, String>(0))
                .collect::<Result<_, _>>()
                .map_err(db("cannot write"))?;
            if let Some(id) = ids.iter().find(|id| !changed.contains(**id)) {
                return Err(Failed::Journal(not_held(id)));
            }
        }
        Ok(())
    }
}

/// EventSub message ids in the journal's database: a redelivery to any instance sharing it,
/// or after a restart, is recognized.
impl twitch_drops_protocol::webhook::DeliveryLog for PostgresJournal {
    fn first_delivery(&mut self, message_id: &str, now_ms: u64) -> Result<bool, JournalError> {
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
        let window = twitch_drops_protocol::eventsub::Deduplicator::WINDOW_MS as i64;
        let oldest = now.saturating_sub(window);
        retrying(&mut self.client, |client| {
            // Two statements: one statement's insert would not see its own delete.
            let mut transaction = client.transaction().map_err(db("cannot begin"))?;
            transaction
                .execute(FORGET_DELIVERIES, &[&oldest])
                .map_err(db("cannot record a delivery"))?;
            let added = transaction
                .query(DELIVERED, &[&message_id, &now])
                .map(|rows| !rows.is_empty())
                .map_err(db("cannot record a delivery"))?;
            transaction.commit().map_err(db("cannot commit"))?;
            Ok(added)
        })
    }
}

impl Drop for PostgresJournal {
    /// Stops renewing and lets the next run take over what this one left open at once,
    /// rather than after the ttl.
    fn drop(&mut self) {
        drop(self.heartbeat.take());
        let _ = self.client.execute(RELEASE, &[&self.claims.owner]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_name_the_cause_and_never_the_url() {
        let err = PostgresJournal::connect("postgres://drops:hunter2@127.0.0.1:1/drops")
            .expect_err("nothing listens on port 1");
        assert!(err.0.contains("cannot connect"), "{err}");
        assert!(
            !err.0.contains("hunter2") && !err.0.contains("drops@"),
            "{err}"
        );
        let err =
            PostgresJournal::connect("postgres://drops:hunter2@[bad/drops").expect_err("not a URL");
        assert!(
            err.0.contains("not valid") && !err.0.contains("hunter2"),
            "{err}"
        );
        let claims = ClaimSettings {
            ttl: Duration::from_millis(1),
            ..ClaimSettings::default()
        };
        let err = PostgresJournal::with_claims("postgres://127.0.0.1:1/x", claims).unwrap_err();
        assert!(err.0.contains("ttl"), "{err}");
    }
}
