//! A journal in a file of JSON lines: crash-safe, no dependencies, one instance at a time.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::fulfill::{check_records, Journal, JournalError, JournalRecord, Recovery};

/// An append-only file of JSON lines, fsync'd on every append. A torn last line (a crash
/// mid-write) is ignored; a bad line elsewhere is an error. Loading compacts the file to
/// the records still open (written to a temporary file, fsync'd, then renamed over).
#[derive(Debug)]
pub struct FileJournal {
    path: PathBuf,
    file: Option<File>,
}

impl FileJournal {
    /// A journal at `path` (created on first use).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileJournal {
            path: path.into(),
            file: None,
        }
    }

    /// Where the journal lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, what: &str, e: impl std::fmt::Display) -> JournalError {
        JournalError(format!("{what} {}: {e}", self.path.display()))
    }

    fn read_records(&self) -> Result<Vec<JournalRecord>, JournalError> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
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
        let mut records = Vec::new();
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
                    records.push(record)
                }
                // A crash while appending leaves at most the last line torn.
                Err(_) if number == last => break,
                Err(e) => return Err(self.error(&format!("bad line {} in", number + 1), e)),
            }
        }
        Ok(records)
    }

    fn rewrite(&self, records: &[JournalRecord]) -> Result<(), JournalError> {
        let temporary = self.path.with_extension("compacting");
        let mut file = File::create(&temporary).map_err(|e| self.error("cannot create", e))?;
        file.write_all(&encode(records))
            .and_then(|_| file.sync_all())
            .map_err(|e| self.error("cannot write", e))?;
        replace_durably(&temporary, &self.path).map_err(|e| self.error("cannot replace", e))
    }
}

/// Renames `temporary` over `path` so that the rename itself is on disk when this returns.
/// POSIX: rename, then sync the folder (the rename lives in the folder's entries).
#[cfg(not(windows))]
fn replace_durably(temporary: &Path, path: &Path) -> std::io::Result<()> {
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
fn replace_durably(temporary: &Path, path: &Path) -> std::io::Result<()> {
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
const MAX_LINE_BYTES: usize = 64 * 1024;

enum LineError {
    Io(std::io::Error),
    /// 1-based line number.
    TooLong {
        line: usize,
    },
}

/// Splits at `\n` without ever holding a line longer than `max` bytes in memory.
fn read_lines(mut reader: impl BufRead, max: usize) -> Result<Vec<Vec<u8>>, LineError> {
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

fn encode(records: &[JournalRecord]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for record in records {
        // Serializing these plain records cannot fail.
        if let Ok(line) = serde_json::to_vec(record) {
            bytes.extend_from_slice(&line);
            bytes.push(b'\n');
        }
    }
    bytes
}

impl Journal for FileJournal {
    fn load(&mut self) -> Result<Vec<JournalRecord>, JournalError> {
        let records = self.read_records()?;
        let open = Recovery::from_records(&records).records();
        if open.len() != records.len() || !records.is_empty() {
            self.rewrite(&open)?;
        }
        self.file = None;
        Ok(open)
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
        let bytes = encode(records);
        let path = self.path.display().to_string();
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| JournalError(path.clone()))?;
        file.write_all(&bytes)
            .and_then(|_| file.sync_data())
            .map_err(|e| JournalError(format!("cannot append to {path}: {e}")))
    }
}
