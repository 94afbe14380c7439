//! The entitlements a journal settled, remembered for a bounded time.

use std::collections::HashMap;
use std::time::Duration;

use crate::hash::{Digested, IdDigest};

/// How long a journal remembers a settled entitlement: longer than Twitch keeps a listing
/// stale, about the weeks it honours a claim. Within it, an entitlement Twitch lists as
/// CLAIMED again after it was settled is not granted again.
pub const SETTLED_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The ids of settled entitlements, each with when it was settled (ms since the Unix
/// epoch), kept as a 64-bit hash: sixteen bytes per id, whatever its length. The hash is
/// keyed at random (per set, from the operating system), so a server cannot choose ids
/// that collide; a collision by chance would only leave a fresh entitlement CLAIMED (refused
/// like a settled one), never grant one twice.
#[derive(Clone, Debug, Default)]
pub struct SettledIds {
    at: HashMap<u64, u64, Digested>,
    digest: IdDigest,
}

impl SettledIds {
    /// None remembered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers `id` as settled at `at_ms` (the later time if it already was).
    pub fn insert(&mut self, id: &str, at_ms: u64) {
        self.insert_digest(self.digest.of(id), at_ms);
    }

    /// Forgets `id` (granted anew, e.g. a studio's own choice).
    pub fn remove(&mut self, id: &str) {
        self.at.remove(&self.digest.of(id));
    }

    /// True when `id` was settled and not yet forgotten.
    pub fn contains(&self, id: &str) -> bool {
        !self.at.is_empty() && self.contains_digest(self.digest.of(id))
    }

    /// When `id` was settled, if it is remembered.
    pub fn settled_at(&self, id: &str) -> Option<u64> {
        self.at.get(&self.digest.of(id)).copied()
    }

    /// The digest standing for `id` in this set: for a caller that looks an id up now and
    /// inserts it later, with one hash for both.
    pub(crate) fn digest(&self, id: &str) -> u64 {
        self.digest.of(id)
    }

    /// [`contains`](Self::contains) by digest.
    pub(crate) fn contains_digest(&self, digest: u64) -> bool {
        !self.at.is_empty() && self.at.contains_key(&digest)
    }

    /// [`insert`](Self::insert) by digest.
    pub(crate) fn insert_digest(&mut self, digest: u64, at_ms: u64) {
        let at = self.at.entry(digest).or_insert(at_ms);
        *at = (*at).max(at_ms);
    }

    /// Forgets ids settled more than [`SETTLED_RETENTION`] before `now_ms`.
    pub fn expire(&mut self, now_ms: u64) {
        let oldest = now_ms.saturating_sub(SETTLED_RETENTION.as_millis() as u64);
        self.at.retain(|_, at| *at >= oldest);
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.at.len()
    }

    /// True when none is remembered.
    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_for_the_retention_then_forgets() {
        let day = 24 * 60 * 60 * 1000;
        let mut settled = SettledIds::new();
        settled.insert("a", 10 * day);
        settled.insert("b", 20 * day);
        settled.expire(40 * day + 1);
        assert!(!settled.contains("a"), "past 30 days");
        assert!(settled.contains("b"));
        assert_eq!(settled.len(), 1);
    }
}
