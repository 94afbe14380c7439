//! `parse_analytics_page` on any bytes: reports or a `Decode` error, never a panic; a page
//! survives a round trip and its cursor is never blank.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use twitch_drops::analytics::parse_analytics_page;
use twitch_drops::ErrorKind;
use twitch_drops_fuzz::show;

fuzz_target!(|data: &[u8]| {
    match parse_analytics_page(data) {
        Ok(page) => {
            assert!(
                !page.cursor.as_deref().is_some_and(|c| c.trim().is_empty()),
                "a blank cursor is the last page"
            );
            let again = json!({ "data": page.reports, "pagination": { "cursor": page.cursor } });
            let reparsed = parse_analytics_page(again.to_string().as_bytes())
                .expect("a parsed page serializes to a page");
            assert_eq!(reparsed, page);
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Decode, "{e:?}");
            show(&e);
        }
    }
});
