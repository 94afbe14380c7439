//! A journal in memory: for tests and runs that need no crash safety.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::{Journal, JournalError, JournalRecord, SettledIds};
use crate::hash::{id_map, IdMap};
use crate::shared_str::SharedStr;
use crate::Clock;

/// A journal in memory: exactly-once within a process, nothing across crashes. It keeps
/// the records of entitlements still open, and a settled entitlement only as a hash and a
/// time (sixteen bytes) for [`SETTLED_RETENTION`](super::SETTLED_RETENTION), so it stays small
/// however many pass; each record costs O(1) to append. Its claim refuses a settled id (the
/// engine reports it `HeldElsewhere`): a stale listing grants nothing again.
#[derive(Clone)]
pub struct MemoryJournal {
    /// The open records of each entitlement, numbered in the order they came.
    open: IdMap<Key, Open>,
    next: u64,
    settled: SettledIds,
    /// Stamps settled ids; `None` (WASM without a clock) keeps them as long as the journal.
    clock: Option<Arc<dyn Clock>>,
}

/// An open entitlement's id (shared with the records that name it, not copied). Hashed and
/// compared as its id, which it lends for lookups.
#[derive(Clone, Debug)]
struct Key {
    id: SharedStr,
    /// The id's digest in `settled`, when the claim that opened it computed one (reused
    /// when it settles).
    digest: Option<u64>,
}

impl Borrow<str> for Key {
    fn borrow(&self) -> &str {
        &self.id
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.as_str().hash(state)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.id == other.id
    }
}

impl Eq for Key {}

/// The open records of one entitlement (its id is the map's key), numbered, oldest first.
/// The usual `Granting` then `Granted` takes no allocation.
#[derive(Clone, Debug)]
enum Open {
    One([(u64, Kept); 1]),
    Two([(u64, Kept); 2]),
    Many(Vec<(u64, Kept)>),
}

impl Open {
    fn push(&mut self, record: (u64, Kept)) {
        let placeholder = Open::Many(Vec::new());
        *self = match std::mem::replace(self, placeholder) {
            Open::One([first]) => Open::Two([first, record]),
            Open::Two([first, second]) => Open::Many(vec![first, second, record]),
            Open::Many(mut records) => {
                records.push(record);
                Open::Many(records)
            }
        };
    }

    fn records(&self) -> &[(u64, Kept)] {
        match self {
            Open::One(records) => records,
            Open::Two(records) => records,
            Open::Many(records) => records,
        }
    }
}

/// A record as kept, without its id (its texts shared with the record appended).
#[derive(Clone, Debug)]
enum Kept {
    Granting {
        user_id: SharedStr,
        benefit_id: SharedStr,
        game_id: SharedStr,
    },
    Granted,
}

impl Kept {
    fn record(&self, key: &Key) -> JournalRecord {
        let id = key.id.clone();
        match self {
            Kept::Granting {
                user_id,
                benefit_id,
                game_id,
            } => JournalRecord::Granting {
                id,
                user_id: user_id.clone(),
                benefit_id: benefit_id.clone(),
                game_id: game_id.clone(),
            },
            Kept::Granted => JournalRecord::Granted { id },
        }
    }
}

impl std::fmt::Debug for MemoryJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryJournal")
            .field("open", &self.open.len())
            .field("settled", &self.settled.len())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryJournal {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryJournal {
    /// An empty journal; settled ids are stamped by the system clock (on WASM, never
    /// forgotten while the journal lives: see [`with_clock`](Self::with_clock)).
    pub fn new() -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        let clock: Option<Arc<dyn Clock>> = Some(Arc::new(crate::SystemClock));
        #[cfg(target_arch = "wasm32")]
        let clock: Option<Arc<dyn Clock>> = None;
        MemoryJournal {
            open: id_map(0),
            next: 0,
            settled: SettledIds::new(),
            clock,
        }
    }

    /// An empty journal whose settled ids are stamped by `clock`, and forgotten
    /// [`SETTLED_RETENTION`](super::SETTLED_RETENTION) later.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        MemoryJournal {
            clock: Some(clock),
            ..Self::new()
        }
    }

    fn now_ms(&self) -> u64 {
        self.clock.as_ref().map_or(0, |c| c.now_ms())
    }

    /// The records of entitlements still open (granted or in doubt), in the order they came.
    pub fn records(&self) -> Vec<JournalRecord> {
        let mut numbered: Vec<(u64, &Key, &Kept)> = self
            .open
            .iter()
            .flat_map(|(key, open)| open.records().iter().map(move |(n, kept)| (*n, key, kept)))
            .collect();
        numbered.sort_unstable_by_key(|(n, _, _)| *n);
        numbered
            .into_iter()
            .map(|(_, key, kept)| kept.record(key))
            .collect()
    }

    /// Appends one record; `now` stamps a `Settled` one (read once per call, when needed);
    /// `digest` is the id's in `settled`, if the caller has it.
    fn append_one(&mut self, record: &JournalRecord, now: &mut Option<u64>, digest: Option<u64>) {
        let granting = match record {
            JournalRecord::Granting {
                user_id,
                benefit_id,
                game_id,
                ..
            } => Some((user_id, benefit_id, game_id)),
            JournalRecord::Granted { .. } => None,
            JournalRecord::NotGranted { id } => {
                self.open.remove(id.as_str());
                return;
            }
            JournalRecord::Settled { id } => {
                let opened = self
                    .open
                    .remove_entry(id.as_str())
                    .and_then(|(key, _)| key.digest);
                let digest = match digest.or(opened) {
                    Some(digest) => digest,
                    None => self.settled.digest(id),
                };
                let at = match *now {
                    Some(at) => at,
                    None => *now.insert(self.now_ms()),
                };
                self.settled.insert_digest(digest, at);
                return;
            }
        };
        self.next += 1;
        let kept = match granting {
            Some((user_id, benefit_id, game_id)) => Kept::Granting {
                user_id: user_id.clone(),
                benefit_id: benefit_id.clone(),
                game_id: game_id.clone(),
            },
            None => Kept::Granted,
        };
        match self.open.get_mut(record.id()) {
            Some(open) => open.push((self.next, kept)),
            None => {
                let key = Key {
                    id: record.shared_id().clone(),
                    digest,
                };
                self.open.insert(key, Open::One([(self.next, kept)]));
            }
        }
    }
}

impl Journal for MemoryJournal {
    fn load(&mut self) -> Result<Vec<JournalRecord>, JournalError> {
        if self.clock.is_some() {
            self.settled.expire(self.now_ms());
        }
        Ok(self.records())
    }

    /// Takes every id but those settled within the retention.
    fn claim(&mut self, records: &[JournalRecord]) -> Result<Vec<String>, JournalError> {
        let mut held = Vec::new();
        let mut now = None;
        for record in records {
            let digest = self.settled.digest(record.id());
            if self.settled.contains_digest(digest) {
                held.push(record.id().to_owned());
            } else {
                self.append_one(record, &mut now, Some(digest));
            }
        }
        Ok(held)
    }

    fn append(&mut self, records: &[JournalRecord]) -> Result<(), JournalError> {
        let mut now = None;
        for record in records {
            self.append_one(record, &mut now, None);
        }
        Ok(())
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

    #[test]
    fn keeps_the_open_records_in_order_and_drops_settled_ones() {
        let mut journal = MemoryJournal::new();
        let granted = |id: &str| JournalRecord::Granted { id: id.into() };
        journal
            .append(&[granting("b"), granting("a"), granted("b"), granting("c")])
            .unwrap();
        journal
            .append(&[
                JournalRecord::Settled { id: "b".into() },
                JournalRecord::NotGranted { id: "c".into() },
                granted("a"),
            ])
            .unwrap();
        assert_eq!(journal.load().unwrap(), [granting("a"), granted("a")]);
    }

    #[test]
    fn keeps_any_number_of_records_of_one_id_in_order() {
        let mut journal = MemoryJournal::new();
        let granted = |id: &str| JournalRecord::Granted { id: id.into() };
        let other = JournalRecord::Granting {
            id: "a".into(),
            user_id: "u2".into(),
            benefit_id: "".into(),
            game_id: "g2".into(),
        };
        journal.append(&[granted("a"), granting("b")]).unwrap();
        journal.claim(&[granting("a"), other.clone()]).unwrap();
        journal.append(&[granted("b"), granted("a")]).unwrap();
        assert_eq!(
            journal.load().unwrap(),
            [
                granted("a"),
                granting("b"),
                granting("a"),
                other,
                granted("b"),
                granted("a")
            ]
        );
        journal
            .append(&[JournalRecord::NotGranted { id: "a".into() }])
            .unwrap();
        assert_eq!(journal.load().unwrap(), [granting("b"), granted("b")]);
    }

    #[test]
    fn refuses_to_claim_what_it_settled_until_the_retention_is_over() {
        let clock = Arc::new(crate::ManualClock::new(1_700_000_000_000));
        let mut journal = MemoryJournal::with_clock(clock.clone());
        journal.claim(&[granting("a")]).unwrap();
        journal
            .append(&[JournalRecord::Settled { id: "a".into() }])
            .unwrap();
        assert_eq!(
            journal.claim(&[granting("a"), granting("b")]).unwrap(),
            ["a"]
        );
        assert_eq!(journal.load().unwrap(), [granting("b")], "a not claimed");
        clock.advance(super::super::SETTLED_RETENTION + std::time::Duration::from_secs(1));
        journal.load().unwrap();
        assert!(journal.claim(&[granting("a")]).unwrap().is_empty());
    }
}
