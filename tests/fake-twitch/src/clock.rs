//! Wall-clock helpers: RFC 3339 timestamps as Twitch writes them, Unix seconds.

use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// `2019-01-28T04:17:53.325Z`, the shape of Twitch's entitlement timestamps.
pub(crate) fn rfc3339_millis(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_string())
}

/// `2019-01-28T00:00:00Z`: a date with a zero time, as analytics date ranges are written.
pub(crate) fn rfc3339_date(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T00:00:00Z");
    t.to_offset(UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// The current time as an RFC 3339 timestamp with milliseconds.
pub(crate) fn now_rfc3339() -> String {
    rfc3339_millis(OffsetDateTime::now_utc())
}

/// The current Unix time in seconds.
pub(crate) fn unix_now() -> u64 {
    OffsetDateTime::now_utc().unix_timestamp().max(0) as u64
}

/// The current Unix time in seconds, with its fraction.
pub(crate) fn unix_now_exact() -> f64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9).max(0.0)
}

/// Midnight (UTC) of the current day.
pub(crate) fn today_midnight() -> OffsetDateTime {
    OffsetDateTime::now_utc()
        .replace_time(time::Time::MIDNIGHT)
        .to_offset(UtcOffset::UTC)
}
