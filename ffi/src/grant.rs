//! The grant callback: the one thing a studio supplies to the fulfillment engine. The
//! request C reads, the outcome it answers, and the adapter that makes a C function the
//! core's `Grant`.

use std::ffi::{c_char, c_void};

use twitch_drops::{Grant, GrantOutcome, GrantRequest};

use crate::boundary::{arg_mut, arg_str, guard_code, td_str, CText, UserData};
use crate::result::td_result;

/// What a grant callback answers (returned as `uint32_t`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum td_grant_outcome {
    /// The reward is in the game: the entitlement is marked FULFILLED.
    TD_GRANT_GRANTED = 1,
    /// Not now (the game's service is down...): it stays CLAIMED for a later run.
    TD_GRANT_RETRY_LATER = 2,
    /// Not in this run (the viewer never linked an account...): it stays CLAIMED, and the
    /// reason given with `td_grant_reason_set` is reported.
    TD_GRANT_FAILED = 3,
}

/// One entitlement to grant: give `benefit_id` to `user_id` in your game.
///
/// Borrowed: valid only during the grant callback (copy what you keep). Every view is
/// NUL-terminated.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct td_grant_request {
    /// The entitlement's id: the key to record the grant under in your own records.
    pub id: td_str,
    /// The reward to give.
    pub benefit_id: td_str,
    /// The viewer to give it to.
    pub user_id: td_str,
    /// The game it belongs to.
    pub game_id: td_str,
    /// When the viewer earned it (RFC 3339); `""` for a grant resumed from the journal.
    pub timestamp: td_str,
    /// True when an earlier run called the grant callback for this entitlement and was
    /// interrupted (a crash) before it could record the answer: the grant may or may not have
    /// happened. Check your own records by `id` before giving it again, and answer
    /// `TD_GRANT_GRANTED` if it had.
    pub resumed: bool,
}

/// Where a grant callback leaves the reason of a `TD_GRANT_FAILED` answer. Owned by the
/// library, valid only during the callback that received it.
#[derive(Debug, Default)]
pub struct td_grant_reason {
    text: Option<String>,
}

/// Sets (copies) the reason reported for a `TD_GRANT_FAILED` answer (ignored for the others);
/// a later call replaces it.
///
/// # Safety
/// `reason` is the pointer the grant callback received, during the callback; `text` is a C
/// string.
#[no_mangle]
pub unsafe extern "C" fn td_grant_reason_set(
    reason: *mut td_grant_reason,
    text: *const c_char,
) -> td_result {
    guard_code(|| {
        let reason = arg_mut(reason, "reason")?;
        reason.text = Some(arg_str(text, "text")?.to_string());
        Ok(())
    })
}

/// A grant callback: gives the reward of `request` in the game and answers a
/// `td_grant_outcome` (any other value counts as `TD_GRANT_FAILED`). For `TD_GRANT_FAILED`,
/// `td_grant_reason_set(reason, "...")` says why.
///
/// Called for one entitlement at a time, on the thread that called `td_client_fulfill` or
/// `td_client_fulfill_entitlements`; never twice for one entitlement in a run, and across runs
/// with the same journal only with `resumed` set (after a crash) or after answering
/// RETRY_LATER or FAILED. It may
/// call other functions of this library (the client is not locked while it runs), must not
/// keep `request` or `reason` after returning, and must not let C++ exceptions or longjmp
/// cross it.
pub type td_grant_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        request: *const td_grant_request,
        reason: *mut td_grant_reason,
    ) -> u32,
>;

/// A `td_grant_request` with the texts it points into, for as long as it is borrowed.
pub(crate) struct GrantView {
    _texts: [CText; 5],
    view: td_grant_request,
}

impl GrantView {
    /// Boxed so the view's pointers stay put: a `CText`'s heap buffer does not move with it.
    pub(crate) fn new(request: &GrantRequest) -> Box<GrantView> {
        let e = &request.entitlement;
        let texts = [&e.id, &e.benefit_id, &e.user_id, &e.game_id, &e.timestamp]
            .map(|text| CText::new(text.as_str()));
        let view = td_grant_request {
            id: texts[0].view(),
            benefit_id: texts[1].view(),
            user_id: texts[2].view(),
            game_id: texts[3].view(),
            timestamp: texts[4].view(),
            resumed: request.resumed,
        };
        Box::new(GrantView {
            _texts: texts,
            view,
        })
    }

    pub(crate) fn view(&self) -> &td_grant_request {
        &self.view
    }
}

/// The core's outcome for a `td_grant_outcome` value; `None` for any other value.
pub(crate) fn grant_outcome(answer: u32, reason: Option<String>) -> Option<GrantOutcome> {
    match answer {
        1 => Some(GrantOutcome::Granted),
        2 => Some(GrantOutcome::RetryLater),
        3 => Some(GrantOutcome::Failed(reason.unwrap_or_default())),
        _ => None,
    }
}

/// A C grant callback as the core's `Grant`.
pub(crate) struct CGrant {
    pub(crate) grant:
        unsafe extern "C" fn(*mut c_void, *const td_grant_request, *mut td_grant_reason) -> u32,
    pub(crate) user_data: UserData,
}

impl Grant for CGrant {
    fn grant(&mut self, request: &GrantRequest) -> GrantOutcome {
        let view = GrantView::new(request);
        let mut reason = td_grant_reason::default();
        // SAFETY: a valid function (checked non-NULL); `user_data` is the caller's promise;
        // `view`, the texts it points into and `reason` outlive the call.
        let answer = unsafe { (self.grant)(self.user_data.0, view.view(), &mut reason) };
        grant_outcome(answer, reason.text).unwrap_or_else(|| {
            GrantOutcome::Failed(format!(
                "the grant callback answered {answer}, not a td_grant_outcome"
            ))
        })
    }
}
