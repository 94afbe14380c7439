//! Analytics report downloads: short-lived URLs that serve a deterministic CSV.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use time::{Date, OffsetDateTime};

use crate::clock::rfc3339_date;
use crate::rng::{hash_str, Rng, TOKEN_ALPHABET};

/// The most rows a report holds (the last days of its range).
const MAX_ROWS: i64 = 7;

#[derive(Clone, Debug)]
struct Report {
    game_id: String,
    started_at: OffsetDateTime,
    ended_at: OffsetDateTime,
    expires_at: Instant,
}

/// What a download gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Download {
    Csv(String),
    Expired,
    Unknown,
}

/// Report links handed out so far.
#[derive(Debug)]
pub(crate) struct Reports {
    reports: HashMap<String, Report>,
    rng: Rng,
    ttl: Duration,
}

impl Reports {
    pub(crate) fn new(ttl_secs: u64) -> Reports {
        Reports {
            reports: HashMap::new(),
            rng: Rng::from_clock(),
            ttl: Duration::from_secs(ttl_secs),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.reports.clear();
    }

    /// Register a report and return its file name (`<random>.csv`).
    pub(crate) fn create(
        &mut self,
        game_id: &str,
        started_at: OffsetDateTime,
        ended_at: OffsetDateTime,
    ) -> String {
        let name = format!("{}.csv", self.rng.string(32, TOKEN_ALPHABET));
        self.reports.insert(
            name.clone(),
            Report {
                game_id: game_id.to_string(),
                started_at,
                ended_at,
                expires_at: Instant::now() + self.ttl,
            },
        );
        name
    }

    pub(crate) fn download(&self, name: &str) -> Download {
        match self.reports.get(name) {
            None => Download::Unknown,
            Some(r) if Instant::now() >= r.expires_at => Download::Expired,
            Some(r) => Download::Csv(csv(&r.game_id, r.started_at, r.ended_at)),
        }
    }
}

/// The report's contents: a header and one row per day for the last days of the range.
/// The same game and range always give the same bytes.
pub(crate) fn csv(game_id: &str, started_at: OffsetDateTime, ended_at: OffsetDateTime) -> String {
    let mut out = String::from(
        "Date,Game ID,Game Name,Drops Campaigns Active,Drops Claimed,Drops Fulfilled,Unique Viewers\n",
    );
    let start: Date = started_at.date();
    let end: Date = ended_at.date();
    let days = (end - start).whole_days().max(0) + 1;
    let first = end - time::Duration::days(days.min(MAX_ROWS) - 1);
    let mut day = first;
    while day <= end {
        let date = rfc3339_date(day.midnight().assume_utc());
        let mut rng = Rng::new(hash_str(&format!("{game_id}/{date}")));
        let claimed = rng.below(500);
        let fulfilled = rng.below(claimed + 1);
        let viewers = claimed + rng.below(5000);
        out.push_str(&format!(
            "{},{game_id},Fake Game {game_id},{},{claimed},{fulfilled},{viewers}\n",
            &date[..10],
            1 + rng.below(3),
        ));
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn csv_is_deterministic_and_bounded() {
        let a = csv(
            "509658",
            datetime!(2025-01-01 0:00 UTC),
            datetime!(2025-03-01 0:00 UTC),
        );
        let b = csv(
            "509658",
            datetime!(2025-01-01 0:00 UTC),
            datetime!(2025-03-01 0:00 UTC),
        );
        assert_eq!(a, b);
        assert_eq!(a.lines().count(), 1 + MAX_ROWS as usize);
        assert!(a.lines().last().unwrap().starts_with("2025-03-01,509658,"));
        let one_day = csv(
            "1",
            datetime!(2025-01-01 0:00 UTC),
            datetime!(2025-01-01 0:00 UTC),
        );
        assert_eq!(one_day.lines().count(), 2);
    }
}
