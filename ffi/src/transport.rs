//! Bring-your-own HTTP and time: the request view C reads, the response builder a C
//! transport callback fills, the clock callbacks, and the transport and clock the blocking
//! client runs with (the built-in one, a C callback, or none).

use std::ffi::{c_char, c_void};
use std::time::Duration;

use twitch_drops::{
    Clock, HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind,
};

use crate::boundary::{
    arg_bytes, arg_mut, arg_opt_str, arg_td_str, guard_code, td_str, CText, Failure, Outcome,
    UserData,
};
use crate::error::td_transport_error_kind;
use crate::result::td_result;

/// One HTTP header: a name and a value. Going out (in a `td_http_request`) both are
/// NUL-terminated views; coming in (`td_op_feed_response`) they need not be, and are checked
/// for UTF-8.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct td_header {
    /// The name (`Content-Type`); matched case-insensitively.
    pub name: td_str,
    /// The value.
    pub value: td_str,
}

/// A fully formed request to perform: absolute URL, every header, optional body. Headers
/// include `Authorization` (a credential: do not log it). Send it as is; do not follow
/// redirects (the library follows the ones it wants).
///
/// Borrowed: in a transport callback, valid until the callback returns; from `td_op_poll`,
/// valid until the next call on that operation or its `_free`.
#[repr(C)]
#[derive(Debug)]
pub struct td_http_request {
    /// `"GET"`, `"POST"` or `"PATCH"`.
    pub method: td_str,
    /// The absolute URL, query included.
    pub url: td_str,
    /// The headers, `header_count` of them.
    pub headers: *const td_header,
    /// How many headers.
    pub header_count: usize,
    /// The body, `body_len` bytes; NULL when there is none.
    pub body: *const u8,
    /// The body's length (0 when there is none).
    pub body_len: usize,
}

/// Owns the strings and arrays a `td_http_request` points into.
pub(crate) struct RequestView {
    _url: CText,
    _headers: Vec<(CText, CText)>,
    _body: Option<Vec<u8>>,
    _header_views: Vec<td_header>,
    view: td_http_request,
}

// SAFETY: the raw pointers in `view` point into the owned fields above, which move with it.
unsafe impl Send for RequestView {}

impl RequestView {
    pub(crate) fn new(request: HttpRequest) -> Box<RequestView> {
        let url = CText::new(request.url);
        let headers: Vec<(CText, CText)> = request
            .headers
            .into_iter()
            .map(|(n, v)| (CText::new(n), CText::new(v)))
            .collect();
        let header_views: Vec<td_header> = headers
            .iter()
            .map(|(n, v)| td_header {
                name: n.view(),
                value: v.view(),
            })
            .collect();
        let method = match request.method.as_str() {
            "GET" => td_str::from_static("GET\0"),
            "POST" => td_str::from_static("POST\0"),
            _ => td_str::from_static("PATCH\0"),
        };
        let body = request.body;
        let view = td_http_request {
            method,
            url: url.view(),
            headers: header_views.as_ptr(),
            header_count: header_views.len(),
            body: body.as_ref().map_or(std::ptr::null(), |b| b.as_ptr()),
            body_len: body.as_ref().map_or(0, Vec::len),
        };
        // Boxed so the view's pointers stay put: a String's and a Vec's heap buffers do not
        // move when their owner moves.
        Box::new(RequestView {
            _url: url,
            _headers: headers,
            _body: body,
            _header_views: header_views,
            view,
        })
    }

    pub(crate) fn view(&self) -> &td_http_request {
        &self.view
    }
}

/// Reads C headers into owned pairs, checking pointers and UTF-8.
///
/// # Safety
/// `headers` is NULL or points to `count` headers whose views are readable.
pub(crate) unsafe fn read_headers(
    headers: *const td_header,
    count: usize,
) -> Outcome<Vec<(String, String)>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if headers.is_null() {
        return Err(Failure::null("headers"));
    }
    std::slice::from_raw_parts(headers, count)
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let name = arg_td_str(h.name, &format!("headers[{i}].name"))?;
            let value = arg_td_str(h.value, &format!("headers[{i}].value"))?;
            Ok((name.to_string(), value.to_string()))
        })
        .collect()
}

/// The response a transport callback builds: set the status, add headers, append the body;
/// or report that no whole response could be had with `td_http_response_fail`. Owned by the
/// library and valid only during the callback that received it.
#[derive(Debug, Default)]
pub struct td_http_response {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    failure: Option<TransportError>,
}

impl td_http_response {
    fn finish(self) -> Result<HttpResponse, TransportError> {
        if let Some(failure) = self.failure {
            return Err(failure);
        }
        match self.status {
            Some(status) => Ok(HttpResponse {
                status,
                headers: self.headers,
                body: self.body,
            }),
            None => Err(TransportError::new(
                TransportErrorKind::Interrupted,
                "the transport callback returned without a status or a failure",
            )),
        }
    }
}

/// Sets the response's status (100-999).
///
/// # Safety
/// `response` is the pointer the callback received, during the callback.
#[no_mangle]
pub unsafe extern "C" fn td_http_response_set_status(
    response: *mut td_http_response,
    status: u16,
) -> td_result {
    guard_code(|| {
        let response = arg_mut(response, "response")?;
        if !(100..=999).contains(&status) {
            return Err(Failure::invalid(format!(
                "`status` {status} is not an HTTP status (100-999)"
            )));
        }
        response.status = Some(status);
        Ok(())
    })
}

/// Adds a response header. Repeated names are kept; names match case-insensitively. Only
/// `Ratelimit-*`, `Retry-After`, `Content-Type` and `Location` are read.
///
/// # Safety
/// `response` is the pointer the callback received; `name` and `value` view readable bytes.
#[no_mangle]
pub unsafe extern "C" fn td_http_response_add_header(
    response: *mut td_http_response,
    name: td_str,
    value: td_str,
) -> td_result {
    guard_code(|| {
        let response = arg_mut(response, "response")?;
        let name = arg_td_str(name, "name")?;
        let value = arg_td_str(value, "value")?;
        response.headers.push((name.to_string(), value.to_string()));
        Ok(())
    })
}

/// Appends `len` bytes to the response body (call as often as the data arrives).
///
/// # Safety
/// `response` is the pointer the callback received; `data` points to `len` readable bytes
/// (may be NULL when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn td_http_response_append_body(
    response: *mut td_http_response,
    data: *const u8,
    len: usize,
) -> td_result {
    guard_code(|| {
        let response = arg_mut(response, "response")?;
        let data = arg_bytes(data, len, "data")?;
        response.body.extend_from_slice(data);
        Ok(())
    })
}

/// Reports that no whole response could be had; `kind` (a `td_transport_error_kind` other than
/// NONE) decides whether the request may be resent, `message` (optional, for people) says why.
/// Overrides anything set before.
///
/// # Safety
/// `response` is the pointer the callback received; `message` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn td_http_response_fail(
    response: *mut td_http_response,
    kind: u32,
    message: *const c_char,
) -> td_result {
    guard_code(|| {
        let response = arg_mut(response, "response")?;
        let kind = td_transport_error_kind::from_c(kind).ok_or_else(|| {
            Failure::invalid(format!(
                "`kind` {kind} is not a td_transport_error_kind other than TD_TRANSPORT_NONE"
            ))
        })?;
        let message = arg_opt_str(message, "message")?.unwrap_or("");
        response.failure = Some(TransportError::new(kind, message));
        Ok(())
    })
}

/// A transport: performs `request` and describes the answer through `response`, before
/// returning. Every status is a response (4xx and 5xx too); use `td_http_response_fail` only
/// when no whole response came back.
///
/// Called on the thread that called the blocking `td_client_*` function, concurrently when
/// several threads share the client: `user_data` must allow that. It must not call back into
/// the same client, must not keep `request` or `response` after returning, and must not let
/// C++ exceptions or longjmp cross it.
pub type td_transport_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        request: *const td_http_request,
        response: *mut td_http_response,
    ),
>;

/// A clock: milliseconds since the Unix epoch. Waits are measured between two of its
/// readings, never against a server's time, so it need not agree with Twitch's clock. Called
/// from the threads that call blocking functions.
pub type td_now_fn = Option<unsafe extern "C" fn(user_data: *mut c_void) -> u64>;

/// Blocks the calling thread for `ms` milliseconds (backoff, rate limits, device-flow polls).
pub type td_sleep_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, ms: u64)>;

/// How the blocking client reaches the network.
#[derive(Clone)]
pub(crate) enum Door {
    #[cfg(feature = "ureq")]
    Ureq(twitch_drops::UreqTransport),
    Callback {
        send: unsafe extern "C" fn(*mut c_void, *const td_http_request, *mut td_http_response),
        user_data: UserData,
    },
    /// Built without `ureq` and given no callback: only the step API can be used.
    #[cfg_attr(feature = "ureq", allow(dead_code))]
    None,
}

/// The blocking client's transport: the door (the client counts requests and reads the
/// rate-limit headers itself).
pub(crate) struct FfiTransport {
    pub(crate) door: Door,
}

impl FfiTransport {
    /// The library's own HTTP (no host callback).
    pub(crate) fn is_built_in(&self) -> bool {
        #[cfg(feature = "ureq")]
        if let Door::Ureq(_) = self.door {
            return true;
        }
        false
    }
}

impl Transport for FfiTransport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        match &self.door {
            #[cfg(feature = "ureq")]
            Door::Ureq(ureq) => ureq.send(request),
            Door::Callback { send, user_data } => {
                let view = RequestView::new(request);
                let mut response = td_http_response::default();
                // SAFETY: the caller gave a valid function and promised `user_data` may be
                // used from this thread; both pointers live until it returns.
                unsafe { send(user_data.0, view.view(), &mut response) };
                response.finish()
            }
            Door::None => Err(TransportError::new(
                TransportErrorKind::Refused,
                "no transport: this library was built without the built-in one (feature \
                 `ureq`); set one with td_client_config_set_transport, or use the step API",
            )),
        }
    }
}

/// The blocking client's clock: the system's, or C callbacks.
#[derive(Clone, Copy)]
pub(crate) enum FfiClock {
    System,
    Callback {
        now: unsafe extern "C" fn(*mut c_void) -> u64,
        sleep: unsafe extern "C" fn(*mut c_void, u64),
        user_data: UserData,
    },
}

impl Clock for FfiClock {
    fn now_ms(&self) -> u64 {
        match self {
            FfiClock::System => twitch_drops::SystemClock.now_ms(),
            // SAFETY: a valid function; `user_data` usable from this thread (documented).
            FfiClock::Callback { now, user_data, .. } => unsafe { now(user_data.0) },
        }
    }

    fn sleep(&self, duration: Duration) {
        match self {
            FfiClock::System => twitch_drops::SystemClock.sleep(duration),
            FfiClock::Callback {
                sleep, user_data, ..
            } => {
                let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
                // SAFETY: as above.
                unsafe { sleep(user_data.0, ms) }
            }
        }
    }
}
