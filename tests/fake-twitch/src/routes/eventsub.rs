//! `POST /helix/eventsub/subscriptions` (webhook `drop.entitlement.grant` only) and
//! `GET /helix/eventsub/subscriptions`.

use serde::Deserialize;
use serde_json::{json, Value};

use super::helix::Caller;
use crate::eventsub::{EventSubSubscription, DROP_GRANT_TYPE, DROP_GRANT_VERSION};
use crate::http::{Reply, Request};
use crate::state::Inner;

/// What Twitch allows one client's subscriptions to cost; Drops subscriptions cost 0.
const MAX_TOTAL_COST: u32 = 10_000;

fn bad_request(message: &str) -> Reply {
    Reply::helix_error(400, message)
}

#[derive(Deserialize)]
struct CreateBody {
    #[serde(rename = "type")]
    subscription_type: Option<String>,
    version: Option<String>,
    condition: Option<Value>,
    transport: Option<TransportBody>,
    #[serde(default)]
    is_batching_enabled: bool,
}

#[derive(Deserialize)]
struct TransportBody {
    method: Option<String>,
    callback: Option<String>,
    secret: Option<String>,
}

/// A webhook callback Twitch would accept: https, or (the fake's allowance for tests)
/// plain http to a loopback host.
fn acceptable_callback(url: &str) -> bool {
    if url.starts_with("https://") && url.len() > "https://".len() {
        return true;
    }
    crate::webhook::target(url).is_ok()
}

/// Creates a subscription: 202 with it, pending verification (the challenge is sent once
/// the answer is out).
pub(crate) fn create(inner: &mut Inner, caller: &Caller, req: &Request) -> Reply {
    if caller.user_id.is_some() {
        return bad_request("auth must use app access token to create webhook subscription");
    }
    let body: CreateBody = match serde_json::from_slice(&req.body) {
        Ok(body) => body,
        Err(_) => return bad_request("The request body is not valid JSON"),
    };
    let (Some(kind), Some(version)) = (body.subscription_type, body.version) else {
        return bad_request("Missing required parameter \"type\" or \"version\"");
    };
    if kind != DROP_GRANT_TYPE || version != DROP_GRANT_VERSION {
        return bad_request("invalid subscription type and version");
    }
    let Some(condition) = body.condition.filter(Value::is_object) else {
        return bad_request("Missing required parameter \"condition\"");
    };
    let organization = condition.get("organization_id").and_then(Value::as_str);
    if organization.is_none_or(|o| o.trim().is_empty()) {
        return bad_request("condition.organization_id is required");
    }
    for optional in ["category_id", "campaign_id"] {
        match condition.get(optional) {
            None => {}
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            Some(_) => return bad_request(&format!("condition.{optional} is invalid")),
        }
    }
    let Some(transport) = body.transport else {
        return bad_request("Missing required parameter \"transport\"");
    };
    if transport.method.as_deref() != Some("webhook") {
        return bad_request("transport.method must be webhook");
    }
    let Some(callback) = transport.callback.filter(|c| acceptable_callback(c)) else {
        return bad_request("transport.callback must be an https URL");
    };
    let Some(secret) = transport
        .secret
        .filter(|s| s.is_ascii() && (10..=100).contains(&s.len()))
    else {
        return bad_request("transport.secret must be 10 to 100 ASCII characters");
    };
    if !body.is_batching_enabled {
        return bad_request("is_batching_enabled must be true for drop.entitlement.grant");
    }
    let wanted = EventSubSubscription {
        subscription_type: kind,
        version,
        condition: condition.clone(),
        callback: callback.clone(),
        ..EventSubSubscription::default()
    };
    if inner.eventsub.exists(&wanted) {
        return Reply::helix_error(409, "subscription already exists");
    }
    let created = inner.eventsub.subscribe(condition, callback, secret);
    let total = inner.eventsub.subscriptions().len();
    Reply::json(
        202,
        &json!({
            "data": [created.wire()],
            "total": total,
            "total_cost": 0,
            "max_total_cost": MAX_TOTAL_COST,
        }),
    )
}

/// Every subscription, on one page.
pub(crate) fn list(inner: &mut Inner) -> Reply {
    let all = inner.eventsub.subscriptions();
    let data: Vec<Value> = all.iter().map(EventSubSubscription::wire).collect();
    Reply::json(
        200,
        &json!({
            "data": data,
            "total": data.len(),
            "total_cost": 0,
            "max_total_cost": MAX_TOTAL_COST,
            "pagination": {},
        }),
    )
}
