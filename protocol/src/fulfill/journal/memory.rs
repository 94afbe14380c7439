//! A journal in memory: for tests and runs that need no crash safety.

use std::collections::HashMap;

use super::{Journal, JournalError, JournalRecord};

/// A journal in memory: exactly-once within a process, nothing across crashes. It keeps
/// only the records of entitlements still open, so it stays small however many pass, and
/// each record costs O(1) to append (a settled entitlement is dropped by its id).
#[derive(Clone, Debug, Default)]
pub struct MemoryJournal {
    /// The open records of each entitlement, numbered in the order they came.
    open: HashMap<String, Vec<(u64, JournalRecord)>>,
    next: u64,
}

impl MemoryJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
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
        Ok(self.records())
    }

    fn append(&mut self, records: &[JournalRecord]) -> Result<(), JournalError> {
        for record in records {
            match record {
                JournalRecord::Granting { id, .. } | JournalRecord::Granted { id } => {
                    self.next += 1;
                    let entry = self.open.entry(id.clone()).or_default();
                    entry.push((self.next, record.clone()));
                }
                JournalRecord::NotGranted { id } | JournalRecord::Settled { id } => {
                    self.open.remove(id);
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
}
