//! The data that crosses into JavaScript, as JSON text with camelCase names: queries
//! read from JS into the core's types, results written from the core's types. Shapes
//! only: every limit on a value is checked by the core.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use twitch_drops_protocol::{
    AnalyticsPage, AnalyticsQuery, DeviceCode, Entitlement, EntitlementsPage, EntitlementsQuery,
    Error, FulfillmentStatus, OAuthToken, RateLimit, Secret, TokenInfo, UpdateReport,
};

use crate::errors::invalid;

pub(crate) fn read<'a, T: Deserialize<'a>>(what: &'static str, text: &'a str) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|e| invalid(what, e.to_string()))
}

/// A page size or count as JavaScript gives it (a number), as the core takes it. Only
/// the shape is checked here (a whole, non-negative number); the range is the core's.
pub(crate) fn count(field: &'static str, value: Option<f64>) -> Result<Option<u32>, Error> {
    match value {
        None => Ok(None),
        Some(v) if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) => {
            Ok(Some(v as u32))
        }
        Some(v) => Err(invalid(
            field,
            format!("{v} is not a whole number of items"),
        )),
    }
}

/// A list of strings (ids, scopes) as JavaScript gives it.
pub fn strings(field: &'static str, text: &str) -> Result<Vec<String>, Error> {
    read(field, text)
}

/// A fulfillment status as JavaScript gives it (`"CLAIMED"`, `"FULFILLED"`), read by the core.
pub fn status(text: &str) -> Result<FulfillmentStatus, Error> {
    text.parse()
}

/// `{ ids?, userId?, gameId?, status?, first?, after? }`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EntitlementsQueryJs {
    #[serde(default)]
    ids: Vec<String>,
    user_id: Option<String>,
    game_id: Option<String>,
    status: Option<String>,
    first: Option<f64>,
    after: Option<String>,
}

/// Reads an entitlements query (JSON text of the TS `EntitlementsQuery`).
pub fn entitlements_query(text: &str) -> Result<EntitlementsQuery, Error> {
    let q: EntitlementsQueryJs = read("query", text)?;
    Ok(EntitlementsQuery {
        ids: q.ids,
        user_id: q.user_id,
        game_id: q.game_id,
        status: q.status.as_deref().map(status).transpose()?,
        first: count("first", q.first)?,
        after: q.after,
    })
}

/// `{ gameId?, type?, startedAt?, endedAt?, first?, after? }`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AnalyticsQueryJs {
    game_id: Option<String>,
    #[serde(rename = "type")]
    report_type: Option<String>,
    started_at: Option<String>,
    ended_at: Option<String>,
    first: Option<f64>,
    after: Option<String>,
}

/// Reads an analytics query (JSON text of the TS `AnalyticsQuery`, dates as strings).
pub fn analytics_query(text: &str) -> Result<AnalyticsQuery, Error> {
    let q: AnalyticsQueryJs = read("query", text)?;
    Ok(AnalyticsQuery {
        game_id: q.game_id,
        report_type: q.report_type,
        started_at: q.started_at,
        ended_at: q.ended_at,
        first: count("first", q.first)?,
        after: q.after,
    })
}

/// A device login as JavaScript holds it between `startDeviceFlow` and `finishDeviceFlow`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeviceCodeJs {
    device_code: String,
    user_code: String,
    verification_uri: String,
    expires_in: u64,
    interval: u64,
    #[serde(default)]
    scopes: Vec<String>,
}

/// Writes a device login. It carries `deviceCode`, a secret: whoever holds it gets the token.
pub fn device_code(code: &DeviceCode) -> Value {
    json!(DeviceCodeJs {
        device_code: code.device_code.expose().to_string(),
        user_code: code.user_code.clone(),
        verification_uri: code.verification_uri.clone(),
        expires_in: code.expires_in,
        interval: code.interval,
        scopes: code.scopes.clone(),
    })
}

/// Reads a device login back from JavaScript.
pub fn read_device_code(text: &str) -> Result<DeviceCode, Error> {
    let code: DeviceCodeJs = read("code", text)?;
    Ok(DeviceCode {
        device_code: Secret::new(code.device_code),
        user_code: code.user_code,
        verification_uri: code.verification_uri,
        expires_in: code.expires_in,
        interval: code.interval,
        scopes: code.scopes,
    })
}

/// One entitlement as JavaScript sees it (borrowed: a page is written without copies).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EntitlementJs<'a> {
    id: &'a str,
    benefit_id: &'a str,
    timestamp: &'a str,
    user_id: &'a str,
    game_id: &'a str,
    fulfillment_status: FulfillmentStatus,
    last_updated: &'a str,
}

impl<'a> From<&'a Entitlement> for EntitlementJs<'a> {
    fn from(e: &'a Entitlement) -> Self {
        EntitlementJs {
            id: &e.id,
            benefit_id: &e.benefit_id,
            timestamp: &e.timestamp,
            user_id: &e.user_id,
            game_id: &e.game_id,
            fulfillment_status: e.fulfillment_status,
            last_updated: &e.last_updated,
        }
    }
}

/// An entitlement JavaScript hands back (pushed by EventSub, or read from a page): the
/// ids are required; the status defaults to CLAIMED and the dates to empty.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntitlementIn {
    id: String,
    benefit_id: String,
    user_id: String,
    game_id: String,
    #[serde(default)]
    fulfillment_status: Option<String>,
    #[serde(default)]
    timestamp: String,
    #[serde(default)]
    last_updated: String,
}

/// Reads entitlements from JSON text of an array of the TS `Entitlement`.
pub fn entitlements(field: &'static str, text: &str) -> Result<Vec<Entitlement>, Error> {
    let list: Vec<EntitlementIn> = read(field, text)?;
    list.into_iter()
        .map(|e| {
            Ok(Entitlement {
                id: e.id.into(),
                benefit_id: e.benefit_id.into(),
                timestamp: e.timestamp.into(),
                user_id: e.user_id.into(),
                game_id: e.game_id.into(),
                fulfillment_status: match e.fulfillment_status.as_deref() {
                    Some(s) => status(s)?,
                    None => FulfillmentStatus::Claimed,
                },
                last_updated: e.last_updated.into(),
            })
        })
        .collect()
}

#[derive(Serialize)]
struct EntitlementsPageJs<'a> {
    entitlements: Vec<EntitlementJs<'a>>,
    cursor: Option<&'a str>,
}

/// `{ entitlements: [{ id, benefitId, timestamp, userId, gameId, fulfillmentStatus,
/// lastUpdated }], cursor }` as JSON text (the hot path of paging: typed, not a `Value`).
pub fn entitlements_page(page: &EntitlementsPage) -> String {
    let entitlements = page.entitlements.iter().map(EntitlementJs::from).collect();
    let page = EntitlementsPageJs {
        entitlements,
        cursor: page.cursor.as_deref(),
    };
    serde_json::to_string(&page).unwrap_or_default()
}

/// `{ outcomes: [{ id, status }], unconfirmed: [id] }`.
pub fn update_report(report: &UpdateReport) -> Value {
    json!({ "outcomes": report.outcomes, "unconfirmed": report.unconfirmed })
}

/// `{ reports: [{ gameId, url, type, dateRange: { startedAt, endedAt } }], cursor }`.
pub fn analytics_page(page: &AnalyticsPage) -> Value {
    let reports: Vec<Value> = page
        .reports
        .iter()
        .map(|r| {
            json!({
                "gameId": r.game_id,
                "url": r.url,
                "type": r.report_type,
                "dateRange": {
                    "startedAt": r.date_range.started_at,
                    "endedAt": r.date_range.ended_at,
                },
            })
        })
        .collect();
    json!({ "reports": reports, "cursor": page.cursor })
}

/// `{ clientId, login, userId, scopes, expiresIn }` (`login`, `userId` null for app tokens).
pub fn token_info(info: &TokenInfo) -> Value {
    json!({
        "clientId": info.client_id,
        "login": info.login,
        "userId": info.user_id,
        "scopes": info.scopes,
        "expiresIn": info.expires_in,
    })
}

/// `{ accessToken, refreshToken, expiresIn, scopes }`: a user token, to persist.
pub fn user_token(token: &OAuthToken) -> Value {
    json!({
        "accessToken": token.access_token.expose(),
        "refreshToken": token.refresh_token.as_ref().map(Secret::expose),
        "expiresIn": token.expires_in,
        "scopes": token.scopes,
    })
}

/// `{ limit, remaining, resetAtMs }`.
pub fn rate_limit(limit: &RateLimit) -> Value {
    json!({
        "limit": limit.limit,
        "remaining": limit.remaining,
        "resetAtMs": limit.reset_at_secs.saturating_mul(1000),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use twitch_drops_protocol::{ErrorKind, IdOutcome, UpdateStatus};

    fn field(e: Error) -> &'static str {
        match e {
            Error::InvalidInput { field, .. } => field,
            other => panic!("not InvalidInput: {other}"),
        }
    }

    #[test]
    fn entitlements_query_reads_camel_case() {
        let q = entitlements_query(
            r#"{"gameId":"509658","status":"CLAIMED","first":1000,"after":"c","userId":"u","ids":["a"]}"#,
        )
        .unwrap();
        assert_eq!(
            q,
            EntitlementsQuery::new()
                .id("a")
                .user("u")
                .game("509658")
                .status(FulfillmentStatus::Claimed)
                .first(1000)
                .after("c")
        );
        assert_eq!(entitlements_query("{}").unwrap(), EntitlementsQuery::new());
    }

    #[test]
    fn malformed_queries_are_invalid_input() {
        assert_eq!(
            field(entitlements_query(r#"{"gameID":"1"}"#).unwrap_err()),
            "query"
        );
        assert_eq!(
            field(entitlements_query(r#"{"first":1.5}"#).unwrap_err()),
            "first"
        );
        assert_eq!(
            field(entitlements_query(r#"{"first":-1}"#).unwrap_err()),
            "first"
        );
        assert_eq!(
            field(entitlements_query(r#"{"status":"DONE"}"#).unwrap_err()),
            "fulfillment_status"
        );
        assert_eq!(
            field(analytics_query(r#"{"first":"5"}"#).unwrap_err()),
            "query"
        );
        // The range is the core's rule, checked when the operation is made.
        assert_eq!(entitlements_query(r#"{"first":0}"#).unwrap().first, Some(0));
    }

    #[test]
    fn lists_of_strings_are_checked() {
        assert_eq!(strings("ids", r#"["a","b"]"#).unwrap(), ["a", "b"]);
        assert_eq!(field(strings("ids", r#""ab""#).unwrap_err()), "ids");
        assert_eq!(field(strings("ids", "[1]").unwrap_err()), "ids");
    }

    #[test]
    fn analytics_query_reads_type_and_dates() {
        let q = analytics_query(
            r#"{"gameId":"g","type":"overview_v2","startedAt":"2025-01-01","endedAt":"2025-01-31","first":5}"#,
        )
        .unwrap();
        assert_eq!(
            q,
            AnalyticsQuery::new()
                .game("g")
                .report_type("overview_v2")
                .range("2025-01-01", "2025-01-31")
                .first(5)
        );
        let one_date = analytics_query(r#"{"startedAt":"2025-01-01"}"#).unwrap();
        assert_eq!(
            one_date.to_query_string().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn results_are_camel_case() {
        let page = EntitlementsPage {
            entitlements: vec![Entitlement {
                id: "e".into(),
                benefit_id: "b".into(),
                timestamp: "t".into(),
                user_id: "u".into(),
                game_id: "g".into(),
                fulfillment_status: FulfillmentStatus::Claimed,
                last_updated: "l".into(),
            }],
            cursor: None,
        };
        let text = entitlements_page(&page);
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({"entitlements":[{"id":"e","benefitId":"b","timestamp":"t","userId":"u",
                "gameId":"g","fulfillmentStatus":"CLAIMED","lastUpdated":"l"}],"cursor":null})
        );
        let report = UpdateReport {
            outcomes: vec![IdOutcome {
                id: "x".into(),
                status: UpdateStatus::InvalidId,
            }],
            unconfirmed: vec![],
        };
        assert_eq!(
            update_report(&report),
            json!({"outcomes":[{"id":"x","status":"INVALID_ID"}],"unconfirmed":[]})
        );
    }

    #[test]
    fn device_codes_round_trip() {
        let code = DeviceCode {
            device_code: Secret::new("dc"),
            user_code: "ABCD".into(),
            verification_uri: "https://www.twitch.tv/activate".into(),
            expires_in: 1800,
            interval: 5,
            scopes: vec!["analytics:read:games".into()],
        };
        let text = device_code(&code).to_string();
        assert!(text.contains(r#""deviceCode":"dc""#), "{text}");
        assert_eq!(read_device_code(&text).unwrap(), code);
    }
}
