//! Request dispatch: reads the request, picks the route, records stats and journal, and
//! turns the reply into a hyper response (or a dropped connection).

pub(crate) mod admin;
mod analytics;
mod cors;
mod entitlements;
mod eventsub;
mod helix;
mod oauth;
mod reports;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Response};

use crate::http::{Reply, Request};
use crate::journal::JournalEntry;
use crate::state::State;

/// Largest request body read.
const MAX_BODY: usize = 1 << 20;

/// Returned to hyper to close the connection without a response.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("fault injected: connection dropped after applying the request")
    }
}

impl std::error::Error for DropConnection {}

/// What a handler decided.
#[derive(Debug)]
pub(crate) enum Outcome {
    Reply(Reply),
    /// Close the connection without a response.
    Drop,
}

/// The Helix endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HelixRoute {
    GetEntitlements,
    UpdateEntitlements,
    GameAnalytics,
    CreateSubscription,
    ListSubscriptions,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Route {
    Token,
    Device,
    Validate,
    Revoke,
    Helix(HelixRoute),
    Report(String),
    Unknown,
}

impl Route {
    fn of(req: &Request) -> Route {
        let m = &req.method;
        match req.path.as_str() {
            "/oauth2/token" if m == Method::POST => Route::Token,
            "/oauth2/device" if m == Method::POST => Route::Device,
            "/oauth2/validate" if m == Method::GET => Route::Validate,
            "/oauth2/revoke" if m == Method::POST => Route::Revoke,
            "/helix/entitlements/drops" if m == Method::GET => {
                Route::Helix(HelixRoute::GetEntitlements)
            }
            "/helix/entitlements/drops" | "/helix/entitlements/drops/update"
                if m == Method::PATCH =>
            {
                Route::Helix(HelixRoute::UpdateEntitlements)
            }
            "/helix/analytics/games" if m == Method::GET => Route::Helix(HelixRoute::GameAnalytics),
            "/helix/eventsub/subscriptions" if m == Method::POST => {
                Route::Helix(HelixRoute::CreateSubscription)
            }
            "/helix/eventsub/subscriptions" if m == Method::GET => {
                Route::Helix(HelixRoute::ListSubscriptions)
            }
            path if m == Method::GET => match path.strip_prefix("/_reports/") {
                Some(name) if !name.is_empty() && !name.contains('/') => {
                    Route::Report(name.to_string())
                }
                _ => Route::Unknown,
            },
            _ => Route::Unknown,
        }
    }

    /// The key in `Stats::requests_by_route`.
    fn key(&self, req: &Request) -> String {
        match self {
            Route::Report(_) => "GET /_reports".to_string(),
            Route::Unknown => "other".to_string(),
            _ => format!("{} {}", req.method, req.path),
        }
    }
}

/// hyper's service: one request in, one response (or a dropped connection) out.
pub(crate) async fn handle(
    state: Arc<State>,
    req: hyper::Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let arrived = Instant::now();
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(finish(Reply::helix_error(413, "Request body too large"))),
    };
    let req = Request {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body,
    };

    if req.path == "/_fake" || req.path.starts_with("/_fake/") {
        if req.method == Method::OPTIONS {
            return Ok(finish(cors::preflight()));
        }
        return Ok(finish(admin::handle(&state, &req).await));
    }
    if req.method == Method::OPTIONS {
        let reply = cors::preflight();
        journal(&state, &req, reply.status, arrived);
        return Ok(finish(reply));
    }

    let route = Route::of(&req);
    let (outcome, latency) = match &route {
        Route::Helix(h) => helix::handle(&state, &req, *h).await,
        Route::Token => (Outcome::Reply(oauth::token(&state, &req)), Duration::ZERO),
        Route::Device => (Outcome::Reply(oauth::device(&state, &req)), Duration::ZERO),
        Route::Validate => (
            Outcome::Reply(oauth::validate(&state, &req)),
            Duration::ZERO,
        ),
        Route::Revoke => (Outcome::Reply(oauth::revoke(&state, &req)), Duration::ZERO),
        Route::Report(name) => (
            Outcome::Reply(reports::download(&state, name)),
            Duration::ZERO,
        ),
        Route::Unknown => (
            Outcome::Reply(Reply::helix_error(404, "Not Found")),
            Duration::ZERO,
        ),
    };

    let status = match &outcome {
        Outcome::Reply(r) => r.status,
        Outcome::Drop => 0,
    };
    {
        let mut inner = state.lock();
        inner.requests += 1;
        *inner.requests_by_route.entry(route.key(&req)).or_default() += 1;
        if status == 429 {
            inner.rate_limited += 1;
        }
        let busy = arrived.elapsed().saturating_sub(latency);
        inner.busy_micros += busy.as_micros() as u64;
    }
    journal(&state, &req, status, arrived);
    if route == Route::Helix(HelixRoute::CreateSubscription) && status == 202 {
        // Like Twitch, challenge the callback once the subscription's answer is out.
        tokio::spawn(crate::eventsub::verify_new_subscriptions(Arc::clone(
            &state,
        )));
    }

    match outcome {
        Outcome::Reply(reply) => Ok(finish(reply)),
        Outcome::Drop => Err(DropConnection),
    }
}

fn journal(state: &State, req: &Request, status: u16, arrived: Instant) {
    let body_ids = if req.method == Method::PATCH {
        serde_json::from_slice::<serde_json::Value>(&req.body)
            .ok()
            .and_then(|v| v.get("entitlement_ids")?.as_array().map(Vec::len))
            .unwrap_or(0)
    } else {
        0
    };
    let mut inner = state.lock();
    let at_ms = arrived.saturating_duration_since(inner.epoch).as_millis() as u64;
    inner.journal.push(JournalEntry {
        method: req.method.to_string(),
        path: req.path.clone(),
        query: req.query.clone(),
        status,
        at_ms,
        body_ids,
    });
}

/// The hyper response, with CORS's `Access-Control-Allow-Origin: *` on every one.
fn finish(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in reply.headers {
        headers.append(name, value);
    }
    cors::allow_origin(headers);
    response
}
