//! `td_fulfill_run`: the fulfillment engine driven by a host that never blocks (a game loop
//! with an asynchronous HTTP stack). The core's `HostedRun` holds every rule; this translates
//! its steps and the host's answers.

use std::collections::HashMap;
use std::ffi::c_char;
use std::sync::Arc;

use twitch_drops::{Config, Engine, FulfillReport, HostAnswer, HostStep, HostedRun};

use crate::boundary::{
    arg_mut, arg_opt_str, arg_ref, free_handle, guard, guard_value, into_handle, out_ptr, Failure,
    Outcome,
};
use crate::client::td_client;
use crate::entitlements::td_entitlement;
use crate::error::td_error;
use crate::fulfill::{
    engine_for_entitlements, entitlement_list, report_or_failure, settle, td_fulfill_options,
    td_fulfill_report, OnSettled,
};
use crate::grant::{grant_outcome, td_grant_request, GrantView};
use crate::journal::td_journal;
use crate::op::{response_of, transport_failure_of};
use crate::result::td_result;
use crate::transport::{td_header, td_http_request, RequestView};

/// What a run needs next (`td_fulfill_run_poll`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum td_run_step_kind {
    /// Perform `request` with your HTTP stack, then answer `ticket` with
    /// `td_fulfill_run_feed_response` (any status) or `td_fulfill_run_feed_transport_error`.
    TD_RUN_SEND = 1,
    /// Wait `sleep_ms` milliseconds without blocking, then `td_fulfill_run_feed_slept`.
    TD_RUN_SLEEP = 2,
    /// Give `grant` in your game (or decide you cannot), then `td_fulfill_run_feed_grant`.
    TD_RUN_GRANT = 3,
    /// Every step handed out is still out: poll again after answering one (next frame).
    TD_RUN_IDLE = 4,
    /// The run is over: `result` says how; `td_fulfill_run_take_report` gives the report.
    TD_RUN_DONE = 5,
}

/// The answer of `td_fulfill_run_poll`. Only the fields of `kind` are meaningful.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct td_run_step {
    /// What is needed.
    pub kind: td_run_step_kind,
    /// SEND, SLEEP, GRANT: names the step when you answer it (never reused within a run).
    pub ticket: u64,
    /// SEND: the request; borrowed until the step is answered or the run freed.
    pub request: *const td_http_request,
    /// SLEEP: how long.
    pub sleep_ms: u64,
    /// GRANT: the entitlement; borrowed until the step is answered or the run freed.
    pub grant: *const td_grant_request,
    /// DONE: `TD_OK`, or why the run stopped early (detail from `td_fulfill_run_take_report`).
    pub result: td_result,
}

impl td_run_step {
    fn of(kind: td_run_step_kind) -> td_run_step {
        td_run_step {
            kind,
            ticket: 0,
            request: std::ptr::null(),
            sleep_ms: 0,
            grant: std::ptr::null(),
            result: td_result::TD_OK,
        }
    }
}

/// What a step handed out points into, kept until it is answered.
enum View {
    Request(#[allow(dead_code)] Box<RequestView>),
    Grant(#[allow(dead_code)] Box<GrantView>),
}

/// A fulfillment run your loop drives without ever blocking: the same engine and guarantees
/// as `td_client_fulfill` (journal first, each entitlement granted once, marked FULFILLED in
/// batches of 100, recovery after a crash), with you performing the requests, the waits and
/// the grants, each when you can. Poll it (each frame): it hands out SEND, SLEEP and GRANT
/// steps, each with a ticket; several may be out at once (up to the options' requests in
/// flight, and a batch's grants); answer each by its ticket in any order. IDLE means all that
/// was handed out is still out. The journal's work and the settlement callback run inside
/// `td_fulfill_run_poll`; a token the run needs is fetched with SEND steps.
///
/// A batch's grants (up to 100) are recorded in the journal together, once all are answered:
/// answer each grant promptly (one left unanswered holds up the run, and a crash meanwhile
/// hands the whole batch back as `resumed`). The settlement callback must not call this run's
/// functions. A run whose poll failed on an internal error (`TD_PANIC`) is over: polls answer
/// DONE with `TD_PANIC`.
///
/// Made by `td_client_begin_fulfill` or `td_client_begin_fulfill_entitlements`; free with
/// `td_fulfill_run_free` at any time (an unfinished run is abandoned: what was granted and
/// journaled is marked by the next run with the same journal, grants in doubt come back
/// `resumed`). Keeps what it needs of its client alive; borrows its journal.
///
/// Thread safety: one thread at a time (it may be moved between threads).
pub struct td_fulfill_run {
    run: HostedRun,
    journal: *mut td_journal,
    on_settled: Option<OnSettled>,
    views: HashMap<u64, View>,
    /// The report once DONE, until taken.
    report: Option<FulfillReport>,
    /// DONE's result, once the run is over.
    done: Option<td_result>,
    /// Set while the core runs a poll: still set afterwards, the poll panicked (the step it
    /// was routing is lost), and the run is over with `TD_PANIC`.
    polling: bool,
}

impl td_fulfill_run {
    fn new(
        run: HostedRun,
        journal: *mut td_journal,
        on_settled: Option<OnSettled>,
    ) -> td_fulfill_run {
        td_fulfill_run {
            run,
            journal,
            on_settled,
            views: HashMap::new(),
            report: None,
            done: None,
            polling: false,
        }
    }

    fn poll(&mut self, now_ms: u64) -> Outcome<td_run_step> {
        if self.polling {
            self.done = Some(td_result::TD_PANIC);
        }
        if let Some(result) = self.done {
            return Ok(td_run_step {
                result,
                ..td_run_step::of(td_run_step_kind::TD_RUN_DONE)
            });
        }
        // SAFETY: the caller of `td_client_begin_fulfill*` promised the journal stays live and
        // is this run's alone until the run is freed.
        let journal = unsafe { arg_mut(self.journal, "journal")? };
        self.polling = true;
        let step = self.run.poll(journal.inner.as_mut(), now_ms);
        self.polling = false;
        for settlement in self.run.take_settlements() {
            settle(self.on_settled, &settlement);
        }
        Ok(match step {
            HostStep::Send(ticket, request) => {
                let view = RequestView::new(request);
                let request: *const td_http_request = view.view();
                self.views.insert(ticket, View::Request(view));
                td_run_step {
                    ticket,
                    request,
                    ..td_run_step::of(td_run_step_kind::TD_RUN_SEND)
                }
            }
            HostStep::Sleep(ticket, duration) => td_run_step {
                ticket,
                sleep_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
                ..td_run_step::of(td_run_step_kind::TD_RUN_SLEEP)
            },
            HostStep::Grant(ticket, request) => {
                let view = GrantView::new(&request);
                let grant: *const td_grant_request = view.view();
                self.views.insert(ticket, View::Grant(view));
                td_run_step {
                    ticket,
                    grant,
                    ..td_run_step::of(td_run_step_kind::TD_RUN_GRANT)
                }
            }
            HostStep::Idle => td_run_step::of(td_run_step_kind::TD_RUN_IDLE),
            HostStep::Done => {
                self.report = self.run.take_report();
                let result = self
                    .report
                    .as_ref()
                    .and_then(|r| r.error.as_ref())
                    .map_or(td_result::TD_OK, td_result::of);
                self.done = Some(result);
                td_run_step {
                    result,
                    ..td_run_step::of(td_run_step_kind::TD_RUN_DONE)
                }
            }
        })
    }

    fn answer(&mut self, ticket: u64, answer: HostAnswer) -> Outcome {
        self.run
            .answer(ticket, answer)
            .map_err(Failure::wrong_state)?;
        self.views.remove(&ticket);
        Ok(())
    }
}

/// Starts a run from `client` (see `td_fulfill_run`): what `td_client_fulfill` does, driven by
/// your loop. `options` is copied (its settlement callback is called from
/// `td_fulfill_run_poll`); `journal` is borrowed by the run. Invalid options are
/// `TD_INVALID_INPUT` before anything is sent. Writes `*run_out` on success.
///
/// # Safety
/// `client` and `options` are live; `journal` is live, and stays live and used by this run
/// alone until the run is freed; `run_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_begin_fulfill(
    client: *const td_client,
    options: *const td_fulfill_options,
    journal: *mut td_journal,
    run_out: *mut *mut td_fulfill_run,
    error: *mut td_error,
) -> td_result {
    begin(client, journal, run_out, error, |config| {
        let options = arg_ref(options, "options")?;
        let engine = Engine::new(config, options.options.clone())?;
        Ok((engine, options.on_settled))
    })
}

/// Starts a run over `count` given entitlements (pushed by EventSub, or listed): what
/// `td_client_fulfill_entitlements` does, driven by your loop. The entitlements are copied;
/// `options` may be NULL. Writes `*run_out` on success.
///
/// # Safety
/// `client` is live; `entitlements` points to `count` pointers to live entitlements (NULL
/// when `count` is 0); `options` NULL or live; `journal` as `td_client_begin_fulfill`;
/// `run_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_client_begin_fulfill_entitlements(
    client: *const td_client,
    entitlements: *const *const td_entitlement,
    count: usize,
    options: *const td_fulfill_options,
    journal: *mut td_journal,
    run_out: *mut *mut td_fulfill_run,
    error: *mut td_error,
) -> td_result {
    begin(client, journal, run_out, error, |config| {
        let defaults = td_fulfill_options::default();
        let options = options.as_ref().unwrap_or(&defaults);
        let entitlements = entitlement_list(entitlements, count)?;
        let engine = engine_for_entitlements(config, entitlements, options)?;
        Ok((engine, options.on_settled))
    })
}

/// Starts a run of the engine `make` builds from the client's configuration.
///
/// # Safety
/// As the `td_client_begin_fulfill*` functions.
unsafe fn begin(
    client: *const td_client,
    journal: *mut td_journal,
    run_out: *mut *mut td_fulfill_run,
    error: *mut td_error,
    make: impl FnOnce(&Config) -> Outcome<(Engine, Option<OnSettled>)>,
) -> td_result {
    guard(error, || {
        let client = arg_ref(client, "client")?;
        arg_mut(journal, "journal")?;
        let out = out_ptr(run_out, "run_out")?;
        let shared = &client.inner.shared;
        let (engine, on_settled) = make(&shared.config)?;
        let run = HostedRun::new(engine, Arc::clone(&shared.session));
        out.write(into_handle(td_fulfill_run::new(run, journal, on_settled)));
        Ok(())
    })
}

/// Frees a run, finished or not; NULL is a no-op. Requests and grants it handed out must no
/// longer be read; answers arriving later are dropped by the host.
///
/// # Safety
/// `run` is NULL or from this library, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_run_free(run: *mut td_fulfill_run) {
    guard_value((), || free_handle(run))
}

/// Advances the run and says what it needs next (see `td_run_step_kind`). `now_ms` is the
/// time in milliseconds since the Unix epoch (waits are measured between its readings).
/// Poll until IDLE each frame, perform what it handed out, answer, and poll again next frame;
/// after DONE, polling again returns DONE again. A journal that fails stops the run (DONE
/// with `TD_JOURNAL`). Writes `*step_out` on success.
///
/// # Safety
/// `run` is live (and its journal, see `td_client_begin_fulfill`); `step_out` writable;
/// `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_run_poll(
    run: *mut td_fulfill_run,
    now_ms: u64,
    step_out: *mut td_run_step,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let run = arg_mut(run, "run")?;
        let out = out_ptr(step_out, "step_out")?;
        out.write(run.poll(now_ms)?);
        Ok(())
    })
}

/// Answers the SEND `ticket` with the response: any status (4xx and 5xx too), `header_count`
/// headers (need not be NUL-terminated), the whole body; all copied. `TD_WRONG_STATE` when no
/// SEND with that ticket is out (the step stays as it was).
///
/// # Safety
/// `run` is live; `headers` points to `header_count` headers (NULL when 0); `body` to
/// `body_len` bytes (NULL when 0); `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_run_feed_response(
    run: *mut td_fulfill_run,
    ticket: u64,
    status: u16,
    headers: *const td_header,
    header_count: usize,
    body: *const u8,
    body_len: usize,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let run = arg_mut(run, "run")?;
        let response = response_of(status, headers, header_count, body, body_len)?;
        run.answer(ticket, HostAnswer::Response(response))
    })
}

/// Answers the SEND `ticket` that got no whole response: `kind` (a `td_transport_error_kind`
/// other than NONE) tells whether Twitch may have seen it, `message` (may be NULL) says why.
///
/// # Safety
/// `run` is live; `message` NULL or a C string; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_run_feed_transport_error(
    run: *mut td_fulfill_run,
    ticket: u64,
    kind: u32,
    message: *const c_char,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let run = arg_mut(run, "run")?;
        let failure = transport_failure_of(kind, message)?;
        run.answer(ticket, HostAnswer::TransportFailed(failure))
    })
}

/// Answers the SLEEP `ticket`: the time has passed.
///
/// # Safety
/// `run` is live; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_run_feed_slept(
    run: *mut td_fulfill_run,
    ticket: u64,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        arg_mut(run, "run")?.answer(ticket, HostAnswer::Slept)
    })
}

/// Answers the GRANT `ticket` with a `td_grant_outcome`: GRANTED (the reward is in the game),
/// RETRY_LATER or FAILED (it stays CLAIMED; `reason`, may be NULL, is reported for FAILED).
/// Any other value is `TD_INVALID_INPUT` and the step stays out.
///
/// # Safety
/// `run` is live; `reason` NULL or a C string; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_run_feed_grant(
    run: *mut td_fulfill_run,
    ticket: u64,
    outcome: u32,
    reason: *const c_char,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let run = arg_mut(run, "run")?;
        let reason = arg_opt_str(reason, "reason")?.map(str::to_string);
        let outcome = grant_outcome(outcome, reason).ok_or_else(|| {
            Failure::invalid(format!("`outcome` {outcome} is not a td_grant_outcome"))
        })?;
        run.answer(ticket, HostAnswer::Granted(outcome))
    })
}

/// Asks the run to stop gracefully: no new grant, page or re-read is handed out; keep
/// polling and answering what is out until DONE. What was granted is journaled and marked,
/// the rest stays CLAIMED for the next run with the same journal, and the report says
/// `td_fulfill_report_interrupted`. NULL is a no-op.
///
/// # Safety
/// `run` is NULL or live, used by one thread at a time.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_run_interrupt(run: *mut td_fulfill_run) {
    guard_value((), || {
        if let Ok(run) = arg_mut(run, "run") {
            run.run.interrupt();
        }
    })
}

/// Steps handed out and not yet answered (0 for NULL).
///
/// # Safety
/// `run` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_run_steps_out(run: *const td_fulfill_run) -> usize {
    guard_value(0, || {
        arg_ref(run, "run")
            .ok()
            .map_or(0, |run| run.run.steps_out())
    })
}

/// The report of a run that said DONE, as `td_client_fulfill` gives it: `TD_OK` with
/// `*report_out` (free with `td_fulfill_report_free`), or the cause of a run that stopped
/// early with its report in `td_error_fulfill_report(error)`. `TD_WRONG_STATE` before DONE
/// and once taken.
///
/// # Safety
/// `run` is live; `report_out` writable; `error` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_fulfill_run_take_report(
    run: *mut td_fulfill_run,
    report_out: *mut *mut td_fulfill_report,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let run = arg_mut(run, "run")?;
        let out = out_ptr(report_out, "report_out")?;
        if run.done.is_none() {
            return Err(Failure::wrong_state(
                "the run is not done: poll it until TD_RUN_DONE",
            ));
        }
        if run.done == Some(td_result::TD_PANIC) {
            return Err(Failure::new(
                td_result::TD_PANIC,
                "the run stopped on an internal error; what it granted is in the journal, \
                 for the next run to mark",
            ));
        }
        let report = run
            .report
            .take()
            .ok_or_else(|| Failure::wrong_state("the run's report was already taken"))?;
        report_or_failure(report, out)
    })
}
