//! `td_client_config`: everything a client is made from. Setters store; the core checks the
//! whole configuration when `td_client_new` is called.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use twitch_drops::{Config, Credentials, RetryPolicy, Secret};

use crate::boundary::{
    arg_mut, arg_opt_str, arg_ref, arg_str, free_handle, guard, guard_code, guard_value,
    into_handle, out_ptr, Failure, UserData,
};
use crate::error::td_error;
use crate::result::td_result;
use crate::transport::{td_now_fn, td_sleep_fn, td_transport_fn, Door, FfiClock};

/// Retry bounds (the core's `RetryPolicy`). Start from `td_retry_policy_default()` and change
/// what you need.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct td_retry_policy {
    /// Retries of one request after a 5xx, a transport failure or an unreadable body.
    pub max_retries: u32,
    /// First backoff in milliseconds; each retry doubles it (with jitter) up to `max_delay_ms`.
    pub base_delay_ms: u64,
    /// Longest single backoff, in milliseconds.
    pub max_delay_ms: u64,
    /// Waits for the rate-limit bucket (429) one request may take before failing with
    /// `TD_RATE_LIMITED`.
    pub max_rate_limit_waits: u32,
    /// Extra rounds for ids Twitch answered `UPDATE_FAILED`.
    pub update_failed_retries: u32,
}

impl From<&RetryPolicy> for td_retry_policy {
    fn from(p: &RetryPolicy) -> Self {
        td_retry_policy {
            max_retries: p.max_retries,
            base_delay_ms: u64::try_from(p.base_delay.as_millis()).unwrap_or(u64::MAX),
            max_delay_ms: u64::try_from(p.max_delay.as_millis()).unwrap_or(u64::MAX),
            max_rate_limit_waits: p.max_rate_limit_waits,
            update_failed_retries: p.update_failed_retries,
        }
    }
}

impl From<&td_retry_policy> for RetryPolicy {
    fn from(p: &td_retry_policy) -> Self {
        RetryPolicy {
            max_retries: p.max_retries,
            base_delay: Duration::from_millis(p.base_delay_ms),
            max_delay: Duration::from_millis(p.max_delay_ms),
            max_rate_limit_waits: p.max_rate_limit_waits,
            update_failed_retries: p.update_failed_retries,
        }
    }
}

/// The library's default retry policy (4 retries, 250 ms doubling to 8 s, 8 rate-limit
/// waits, 3 `UPDATE_FAILED` rounds). Thread-safe.
#[no_mangle]
pub extern "C" fn td_retry_policy_default() -> td_retry_policy {
    let default = RetryPolicy::default();
    guard_value(td_retry_policy::from(&default), || {
        td_retry_policy::from(&default)
    })
}

/// Settings of the built-in HTTPS transport.
#[derive(Clone, Debug)]
pub(crate) struct UreqSettings {
    pub(crate) connect_timeout_ms: Option<u64>,
    pub(crate) read_timeout_ms: Option<u64>,
    pub(crate) max_body_bytes: Option<u64>,
    pub(crate) user_agent: Option<String>,
}

/// What a client is made from: the client id, credentials, base URLs, retry policy, and the
/// transport and clock. Made by `td_client_config_new`, changed by the setters (each
/// replaces the previous value), read (not consumed) by `td_client_new`, freed by
/// `td_client_config_free`. One config may make several clients.
///
/// Thread safety: not synchronized; use from one thread at a time (it may be moved).
pub struct td_client_config {
    pub(crate) client_id: String,
    pub(crate) credentials: Credentials,
    pub(crate) helix_url: Option<String>,
    pub(crate) auth_url: Option<String>,
    pub(crate) retry: RetryPolicy,
    pub(crate) ureq: UreqSettings,
    pub(crate) door: Option<Door>,
    pub(crate) clock: FfiClock,
    pub(crate) logger: Option<twitch_drops::Logger>,
}

impl td_client_config {
    /// The core configuration.
    pub(crate) fn core(&self) -> Config {
        let mut config = Config::new(self.client_id.clone(), self.credentials.clone())
            .with_retry_policy(self.retry.clone());
        if let Some(url) = &self.helix_url {
            config = config.with_helix_url(url.clone());
        }
        if let Some(url) = &self.auth_url {
            config = config.with_auth_url(url.clone());
        }
        if let Some(logger) = &self.logger {
            config = config.with_logger(logger.clone());
        }
        config
    }

    /// The door the blocking client uses: the callback if one is set, else the built-in one.
    pub(crate) fn door(&self) -> Door {
        if let Some(door) = &self.door {
            return door.clone();
        }
        #[cfg(feature = "ureq")]
        {
            let mut options = twitch_drops::UreqOptions::default();
            if let Some(ms) = self.ureq.connect_timeout_ms {
                options.connect_timeout = Duration::from_millis(ms);
            }
            if let Some(ms) = self.ureq.read_timeout_ms {
                options.read_timeout = Duration::from_millis(ms);
            }
            if let Some(max) = self.ureq.max_body_bytes {
                options.max_body_bytes = max;
            }
            if let Some(agent) = &self.ureq.user_agent {
                options.user_agent = agent.clone();
            }
            Door::Ureq(twitch_drops::UreqTransport::with_options(options))
        }
        #[cfg(not(feature = "ureq"))]
        Door::None
    }
}

/// A new configuration for the application `client_id` (from the Twitch developer console),
/// with no credentials yet (only the device flow works until some are set), Twitch's URLs,
/// the default retry policy, the built-in transport and the system clock.
///
/// Writes `*config_out` on success. The id is checked when the client is made.
///
/// # Safety
/// `client_id` is a NUL-terminated string; `config_out` is writable; `error` is NULL or a
/// live `td_error`.
#[no_mangle]
pub unsafe extern "C" fn td_client_config_new(
    client_id: *const c_char,
    config_out: *mut *mut td_client_config,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let out = out_ptr(config_out, "config_out")?;
        let client_id = arg_str(client_id, "client_id")?;
        out.write(into_handle(td_client_config {
            client_id: client_id.to_string(),
            credentials: Credentials::None,
            helix_url: None,
            auth_url: None,
            retry: RetryPolicy::default(),
            ureq: UreqSettings {
                connect_timeout_ms: None,
                read_timeout_ms: None,
                max_body_bytes: None,
                user_agent: None,
            },
            door: None,
            clock: FfiClock::System,
            logger: None,
        }));
        Ok(())
    })
}

/// Frees a configuration; NULL is a no-op. Clients made from it are not affected.
///
/// # Safety
/// `config` is NULL or from `td_client_config_new`, and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_client_config_free(config: *mut td_client_config) {
    guard_value((), || free_handle(config))
}

fn with_config(
    config: *mut td_client_config,
    body: impl FnOnce(&mut td_client_config) -> Result<(), Failure>,
) -> td_result {
    // SAFETY: documented on each setter: NULL or a live config used by one thread.
    guard_code(|| body(unsafe { arg_mut(config, "config")? }))
}

/// Credentials: an app access token by client credentials (the usual server-side setup),
/// fetched on first use and fetched anew when it expires or Twitch answers 401.
///
/// # Safety
/// `config` is a live config; `client_secret` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn td_client_config_set_client_secret(
    config: *mut td_client_config,
    client_secret: *const c_char,
) -> td_result {
    with_config(config, |c| {
        let secret = arg_str(client_secret, "client_secret")?;
        c.credentials = Credentials::ClientSecret(Secret::new(secret));
        Ok(())
    })
}

/// Credentials: a token obtained elsewhere, used as is; a 401 is final (`TD_UNAUTHORIZED`).
///
/// # Safety
/// `config` is a live config; `access_token` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn td_client_config_set_access_token(
    config: *mut td_client_config,
    access_token: *const c_char,
) -> td_result {
    with_config(config, |c| {
        let token = arg_str(access_token, "access_token")?;
        c.credentials = Credentials::AccessToken(Secret::new(token));
        Ok(())
    })
}

/// Credentials: a user access token (needed for analytics). With `refresh_token` (may be NULL)
/// it is refreshed when it expires or Twitch answers 401; `client_secret` (may be NULL) is
/// needed for confidential applications. Read the refreshed tokens back with
/// `td_client_user_token` to persist them.
///
/// # Safety
/// `config` is a live config; `access_token` a C string; the others NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn td_client_config_set_user_token(
    config: *mut td_client_config,
    access_token: *const c_char,
    refresh_token: *const c_char,
    client_secret: *const c_char,
) -> td_result {
    with_config(config, |c| {
        let access = arg_str(access_token, "access_token")?;
        let refresh = arg_opt_str(refresh_token, "refresh_token")?;
        let secret = arg_opt_str(client_secret, "client_secret")?;
        c.credentials = Credentials::UserToken {
            access_token: Secret::new(access),
            refresh_token: refresh.map(Secret::new),
            client_secret: secret.map(Secret::new),
        };
        Ok(())
    })
}

/// Uses another Helix base URL (a proxy, the fake Twitch); default
/// `https://api.twitch.tv/helix`. HTTPS is required except to loopback (checked by
/// `td_client_new`).
///
/// # Safety
/// `config` is a live config; `url` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn td_client_config_set_helix_url(
    config: *mut td_client_config,
    url: *const c_char,
) -> td_result {
    with_config(config, |c| {
        c.helix_url = Some(arg_str(url, "url")?.to_string());
        Ok(())
    })
}

/// Uses another OAuth base URL; default `https://id.twitch.tv/oauth2`.
///
/// # Safety
/// `config` is a live config; `url` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn td_client_config_set_auth_url(
    config: *mut td_client_config,
    url: *const c_char,
) -> td_result {
    with_config(config, |c| {
        c.auth_url = Some(arg_str(url, "url")?.to_string());
        Ok(())
    })
}

/// Uses another retry policy (copied).
///
/// # Safety
/// `config` is a live config; `policy` points to a `td_retry_policy`.
#[no_mangle]
pub unsafe extern "C" fn td_client_config_set_retry_policy(
    config: *mut td_client_config,
    policy: *const td_retry_policy,
) -> td_result {
    with_config(config, |c| {
        c.retry = RetryPolicy::from(arg_ref(policy, "policy")?);
        Ok(())
    })
}

/// Timeouts of the built-in transport, in milliseconds: connecting (TCP and TLS; default
/// 10000) and waiting for the response headers, and again for the body (default 30000). Both
/// must be positive. Not used by a callback transport.
///
/// # Safety
/// `config` is a live config.
#[no_mangle]
pub unsafe extern "C" fn td_client_config_set_timeouts(
    config: *mut td_client_config,
    connect_ms: u64,
    read_ms: u64,
) -> td_result {
    with_config(config, |c| {
        if connect_ms == 0 || read_ms == 0 {
            return Err(Failure::invalid(
                "`connect_ms` and `read_ms` must be positive",
            ));
        }
        c.ureq.connect_timeout_ms = Some(connect_ms);
        c.ureq.read_timeout_ms = Some(read_ms);
        Ok(())
    })
}

/// The largest response body the built-in transport reads (default 16 MiB); larger ones fail
/// with `TD_TRANSPORT` / `TD_TRANSPORT_TOO_LARGE`. Must be positive.
///
/// # Safety
/// `config` is a live config.
#[no_mangle]
pub unsafe extern "C" fn td_client_config_set_max_body_bytes(
    config: *mut td_client_config,
    max_body_bytes: u64,
) -> td_result {
    with_config(config, |c| {
        if max_body_bytes == 0 {
            return Err(Failure::invalid("`max_body_bytes` must be positive"));
        }
        c.ureq.max_body_bytes = Some(max_body_bytes);
        Ok(())
    })
}

/// The `User-Agent` the built-in transport sends (default `twitch-drops/<version>`).
///
/// # Safety
/// `config` is a live config; `user_agent` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn td_client_config_set_user_agent(
    config: *mut td_client_config,
    user_agent: *const c_char,
) -> td_result {
    with_config(config, |c| {
        c.ureq.user_agent = Some(arg_str(user_agent, "user_agent")?.to_string());
        Ok(())
    })
}

/// Routes every request of the blocking calls through `transport` (an engine's or console's
/// HTTP stack): the library then never opens a socket. `user_data` is passed back to every
/// call; it must outlive every client made from this config (the library never frees it).
/// A NULL `transport` goes back to the built-in one. See `td_transport_fn` for the rules.
///
/// # Safety
/// `config` is a live config; `transport` NULL or a valid function; `user_data` as above.
#[no_mangle]
pub unsafe extern "C" fn td_client_config_set_transport(
    config: *mut td_client_config,
    transport: td_transport_fn,
    user_data: *mut c_void,
) -> td_result {
    with_config(config, |c| {
        c.door = transport.map(|send| Door::Callback {
            send,
            user_data: UserData(user_data),
        });
        Ok(())
    })
}

/// Uses your clock for the blocking calls: `now` for the time, `sleep` for every wait
/// (backoff, rate limits, device-flow polls): e.g. to account waits in tests or keep time in
/// an engine's terms. Both NULL goes back to the system clock; one NULL is
/// `TD_NULL_POINTER`. `user_data` must outlive the clients, like a transport's.
///
/// # Safety
/// `config` is a live config; the functions NULL or valid; `user_data` as above.
#[no_mangle]
pub unsafe extern "C" fn td_client_config_set_clock(
    config: *mut td_client_config,
    now: td_now_fn,
    sleep: td_sleep_fn,
    user_data: *mut c_void,
) -> td_result {
    with_config(config, |c| {
        c.clock = match (now, sleep) {
            (None, None) => FfiClock::System,
            (Some(now), Some(sleep)) => FfiClock::Callback {
                now,
                sleep,
                user_data: UserData(user_data),
            },
            (None, Some(_)) => return Err(Failure::null("now")),
            (Some(_), None) => return Err(Failure::null("sleep")),
        };
        Ok(())
    })
}
