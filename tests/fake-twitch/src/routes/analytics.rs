//! `GET /helix/analytics/games`: report links for our games.

use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::helix::Caller;
use crate::clock::{rfc3339_date, today_midnight};
use crate::cursor::Cursor;
use crate::http::{param, Reply, Request};
use crate::state::{Inner, State};

/// The scope the endpoint requires.
pub(crate) const SCOPE: &str = "analytics:read:games";
const REPORT_TYPE: &str = "overview_v2";
const DEFAULT_FIRST: usize = 20;
const MAX_FIRST: usize = 100;

fn bad_request(message: &str) -> Reply {
    Reply::helix_error(400, message)
}

/// A date with a zero time (`2025-01-01T00:00:00Z`), in UTC.
fn parse_date(text: &str) -> Option<OffsetDateTime> {
    let t = OffsetDateTime::parse(text, &Rfc3339)
        .ok()?
        .to_offset(UtcOffset::UTC);
    (t.time() == time::Time::MIDNIGHT).then_some(t)
}

pub(crate) fn games(state: &State, inner: &mut Inner, caller: &Caller, req: &Request) -> Reply {
    if caller.user_id.is_none() {
        return Reply::helix_error(401, "User token required");
    }
    if !caller.scopes.iter().any(|s| s == SCOPE) {
        return Reply::helix_error(401, "Missing scope: analytics:read:games");
    }
    let q = req.query_pairs();
    if param(&q, "type").is_some_and(|t| t != REPORT_TYPE) {
        return bad_request("The parameter \"type\" must be overview_v2");
    }
    let first = match param(&q, "first") {
        None => DEFAULT_FIRST,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_FIRST).contains(&n) => n,
            _ => return bad_request("The parameter \"first\" must be between 1 and 100"),
        },
    };
    let year_ago = today_midnight() - Duration::days(365);
    let (started_at, ended_at) = match (param(&q, "started_at"), param(&q, "ended_at")) {
        (None, None) => (year_ago, today_midnight() - Duration::days(2)),
        (Some(start), Some(end)) => {
            let (Some(start), Some(end)) = (parse_date(start), parse_date(end)) else {
                return bad_request(
                    "started_at and ended_at must be RFC 3339 dates with a zero time",
                );
            };
            if end < start {
                return bad_request("ended_at must not be earlier than started_at");
            }
            (start.max(year_ago).min(end), end)
        }
        _ => return bad_request("started_at and ended_at must be specified together"),
    };

    let games: Vec<String> = match param(&q, "game_id") {
        Some(game) => {
            if inner.store.is_foreign(game) {
                return Reply::helix_error(403, "The organization does not own the game");
            }
            if !inner.store.owned_games().iter().any(|g| g == game) {
                return Reply::helix_error(404, "The game was not found");
            }
            vec![game.to_string()]
        }
        None => inner.store.owned_games().to_vec(),
    };
    let (offset, paged) = if param(&q, "game_id").is_some() {
        (0, false)
    } else {
        match param(&q, "after").map(|c| Cursor::decode(c, true)) {
            None => (0, true),
            Some(Some(Cursor::Offset(n))) => (n, true),
            Some(_) => return bad_request("The parameter \"after\" is not a valid cursor"),
        }
    };
    let end = if paged {
        offset.saturating_add(first).min(games.len())
    } else {
        games.len()
    };
    let data: Vec<_> = games
        .get(offset.min(end)..end)
        .unwrap_or_default()
        .iter()
        .map(|game| {
            let name = inner.reports.create(game, started_at, ended_at);
            json!({
                "game_id": game,
                "URL": format!("{}/_reports/{name}", state.base_url),
                "type": REPORT_TYPE,
                "date_range": {
                    "started_at": rfc3339_date(started_at),
                    "ended_at": rfc3339_date(ended_at),
                },
            })
        })
        .collect();
    let pagination = match (end < games.len())
        .then_some(Cursor::Offset(end))
        .and_then(Cursor::encode)
    {
        Some(cursor) => json!({ "cursor": cursor }),
        None => json!({}),
    };
    Reply::json(200, &json!({ "data": data, "pagination": pagination }))
}
