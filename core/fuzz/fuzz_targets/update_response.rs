//! `parse_update_response` on any bytes: (id, status) pairs or a `Decode` error, never a
//! panic; every known status name maps to its status.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twitch_drops::update::parse_update_response;
use twitch_drops::ErrorKind;
use twitch_drops_fuzz::show;

fuzz_target!(|data: &[u8]| {
    match parse_update_response(data) {
        Ok(pairs) => {
            for (_, status) in &pairs {
                if let Some(status) = status {
                    assert!(!status.as_str().is_empty());
                    let _ = status.to_string();
                }
            }
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Decode, "{e:?}");
            show(&e);
        }
    }
});
