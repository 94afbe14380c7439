//! `td_client` and its blocking calls: each builds the core's operation and runs it with the
//! core's `Client` over the configured transport and clock.

use std::ffi::c_char;
use std::sync::Arc;

use twitch_drops::{
    analytics, device, entitlements, token, update, Client, Config, Operation, Session,
};

use crate::analytics::{td_analytics_page, td_analytics_query, td_bytes};
use crate::boundary::{
    arg_ref, arg_str, arg_strs, free_handle, guard, guard_code, guard_value, into_handle, out_ptr,
    Failure, Outcome,
};
use crate::config::td_client_config;
use crate::entitlements::fulfillment_status;
use crate::entitlements::{td_entitlements_page, td_entitlements_query, td_pages};
use crate::error::td_error;
use crate::result::td_result;
use crate::token::{td_device_code, td_oauth_token, td_token_info};
use crate::transport::{FfiClock, FfiTransport};
use crate::update::td_update_report;

/// What a client's operations share, blocking or stepped: the configuration and the core's
/// session (tokens, request count, rate-limit reading).
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) session: Arc<Session>,
}

/// The client behind a `td_client` handle; pages keep it alive.
pub(crate) struct ClientInner {
    pub(crate) core: Client<FfiTransport, FfiClock>,
    pub(crate) shared: Arc<Shared>,
    /// The built-in transport and clock (no host callbacks): their work may run on the
    /// library's own threads, so a fulfillment can keep several requests out at once.
    pub(crate) built_in_io: bool,
}

impl ClientInner {
    /// Runs an operation to completion on the calling thread.
    pub(crate) fn run<O: Operation>(&self, op: O) -> Outcome<O::Output> {
        Ok(self.core.run(op)?)
    }
}

/// A Drops client: one application's credentials and settings, its token (fetched once and
/// shared by every call) and its rate-limit reading.
///
/// Made by `td_client_new`, freed by `td_client_free`. Pages iterators and step operations
/// made from it keep what they need alive, so they may outlive it.
///
/// Thread safety: every function taking `const td_client *` may be called from any number
/// of threads at once (a token is fetched once for all of them). Blocking calls run the
/// transport callback and clock callbacks on the calling thread.
pub struct td_client {
    pub(crate) inner: Arc<ClientInner>,
}

/// Makes a client from `config` (read, not kept: free it when you like). The configuration
/// is checked here: an empty client id or credential, or a base URL that is neither HTTPS nor
/// loopback HTTP, is `TD_INVALID_INPUT`. No request is sent until a call needs one.
///
/// Writes `*client_out` on success.
///
/// # Safety
/// `config` is a live config; `client_out` is writable; `error` is NULL or a live `td_error`.
#[no_mangle]
pub unsafe extern "C" fn td_client_new(
    config: *const td_client_config,
    client_out: *mut *mut td_client,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let out = out_ptr(client_out, "client_out")?;
        let config = arg_ref(config, "config")?;
        let core_config = config.core();
        let transport = FfiTransport {
            door: config.door(),
        };
        let built_in_io = transport.is_built_in() && matches!(config.clock, FfiClock::System);
        let core = Client::with_transport(core_config.clone(), transport, config.clock)?;
        let shared = Arc::new(Shared {
            config: core_config,
            session: Arc::clone(core.session()),
        });
        out.write(into_handle(td_client {
            inner: Arc::new(ClientInner {
                core,
                shared,
                built_in_io,
            }),
        }));
        Ok(())
    })
}

/// Frees a client; NULL is a no-op. Must not race with calls on the same client.
///
/// # Safety
/// `client` is NULL or from `td_client_new`, and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_client_free(client: *mut td_client) {
    guard_value((), || free_handle(client))
}

/// HTTP requests sent so far by this client, blocking and stepped, every attempt counted
/// (0 for NULL).
///
/// # Safety
/// `client` is NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn td_client_requests_sent(client: *const td_client) -> u64 {
    guard_value(0, || {
        client
            .as_ref()
            .map_or(0, |c| c.inner.shared.session.requests_sent())
    })
}

/// The rate-limit bucket as the last response that described it said: points when full,
/// points left, and when it is full again (Unix seconds). `TD_NOT_AVAILABLE` until a response
/// carried the `Ratelimit-*` headers. Writes all three outs on success.
///
/// # Safety
/// `client` is a live client; the three pointers are writable.
#[no_mangle]
pub unsafe extern "C" fn td_client_rate_limit(
    client: *const td_client,
    limit_out: *mut u32,
    remaining_out: *mut u32,
    reset_at_secs_out: *mut u64,
) -> td_result {
    guard_code(|| {
        let client = arg_ref(client, "client")?;
        let limit_out = out_ptr(limit_out, "limit_out")?;
        let remaining_out = out_ptr(remaining_out, "remaining_out")?;
        let reset_out = out_ptr(reset_at_secs_out, "reset_at_secs_out")?;
        let reading = client.inner.shared.session.rate_limit();
        let limit = reading.ok_or_else(|| {
            Failure::new(
                td_result::TD_NOT_AVAILABLE,
                "no response has described the rate limit yet",
            )
        })?;
        limit_out.write(limit.limit);
        remaining_out.write(limit.remaining);
        reset_out.write(limit.reset_at_secs);
        Ok(())
    })
}

/// One page of entitlements matching `query` (blocking). The query's `after` cursor picks
/// the page; `td_entitlements_page_cursor` gives the next one.
///
/// Writes `*page_out` on success; free it with `td_entitlements_page_free`.
///
/// # Safety
/// `client` and `query` are live handles; `page_out` is writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_entitlements_page(
    client: *const td_client,
    query: *const td_entitlements_query,
    page_out: *mut *mut td_entitlements_page,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let client = arg_ref(client, "client")?;
        let query = arg_ref(query, "query")?;
        let out = out_ptr(page_out, "page_out")?;
        let inner = &client.inner;
        let op = entitlements::get_entitlements(&inner.shared.config, &query.query)?;
        let page = inner.run(op)?;
        out.write(into_handle(td_entitlements_page::new(page)));
        Ok(())
    })
}

/// An iterator over every page matching `query` (copied), starting at its `after` cursor.
/// Nothing is sent until `td_pages_next` (blocking) or `td_pages_begin_next` (step API).
/// Invalid filters (101 ids, `first` 0) are `TD_INVALID_INPUT` here.
///
/// Writes `*pages_out` on success; free it with `td_pages_free`.
///
/// # Safety
/// `client` and `query` are live handles; `pages_out` is writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_entitlement_pages(
    client: *const td_client,
    query: *const td_entitlements_query,
    pages_out: *mut *mut td_pages,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let client = arg_ref(client, "client")?;
        let query = arg_ref(query, "query")?;
        let out = out_ptr(pages_out, "pages_out")?;
        let pages = td_pages::new(Arc::clone(&client.inner), query.query.clone())?;
        out.write(into_handle(pages));
        Ok(())
    })
}

/// Sets `count` entitlements (`ids`, any number: sent in batches of 100, repeats sent once) to
/// `status` (`TD_CLAIMED` or `TD_FULFILLED`), with an outcome for each id (blocking).
///
/// Writes `*report_out` on success (every id has an outcome or is listed unconfirmed). When
/// the update stops part way the result is `TD_PARTIAL_UPDATE` and the report is in the error
/// (`td_error_update_report`).
///
/// # Safety
/// `client` is live; `ids` points to `count` C strings; `report_out` writable; `error` NULL
/// or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_update_entitlements(
    client: *const td_client,
    ids: *const *const c_char,
    count: usize,
    status: u32,
    report_out: *mut *mut td_update_report,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let client = arg_ref(client, "client")?;
        let out = out_ptr(report_out, "report_out")?;
        let ids = arg_strs(ids, count, "ids")?;
        let status = fulfillment_status(status)?;
        let inner = &client.inner;
        let op = update::update_entitlements(&inner.shared.config, &ids, status)?;
        let report = inner.run(op)?;
        out.write(into_handle(td_update_report::new(&report)));
        Ok(())
    })
}

/// A page of analytics reports (blocking). Needs a user token with `analytics:read:games`.
///
/// Writes `*page_out` on success; free it with `td_analytics_page_free`.
///
/// # Safety
/// `client` and `query` are live; `page_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_game_analytics(
    client: *const td_client,
    query: *const td_analytics_query,
    page_out: *mut *mut td_analytics_page,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let client = arg_ref(client, "client")?;
        let query = arg_ref(query, "query")?;
        let out = out_ptr(page_out, "page_out")?;
        let inner = &client.inner;
        let op = analytics::get_game_analytics(&inner.shared.config, &query.query)?;
        let page = inner.run(op)?;
        out.write(into_handle(td_analytics_page::new(page)));
        Ok(())
    })
}

/// Downloads a report's CSV from `url` (a report's `td_analytics_report_url`; valid about five
/// minutes), blocking. No credentials are sent; redirects to HTTPS are followed.
///
/// Writes `*bytes_out` on success; free it with `td_bytes_free`.
///
/// # Safety
/// `client` is live; `url` a C string; `bytes_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_download_report(
    client: *const td_client,
    url: *const c_char,
    bytes_out: *mut *mut td_bytes,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let client = arg_ref(client, "client")?;
        let url = arg_str(url, "url")?;
        let out = out_ptr(bytes_out, "bytes_out")?;
        let inner = &client.inner;
        let op = analytics::download_report(&inner.shared.config, url)?;
        let bytes = inner.run(op)?;
        out.write(into_handle(td_bytes::new(bytes)));
        Ok(())
    })
}

/// Asks Twitch about the client's current token (`GET /oauth2/validate`; renewed once on a
/// 401), blocking. Apps keeping a user session should do this at start and hourly.
///
/// Writes `*info_out` on success; free it with `td_token_info_free`.
///
/// # Safety
/// `client` is live; `info_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_validate_token(
    client: *const td_client,
    info_out: *mut *mut td_token_info,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let client = arg_ref(client, "client")?;
        let out = out_ptr(info_out, "info_out")?;
        let inner = &client.inner;
        let info = inner.run(token::validate(&inner.shared.config))?;
        out.write(into_handle(td_token_info::new(info)));
        Ok(())
    })
}

/// Starts a device-code login for `count` `scopes` (e.g. `"analytics:read:games"`), blocking.
/// Show the code's user code and verification URI to the user, then call
/// `td_client_finish_device_flow`.
///
/// Writes `*code_out` on success; free it with `td_device_code_free`.
///
/// # Safety
/// `client` is live; `scopes` points to `count` C strings; `code_out` writable; `error` NULL
/// or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_start_device_flow(
    client: *const td_client,
    scopes: *const *const c_char,
    count: usize,
    code_out: *mut *mut td_device_code,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let client = arg_ref(client, "client")?;
        let scopes = arg_strs(scopes, count, "scopes")?;
        let out = out_ptr(code_out, "code_out")?;
        let inner = &client.inner;
        let op = device::start_device_flow(&inner.shared.config, &scopes)?;
        let code = inner.run(op)?;
        out.write(into_handle(td_device_code::new(code)));
        Ok(())
    })
}

/// Polls (sleeping between polls) until the user approves the login started with
/// `td_client_start_device_flow`, refuses it, or the code expires. On success every later
/// call of this client uses the new user token, which is also written to `*token_out` (free
/// with `td_oauth_token_free`) so it can be stored. `token_out` may be NULL.
///
/// # Safety
/// `client` and `code` are live; `token_out` NULL or writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_finish_device_flow(
    client: *const td_client,
    code: *const td_device_code,
    token_out: *mut *mut td_oauth_token,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let client = arg_ref(client, "client")?;
        let code = arg_ref(code, "code")?;
        let inner = &client.inner;
        let token = inner
            .core
            .finish_device_flow(&code.code)
            .map_err(Failure::from)?;
        if !token_out.is_null() {
            out_ptr(token_out, "token_out")?.write(into_handle(td_oauth_token::new(token)));
        }
        Ok(())
    })
}

/// The client's current user access token and refresh token, to persist between runs (Twitch
/// may hand out a new refresh token at each refresh). `TD_NOT_AVAILABLE` for app tokens and
/// tokens given with `td_client_config_set_access_token`.
///
/// Writes `*token_out` on success; free it with `td_oauth_token_free`.
///
/// # Safety
/// `client` is live; `token_out` writable.
#[no_mangle]
pub unsafe extern "C" fn td_client_user_token(
    client: *const td_client,
    token_out: *mut *mut td_oauth_token,
) -> td_result {
    guard_code(|| {
        let client = arg_ref(client, "client")?;
        let out = out_ptr(token_out, "token_out")?;
        let token = client.inner.shared.session.user_token().ok_or_else(|| {
            Failure::new(td_result::TD_NOT_AVAILABLE, "the client has no user token")
        })?;
        out.write(into_handle(td_oauth_token::new(token)));
        Ok(())
    })
}

// The thread-safety the documentation promises: clients and results are shared; operations,
// iterators, journals and options move between threads.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    fn movable<T: Send>() {}
    shared::<td_client>();
    movable::<crate::op::td_op>();
    movable::<td_pages>();
    movable::<crate::journal::td_journal>();
    movable::<crate::fulfill::td_fulfill_options>();
    shared::<crate::fulfill::td_fulfill_report>();
    shared::<crate::eventsub::td_eventsub_message>();
    movable::<crate::eventsub::td_deduplicator>();
};
