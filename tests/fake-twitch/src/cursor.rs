//! Opaque pagination cursors.
//!
//! By default a cursor names the position, in the store's stable order, of the last item
//! returned (keyset paging), so updating items between pages never skips or repeats any.
//! With `positional_cursors` it is an offset into the current filtered list instead, the
//! behaviour that skips items when a filter's result shrinks between pages.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Where the next page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cursor {
    /// First page.
    Start,
    /// After the item at this position of the stable order.
    After(usize),
    /// Skip this many items of the filtered list.
    Offset(usize),
}

const KEYSET: &str = "after";
const OFFSET: &str = "offset";

impl Cursor {
    /// The opaque text handed to clients; `Start` has none.
    pub(crate) fn encode(self) -> Option<String> {
        let plain = match self {
            Cursor::Start => return None,
            Cursor::After(pos) => format!("{{\"{KEYSET}\":{pos}}}"),
            Cursor::Offset(n) => format!("{{\"{OFFSET}\":{n}}}"),
        };
        Some(URL_SAFE_NO_PAD.encode(plain))
    }

    /// Parse a client's cursor; None for anything this server did not hand out in the
    /// current mode.
    pub(crate) fn decode(text: &str, positional: bool) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
        let plain = String::from_utf8(bytes).ok()?;
        let inner = plain.strip_prefix("{\"")?.strip_suffix('}')?;
        let (tag, number) = inner.split_once("\":")?;
        let number: usize = number.parse().ok()?;
        match (tag, positional) {
            (KEYSET, false) => Some(Cursor::After(number)),
            (OFFSET, true) => Some(Cursor::Offset(number)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for c in [Cursor::After(0), Cursor::After(12345)] {
            assert_eq!(Cursor::decode(&c.encode().unwrap(), false), Some(c));
            assert_eq!(Cursor::decode(&c.encode().unwrap(), true), None);
        }
        let c = Cursor::Offset(40);
        assert_eq!(Cursor::decode(&c.encode().unwrap(), true), Some(c));
        assert_eq!(Cursor::Start.encode(), None);
    }

    #[test]
    fn garbage_is_refused() {
        for text in ["", "garbage", "!!!", "eyJhIjoxfQ", "MTIz"] {
            assert_eq!(Cursor::decode(text, false), None, "{text}");
            assert_eq!(Cursor::decode(text, true), None, "{text}");
        }
    }
}
