//! `FileJournal::load` on a fuzzed file. Never panics. When every line but the last is a
//! record with valid ids (the last may be torn by a crash mid-append), it loads, and loads what
//! `Recovery::from_records` keeps of those records; loading compacts the file, so loading
//! again gives the same; an appended `Settled` closes its entitlement.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use twitch_drops::fulfill::{JournalRecord, Recovery};
use twitch_drops::{FileJournal, Journal};

/// A directory of this process's own, in memory when the machine has /dev/shm.
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = PathBuf::from("/dev/shm");
        let base = if base.is_dir() {
            base
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("twitch-drops-fuzz-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        dir
    })
}

/// The lines as `BufRead::lines` splits them (a final newline ends the last line).
fn lines(data: &[u8]) -> Vec<&[u8]> {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    if data.is_empty() {
        return Vec::new();
    }
    data.split(|b| *b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let path = dir().join("journal");
    let _ = std::fs::remove_file(path.with_extension("compacting"));
    std::fs::write(&path, data).expect("write the fuzzed journal");

    // What a reader that tolerates a torn last line should make of the file.
    let lines = lines(data);
    let last = lines.len().saturating_sub(1);
    let mut expected = Some(Vec::new());
    for (number, line) in lines.iter().enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<JournalRecord>(line) {
            // A record whose ids this library would never write is refused, wherever it is.
            Ok(record) if record.validate().is_err() => {
                expected = None;
                break;
            }
            Ok(record) => {
                if let Some(records) = expected.as_mut() {
                    records.push(record);
                }
            }
            Err(_) if number == last => break,
            Err(_) => {
                expected = None;
                break;
            }
        }
    }

    let mut journal = FileJournal::new(&path);
    match journal.load() {
        Ok(records) => {
            let open = Recovery::from_records(&records);
            assert_eq!(open.records(), records, "a load returns compacted records");
            if let Some(expected) = &expected {
                assert_eq!(records, Recovery::from_records(expected).records());
            }
            // Compacted on disk: a second load reads the same records back.
            assert_eq!(FileJournal::new(&path).load().expect("reload"), records);
            if let Some(first) = open.granted.first().or(open.in_doubt.first()) {
                let settled = JournalRecord::Settled {
                    id: first.id.clone(),
                };
                journal.append(&[settled]).expect("append");
                let after = FileJournal::new(&path).load().expect("load after append");
                assert!(
                    after.iter().all(|r| r.id() != first.id),
                    "settled stays closed"
                );
            }
        }
        Err(e) => {
            assert!(expected.is_none(), "a readable journal failed to load: {e}");
            let _ = format!("{e} {e:?}");
        }
    }
});
