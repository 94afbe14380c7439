//! Analytics through C: the query, pages of reports, and downloaded bytes.

use std::ffi::c_char;

use twitch_drops::{AnalyticsPage, AnalyticsQuery, AnalyticsReport};

use crate::boundary::{
    arg_mut, free_handle, guard_code, guard_value, into_handle, td_str, view_opt, CText, Outcome,
};
use crate::entitlements::opt_string;
use crate::result::td_result;

/// Filters for `GET /analytics/games`: game, report type (`overview_v2`), date range (both
/// or neither; `YYYY-MM-DD` or RFC 3339 midnight UTC), page size (1-100) and cursor. Checked
/// when used (`TD_INVALID_INPUT`, nothing sent). Setters copy their arguments.
///
/// Thread safety: not synchronized; one thread at a time.
#[derive(Debug, Default)]
pub struct td_analytics_query {
    pub(crate) query: AnalyticsQuery,
}

/// A query for every game the token may see. Free with `td_analytics_query_free`.
#[no_mangle]
pub extern "C" fn td_analytics_query_new() -> *mut td_analytics_query {
    guard_value(std::ptr::null_mut(), || {
        into_handle(td_analytics_query::default())
    })
}

/// Frees a query; NULL is a no-op.
///
/// # Safety
/// `query` is NULL or from `td_analytics_query_new`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_query_free(query: *mut td_analytics_query) {
    guard_value((), || free_handle(query))
}

fn with_query(
    query: *mut td_analytics_query,
    body: impl FnOnce(&mut AnalyticsQuery) -> Outcome,
) -> td_result {
    // SAFETY: documented on each setter: NULL or a live query used by one thread.
    guard_code(|| body(&mut unsafe { arg_mut(query, "query")? }.query))
}

/// One game's reports (NULL clears it).
///
/// # Safety
/// `query` is live; `game_id` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_query_set_game_id(
    query: *mut td_analytics_query,
    game_id: *const c_char,
) -> td_result {
    with_query(query, |q| {
        q.game_id = opt_string(game_id, "game_id")?;
        Ok(())
    })
}

/// The report type (`"overview_v2"`; NULL clears it).
///
/// # Safety
/// `query` is live; `report_type` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_query_set_type(
    query: *mut td_analytics_query,
    report_type: *const c_char,
) -> td_result {
    with_query(query, |q| {
        q.report_type = opt_string(report_type, "report_type")?;
        Ok(())
    })
}

/// The date range, both ends inclusive (both NULL clears it; one NULL is refused when the
/// query is used).
///
/// # Safety
/// `query` is live; the dates NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_query_set_range(
    query: *mut td_analytics_query,
    started_at: *const c_char,
    ended_at: *const c_char,
) -> td_result {
    with_query(query, |q| {
        q.started_at = opt_string(started_at, "started_at")?;
        q.ended_at = opt_string(ended_at, "ended_at")?;
        Ok(())
    })
}

/// Page size, 1-100 (checked when used).
///
/// # Safety
/// `query` is live.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_query_set_first(
    query: *mut td_analytics_query,
    first: u32,
) -> td_result {
    with_query(query, |q| {
        q.first = Some(first);
        Ok(())
    })
}

/// Starts after this cursor (NULL clears it; Twitch ignores it when a game is set).
///
/// # Safety
/// `query` is live; `cursor` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_query_set_after(
    query: *mut td_analytics_query,
    cursor: *const c_char,
) -> td_result {
    with_query(query, |q| {
        q.after = opt_string(cursor, "cursor")?;
        Ok(())
    })
}

/// One downloadable report. Borrowed from its page (valid until the page is freed);
/// read-only.
#[derive(Debug)]
pub struct td_analytics_report {
    game_id: CText,
    url: CText,
    report_type: CText,
    started_at: CText,
    ended_at: CText,
}

impl td_analytics_report {
    fn new(r: AnalyticsReport) -> td_analytics_report {
        td_analytics_report {
            game_id: CText::new(r.game_id),
            url: CText::new(r.url),
            report_type: CText::new(r.report_type),
            started_at: CText::new(r.date_range.started_at),
            ended_at: CText::new(r.date_range.ended_at),
        }
    }
}

/// A page of analytics reports and the next cursor. Owned by the caller
/// (`td_analytics_page_free`); read-only.
#[derive(Debug)]
pub struct td_analytics_page {
    reports: Vec<td_analytics_report>,
    cursor: Option<CText>,
}

impl td_analytics_page {
    pub(crate) fn new(page: AnalyticsPage) -> td_analytics_page {
        td_analytics_page {
            reports: page
                .reports
                .into_iter()
                .map(td_analytics_report::new)
                .collect(),
            cursor: page.cursor.map(CText::new),
        }
    }
}

/// Frees a page and its reports; NULL is a no-op.
///
/// # Safety
/// `page` is NULL or a page from this library, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_page_free(page: *mut td_analytics_page) {
    guard_value((), || free_handle(page))
}

/// How many reports the page holds (0 for NULL).
///
/// # Safety
/// `page` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_page_count(page: *const td_analytics_page) -> usize {
    guard_value(0, || page.as_ref().map_or(0, |p| p.reports.len()))
}

/// The report at `index`, borrowed until the page is freed; NULL out of range or for NULL.
///
/// # Safety
/// `page` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_page_get(
    page: *const td_analytics_page,
    index: usize,
) -> *const td_analytics_report {
    guard_value(std::ptr::null(), || {
        page.as_ref()
            .and_then(|p| p.reports.get(index))
            .map_or(std::ptr::null(), |r| r as *const td_analytics_report)
    })
}

/// The next page's cursor, `""` on the last page. Valid until the page is freed.
///
/// # Safety
/// `page` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_page_cursor(page: *const td_analytics_page) -> td_str {
    guard_value(td_str::empty(), || {
        page.as_ref()
            .map_or(td_str::empty(), |p| view_opt(&p.cursor))
    })
}

/// The game the report covers.
///
/// Valid until the report's page is freed; `""` for NULL.
///
/// # Safety
/// `report` is NULL or from a live page.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_report_game_id(report: *const td_analytics_report) -> td_str {
    text(report, |x| &x.game_id)
}
/// The CSV's URL (presigned, valid about five minutes): pass it to
/// `td_client_download_report`.
///
/// Valid until the report's page is freed; `""` for NULL.
///
/// # Safety
/// `report` is NULL or from a live page.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_report_url(report: *const td_analytics_report) -> td_str {
    text(report, |x| &x.url)
}
/// The report type (`overview_v2`).
///
/// Valid until the report's page is freed; `""` for NULL.
///
/// # Safety
/// `report` is NULL or from a live page.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_report_type(report: *const td_analytics_report) -> td_str {
    text(report, |x| &x.report_type)
}
/// The first day covered (RFC 3339).
///
/// Valid until the report's page is freed; `""` for NULL.
///
/// # Safety
/// `report` is NULL or from a live page.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_report_started_at(
    report: *const td_analytics_report,
) -> td_str {
    text(report, |x| &x.started_at)
}
/// The last day covered (RFC 3339).
///
/// Valid until the report's page is freed; `""` for NULL.
///
/// # Safety
/// `report` is NULL or from a live page.
#[no_mangle]
pub unsafe extern "C" fn td_analytics_report_ended_at(
    report: *const td_analytics_report,
) -> td_str {
    text(report, |x| &x.ended_at)
}

/// Downloaded bytes (a report's CSV). Owned by the caller (`td_bytes_free`); read-only.
#[derive(Debug)]
pub struct td_bytes {
    bytes: Vec<u8>,
}

impl td_bytes {
    pub(crate) fn new(bytes: Vec<u8>) -> td_bytes {
        td_bytes { bytes }
    }
}

/// Frees bytes; NULL is a no-op.
///
/// # Safety
/// `bytes` is NULL or from this library, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_bytes_free(bytes: *mut td_bytes) {
    guard_value((), || free_handle(bytes))
}

/// The bytes, borrowed until `td_bytes_free` (not NUL-terminated; never NULL).
///
/// # Safety
/// `bytes` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_bytes_data(bytes: *const td_bytes) -> *const u8 {
    guard_value(std::ptr::null(), || {
        bytes.as_ref().map_or(b"".as_ptr(), |b| b.bytes.as_ptr())
    })
}

/// How many bytes (0 for NULL).
///
/// # Safety
/// `bytes` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_bytes_len(bytes: *const td_bytes) -> usize {
    guard_value(0, || bytes.as_ref().map_or(0, |b| b.bytes.len()))
}

/// A text field of a possibly NULL handle.
fn text<T>(handle: *const T, field: impl FnOnce(&T) -> &CText) -> td_str {
    // SAFETY: the callers' contract: NULL or a live handle.
    guard_value(td_str::empty(), || {
        unsafe { handle.as_ref() }.map_or(td_str::empty(), |h| field(h).view())
    })
}
