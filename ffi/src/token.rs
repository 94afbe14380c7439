//! Tokens through C: what validation says about a token, a pending device-code login, and a
//! user token to persist.

use twitch_drops::{DeviceCode, OAuthToken, TokenInfo};

use crate::boundary::{
    arg_ref, free_handle, guard_code, guard_value, out_ptr, td_str, view_opt, CText, Outcome,
};
use crate::result::td_result;
use crate::update::out_of_range;

/// A list of scopes, NUL-terminated for views.
fn scopes(list: &[String]) -> Vec<CText> {
    list.iter().cloned().map(CText::new).collect()
}

/// The scope at `index` of `list`, written to `scope_out`.
///
fn scope_at(list: &[CText], index: usize, scope_out: *mut td_str) -> Outcome {
    let out = out_ptr(scope_out, "scope_out")?;
    let scope = list
        .get(index)
        .ok_or_else(|| out_of_range(index, list.len()))?;
    out.write(scope.view());
    Ok(())
}

/// What Twitch says about a token (`td_client_validate_token`). Owned by the caller
/// (`td_token_info_free`); read-only.
#[derive(Debug)]
pub struct td_token_info {
    client_id: CText,
    login: Option<CText>,
    user_id: Option<CText>,
    scopes: Vec<CText>,
    expires_in: u64,
}

impl td_token_info {
    pub(crate) fn new(info: TokenInfo) -> td_token_info {
        td_token_info {
            client_id: CText::new(info.client_id),
            login: info.login.map(CText::new),
            user_id: info.user_id.map(CText::new),
            scopes: scopes(&info.scopes),
            expires_in: info.expires_in,
        }
    }
}

/// Frees token information; NULL is a no-op.
///
/// # Safety
/// `info` is NULL or from this library, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_token_info_free(info: *mut td_token_info) {
    guard_value((), || free_handle(info))
}

/// The client id the token belongs to. Views from `td_token_info_*` are valid until the
/// info is freed; `""` for NULL.
///
/// # Safety
/// `info` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_token_info_client_id(info: *const td_token_info) -> td_str {
    guard_value(td_str::empty(), || {
        info.as_ref()
            .map_or(td_str::empty(), |i| i.client_id.view())
    })
}

/// The user's login; `""` for app tokens.
///
/// # Safety
/// `info` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_token_info_login(info: *const td_token_info) -> td_str {
    guard_value(td_str::empty(), || {
        info.as_ref()
            .map_or(td_str::empty(), |i| view_opt(&i.login))
    })
}

/// The user's id; `""` for app tokens.
///
/// # Safety
/// `info` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_token_info_user_id(info: *const td_token_info) -> td_str {
    guard_value(td_str::empty(), || {
        info.as_ref()
            .map_or(td_str::empty(), |i| view_opt(&i.user_id))
    })
}

/// Seconds until the token expires (0 for NULL).
///
/// # Safety
/// `info` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_token_info_expires_in(info: *const td_token_info) -> u64 {
    guard_value(0, || info.as_ref().map_or(0, |i| i.expires_in))
}

/// How many scopes the token has (0 for NULL).
///
/// # Safety
/// `info` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_token_info_scope_count(info: *const td_token_info) -> usize {
    guard_value(0, || info.as_ref().map_or(0, |i| i.scopes.len()))
}

/// The scope at `index`; writes `*scope_out` on success.
///
/// # Safety
/// `info` is live; `scope_out` writable.
#[no_mangle]
pub unsafe extern "C" fn td_token_info_scope(
    info: *const td_token_info,
    index: usize,
    scope_out: *mut td_str,
) -> td_result {
    guard_code(|| scope_at(&arg_ref(info, "info")?.scopes, index, scope_out))
}

/// A pending device-code login: show the user code and the verification URI to the user,
/// then finish it with `td_client_finish_device_flow` (or `td_client_begin_finish_device_flow`).
/// Holds the device code itself (a secret, never exposed). Owned by the caller
/// (`td_device_code_free`); read-only.
#[derive(Debug)]
pub struct td_device_code {
    pub(crate) code: DeviceCode,
    user_code: CText,
    verification_uri: CText,
}

impl td_device_code {
    pub(crate) fn new(code: DeviceCode) -> td_device_code {
        td_device_code {
            user_code: CText::new(code.user_code.clone()),
            verification_uri: CText::new(code.verification_uri.clone()),
            code,
        }
    }
}

/// Frees a device code; NULL is a no-op.
///
/// # Safety
/// `code` is NULL or from this library, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_device_code_free(code: *mut td_device_code) {
    guard_value((), || free_handle(code))
}

/// The code the user types. Valid until the code is freed; `""` for NULL.
///
/// # Safety
/// `code` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_device_code_user_code(code: *const td_device_code) -> td_str {
    guard_value(td_str::empty(), || {
        code.as_ref()
            .map_or(td_str::empty(), |c| c.user_code.view())
    })
}

/// Where the user types it. Valid until the code is freed; `""` for NULL.
///
/// # Safety
/// `code` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_device_code_verification_uri(code: *const td_device_code) -> td_str {
    guard_value(td_str::empty(), || {
        code.as_ref()
            .map_or(td_str::empty(), |c| c.verification_uri.view())
    })
}

/// Seconds the code stays valid (0 for NULL).
///
/// # Safety
/// `code` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_device_code_expires_in(code: *const td_device_code) -> u64 {
    guard_value(0, || code.as_ref().map_or(0, |c| c.code.expires_in))
}

/// Seconds between polls (0 for NULL).
///
/// # Safety
/// `code` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_device_code_interval(code: *const td_device_code) -> u64 {
    guard_value(0, || code.as_ref().map_or(0, |c| c.code.interval))
}

/// A user access token and refresh token, to persist between runs and give back with
/// `td_client_config_set_user_token`. Its views are credentials: store them safely, never
/// log them. Owned by the caller (`td_oauth_token_free`); read-only.
#[derive(Debug)]
pub struct td_oauth_token {
    access_token: CText,
    refresh_token: Option<CText>,
    expires_in: Option<u64>,
    scopes: Vec<CText>,
}

impl td_oauth_token {
    pub(crate) fn new(token: OAuthToken) -> td_oauth_token {
        td_oauth_token {
            access_token: CText::new(token.access_token.expose()),
            refresh_token: token.refresh_token.map(|t| CText::new(t.expose())),
            expires_in: token.expires_in,
            scopes: scopes(&token.scopes),
        }
    }
}

impl Drop for td_oauth_token {
    fn drop(&mut self) {
        // Credentials: do not leave them in freed memory.
        for text in std::iter::once(&mut self.access_token).chain(self.refresh_token.as_mut()) {
            text.wipe();
        }
    }
}

/// Frees a token (its memory is wiped); NULL is a no-op.
///
/// # Safety
/// `token` is NULL or from this library, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_oauth_token_free(token: *mut td_oauth_token) {
    guard_value((), || free_handle(token))
}

/// The access token (a credential). Valid until the token is freed; `""` for NULL.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_oauth_token_access_token(token: *const td_oauth_token) -> td_str {
    guard_value(td_str::empty(), || {
        token
            .as_ref()
            .map_or(td_str::empty(), |t| t.access_token.view())
    })
}

/// The refresh token (a credential); `""` when there is none.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_oauth_token_refresh_token(token: *const td_oauth_token) -> td_str {
    guard_value(td_str::empty(), || {
        token
            .as_ref()
            .map_or(td_str::empty(), |t| view_opt(&t.refresh_token))
    })
}

/// Seconds until the access token expires, as Twitch said when it was issued; 0 when unknown.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_oauth_token_expires_in(token: *const td_oauth_token) -> u64 {
    guard_value(0, || token.as_ref().and_then(|t| t.expires_in).unwrap_or(0))
}

/// How many scopes the token has (0 for NULL).
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_oauth_token_scope_count(token: *const td_oauth_token) -> usize {
    guard_value(0, || token.as_ref().map_or(0, |t| t.scopes.len()))
}

/// The scope at `index`; writes `*scope_out` on success.
///
/// # Safety
/// `token` is live; `scope_out` writable.
#[no_mangle]
pub unsafe extern "C" fn td_oauth_token_scope(
    token: *const td_oauth_token,
    index: usize,
    scope_out: *mut td_str,
) -> td_result {
    guard_code(|| scope_at(&arg_ref(token, "token")?.scopes, index, scope_out))
}
