//! The rule for file names built from server data (a report's game id and type): reduced to
//! one safe path component that means the same file on Linux, macOS and Windows, or refused.

/// Longest name produced, in bytes (well under every file system's 255).
pub const MAX_FILE_NAME_BYTES: usize = 120;

/// Names Windows reserves for devices, whatever the extension.
const RESERVED: [&str; 4] = ["CON", "PRN", "AUX", "NUL"];

/// `stem.extension` reduced to a single safe component: every byte outside `A-Z a-z 0-9 - _ .`
/// (path separators, `..`, NUL, control characters, spaces, non-ASCII) becomes `_` (a run of
/// them one `_`), leading and trailing dots go, a Windows device name (`CON`, `COM1`…) gets a
/// leading `_`, and the stem is cut so the whole name fits [`MAX_FILE_NAME_BYTES`].
/// `None` when nothing usable is left (no ASCII letter or digit in the stem).
///
/// `extension` is the caller's own (`"csv"`), not server data, and must already be safe.
pub fn safe_file_name(stem: &str, extension: &str) -> Option<String> {
    let mut reduced = String::with_capacity(stem.len().min(MAX_FILE_NAME_BYTES));
    for c in stem.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
            c
        } else {
            '_'
        };
        // Collapse runs of `_` and of `.` (no `..` survives, even inside the name).
        if (c == '_' || c == '.') && reduced.ends_with(c) {
            continue;
        }
        reduced.push(c);
    }
    let mut reduced = reduced.trim_matches(['.', '_']).to_string();
    if !reduced.bytes().any(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let device = reduced.split('.').next().unwrap_or("");
    let numbered = |prefix: &str| {
        device.len() == 4
            && device[..3].eq_ignore_ascii_case(prefix)
            && device.as_bytes()[3].is_ascii_digit()
    };
    if RESERVED.iter().any(|r| device.eq_ignore_ascii_case(r)) || numbered("COM") || numbered("LPT")
    {
        reduced.insert(0, '_');
    }
    let room = MAX_FILE_NAME_BYTES.saturating_sub(extension.len() + 1);
    // Only ASCII is left, so any byte index is a character boundary.
    reduced.truncate(room);
    let reduced = reduced.trim_end_matches('.');
    Some(format!("{reduced}.{extension}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_component_or_nothing() {
        assert_eq!(
            safe_file_name("509658-overview_v2", "csv").as_deref(),
            Some("509658-overview_v2.csv")
        );
        assert_eq!(safe_file_name("../../X", "csv").as_deref(), Some("X.csv"));
        assert_eq!(
            safe_file_name("/abs/path-t", "csv").as_deref(),
            Some("abs_path-t.csv")
        );
        assert_eq!(safe_file_name("a\0b", "csv").as_deref(), Some("a_b.csv"));
        assert_eq!(safe_file_name("C:\\x", "csv").as_deref(), Some("C_x.csv"));
        assert_eq!(safe_file_name("CON", "csv").as_deref(), Some("_CON.csv"));
        assert_eq!(
            safe_file_name("lpt9.x", "csv").as_deref(),
            Some("_lpt9.x.csv")
        );
        assert_eq!(safe_file_name("COMX", "csv").as_deref(), Some("COMX.csv"));
        assert_eq!(safe_file_name("..", "csv"), None);
        assert_eq!(safe_file_name("", "csv"), None);
        assert_eq!(safe_file_name("/ /", "csv"), None);
        assert_eq!(safe_file_name("../..-/", "csv"), None);
        let long = safe_file_name(&"x".repeat(10_000), "csv").unwrap();
        assert_eq!(long.len(), MAX_FILE_NAME_BYTES);
        assert!(long.ends_with(".csv"));
    }
}
