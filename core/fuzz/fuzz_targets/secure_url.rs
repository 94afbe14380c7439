//! `check_secure_url` on any string, against the URL parser the ureq transport sends with
//! (`http::Uri`): whatever it accepts is https, or plain http to a loopback host as that
//! parser reads the host. A Config with such a URL validates the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twitch_drops::{check_secure_url, Config, Credentials};
use twitch_drops_fuzz::loopback_or_https;

fuzz_target!(|url: &str| {
    let checked = check_secure_url(url);
    if checked.is_ok() {
        assert!(
            loopback_or_https(url),
            "accepted `{url}`, which ureq would send in the clear"
        );
    } else if let Err(problem) = &checked {
        let _ = problem.describe(url);
    }
    let config = Config::new("cid", Credentials::AccessToken("t".into())).with_helix_url(url);
    if let Err(e) = config.validate() {
        let _ = e.to_string();
    }
});
