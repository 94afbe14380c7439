//! The OAuth server: `/oauth2/token` (three grants), `/oauth2/device`, `/oauth2/validate`
//! and `/oauth2/revoke`. Parameters are read from the query string and the form body.

use std::time::Instant;

use serde_json::{json, Value};

use crate::http::{param, Reply, Request};
use crate::state::State;
use crate::tokens::{DevicePollError, UserGrant, DEVICE_CODE_TTL_SECS, DEVICE_POLL_INTERVAL_SECS};

/// The device-code grant's `grant_type`.
pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn scopes_of(text: Option<&str>) -> Vec<String> {
    text.unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn user_grant_json(grant: &UserGrant) -> Value {
    json!({
        "access_token": grant.access_token,
        "expires_in": grant.expires_in,
        "refresh_token": grant.refresh_token,
        "scope": grant.scopes,
        "token_type": "bearer",
    })
}

/// Checks `client_id` (400 when missing or unknown).
fn check_client(state: &State, client_id: Option<&str>) -> Result<(), Reply> {
    match client_id {
        None => Err(Reply::oauth_error(400, "missing client id")),
        Some(id) if id != state.client_id => Err(Reply::oauth_error(400, "invalid client")),
        Some(_) => Ok(()),
    }
}

/// `POST /oauth2/token`.
pub(crate) fn token(state: &State, req: &Request) -> Reply {
    let p = req.params();
    let client_id = param(&p, "client_id");
    let client_secret = param(&p, "client_secret");
    match param(&p, "grant_type") {
        None => Reply::oauth_error(400, "missing grant_type"),
        Some("client_credentials") => {
            if let Err(reply) = check_client(state, client_id) {
                return reply;
            }
            match client_secret {
                None => return Reply::oauth_error(400, "missing client secret"),
                Some(secret) if secret != state.client_secret => {
                    return Reply::oauth_error(403, "invalid client secret")
                }
                Some(_) => {}
            }
            let (token, expires_in) = state.lock().tokens.issue_app(&state.client_id);
            Reply::json(
                200,
                &json!({"access_token": token, "expires_in": expires_in, "token_type": "bearer"}),
            )
        }
        Some("refresh_token") => {
            let Some(refresh_token) = param(&p, "refresh_token") else {
                return Reply::oauth_error(400, "missing refresh token");
            };
            if client_id.is_some() {
                if let Err(reply) = check_client(state, client_id) {
                    return reply;
                }
            }
            if client_secret.is_some_and(|s| s != state.client_secret) {
                return Reply::oauth_error(403, "invalid client secret");
            }
            match state.lock().tokens.refresh(refresh_token, &state.client_id) {
                Some(grant) => Reply::json(200, &user_grant_json(&grant)),
                None => Reply::oauth_error(400, "Invalid refresh token"),
            }
        }
        Some(DEVICE_GRANT) => {
            if let Err(reply) = check_client(state, client_id) {
                return reply;
            }
            let Some(device_code) = param(&p, "device_code") else {
                return Reply::oauth_error(400, "missing device code");
            };
            match state
                .lock()
                .tokens
                .poll_device(device_code, &state.client_id)
            {
                Ok(grant) => Reply::json(200, &user_grant_json(&grant)),
                Err(DevicePollError::Pending) => Reply::oauth_error(400, "authorization_pending"),
                Err(DevicePollError::Expired) => Reply::oauth_error(400, "expired_token"),
                Err(DevicePollError::Unknown | DevicePollError::WrongClient) => {
                    Reply::oauth_error(400, "invalid device code")
                }
            }
        }
        Some(_) => Reply::oauth_error(400, "unsupported grant type"),
    }
}

/// `POST /oauth2/device`: start a device-code login.
pub(crate) fn device(state: &State, req: &Request) -> Reply {
    let p = req.params();
    if let Err(reply) = check_client(state, param(&p, "client_id")) {
        return reply;
    }
    let scopes = scopes_of(param(&p, "scopes"));
    let start = state.lock().tokens.start_device(&state.client_id, &scopes);
    Reply::json(
        200,
        &json!({
            "device_code": start.device_code,
            "expires_in": DEVICE_CODE_TTL_SECS,
            "interval": DEVICE_POLL_INTERVAL_SECS,
            "user_code": start.user_code,
            "verification_uri": format!(
                "{}/activate?public=true&device-code={}",
                state.base_url, start.user_code
            ),
        }),
    )
}

/// The token of `Authorization: OAuth <token>` (Twitch also takes `Bearer`).
fn oauth_token(req: &Request) -> Option<&str> {
    let (scheme, token) = req.header("authorization")?.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("oauth") || scheme.eq_ignore_ascii_case("bearer"))
        .then_some(token.trim())
}

/// `GET /oauth2/validate`.
pub(crate) fn validate(state: &State, req: &Request) -> Reply {
    let Some(token) = oauth_token(req) else {
        return Reply::oauth_error(401, "missing authorization token");
    };
    let inner = state.lock();
    let now = Instant::now();
    match inner.tokens.get(token) {
        Some(info) if info.is_valid(now) => {
            let mut body = json!({
                "client_id": info.client_id,
                "scopes": info.scopes,
                "expires_in": info.expires_in(now),
            });
            if let Some(user_id) = &info.user_id {
                body["login"] = json!(info.login());
                body["user_id"] = json!(user_id);
            }
            Reply::json(200, &body)
        }
        _ => Reply::oauth_error(401, "invalid access token"),
    }
}

/// `POST /oauth2/revoke`: form `client_id`, `token`.
pub(crate) fn revoke(state: &State, req: &Request) -> Reply {
    let p = req.params();
    if let Err(reply) = check_client(state, param(&p, "client_id")) {
        return reply;
    }
    let Some(token) = param(&p, "token") else {
        return Reply::oauth_error(400, "missing token");
    };
    if state.lock().tokens.revoke(token, &state.client_id) {
        Reply::empty(200)
    } else {
        Reply::oauth_error(400, "Invalid token")
    }
}
