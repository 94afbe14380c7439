//! The entitlement record, exactly as Helix writes it.

use serde::{Deserialize, Serialize};

/// `CLAIMED`: granted to a viewer, not yet delivered in game.
pub const CLAIMED: &str = "CLAIMED";
/// `FULFILLED`: delivered in game.
pub const FULFILLED: &str = "FULFILLED";

/// One Drops entitlement; field names and shapes are Twitch's (timestamps RFC 3339).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Entitlement {
    /// Entitlement id; seeded ids are UUID-shaped.
    pub id: String,
    /// The benefit (reward) this entitlement grants.
    pub benefit_id: String,
    /// When the viewer earned it.
    pub timestamp: String,
    /// The viewer's Twitch user id.
    pub user_id: String,
    /// The game the viewer was watching.
    pub game_id: String,
    /// `CLAIMED` or `FULFILLED`.
    pub fulfillment_status: String,
    /// When the status last changed.
    pub last_updated: String,
}

/// True for `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` with hex digits (either case); anything
/// else is what Helix calls a malformed id (`INVALID_ID`).
pub(crate) fn is_uuid_shaped(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        assert!(is_uuid_shaped("fb78259e-fb81-4d1b-8333-34a06ffc24c0"));
        assert!(is_uuid_shaped("FB78259E-FB81-4D1B-8333-34A06FFC24C0"));
        assert!(!is_uuid_shaped("fb78259e-fb81-4d1b-8333-34a06ffc24c"));
        assert!(!is_uuid_shaped("fb78259e_fb81-4d1b-8333-34a06ffc24c0"));
        assert!(!is_uuid_shaped("zb78259e-fb81-4d1b-8333-34a06ffc24c0"));
        assert!(!is_uuid_shaped(""));
    }
}
