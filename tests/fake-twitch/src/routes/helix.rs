//! What every Helix call goes through: injected latency and errors, authentication, the
//! rate limit, the endpoint, then the "after apply" faults.

use std::time::Duration;

use bytes::Bytes;
use hyper::header::HeaderName;

use super::{analytics, entitlements, eventsub, HelixRoute, Outcome};
use crate::clock::unix_now;
use crate::http::{Reply, Request};
use crate::rate_limit::Quota;
use crate::state::{Inner, State};

const HTML_503: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n";

/// Who is calling, from a valid token.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub(crate) client_id: String,
    /// None for app tokens.
    pub(crate) user_id: Option<String>,
    pub(crate) scopes: Vec<String>,
}

impl Caller {
    fn bucket(&self) -> String {
        bucket_key(&self.client_id, self.user_id.as_deref())
    }
}

fn bucket_key(client_id: &str, user_id: Option<&str>) -> String {
    match user_id {
        Some(user) => format!("user:{client_id}:{user}"),
        None => format!("app:{client_id}"),
    }
}

/// Run one Helix call; also returns the injected latency (not counted as busy time).
pub(crate) async fn handle(state: &State, req: &Request, route: HelixRoute) -> (Outcome, Duration) {
    let latency = Duration::from_millis(state.lock().faults.faults.latency_ms);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut inner = state.lock();
    (pipeline(state, &mut inner, req, route), latency)
}

fn bearer(req: &Request) -> Option<&str> {
    let value = req.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The bucket a request would spend from, without counting a token use.
fn peek_bucket(state: &State, inner: &Inner, req: &Request) -> String {
    match bearer(req).and_then(|t| inner.tokens.get(t)) {
        Some(info) => bucket_key(&info.client_id, info.user_id.as_deref()),
        None => bucket_key(req.header("client-id").unwrap_or(&state.client_id), None),
    }
}

fn with_quota(reply: Reply, q: Quota) -> Reply {
    reply
        .header(HeaderName::from_static("ratelimit-limit"), q.limit)
        .header(HeaderName::from_static("ratelimit-remaining"), q.remaining)
        .header(HeaderName::from_static("ratelimit-reset"), q.reset)
}

fn too_many(q: Quota) -> Reply {
    with_quota(
        Reply::helix_error(429, "Too Many Requests: rate limit exceeded"),
        q,
    )
}

fn authenticate(state: &State, inner: &mut Inner, req: &Request) -> Result<Caller, Reply> {
    let unauthorized = |message: &str| Reply::helix_error(401, message);
    let Some(token) = bearer(req) else {
        return Err(unauthorized(if req.header("authorization").is_some() {
            "Invalid OAuth token"
        } else {
            "OAuth token is missing"
        }));
    };
    let Some(client_id) = req.header("client-id") else {
        return Err(unauthorized("Client ID is missing"));
    };
    let now = std::time::Instant::now();
    let info = match inner.tokens.get(token) {
        Some(info) if info.is_valid(now) => info,
        _ => return Err(unauthorized("Invalid OAuth token")),
    };
    if info.client_id != client_id || client_id != state.client_id {
        return Err(unauthorized("Client ID and OAuth token do not match"));
    }
    let revoke_after = inner.faults.faults.revoke_token_after;
    let info = inner
        .tokens
        .use_token(token, revoke_after)
        .ok_or_else(|| unauthorized("Invalid OAuth token"))?;
    Ok(Caller {
        client_id: info.client_id,
        user_id: info.user_id,
        scopes: info.scopes,
    })
}

fn pipeline(state: &State, inner: &mut Inner, req: &Request, route: HelixRoute) -> Outcome {
    let peeked = {
        let key = peek_bucket(state, inner, req);
        inner.limiter.peek(&key)
    };
    let rates = (
        inner.faults.faults.error_5xx_rate,
        inner.faults.faults.html_503_rate,
    );
    if inner.faults.strikes(rates.0) {
        inner.injected("500");
        return Outcome::Reply(with_quota(Reply::helix_error(500, ""), peeked));
    }
    if inner.faults.strikes(rates.1) {
        inner.injected("503");
        return Outcome::Reply(with_quota(
            Reply::with_body(503, "text/html", HTML_503),
            peeked,
        ));
    }

    let caller = match authenticate(state, inner, req) {
        Ok(caller) => caller,
        Err(reply) => return Outcome::Reply(with_quota(reply, peeked)),
    };

    let key = caller.bucket();
    let available = inner.limiter.peek(&key);
    if available.remaining == 0 {
        return Outcome::Reply(too_many(available));
    }
    if inner.faults.next_call_is_limited() {
        inner.injected("429");
        return Outcome::Reply(too_many(Quota {
            remaining: 0,
            reset: unix_now() + 1,
            ..available
        }));
    }
    let spurious = inner.faults.faults.spurious_429_rate;
    if inner.faults.strikes(spurious) {
        inner.injected("429");
        return Outcome::Reply(too_many(available));
    }
    let quota = match inner.limiter.take(&key) {
        Ok(q) => q,
        Err(q) => return Outcome::Reply(too_many(q)),
    };

    let reply = match route {
        HelixRoute::GetEntitlements => entitlements::list(inner, &caller, req),
        HelixRoute::UpdateEntitlements => entitlements::update(inner, &caller, req),
        HelixRoute::GameAnalytics => analytics::games(state, inner, &caller, req),
        HelixRoute::CreateSubscription => eventsub::create(inner, &caller, req),
        HelixRoute::ListSubscriptions => eventsub::list(inner),
    };

    let mut reply = with_quota(reply, quota);
    let entitlement_call = matches!(
        route,
        HelixRoute::GetEntitlements | HelixRoute::UpdateEntitlements
    );
    if entitlement_call && reply.status == 200 {
        let drop_rate = inner.faults.faults.drop_after_apply_rate;
        if inner.faults.strikes(drop_rate) {
            inner.injected("drop");
            return Outcome::Drop;
        }
        let truncate_rate = inner.faults.faults.truncate_after_apply_rate;
        if inner.faults.strikes(truncate_rate) {
            inner.injected("truncate");
            let cut = reply.body.len() / 2;
            reply.body = Bytes::copy_from_slice(&reply.body[..cut]);
        }
    }
    Outcome::Reply(reply)
}
