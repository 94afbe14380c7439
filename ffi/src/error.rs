//! `td_error`: the detail of a failed call, kept in an object the caller owns and passes to
//! the calls it wants detail from. No global or thread-local error state exists.

use std::ffi::c_char;

use twitch_drops::{Error, TransportErrorKind};

use crate::boundary::{
    arg_ref, copy_out, free_handle, guard_code, guard_value, into_handle, out_ptr, Detail, Failure,
};
use crate::fulfill::td_fulfill_report;
use crate::result::td_result;
use crate::update::td_update_report;

/// Why a transport (the built-in one or yours) got no whole response.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum td_transport_error_kind {
    /// Not a transport failure.
    TD_TRANSPORT_NONE = 0,
    /// The request never reached the server (name lookup, connection refused, TLS set-up,
    /// connect timeout). Safe to resend anything.
    TD_TRANSPORT_CONNECT = 1,
    /// The request may have reached the server but no whole response came back (reset,
    /// closed, cut short, read timeout).
    TD_TRANSPORT_INTERRUPTED = 2,
    /// Refused before sending (an insecure URL, a URL the transport cannot handle, no
    /// transport at all). Resending will not help.
    TD_TRANSPORT_REFUSED = 3,
    /// The response body was larger than the transport accepts.
    TD_TRANSPORT_TOO_LARGE = 4,
}

impl td_transport_error_kind {
    pub(crate) fn of(kind: TransportErrorKind) -> td_transport_error_kind {
        match kind {
            TransportErrorKind::Connect => td_transport_error_kind::TD_TRANSPORT_CONNECT,
            TransportErrorKind::Interrupted => td_transport_error_kind::TD_TRANSPORT_INTERRUPTED,
            TransportErrorKind::Refused => td_transport_error_kind::TD_TRANSPORT_REFUSED,
            TransportErrorKind::TooLarge => td_transport_error_kind::TD_TRANSPORT_TOO_LARGE,
        }
    }

    /// The core kind for a value C passed in; `None` for NONE and unknown values.
    pub(crate) fn from_c(value: u32) -> Option<TransportErrorKind> {
        Some(match value {
            1 => TransportErrorKind::Connect,
            2 => TransportErrorKind::Interrupted,
            3 => TransportErrorKind::Refused,
            4 => TransportErrorKind::TooLarge,
            _ => return None,
        })
    }
}

/// The detail of the last failure of a call it was passed to: the code, a message for
/// people, and for errors from Twitch the HTTP status, Twitch's own message, the rate-limit
/// reset, the transport failure kind, a partial update's report, the report of a fulfillment
/// run that stopped early, or the status to answer a refused EventSub message with.
///
/// Make one with `td_error_new`, pass it as the last argument of calls (or pass NULL when
/// the code is enough), free it with `td_error_free`. Each call that takes it resets it
/// first, so afterwards it describes that call: `td_error_code` is `TD_OK` after a success.
/// Messages never contain tokens or secrets.
///
/// Thread safety: one thread at a time; give each thread its own.
#[derive(Debug, Default)]
pub struct td_error {
    code: Option<td_result>,
    message: String,
    core: Option<Error>,
    report: Option<td_update_report>,
    fulfill: Option<td_fulfill_report>,
    eventsub_status: u16,
}

impl td_error {
    pub(crate) fn record(&mut self, failure: Option<&Failure>) {
        *self = td_error::default();
        let Some(failure) = failure else { return };
        self.code = Some(failure.code);
        match &failure.detail {
            Detail::Message(message) => self.message = message.clone(),
            Detail::Core(error) => self.record_core(error),
            Detail::Stopped(report) => {
                if let Some(error) = &report.error {
                    self.record_core(error);
                }
                self.fulfill = Some(td_fulfill_report::new((**report).clone()));
            }
            Detail::EventSub(error) => {
                self.message = error.to_string();
                self.eventsub_status = error.http_status();
            }
        }
    }

    fn record_core(&mut self, error: &Error) {
        self.message = error.to_string();
        if let Error::PartialUpdate { report, .. } = error {
            self.report = Some(td_update_report::new(report));
        }
        self.core = Some(error.clone());
    }

    fn code(&self) -> td_result {
        self.code.unwrap_or(td_result::TD_OK)
    }
}

/// A new, empty error object (`td_error_code` is `TD_OK`). Free it with `td_error_free`.
/// Returns NULL only if the library failed internally.
#[no_mangle]
pub extern "C" fn td_error_new() -> *mut td_error {
    guard_value(std::ptr::null_mut(), || into_handle(td_error::default()))
}

/// Frees an error object; NULL is a no-op. Views taken from it become invalid.
///
/// # Safety
/// `error` is NULL or from `td_error_new`, and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_error_free(error: *mut td_error) {
    guard_value((), || free_handle(error))
}

/// The code of the failure held (`TD_OK` when the last call succeeded or none was made;
/// `TD_NULL_POINTER` when `error` is NULL).
///
/// # Safety
/// `error` is NULL or a live `td_error`.
#[no_mangle]
pub unsafe extern "C" fn td_error_code(error: *const td_error) -> td_result {
    guard_value(td_result::TD_PANIC, || match error.as_ref() {
        Some(error) => error.code(),
        None => td_result::TD_NULL_POINTER,
    })
}

/// Copies the message for people (empty after a success) into `buf`, NUL-terminated. On
/// `TD_OK`, `*len_out` is its length without the NUL; on `TD_BUFFER_TOO_SMALL` nothing is
/// copied and `*len_out` is the buffer size needed, NUL included.
///
/// # Safety
/// `error` is NULL or a live `td_error`; `buf` points to `len` writable bytes (may be NULL
/// when `len` is 0); `len_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn td_error_message(
    error: *const td_error,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> td_result {
    guard_code(|| {
        let error = arg_ref(error, "error")?;
        copy_out(&error.message, buf, len, len_out)
    })
}

/// For `TD_INVALID_INPUT` refused by the library's rules: the name of the argument or field
/// that was wrong (`first`, `ids`, `game_id`, `helix_url`...), copied into `buf` like
/// `td_error_message`. Empty for other failures, and for refusals that name no field.
///
/// # Safety
/// As `td_error_message`.
#[no_mangle]
pub unsafe extern "C" fn td_error_field(
    error: *const td_error,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> td_result {
    guard_code(|| {
        let error = arg_ref(error, "error")?;
        let field = match &error.core {
            Some(Error::InvalidInput { field, .. }) => field,
            _ => "",
        };
        copy_out(field, buf, len, len_out)
    })
}

/// The HTTP status Twitch answered with (401, 403, 429, 500...), or 0 when the failure did not
/// come from a response (or `error` is NULL).
///
/// # Safety
/// `error` is NULL or a live `td_error`.
#[no_mangle]
pub unsafe extern "C" fn td_error_http_status(error: *const td_error) -> u16 {
    guard_value(0, || {
        error
            .as_ref()
            .and_then(|e| e.core.as_ref())
            .and_then(Error::status)
            .unwrap_or(0)
    })
}

/// Copies Twitch's own `message` field (empty when the failure did not come from a Twitch
/// error body, or Twitch gave none) into `buf`, like `td_error_message`.
///
/// # Safety
/// As `td_error_message`.
#[no_mangle]
pub unsafe extern "C" fn td_error_twitch_message(
    error: *const td_error,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> td_result {
    guard_code(|| {
        let error = arg_ref(error, "error")?;
        let message = error
            .core
            .as_ref()
            .and_then(Error::twitch_message)
            .unwrap_or("");
        copy_out(message, buf, len, len_out)
    })
}

/// For `TD_RATE_LIMITED`: when Twitch said the bucket refills, in milliseconds since the Unix
/// epoch. `TD_NOT_AVAILABLE` when the failure is not a rate limit or Twitch did not say.
///
/// # Safety
/// `error` is NULL or a live `td_error`; `reset_at_ms_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn td_error_rate_limit_reset(
    error: *const td_error,
    reset_at_ms_out: *mut u64,
) -> td_result {
    guard_code(|| {
        let error = arg_ref(error, "error")?;
        let out = out_ptr(reset_at_ms_out, "reset_at_ms_out")?;
        let reset = match &error.core {
            Some(Error::RateLimited { reset_at_ms }) => *reset_at_ms,
            _ => None,
        };
        match reset {
            Some(at) => {
                out.write(at);
                Ok(())
            }
            None => Err(Failure::new(
                td_result::TD_NOT_AVAILABLE,
                "no rate-limit reset is known for this failure",
            )),
        }
    })
}

/// For `TD_TRANSPORT`: why no response could be had. `TD_TRANSPORT_NONE` for other failures.
///
/// # Safety
/// `error` is NULL or a live `td_error`.
#[no_mangle]
pub unsafe extern "C" fn td_error_transport_kind(
    error: *const td_error,
) -> td_transport_error_kind {
    guard_value(td_transport_error_kind::TD_TRANSPORT_NONE, || {
        match error.as_ref().and_then(|e| e.core.as_ref()) {
            Some(Error::Transport(t)) => td_transport_error_kind::of(t.kind),
            _ => td_transport_error_kind::TD_TRANSPORT_NONE,
        }
    })
}

/// For `TD_PARTIAL_UPDATE`: the outcomes known and the ids left unconfirmed (re-read those
/// before retrying). NULL for other failures. Borrowed: valid until `error` is passed to
/// another call or freed.
///
/// # Safety
/// `error` is NULL or a live `td_error`.
#[no_mangle]
pub unsafe extern "C" fn td_error_update_report(error: *const td_error) -> *const td_update_report {
    guard_value(std::ptr::null(), || {
        error
            .as_ref()
            .and_then(|e| e.report.as_ref())
            .map_or(std::ptr::null(), |r| r as *const td_update_report)
    })
}

/// For a fulfillment run that stopped early (`td_client_fulfill` and
/// `td_client_fulfill_entitlements` failing with the run's error, e.g. `TD_JOURNAL`): what the
/// run did before it stopped. NULL for other failures. Borrowed: valid until `error` is
/// passed to another call or freed.
///
/// # Safety
/// `error` is NULL or a live `td_error`.
#[no_mangle]
pub unsafe extern "C" fn td_error_fulfill_report(
    error: *const td_error,
) -> *const td_fulfill_report {
    guard_value(std::ptr::null(), || {
        error
            .as_ref()
            .and_then(|e| e.fulfill.as_ref())
            .map_or(std::ptr::null(), |r| r as *const td_fulfill_report)
    })
}

/// For a refused EventSub message (`TD_EVENTSUB_*`): the HTTP status to answer Twitch with
/// (403 for a bad signature or a stale timestamp, 400 for a malformed message), with
/// `td_error_message` as a `text/plain; charset=utf-8` body. 0 for other failures.
///
/// # Safety
/// `error` is NULL or a live `td_error`.
#[no_mangle]
pub unsafe extern "C" fn td_error_eventsub_status(error: *const td_error) -> u16 {
    guard_value(0, || error.as_ref().map_or(0, |e| e.eventsub_status))
}
