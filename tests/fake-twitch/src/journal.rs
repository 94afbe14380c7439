//! The record of requests the fake answered.

use serde::{Deserialize, Serialize};

/// One request as the fake saw it (admin routes are not journaled).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JournalEntry {
    /// `GET`, `POST`, `PATCH`, `OPTIONS`, ...
    pub method: String,
    /// Path without the query, e.g. `/helix/entitlements/drops`.
    pub path: String,
    /// Raw query string, possibly empty.
    pub query: String,
    /// Status sent; 0 when the connection was dropped without a response.
    pub status: u16,
    /// Milliseconds since the server started (or was last reset) when the request arrived.
    pub at_ms: u64,
    /// Number of `entitlement_ids` in a PATCH body (0 otherwise).
    pub body_ids: usize,
}
