//! The one scrubber for text from outside (a server's error message, a body quoted in an
//! error, a transport's failure): every secret this process holds is cut out of it before
//! it enters an [`Error`](crate::Error) or a [`TransportError`](crate::TransportError), so
//! no surface (Rust `Display`, the CLI's stderr, the C ABI's message buffers, the WASM
//! package's thrown errors) can show one a server echoed back.
//!
//! Every [`Secret`](crate::Secret) made registers its value here for as long as a copy of
//! it lives (the registry holds weak references), so the scrubber knows the client secret,
//! access and refresh tokens, device codes and EventSub secrets without being handed them
//! at each place an error is made. Values shorter than [`MIN_SCRUBBED_BYTES`] are not
//! registered: no real credential is that short, and cutting them would mangle messages.

use std::sync::{Arc, Mutex, Weak};

/// Shortest secret the scrubber looks for. Twitch's secrets and tokens are 30 characters
/// and more, and EventSub requires secrets of at least 10.
pub const MIN_SCRUBBED_BYTES: usize = 8;

/// What a scrubbed secret is replaced with.
pub const REDACTED: &str = "<redacted>";

static LIVE: Mutex<Vec<Weak<str>>> = Mutex::new(Vec::new());

/// Remembers `secret` while it lives (called by `Secret::new`).
pub(crate) fn register(secret: &Arc<str>) {
    if secret.len() < MIN_SCRUBBED_BYTES {
        return;
    }
    let mut live = LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    live.retain(|s| s.strong_count() > 0);
    live.push(Arc::downgrade(secret));
}

/// `text` with every live secret, and its form-, percent- and JSON-encoded spellings,
/// replaced by `<redacted>`.
pub fn scrub(text: &str) -> String {
    let secrets: Vec<Arc<str>> = {
        let live = LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        live.iter().filter_map(Weak::upgrade).collect()
    };
    let mut text = text.to_string();
    let spellings: Vec<String> = secrets.iter().flat_map(|s| spellings(s)).collect();
    for spelling in &spellings {
        if text.contains(spelling.as_str()) {
            text = text.replace(spelling.as_str(), REDACTED);
        }
    }
    // A replacement can make a new occurrence with its neighbours (a secret that overlaps
    // `<redacted>`); rather than loop, withhold the whole text then.
    if spellings.iter().any(|s| text.contains(s.as_str())) {
        return WITHHELD.to_string();
    }
    text
}

/// Most characters of a server's text kept in an error.
pub const MAX_SERVER_TEXT: usize = 500;

/// A server's text as it may appear in an error (and so in a log line, an exception, a C
/// error buffer): scrubbed of every secret the process holds, at most [`MAX_SERVER_TEXT`]
/// characters, each control or line-breaking character a space, so a hostile answer can
/// neither hide a secret in it nor forge lines of its own.
pub fn as_data(text: &str) -> String {
    let mut kept: String = scrub(text)
        .chars()
        .take(MAX_SERVER_TEXT + 1)
        .map(|c| {
            if c.is_control() || crate::ids::is_line_breaking(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    if kept.chars().count() > MAX_SERVER_TEXT {
        kept = kept.chars().take(MAX_SERVER_TEXT).collect();
        kept.push('…');
    }
    kept
}

/// What [`scrub`] returns when cutting did not leave the text free of secrets.
pub const WITHHELD: &str = "<text withheld: it held a secret>";

/// The ways a server may echo `secret`: as sent, form-encoded (`+` for space), percent-
/// encoded, JSON-escaped.
fn spellings(secret: &str) -> Vec<String> {
    let mut all = vec![secret.to_string()];
    let form: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent = form.replace('+', "%20");
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    for other in [form, percent, json] {
        if !all.contains(&other) {
            all.push(other);
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    #[test]
    fn as_data_scrubs_then_keeps_one_bounded_line() {
        let secret = crate::Secret::new("as-data-secret-0123456789");
        let shown = as_data(&format!(
            "  sub\n\u{1b}[2J{}\u{2028}x{} ",
            secret.expose(),
            "y".repeat(600)
        ));
        assert!(!shown.contains(secret.expose()), "{shown}");
        assert!(shown.starts_with("  sub  [2J<redacted> x"), "{shown}");
        assert_eq!(shown.chars().count(), MAX_SERVER_TEXT + 1);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn every_spelling_of_a_live_secret_goes_and_a_dropped_one_is_forgotten() {
        let secret = Secret::new("s3cr+t/with space\"q");
        let echoed = "got client_secret=s3cr%2Bt%2Fwith+space%22q, \
                      s3cr%2Bt%2Fwith%20space%22q, \"s3cr+t/with space\\\"q\", s3cr+t/with space\"q";
        let scrubbed = scrub(echoed);
        assert!(!scrubbed.contains("s3cr"), "{scrubbed}");
        assert_eq!(scrubbed.matches(REDACTED).count(), 4, "{scrubbed}");
        let short = Secret::new("short");
        assert_eq!(scrub("short"), "short");
        let overlapping = Secret::new("ted>ted>");
        assert_eq!(scrub("ted>ted>ted>"), WITHHELD);
        drop((secret, short, overlapping));
        assert_eq!(scrub("s3cr+t/with space\"q"), "s3cr+t/with space\"q");
    }
}
