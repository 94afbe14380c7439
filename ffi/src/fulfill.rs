//! The fulfillment engine through C, blocking: every CLAIMED entitlement granted once (through
//! the grant callback) and marked FULFILLED, with a journal for crashes. The options, each
//! entitlement's settlement, the run's report, and the two calls that run the core's engine
//! with the client's transport and clock.

use std::ffi::{c_char, c_void};

use twitch_drops::{
    Config, Engine, Entitlement, EntitlementsQuery, FulfillOptions, FulfillReport, SettledState,
    Settlement, StopSignal,
};

use crate::boundary::{
    arg_mut, arg_ref, free_handle, guard, guard_code, guard_value, into_handle, out_ptr, td_str,
    CText, Detail, Failure, OutPtr, Outcome, UserData,
};
use crate::client::td_client;
use crate::entitlements::{opt_string, td_entitlement};
use crate::error::td_error;
use crate::grant::{td_grant_fn, CGrant};
use crate::journal::td_journal;
use crate::result::td_result;
use crate::update::out_of_range;

/// How each entitlement of a run ended.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum td_settled_state {
    /// Granted and marked FULFILLED.
    TD_SETTLED_FULFILLED = 1,
    /// Found FULFILLED already while recovering an interrupted run: granted then, not now.
    TD_SETTLED_ALREADY_FULFILLED = 2,
    /// The grant callback answered RETRY_LATER: left CLAIMED.
    TD_SETTLED_RETRY_LATER = 3,
    /// The grant callback answered FAILED (`detail` is its reason): left CLAIMED.
    TD_SETTLED_GRANT_FAILED = 4,
    /// Granted, but Twitch refused the update for good (`detail`: `INVALID_ID`, `NOT_FOUND`
    /// or `UNAUTHORIZED`).
    TD_SETTLED_REJECTED = 5,
    /// Granted, but Twitch would not confirm FULFILLED: the journal keeps it, and the next
    /// run marks it without granting again.
    TD_SETTLED_UNMARKED = 6,
    /// Not granted: this viewer's updates kept failing, so the run skipped their others.
    TD_SETTLED_QUARANTINED = 7,
    /// Not granted: the run stopped on an error before reaching it. Left CLAIMED.
    TD_SETTLED_NOT_REACHED = 8,
    /// Not granted here: another instance sharing the journal holds its claim.
    TD_SETTLED_HELD_ELSEWHERE = 9,
}

/// One entitlement's final state in a run. Borrowed: valid only during the settlement
/// callback.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct td_settlement {
    /// The entitlement's id.
    pub id: td_str,
    /// Its viewer.
    pub user_id: td_str,
    /// How it ended.
    pub state: td_settled_state,
    /// `TD_SETTLED_GRANT_FAILED`: the grant callback's reason; `TD_SETTLED_REJECTED`: Twitch's
    /// status for it; `""` otherwise.
    pub detail: td_str,
}

/// A settlement callback: hears each entitlement's final state as the run settles it (to log
/// it, or to tell the viewer). Called on the thread running the fulfillment, between other
/// callbacks; must not keep `settlement` or let C++ exceptions or longjmp cross it.
pub type td_settled_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, settlement: *const td_settlement)>;

/// Which entitlements a run fulfills and how: the game (and optionally the viewer) whose
/// CLAIMED entitlements are listed, how patient to be with failing viewers, and an optional
/// settlement callback. Setters copy their arguments.
///
/// Made by `td_fulfill_options_new`, freed by `td_fulfill_options_free`. Thread safety: one
/// thread at a time; the calls that use it only read it.
#[derive(Debug)]
pub struct td_fulfill_options {
    pub(crate) options: FulfillOptions,
    pub(crate) on_settled: Option<OnSettled>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct OnSettled {
    callback: unsafe extern "C" fn(*mut c_void, *const td_settlement),
    user_data: UserData,
}

impl Default for td_fulfill_options {
    fn default() -> Self {
        td_fulfill_options {
            options: FulfillOptions::new(EntitlementsQuery::new()),
            on_settled: None,
        }
    }
}

/// Options with no filter, `quarantine_after` 1 and no settlement callback. Free with
/// `td_fulfill_options_free`; NULL only on an internal failure.
#[no_mangle]
pub extern "C" fn td_fulfill_options_new() -> *mut td_fulfill_options {
    guard_value(std::ptr::null_mut(), || {
        into_handle(td_fulfill_options::default())
    })
}

/// Frees options; NULL is a no-op.
///
/// # Safety
/// `options` is NULL or from `td_fulfill_options_new`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_options_free(options: *mut td_fulfill_options) {
    guard_value((), || free_handle(options))
}

fn with_options(
    options: *mut td_fulfill_options,
    body: impl FnOnce(&mut td_fulfill_options) -> Outcome,
) -> td_result {
    // SAFETY: documented on each setter: NULL or live options used by one thread.
    guard_code(|| body(unsafe { arg_mut(options, "options")? }))
}

/// Fulfills only this game's entitlements (NULL clears the filter). `td_client_fulfill`
/// lists CLAIMED entitlements matching the filters; `td_client_fulfill_entitlements` does not
/// read them.
///
/// # Safety
/// `options` is live; `game_id` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_options_set_game_id(
    options: *mut td_fulfill_options,
    game_id: *const c_char,
) -> td_result {
    with_options(options, |o| {
        o.options.query.game_id = opt_string(game_id, "game_id")?;
        Ok(())
    })
}

/// Fulfills only this viewer's entitlements (NULL clears the filter), like
/// `td_fulfill_options_set_game_id`.
///
/// # Safety
/// `options` is live; `user_id` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_options_set_user_id(
    options: *mut td_fulfill_options,
    user_id: *const c_char,
) -> td_result {
    with_options(options, |o| {
        o.options.query.user_id = opt_string(user_id, "user_id")?;
        Ok(())
    })
}

/// Entitlements a run lists per page, 1 to 1000 (default 1000; 0 goes back to it): smaller
/// pages keep each step of a `td_fulfill_run` short (reading a page of 1000 is one step, a
/// game loop may want a page per frame), at the cost of more requests. Another number fails
/// the run with `TD_INVALID_INPUT` before anything is sent.
///
/// # Safety
/// `options` is live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_options_set_page_size(
    options: *mut td_fulfill_options,
    page_size: u32,
) -> td_result {
    with_options(options, |o| {
        o.options.query.first = (page_size != 0).then_some(page_size);
        Ok(())
    })
}

/// Unconfirmed updates of one viewer after which the run skips that viewer's other
/// entitlements (`TD_SETTLED_QUARANTINED`); 0 counts as 1, the default.
///
/// # Safety
/// `options` is live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_options_set_quarantine_after(
    options: *mut td_fulfill_options,
    updates: u32,
) -> td_result {
    with_options(options, |o| {
        o.options.quarantine_after = updates;
        Ok(())
    })
}

/// Requests to Twitch a run keeps out at once, 1 to 16 (default 4): the next page while
/// this one is granted, PATCHes side by side. Used when the client has the built-in
/// transport and clock (requests that take over 2 ms then run on the library's own threads;
/// faster ones go out from the calling thread between grants, which costs less than a
/// thread switch); a client with a host transport or clock callback runs one step at a time
/// on the calling thread. 1 takes one step at a time. Another number fails the run with `TD_INVALID_INPUT` before anything
/// is sent.
///
/// # Safety
/// `options` is live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_options_set_requests_in_flight(
    options: *mut td_fulfill_options,
    requests: u32,
) -> td_result {
    with_options(options, |o| {
        o.options.requests_in_flight = requests as usize;
        Ok(())
    })
}

/// Grants a run hands out at once, 1 to 100 (default 1): claimed in the journal together,
/// given to the grant callback one after another (`td_client_fulfill`) or to the host side
/// by side (`td_fulfill_run`), and their answers journaled together with the next claim.
/// After a crash only these can be in doubt (granted again with `resumed` set); more means
/// fewer journal writes. Another number fails the run with `TD_INVALID_INPUT` before
/// anything is sent.
///
/// # Safety
/// `options` is live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_options_set_grants_in_flight(
    options: *mut td_fulfill_options,
    grants: u32,
) -> td_result {
    with_options(options, |o| {
        o.options.grants_in_flight = grants as usize;
        Ok(())
    })
}

/// A graceful stop for fulfillment runs, raised from any thread or a signal handler: the
/// runs given it (`td_fulfill_options_set_stop_signal`) start no new grant, let the running
/// ones finish, journal their answers, mark what was granted and end with the report's
/// `td_fulfill_report_interrupted` true. Made by `td_stop_signal_new`, freed by
/// `td_stop_signal_free` (options and runs keep their own reference).
pub struct td_stop_signal {
    signal: StopSignal,
}

/// A stop signal not raised yet (NULL only if out of memory).
#[no_mangle]
pub extern "C" fn td_stop_signal_new() -> *mut td_stop_signal {
    guard_value(std::ptr::null_mut(), || {
        into_handle(td_stop_signal {
            signal: StopSignal::new(),
        })
    })
}

/// Raises the signal: every run holding it stops gracefully. Only an atomic store: safe from
/// any thread and from a signal handler. NULL is a no-op.
///
/// # Safety
/// `signal` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_stop_signal_raise(signal: *const td_stop_signal) {
    if let Some(signal) = signal.as_ref() {
        signal.signal.raise();
    }
}

/// Frees the caller's reference; NULL is a no-op. Runs and options holding it keep theirs.
///
/// # Safety
/// `signal` is NULL or from `td_stop_signal_new`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_stop_signal_free(signal: *mut td_stop_signal) {
    guard_value((), || free_handle(signal))
}

/// Gives runs made with these options the stop signal `signal` (NULL removes it); the
/// options keep their own reference.
///
/// # Safety
/// `options` is live; `signal` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_options_set_stop_signal(
    options: *mut td_fulfill_options,
    signal: *const td_stop_signal,
) -> td_result {
    with_options(options, |o| {
        o.options.stop_signal = signal.as_ref().map(|s| s.signal.clone());
        Ok(())
    })
}

/// Sets the settlement callback (NULL `callback` removes it) and the `user_data` passed to it.
///
/// # Safety
/// `options` is live; `user_data` must stay valid, and usable from the threads that run the
/// fulfillment, while the options are used.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_options_set_on_settled(
    options: *mut td_fulfill_options,
    callback: td_settled_fn,
    user_data: *mut c_void,
) -> td_result {
    with_options(options, |o| {
        o.on_settled = callback.map(|callback| OnSettled {
            callback,
            user_data: UserData(user_data),
        });
        Ok(())
    })
}

/// The totals of a run: every entitlement taken up ends in exactly one of FULFILLED,
/// ALREADY_FULFILLED, RETRY_LATER, GRANT_FAILED, REJECTED, UNMARKED, QUARANTINED and
/// NOT_REACHED (their counts sum to `listed`).
///
/// Owned by the caller (`td_fulfill_report_free`) when a call returned it; borrowed from a
/// `td_error` for a run that stopped early (`td_error_fulfill_report`). Read-only: any thread
/// may read it.
#[derive(Debug)]
pub struct td_fulfill_report {
    report: FulfillReport,
    quarantined_users: Vec<CText>,
}

impl td_fulfill_report {
    pub(crate) fn new(report: FulfillReport) -> td_fulfill_report {
        td_fulfill_report {
            quarantined_users: report
                .quarantined_users
                .iter()
                .map(|u| CText::new(u.as_str()))
                .collect(),
            report,
        }
    }
}

/// Frees a report a call returned; NULL is a no-op. Never free the one a `td_error` lends.
///
/// # Safety
/// `report` is NULL or a report a call returned, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_free(report: *mut td_fulfill_report) {
    guard_value((), || free_handle(report))
}

/// A counter of a possibly NULL report (0 for NULL).
fn counter(report: *const td_fulfill_report, pick: impl FnOnce(&FulfillReport) -> u64) -> u64 {
    // SAFETY: the callers' contract: NULL or a live report.
    guard_value(0, || {
        unsafe { report.as_ref() }.map_or(0, |r| pick(&r.report))
    })
}

/// Distinct CLAIMED entitlements taken up (listed, pushed, or recovered from the journal).
/// 0 for NULL.
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_listed(report: *const td_fulfill_report) -> u64 {
    counter(report, |r| r.listed)
}

/// Grant callbacks that answered `TD_GRANT_GRANTED` (resumed ones included). 0 for NULL.
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_granted(report: *const td_fulfill_report) -> u64 {
    counter(report, |r| r.granted)
}

/// Entitlements granted and marked FULFILLED. 0 for NULL.
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_fulfilled(report: *const td_fulfill_report) -> u64 {
    counter(report, |r| r.fulfilled)
}

/// Entitlements an interrupted run had granted, found FULFILLED already. 0 for NULL.
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_already_fulfilled(
    report: *const td_fulfill_report,
) -> u64 {
    counter(report, |r| r.already_fulfilled)
}

/// Grants answered `TD_GRANT_RETRY_LATER`. 0 for NULL.
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_retry_later(report: *const td_fulfill_report) -> u64 {
    counter(report, |r| r.retry_later)
}

/// Grants answered `TD_GRANT_FAILED`. 0 for NULL.
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_grant_failed(report: *const td_fulfill_report) -> u64 {
    counter(report, |r| r.grant_failed)
}

/// Granted entitlements Twitch refused to mark for good. 0 for NULL.
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_rejected(report: *const td_fulfill_report) -> u64 {
    counter(report, |r| r.rejected)
}

/// Granted entitlements whose FULFILLED status could not be confirmed (the next run marks
/// them without granting again). 0 for NULL.
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_unmarked(report: *const td_fulfill_report) -> u64 {
    counter(report, |r| r.unmarked)
}

/// Entitlements skipped because their viewer was quarantined. 0 for NULL.
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_quarantined(report: *const td_fulfill_report) -> u64 {
    counter(report, |r| r.quarantined)
}

/// Entitlements not granted because the run stopped early. 0 for NULL.
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_not_reached(report: *const td_fulfill_report) -> u64 {
    counter(report, |r| r.not_reached)
}

/// Entitlements left to another instance sharing the journal (it holds their claims): not
/// granted here, and not counted as left. 0 for NULL.
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_held_elsewhere(report: *const td_fulfill_report) -> u64 {
    counter(report, |r| r.held_elsewhere)
}

/// Grant callbacks made with `resumed` set (after a crash left them in doubt). 0 for NULL.
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_resumed(report: *const td_fulfill_report) -> u64 {
    counter(report, |r| r.resumed)
}

/// Entitlements taken up but not FULFILLED by this run (`listed` minus `fulfilled` minus
/// `already_fulfilled`). 0 for NULL.
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_left(report: *const td_fulfill_report) -> u64 {
    counter(report, FulfillReport::left)
}

/// True when the run reached its end and everything taken up is FULFILLED (false for NULL).
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_is_complete(report: *const td_fulfill_report) -> bool {
    guard_value(false, || {
        report.as_ref().is_some_and(|r| r.report.is_complete())
    })
}

/// True when the run was stopped gracefully (`td_stop_signal_raise`,
/// `td_fulfill_run_interrupt`): what was granted is marked, the rest stays CLAIMED for the
/// next run with the same journal (false for NULL).
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_interrupted(report: *const td_fulfill_report) -> bool {
    guard_value(false, || {
        report.as_ref().is_some_and(|r| r.report.interrupted)
    })
}

/// How many viewers the run quarantined (0 for NULL).
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_quarantined_user_count(
    report: *const td_fulfill_report,
) -> usize {
    guard_value(0, || {
        report.as_ref().map_or(0, |r| r.quarantined_users.len())
    })
}

/// The quarantined viewer at `index`, valid until the report is freed. Writes `*user_id_out`
/// on success; `TD_INDEX_OUT_OF_RANGE` past the end.
///
/// # Safety
/// `report` is live; `user_id_out` writable.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_report_quarantined_user(
    report: *const td_fulfill_report,
    index: usize,
    user_id_out: *mut td_str,
) -> td_result {
    guard_code(|| {
        let report = arg_ref(report, "report")?;
        let out = out_ptr(user_id_out, "user_id_out")?;
        let user = report
            .quarantined_users
            .get(index)
            .ok_or_else(|| out_of_range(index, report.quarantined_users.len()))?;
        out.write(user.view());
        Ok(())
    })
}

/// Hands a settlement to a C callback.
pub(crate) fn settle(on_settled: Option<OnSettled>, settlement: &Settlement) {
    let Some(on_settled) = on_settled else { return };
    let (state, detail) = match &settlement.state {
        SettledState::Fulfilled => (td_settled_state::TD_SETTLED_FULFILLED, None),
        SettledState::AlreadyFulfilled => (td_settled_state::TD_SETTLED_ALREADY_FULFILLED, None),
        SettledState::RetryLater => (td_settled_state::TD_SETTLED_RETRY_LATER, None),
        SettledState::GrantFailed(reason) => (
            td_settled_state::TD_SETTLED_GRANT_FAILED,
            Some(CText::new(reason.as_str())),
        ),
        SettledState::Rejected(status) => (
            td_settled_state::TD_SETTLED_REJECTED,
            Some(CText::new(status.as_str())),
        ),
        SettledState::Unmarked => (td_settled_state::TD_SETTLED_UNMARKED, None),
        SettledState::Quarantined => (td_settled_state::TD_SETTLED_QUARANTINED, None),
        SettledState::NotReached => (td_settled_state::TD_SETTLED_NOT_REACHED, None),
        SettledState::HeldElsewhere => (td_settled_state::TD_SETTLED_HELD_ELSEWHERE, None),
    };
    let id = CText::new(settlement.id.as_str());
    let user_id = CText::new(settlement.user_id.as_str());
    let view = td_settlement {
        id: id.view(),
        user_id: user_id.view(),
        state,
        detail: detail.as_ref().map_or_else(td_str::empty, CText::view),
    };
    // SAFETY: a valid function (checked non-NULL when set); `user_data` is the caller's
    // promise; `view` and the texts it points into outlive the call.
    unsafe { (on_settled.callback)(on_settled.user_data.0, &view) };
}

/// Runs `engine` to its end: the callbacks on the calling thread; the requests side by side
/// on the library's threads when the client's I/O is built in, else on the calling thread one
/// step at a time. A run that stopped early is a failure carrying its report.
fn drive(
    client: &td_client,
    engine: Engine,
    on_settled: Option<OnSettled>,
    journal: &mut td_journal,
    grant: CGrant,
    out: OutPtr<*mut td_fulfill_report>,
) -> Outcome {
    let mut grant = grant;
    let core = &client.inner.core;
    let journal = journal.inner.as_mut();
    let on_settled = &mut |settlement: &Settlement| settle(on_settled, settlement);
    let report = if client.inner.built_in_io {
        core.drive_engine_pipelined(engine, journal, &mut grant, on_settled)
    } else {
        core.drive_engine(engine, journal, &mut grant, on_settled)
    };
    report_or_failure(report, out)
}

/// A finished run's report through `out`, or, for a run that stopped early, the failure that
/// carries it.
pub(crate) fn report_or_failure(
    report: FulfillReport,
    out: OutPtr<*mut td_fulfill_report>,
) -> Outcome {
    match &report.error {
        Some(error) => Err(Failure {
            code: td_result::of(error),
            detail: Detail::Stopped(Box::new(report)),
        }),
        None => {
            out.write(into_handle(td_fulfill_report::new(report)));
            Ok(())
        }
    }
}

fn grant_of(grant: td_grant_fn, user_data: *mut c_void) -> Outcome<CGrant> {
    let grant = grant.ok_or_else(|| Failure::null("grant"))?;
    Ok(CGrant {
        grant,
        user_data: UserData(user_data),
    })
}

/// Grants and fulfills every CLAIMED entitlement matching `options` (blocking): first what
/// an interrupted run left in `journal` (granted ones are marked without granting again;
/// grants in doubt go to `grant` with `resumed` set), then the list, page by page, each
/// entitlement granted once through `grant` (called with `user_data`) and marked FULFILLED in
/// batches of 100. Every HTTP request goes through the client's transport; tokens, retries,
/// rate limits and lost answers are handled inside.
///
/// On success writes `*report_out` (free with `td_fulfill_report_free`); entitlements that
/// are not FULFILLED are counted in it (RETRY_LATER, GRANT_FAILED...) and stay CLAIMED for a
/// later run. A run that stops early fails with its cause (`TD_JOURNAL` when the journal
/// could not be read or written, `TD_UNAUTHORIZED`, `TD_HTTP`, `TD_TRANSPORT`...), with what
/// it did before in `td_error_fulfill_report(error)`; what it did not reach stays CLAIMED.
/// Invalid options (an empty game id) are `TD_INVALID_INPUT` before anything is sent.
///
/// Thread safety: `client` may serve other threads meanwhile; `journal` is used by this run
/// alone; the callbacks run on this thread, one at a time (with the built-in transport,
/// requests slower than 2 ms go out from the library's own threads, see
/// `td_fulfill_options_set_requests_in_flight`).
///
/// # Safety
/// `client`, `options` and `journal` are live; `grant` is a valid callback and `user_data`
/// what it expects; `report_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_fulfill(
    client: *const td_client,
    options: *const td_fulfill_options,
    journal: *mut td_journal,
    grant: td_grant_fn,
    user_data: *mut c_void,
    report_out: *mut *mut td_fulfill_report,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let client = arg_ref(client, "client")?;
        let options = arg_ref(options, "options")?;
        let journal = arg_mut(journal, "journal")?;
        let grant = grant_of(grant, user_data)?;
        let out = out_ptr(report_out, "report_out")?;
        let engine = Engine::new(&client.inner.shared.config, options.options.clone())?;
        drive(client, engine, options.on_settled, journal, grant, out)
    })
}

/// Grants and fulfills `count` given entitlements (blocking), e.g. those an EventSub
/// notification pushed (`td_eventsub_message_entitlement`) or a page listed: the same rules
/// as `td_client_fulfill` without listing. Only CLAIMED ones are taken up, each id once
/// however often it is given; what `journal` left open is recovered first (an entitlement
/// that is both is recovered, never granted afresh). An entitlement pushed and later listed
/// by a polling run is granted once, since both go through the journal.
///
/// `options` may be NULL (quarantine after 1, 4 requests in flight, no settlement callback);
/// its game and user filters are not read. Results and failures as `td_client_fulfill`.
///
/// # Safety
/// `client` and `journal` are live; `entitlements` points to `count` pointers to live
/// entitlements (NULL when `count` is 0); `options` NULL or live; `grant` and `user_data` as
/// `td_client_fulfill`; `report_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_fulfill_entitlements(
    client: *const td_client,
    entitlements: *const *const td_entitlement,
    count: usize,
    options: *const td_fulfill_options,
    journal: *mut td_journal,
    grant: td_grant_fn,
    user_data: *mut c_void,
    report_out: *mut *mut td_fulfill_report,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let client = arg_ref(client, "client")?;
        let journal = arg_mut(journal, "journal")?;
        let grant = grant_of(grant, user_data)?;
        let out = out_ptr(report_out, "report_out")?;
        let defaults = td_fulfill_options::default();
        let options = options.as_ref().unwrap_or(&defaults);
        let engine = engine_for_entitlements(
            &client.inner.shared.config,
            entitlement_list(entitlements, count)?,
            options,
        )?;
        drive(client, engine, options.on_settled, journal, grant, out)
    })
}

/// The engine over given entitlements, with the options that apply to it (quarantine,
/// requests and grants in flight; not the game and user filters).
pub(crate) fn engine_for_entitlements(
    config: &Config,
    entitlements: Vec<Entitlement>,
    options: &td_fulfill_options,
) -> Outcome<Engine> {
    let engine = Engine::for_entitlements(config, entitlements, options.options.quarantine_after);
    Ok(engine
        .with_requests_in_flight(options.options.requests_in_flight)?
        .with_grants_in_flight(options.options.grants_in_flight)?)
}

/// Reads an array of `count` entitlement pointers.
///
/// # Safety
/// `list` is NULL or points to `count` pointers, each NULL or a live entitlement.
pub(crate) unsafe fn entitlement_list(
    list: *const *const td_entitlement,
    count: usize,
) -> Outcome<Vec<Entitlement>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if list.is_null() {
        return Err(Failure::null("entitlements"));
    }
    std::slice::from_raw_parts(list, count)
        .iter()
        .enumerate()
        .map(|(i, e)| Ok(arg_ref(*e, &format!("entitlements[{i}]"))?.to_core()))
        .collect()
}
