//! The device code flow: how a tool without a browser gets a user token (needed for
//! analytics). Ask for a code, show the user where to enter it, then poll until they do.

use std::time::Duration;

use serde::Deserialize;

use crate::config::Config;
use crate::error::Error;
use crate::exchange::{AuthScheme, Exchange, Replay};
use crate::http::{HttpResponse, Method};
use crate::secret::Secret;
use crate::single_request::SingleRequest;
use crate::step::{Input, Operation, Step};
use crate::token::{token_request, OAuthToken};
use crate::url::{encode_pairs, join};

/// The scope analytics needs.
pub const ANALYTICS_SCOPE: &str = "analytics:read:games";

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A pending device login: show `user_code` and `verification_uri` to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCode {
    /// The code the client polls with (secret: whoever holds it gets the token).
    pub device_code: Secret,
    /// The code the user types.
    pub user_code: String,
    /// Where the user types it.
    pub verification_uri: String,
    /// Seconds the code stays valid.
    pub expires_in: u64,
    /// Seconds between polls.
    pub interval: u64,
    /// The scopes asked for.
    pub scopes: Vec<String>,
}

#[derive(Deserialize)]
struct DeviceBody {
    device_code: String,
    user_code: String,
    verification_uri: String,
    expires_in: u64,
    #[serde(default = "default_interval")]
    interval: u64,
}

fn default_interval() -> u64 {
    5
}

/// `POST {auth}/device`: starts a device login for `scopes`.
pub fn start_device_flow(config: &Config, scopes: &[&str]) -> Result<DeviceStart, Error> {
    if scopes
        .iter()
        .any(|s| s.trim().is_empty() || s.contains(' '))
    {
        return Err(Error::invalid(
            "scopes",
            "each scope must be one non-empty word, e.g. `analytics:read:games`",
        ));
    }
    let exchange = Exchange::new(
        Method::Post,
        join(config.auth_url(), "device", ""),
        AuthScheme::None,
        Replay::Safe,
        config.retry_policy(),
    )
    .form(encode_pairs([
        ("client_id", config.client_id()),
        ("scopes", &scopes.join(" ")),
    ]));
    fn decode(response: &HttpResponse) -> Result<DeviceCode, Error> {
        let body: DeviceBody = response.json("device code response")?;
        Ok(DeviceCode {
            device_code: Secret::new(body.device_code),
            user_code: body.user_code,
            verification_uri: body.verification_uri,
            expires_in: body.expires_in,
            interval: body.interval.max(1),
            scopes: Vec::new(),
        })
    }
    Ok(DeviceStart {
        request: SingleRequest::new(exchange, decode),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    })
}

/// Starts a device login (the operation [`start_device_flow`] returns).
#[derive(Debug)]
pub struct DeviceStart {
    request: SingleRequest<DeviceCode>,
    scopes: Vec<String>,
}

impl Operation for DeviceStart {
    type Output = DeviceCode;

    fn resume(&mut self, input: Input, now_ms: u64) -> Step<DeviceCode> {
        match self.request.resume(input, now_ms) {
            Step::Done(Ok(mut code)) => {
                code.scopes = std::mem::take(&mut self.scopes);
                Step::Done(Ok(code))
            }
            other => other,
        }
    }
}

/// Polls the token endpoint until the user approves the login, it expires, or they refuse.
#[derive(Debug)]
pub struct DevicePoll {
    auth_url: String,
    client_id: String,
    retry: crate::retry::RetryPolicy,
    code: DeviceCode,
    interval: Duration,
    deadline_ms: Option<u64>,
    between_polls: bool,
    poll: SingleRequest<OAuthToken>,
}

/// The operation that finishes a device login started with [`start_device_flow`].
pub fn poll_device_flow(config: &Config, code: &DeviceCode) -> DevicePoll {
    DevicePoll {
        auth_url: config.auth_url().to_string(),
        client_id: config.client_id().to_string(),
        retry: config.retry_policy().clone(),
        code: code.clone(),
        interval: Duration::from_secs(code.interval.max(1)),
        deadline_ms: None,
        between_polls: false,
        poll: poll_request(
            config.auth_url(),
            config.client_id(),
            config.retry_policy(),
            code,
        ),
    }
}

fn poll_request(
    auth_url: &str,
    client_id: &str,
    retry: &crate::retry::RetryPolicy,
    code: &DeviceCode,
) -> SingleRequest<OAuthToken> {
    token_request(
        auth_url,
        retry,
        encode_pairs([
            ("client_id", client_id),
            ("scopes", &code.scopes.join(" ")),
            ("device_code", code.device_code.expose()),
            ("grant_type", DEVICE_GRANT),
        ]),
    )
}

impl Operation for DevicePoll {
    type Output = OAuthToken;

    fn resume(&mut self, input: Input, now_ms: u64) -> Step<OAuthToken> {
        let deadline = *self
            .deadline_ms
            .get_or_insert(now_ms.saturating_add(self.code.expires_in.saturating_mul(1000)));
        let input = match input {
            // Our own wait between polls is over: start the next poll.
            Input::Slept if self.between_polls => {
                self.between_polls = false;
                self.poll = poll_request(&self.auth_url, &self.client_id, &self.retry, &self.code);
                Input::Start
            }
            other => other,
        };
        match self.poll.resume(input, now_ms) {
            Step::Done(Err(Error::Unauthorized { message, status }))
                if message.contains("authorization_pending") || message.contains("slow_down") =>
            {
                if message.contains("slow_down") {
                    self.interval = self.interval.saturating_add(Duration::from_secs(5));
                }
                let interval_ms = u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX);
                if now_ms.saturating_add(interval_ms) >= deadline {
                    return Step::Done(Err(Error::Unauthorized {
                        status,
                        message: "the device code expired before the user approved it; \
                                  start the device flow again"
                            .into(),
                    }));
                }
                self.between_polls = true;
                Step::Sleep(self.interval)
            }
            other => other,
        }
    }
}
