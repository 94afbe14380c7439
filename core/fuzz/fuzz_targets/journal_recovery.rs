//! `Recovery::from_records` over the records decoded from fuzzed JSON lines (the lines a
//! journal file holds). Never panics; an id is open at most once and in one state only;
//! compacting is lossless (the records of a recovery recover the same recovery).
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use twitch_drops::fulfill::{JournalRecord, Recovery};

fuzz_target!(|data: &[u8]| {
    let records: Vec<JournalRecord> = data
        .split(|b| *b == b'\n')
        .filter_map(|line| serde_json::from_slice(line).ok())
        .collect();
    let recovery = Recovery::from_records(&records);

    let mut ids = HashSet::new();
    for e in recovery.granted.iter().chain(&recovery.in_doubt) {
        assert!(
            ids.insert(e.id.as_str()),
            "`{}` is open twice: {recovery:?}",
            e.id
        );
        assert!(
            records
                .iter()
                .any(|r| matches!(r, JournalRecord::Granting { id, .. } if *id == e.id)),
            "`{}` is open without a Granting record",
            e.id
        );
    }
    assert_eq!(recovery.is_empty(), ids.is_empty());

    let compacted = recovery.records();
    assert_eq!(
        Recovery::from_records(&compacted),
        recovery,
        "compaction lost something"
    );
    for record in &compacted {
        let line = serde_json::to_string(record).expect("a record serializes");
        let back: JournalRecord = serde_json::from_str(&line).expect("and reads back");
        assert_eq!(&back, record);
    }
});
