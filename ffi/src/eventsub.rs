//! EventSub `drop.entitlement.grant` webhooks through C: check and read a message your HTTP
//! server received, the answer to send, and the memory of message ids already handled. The
//! checks, the parsing and the answers are the core's.

use std::ffi::{c_char, c_void};

use twitch_drops::eventsub::{self, Message};
use twitch_drops::fulfill::JournalError;
use twitch_drops::webhook::{self, DeliveryLog};
use twitch_drops::{Deduplicator, Secret};

use crate::boundary::{
    arg_bytes, arg_mut, arg_str, free_handle, guard, guard_code, guard_value, into_handle, out_ptr,
    td_str, CText, Failure,
};
use crate::entitlements::td_entitlement;
use crate::error::td_error;
use crate::result::td_result;
use crate::transport::{read_headers, td_header};

/// What kind of message Twitch sent.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum td_eventsub_type {
    /// A kind newer than this library knows; answer with the message's response.
    TD_EVENTSUB_OTHER = 0,
    /// Events: for `drop.entitlement.grant`, the entitlements to grant. Deduplicate by id
    /// (`td_deduplicator_first_time`), act, then answer (204).
    TD_EVENTSUB_NOTIFICATION = 1,
    /// Twitch checks the callback is yours: answer with the response (200, the challenge).
    TD_EVENTSUB_VERIFICATION = 2,
    /// The subscription ended (`td_eventsub_message_subscription_status` says why); answer
    /// 204.
    TD_EVENTSUB_REVOCATION = 3,
}

/// A verified webhook message: its kind and id, the subscription it is about, the
/// entitlements a `drop.entitlement.grant` notification carries, and the answer to send.
///
/// Made by `td_eventsub_verify`; freed by `td_eventsub_message_free`. Views and entitlements
/// from it are valid until it is freed. Read-only: any thread may read it.
#[derive(Debug)]
pub struct td_eventsub_message {
    kind: td_eventsub_type,
    id: CText,
    challenge: CText,
    subscription_id: CText,
    subscription_type: CText,
    subscription_status: CText,
    entitlements: Vec<td_entitlement>,
    response_status: u16,
    response_body: CText,
    response_content_type: CText,
}

impl td_eventsub_message {
    fn new(message: Message) -> td_eventsub_message {
        let (kind, challenge) = match &message {
            Message::Notification { .. } => (td_eventsub_type::TD_EVENTSUB_NOTIFICATION, ""),
            Message::Verification { challenge, .. } => (
                td_eventsub_type::TD_EVENTSUB_VERIFICATION,
                challenge.as_str(),
            ),
            Message::Revocation { .. } => (td_eventsub_type::TD_EVENTSUB_REVOCATION, ""),
            _ => (td_eventsub_type::TD_EVENTSUB_OTHER, ""),
        };
        let response = eventsub::respond(&message);
        let subscription = message.subscription();
        td_eventsub_message {
            kind,
            id: CText::new(message.message_id()),
            challenge: CText::new(challenge),
            subscription_id: CText::new(subscription.id.as_str()),
            subscription_type: CText::new(subscription.subscription_type.as_str()),
            subscription_status: CText::new(subscription.status.as_str()),
            entitlements: message
                .entitlements()
                .into_iter()
                .map(td_entitlement::new)
                .collect(),
            response_status: response.status,
            response_body: CText::new(String::from_utf8_lossy(&response.body)),
            response_content_type: CText::new(response.header("Content-Type").unwrap_or("")),
        }
    }
}

/// Checks a webhook message and reads it: `header_count` request headers (names in any case;
/// names and values need not be NUL-terminated), the raw body exactly as received (`body_len`
/// bytes: the signature covers them), the secret given when subscribing, and the current time
/// (`now_ms`, milliseconds since the Unix epoch). Checks, in order: the `Twitch-Eventsub-*`
/// headers are there, the HMAC-SHA256 signature matches (compared in constant time), the
/// timestamp is within 10 minutes of `now_ms`, the body is what the message type says. Does
/// not deduplicate: see `td_deduplicator`.
///
/// Writes `*message_out` on success (free with `td_eventsub_message_free`). A refused message
/// is `TD_EVENTSUB_BAD_SIGNATURE`, `TD_EVENTSUB_STALE` or `TD_EVENTSUB_MALFORMED`: answer
/// `td_error_eventsub_status(error)` with `td_error_message` as a plain-text body. Thread-safe.
///
/// # Safety
/// `headers` points to `header_count` headers (NULL when 0); `body` to `body_len` bytes (NULL
/// when 0); `secret` is a C string; `message_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_eventsub_verify(
    headers: *const td_header,
    header_count: usize,
    body: *const u8,
    body_len: usize,
    secret: *const c_char,
    now_ms: u64,
    message_out: *mut *mut td_eventsub_message,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let out = out_ptr(message_out, "message_out")?;
        let headers = read_headers(headers, header_count)?;
        let body = arg_bytes(body, body_len, "body")?;
        let secret = Secret::new(arg_str(secret, "secret")?);
        let message = eventsub::verify(&headers, body, &secret, now_ms)?;
        out.write(into_handle(td_eventsub_message::new(message)));
        Ok(())
    })
}

/// Where `td_eventsub_handle` records delivered message ids, when not in a
/// `td_deduplicator`: your database, so that a redelivery after a restart is recognized.
/// Write `*first_out` (true the first time `message_id` is recorded) and return 0, or
/// return non-zero when it could not be recorded. `message_id` is borrowed for the call.
pub type td_delivery_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        message_id: td_str,
        now_ms: u64,
        first_out: *mut bool,
    ) -> i32,
>;

/// A C log of deliveries.
struct CDeliveries {
    record: unsafe extern "C" fn(*mut c_void, td_str, u64, *mut bool) -> i32,
    user_data: *mut c_void,
}

impl DeliveryLog for CDeliveries {
    fn first_delivery(&mut self, message_id: &str, now_ms: u64) -> Result<bool, JournalError> {
        let id = CText::new(message_id);
        let mut first = false;
        // SAFETY: the caller of `td_eventsub_handle` promised a valid function.
        let code = unsafe { (self.record)(self.user_data, id.view(), now_ms, &mut first) };
        if code == 0 {
            Ok(first)
        } else {
            Err(JournalError(format!(
                "the deliveries callback returned {code}: answer 503 so that Twitch sends the \
                 message again"
            )))
        }
    }
}

/// The whole webhook in one call: `td_eventsub_verify`, then, for a notification, its
/// message id recorded in `deliveries` (called with `user_data`) or else in `dedup`.
/// Writes `*message_out` (free with `td_eventsub_message_free`: the answer to send, the
/// entitlements) and `*act_out`: true when this is a notification's first delivery, whose
/// entitlements are to be granted; false for a repeat (answer it, do not act) and for any
/// other kind. A refused message fails as `td_eventsub_verify` does; a delivery that could
/// not be recorded is `TD_JOURNAL`: answer 503, and Twitch sends it again.
///
/// # Safety
/// As `td_eventsub_verify`; `dedup` NULL or live (not shared with another thread during the
/// call); `deliveries` NULL or valid; `act_out` writable. One of `dedup` and `deliveries`
/// is given.
#[no_mangle]
pub unsafe extern "C" fn td_eventsub_handle(
    headers: *const td_header,
    header_count: usize,
    body: *const u8,
    body_len: usize,
    secret: *const c_char,
    now_ms: u64,
    dedup: *mut td_deduplicator,
    deliveries: td_delivery_fn,
    user_data: *mut c_void,
    message_out: *mut *mut td_eventsub_message,
    act_out: *mut bool,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let out = out_ptr(message_out, "message_out")?;
        let act = out_ptr(act_out, "act_out")?;
        let mut callback;
        let log: &mut dyn DeliveryLog = match (deliveries, dedup.is_null()) {
            (Some(record), _) => {
                callback = CDeliveries { record, user_data };
                &mut callback
            }
            (None, false) => &mut arg_mut(dedup, "dedup")?.inner,
            (None, true) => return Err(Failure::null("dedup")),
        };
        let headers = read_headers(headers, header_count)?;
        let body = arg_bytes(body, body_len, "body")?;
        let secret = Secret::new(arg_str(secret, "secret")?);
        let message = eventsub::verify(&headers, body, &secret, now_ms)?;
        let first = webhook::first_delivery(&message, now_ms, log)
            .map_err(|e| Failure::from(twitch_drops::Error::Journal { message: e.0 }))?;
        act.write(first);
        out.write(into_handle(td_eventsub_message::new(message)));
        Ok(())
    })
}

/// Frees a message and its entitlements; NULL is a no-op.
///
/// # Safety
/// `message` is NULL or from `td_eventsub_verify`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_eventsub_message_free(message: *mut td_eventsub_message) {
    guard_value((), || free_handle(message))
}

/// The message's kind (`TD_EVENTSUB_OTHER` for NULL).
///
/// # Safety
/// `message` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_eventsub_message_type(
    message: *const td_eventsub_message,
) -> td_eventsub_type {
    guard_value(td_eventsub_type::TD_EVENTSUB_OTHER, || {
        message
            .as_ref()
            .map_or(td_eventsub_type::TD_EVENTSUB_OTHER, |m| m.kind)
    })
}

/// A text field of a possibly NULL message.
fn text(
    message: *const td_eventsub_message,
    field: impl FnOnce(&td_eventsub_message) -> &CText,
) -> td_str {
    // SAFETY: the callers' contract: NULL or a live message.
    guard_value(td_str::empty(), || {
        unsafe { message.as_ref() }.map_or(td_str::empty(), |m| field(m).view())
    })
}

/// The message's id: the same on every delivery of one message, the key for
/// `td_deduplicator_first_time`. Valid until the message is freed; `""` for NULL.
///
/// # Safety
/// `message` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_eventsub_message_id(message: *const td_eventsub_message) -> td_str {
    text(message, |m| &m.id)
}

/// A verification's challenge (`""` for other kinds). Valid until the message is freed.
///
/// # Safety
/// `message` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_eventsub_message_challenge(
    message: *const td_eventsub_message,
) -> td_str {
    text(message, |m| &m.challenge)
}

/// The id of the subscription the message is about. Valid until the message is freed.
///
/// # Safety
/// `message` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_eventsub_message_subscription_id(
    message: *const td_eventsub_message,
) -> td_str {
    text(message, |m| &m.subscription_id)
}

/// The subscription's type (`drop.entitlement.grant`). Valid until the message is freed.
///
/// # Safety
/// `message` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_eventsub_message_subscription_type(
    message: *const td_eventsub_message,
) -> td_str {
    text(message, |m| &m.subscription_type)
}

/// The subscription's status: `enabled`, or in a revocation why it ended
/// (`authorization_revoked`, `notification_failures_exceeded`, ...). Valid until the message
/// is freed.
///
/// # Safety
/// `message` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_eventsub_message_subscription_status(
    message: *const td_eventsub_message,
) -> td_str {
    text(message, |m| &m.subscription_status)
}

/// How many entitlements a `drop.entitlement.grant` notification carries, one per grant in
/// order, repeats included (0 for other messages and NULL).
///
/// # Safety
/// `message` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_eventsub_message_entitlement_count(
    message: *const td_eventsub_message,
) -> usize {
    guard_value(0, || message.as_ref().map_or(0, |m| m.entitlements.len()))
}

/// The entitlement at `index`, CLAIMED as Helix lists it, borrowed until the message is freed
/// (read it with the `td_entitlement_*` functions; fulfill with
/// `td_client_fulfill_entitlements`). NULL when `index` is out of range or `message` is NULL.
///
/// # Safety
/// `message` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_eventsub_message_entitlement(
    message: *const td_eventsub_message,
    index: usize,
) -> *const td_entitlement {
    guard_value(std::ptr::null(), || {
        message
            .as_ref()
            .and_then(|m| m.entitlements.get(index))
            .map_or(std::ptr::null(), |e| e as *const td_entitlement)
    })
}

/// The HTTP status to answer the message with: 200 for a verification, 204 otherwise (a
/// repeated message too: Twitch only needs to hear it arrived). 0 for NULL.
///
/// # Safety
/// `message` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_eventsub_message_response_status(
    message: *const td_eventsub_message,
) -> u16 {
    guard_value(0, || message.as_ref().map_or(0, |m| m.response_status))
}

/// The body to answer with: the raw challenge for a verification, `""` otherwise. Valid until
/// the message is freed.
///
/// # Safety
/// `message` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_eventsub_message_response_body(
    message: *const td_eventsub_message,
) -> td_str {
    text(message, |m| &m.response_body)
}

/// The `Content-Type` to answer with (`text/plain` for a verification), `""` when the answer
/// has no body. Valid until the message is freed.
///
/// # Safety
/// `message` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_eventsub_message_response_content_type(
    message: *const td_eventsub_message,
) -> td_str {
    text(message, |m| &m.response_content_type)
}

/// Message ids seen recently, so a message Twitch delivers twice is acted on once. An id is
/// remembered for 20 minutes (longer than `td_eventsub_verify` accepts a message); past its
/// capacity the oldest ids are forgotten first.
///
/// Made by `td_deduplicator_new`, freed by `td_deduplicator_free`. Thread safety: one thread
/// at a time; guard it with your own lock when webhook handlers run on several threads.
#[derive(Debug)]
pub struct td_deduplicator {
    inner: Deduplicator,
}

/// A deduplicator remembering up to `capacity` ids (0: the default, 100 000). Free it with
/// `td_deduplicator_free`; NULL only on an internal failure.
#[no_mangle]
pub extern "C" fn td_deduplicator_new(capacity: usize) -> *mut td_deduplicator {
    guard_value(std::ptr::null_mut(), || {
        let inner = match capacity {
            0 => Deduplicator::new(),
            n => Deduplicator::with_capacity(n),
        };
        into_handle(td_deduplicator { inner })
    })
}

/// Frees a deduplicator; NULL is a no-op.
///
/// # Safety
/// `dedup` is NULL or from `td_deduplicator_new`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_deduplicator_free(dedup: *mut td_deduplicator) {
    guard_value((), || free_handle(dedup))
}

/// Writes `*first_out`: true the first time `message_id` is seen at `now_ms` (milliseconds
/// since the Unix epoch), and remembers it; false for a repeat (answer it, do not act).
///
/// # Safety
/// `dedup` is live; `message_id` a C string; `first_out` writable.
#[no_mangle]
pub unsafe extern "C" fn td_deduplicator_first_time(
    dedup: *mut td_deduplicator,
    message_id: *const c_char,
    now_ms: u64,
    first_out: *mut bool,
) -> td_result {
    guard_code(|| {
        let dedup = arg_mut(dedup, "dedup")?;
        let id = arg_str(message_id, "message_id")?;
        let out = out_ptr(first_out, "first_out")?;
        out.write(dedup.inner.first_time(id, now_ms));
        Ok(())
    })
}

/// Forgets `message_id`, so its next delivery counts as a first: call it when handling the
/// message failed and Twitch should send it again (answer it with a 5xx). Writes whether it
/// was remembered to `*forgotten_out` unless that is NULL.
///
/// # Safety
/// `dedup` is live; `message_id` a C string; `forgotten_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn td_deduplicator_forget(
    dedup: *mut td_deduplicator,
    message_id: *const c_char,
    forgotten_out: *mut bool,
) -> td_result {
    guard_code(|| {
        let dedup = arg_mut(dedup, "dedup")?;
        let id = arg_str(message_id, "message_id")?;
        let forgotten = dedup.inner.forget(id);
        if !forgotten_out.is_null() {
            out_ptr(forgotten_out, "forgotten_out")?.write(forgotten);
        }
        Ok(())
    })
}

/// Ids remembered now (0 for NULL).
///
/// # Safety
/// `dedup` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_deduplicator_len(dedup: *const td_deduplicator) -> usize {
    guard_value(0, || dedup.as_ref().map_or(0, |d| d.inner.len()))
}
