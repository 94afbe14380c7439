//! A journal in memory: for tests and runs that need no crash safety.

use super::{Journal, JournalError, JournalRecord};

/// A journal in memory: exactly-once within a process, nothing across crashes. It keeps
/// only the records of entitlements still open, so it stays small however many pass.
#[derive(Clone, Debug, Default)]
pub struct MemoryJournal {
    open: Vec<JournalRecord>,
}

impl MemoryJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// The records of entitlements still open (granted or in doubt).
    pub fn records(&self) -> &[JournalRecord] {
        &self.open
    }
}

impl Journal for MemoryJournal {
    fn load(&mut self) -> Result<Vec<JournalRecord>, JournalError> {
        Ok(self.open.clone())
    }

    fn append(&mut self, records: &[JournalRecord]) -> Result<(), JournalError> {
        for record in records {
            match record {
                JournalRecord::Granting { .. } | JournalRecord::Granted { .. } => {
                    self.open.push(record.clone())
                }
                JournalRecord::NotGranted { id } | JournalRecord::Settled { id } => {
                    self.open.retain(|r| r.id() != id)
                }
            }
        }
        Ok(())
    }
}
