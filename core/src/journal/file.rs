//! A journal in a file of JSON lines: crash-safe, no dependencies, one instance at a time.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::fulfill::{
    check_records, Journal, JournalError, JournalRecord, Recovery, SettledIds, SETTLED_RETENTION,
};
use crate::Clock;

/// An append-only file of JSON lines, fsync'd on every append. A torn last line (a crash
/// mid-write) is ignored; a bad line elsewhere is an error. Loading compacts the file to
/// the records still open and the `settled` lines of the last
/// [`SETTLED_RETENTION`] (written to a temporary file, fsync'd, then renamed over).
///
/// A `settled` line carries when it was written (`"at"`, ms since the Unix epoch; a line
/// written before this field existed counts from the load that first reads it). Claims refuse
/// those ids (the engine reports them `HeldElsewhere`), so a stale listing, Twitch listing a
/// FULFILLED entitlement as CLAIMED again, grants nothing twice. In memory a settled id costs
/// sixteen bytes; remove its line to let it be granted anew.
pub struct FileJournal {
    path: PathBuf,
    file: Option<File>,
    clock: Arc<dyn Clock>,
    /// The ids settled within the retention; read on first need.
    settled: Option<SettledIds>,
}

impl std::fmt::Debug for FileJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileJournal")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The system's time, on every target (`SystemClock` is not built for WASM, where a file
/// journal has no files anyway). It never sleeps: a journal only stamps.
struct WallClock;

impl Clock for WallClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    fn sleep(&self, _: std::time::Duration) {}
}

/// The time a `settled` line carries, beside the record's own fields.
#[derive(Deserialize)]
struct Stamp {
    at: Option<u64>,
}

/// What a journal file holds: its records in order, and when each settled id was settled
/// (`None`: a line written before lines carried the time).
struct Contents {
    records: Vec<JournalRecord>,
    settled_at: HashMap<String, Option<u64>>,
    /// The file has bytes: even without a record (a torn line alone) it is rewritten on
    /// load, or the next append would be glued to the torn line.
    non_empty: bool,
}

impl FileJournal {
    /// A journal at `path` (created on first use); settled lines are stamped by the system
    /// clock.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::with_clock(path, Arc::new(WallClock))
    }

    /// A journal at `path` whose settled lines are stamped, and expired, by `clock`.
    pub fn with_clock(path: impl Into<PathBuf>, clock: Arc<dyn Clock>) -> Self {
        FileJournal {
            path: path.into(),
            file: None,
            clock,
            settled: None,
        }
    }

    /// Where the journal lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, what: &str, e: impl std::fmt::Display) -> JournalError {
        JournalError(format!("{what} {}: {e}", self.path.display()))
    }

    fn read(&self) -> Result<Contents, JournalError> {
        let mut contents = Contents {
            records: Vec::new(),
            settled_at: HashMap::new(),
            non_empty: false,
        };
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(contents),
            Err(e) => return Err(self.error("cannot open", e)),
        };
        // Bytes, not text: a line torn inside a multi-byte character is not UTF-8.
        let lines = read_lines(BufReader::new(file), MAX_LINE_BYTES).map_err(|e| match e {
            LineError::Io(e) => self.error("cannot read", e),
            LineError::TooLong { line } => self.error(
                &format!(
                    "line {line} is longer than {MAX_LINE_BYTES} bytes (no record this library \
                     writes is); remove it or restore the journal from a backup:"
                ),
                "refused",
            ),
        })?;
        contents.non_empty = !lines.is_empty();
        let last = lines.len().saturating_sub(1);
        for (number, line) in lines.iter().enumerate() {
            if line.trim_ascii().is_empty() {
                continue;
            }
            match serde_json::from_slice::<JournalRecord>(line) {
                Ok(record) => {
                    check_records(
                        &format!("journal {}", self.path.display()),
                        [(format!("line {}", number + 1), &record)],
                    )?;
                    if let JournalRecord::Settled { id } = &record {
                        let at = serde_json::from_slice::<Stamp>(line)
                            .ok()
                            .and_then(|s| s.at);
                        let known = contents.settled_at.entry(id.to_string()).or_insert(at);
                        *known = (*known).max(at);
                    }
                    contents.records.push(record)
                }
                // A crash while appending leaves at most the last line torn.
                Err(_) if number == last => break,
                Err(e) => return Err(self.error(&format!("bad line {} in", number + 1), e)),
            }
        }
        Ok(contents)
    }

    /// The settled ids of the file, read once.
    fn settled(&mut self) -> Result<&mut SettledIds, JournalError> {
        if self.settled.is_none() {
            let contents = self.read()?;
            let now = self.clock.now_ms();
            let mut settled = SettledIds::new();
            for (id, at) in &contents.settled_at {
                settled.insert(id, at.unwrap_or(now));
            }
            settled.expire(now);
            self.settled = Some(settled);
        }
        Ok(self.settled.get_or_insert_with(SettledIds::new))
    }

    fn rewrite(&self, bytes: &[u8]) -> Result<(), JournalError> {
        let temporary = self.path.with_extension("compacting");
        let mut file = File::create(&temporary).map_err(|e| self.error("cannot create", e))?;
        file.write_all(bytes)
            .and_then(|_| file.sync_all())
            .map_err(|e| self.error("cannot write", e))?;
        replace_durably(&temporary, &self.path).map_err(|e| self.error("cannot replace", e))
    }
}

/// Renames `temporary` over `path` so that the rename itself is on disk when this returns.
/// POSIX: rename, then sync the folder (the rename lives in the folder's entries).
#[cfg(not(windows))]
pub(super) fn replace_durably(temporary: &Path, path: &Path) -> std::io::Result<()> {
    std::fs::rename(temporary, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Some file systems cannot sync a folder; the rename is still made.
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// Renames `temporary` over `path` so that the rename itself is on disk when this returns.
/// Windows: a folder cannot be opened to sync it; `MoveFileExW` with
/// `MOVEFILE_WRITE_THROUGH` returns only once the move is flushed. Paths are passed as UTF-16
/// (a journal path given as UTF-8 names the file by those characters).
#[cfg(windows)]
pub(super) fn replace_durably(temporary: &Path, path: &Path) -> std::io::Result<()> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Storage::FileSystem::{
        MoveFileExW, MOVEFILE_REPLACE_EXISTING, MOVEFILE_WRITE_THROUGH,
    };
    let wide = |p: &Path| -> Vec<u16> { p.as_os_str().encode_wide().chain(Some(0)).collect() };
    let (from, to) = (wide(temporary), wide(path));
    // SAFETY: both are NUL-terminated UTF-16 strings that outlive the call.
    let moved = unsafe {
        MoveFileExW(
            from.as_ptr(),
            to.as_ptr(),
            MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH,
        )
    };
    if moved == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Longest line read (a record this library writes is under 2 KiB: its ids are bounded).
pub(super) const MAX_LINE_BYTES: usize = 64 * 1024;

pub(super) enum LineError {
    Io(std::io::Error),
    /// 1-based line number.
    TooLong {
        line: usize,
    },
}

/// Splits at `\n` without ever holding a line longer than `max` bytes in memory.
pub(super) fn read_lines(mut reader: impl BufRead, max: usize) -> Result<Vec<Vec<u8>>, LineError> {
    let mut lines = Vec::new();
    let mut line = Vec::new();
    loop {
        let chunk = reader.fill_buf().map_err(LineError::Io)?;
        if chunk.is_empty() {
            break;
        }
        let (taken, ended) = match chunk.iter().position(|b| *b == b'\n') {
            Some(at) => (at, true),
            None => (chunk.len(), false),
        };
        if line.len() + taken > max {
            return Err(LineError::TooLong {
                line: lines.len() + 1,
            });
        }
        line.extend_from_slice(&chunk[..taken]);
        reader.consume(taken + usize::from(ended));
        if ended {
            lines.push(std::mem::take(&mut line));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    Ok(lines)
}

/// JSON lines; a `settled` line gets `"at": at_ms` after the record's fields.
fn encode<'a>(records: impl IntoIterator<Item = &'a JournalRecord>, at_ms: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    for record in records {
        encode_line(&mut bytes, record, at_ms);
    }
    bytes
}

fn encode_line(bytes: &mut Vec<u8>, record: &JournalRecord, at_ms: u64) {
    // Serializing these plain records cannot fail; each is one JSON object.
    if let Ok(mut line) = serde_json::to_vec(record) {
        if matches!(record, JournalRecord::Settled { .. }) && line.last() == Some(&b'}') {
            line.pop();
            line.extend_from_slice(format!(",\"at\":{at_ms}}}").as_bytes());
        }
        bytes.extend_from_slice(&line);
        bytes.push(b'\n');
    }
}

impl Journal for FileJournal {
    fn load(&mut self) -> Result<Vec<JournalRecord>, JournalError> {
        let contents = self.read()?;
        let open = Recovery::from_records(&contents.records).records();
        let now = self.clock.now_ms();
        let oldest = now.saturating_sub(SETTLED_RETENTION.as_millis() as u64);
        let still_open: std::collections::HashSet<&str> =
            open.iter().map(JournalRecord::id).collect();
        let mut settled = SettledIds::new();
        let mut bytes = Vec::new();
        for (id, at) in &contents.settled_at {
            let at = at.unwrap_or(now);
            if at >= oldest && !still_open.contains(id.as_str()) {
                settled.insert(id, at);
                let record = JournalRecord::Settled { id: id.into() };
                encode_line(&mut bytes, &record, at);
            }
        }
        bytes.extend_from_slice(&encode(&open, now));
        if contents.non_empty {
            self.rewrite(&bytes)?;
        }
        self.file = None;
        self.settled = Some(settled);
        Ok(open)
    }

    /// Takes every id but those settled within [`SETTLED_RETENTION`].
    fn claim(&mut self, records: &[JournalRecord]) -> Result<Vec<String>, JournalError> {
        let settled = self.settled()?;
        let (held, taken): (Vec<&JournalRecord>, Vec<&JournalRecord>) =
            records.iter().partition(|r| settled.contains(r.id()));
        let taken: Vec<JournalRecord> = taken.into_iter().cloned().collect();
        self.append(&taken)?;
        Ok(held.into_iter().map(|r| r.id().to_owned()).collect())
    }

    /// One write and one flush for both: the answers, then the ids taken.
    fn append_and_claim(
        &mut self,
        append: &[JournalRecord],
        claim: &[JournalRecord],
    ) -> Result<Vec<String>, JournalError> {
        let settled = self.settled()?;
        let (held, taken): (Vec<&JournalRecord>, Vec<&JournalRecord>) =
            claim.iter().partition(|r| settled.contains(r.id()));
        let held: Vec<String> = held.into_iter().map(|r| r.id().to_owned()).collect();
        let records: Vec<JournalRecord> = append.iter().chain(taken).cloned().collect();
        if !records.is_empty() {
            self.append(&records)?;
        }
        Ok(held)
    }

    fn append(&mut self, records: &[JournalRecord]) -> Result<(), JournalError> {
        check_records(
            &format!("journal {}", self.path.display()),
            records
                .iter()
                .map(|r| ("a record to append".to_string(), r)),
        )?;
        if self.file.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| self.error("cannot open", e))?;
            self.file = Some(file);
        }
        let now = self.clock.now_ms();
        let bytes = encode(records, now);
        let path = self.path.display().to_string();
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| JournalError(path.clone()))?;
        file.write_all(&bytes)
            .and_then(|_| file.sync_data())
            .map_err(|e| JournalError(format!("cannot append to {path}: {e}")))?;
        if let Some(settled) = self.settled.as_mut() {
            for record in records {
                if let JournalRecord::Settled { id } = record {
                    settled.insert(id, now);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    const DAY_MS: u64 = 24 * 60 * 60 * 1000;

    fn granting(id: &str) -> JournalRecord {
        JournalRecord::Granting {
            id: id.into(),
            user_id: "u".into(),
            benefit_id: "b".into(),
            game_id: "g".into(),
        }
    }

    fn settled(id: &str) -> JournalRecord {
        JournalRecord::Settled { id: id.into() }
    }

    fn temporary(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("drops-file-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        dir.join("journal")
    }

    #[test]
    fn settled_ids_survive_compaction_and_are_refused_until_the_retention_is_over() {
        let path = temporary("retention");
        let clock = Arc::new(ManualClock::new(100 * DAY_MS));
        let mut journal = FileJournal::with_clock(&path, clock.clone());
        assert!(journal
            .claim(&[granting("a"), granting("b")])
            .unwrap()
            .is_empty());
        journal
            .append(&[JournalRecord::Granted { id: "a".into() }, settled("a")])
            .unwrap();
        assert_eq!(journal.claim(&[granting("a")]).unwrap(), ["a"]);

        // A new run: the load compacts, the settled line stays and is still refused.
        clock.advance(std::time::Duration::from_millis(29 * DAY_MS));
        let mut journal = FileJournal::with_clock(&path, clock.clone());
        assert_eq!(journal.load().unwrap(), [granting("b")]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(&format!(
                r#"{{"op":"settled","id":"a","at":{}}}"#,
                100 * DAY_MS
            )),
            "{text}"
        );
        assert_eq!(journal.claim(&[granting("a")]).unwrap(), ["a"]);

        // Past the retention it is forgotten, and the compacted file drops its line.
        clock.advance(std::time::Duration::from_millis(2 * DAY_MS));
        let mut journal = FileJournal::with_clock(&path, clock.clone());
        journal.load().unwrap();
        assert!(!std::fs::read_to_string(&path).unwrap().contains("settled"));
        assert!(journal.claim(&[granting("a")]).unwrap().is_empty());
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }

    #[test]
    fn a_torn_line_alone_is_cleaned_away_before_the_next_append() {
        // A crash during a fresh journal's first append leaves only a torn line.
        let path = temporary("torn-alone");
        std::fs::write(&path, "{\"op\":\"granting\",\"id\":\"a\",\"us").unwrap();
        let mut journal = FileJournal::new(&path);
        assert!(journal.load().unwrap().is_empty());
        assert!(journal.claim(&[granting("b")]).unwrap().is_empty());
        let granted = JournalRecord::Granted { id: "b".into() };
        journal.append(std::slice::from_ref(&granted)).unwrap();
        let mut journal = FileJournal::new(&path);
        assert_eq!(journal.load().unwrap(), [granting("b"), granted]);
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }

    #[test]
    fn a_settled_line_written_before_lines_carried_the_time_counts_from_its_first_load() {
        let path = temporary("legacy");
        std::fs::write(&path, "{\"op\":\"settled\",\"id\":\"old\"}\n").unwrap();
        let clock = Arc::new(ManualClock::new(100 * DAY_MS));
        // Claiming before any load reads the file too.
        let mut journal = FileJournal::with_clock(&path, clock.clone());
        assert_eq!(journal.claim(&[granting("old")]).unwrap(), ["old"]);
        let mut journal = FileJournal::with_clock(&path, clock.clone());
        journal.load().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(&format!(r#""at":{}"#, 100 * DAY_MS)),
            "stamped at its first load: {text}"
        );
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }
}
