//! Helix's token buckets: one per client id for app tokens, one per (client id, user)
//! for user tokens.

use std::collections::HashMap;
use std::time::Instant;

use crate::clock::{unix_now, unix_now_exact};

/// What the `Ratelimit-*` headers say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quota {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    /// Unix seconds when the bucket is full again.
    pub(crate) reset: u64,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    points: f64,
    last: Instant,
}

/// All buckets and their shape.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_minute: u32,
    burst: u32,
    buckets: HashMap<String, Bucket>,
}

impl RateLimiter {
    /// `per_minute` 0 disables limiting; `burst` 0 means `per_minute`.
    pub(crate) fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            burst: if burst == 0 { per_minute } else { burst },
            buckets: HashMap::new(),
        }
    }

    /// Change the shape; every bucket starts full again.
    pub(crate) fn configure(&mut self, per_minute: u32, burst: u32) {
        *self = RateLimiter::new(per_minute, burst);
    }

    /// Refill all buckets.
    pub(crate) fn refill_all(&mut self) {
        self.buckets.clear();
    }

    fn enabled(&self) -> bool {
        self.per_minute > 0
    }

    fn bucket(&mut self, key: &str) -> &mut Bucket {
        let now = Instant::now();
        let rate = self.per_minute as f64 / 60.0;
        let burst = self.burst as f64;
        let bucket = self.buckets.entry(key.to_string()).or_insert(Bucket {
            points: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.points = (bucket.points + elapsed * rate).min(burst);
        bucket.last = now;
        bucket
    }

    /// The headers for a bucket holding `points` at Unix time `now` (seconds). The reset is
    /// rounded up to a whole second: a bucket is full by then. Rounding `now` down instead
    /// promised points up to a second before they were there, and a client that waited for
    /// the reset met a 429.
    fn quota(&self, points: f64, now: f64) -> Quota {
        let rate = self.per_minute as f64 / 60.0;
        let missing = (self.burst as f64 - points).max(0.0);
        Quota {
            limit: self.per_minute,
            remaining: points.floor().max(0.0) as u32,
            reset: (now + missing / rate).ceil() as u64,
        }
    }

    fn unlimited() -> Quota {
        Quota {
            limit: 800,
            remaining: 800,
            reset: unix_now(),
        }
    }

    /// The bucket's state without spending.
    pub(crate) fn peek(&mut self, key: &str) -> Quota {
        if !self.enabled() {
            return Self::unlimited();
        }
        let points = self.bucket(key).points;
        self.quota(points, unix_now_exact())
    }

    /// Spend one point: Ok with the quota after spending, Err (Remaining 0) when empty.
    pub(crate) fn take(&mut self, key: &str) -> Result<Quota, Quota> {
        if !self.enabled() {
            return Ok(Self::unlimited());
        }
        let bucket = self.bucket(key);
        if bucket.points < 1.0 {
            let points = bucket.points;
            return Err(self.quota(points, unix_now_exact()));
        }
        bucket.points -= 1.0;
        let points = bucket.points;
        Ok(self.quota(points, unix_now_exact()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empties_then_refuses() {
        let mut rl = RateLimiter::new(60, 2);
        assert_eq!(rl.take("a").unwrap().remaining, 1);
        assert_eq!(rl.take("a").unwrap().remaining, 0);
        let refused = rl.take("a").unwrap_err();
        assert_eq!(refused.remaining, 0);
        assert!(refused.reset >= unix_now());
        // Another bucket is untouched.
        assert_eq!(rl.peek("b").remaining, 2);
    }

    #[test]
    fn reset_is_when_the_bucket_is_full_rounded_up() {
        // 600 a minute refills 10 points a second; 6 missing take 0.6 s.
        let rl = RateLimiter::new(600, 8);
        assert_eq!(rl.quota(2.0, 1000.7).reset, 1002, "full at 1001.3");
        assert_eq!(rl.quota(2.0, 1000.2).reset, 1001, "full at 1000.8");
        assert_eq!(
            rl.quota(8.0, 1000.2).reset,
            1001,
            "full now: the next whole second"
        );
        assert_eq!(rl.quota(8.0, 1000.0).reset, 1000, "full at a whole second");
    }

    #[test]
    fn zero_disables() {
        let mut rl = RateLimiter::new(0, 0);
        for _ in 0..10_000 {
            assert!(rl.take("a").is_ok());
        }
    }
}
