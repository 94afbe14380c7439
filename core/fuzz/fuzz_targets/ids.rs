//! The id rule where Twitch data enters: `check_id` accepts exactly the strings of at most
//! `MAX_ID_BYTES` bytes with no control character or line separator, and every entitlement
//! an entitlements page or an EventSub grant yields passes it (so none can break a
//! line-based format such as the grant log or a journal line).
#![no_main]

use libfuzzer_sys::fuzz_target;
use twitch_drops::entitlements::parse_entitlements_page;
use twitch_drops::{check_id, MAX_ID_BYTES};

fn clean(value: &str) -> bool {
    value.len() <= MAX_ID_BYTES
        && !value
            .chars()
            .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(check_id("id", text).is_ok(), clean(text), "{text:?}");
        if let Err(e) = check_id("id", text) {
            // The message names the field and never echoes the value.
            let message = e.to_string();
            assert!(message.contains("`id`"));
            assert!(message.len() < 200);
        }
    }
    if let Ok(page) = parse_entitlements_page(data) {
        for e in &page.entitlements {
            for value in [&e.id, &e.user_id, &e.game_id, &e.benefit_id] {
                assert!(clean(value), "{value:?} got through");
            }
        }
    }
});
