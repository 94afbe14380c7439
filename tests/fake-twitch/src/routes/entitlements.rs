//! `GET /helix/entitlements/drops` and `PATCH /helix/entitlements/drops` (also reachable
//! at the seed spec's `/helix/entitlements/drops/update`).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::helix::Caller;
use crate::clock::now_rfc3339;
use crate::cursor::Cursor;
use crate::entitlement::{is_uuid_shaped, Entitlement, CLAIMED, FULFILLED};
use crate::http::{param, params_all, Reply, Request};
use crate::state::Inner;
use crate::store::Filter;

/// Most ids per GET or PATCH.
const MAX_IDS: usize = 100;
const DEFAULT_FIRST: usize = 20;
const MAX_FIRST: usize = 1000;

fn bad_request(message: &str) -> Reply {
    Reply::helix_error(400, message)
}

fn valid_status(s: &str) -> bool {
    s == CLAIMED || s == FULFILLED
}

/// The listing, with Twitch's rules on filters by token type.
pub(crate) fn list(inner: &mut Inner, caller: &Caller, req: &Request) -> Reply {
    let q = req.query_pairs();
    let ids: Vec<&str> = params_all(&q, "id")
        .into_iter()
        .filter(|id| !id.is_empty())
        .collect();
    if ids.len() > MAX_IDS {
        return bad_request("The parameter \"id\" may only be specified up to 100 times");
    }
    let first = match param(&q, "first") {
        None => DEFAULT_FIRST,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_FIRST).contains(&n) => n,
            _ => return bad_request("The parameter \"first\" must be between 1 and 1000"),
        },
    };
    let status = param(&q, "fulfillment_status");
    if status.is_some_and(|s| !valid_status(s)) {
        return bad_request("The parameter \"fulfillment_status\" must be CLAIMED or FULFILLED");
    }
    let mut user_id = param(&q, "user_id").map(str::to_string);
    if let Some(token_user) = &caller.user_id {
        if user_id.as_ref().is_some_and(|u| u != token_user) {
            return bad_request("The user_id parameter must match the user in the OAuth token");
        }
        user_id = Some(token_user.clone());
    }
    let game_id = param(&q, "game_id").map(str::to_string);
    if let Some(game) = &game_id {
        if inner.store.is_foreign(game) {
            return Reply::helix_error(403, "The organization does not own the game");
        }
    }
    let positional = inner.faults.faults.positional_cursors;
    let cursor = match param(&q, "after") {
        None => Cursor::Start,
        Some(text) => match Cursor::decode(text, positional) {
            Some(c) => c,
            None => return bad_request("The parameter \"after\" is not a valid cursor"),
        },
    };
    if user_id
        .as_deref()
        .is_some_and(|u| inner.faults.is_failing_user(u))
    {
        return Reply::helix_error(500, "");
    }

    let filter = Filter {
        ids: (!ids.is_empty()).then(|| ids.iter().map(|s| s.to_string()).collect()),
        user_id,
        game_id,
        status: status.map(str::to_string),
    };
    let page = inner.store.page(&filter, first, cursor, positional);
    Reply::json(
        200,
        &ListBody {
            data: &page.items,
            pagination: Pagination {
                cursor: page.next.and_then(Cursor::encode),
            },
        },
    )
}

/// The listing's body; a struct keeps Twitch's field order (`id` first).
#[derive(Serialize)]
struct ListBody<'a> {
    data: &'a [Entitlement],
    pagination: Pagination,
}

/// `{"cursor": ...}`, or `{}` on the last page.
#[derive(Serialize)]
struct Pagination {
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct UpdateBody {
    entitlement_ids: Option<Vec<String>>,
    fulfillment_status: Option<String>,
}

/// The order groups are listed in.
const OUTCOMES: [&str; 5] = [
    "SUCCESS",
    "INVALID_ID",
    "NOT_FOUND",
    "UNAUTHORIZED",
    "UPDATE_FAILED",
];

/// The update: 200 with ids grouped by outcome, even when some fail.
pub(crate) fn update(inner: &mut Inner, caller: &Caller, req: &Request) -> Reply {
    let body: UpdateBody = match serde_json::from_slice(&req.body) {
        Ok(body) => body,
        Err(_) => return bad_request("The request body is not valid JSON"),
    };
    let Some(ids) = body.entitlement_ids else {
        return bad_request("Missing required parameter \"entitlement_ids\"");
    };
    if ids.is_empty() {
        return bad_request("The parameter \"entitlement_ids\" must not be empty");
    }
    if ids.len() > MAX_IDS {
        return bad_request("The parameter \"entitlement_ids\" may contain at most 100 ids");
    }
    let Some(status) = body.fulfillment_status.filter(|s| valid_status(s)) else {
        return bad_request("The parameter \"fulfillment_status\" must be CLAIMED or FULFILLED");
    };
    let touches_failing_user = ids.iter().any(|id| {
        inner
            .store
            .find(id)
            .iter()
            .any(|e| inner.faults.is_failing_user(&e.user_id))
    });
    if touches_failing_user {
        return Reply::helix_error(500, "");
    }

    let now = now_rfc3339();
    let update_failed_rate = inner.faults.faults.update_failed_rate;
    let mut groups: [Vec<String>; 5] = Default::default();
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id.clone()) {
            continue;
        }
        let outcome = if !is_uuid_shaped(&id) {
            1
        } else {
            let copies = inner.store.find(&id);
            match copies.first() {
                None => 2,
                Some(e)
                    if inner.store.is_foreign(&e.game_id)
                        || caller.user_id.as_ref().is_some_and(|u| *u != e.user_id) =>
                {
                    3
                }
                Some(_) if inner.faults.strikes(update_failed_rate) => 4,
                Some(_) => {
                    let already = inner.store.set_status(&id, &status, &now);
                    if already && status == FULFILLED {
                        inner.store.duplicate_fulfill_attempts += 1;
                    }
                    0
                }
            }
        };
        groups[outcome].push(id);
    }
    let data: Vec<_> = OUTCOMES
        .iter()
        .zip(groups)
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(status, ids)| json!({ "status": status, "ids": ids }))
        .collect();
    Reply::json(200, &json!({ "data": data }))
}
