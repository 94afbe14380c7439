//! Update reports through C: every id's outcome, and the ids left unconfirmed.

use std::ffi::c_char;

use twitch_drops::{UpdateReport, UpdateStatus};

use crate::boundary::{
    arg_ref, arg_str, free_handle, guard_code, guard_value, out_ptr, td_str, CText, Failure,
};
use crate::result::td_result;

/// What Twitch did with one id of an update.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum td_update_status {
    /// Now in the requested status.
    TD_UPDATE_SUCCESS = 1,
    /// Not a well-formed entitlement id.
    TD_UPDATE_INVALID_ID = 2,
    /// No such entitlement.
    TD_UPDATE_NOT_FOUND = 3,
    /// The entitlement belongs to a game (or user) this client may not update.
    TD_UPDATE_UNAUTHORIZED = 4,
    /// Twitch could not update it, even after the retries.
    TD_UPDATE_FAILED = 5,
}

impl td_update_status {
    fn of(status: UpdateStatus) -> td_update_status {
        match status {
            UpdateStatus::Success => td_update_status::TD_UPDATE_SUCCESS,
            UpdateStatus::InvalidId => td_update_status::TD_UPDATE_INVALID_ID,
            UpdateStatus::NotFound => td_update_status::TD_UPDATE_NOT_FOUND,
            UpdateStatus::Unauthorized => td_update_status::TD_UPDATE_UNAUTHORIZED,
            UpdateStatus::UpdateFailed => td_update_status::TD_UPDATE_FAILED,
        }
    }
}

/// The outcome of every id of an update, in the order the ids were given (repeats once), and
/// the ids whose state could not be confirmed (re-read them before trying again).
///
/// Owned by the caller (`td_update_report_free`) when a call returned it; borrowed from a
/// `td_error` for `TD_PARTIAL_UPDATE`. Read-only: any thread may read it.
#[derive(Debug)]
pub struct td_update_report {
    outcomes: Vec<(CText, td_update_status)>,
    unconfirmed: Vec<CText>,
    core: UpdateReport,
}

impl td_update_report {
    pub(crate) fn new(report: &UpdateReport) -> td_update_report {
        td_update_report {
            outcomes: report
                .outcomes
                .iter()
                .map(|o| (CText::new(o.id.clone()), td_update_status::of(o.status)))
                .collect(),
            unconfirmed: report.unconfirmed.iter().cloned().map(CText::new).collect(),
            core: report.clone(),
        }
    }
}

/// Frees a report returned by a call; NULL is a no-op. Never free the one a `td_error` lends.
///
/// # Safety
/// `report` is NULL or a report a call returned, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_update_report_free(report: *mut td_update_report) {
    guard_value((), || free_handle(report))
}

/// How many ids have an outcome (0 for NULL).
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_update_report_count(report: *const td_update_report) -> usize {
    guard_value(0, || report.as_ref().map_or(0, |r| r.outcomes.len()))
}

/// The id and outcome at `index` (0-based). Writes both outs on success; the id is valid
/// until the report is freed. `TD_INDEX_OUT_OF_RANGE` past the end.
///
/// # Safety
/// `report` is live; both outs writable.
#[no_mangle]
pub unsafe extern "C" fn td_update_report_get(
    report: *const td_update_report,
    index: usize,
    id_out: *mut td_str,
    status_out: *mut td_update_status,
) -> td_result {
    guard_code(|| {
        let report = arg_ref(report, "report")?;
        let id_out = out_ptr(id_out, "id_out")?;
        let status_out = out_ptr(status_out, "status_out")?;
        let (id, status) = report
            .outcomes
            .get(index)
            .ok_or_else(|| out_of_range(index, report.outcomes.len()))?;
        id_out.write(id.view());
        status_out.write(*status);
        Ok(())
    })
}

/// The outcome of `id`. `TD_NOT_AVAILABLE` when the id has none (unconfirmed or not in the
/// update). Writes `*status_out` on success.
///
/// # Safety
/// `report` is live; `id` a C string; `status_out` writable.
#[no_mangle]
pub unsafe extern "C" fn td_update_report_status_of(
    report: *const td_update_report,
    id: *const c_char,
    status_out: *mut td_update_status,
) -> td_result {
    guard_code(|| {
        let report = arg_ref(report, "report")?;
        let id = arg_str(id, "id")?;
        let out = out_ptr(status_out, "status_out")?;
        let status = report
            .core
            .status_of(id)
            .ok_or_else(|| Failure::new(td_result::TD_NOT_AVAILABLE, "the id has no outcome"))?;
        out.write(td_update_status::of(status));
        Ok(())
    })
}

/// How many ids are unconfirmed (0 for NULL).
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_update_report_unconfirmed_count(
    report: *const td_update_report,
) -> usize {
    guard_value(0, || report.as_ref().map_or(0, |r| r.unconfirmed.len()))
}

/// The unconfirmed id at `index`, valid until the report is freed. Writes `*id_out` on
/// success; `TD_INDEX_OUT_OF_RANGE` past the end.
///
/// # Safety
/// `report` is live; `id_out` writable.
#[no_mangle]
pub unsafe extern "C" fn td_update_report_unconfirmed_get(
    report: *const td_update_report,
    index: usize,
    id_out: *mut td_str,
) -> td_result {
    guard_code(|| {
        let report = arg_ref(report, "report")?;
        let out = out_ptr(id_out, "id_out")?;
        let id = report
            .unconfirmed
            .get(index)
            .ok_or_else(|| out_of_range(index, report.unconfirmed.len()))?;
        out.write(id.view());
        Ok(())
    })
}

/// True when every id succeeded and none is unconfirmed (false for NULL).
///
/// # Safety
/// `report` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn td_update_report_all_succeeded(report: *const td_update_report) -> bool {
    guard_value(false, || {
        report.as_ref().is_some_and(|r| r.core.all_succeeded())
    })
}

pub(crate) fn out_of_range(index: usize, len: usize) -> Failure {
    Failure::new(
        td_result::TD_INDEX_OUT_OF_RANGE,
        format!("index {index} is out of range (the list has {len} items)"),
    )
}
