//! The step API: an operation the host drives without blocking. It says what it needs next
//! (send this request, sleep this long, or done) and the host answers when it can.

use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

use twitch_drops::{
    analytics, device, entitlements, token, update, AnalyticsPage, DeviceCode, EntitlementsPage,
    Error, HttpResponse, Input, OAuthToken, Operation, Step, TokenInfo, TransportError,
    UpdateReport,
};

use crate::analytics::{td_analytics_page, td_analytics_query, td_bytes};
use crate::boundary::{
    arg_bytes, arg_mut, arg_opt_str, arg_ref, arg_str, arg_strs, free_handle, guard, guard_value,
    into_handle, out_ptr, Failure, OutPtr, Outcome,
};
use crate::client::{td_client, Shared};
use crate::entitlements::{fulfillment_status, td_entitlements_page, td_entitlements_query};
use crate::error::{td_error, td_transport_error_kind};
use crate::result::td_result;
use crate::token::{td_device_code, td_oauth_token, td_token_info};
use crate::transport::{read_headers, td_header, td_http_request, RequestView};
use crate::update::td_update_report;

/// What an operation needs next.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum td_step_kind {
    /// Perform `request`, then call `td_op_feed_response` (any status) or
    /// `td_op_feed_transport_error` (no whole response).
    TD_STEP_SEND = 1,
    /// Wait `sleep_ms` milliseconds (backoff, rate limit, device-flow poll interval) without
    /// blocking the game thread, then call `td_op_feed_slept`.
    TD_STEP_SLEEP = 2,
    /// The operation is over: `result` says how; take its value with the `td_op_take_*`
    /// function of its kind.
    TD_STEP_DONE = 3,
}

/// The answer of `td_op_poll`. Only the fields of `kind` are meaningful.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct td_step {
    /// What is needed.
    pub kind: td_step_kind,
    /// SEND: the request, borrowed until the next call on the operation (or its free).
    pub request: *const td_http_request,
    /// SLEEP: how long.
    pub sleep_ms: u64,
    /// DONE: `TD_OK` or the failure (detail from the `td_op_take_*` call's `td_error`).
    pub result: td_result,
}

/// The value a finished operation holds.
pub(crate) enum OpValue {
    Page(EntitlementsPage),
    Update(UpdateReport),
    Analytics(AnalyticsPage),
    Bytes(Vec<u8>),
    TokenInfo(TokenInfo),
    DeviceCode(DeviceCode),
    OAuthToken(OAuthToken),
}

/// How a typed operation's output becomes an [`OpValue`].
pub(crate) type OpResult<T> = fn(T) -> OpValue;

/// Any operation, typed to produce an [`OpValue`].
struct Erased<O: Operation> {
    op: O,
    wrap: OpResult<O::Output>,
}

impl<O: Operation> Operation for Erased<O> {
    type Output = OpValue;

    fn resume(&mut self, input: Input, now_ms: u64) -> Step<OpValue> {
        match self.op.resume(input, now_ms) {
            Step::Send(r) => Step::Send(r),
            Step::Sleep(d) => Step::Sleep(d),
            Step::Authorize { rejected } => Step::Authorize { rejected },
            Step::Done(result) => Step::Done(result.map(self.wrap)),
        }
    }
}

enum State {
    /// Ready to resume with this input at the next poll.
    Ready(Input),
    /// A SEND is out; waiting for its response or failure. Owns what the request view
    /// handed to the host points into.
    Sending(#[allow(dead_code)] Box<RequestView>),
    /// A SLEEP is out.
    Sleeping,
    /// Over; the value until it is taken.
    Done(Result<Option<OpValue>, Error>),
}

/// One operation (a page, an update, an analytics page, a download, a validation, a device
/// flow) driven by the host without blocking: poll it, perform what it asks with your own
/// HTTP stack and timers, feed the answer, and poll again until `TD_STEP_DONE`. Token
/// requests are answered inside it from its client's token store (shared with the client's
/// other calls; a needed token fetch shows up as ordinary SEND steps).
///
/// Made by the `td_client_begin_*` functions and `td_pages_begin_next`; free with
/// `td_op_free` at any time (an unfinished operation is abandoned). Keeps what it needs of
/// its client alive.
///
/// Thread safety: one thread at a time (it may be moved between threads, e.g. polled on the
/// game thread and fed from an HTTP completion thread, with your own synchronization).
pub struct td_op {
    op: Box<dyn Operation<Output = OpValue> + Send>,
    /// Held, never read: an operation keeps its client's state alive.
    #[allow(dead_code)]
    shared: Arc<Shared>,
    state: State,
    code: td_result,
}

impl td_op {
    pub(crate) fn new<O>(shared: Arc<Shared>, op: O, wrap: OpResult<O::Output>) -> td_op
    where
        O: Operation + Send + 'static,
    {
        let op = shared.session.authorized(Erased { op, wrap });
        td_op {
            op: Box::new(op),
            shared,
            state: State::Ready(Input::Start),
            code: td_result::TD_OK,
        }
    }

    fn poll(&mut self, now_ms: u64) -> Outcome<td_step> {
        let input = match std::mem::replace(&mut self.state, State::Sleeping) {
            State::Ready(input) => input,
            State::Done(value) => {
                self.state = State::Done(value);
                return Ok(done(self.code));
            }
            other => {
                let what = match other {
                    State::Sending(_) => {
                        "a SEND is out: answer it with td_op_feed_response or \
                         td_op_feed_transport_error before polling again"
                    }
                    _ => "a SLEEP is out: call td_op_feed_slept before polling again",
                };
                self.state = other;
                return Err(Failure::wrong_state(what));
            }
        };
        match self.op.resume(input, now_ms) {
            Step::Send(request) => {
                let view = RequestView::new(request);
                let step = td_step {
                    kind: td_step_kind::TD_STEP_SEND,
                    request: view.view(),
                    sleep_ms: 0,
                    result: td_result::TD_OK,
                };
                self.state = State::Sending(view);
                Ok(step)
            }
            Step::Sleep(duration) => {
                self.state = State::Sleeping;
                Ok(td_step {
                    kind: td_step_kind::TD_STEP_SLEEP,
                    request: std::ptr::null(),
                    sleep_ms: millis(duration),
                    result: td_result::TD_OK,
                })
            }
            Step::Authorize { .. } => {
                // Answered inside `Authorized`; cannot reach here.
                self.finish(Err(Error::Unauthorized {
                    status: 401,
                    message: "internal: an operation asked the host for a token".into(),
                }));
                Ok(done(self.code))
            }
            Step::Done(result) => {
                self.finish(result);
                Ok(done(self.code))
            }
        }
    }

    fn finish(&mut self, result: Result<OpValue, Error>) {
        self.code = match &result {
            Ok(_) => td_result::TD_OK,
            Err(e) => td_result::of(e),
        };
        self.state = State::Done(result.map(Some));
    }

    fn feed(&mut self, input: Input) -> Outcome {
        match (&self.state, &input) {
            (State::Sending(_), Input::Response(_) | Input::TransportFailed(_))
            | (State::Sleeping, Input::Slept) => {
                self.state = State::Ready(input);
                Ok(())
            }
            (State::Sending(_), _) => Err(Failure::wrong_state(
                "the operation asked to SEND: feed a response or a transport error",
            )),
            (State::Sleeping, _) => Err(Failure::wrong_state(
                "the operation asked to SLEEP: call td_op_feed_slept",
            )),
            (State::Ready(_), _) => Err(Failure::wrong_state(
                "the operation is waiting to be polled, not for an answer",
            )),
            (State::Done(_), _) => Err(Failure::wrong_state("the operation is done")),
        }
    }

    /// Moves the finished value out through `pick`, or reports the failure.
    fn take<T>(&mut self, pick: impl FnOnce(OpValue) -> Result<T, OpValue>) -> Outcome<T> {
        match &mut self.state {
            State::Done(Err(e)) => Err(e.clone().into()),
            State::Done(Ok(slot)) => {
                let value = slot.take().ok_or_else(|| {
                    Failure::wrong_state("the operation's value was already taken")
                })?;
                pick(value).map_err(|other| {
                    *slot = Some(other);
                    Failure::wrong_state(
                        "the operation produces another kind of value: use the td_op_take_* \
                         function of the td_client_begin_* call that made it",
                    )
                })
            }
            _ => Err(Failure::wrong_state(
                "the operation is not done: poll it until TD_STEP_DONE",
            )),
        }
    }
}

fn done(code: td_result) -> td_step {
    td_step {
        kind: td_step_kind::TD_STEP_DONE,
        request: std::ptr::null(),
        sleep_ms: 0,
        result: code,
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Frees an operation, finished or not; NULL is a no-op. A request it handed out must no
/// longer be read; an answer arriving later is simply dropped by the host.
///
/// # Safety
/// `op` is NULL or from this library, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_op_free(op: *mut td_op) {
    guard_value((), || free_handle(op))
}

/// Advances the operation and says what it needs next (see `td_step_kind`). `now_ms` is the
/// wall-clock time in milliseconds since the Unix epoch (rate-limit resets are Unix times).
/// After SEND or SLEEP, answer with a `td_op_feed_*` call before polling again
/// (`TD_WRONG_STATE` otherwise); after DONE, polling again returns DONE again.
///
/// Writes `*step_out` on success.
///
/// # Safety
/// `op` is live; `step_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_op_poll(
    op: *mut td_op,
    now_ms: u64,
    step_out: *mut td_step,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let op = arg_mut(op, "op")?;
        let out = out_ptr(step_out, "step_out")?;
        out.write(op.poll(now_ms)?);
        Ok(())
    })
}

/// Answers a SEND with the response: any status (4xx and 5xx too: the library decides what
/// they mean), `header_count` headers (names and values need not be NUL-terminated), and the
/// whole body. Everything is copied.
///
/// # Safety
/// `op` is live; `headers` points to `header_count` headers (NULL when 0); `body` to
/// `body_len` bytes (NULL when 0); `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_op_feed_response(
    op: *mut td_op,
    status: u16,
    headers: *const td_header,
    header_count: usize,
    body: *const u8,
    body_len: usize,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let op = arg_mut(op, "op")?;
        let response = response_of(status, headers, header_count, body, body_len)?;
        op.feed(Input::Response(response))?;
        Ok(())
    })
}

/// A response a host feeds, copied and checked: the status, the headers, the body.
///
/// # Safety
/// `headers` points to `header_count` headers (NULL when 0); `body` to `body_len` bytes (NULL
/// when 0).
pub(crate) unsafe fn response_of(
    status: u16,
    headers: *const td_header,
    header_count: usize,
    body: *const u8,
    body_len: usize,
) -> Outcome<HttpResponse> {
    if !(100..=999).contains(&status) {
        return Err(Failure::invalid(format!(
            "`status` {status} is not an HTTP status (100-999)"
        )));
    }
    Ok(HttpResponse {
        status,
        headers: read_headers(headers, header_count)?,
        body: arg_bytes(body, body_len, "body")?.to_vec(),
    })
}

/// A transport failure a host feeds: `kind` a `td_transport_error_kind` other than NONE.
///
/// # Safety
/// `message` is NULL or a C string.
pub(crate) unsafe fn transport_failure_of(
    kind: u32,
    message: *const c_char,
) -> Outcome<TransportError> {
    let kind = td_transport_error_kind::from_c(kind).ok_or_else(|| {
        Failure::invalid(format!(
            "`kind` {kind} is not a td_transport_error_kind other than TD_TRANSPORT_NONE"
        ))
    })?;
    let message = arg_opt_str(message, "message")?.unwrap_or("");
    Ok(TransportError::new(kind, message))
}

/// Answers a SEND that got no whole response: `kind` (a `td_transport_error_kind` other than
/// NONE) tells whether the server may have seen it, `message` (may be NULL) says why.
///
/// # Safety
/// `op` is live; `message` NULL or a C string; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_op_feed_transport_error(
    op: *mut td_op,
    kind: u32,
    message: *const c_char,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let op = arg_mut(op, "op")?;
        let failure = transport_failure_of(kind, message)?;
        op.feed(Input::TransportFailed(failure))
    })
}

/// Answers a SLEEP: the time has passed.
///
/// # Safety
/// `op` is live; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_op_feed_slept(op: *mut td_op, error: *mut td_error) -> td_result {
    guard(error, || arg_mut(op, "op")?.feed(Input::Slept))
}

/// Starts an operation from `client`, writing it to `op_out`.
fn begin<O>(
    client: *const td_client,
    op_out: *mut *mut td_op,
    error: *mut td_error,
    make: impl FnOnce(&Arc<Shared>) -> Outcome<O>,
    wrap: OpResult<O::Output>,
) -> td_result
where
    O: Operation + Send + 'static,
{
    guard(error, || {
        // SAFETY: documented on each begin function: NULL or a live client.
        let client = unsafe { arg_ref(client, "client")? };
        let out = out_ptr(op_out, "op_out")?;
        let shared = &client.inner.shared;
        let op = make(shared)?;
        out.write(into_handle(td_op::new(Arc::clone(shared), op, wrap)));
        Ok(())
    })
}

/// Step API: one page of entitlements (like `td_client_entitlements_page`). Take the result
/// with `td_op_take_entitlements_page`. Writes `*op_out` on success (free with `td_op_free`).
///
/// # Safety
/// `client` and `query` are live; `op_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_begin_entitlements_page(
    client: *const td_client,
    query: *const td_entitlements_query,
    op_out: *mut *mut td_op,
    error: *mut td_error,
) -> td_result {
    begin(
        client,
        op_out,
        error,
        |shared| {
            let query = arg_ref(query, "query")?;
            Ok(entitlements::get_entitlements(
                &shared.config,
                &query.query,
            )?)
        },
        OpValue::Page,
    )
}

/// Step API: an update with per-id outcomes (like `td_client_update_entitlements`). Take the
/// result with `td_op_take_update_report`. Writes `*op_out` on success.
///
/// # Safety
/// `client` is live; `ids` points to `count` C strings; `op_out` writable; `error` NULL or
/// live.
#[no_mangle]
pub unsafe extern "C" fn td_client_begin_update_entitlements(
    client: *const td_client,
    ids: *const *const c_char,
    count: usize,
    status: u32,
    op_out: *mut *mut td_op,
    error: *mut td_error,
) -> td_result {
    begin(
        client,
        op_out,
        error,
        |shared| {
            let ids = arg_strs(ids, count, "ids")?;
            let status = fulfillment_status(status)?;
            Ok(update::update_entitlements(&shared.config, &ids, status)?)
        },
        OpValue::Update,
    )
}

/// Step API: a page of analytics reports (like `td_client_game_analytics`). Take the result
/// with `td_op_take_analytics_page`. Writes `*op_out` on success.
///
/// # Safety
/// `client` and `query` are live; `op_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_begin_game_analytics(
    client: *const td_client,
    query: *const td_analytics_query,
    op_out: *mut *mut td_op,
    error: *mut td_error,
) -> td_result {
    begin(
        client,
        op_out,
        error,
        |shared| {
            let query = arg_ref(query, "query")?;
            Ok(analytics::get_game_analytics(&shared.config, &query.query)?)
        },
        OpValue::Analytics,
    )
}

/// Step API: a report download (like `td_client_download_report`). Take the bytes with
/// `td_op_take_bytes`. Writes `*op_out` on success.
///
/// # Safety
/// `client` is live; `url` a C string; `op_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_begin_download_report(
    client: *const td_client,
    url: *const c_char,
    op_out: *mut *mut td_op,
    error: *mut td_error,
) -> td_result {
    begin(
        client,
        op_out,
        error,
        |shared| {
            let url = arg_str(url, "url")?;
            Ok(analytics::download_report(&shared.config, url)?)
        },
        OpValue::Bytes,
    )
}

/// Step API: token validation (like `td_client_validate_token`). Take the result with
/// `td_op_take_token_info`. Writes `*op_out` on success.
///
/// # Safety
/// `client` is live; `op_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_begin_validate_token(
    client: *const td_client,
    op_out: *mut *mut td_op,
    error: *mut td_error,
) -> td_result {
    begin(
        client,
        op_out,
        error,
        |shared| Ok(token::validate(&shared.config)),
        OpValue::TokenInfo,
    )
}

/// Step API: starts a device-code login (like `td_client_start_device_flow`). Take the code
/// with `td_op_take_device_code`. Writes `*op_out` on success.
///
/// # Safety
/// `client` is live; `scopes` points to `count` C strings; `op_out` writable; `error` NULL
/// or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_begin_start_device_flow(
    client: *const td_client,
    scopes: *const *const c_char,
    count: usize,
    op_out: *mut *mut td_op,
    error: *mut td_error,
) -> td_result {
    begin(
        client,
        op_out,
        error,
        |shared| {
            let scopes = arg_strs(scopes, count, "scopes")?;
            Ok(device::start_device_flow(&shared.config, &scopes)?)
        },
        OpValue::DeviceCode,
    )
}

/// Step API: waits for the user to approve a device-code login (like
/// `td_client_finish_device_flow`; the waits between polls are SLEEP steps). On success the
/// client uses the new user token; take it with `td_op_take_oauth_token` to store it.
/// Writes `*op_out` on success.
///
/// # Safety
/// `client` and `code` are live; `op_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_begin_finish_device_flow(
    client: *const td_client,
    code: *const td_device_code,
    op_out: *mut *mut td_op,
    error: *mut td_error,
) -> td_result {
    begin(
        client,
        op_out,
        error,
        |shared| {
            let code = arg_ref(code, "code")?;
            Ok(shared
                .session
                .installing(device::poll_device_flow(&shared.config, &code.code)))
        },
        OpValue::OAuthToken,
    )
}

/// Takes a finished operation's value with `pick`, boxing it for C.
fn take_into<T>(
    op: *mut td_op,
    out: *mut *mut T,
    error: *mut td_error,
    pick: impl FnOnce(OpValue) -> Result<T, OpValue>,
) -> td_result {
    guard(error, || {
        // SAFETY: documented on each take function: NULL or a live op used by one thread.
        let op = unsafe { arg_mut(op, "op")? };
        let out: OutPtr<*mut T> = out_ptr(out, "value_out")?;
        out.write(into_handle(op.take(pick)?));
        Ok(())
    })
}

/// The result of a finished `td_client_begin_entitlements_page` or `td_pages_begin_next`
/// operation: `TD_OK` with `*page_out` (moved out: a second take is `TD_WRONG_STATE`), or the
/// operation's failure with its detail in `error`. `TD_WRONG_STATE` before DONE or for another
/// kind of operation.
///
/// # Safety
/// `op` is live; `page_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_op_take_entitlements_page(
    op: *mut td_op,
    page_out: *mut *mut td_entitlements_page,
    error: *mut td_error,
) -> td_result {
    take_into(op, page_out, error, |v| match v {
        OpValue::Page(p) => Ok(td_entitlements_page::new(p)),
        other => Err(other),
    })
}

/// The result of a finished update operation, like `td_op_take_entitlements_page`. For
/// `TD_PARTIAL_UPDATE` the partial report is in `error` (`td_error_update_report`).
///
/// # Safety
/// `op` is live; `report_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_op_take_update_report(
    op: *mut td_op,
    report_out: *mut *mut td_update_report,
    error: *mut td_error,
) -> td_result {
    take_into(op, report_out, error, |v| match v {
        OpValue::Update(r) => Ok(td_update_report::new(&r)),
        other => Err(other),
    })
}

/// The result of a finished analytics operation, like `td_op_take_entitlements_page`.
///
/// # Safety
/// `op` is live; `page_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_op_take_analytics_page(
    op: *mut td_op,
    page_out: *mut *mut td_analytics_page,
    error: *mut td_error,
) -> td_result {
    take_into(op, page_out, error, |v| match v {
        OpValue::Analytics(p) => Ok(td_analytics_page::new(p)),
        other => Err(other),
    })
}

/// The result of a finished download operation, like `td_op_take_entitlements_page`.
///
/// # Safety
/// `op` is live; `bytes_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_op_take_bytes(
    op: *mut td_op,
    bytes_out: *mut *mut td_bytes,
    error: *mut td_error,
) -> td_result {
    take_into(op, bytes_out, error, |v| match v {
        OpValue::Bytes(b) => Ok(td_bytes::new(b)),
        other => Err(other),
    })
}

/// The result of a finished validation operation, like `td_op_take_entitlements_page`.
///
/// # Safety
/// `op` is live; `info_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_op_take_token_info(
    op: *mut td_op,
    info_out: *mut *mut td_token_info,
    error: *mut td_error,
) -> td_result {
    take_into(op, info_out, error, |v| match v {
        OpValue::TokenInfo(i) => Ok(td_token_info::new(i)),
        other => Err(other),
    })
}

/// The result of a finished device-flow start, like `td_op_take_entitlements_page`.
///
/// # Safety
/// `op` is live; `code_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_op_take_device_code(
    op: *mut td_op,
    code_out: *mut *mut td_device_code,
    error: *mut td_error,
) -> td_result {
    take_into(op, code_out, error, |v| match v {
        OpValue::DeviceCode(c) => Ok(td_device_code::new(c)),
        other => Err(other),
    })
}

/// The result of a finished device-flow finish (the user token, already in use by the
/// client), like `td_op_take_entitlements_page`.
///
/// # Safety
/// `op` is live; `token_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_op_take_oauth_token(
    op: *mut td_op,
    token_out: *mut *mut td_oauth_token,
    error: *mut td_error,
) -> td_result {
    take_into(op, token_out, error, |v| match v {
        OpValue::OAuthToken(t) => Ok(td_oauth_token::new(t)),
        other => Err(other),
    })
}
