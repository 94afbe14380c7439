//! Hashing of ids that come from Twitch (or a journal): maps keyed by them, and the 64-bit
//! hashes that stand for them in sets that must stay small.
//!
//! The server chooses the ids, so neither may let it choose collisions:
//! - maps keyed by an id use foldhash with a seed random per process and per map (no list
//!   of ids collides for every instance), at a fraction of SipHash's cost on short ids;
//! - a 64-bit hash kept *instead of* an id ([`IdDigest`]) is SipHash-1-3 under keys the
//!   standard library draws from the operating system, so a server that does not know the
//!   keys cannot make two ids share a digest; sets of such digests hash them no further
//!   ([`Digested`]).

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// The hasher of maps and sets keyed by ids.
pub(crate) type IdHasher = foldhash::fast::RandomState;
/// A map keyed by ids.
pub(crate) type IdMap<K, V> = HashMap<K, V, IdHasher>;
/// A set of ids.
pub(crate) type IdSet<K> = HashSet<K, IdHasher>;

/// An empty [`IdMap`] with room for `capacity` entries.
pub(crate) fn id_map<K, V>(capacity: usize) -> IdMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, IdHasher::default())
}

/// An empty [`IdSet`] with room for `capacity` entries.
pub(crate) fn id_set<K>(capacity: usize) -> IdSet<K> {
    HashSet::with_capacity_and_hasher(capacity, IdHasher::default())
}

/// Stands a 64-bit digest for an id: SipHash-1-3 under random keys (the standard library's,
/// from the operating system), fixed for the life of the value, so digests of one instance
/// compare. Cloning keeps the keys.
#[derive(Clone, Debug, Default)]
pub(crate) struct IdDigest(RandomState);

impl IdDigest {
    /// The digest of `id`.
    pub(crate) fn of(&self, id: &str) -> u64 {
        self.0.hash_one(id)
    }
}

/// The hasher of maps and sets whose keys are [`IdDigest`] digests already: keyed and
/// uniform, so they are used as they are.
pub(crate) type Digested = BuildHasherDefault<PassThrough>;

/// Passes a `u64` key through ([`Digested`]).
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 digests are hashed here (`write_u64`); anything else is folded in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_stable_per_instance_and_keyed() {
        let digest = IdDigest::default();
        assert_eq!(digest.of("a"), digest.clone().of("a"));
        assert_ne!(digest.of("a"), digest.of("b"));
        // Another instance has other keys (a collision of all 64 bits is not expected).
        assert_ne!(digest.of("a"), IdDigest::default().of("a"));
    }
}
