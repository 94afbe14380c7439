//! A string that must never be printed: client secrets, access and refresh tokens, device codes.

use std::fmt;
use std::sync::Arc;

/// A credential. `Debug` and `Display` print `<redacted>`; read it with [`Secret::expose`]
/// only where it goes on the wire. While any copy lives, text from servers is scrubbed of
/// it before it reaches an error (see [`scrub`](crate::scrub)).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        let value: Arc<str> = Arc::from(value.into());
        crate::redact::register(&value);
        Secret(value)
    }

    /// The credential itself, for building a request.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no credential was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
