//! Entitlements through C: the query, pages and their entitlements, and the pages iterator
//! (blocking, or one step operation per page).

use std::ffi::c_char;
use std::sync::Arc;

use twitch_drops::{
    Entitlement, EntitlementPages, EntitlementsPage, EntitlementsQuery, FulfillmentStatus,
};

use crate::boundary::{
    arg_mut, arg_ref, arg_str, free_handle, guard, guard_code, guard_value, into_handle, out_ptr,
    td_str, view_opt, CText, Failure, Outcome,
};
use crate::client::ClientInner;
use crate::error::td_error;
use crate::op::{td_op, OpValue};
use crate::result::td_result;

/// Where an entitlement stands. As a filter, `TD_ANY_STATUS` means no filter.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum td_fulfillment_status {
    /// No filter (queries only).
    TD_ANY_STATUS = 0,
    /// Earned by the viewer, not yet delivered by the game.
    TD_CLAIMED = 1,
    /// Delivered by the game.
    TD_FULFILLED = 2,
}

impl td_fulfillment_status {
    pub(crate) fn of(status: FulfillmentStatus) -> td_fulfillment_status {
        match status {
            FulfillmentStatus::Claimed => td_fulfillment_status::TD_CLAIMED,
            FulfillmentStatus::Fulfilled => td_fulfillment_status::TD_FULFILLED,
        }
    }
}

/// Reads a status C passed in: `TD_CLAIMED` or `TD_FULFILLED`.
pub(crate) fn fulfillment_status(value: u32) -> Outcome<FulfillmentStatus> {
    match value {
        1 => Ok(FulfillmentStatus::Claimed),
        2 => Ok(FulfillmentStatus::Fulfilled),
        _ => Err(Failure::invalid(format!(
            "`status` {value} is not TD_CLAIMED (1) or TD_FULFILLED (2)"
        ))),
    }
}

/// Filters for listing entitlements: ids (repeatable, at most 100), user, game, status, page
/// size (`first`, 1-1000) and cursor (`after`). Limits are checked when the query is used
/// (`TD_INVALID_INPUT`, nothing sent). Setters copy their arguments.
///
/// Thread safety: not synchronized; one thread at a time. Calls that use it only read it.
#[derive(Debug, Default)]
pub struct td_entitlements_query {
    pub(crate) query: EntitlementsQuery,
}

/// A query with no filter. Free it with `td_entitlements_query_free`. NULL only on an
/// internal failure.
#[no_mangle]
pub extern "C" fn td_entitlements_query_new() -> *mut td_entitlements_query {
    guard_value(std::ptr::null_mut(), || {
        into_handle(td_entitlements_query::default())
    })
}

/// Frees a query; NULL is a no-op.
///
/// # Safety
/// `query` is NULL or from `td_entitlements_query_new`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_entitlements_query_free(query: *mut td_entitlements_query) {
    guard_value((), || free_handle(query))
}

fn with_query(
    query: *mut td_entitlements_query,
    body: impl FnOnce(&mut EntitlementsQuery) -> Outcome,
) -> td_result {
    // SAFETY: documented on each setter: NULL or a live query used by one thread.
    guard_code(|| body(&mut unsafe { arg_mut(query, "query")? }.query))
}

/// Adds an entitlement id to filter by (repeatable).
///
/// # Safety
/// `query` is live; `id` a C string.
#[no_mangle]
pub unsafe extern "C" fn td_entitlements_query_add_id(
    query: *mut td_entitlements_query,
    id: *const c_char,
) -> td_result {
    with_query(query, |q| {
        q.ids.push(arg_str(id, "id")?.to_string());
        Ok(())
    })
}

/// Only this viewer's entitlements (NULL clears the filter). With a user token, only the
/// token's own user is allowed.
///
/// # Safety
/// `query` is live; `user_id` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn td_entitlements_query_set_user_id(
    query: *mut td_entitlements_query,
    user_id: *const c_char,
) -> td_result {
    with_query(query, |q| {
        q.user_id = opt_string(user_id, "user_id")?;
        Ok(())
    })
}

/// Only this game's entitlements (NULL clears the filter).
///
/// # Safety
/// `query` is live; `game_id` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn td_entitlements_query_set_game_id(
    query: *mut td_entitlements_query,
    game_id: *const c_char,
) -> td_result {
    with_query(query, |q| {
        q.game_id = opt_string(game_id, "game_id")?;
        Ok(())
    })
}

/// Only entitlements in `status` (a `td_fulfillment_status`; `TD_ANY_STATUS` clears it).
///
/// # Safety
/// `query` is live.
#[no_mangle]
pub unsafe extern "C" fn td_entitlements_query_set_status(
    query: *mut td_entitlements_query,
    status: u32,
) -> td_result {
    with_query(query, |q| {
        q.status = match status {
            0 => None,
            other => Some(fulfillment_status(other)?),
        };
        Ok(())
    })
}

/// Page size, 1-1000 (Twitch's default is 20). Checked when the query is used: 0 or more than
/// 1000 is `TD_INVALID_INPUT` then.
///
/// # Safety
/// `query` is live.
#[no_mangle]
pub unsafe extern "C" fn td_entitlements_query_set_first(
    query: *mut td_entitlements_query,
    first: u32,
) -> td_result {
    with_query(query, |q| {
        q.first = Some(first);
        Ok(())
    })
}

/// Starts after this cursor (a page's `td_entitlements_page_cursor`; NULL clears it).
///
/// # Safety
/// `query` is live; `cursor` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn td_entitlements_query_set_after(
    query: *mut td_entitlements_query,
    cursor: *const c_char,
) -> td_result {
    with_query(query, |q| {
        q.after = opt_string(cursor, "cursor")?;
        Ok(())
    })
}

/// An optional string argument, owned.
///
/// # Safety
/// `ptr` is NULL or a C string.
pub(crate) unsafe fn opt_string(ptr: *const c_char, name: &str) -> Outcome<Option<String>> {
    Ok(crate::boundary::arg_opt_str(ptr, name)?.map(str::to_string))
}

/// A reward a viewer earned: grant `benefit_id` to `user_id`, then mark it FULFILLED.
/// Borrowed from its page (or EventSub message): valid until that is freed. Read-only: any
/// thread may read it.
#[derive(Debug)]
pub struct td_entitlement {
    id: CText,
    benefit_id: CText,
    timestamp: CText,
    user_id: CText,
    game_id: CText,
    last_updated: CText,
    status: td_fulfillment_status,
}

impl td_entitlement {
    pub(crate) fn new(e: Entitlement) -> td_entitlement {
        td_entitlement {
            id: CText::new(e.id),
            benefit_id: CText::new(e.benefit_id),
            timestamp: CText::new(e.timestamp),
            user_id: CText::new(e.user_id),
            game_id: CText::new(e.game_id),
            last_updated: CText::new(e.last_updated),
            status: td_fulfillment_status::of(e.fulfillment_status),
        }
    }

    /// The core's entitlement this one shows.
    pub(crate) fn to_core(&self) -> Entitlement {
        Entitlement {
            id: self.id.as_str().into(),
            benefit_id: self.benefit_id.as_str().into(),
            timestamp: self.timestamp.as_str().into(),
            user_id: self.user_id.as_str().into(),
            game_id: self.game_id.as_str().into(),
            fulfillment_status: match self.status {
                td_fulfillment_status::TD_FULFILLED => FulfillmentStatus::Fulfilled,
                _ => FulfillmentStatus::Claimed,
            },
            last_updated: self.last_updated.as_str().into(),
        }
    }
}

/// One page of entitlements and the cursor of the next. Owned by the caller (free with
/// `td_entitlements_page_free`); read-only, so any number of threads may read it.
#[derive(Debug)]
pub struct td_entitlements_page {
    entitlements: Vec<td_entitlement>,
    cursor: Option<CText>,
}

impl td_entitlements_page {
    pub(crate) fn new(page: EntitlementsPage) -> td_entitlements_page {
        td_entitlements_page {
            entitlements: page
                .entitlements
                .into_iter()
                .map(td_entitlement::new)
                .collect(),
            cursor: page.cursor.map(CText::new),
        }
    }

    fn core_cursor(&self) -> EntitlementsPage {
        EntitlementsPage {
            entitlements: Vec::new(),
            cursor: self.cursor.as_ref().map(|c| c.as_str().to_string()),
        }
    }
}

/// Frees a page and its entitlements; NULL is a no-op.
///
/// # Safety
/// `page` is NULL or a page from this library, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_entitlements_page_free(page: *mut td_entitlements_page) {
    guard_value((), || free_handle(page))
}

/// How many entitlements the page holds (0 for NULL).
///
/// # Safety
/// `page` is NULL or a live page.
#[no_mangle]
pub unsafe extern "C" fn td_entitlements_page_count(page: *const td_entitlements_page) -> usize {
    guard_value(0, || page.as_ref().map_or(0, |p| p.entitlements.len()))
}

/// The entitlement at `index` (0-based), borrowed until the page is freed; NULL when `index`
/// is out of range or `page` is NULL.
///
/// # Safety
/// `page` is NULL or a live page.
#[no_mangle]
pub unsafe extern "C" fn td_entitlements_page_get(
    page: *const td_entitlements_page,
    index: usize,
) -> *const td_entitlement {
    guard_value(std::ptr::null(), || {
        page.as_ref()
            .and_then(|p| p.entitlements.get(index))
            .map_or(std::ptr::null(), |e| e as *const td_entitlement)
    })
}

/// The cursor of the next page, or `""` on the last page. Valid until the page is freed.
///
/// # Safety
/// `page` is NULL or a live page.
#[no_mangle]
pub unsafe extern "C" fn td_entitlements_page_cursor(page: *const td_entitlements_page) -> td_str {
    guard_value(td_str::empty(), || {
        page.as_ref()
            .map_or(td_str::empty(), |p| view_opt(&p.cursor))
    })
}

/// The entitlement's id (what `td_client_update_entitlements` takes).
///
/// Valid until the entitlement's page is freed; `""` for NULL.
///
/// # Safety
/// `entitlement` is NULL or from a live page.
#[no_mangle]
pub unsafe extern "C" fn td_entitlement_id(entitlement: *const td_entitlement) -> td_str {
    text(entitlement, |x| &x.id)
}
/// The reward (the Drop's benefit) to grant.
///
/// Valid until the entitlement's page is freed; `""` for NULL.
///
/// # Safety
/// `entitlement` is NULL or from a live page.
#[no_mangle]
pub unsafe extern "C" fn td_entitlement_benefit_id(entitlement: *const td_entitlement) -> td_str {
    text(entitlement, |x| &x.benefit_id)
}
/// When the viewer earned it (RFC 3339).
///
/// Valid until the entitlement's page is freed; `""` for NULL.
///
/// # Safety
/// `entitlement` is NULL or from a live page.
#[no_mangle]
pub unsafe extern "C" fn td_entitlement_timestamp(entitlement: *const td_entitlement) -> td_str {
    text(entitlement, |x| &x.timestamp)
}
/// The viewer to grant it to.
///
/// Valid until the entitlement's page is freed; `""` for NULL.
///
/// # Safety
/// `entitlement` is NULL or from a live page.
#[no_mangle]
pub unsafe extern "C" fn td_entitlement_user_id(entitlement: *const td_entitlement) -> td_str {
    text(entitlement, |x| &x.user_id)
}
/// The game it belongs to.
///
/// Valid until the entitlement's page is freed; `""` for NULL.
///
/// # Safety
/// `entitlement` is NULL or from a live page.
#[no_mangle]
pub unsafe extern "C" fn td_entitlement_game_id(entitlement: *const td_entitlement) -> td_str {
    text(entitlement, |x| &x.game_id)
}
/// When its status last changed (RFC 3339).
///
/// Valid until the entitlement's page is freed; `""` for NULL.
///
/// # Safety
/// `entitlement` is NULL or from a live page.
#[no_mangle]
pub unsafe extern "C" fn td_entitlement_last_updated(entitlement: *const td_entitlement) -> td_str {
    text(entitlement, |x| &x.last_updated)
}

/// The entitlement's status: `TD_CLAIMED` or `TD_FULFILLED` (`TD_ANY_STATUS` for NULL).
///
/// # Safety
/// `entitlement` is NULL or from a live page.
#[no_mangle]
pub unsafe extern "C" fn td_entitlement_status(
    entitlement: *const td_entitlement,
) -> td_fulfillment_status {
    guard_value(td_fulfillment_status::TD_ANY_STATUS, || {
        entitlement
            .as_ref()
            .map_or(td_fulfillment_status::TD_ANY_STATUS, |e| e.status)
    })
}

/// Every page of a query, one request per page, until the last page or the first error.
/// Made by `td_client_entitlement_pages`; free with `td_pages_free`. Keeps its client alive.
///
/// Drive it either blocking (`td_pages_next`) or with the step API (`td_pages_begin_next`,
/// then `td_pages_advance` with the page the operation produced).
///
/// Thread safety: one thread at a time (it may be moved between threads).
pub struct td_pages {
    client: Arc<ClientInner>,
    pages: EntitlementPages,
    /// An error to report after the page that revealed it (a cursor that did not move).
    pending_error: Option<twitch_drops::Error>,
    /// A step operation for the next page is out and not yet advanced past.
    stepping: bool,
    /// The cursor the next page starts after, NUL-terminated for `td_pages_cursor`.
    cursor: Option<CText>,
}

impl td_pages {
    pub(crate) fn new(client: Arc<ClientInner>, query: EntitlementsQuery) -> Outcome<td_pages> {
        let cursor = query.after.clone().map(CText::new);
        Ok(td_pages {
            client,
            pages: EntitlementPages::new(query)?,
            pending_error: None,
            stepping: false,
            cursor,
        })
    }

    /// Records a page; a cursor that did not move is an error.
    fn advance(&mut self, page: &EntitlementsPage) -> Result<(), twitch_drops::Error> {
        let result = self.pages.advance(page);
        self.cursor = self.pages.cursor().map(CText::new);
        result
    }
}

/// Frees a pages iterator; NULL is a no-op. Pages it returned stay valid.
///
/// # Safety
/// `pages` is NULL or from `td_client_entitlement_pages`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_pages_free(pages: *mut td_pages) {
    guard_value((), || free_handle(pages))
}

/// The next page (blocking): `TD_OK` with `*page_out` set (free it with
/// `td_entitlements_page_free`), `TD_END` after the last page, or a failure, after which the
/// iteration is over (`TD_END`).
///
/// ```c
/// while ((r = td_pages_next(pages, &page, err)) == TD_OK) { ...; td_entitlements_page_free(page); }
/// if (r != TD_END) { /* failed: see err */ }
/// ```
///
/// # Safety
/// `pages` is live; `page_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_pages_next(
    pages: *mut td_pages,
    page_out: *mut *mut td_entitlements_page,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let pages = arg_mut(pages, "pages")?;
        let out = out_ptr(page_out, "page_out")?;
        if pages.stepping {
            return Err(Failure::wrong_state(
                "a step operation for the next page is out: finish it and call \
                 td_pages_advance first",
            ));
        }
        if let Some(e) = pages.pending_error.take() {
            pages.pages.finish();
            return Err(e.into());
        }
        let Some(op) = next_request(pages)? else {
            return Err(end());
        };
        match pages.client.run(op) {
            Ok(page) => {
                pages.pending_error = pages.advance(&page).err();
                out.write(into_handle(td_entitlements_page::new(page)));
                Ok(())
            }
            Err(e) => {
                pages.pages.finish();
                Err(e)
            }
        }
    })
}

fn next_request(
    pages: &mut td_pages,
) -> Outcome<Option<twitch_drops::SingleRequest<EntitlementsPage>>> {
    match pages.pages.next_request(&pages.client.shared.config) {
        Ok(op) => Ok(op),
        Err(e) => {
            pages.pages.finish();
            Err(e.into())
        }
    }
}

fn end() -> Failure {
    Failure::new(td_result::TD_END, "no more pages")
}

/// Step API: an operation that fetches the next page (`TD_END` after the last page). Drive it
/// with `td_op_poll`; take the page with `td_op_take_entitlements_page`, then pass it to
/// `td_pages_advance` before asking for the next one.
///
/// Writes `*op_out` on success; free it with `td_op_free`.
///
/// # Safety
/// `pages` is live; `op_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_pages_begin_next(
    pages: *mut td_pages,
    op_out: *mut *mut td_op,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let pages = arg_mut(pages, "pages")?;
        let out = out_ptr(op_out, "op_out")?;
        if pages.stepping {
            return Err(Failure::wrong_state(
                "an operation for the next page is already out: pass its page to \
                 td_pages_advance first",
            ));
        }
        if let Some(e) = pages.pending_error.take() {
            pages.pages.finish();
            return Err(e.into());
        }
        let Some(op) = next_request(pages)? else {
            return Err(end());
        };
        pages.stepping = true;
        let shared = Arc::clone(&pages.client.shared);
        out.write(into_handle(td_op::new(shared, op, OpValue::Page)));
        Ok(())
    })
}

/// Step API: records the page an operation from `td_pages_begin_next` produced, so that the
/// next `td_pages_begin_next` asks for the page after it. A cursor that did not move is
/// `TD_DECODE` (the iteration ends). To give up after a failed operation, free the iterator.
///
/// # Safety
/// `pages` and `page` are live; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_pages_advance(
    pages: *mut td_pages,
    page: *const td_entitlements_page,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let pages = arg_mut(pages, "pages")?;
        let page = arg_ref(page, "page")?;
        if !pages.stepping {
            return Err(Failure::wrong_state(
                "no operation from td_pages_begin_next is out",
            ));
        }
        pages.stepping = false;
        pages.advance(&page.core_cursor()).map_err(|e| {
            pages.pages.finish();
            Failure::from(e)
        })
    })
}

/// The cursor the next page starts after (`""` before the first page of a query without
/// `after`), to resume paging later. Valid until the next call on `pages`.
///
/// # Safety
/// `pages` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_pages_cursor(pages: *const td_pages) -> td_str {
    guard_value(td_str::empty(), || {
        pages
            .as_ref()
            .map_or(td_str::empty(), |p| view_opt(&p.cursor))
    })
}

/// A text field of a possibly NULL handle.
fn text<T>(handle: *const T, field: impl FnOnce(&T) -> &CText) -> td_str {
    // SAFETY: the callers' contract: NULL or a live handle.
    guard_value(td_str::empty(), || {
        unsafe { handle.as_ref() }.map_or(td_str::empty(), |h| field(h).view())
    })
}
