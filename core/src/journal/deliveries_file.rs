//! EventSub deliveries remembered in a file beside a file journal, so a message Twitch
//! delivers again after a restart is known there too, as the SQLite and PostgreSQL
//! journals know it from their own table.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use twitch_drops_protocol::eventsub::Deduplicator;
use twitch_drops_protocol::webhook::DeliveryLog;

use super::file::{read_lines, replace_durably, LineError, MAX_LINE_BYTES};
use crate::fulfill::JournalError;

/// One line: a message id and when it was first delivered (ms since the Unix epoch). JSON,
/// so an id is data whatever characters a server put in it.
#[derive(Serialize, Deserialize)]
struct Line<'a> {
    at: u64,
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
}

/// A file of JSON lines, one per first delivery, each on disk (fdatasync) before
/// [`DeliveryLog::first_delivery`] answers. Ids are remembered for
/// [`Deduplicator::WINDOW_MS`] (Twitch refuses to deliver older messages, and
/// `eventsub::verify` refuses them), at most [`Deduplicator::DEFAULT_CAPACITY`] at once.
/// Opening reads the file and rewrites it with the ids still remembered; so does an
/// append that finds the file holding twice as many lines as ids remembered. A torn last
/// line (a crash mid-write) is dropped; a bad line elsewhere is an error naming it. One
/// process at a time, like the file journal.
pub struct FileDeliveryLog {
    path: PathBuf,
    file: File,
    seen: Deduplicator,
    /// Lines in the file now.
    lines: usize,
    /// An append failed: the file may end with a torn line.
    torn: bool,
}

impl std::fmt::Debug for FileDeliveryLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDeliveryLog")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FileDeliveryLog {
    /// The log at `path` (created if missing), as of `now_ms`.
    pub fn open(path: impl Into<PathBuf>, now_ms: u64) -> Result<Self, JournalError> {
        let path = path.into();
        let error = |what: &str, e: &dyn std::fmt::Display| {
            JournalError(format!("{what} {}: {e}", path.display()))
        };
        let mut seen = Deduplicator::new();
        let mut lines = match File::open(&path) {
            Ok(file) => read_lines(BufReader::new(file), MAX_LINE_BYTES).map_err(|e| match e {
                LineError::Io(e) => error("cannot read", &e),
                LineError::TooLong { line } => error(
                    &format!("line {line} is longer than {MAX_LINE_BYTES} bytes in"),
                    &"refused",
                ),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(error("cannot open", &e)),
        };
        let last = lines.len().saturating_sub(1);
        let mut entries = Vec::new();
        for (number, line) in lines.drain(..).enumerate() {
            if line.trim_ascii().is_empty() {
                continue;
            }
            match serde_json::from_slice::<Line>(&line) {
                Ok(entry) => entries.push((entry.at, entry.id.into_owned())),
                Err(_) if number == last => break,
                Err(e) => return Err(error(&format!("bad line {} in", number + 1), &e)),
            }
        }
        // Oldest first, so the window and the capacity forget the right ones.
        entries.sort_by_key(|(at, _)| *at);
        for (at, id) in &entries {
            seen.first_time(id, *at);
        }
        seen.expire(now_ms);
        let kept = remembered(&seen);
        Ok(FileDeliveryLog {
            file: rewrite(&path, &kept).map_err(|e| error("cannot rewrite", &e))?,
            path,
            lines: seen.len(),
            seen,
            torn: false,
        })
    }
}

/// The file's contents for the ids `seen` remembers.
fn remembered(seen: &Deduplicator) -> Vec<u8> {
    seen.entries().flat_map(|(at, id)| line(at, id)).collect()
}

fn line(at: u64, id: &str) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(&Line {
        at,
        id: std::borrow::Cow::Borrowed(id),
    })
    .unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Writes `bytes` to `path` durably (a temporary file renamed over it) and opens it for
/// appending. The temporary file is `<path>.compacting`: beside a file journal `J` the log
/// is `J.deliveries`, whose extension swapped would be the journal's own `J.compacting`.
fn rewrite(path: &Path, bytes: &[u8]) -> std::io::Result<File> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".compacting");
    let temporary = PathBuf::from(temporary);
    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    replace_durably(&temporary, path)?;
    OpenOptions::new().append(true).open(path)
}

impl DeliveryLog for FileDeliveryLog {
    fn first_delivery(&mut self, message_id: &str, now_ms: u64) -> Result<bool, JournalError> {
        if !self.seen.first_time(message_id, now_ms) {
            return Ok(false);
        }
        // A write that failed part-way left a torn line: the file is rewritten from what is
        // remembered before anything is appended to it.
        if self.torn {
            self.compact()
                .map_err(|e| JournalError(format!("cannot rewrite {}: {e}", self.path.display())))
                .inspect_err(|_| {
                    self.seen.forget(message_id);
                })?;
        }
        let written = self
            .file
            .write_all(&line(now_ms, message_id))
            .and_then(|_| self.file.sync_data());
        if let Err(e) = written {
            // Not on disk: not a first delivery yet (the caller answers 503, Twitch
            // delivers it again).
            self.seen.forget(message_id);
            self.torn = true;
            return Err(JournalError(format!(
                "cannot write to {}: {e}",
                self.path.display()
            )));
        }
        self.lines += 1;
        if self.lines > 2 * self.seen.len() + 1000 {
            // The id is on disk: a compaction that fails now is tried again at the next
            // append, and this delivery stays a first.
            let _ = self.compact();
        }
        Ok(true)
    }
}

impl FileDeliveryLog {
    /// Rewrites the file with what is remembered; the handle is replaced only once the new
    /// file is open.
    fn compact(&mut self) -> std::io::Result<()> {
        self.file = rewrite(&self.path, &remembered(&self.seen))?;
        self.lines = self.seen.len();
        self.torn = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: u64 = Deduplicator::WINDOW_MS;

    fn temporary(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("td-deliveries-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("journal.deliveries")
    }

    fn line_count(path: &Path) -> usize {
        std::fs::read_to_string(path).unwrap().lines().count()
    }

    #[test]
    fn a_delivery_is_first_once_across_reopening_until_the_window_passes() {
        let path = temporary("reopen");
        let mut log = FileDeliveryLog::open(&path, 1_000).unwrap();
        assert!(log.first_delivery("m-1", 1_000).unwrap());
        assert!(!log.first_delivery("m-1", 2_000).unwrap());
        // An id is data: quotes, a newline, non-ASCII.
        let odd = "m\"2\n\u{e9}";
        assert!(log.first_delivery(odd, 3_000).unwrap());
        drop(log);

        let mut log = FileDeliveryLog::open(&path, 4_000).unwrap();
        assert!(
            !log.first_delivery("m-1", 4_000).unwrap(),
            "known after a restart"
        );
        assert!(!log.first_delivery(odd, 4_000).unwrap());
        assert!(log.first_delivery("m-3", 4_000).unwrap());
        drop(log);
        assert_eq!(line_count(&path), 3);

        // Past the window, m-1 is forgotten (and dropped from the file on opening).
        let mut log = FileDeliveryLog::open(&path, 1_000 + WINDOW).unwrap();
        assert_eq!(line_count(&path), 2);
        assert!(log.first_delivery("m-1", 1_000 + WINDOW).unwrap());
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_a_bad_line_elsewhere_is_named() {
        let path = temporary("torn");
        std::fs::write(&path, "{\"at\":5,\"id\":\"a\"}\n{\"at\":6,\"id\":\"b").unwrap();
        let mut log = FileDeliveryLog::open(&path, 10).unwrap();
        assert!(!log.first_delivery("a", 10).unwrap());
        assert!(
            log.first_delivery("b", 10).unwrap(),
            "the torn line was no record"
        );
        drop(log);
        assert_eq!(line_count(&path), 2);

        std::fs::write(
            &path,
            "{\"at\":5,\"id\":\"a\"}\nnot json\n{\"at\":6,\"id\":\"b\"}\n",
        )
        .unwrap();
        let error = FileDeliveryLog::open(&path, 10).unwrap_err().to_string();
        assert!(error.contains("bad line 2"), "{error}");
        assert!(error.contains("journal.deliveries"), "{error}");
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }

    #[test]
    fn compacting_beside_a_journal_without_an_extension_leaves_the_journals_file_alone() {
        let path = temporary("beside");
        let dir = path.parent().unwrap().to_path_buf();
        // A file journal `journal` compacts through `journal.compacting`; its log is
        // `journal.deliveries`.
        let journals_own = dir.join("journal.compacting");
        std::fs::write(&journals_own, "the journal's compaction in progress\n").unwrap();
        let log_path = dir.join("journal.deliveries");
        std::fs::write(&log_path, "{\"at\":1,\"id\":\"a\"}\n").unwrap();
        let mut log = FileDeliveryLog::open(&log_path, 2).unwrap();
        assert!(!log.first_delivery("a", 3).unwrap());
        assert_eq!(
            std::fs::read_to_string(&journals_own).unwrap(),
            "the journal's compaction in progress\n"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_file_is_compacted_when_most_of_it_is_forgotten() {
        let path = temporary("compact");
        let mut log = FileDeliveryLog::open(&path, 0).unwrap();
        for n in 0..1500 {
            assert!(log.first_delivery(&format!("old-{n}"), 0).unwrap());
        }
        assert_eq!(line_count(&path), 1500);
        // The window passes: the next append finds 1501 lines for one id, and compacts.
        assert!(log.first_delivery("new", WINDOW).unwrap());
        assert_eq!(line_count(&path), 1);
        assert!(log.first_delivery("newer", WINDOW).unwrap());
        assert!(!log.first_delivery("new", WINDOW + 1).unwrap());
        drop(log);
        assert_eq!(line_count(&path), 2);
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }
}
