//! Twitch's rate limit: the `Ratelimit-*` headers of every response, and how long to wait
//! after a 429 before resending.

use std::time::Duration;

use crate::http::HttpResponse;
use crate::retry::{Backoff, RetryPolicy};

/// The bucket as the last response described it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// Points the bucket holds when full (`Ratelimit-Limit`).
    pub limit: u32,
    /// Points left (`Ratelimit-Remaining`).
    pub remaining: u32,
    /// When the bucket is full again, Unix seconds (`Ratelimit-Reset`).
    pub reset_at_secs: u64,
}

impl RateLimit {
    /// Reads the three headers; `None` when any is missing or malformed (browsers cannot read
    /// them over CORS, and non-Helix hosts do not send them).
    pub fn from_response(response: &HttpResponse) -> Option<RateLimit> {
        let number = |name| response.header(name)?.trim().parse::<u64>().ok();
        Some(RateLimit {
            limit: u32::try_from(number("ratelimit-limit")?).ok()?,
            remaining: u32::try_from(number("ratelimit-remaining")?).ok()?,
            reset_at_secs: number("ratelimit-reset")?,
        })
    }

    /// Milliseconds from `now_ms` until the reset (zero when it has passed).
    pub fn until_reset(&self, now_ms: u64) -> Duration {
        Duration::from_millis(
            self.reset_at_secs
                .saturating_mul(1000)
                .saturating_sub(now_ms),
        )
    }
}

/// Longest wait for one 429: Twitch's bucket refills within a minute.
const MAX_RESET_WAIT: Duration = Duration::from_secs(65);
/// Margin after the reset instant, so the resend lands after the refill.
const RESET_MARGIN: Duration = Duration::from_millis(250);

/// How long to wait after a 429 before resending. An empty bucket waits for its reset; a
/// 429 with points left (not rate limiting, twitchdev/issues#958) or without headers (a
/// browser) backs off instead.
pub(crate) fn wait_after_429(
    response: &HttpResponse,
    now_ms: u64,
    backoff: &mut Backoff,
    policy: &RetryPolicy,
) -> Duration {
    if let Some(secs) = response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Duration::from_secs(secs).min(MAX_RESET_WAIT);
    }
    match RateLimit::from_response(response) {
        Some(limit) if limit.remaining == 0 => {
            (limit.until_reset(now_ms) + RESET_MARGIN).min(MAX_RESET_WAIT)
        }
        _ => backoff.next_delay(policy, now_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(remaining: u32, reset: u64) -> HttpResponse {
        HttpResponse::new(429, "")
            .with_header("Ratelimit-Limit", "800")
            .with_header("Ratelimit-Remaining", remaining.to_string())
            .with_header("Ratelimit-Reset", reset.to_string())
    }

    #[test]
    fn empty_bucket_waits_for_reset() {
        let mut b = Backoff::default();
        let p = RetryPolicy::default();
        let wait = wait_after_429(&limited(0, 1_000_010), 1_000_000_000, &mut b, &p);
        assert_eq!(wait, Duration::from_millis(10_250));
    }

    #[test]
    fn reset_in_the_past_waits_only_the_margin() {
        let mut b = Backoff::default();
        let p = RetryPolicy::default();
        assert_eq!(
            wait_after_429(&limited(0, 5), 1_000_000_000, &mut b, &p),
            RESET_MARGIN
        );
    }

    #[test]
    fn spurious_429_backs_off() {
        let mut b = Backoff::default();
        let p = RetryPolicy::default();
        let wait = wait_after_429(&limited(700, 1_000_060), 1_000_000_000, &mut b, &p);
        assert!(wait <= p.base_delay, "{wait:?}");
    }

    #[test]
    fn headers_are_read_case_insensitively() {
        let r = HttpResponse::new(200, "")
            .with_header("ratelimit-limit", "800")
            .with_header("RATELIMIT-REMAINING", "799")
            .with_header("Ratelimit-Reset", "1700000000");
        assert_eq!(
            RateLimit::from_response(&r),
            Some(RateLimit {
                limit: 800,
                remaining: 799,
                reset_at_secs: 1_700_000_000
            })
        );
        assert_eq!(RateLimit::from_response(&HttpResponse::new(200, "")), None);
    }
}
