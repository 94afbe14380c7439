//! A journal in memory: for tests and runs that need no crash safety.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Journal, JournalError, JournalRecord, SettledIds};
use crate::Clock;

/// A journal in memory: exactly-once within a process, nothing across crashes. It keeps
/// the records of entitlements still open, and a settled entitlement only as a hash and a
/// time (sixteen bytes) for [`SETTLED_RETENTION`](super::SETTLED_RETENTION), so it stays small
/// however many pass; each record costs O(1) to append. Its claim refuses a settled id (the
/// engine reports it `HeldElsewhere`): a stale listing grants nothing again.
#[derive(Clone)]
pub struct MemoryJournal {
    /// The open records of each entitlement, numbered in the order they came.
    open: HashMap<String, Vec<(u64, JournalRecord)>>,
    next: u64,
    settled: SettledIds,
    /// Stamps settled ids; `None` (WASM without a clock) keeps them as long as the journal.
    clock: Option<Arc<dyn Clock>>,
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
            open: HashMap::new(),
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
        let mut numbered: Vec<&(u64, JournalRecord)> = self.open.values().flatten().collect();
        numbered.sort_unstable_by_key(|(n, _)| *n);
        numbered.into_iter().map(|(_, r)| r.clone()).collect()
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
        let (settled, taken): (Vec<&JournalRecord>, Vec<&JournalRecord>) =
            records.iter().partition(|r| self.settled.contains(r.id()));
        let taken: Vec<JournalRecord> = taken.into_iter().cloned().collect();
        self.append(&taken)?;
        Ok(settled.into_iter().map(|r| r.id().to_owned()).collect())
    }

    fn append(&mut self, records: &[JournalRecord]) -> Result<(), JournalError> {
        for record in records {
            match record {
                JournalRecord::Granting { id, .. } | JournalRecord::Granted { id } => {
                    self.next += 1;
                    let entry = self.open.entry(id.clone()).or_default();
                    entry.push((self.next, record.clone()));
                }
                JournalRecord::NotGranted { id } => {
                    self.open.remove(id);
                }
                JournalRecord::Settled { id } => {
                    self.open.remove(id);
                    let now = self.now_ms();
                    self.settled.insert(id, now);
                }
            }
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
