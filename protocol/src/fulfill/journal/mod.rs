//! The journal: what makes grants exactly-once across crashes.
//!
//! Before granting, the engine records `Granting`; after the grant function answers,
//! `Granted` (or `NotGranted`); once Twitch has the entitlement FULFILLED (or refuses it for
//! good), `Settled`. On restart, [`Recovery::from_records`] tells what an interrupted run
//! left: entitlements granted but not yet marked (marked without granting again) and
//! grants in doubt (the crash came between calling grant and recording its answer).
//!
//! Every journal of this library remembers what it settled for [`SETTLED_RETENTION`], and
//! its claim refuses those ids: a stale listing (Twitch listing a FULFILLED entitlement as
//! CLAIMED again) never grants one twice.
//!
//! The trait is three calls (load, claim, append), so a studio can back it with its own
//! database. Journals shared by several instances (the `twitch-drops` crate's SQLite and
//! PostgreSQL journals) also coordinate them: a claim takes an entitlement for one instance, and the others
//! leave it alone.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::entitlements::{Entitlement, FulfillmentStatus};
use crate::shared_str::SharedStr;

mod memory;
mod settled;

pub use memory::MemoryJournal;
pub use settled::{SettledIds, SETTLED_RETENTION};

/// One journal line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum JournalRecord {
    /// About to call grant for this entitlement.
    Granting {
        id: SharedStr,
        user_id: SharedStr,
        benefit_id: SharedStr,
        game_id: SharedStr,
    },
    /// The grant function answered `Granted`.
    Granted { id: SharedStr },
    /// The grant function answered `RetryLater` or `Failed`: nothing was given.
    NotGranted { id: SharedStr },
    /// Twitch has it FULFILLED, or refused it for good: nothing more to do.
    Settled { id: SharedStr },
}

impl JournalRecord {
    /// The entitlement the record is about.
    pub fn id(&self) -> &str {
        match self {
            JournalRecord::Granting { id, .. }
            | JournalRecord::Granted { id }
            | JournalRecord::NotGranted { id }
            | JournalRecord::Settled { id } => id,
        }
    }

    /// The entitlement the record is about, as the record holds it.
    pub(crate) fn shared_id(&self) -> &SharedStr {
        match self {
            JournalRecord::Granting { id, .. }
            | JournalRecord::Granted { id }
            | JournalRecord::NotGranted { id }
            | JournalRecord::Settled { id } => id,
        }
    }

    /// Checks the record's ids with [`check_id`](crate::check_id), as they were checked
    /// when they came from Twitch: a record that fails was not written by this library.
    pub fn validate(&self) -> Result<(), crate::InvalidId> {
        use crate::check_id;
        if let JournalRecord::Granting {
            user_id,
            benefit_id,
            game_id,
            ..
        } = self
        {
            check_id("user_id", user_id)?;
            check_id("benefit_id", benefit_id)?;
            check_id("game_id", game_id)?;
        }
        check_id("id", self.id())
    }

    /// The record's kind as written (`"granting"`, `"granted"`…), for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            JournalRecord::Granting { .. } => "granting",
            JournalRecord::Granted { .. } => "granted",
            JournalRecord::NotGranted { .. } => "not_granted",
            JournalRecord::Settled { .. } => "settled",
        }
    }

    pub(crate) fn granting(e: &Entitlement) -> Self {
        JournalRecord::Granting {
            id: e.id.clone(),
            user_id: e.user_id.clone(),
            benefit_id: e.benefit_id.clone(),
            game_id: e.game_id.clone(),
        }
    }
}

/// Why the journal could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalError(pub String);

impl std::fmt::Display for JournalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "journal: {}", self.0)
    }
}

impl std::error::Error for JournalError {}

/// Refuses records a journal cannot use (see [`JournalRecord::validate`]), naming the
/// journal (`journal`), the record (`where_` and its kind) and the field; never Twitch. Every
/// journal applies it to what it loads and writes.
pub fn check_records<'a>(
    journal: &str,
    records: impl IntoIterator<Item = (String, &'a JournalRecord)>,
) -> Result<(), JournalError> {
    for (where_, record) in records {
        if let Err(e) = record.validate() {
            return Err(JournalError(format!(
                "{journal}: {where_} (a `{}` record) is refused: {e}; it was not written by \
                 this library: remove it or restore the journal from a backup",
                record.kind()
            )));
        }
    }
    Ok(())
}

/// Durable storage for journal records.
pub trait Journal {
    /// Every record left by earlier runs that still matters, oldest first. A journal shared
    /// by several instances returns only what this instance now holds (the open records of
    /// instances whose claims expired, taken over).
    fn load(&mut self) -> Result<Vec<JournalRecord>, JournalError>;

    /// Records these `Granting` records durably, each taking its entitlement for this
    /// instance, and returns the ids it could not take because another instance holds them
    /// (or has already granted or settled them). The engine grants only what was taken.
    /// A journal should refuse the ids it settled within [`SETTLED_RETENTION`], so that a
    /// stale listing grants nothing again.
    ///
    /// The default appends the records and returns no ids: it takes everything, a settled id
    /// too.
    fn claim(&mut self, records: &[JournalRecord]) -> Result<Vec<String>, JournalError> {
        self.append(records).map(|()| Vec::new())
    }

    /// Appends records; returns only once they are durable.
    fn append(&mut self, records: &[JournalRecord]) -> Result<(), JournalError>;

    /// Appends `append` (the answers of the grants before: `Granted`, `NotGranted`,
    /// `Settled`), then claims `claim` as [`claim`](Self::claim) does, returning the ids it
    /// could not take. The engine asks for both at once so that one durable write per batch
    /// of grants records the answers of one batch and claims the next.
    ///
    /// The default calls `append` then `claim` (two writes); a journal that can do both in
    /// one transaction or one flush should.
    fn append_and_claim(
        &mut self,
        append: &[JournalRecord],
        claim: &[JournalRecord],
    ) -> Result<Vec<String>, JournalError> {
        if !append.is_empty() {
            self.append(append)?;
        }
        if claim.is_empty() {
            return Ok(Vec::new());
        }
        self.claim(claim)
    }
}

/// What an interrupted run left behind, folded from its records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Granted, not yet marked FULFILLED: mark them, never grant again.
    pub granted: Vec<Entitlement>,
    /// Grant was called but its answer was not recorded: re-check, then grant as resumed.
    pub in_doubt: Vec<Entitlement>,
}

impl Recovery {
    /// Folds records (in order) into what is still open.
    pub fn from_records(records: &[JournalRecord]) -> Recovery {
        #[derive(PartialEq)]
        enum State {
            InDoubt,
            Granted,
            Closed,
        }
        let mut order: Vec<&str> = Vec::new();
        let mut open: HashMap<&str, (State, Option<Entitlement>)> = HashMap::new();
        for record in records {
            let id = record.id();
            let entry = open.entry(id).or_insert_with(|| {
                order.push(id);
                (State::Closed, None)
            });
            match record {
                JournalRecord::Granting {
                    id,
                    user_id,
                    benefit_id,
                    game_id,
                } => {
                    entry.0 = State::InDoubt;
                    entry.1 = Some(Entitlement {
                        id: id.clone(),
                        benefit_id: benefit_id.clone(),
                        timestamp: SharedStr::default(),
                        user_id: user_id.clone(),
                        game_id: game_id.clone(),
                        fulfillment_status: FulfillmentStatus::Claimed,
                        last_updated: SharedStr::default(),
                    });
                }
                JournalRecord::Granted { .. } => entry.0 = State::Granted,
                JournalRecord::NotGranted { .. } | JournalRecord::Settled { .. } => {
                    entry.0 = State::Closed
                }
            }
        }
        let mut recovery = Recovery::default();
        for id in order {
            if let Some((state, Some(entitlement))) = open.remove(id) {
                match state {
                    State::InDoubt => recovery.in_doubt.push(entitlement),
                    State::Granted => recovery.granted.push(entitlement),
                    State::Closed => {}
                }
            }
        }
        recovery
    }

    /// True when nothing is open.
    pub fn is_empty(&self) -> bool {
        self.granted.is_empty() && self.in_doubt.is_empty()
    }

    /// The records that keep what is still open (used to compact a journal).
    pub fn records(&self) -> Vec<JournalRecord> {
        let mut records: Vec<JournalRecord> = Vec::new();
        for e in &self.granted {
            records.push(JournalRecord::granting(e));
            records.push(JournalRecord::Granted { id: e.id.clone() });
        }
        records.extend(self.in_doubt.iter().map(JournalRecord::granting));
        records
    }
}
