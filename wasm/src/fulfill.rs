//! The fulfillment engine's data as JavaScript sees it: run options and grant answers read
//! from JSON text; grant requests, settlements and reports written in camelCase. Journal
//! records cross in the core's own JSON shape (`{"op":"granting","id":…,"user_id":…}`), the
//! lines a Rust `FileJournal` writes, so a journal kept by JavaScript reads the same.
//! Shapes only: what a record or an answer means is the engine's.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use twitch_drops_protocol::fulfill::{JournalError, JournalRecord};
use twitch_drops_protocol::{
    EntitlementsQuery, Error, FulfillOptions, FulfillReport, GrantOutcome, GrantRequest,
    SettledState, Settlement,
};

use crate::errors::invalid;
use crate::wire::{count, read, EntitlementJs};

/// `{ gameId?, userId?, quarantineAfter?, requestsInFlight? }`: the JSON part of
/// `client.fulfill(options)` and of `client.fulfillEntitlements(entitlements, options)` (the
/// functions stay in JS).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RunOptionsJs {
    game_id: Option<String>,
    user_id: Option<String>,
    quarantine_after: Option<f64>,
    requests_in_flight: Option<f64>,
    grants_in_flight: Option<f64>,
}

/// How many requests may be out at once (the range is the engine's to check).
fn requests_in_flight(options: &RunOptionsJs) -> Result<Option<usize>, Error> {
    Ok(count("requestsInFlight", options.requests_in_flight)?.map(|n| n as usize))
}

/// How many grants are handed out at once (the range is the engine's to check).
fn grants_in_flight(options: &RunOptionsJs) -> Result<Option<usize>, Error> {
    Ok(count("grantsInFlight", options.grants_in_flight)?.map(|n| n as usize))
}

fn quarantine_after(options: &RunOptionsJs) -> Result<Option<u32>, Error> {
    count("quarantineAfter", options.quarantine_after)
}

/// Reads the options of a run over the CLAIMED list (the query is checked by the engine).
pub fn fulfill_options(text: &str) -> Result<FulfillOptions, Error> {
    let options: RunOptionsJs = read("options", text)?;
    let mut query = EntitlementsQuery::new();
    query.game_id = options.game_id.clone();
    query.user_id = options.user_id.clone();
    let mut run = FulfillOptions::new(query);
    if let Some(after) = quarantine_after(&options)? {
        run.quarantine_after = after;
    }
    if let Some(requests) = requests_in_flight(&options)? {
        run.requests_in_flight = requests;
    }
    if let Some(grants) = grants_in_flight(&options)? {
        run.grants_in_flight = grants;
    }
    Ok(run)
}

/// Reads the options of a run over pushed entitlements: `quarantineAfter`,
/// `requestsInFlight` and `grantsInFlight` (pushed entitlements are taken as given, not
/// filtered).
pub fn pushed_options(text: &str) -> Result<(u32, usize, usize), Error> {
    let options: RunOptionsJs = read("options", text)?;
    if options.game_id.is_some() || options.user_id.is_some() {
        return Err(invalid(
            "options",
            "`gameId` and `userId` filter a listing; pushed entitlements are fulfilled as given",
        ));
    }
    let default = FulfillOptions::new(EntitlementsQuery::new());
    Ok((
        quarantine_after(&options)?.unwrap_or(default.quarantine_after),
        requests_in_flight(&options)?.unwrap_or(default.requests_in_flight),
        grants_in_flight(&options)?.unwrap_or(default.grants_in_flight),
    ))
}

#[derive(Serialize)]
struct GrantRequestJs<'a> {
    entitlement: EntitlementJs<'a>,
    resumed: bool,
}

/// `[{ entitlement: { id, benefitId, userId, … }, resumed }]`: one batch for the grant function.
pub fn grant_requests(requests: &[GrantRequest]) -> String {
    let batch: Vec<GrantRequestJs> = requests
        .iter()
        .map(|r| GrantRequestJs {
            entitlement: EntitlementJs::from(&r.entitlement),
            resumed: r.resumed,
        })
        .collect();
    serde_json::to_string(&batch).unwrap_or_default()
}

/// What one grant answered: `"granted"`, `"retryLater"` or `{ failed: reason }`. Anything
/// else (nothing, a typo) is a failure naming what came back: never taken as granted.
fn grant_outcome(value: Value) -> GrantOutcome {
    match value {
        Value::String(s) if s == "granted" => GrantOutcome::Granted,
        Value::String(s) if s == "retryLater" => GrantOutcome::RetryLater,
        Value::Object(mut fields) if fields.len() == 1 && fields.contains_key("failed") => {
            match fields.remove("failed") {
                Some(Value::String(reason)) => GrantOutcome::Failed(reason),
                Some(other) => GrantOutcome::Failed(other.to_string()),
                None => GrantOutcome::Failed(String::new()),
            }
        }
        other => {
            let answer = match other {
                Value::Null => "nothing".to_string(),
                other => other.to_string(),
            };
            GrantOutcome::Failed(format!(
                "the grant function answered {answer}, not 'granted', 'retryLater' or \
                 {{ failed: reason }}"
            ))
        }
    }
}

/// Reads a batch's answers (JSON text of an array, one per request, in order). Text that is
/// not an array fails every request of the batch (`expected` of them) with the reason.
pub fn grant_outcomes(text: &str, expected: usize) -> Vec<GrantOutcome> {
    match serde_json::from_str::<Vec<Value>>(text) {
        Ok(values) => values.into_iter().map(grant_outcome).collect(),
        Err(e) => failed_batch(expected, format!("unreadable grant answers: {e}")),
    }
}

/// `expected` failures with one reason: a grant batch that could not be asked or answered.
pub fn failed_batch(expected: usize, reason: String) -> Vec<GrantOutcome> {
    vec![GrantOutcome::Failed(reason); expected]
}

/// `{ id, userId, state, reason? , status? }`: `state` in camelCase; `grantFailed` carries
/// the grant function's `reason`, `rejected` Twitch's per-id `status`.
fn settlement(s: &Settlement) -> Value {
    let (state, detail) = match &s.state {
        SettledState::Fulfilled => ("fulfilled", None),
        SettledState::AlreadyFulfilled => ("alreadyFulfilled", None),
        SettledState::RetryLater => ("retryLater", None),
        SettledState::GrantFailed(reason) => ("grantFailed", Some(("reason", json!(reason)))),
        SettledState::Rejected(status) => ("rejected", Some(("status", json!(status)))),
        SettledState::Unmarked => ("unmarked", None),
        SettledState::Quarantined => ("quarantined", None),
        SettledState::NotReached => ("notReached", None),
        SettledState::HeldElsewhere => ("heldElsewhere", None),
    };
    let mut out = json!({ "id": s.id, "userId": s.user_id, "state": state });
    if let Some((key, value)) = detail {
        out[key] = value;
    }
    out
}

/// JSON text of an array of settlements.
pub fn settlements(list: &[Settlement]) -> String {
    Value::Array(list.iter().map(settlement).collect()).to_string()
}

/// A report as JavaScript sees it (the counters in the core's order, camelCase).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportJs<'a> {
    listed: u64,
    granted: u64,
    fulfilled: u64,
    already_fulfilled: u64,
    retry_later: u64,
    grant_failed: u64,
    rejected: u64,
    unmarked: u64,
    quarantined: u64,
    not_reached: u64,
    held_elsewhere: u64,
    resumed: u64,
    quarantined_users: &'a [String],
    left: u64,
    /// Stopped through its abort signal: run again with the same journal to finish.
    interrupted: bool,
}

fn report_js(r: &FulfillReport) -> ReportJs<'_> {
    ReportJs {
        listed: r.listed,
        granted: r.granted,
        fulfilled: r.fulfilled,
        already_fulfilled: r.already_fulfilled,
        retry_later: r.retry_later,
        grant_failed: r.grant_failed,
        rejected: r.rejected,
        unmarked: r.unmarked,
        quarantined: r.quarantined,
        not_reached: r.not_reached,
        held_elsewhere: r.held_elsewhere,
        resumed: r.resumed,
        quarantined_users: &r.quarantined_users,
        left: r.left(),
        interrupted: r.interrupted,
    }
}

/// The totals in camelCase, with `left` (not fulfilled in this run) as the core counts it.
/// The stop's cause is not here: a stopped run rejects with it.
pub fn report(r: &FulfillReport) -> Value {
    json!(report_js(r))
}

/// [`report`] as JSON text, its fields in order.
pub fn report_text(r: &FulfillReport) -> String {
    serde_json::to_string(&report_js(r)).unwrap_or_default()
}

/// JSON text of records to append.
pub fn records(list: &[JournalRecord]) -> String {
    serde_json::to_string(list).unwrap_or_default()
}

/// Reads what a JavaScript journal's `load()` gave back. A record whose ids this library
/// would never write (over 256 bytes, control characters) is refused, naming its position.
pub fn read_records(text: &str) -> Result<Vec<JournalRecord>, JournalError> {
    let records: Vec<JournalRecord> = serde_json::from_str(text).map_err(|e| {
        JournalError(format!(
            "`load()` did not give an array of journal records: {e}"
        ))
    })?;
    for (index, record) in records.iter().enumerate() {
        if let Err(e) = record.validate() {
            return Err(JournalError(format!(
                "`load()` record {index} (a `{}` record) is refused: {e}",
                record.kind()
            )));
        }
    }
    Ok(records)
}

/// Reads what a JavaScript journal's `claim(records)` resolved to: the ids of `records`
/// another instance holds. Anything else (not an array, not strings, an id that is not in
/// the batch) fails the run, naming what came back. Answering the ids taken instead of those
/// held cannot be told from a right answer here: the doc of `claim` says which it is.
pub fn read_held(text: &str, records: &[JournalRecord]) -> Result<Vec<String>, JournalError> {
    let wrong = |what: String| {
        JournalError(format!(
            "`claim()` must resolve to an array of the ids of its records another instance \
             holds (strings), but {what}"
        ))
    };
    let items = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items,
        Ok(Value::Null) => return Err(wrong("it resolved to nothing".into())),
        Ok(other) => return Err(wrong(format!("it resolved to {}", shown(&other)))),
        Err(e) => return Err(wrong(format!("its answer could not be read: {e}"))),
    };
    let batch: std::collections::HashSet<&str> = records.iter().map(JournalRecord::id).collect();
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(id) if batch.contains(id.as_str()) => Ok(id),
            Value::String(id) => Err(wrong(format!(
                "item {i} ({id:?}) is not the id of a record it was given"
            ))),
            other => Err(wrong(format!("item {i} is {}", shown(&other)))),
        })
        .collect()
}

/// A JSON value for an error message, cut short.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twitch_drops_protocol::{Entitlement, ErrorKind, FulfillmentStatus, UpdateStatus};

    fn entitlement(id: &str) -> Entitlement {
        Entitlement {
            id: id.into(),
            benefit_id: "b".into(),
            timestamp: "t".into(),
            user_id: "u".into(),
            game_id: "g".into(),
            fulfillment_status: FulfillmentStatus::Claimed,
            last_updated: "l".into(),
        }
    }

    #[test]
    fn a_loaded_record_with_ids_this_library_never_writes_is_refused() {
        let ok = read_records(r#"[{"op":"granted","id":"e1"}]"#).unwrap();
        assert_eq!(ok.len(), 1);
        let long = "9".repeat(300);
        let text = format!(r#"[{{"op":"granted","id":"e1"}},{{"op":"settled","id":"{long}"}}]"#);
        let JournalError(why) = read_records(&text).unwrap_err();
        assert!(why.contains("record 1") && why.contains("`id`"), "{why}");
        assert!(!why.contains(&long));
    }

    #[test]
    fn options_read_camel_case_and_the_engine_checks_them() {
        let o = fulfill_options(r#"{"gameId":"509658","userId":"u","quarantineAfter":3}"#).unwrap();
        assert_eq!(o.query.game_id.as_deref(), Some("509658"));
        assert_eq!(o.query.user_id.as_deref(), Some("u"));
        assert_eq!(o.quarantine_after, 3);
        assert_eq!(fulfill_options("{}").unwrap().quarantine_after, 1);
        let field = |e: Error| match e {
            Error::InvalidInput { field, .. } => field,
            other => panic!("{other}"),
        };
        assert_eq!(
            field(fulfill_options(r#"{"game":"1"}"#).unwrap_err()),
            "options"
        );
        assert_eq!(
            field(fulfill_options(r#"{"quarantineAfter":1.5}"#).unwrap_err()),
            "quarantineAfter"
        );
        assert_eq!(
            fulfill_options(r#"{"requestsInFlight":8}"#)
                .unwrap()
                .requests_in_flight,
            8
        );
        assert_eq!(fulfill_options("{}").unwrap().requests_in_flight, 4);
        assert_eq!(
            field(fulfill_options(r#"{"requestsInFlight":-1}"#).unwrap_err()),
            "requestsInFlight"
        );
        assert_eq!(
            pushed_options(r#"{"quarantineAfter":2,"requestsInFlight":2,"grantsInFlight":7}"#)
                .unwrap(),
            (2, 2, 7)
        );
        assert_eq!(pushed_options("{}").unwrap(), (1, 4, 1));
        assert_eq!(
            fulfill_options(r#"{"grantsInFlight":10}"#)
                .unwrap()
                .grants_in_flight,
            10
        );
        assert_eq!(
            pushed_options(r#"{"gameId":"1"}"#).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn grant_requests_are_camel_case() {
        let text = grant_requests(&[GrantRequest {
            entitlement: entitlement("e1"),
            resumed: true,
        }]);
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!([{"entitlement":{"id":"e1","benefitId":"b","timestamp":"t","userId":"u",
                "gameId":"g","fulfillmentStatus":"CLAIMED","lastUpdated":"l"},"resumed":true}])
        );
    }

    #[test]
    fn only_an_exact_answer_grants() {
        let outcomes = grant_outcomes(
            r#"["granted","retryLater",{"failed":"no account"},null,"Granted",{"failed":7},{"ok":1}]"#,
            7,
        );
        assert_eq!(outcomes[0], GrantOutcome::Granted);
        assert_eq!(outcomes[1], GrantOutcome::RetryLater);
        assert_eq!(outcomes[2], GrantOutcome::Failed("no account".into()));
        assert_eq!(outcomes[5], GrantOutcome::Failed("7".into()));
        for (i, shown) in [(3, "nothing"), (4, "\"Granted\""), (6, r#"{"ok":1}"#)] {
            match &outcomes[i] {
                GrantOutcome::Failed(reason) => assert!(reason.contains(shown), "{reason}"),
                other => panic!("{i}: {other:?}"),
            }
        }
        let unreadable = grant_outcomes("nope", 2);
        assert_eq!(unreadable.len(), 2);
        assert!(matches!(&unreadable[0], GrantOutcome::Failed(r) if r.contains("unreadable")));
    }

    #[test]
    fn settlements_and_reports_are_camel_case() {
        let list = [
            Settlement {
                id: "a".into(),
                user_id: "u".into(),
                state: SettledState::GrantFailed("no account".into()),
            },
            Settlement {
                id: "b".into(),
                user_id: "u".into(),
                state: SettledState::Rejected(UpdateStatus::InvalidId),
            },
            Settlement {
                id: "c".into(),
                user_id: "v".into(),
                state: SettledState::AlreadyFulfilled,
            },
        ];
        assert_eq!(
            serde_json::from_str::<Value>(&settlements(&list)).unwrap(),
            json!([
                {"id":"a","userId":"u","state":"grantFailed","reason":"no account"},
                {"id":"b","userId":"u","state":"rejected","status":"INVALID_ID"},
                {"id":"c","userId":"v","state":"alreadyFulfilled"},
            ])
        );
        let r = FulfillReport {
            listed: 5,
            fulfilled: 3,
            already_fulfilled: 1,
            retry_later: 1,
            quarantined_users: vec!["v".into()],
            ..FulfillReport::default()
        };
        let v = report(&r);
        assert_eq!(v["alreadyFulfilled"], 1);
        assert_eq!(v["retryLater"], 1);
        assert_eq!(v["quarantinedUsers"], json!(["v"]));
        assert_eq!(v["left"], 1);
        assert_eq!(v.as_object().unwrap().len(), 15);
        assert_eq!(v["interrupted"], false);
        assert!(report_text(&r).starts_with(r#"{"listed":5,"granted":0,"fulfilled":3,"#));
    }

    #[test]
    fn journal_records_keep_the_core_shape() {
        let list = vec![
            JournalRecord::Granting {
                id: "e".into(),
                user_id: "u".into(),
                benefit_id: "b".into(),
                game_id: "g".into(),
            },
            JournalRecord::NotGranted { id: "e".into() },
        ];
        let text = records(&list);
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!([{"op":"granting","id":"e","user_id":"u","benefit_id":"b","game_id":"g"},
                {"op":"not_granted","id":"e"}])
        );
        assert_eq!(read_records(&text).unwrap(), list);
        assert!(read_records(r#"{"op":"granted"}"#)
            .unwrap_err()
            .0
            .contains("load()"));
    }

    #[test]
    fn a_claim_answers_ids_of_its_batch_held_elsewhere() {
        let batch: Vec<JournalRecord> = ["a", "b", "c"]
            .iter()
            .map(|id| JournalRecord::Granting {
                id: (*id).into(),
                user_id: "u".into(),
                benefit_id: "b".into(),
                game_id: "g".into(),
            })
            .collect();
        assert_eq!(read_held("[]", &batch).unwrap(), Vec::<String>::new());
        assert_eq!(read_held(r#"["c","a"]"#, &batch).unwrap(), ["c", "a"]);
        for (text, says) in [
            ("null", "it resolved to nothing"),
            (r#"{"held":["a"]}"#, r#"it resolved to {"held":["a"]}"#),
            (r#"["a",7]"#, "item 1 is 7"),
            (
                r#"["z"]"#,
                r#"item 0 ("z") is not the id of a record it was given"#,
            ),
            ("", "its answer could not be read"),
        ] {
            let error = read_held(text, &batch).unwrap_err().0;
            assert!(
                error.starts_with("`claim()` must resolve to an array"),
                "{error}"
            );
            assert!(error.contains(says), "{text}: {error}");
        }
        let long = format!("\"{}\"", "x".repeat(200));
        assert!(read_held(&long, &batch).unwrap_err().0.ends_with("xxx…"));
    }
}
