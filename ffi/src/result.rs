//! `td_result`: what every fallible call returns. Values are explicit and never reused; new
//! ones are only ever added.

use twitch_drops::{ErrorKind, EventSubError};

use crate::boundary::{guard_value, td_str};

/// The outcome of a call. `TD_OK` (0) is success; `TD_END` and `TD_NOT_AVAILABLE` are normal
/// answers, not failures; everything else is a failure whose detail a `td_error` holds.
/// Values 1-99 are problems with the call itself (nothing was sent to Twitch); values from 100
/// come from Twitch or the network.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum td_result {
    /// Success.
    TD_OK = 0,
    /// A required pointer argument was NULL.
    TD_NULL_POINTER = 1,
    /// A string argument was not valid UTF-8.
    TD_INVALID_UTF8 = 2,
    /// An argument was rejected before anything was sent (an empty id, 101 ids, `first` out
    /// of range, an insecure URL, an unknown enum value...). The message names the argument.
    TD_INVALID_INPUT = 3,
    /// A caller's buffer was too small; nothing was copied and `*len_out` holds the size
    /// needed, counting the terminating NUL.
    TD_BUFFER_TOO_SMALL = 4,
    /// An index was past the end of a list.
    TD_INDEX_OUT_OF_RANGE = 5,
    /// The call does not fit the handle's state (feeding a response to an operation that did
    /// not ask for one, taking a result twice or of the wrong type...).
    TD_WRONG_STATE = 6,
    /// The value asked for does not exist (no rate-limit reading yet, no user token).
    TD_NOT_AVAILABLE = 7,
    /// An iteration is over: there are no more pages. Not a failure.
    TD_END = 8,
    /// A bug inside the library was caught at the boundary; the handle involved may be in an
    /// unspecified (but memory-safe) state.
    TD_PANIC = 9,
    /// Twitch refused the credentials even after a fresh token, or no token could be had
    /// (wrong secret, revoked token, missing scope).
    TD_UNAUTHORIZED = 100,
    /// Twitch answered with an error status that is not retried (400, 403, 404) or a 5xx that
    /// lasted through every retry. `td_error_http_status` and `td_error_twitch_message` tell
    /// which.
    TD_HTTP = 101,
    /// Still rate limited after the allowed waits; `td_error_rate_limit_reset` says when the
    /// bucket refills.
    TD_RATE_LIMITED = 102,
    /// No whole response could be had, after the retries; `td_error_transport_kind` says why.
    TD_TRANSPORT = 103,
    /// A success response whose body could not be read.
    TD_DECODE = 104,
    /// An update stopped part way; `td_error_update_report` holds the outcomes known and the
    /// ids left unconfirmed.
    TD_PARTIAL_UPDATE = 105,
    /// The fulfillment journal could not be read or written: the run stopped there, so that no
    /// grant goes unrecorded (`td_error_fulfill_report` has what it did before).
    TD_JOURNAL = 106,
    /// An EventSub message whose signature does not match: not sent by Twitch, or the secret
    /// is not the subscription's. Answer `td_error_eventsub_status` (403).
    TD_EVENTSUB_BAD_SIGNATURE = 107,
    /// An EventSub message whose timestamp is more than 10 minutes from now (a replay, or a
    /// clock that is wrong). Answer `td_error_eventsub_status` (403).
    TD_EVENTSUB_STALE = 108,
    /// An EventSub message that is not well formed: a `Twitch-Eventsub-*` header missing, a
    /// timestamp that is not RFC 3339, an unknown message type, a body that is not what the
    /// type says. Answer `td_error_eventsub_status` (400).
    TD_EVENTSUB_MALFORMED = 109,
}

impl td_result {
    /// The code for a core error.
    pub(crate) fn of(error: &twitch_drops::Error) -> td_result {
        match error.kind() {
            ErrorKind::InvalidInput => td_result::TD_INVALID_INPUT,
            ErrorKind::Unauthorized => td_result::TD_UNAUTHORIZED,
            ErrorKind::Http => td_result::TD_HTTP,
            ErrorKind::RateLimited => td_result::TD_RATE_LIMITED,
            ErrorKind::Transport => td_result::TD_TRANSPORT,
            ErrorKind::Decode => td_result::TD_DECODE,
            ErrorKind::PartialUpdate => td_result::TD_PARTIAL_UPDATE,
            ErrorKind::Journal => td_result::TD_JOURNAL,
        }
    }

    /// The code for a refused EventSub message.
    pub(crate) fn of_eventsub(error: &EventSubError) -> td_result {
        match error {
            EventSubError::BadSignature => td_result::TD_EVENTSUB_BAD_SIGNATURE,
            EventSubError::StaleTimestamp { .. } => td_result::TD_EVENTSUB_STALE,
            _ => td_result::TD_EVENTSUB_MALFORMED,
        }
    }

    /// The constant's name, NUL-terminated.
    fn name(code: u32) -> &'static str {
        use td_result::*;
        let all = [
            (TD_OK, "TD_OK\0"),
            (TD_NULL_POINTER, "TD_NULL_POINTER\0"),
            (TD_INVALID_UTF8, "TD_INVALID_UTF8\0"),
            (TD_INVALID_INPUT, "TD_INVALID_INPUT\0"),
            (TD_BUFFER_TOO_SMALL, "TD_BUFFER_TOO_SMALL\0"),
            (TD_INDEX_OUT_OF_RANGE, "TD_INDEX_OUT_OF_RANGE\0"),
            (TD_WRONG_STATE, "TD_WRONG_STATE\0"),
            (TD_NOT_AVAILABLE, "TD_NOT_AVAILABLE\0"),
            (TD_END, "TD_END\0"),
            (TD_PANIC, "TD_PANIC\0"),
            (TD_UNAUTHORIZED, "TD_UNAUTHORIZED\0"),
            (TD_HTTP, "TD_HTTP\0"),
            (TD_RATE_LIMITED, "TD_RATE_LIMITED\0"),
            (TD_TRANSPORT, "TD_TRANSPORT\0"),
            (TD_DECODE, "TD_DECODE\0"),
            (TD_PARTIAL_UPDATE, "TD_PARTIAL_UPDATE\0"),
            (TD_JOURNAL, "TD_JOURNAL\0"),
            (TD_EVENTSUB_BAD_SIGNATURE, "TD_EVENTSUB_BAD_SIGNATURE\0"),
            (TD_EVENTSUB_STALE, "TD_EVENTSUB_STALE\0"),
            (TD_EVENTSUB_MALFORMED, "TD_EVENTSUB_MALFORMED\0"),
        ];
        all.iter()
            .find(|(c, _)| *c as u32 == code)
            .map_or("TD_UNKNOWN_RESULT\0", |(_, name)| name)
    }
}

/// The name of a `td_result` value (`"TD_HTTP"`), or `"TD_UNKNOWN_RESULT"` for a value this
/// version does not know. The view is static: valid forever. Thread-safe.
#[no_mangle]
pub extern "C" fn td_result_name(code: u32) -> td_str {
    guard_value(td_str::empty(), || {
        td_str::from_static(td_result::name(code))
    })
}
