//! The rule for ids that come from Twitch (entitlement, user, game and benefit ids, and the
//! other short strings stored beside them): bounded in length and free of control
//! characters, checked where the data enters (a Helix page, an EventSub message, a journal
//! record), so that no later line-based format or request can be poisoned by one.

use std::fmt;

/// Longest id accepted, in bytes. Twitch's ids are UUIDs or decimal numbers (under 40 bytes);
/// the bound leaves room for change and keeps one hostile id from filling memory or a URL.
pub const MAX_ID_BYTES: usize = 256;

/// Why an id from Twitch (or a journal) was refused, and which field held it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidId {
    /// The field (`"id"`, `"user_id"`, `"game_id"`, `"benefit_id"`…).
    pub field: &'static str,
    pub problem: IdProblem,
}

/// What is wrong with the id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdProblem {
    /// Longer than [`MAX_ID_BYTES`].
    TooLong { bytes: usize },
    /// Holds a control character (a newline, NUL, …) or a Unicode line separator.
    ControlCharacter { at_byte: usize, code_point: u32 },
}

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problem {
            IdProblem::TooLong { bytes } => write!(
                f,
                "`{}` is {bytes} bytes long; at most {MAX_ID_BYTES} are accepted",
                self.field
            ),
            IdProblem::ControlCharacter {
                at_byte,
                code_point,
            } => write!(
                f,
                "`{}` holds the control character U+{code_point:04X} at byte {at_byte}",
                self.field
            ),
        }
    }
}

impl std::error::Error for InvalidId {}

/// Checks one id: at most [`MAX_ID_BYTES`] bytes, no control character, no U+2028/U+2029.
pub fn check_id(field: &'static str, value: &str) -> Result<(), InvalidId> {
    if value.len() > MAX_ID_BYTES {
        return Err(InvalidId {
            field,
            problem: IdProblem::TooLong { bytes: value.len() },
        });
    }
    // Twitch's ids and timestamps are printable ASCII: one pass over the bytes settles them.
    if is_printable_ascii(value.as_bytes()) {
        return Ok(());
    }
    match value.char_indices().find(|(_, c)| is_line_breaking(*c)) {
        Some((at_byte, c)) => Err(InvalidId {
            field,
            problem: IdProblem::ControlCharacter {
                at_byte,
                code_point: c as u32,
            },
        }),
        None => Ok(()),
    }
}

/// True when every byte is printable ASCII (0x20..0x7f); eight bytes at a time.
fn is_printable_ascii(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const SPACE: u64 = u64::from_ne_bytes([0x20; 8]);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_ne_bytes(word);
        // A byte below 0x20 borrows its high bit in `word - SPACE`; one at 0x7f or above
        // has it set in `word` or in `word + ONES` (a carry comes only from 0xff, itself
        // caught). Which byte is flagged may be off; whether any is, is exact.
        let below = word.wrapping_sub(SPACE) & !word;
        let above = word | word.wrapping_add(ONES);
        if (below | above) & HIGH != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|b| (0x20..0x7f).contains(b))
}

/// Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
pub(crate) fn is_line_breaking(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_ascii_is_told_apart_byte_by_byte() {
        for (len, fill) in (0..20).flat_map(|len| [b'a', b'~', b' '].map(|fill| (len, fill))) {
            let base = vec![fill; len];
            assert!(is_printable_ascii(&base));
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut bytes = base.clone();
                    bytes[at] = b;
                    assert_eq!(
                        is_printable_ascii(&bytes),
                        (0x20..0x7f).contains(&b),
                        "{bytes:?}"
                    );
                }
            }
        }
        assert!(is_printable_ascii(b" ~~~~~~~ ~~~~~~~~"));
    }

    #[test]
    fn bounded_and_free_of_control_characters() {
        assert_eq!(
            check_id("id", "fb78259e-fb81-4d1b-8333-34a06ffc24c0"),
            Ok(())
        );
        assert_eq!(check_id("id", ""), Ok(()));
        assert_eq!(check_id("id", &"9".repeat(MAX_ID_BYTES)), Ok(()));
        let long = check_id("user_id", &"9".repeat(MAX_ID_BYTES + 1)).unwrap_err();
        assert_eq!(long.field, "user_id");
        assert!(long.to_string().contains("257 bytes"), "{long}");
        for bad in [
            "a\nb",
            "a\rb",
            "\0",
            "a\u{1b}[2J",
            "a\u{85}",
            "a\u{2028}b",
            "\u{7f}",
        ] {
            let e = check_id("benefit_id", bad).unwrap_err();
            assert_eq!(e.field, "benefit_id");
            assert!(
                matches!(e.problem, IdProblem::ControlCharacter { .. }),
                "{bad:?}"
            );
        }
    }
}
