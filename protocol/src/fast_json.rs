//! A reader for the JSON shapes Twitch answers most (an entitlements page, a PATCH
//! answer), for callers that read them directly and leave anything else to serde_json.
//!
//! It accepts a strict subset of JSON: objects, arrays and strings with no escape and no
//! control character, between JSON's white space. Every method answers `None` where the
//! text leaves that subset (or is not JSON at all): the caller then gives the whole body to
//! serde_json, which reads it (or refuses it) as it always did. Within the subset a string's
//! value is its text between the quotes, exactly what serde_json makes of it.

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
const QUOTE: u64 = u64::from_ne_bytes([b'"'; 8]);
const BACKSLASH: u64 = u64::from_ne_bytes([b'\\'; 8]);
const SPACE: u64 = u64::from_ne_bytes([0x20; 8]);

/// The high bit of each byte of `word` that is zero (the lowest one set marks the first
/// zero byte exactly; a borrow may also flag bytes above it).
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGH
}

/// The high bit of each byte that ends a plain string's text (a quote, a backslash, a byte
/// below 0x20), as for [`zero_bytes`].
fn string_ends(word: u64) -> u64 {
    zero_bytes(word ^ QUOTE)
        | zero_bytes(word ^ BACKSLASH)
        | (word.wrapping_sub(SPACE) & !word & HIGH)
}

/// True when `text` is written in JSON as it stands, between quotes: printable ASCII, no
/// quote, no backslash (what serde_json then writes too).
pub(crate) fn is_plain(text: &str) -> bool {
    let mut chunks = text.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        // Bytes from 0x7f up have their high bit set in `word` or in `word + ONES` (a
        // carry only comes from 0xff, itself caught).
        if (string_ends(word) | ((word | word.wrapping_add(ONES)) & HIGH)) != 0 {
            return false;
        }
    }
    chunks
        .remainder()
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

pub(crate) struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Reader { text, at: 0 }
    }

    /// Bytes not yet read.
    pub(crate) fn left(&self) -> usize {
        self.text.len() - self.at
    }

    /// True when nothing but white space is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_space();
        self.at == self.text.len()
    }

    fn skip_space(&mut self) {
        let bytes = self.text.as_bytes();
        while bytes
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
        {
            self.at += 1;
        }
    }

    /// The next byte after white space, taken if it is `byte`.
    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        if self.text.as_bytes().get(self.at) == Some(&byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// Takes `"key":` if it comes next exactly so (no white space): the usual layout of a
    /// known key, recognized without scanning it.
    pub(crate) fn eat_key(&mut self, key: &str) -> bool {
        let rest = &self.text.as_bytes()[self.at..];
        let n = key.len();
        let found = rest.len() > n + 2
            && rest[0] == b'"'
            && &rest[1..=n] == key.as_bytes()
            && rest[n + 1] == b'"'
            && rest[n + 2] == b':';
        if found {
            self.at += n + 3;
        }
        found
    }

    /// A string with no escape and no control character (else `None`).
    pub(crate) fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut at = start;
        // Eight bytes at a time: any quote, backslash or byte below 0x20 stops the scan.
        while let Some(chunk) = bytes.get(at..at + 8) {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            let special = string_ends(u64::from_le_bytes(word));
            if special != 0 {
                // The lowest flag marks the first special byte exactly (a borrow only
                // flags bytes above a true one).
                at += (special.trailing_zeros() / 8) as usize;
                break;
            }
            at += 8;
        }
        loop {
            match *bytes.get(at)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => at += 1,
            }
        }
        self.at = at + 1;
        self.text.get(start..at)
    }

    /// `{` member (`,` member)* `}`: `member` reads a key and its value (the key's quote
    /// is next when it is called).
    pub(crate) fn object(&mut self, mut member: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            self.skip_space();
            member(self)?;
            if self.eat(b'}') {
                return Some(());
            }
            self.expect(b',')?;
        }
    }

    /// `[` item (`,` item)* `]`.
    pub(crate) fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.expect(b'[')?;
        if self.eat(b']') {
            return Some(());
        }
        loop {
            item(self)?;
            if self.eat(b']') {
                return Some(());
            }
            self.expect(b',')?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_strings_and_refuses_escapes_and_control_characters() {
        for (text, read) in [
            (r#""""#, Some("")),
            (r#" "abc" "#, Some("abc")),
            (r#""0123456789abcdef0123""#, Some("0123456789abcdef0123")),
            (r#""é, ü and 😀 are text""#, Some("é, ü and 😀 are text")),
            (r#""a\"b""#, None),
            (r#""abcdefghij\n""#, None),
            ("\"abcdefghij\u{1f}\"", None),
            ("\"tab\tinside\"", None),
            (r#""unterminated"#, None),
            ("abc", None),
        ] {
            assert_eq!(Reader::new(text).string(), read, "{text}");
        }
    }

    #[test]
    fn plain_text_is_told_apart_byte_by_byte() {
        let plain = |b: u8| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\';
        for (len, fill) in (1..20).flat_map(|len| [b'a', b'~', b' '].map(|fill| (len, fill))) {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut bytes = vec![fill; len];
                    bytes[at] = b;
                    if let Ok(text) = std::str::from_utf8(&bytes) {
                        assert_eq!(is_plain(text), plain(b), "{bytes:?}");
                    }
                }
            }
        }
        assert!(!is_plain("01234567é"));
        assert!(!is_plain("é01234567"));
    }

    #[test]
    fn takes_a_known_key_only_as_written() {
        let mut reader = Reader::new(r#""id":"x""#);
        assert!(!reader.eat_key("i"));
        assert!(!reader.eat_key("idx"));
        assert!(reader.eat_key("id"));
        assert_eq!(reader.string(), Some("x"));
        assert!(reader.at_end());
        assert!(!Reader::new(r#""id" :"x""#).eat_key("id"));
        assert!(!Reader::new(r#""id""#).eat_key("id"));
    }
}
