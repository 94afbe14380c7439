//! Remembering EventSub message ids, so a message Twitch delivers twice is acted on once.

use std::collections::{HashSet, VecDeque};

#[cfg(doc)]
use super::verify;
use super::{MAX_CLOCK_SKEW_MS, MAX_MESSAGE_AGE_MS};

/// Message ids seen recently, so a message Twitch delivers twice is acted on once.
///
/// An id is remembered for 20 minutes after it is first seen: longer than [`verify`]
/// accepts a message (10 minutes either side of its timestamp), so a replay is either
/// refused as stale or known here. Memory is bounded: past `capacity` ids, the oldest are
/// forgotten first.
#[derive(Clone, Debug)]
pub struct Deduplicator {
    seen: HashSet<String>,
    order: VecDeque<(u64, String)>,
    capacity: usize,
}

impl Deduplicator {
    /// Ids remembered at most, by default.
    pub const DEFAULT_CAPACITY: usize = 100_000;
    /// How long an id is remembered.
    pub const WINDOW_MS: u64 = MAX_MESSAGE_AGE_MS + MAX_CLOCK_SKEW_MS;

    /// Remembers up to [`Self::DEFAULT_CAPACITY`] ids.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// Remembers up to `capacity` ids (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Deduplicator {
            seen: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// True the first time `message_id` is seen (and remembers it), false for a repeat.
    pub fn first_time(&mut self, message_id: &str, now_ms: u64) -> bool {
        self.expire(now_ms);
        if self.seen.contains(message_id) {
            return false;
        }
        while self.order.len() >= self.capacity {
            self.evict_oldest();
        }
        self.seen.insert(message_id.to_string());
        self.order.push_back((now_ms, message_id.to_string()));
        true
    }

    /// Forgets the ids first seen [`Self::WINDOW_MS`] or more before `now_ms`.
    pub fn expire(&mut self, now_ms: u64) {
        while self
            .order
            .front()
            .is_some_and(|(at, _)| at.saturating_add(Self::WINDOW_MS) <= now_ms)
        {
            self.evict_oldest();
        }
    }

    /// True when `message_id` is remembered.
    pub fn contains(&self, message_id: &str) -> bool {
        self.seen.contains(message_id)
    }

    /// The ids remembered, oldest first, each with when it was first seen.
    pub fn entries(&self) -> impl Iterator<Item = (u64, &str)> {
        self.order.iter().map(|(at, id)| (*at, id.as_str()))
    }

    fn evict_oldest(&mut self) {
        if let Some((_, id)) = self.order.pop_front() {
            self.seen.remove(&id);
        }
    }

    /// Forgets `message_id`, so its next delivery counts as a first: call it when handling
    /// the message failed and Twitch should send it again. True if it was remembered.
    pub fn forget(&mut self, message_id: &str) -> bool {
        if !self.seen.remove(message_id) {
            return false;
        }
        self.order.retain(|(_, id)| id != message_id);
        true
    }

    /// Ids remembered now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

impl Default for Deduplicator {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deduplicator_forgets_after_the_window_and_past_capacity() {
        let mut seen = Deduplicator::with_capacity(2);
        assert!(seen.first_time("a", 0));
        assert!(!seen.first_time("a", 1));
        assert!(seen.first_time("b", 2));
        assert!(seen.first_time("c", 3));
        assert_eq!(seen.len(), 2);
        assert!(
            seen.first_time("a", 4),
            "evicted as the oldest past capacity"
        );

        let mut seen = Deduplicator::new();
        assert!(seen.first_time("x", 1_000));
        assert!(!seen.first_time("x", 1_000 + Deduplicator::WINDOW_MS - 1));
        assert!(seen.first_time("x", 1_000 + Deduplicator::WINDOW_MS));
    }

    #[test]
    fn forget_lets_an_id_through_again() {
        let mut seen = Deduplicator::new();
        assert!(seen.first_time("m", 0));
        assert!(seen.forget("m"));
        assert!(!seen.forget("m"));
        assert!(seen.first_time("m", 1));
        assert_eq!(seen.len(), 1);
    }
}
