//! What the library tells, through C: a logger callback per client config (level, target,
//! message; no global state) and the client's metrics as JSON.

use std::ffi::{c_char, c_void};

use twitch_drops::{Level, LogRecord, Logger};

use crate::boundary::{arg_ref, copy_out, guard_code, td_str, CText, UserData};
use crate::client::td_client;
use crate::config::td_client_config;
use crate::result::td_result;

/// How much a log line matters.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum td_log_level {
    /// Something failed for good.
    TD_LOG_ERROR = 1,
    /// A human should notice: retries, waits for the rate limit, a viewer quarantined.
    TD_LOG_WARN = 2,
    /// The run's milestones: tokens, journal recovery, passes over the list.
    TD_LOG_INFO = 3,
    /// Every request and its answer.
    TD_LOG_DEBUG = 4,
}

/// A logger: hears each note of the library at or above its level. `target` says what it
/// is about (`twitch_drops::http`, `::retry`, `::rate_limit`, `::token`, `::fulfill`);
/// `message` is one line for people, never holding a secret. Both are borrowed for the call.
/// Called on the thread where the library decided (a worker thread of `td_client_fulfill`
/// too), possibly concurrently: `user_data` must allow that. Must not call back into the
/// client, nor let C++ exceptions or longjmp cross it.
pub type td_log_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        level: td_log_level,
        target: td_str,
        message: td_str,
    ),
>;

/// Hands the notes of clients made from `config` at `level` and above to `log` (NULL
/// removes it). Per client: two clients may log to different places. `user_data` is passed
/// back to every call and must outlive those clients. A `level` out of 1..=4 is
/// `TD_INVALID_INPUT`.
///
/// # Safety
/// `config` is a live config; `log` NULL or a valid function; `user_data` as above.
#[no_mangle]
pub unsafe extern "C" fn td_client_config_set_logger(
    config: *mut td_client_config,
    level: u32,
    log: td_log_fn,
    user_data: *mut c_void,
) -> td_result {
    guard_code(|| {
        let config = crate::boundary::arg_mut(config, "config")?;
        let level = Level::from_number(level).ok_or_else(|| {
            crate::boundary::Failure::invalid(format!(
                "`level` {level} is not a td_log_level (1 error … 4 debug)"
            ))
        })?;
        config.logger = log.map(|log| {
            let user_data = UserData(user_data);
            Logger::new(level, move |record: &LogRecord<'_>| {
                let target = CText::new(record.target);
                let message = CText::new(record.message);
                let level = match record.level {
                    Level::Error => td_log_level::TD_LOG_ERROR,
                    Level::Warn => td_log_level::TD_LOG_WARN,
                    Level::Info => td_log_level::TD_LOG_INFO,
                    Level::Debug => td_log_level::TD_LOG_DEBUG,
                };
                // The whole `UserData` is captured (it is Send and Sync), not its pointer.
                let UserData(data) = &user_data;
                // SAFETY: the caller promised a valid function and a user_data usable from
                // the client's threads; the views live for the call.
                unsafe { log(*data, level, target.view(), message.view()) };
            })
        });
        Ok(())
    })
}

/// Copies the client's counters so far as JSON into `buf`, like `td_error_message`:
/// `{"requests":{"GET /helix/entitlements/drops":{"200":12}},"retries":{"503":1},
/// "rate_limited":0,"rate_limit_waits":0,"rate_limit_wait_ms":0,"token_fetches":1,
/// "update_rereads":0,"granted":…,"retry_later":…,"grant_failed":…,"resumed_grants":…,
/// "journal_recoveries":…,"quarantined_users":…}`.
///
/// # Safety
/// `client` is live; `buf` NULL or `len` writable bytes; `len_out` writable.
#[no_mangle]
pub unsafe extern "C" fn td_client_metrics_json(
    client: *const td_client,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> td_result {
    guard_code(|| {
        let client = arg_ref(client, "client")?;
        let metrics = client.inner.shared.session.metrics();
        let json = serde_json::to_string(&metrics).unwrap_or_default();
        copy_out(&json, buf, len, len_out)
    })
}
