//! Twitch's rate limit, in one place: the `Ratelimit-*` headers, the bucket a session paces
//! every Helix request by, and the wait after a 429.
//!
//! Twitch's bucket is a token bucket: `Ratelimit-Limit` points come back every minute,
//! continuously, up to the bucket's size; `Ratelimit-Remaining` is what is left after the
//! request; `Ratelimit-Reset` is when the bucket is *full* again (Unix seconds, on the
//! server's clock). So a request may go as soon as one point is back — not only at the reset.
//!
//! [`Bucket`] models that from the readings: points refill at `limit / 60` per second,
//! every request takes one point when it is let out (so requests still out are counted),
//! and a request that would find the bucket empty is held back just long enough. Every
//! wait is a difference of times on one clock (the local one between two local instants, or
//! `Ratelimit-Reset` against the same response's `Date`), so a local clock minutes off the
//! server's changes nothing, and no wait lasts longer than the bucket's window.

use std::time::Duration;

use crate::http::HttpResponse;
use crate::retry::{Backoff, RetryPolicy};

/// The longest any rate-limit wait lasts: Twitch's bucket refills within a minute, so a
/// server naming a later reset is not believed.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// Points the pacer leaves in the bucket (rounding, a reading a little old).
const RESERVE: f64 = 1.0;

/// The bucket as one response described it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// Points that come back per minute (`Ratelimit-Limit`).
    pub limit: u32,
    /// Points left (`Ratelimit-Remaining`).
    pub remaining: u32,
    /// When the bucket is full again, Unix seconds on the server's clock (`Ratelimit-Reset`).
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

    /// Milliseconds from `now_ms` until the reset (zero when it has passed), taking `now_ms`
    /// to be on the server's clock. The library itself never compares the reset with the
    /// local clock: see [`RateLimit::until_full`].
    pub fn until_reset(&self, now_ms: u64) -> Duration {
        Duration::from_millis(
            self.reset_at_secs
                .saturating_mul(1000)
                .saturating_sub(now_ms),
        )
    }

    /// How long until the bucket is full, on the server's own clock: `Ratelimit-Reset`
    /// against the `Date` of the same response, capped at the bucket's window. `None` when
    /// the response has no readable `Date`.
    pub fn until_full(&self, response: &HttpResponse) -> Option<Duration> {
        let date = http_date(response.header("date")?)?;
        Some(Duration::from_secs(self.reset_at_secs.saturating_sub(date)).min(WINDOW))
    }

    /// Milliseconds for one point to come back; `None` for a limit of 0.
    fn ms_per_point(&self) -> Option<f64> {
        (self.limit > 0).then(|| 60_000.0 / f64::from(self.limit))
    }
}

/// The session's model of Twitch's bucket: what pacing decides by.
///
/// [`Bucket::reserve`] takes a point for a request about to go out and says how long to hold
/// it back; [`Bucket::answered`] hands back the answer's reading. Before any reading nothing
/// is held back.
#[derive(Debug, Default)]
pub(crate) struct Bucket {
    model: Option<Model>,
    /// Requests let out (or held back) and not yet answered.
    out: u32,
    /// The number of the last request reserved.
    next: u64,
    /// The newest request whose reading the model holds: an older answer arriving late
    /// describes the bucket as it was before, and is not taken.
    applied: u64,
    /// The newest reading, as it came.
    last: Option<RateLimit>,
}

/// Points in the bucket at a local instant, and how fast they come back.
#[derive(Clone, Copy, Debug)]
struct Model {
    /// Points at `at_ms`; below zero when requests are held back for points to come.
    points: f64,
    at_ms: u64,
    ms_per_point: f64,
    /// The most the bucket holds.
    size: f64,
}

impl Model {
    fn refill(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.at_ms) as f64;
        self.points = (self.points + elapsed / self.ms_per_point).min(self.size);
        self.at_ms = self.at_ms.max(now_ms);
    }
}

impl Bucket {
    /// Takes a point for a request about to go out. Returns the request's number (for
    /// [`Bucket::answered`]) and how long to hold it back first (zero: send it now).
    pub(crate) fn reserve(&mut self, now_ms: u64) -> (u64, Duration) {
        self.next += 1;
        self.out += 1;
        let Some(model) = &mut self.model else {
            return (self.next, Duration::ZERO);
        };
        model.refill(now_ms);
        let short = 1.0 + RESERVE - model.points;
        model.points -= 1.0;
        let wait = if short <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((short * model.ms_per_point / 1000.0).min(WINDOW.as_secs_f64()))
        };
        (self.next, wait)
    }

    /// The answer to request `number` came back: `response` when there was one. A reading
    /// newer than the model's replaces it, counting the requests still out as spent. A limit
    /// of 0 is no bucket to pace by: requests go, and a 429 is waited out.
    pub(crate) fn answered(&mut self, number: u64, response: Option<&HttpResponse>, now_ms: u64) {
        self.out = self.out.saturating_sub(1);
        let Some(response) = response else { return };
        let Some(reading) = RateLimit::from_response(response) else {
            return;
        };
        if number <= self.applied {
            return;
        }
        self.applied = number;
        self.last = Some(reading);
        let remaining = f64::from(reading.remaining);
        let Some(ms_per_point) = reading.ms_per_point() else {
            self.model = None;
            return;
        };
        // Full at the reset: the size is what is left plus what comes back until then (less a
        // second, as the reset is rounded up). Without a `Date`, Twitch's usual size.
        let size = match reading.until_full(response) {
            Some(full_in) => {
                let filling = full_in.saturating_sub(Duration::from_secs(1));
                remaining + filling.as_millis() as f64 / ms_per_point
            }
            None => f64::from(reading.limit),
        };
        self.model = Some(Model {
            points: remaining - f64::from(self.out),
            at_ms: now_ms,
            ms_per_point,
            size: size.max(remaining),
        });
    }

    /// The newest reading.
    pub(crate) fn last(&self) -> Option<RateLimit> {
        self.last
    }
}

/// How long to wait after a 429 before resending. An empty bucket waits for points to come
/// back (two points' time, no longer than until it is full on the server's clock); the
/// session's pacing then spaces the resends. A 429 with points left (not rate limiting,
/// twitchdev/issues#958) or without headers (a browser) backs off instead. Never longer than
/// the bucket's window.
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
        return Duration::from_secs(secs).min(WINDOW);
    }
    match RateLimit::from_response(response) {
        Some(limit) if limit.remaining == 0 => {
            let refill = limit.ms_per_point().map_or(WINDOW, |ms| {
                Duration::from_millis(((1.0 + RESERVE) * ms).ceil() as u64)
            });
            let full = limit.until_full(response).unwrap_or(WINDOW);
            refill.min(full).min(WINDOW)
        }
        _ => backoff.next_delay(policy, now_ms).min(WINDOW),
    }
}

/// Reads an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110's IMF-fixdate) as Unix
/// seconds.
fn http_date(value: &str) -> Option<u64> {
    let mut parts = value.split_ascii_whitespace();
    let _weekday = parts.next()?;
    let day: u8 = parts.next()?.parse().ok()?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = parts.next()?;
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? as u8 + 1;
    let year: i32 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|n| n.parse::<u8>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || parts.next().is_some() || clock.next().is_some() {
        return None;
    }
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let time = time::Time::from_hms(hour, minute, second).ok()?;
    u64::try_from(date.with_time(time).assume_utc().unix_timestamp()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reading whose server clock says `date` (Unix seconds).
    fn limited(remaining: u32, reset: u64, date: Option<u64>) -> HttpResponse {
        let mut r = HttpResponse::new(429, "")
            .with_header("Ratelimit-Limit", "800")
            .with_header("Ratelimit-Remaining", remaining.to_string())
            .with_header("Ratelimit-Reset", reset.to_string());
        if let Some(date) = date {
            let t = time::OffsetDateTime::from_unix_timestamp(date as i64).unwrap();
            let fmt = time::macros::format_description!(
                "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
            );
            r = r.with_header("Date", t.format(&fmt).unwrap());
        }
        r
    }

    #[test]
    fn http_dates_are_read() {
        assert_eq!(http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784111777));
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37:01 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
        ] {
            assert_eq!(http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_empty_bucket_waits_for_two_points_not_for_the_reset() {
        let mut b = Backoff::default();
        let p = RetryPolicy::default();
        // 800 a minute: a point every 75 ms.
        let wait = wait_after_429(&limited(0, 1_000_010, None), 1_000_000_000, &mut b, &p);
        assert_eq!(wait, Duration::from_millis(150));
    }

    #[test]
    fn a_429_wait_is_measured_on_the_servers_clock_and_capped() {
        let mut b = Backoff::default();
        let p = RetryPolicy::default();
        // Full in one second on the server's clock, whatever the local clock says.
        let soon = limited(0, 5_000_001, Some(5_000_000));
        for now in [0, 5_000_000_000, u64::MAX] {
            assert_eq!(
                wait_after_429(&soon, now, &mut b, &p),
                Duration::from_millis(150)
            );
        }
        let mut one_per_hour = limited(0, 5_000_000 + 3600, Some(5_000_000));
        one_per_hour.headers[0].1 = "1".into();
        assert_eq!(wait_after_429(&one_per_hour, 0, &mut b, &p), WINDOW);
        let mut full_now = limited(0, 5_000_000, Some(5_000_000));
        full_now.headers[0].1 = "1".into();
        assert_eq!(wait_after_429(&full_now, 0, &mut b, &p), Duration::ZERO);
        let retry_after = HttpResponse::new(429, "").with_header("Retry-After", "100000");
        assert_eq!(wait_after_429(&retry_after, 0, &mut b, &p), WINDOW);
    }

    #[test]
    fn spurious_429_backs_off() {
        let mut b = Backoff::default();
        let p = RetryPolicy::default();
        let wait = wait_after_429(&limited(700, 1_000_060, None), 1_000_000_000, &mut b, &p);
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

    #[test]
    fn the_bucket_lets_requests_out_as_points_come_back() {
        let mut bucket = Bucket::default();
        // No reading yet: nothing held back.
        let (first, wait) = bucket.reserve(0);
        assert_eq!(wait, Duration::ZERO);
        // 3 points left, 600 a minute (one per 100 ms), full in 10 s on the server's clock.
        let reading = limited_at(600, 3, 1_010, 1_000);
        bucket.answered(first, Some(&reading), 1_000);
        let waits: Vec<u64> = (0..5)
            .map(|_| bucket.reserve(1_000).1.as_millis() as u64)
            .collect();
        // Two go at once (one point kept back), then one per point.
        assert_eq!(waits, [0, 0, 100, 200, 300]);
        // A second later 10 points have come back: 3 - 5 taken + 10 = 8.
        assert_eq!(bucket.reserve(2_000).1, Duration::ZERO);
    }

    #[test]
    fn requests_still_out_count_and_old_readings_are_not_taken() {
        let mut bucket = Bucket::default();
        let (a, _) = bucket.reserve(0);
        let (b, _) = bucket.reserve(0);
        let (c, _) = bucket.reserve(0);
        // c answers first: 2 left, with a and b still out (counted as spent).
        bucket.answered(c, Some(&limited(2, 10, Some(9))), 0);
        // a answers late with an older, fuller reading: not taken.
        bucket.answered(a, Some(&limited(50, 10, Some(9))), 0);
        assert_eq!(bucket.last().unwrap().remaining, 2);
        bucket.answered(b, None, 0);
        // 2 - 2 out = 0 points: 800 a minute, two points' time to wait.
        assert_eq!(bucket.reserve(0).1, Duration::from_millis(150));
    }

    #[test]
    fn a_hostile_reading_never_holds_a_request_past_the_window() {
        // One point an hour: two points' time is two hours, held back a minute at most.
        let mut bucket = Bucket::default();
        let (n, _) = bucket.reserve(0);
        bucket.answered(n, Some(&limited_at(1, 0, u64::MAX, 0)), 0);
        assert_eq!(bucket.reserve(0).1, WINDOW);
        // A limit of 0 is no bucket to pace by: requests go, and 429s are waited out.
        let mut bucket = Bucket::default();
        let (n, _) = bucket.reserve(0);
        bucket.answered(n, Some(&limited_at(0, 0, u64::MAX, 0)), 0);
        assert_eq!(bucket.reserve(0).1, Duration::ZERO);
    }

    #[test]
    fn the_bucket_never_holds_more_than_it_can() {
        let mut bucket = Bucket::default();
        let (n, _) = bucket.reserve(0);
        // 0 left, full in 3 s at 10 a second: a bucket of about 20 (30 less a second).
        bucket.answered(n, Some(&limited_at(600, 0, 103, 100)), 0);
        // An hour later it holds 20, not 36 000: the 21st request waits.
        let hour = 3_600_000;
        let waits: Vec<bool> = (0..21).map(|_| bucket.reserve(hour).1.is_zero()).collect();
        assert_eq!(waits.iter().filter(|w| **w).count(), 19, "{waits:?}");
    }

    fn limited_at(limit: u32, remaining: u32, reset: u64, date: u64) -> HttpResponse {
        let mut r = limited(remaining, reset, Some(date));
        r.headers[0].1 = limit.to_string();
        r
    }
}
