//! Game analytics: `GET /analytics/games` (user token with `analytics:read:games`) and the
//! download of a report's CSV, whose URL is presigned and short-lived.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

use crate::config::Config;
use crate::entitlements::{helix_auth, non_empty, Pagination};
use crate::error::Error;
use crate::exchange::{Answer, AuthScheme, Call, Exchange, Replay};
use crate::file_name::safe_file_name;
use crate::http::{HttpResponse, Method};
use crate::ids::{check_id, InvalidId};
use crate::single_request::SingleRequest;
use crate::step::{Input, Operation, Step};
use crate::url::{check_secure_url, encode_pairs, for_messages, join};

/// Largest analytics page.
pub const MAX_ANALYTICS_PAGE: u32 = 100;

/// Filters for `GET /analytics/games`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnalyticsQuery {
    pub game_id: Option<String>,
    /// Report type; Twitch knows `overview_v2`.
    pub report_type: Option<String>,
    /// Start date: `YYYY-MM-DD` or RFC 3339 at midnight UTC. Both dates or neither.
    pub started_at: Option<String>,
    /// End date (inclusive), same forms.
    pub ended_at: Option<String>,
    /// Page size, 1..=100.
    pub first: Option<u32>,
    /// Cursor (Twitch ignores it when `game_id` is set).
    pub after: Option<String>,
}

impl AnalyticsQuery {
    /// Every game the token may see.
    pub fn new() -> Self {
        Self::default()
    }

    /// One game.
    pub fn game(mut self, game_id: impl Into<String>) -> Self {
        self.game_id = Some(game_id.into());
        self
    }

    /// The report type (`overview_v2`).
    pub fn report_type(mut self, report_type: impl Into<String>) -> Self {
        self.report_type = Some(report_type.into());
        self
    }

    /// The date range, both ends inclusive.
    pub fn range(mut self, started_at: impl Into<String>, ended_at: impl Into<String>) -> Self {
        self.started_at = Some(started_at.into());
        self.ended_at = Some(ended_at.into());
        self
    }

    /// Page size, 1..=100.
    pub fn first(mut self, first: u32) -> Self {
        self.first = Some(first);
        self
    }

    /// Starts after this cursor.
    pub fn after(mut self, cursor: impl Into<String>) -> Self {
        self.after = Some(cursor.into());
        self
    }

    /// Checks the query and returns the query string Twitch expects (dates as RFC 3339
    /// midnight UTC).
    pub fn to_query_string(&self) -> Result<String, Error> {
        non_empty("game_id", &self.game_id)?;
        non_empty("type", &self.report_type)?;
        non_empty("after", &self.after)?;
        if let Some(first) = self.first {
            if !(1..=MAX_ANALYTICS_PAGE).contains(&first) {
                return Err(Error::invalid(
                    "first",
                    format!("{first} is out of range; use 1..={MAX_ANALYTICS_PAGE}"),
                ));
            }
        }
        let range = match (&self.started_at, &self.ended_at) {
            (None, None) => None,
            (Some(start), Some(end)) => {
                let start_date = parse_date("started_at", start)?;
                let end_date = parse_date("ended_at", end)?;
                if end_date < start_date {
                    return Err(Error::invalid(
                        "ended_at",
                        format!("{end_date} is before started_at {start_date}"),
                    ));
                }
                Some((format_date(start_date), format_date(end_date)))
            }
            (Some(_), None) => {
                return Err(Error::invalid(
                    "ended_at",
                    "missing: give both started_at and ended_at, or neither",
                ))
            }
            (None, Some(_)) => {
                return Err(Error::invalid(
                    "started_at",
                    "missing: give both started_at and ended_at, or neither",
                ))
            }
        };
        let first = self.first.map(|f| f.to_string());
        let pairs = [
            ("game_id", self.game_id.as_deref()),
            ("type", self.report_type.as_deref()),
            ("started_at", range.as_ref().map(|r| r.0.as_str())),
            ("ended_at", range.as_ref().map(|r| r.1.as_str())),
            ("first", first.as_deref()),
            ("after", self.after.as_deref()),
        ];
        Ok(encode_pairs(
            pairs.into_iter().filter_map(|(k, v)| Some((k, v?))),
        ))
    }
}

/// Reads `YYYY-MM-DD`, or RFC 3339 at midnight UTC (Twitch wants a zero time).
fn parse_date(field: &'static str, value: &str) -> Result<Date, Error> {
    let value = value.trim();
    if let Ok(date) = Date::parse(value, format_description!("[year]-[month]-[day]")) {
        return Ok(date);
    }
    match OffsetDateTime::parse(value, &Rfc3339) {
        Ok(at) if at.offset().is_utc() && at.time() == Time::MIDNIGHT => Ok(at.date()),
        Ok(_) => Err(Error::invalid(
            field,
            format!("`{value}` must be midnight UTC, e.g. 2026-01-31T00:00:00Z"),
        )),
        Err(_) => Err(Error::invalid(
            field,
            format!("`{value}` is not a date (YYYY-MM-DD) or an RFC 3339 timestamp"),
        )),
    }
}

fn format_date(date: Date) -> String {
    format!("{date}T00:00:00Z")
}

/// The dates a report covers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    pub started_at: String,
    pub ended_at: String,
}

/// One downloadable report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyticsReport {
    pub game_id: String,
    /// The CSV's URL, valid for about five minutes.
    #[serde(rename = "URL")]
    pub url: String,
    #[serde(rename = "type")]
    pub report_type: String,
    #[serde(default)]
    pub date_range: DateRange,
}

impl AnalyticsReport {
    /// Checks `game_id` and `type` with [`check_id`] (they name files and lines).
    pub fn validate(&self) -> Result<(), InvalidId> {
        check_id("game_id", &self.game_id)?;
        check_id("type", &self.report_type)
    }

    /// A file name for the CSV, `<game_id>-<type>.csv` reduced by [`safe_file_name`] to one
    /// safe path component; `None` when the server's strings leave nothing usable.
    pub fn file_name(&self) -> Option<String> {
        safe_file_name(&format!("{}-{}", self.game_id, self.report_type), "csv")
    }
}

/// A page of reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnalyticsPage {
    pub reports: Vec<AnalyticsReport>,
    pub cursor: Option<String>,
}

#[derive(Deserialize)]
struct AnalyticsBody {
    data: Vec<AnalyticsReport>,
    #[serde(default)]
    pagination: Pagination,
}

/// Reads a `GET /analytics/games` body.
pub fn parse_analytics_page(body: &[u8]) -> Result<AnalyticsPage, Error> {
    let page: AnalyticsBody =
        serde_json::from_slice(body).map_err(|e| Error::decode("analytics page", e))?;
    for (index, report) in page.data.iter().enumerate() {
        report
            .validate()
            .map_err(|e| Error::decode("analytics page", format!("report {index}: {e}")))?;
    }
    Ok(AnalyticsPage {
        reports: page.data,
        cursor: page.pagination.next(),
    })
}

/// The operation that gets a page of analytics reports.
pub fn get_game_analytics(
    config: &Config,
    query: &AnalyticsQuery,
) -> Result<SingleRequest<AnalyticsPage>, Error> {
    let exchange = Exchange::new(
        Method::Get,
        join(
            config.helix_url(),
            "analytics/games",
            &query.to_query_string()?,
        ),
        helix_auth(config),
        Replay::Safe,
        config.retry_policy(),
    );
    Ok(SingleRequest::new(exchange, |r: &HttpResponse| {
        parse_analytics_page(&r.body)
    }))
}

/// Redirects a report download follows.
const MAX_REDIRECTS: u32 = 3;

/// The operation that downloads a report's CSV ([`download_report`]).
#[derive(Debug)]
pub struct DownloadReport {
    retry: crate::retry::RetryPolicy,
    url: String,
    exchange: Exchange,
    redirects: u32,
}

/// The operation that downloads the CSV at `url`. No credentials are sent: the URL is
/// presigned, and may point at another host. Redirects are followed (at most 3), each to an
/// https URL.
pub fn download_report(config: &Config, url: &str) -> Result<DownloadReport, Error> {
    check_secure_url(url).map_err(|p| Error::invalid("url", p.describe(url)))?;
    Ok(DownloadReport {
        retry: config.retry_policy().clone(),
        url: url.to_string(),
        exchange: report_exchange(url, config.retry_policy()),
        redirects: 0,
    })
}

fn report_exchange(url: &str, retry: &crate::retry::RetryPolicy) -> Exchange {
    Exchange::new(
        Method::Get,
        url.to_string(),
        AuthScheme::None,
        Replay::Safe,
        retry,
    )
    .answering_redirects()
}

impl Operation for DownloadReport {
    type Output = Vec<u8>;

    fn resume(&mut self, input: Input, now_ms: u64) -> Step<Vec<u8>> {
        match self.exchange.resume(input, now_ms) {
            Call::Next(pending) => pending.into_step(),
            Call::Answer(Answer::Ok(response)) if response.is_success() => {
                Step::Done(Ok(response.body))
            }
            Call::Answer(Answer::Ok(response)) => self.redirect(&response, now_ms),
            Call::Answer(Answer::Failed(Error::Http { status, error, .. }))
                if status == 403 || status == 404 =>
            {
                Step::Done(Err(Error::Http {
                    status,
                    error,
                    message: "the report URL has expired or is wrong (report URLs last about \
                              five minutes); fetch the analytics again for a fresh URL"
                        .into(),
                }))
            }
            Call::Answer(Answer::Failed(e)) | Call::Answer(Answer::Ambiguous(e)) => {
                Step::Done(Err(e))
            }
        }
    }
}

impl DownloadReport {
    fn redirect(&mut self, response: &HttpResponse, now_ms: u64) -> Step<Vec<u8>> {
        let location = match response.header("location") {
            Some(l) if (300..400).contains(&response.status) => resolve(&self.url, l),
            _ => {
                return Step::Done(Err(Error::Http {
                    status: response.status,
                    error: String::new(),
                    message: "unexpected answer to a report download".into(),
                }))
            }
        };
        self.redirects += 1;
        if self.redirects > MAX_REDIRECTS {
            return Step::Done(Err(Error::Http {
                status: response.status,
                error: String::new(),
                message: format!("more than {MAX_REDIRECTS} redirects"),
            }));
        }
        if let Err(problem) = check_secure_url(&location) {
            return Step::Done(Err(Error::Http {
                status: response.status,
                error: String::new(),
                message: format!(
                    "refused to follow a redirect: {}",
                    problem.describe(&for_messages(&location))
                ),
            }));
        }
        self.exchange = report_exchange(&location, &self.retry);
        self.url = location;
        self.resume(Input::Start, now_ms)
    }
}

/// A redirect target: absolute as given, or a path on the current URL's origin.
fn resolve(current: &str, location: &str) -> String {
    if location.contains("://") || !location.starts_with('/') || location.starts_with("//") {
        return location.to_string();
    }
    let origin_end = current
        .find("://")
        .and_then(|scheme| current[scheme + 3..].find('/').map(|p| scheme + 3 + p))
        .unwrap_or(current.len());
    format!("{}{location}", &current[..origin_end])
}
