//! File names built from server data: `safe_file_name` on any stem, and
//! `AnalyticsReport::file_name` on every report of any analytics page. A name given is one
//! portable path component inside the folder (no separator, no `..`, no leading dot, no NUL,
//! no Windows device name, at most `MAX_FILE_NAME_BYTES`); otherwise none is given.
#![no_main]

use std::path::{Component, Path};

use libfuzzer_sys::fuzz_target;
use twitch_drops::analytics::parse_analytics_page;
use twitch_drops::file_name::MAX_FILE_NAME_BYTES;
use twitch_drops::safe_file_name;

fn check(name: &str) {
    assert!(name.len() <= MAX_FILE_NAME_BYTES, "{name:?} too long");
    assert!(name.ends_with(".csv"), "{name:?}");
    assert!(!name.starts_with('.'), "{name:?} hidden or relative");
    assert!(!name.contains(".."), "{name:?}");
    assert!(
        name.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
        "{name:?} holds an unsafe byte"
    );
    let device = name.split('.').next().unwrap_or("").to_ascii_uppercase();
    let numbered = device.len() == 4
        && (device.starts_with("COM") || device.starts_with("LPT"))
        && device.as_bytes()[3].is_ascii_digit();
    assert!(
        !["CON", "PRN", "AUX", "NUL"].contains(&device.as_str()) && !numbered,
        "{name:?} is a Windows device"
    );
    let folder = Path::new("/reports");
    let joined = folder.join(name);
    assert_eq!(joined.parent(), Some(folder), "{name:?} leaves the folder");
    assert!(matches!(
        Path::new(name).components().collect::<Vec<_>>().as_slice(),
        [Component::Normal(_)]
    ));
}

fuzz_target!(|data: &[u8]| {
    if let Ok(stem) = std::str::from_utf8(data) {
        if let Some(name) = safe_file_name(stem, "csv") {
            check(&name);
        }
    }
    if let Ok(page) = parse_analytics_page(data) {
        for report in &page.reports {
            if let Some(name) = report.file_name() {
                check(&name);
            }
        }
    }
});
