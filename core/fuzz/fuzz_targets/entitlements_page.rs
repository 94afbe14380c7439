//! `parse_entitlements_page` on any bytes: a page or a `Decode` error, never a panic; a page
//! survives a round trip, its cursor is never blank, and paging over it never panics nor
//! makes the next page's query invalid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use twitch_drops::entitlements::parse_entitlements_page;
use twitch_drops::{Config, Credentials, EntitlementPages, EntitlementsQuery, ErrorKind};
use twitch_drops_fuzz::show;

fuzz_target!(|data: &[u8]| {
    match parse_entitlements_page(data) {
        Ok(page) => {
            assert!(
                !page.cursor.as_deref().is_some_and(|c| c.trim().is_empty()),
                "a blank cursor is the last page"
            );
            let again =
                json!({ "data": page.entitlements, "pagination": { "cursor": page.cursor } });
            let reparsed = parse_entitlements_page(again.to_string().as_bytes())
                .expect("a parsed page serializes to a page");
            assert_eq!(reparsed, page);
            let mut pages =
                EntitlementPages::new(EntitlementsQuery::new().first(1000)).expect("a valid query");
            let config = Config::new("cid", Credentials::AccessToken("t".into()));
            for _ in 0..2 {
                let _ = pages.advance(&page);
                // What a server sends never makes the next query the caller's error.
                pages
                    .next_request(&config)
                    .expect("the next page's query is valid");
            }
            let _ = format!("{page:?}");
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Decode, "{e:?}");
            show(&e);
        }
    }
});
