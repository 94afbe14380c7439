//! `td_journal`: where the fulfillment engine records its grants, so that none is lost or
//! given twice across crashes. The core's file or memory journal, or one of C callbacks that
//! store the core's records as JSON lines (and, for a journal several instances share, claim
//! each entitlement for one of them).

use std::ffi::{c_char, c_int, c_void};

use twitch_drops::fulfill::{JournalError, JournalRecord};
use twitch_drops::{FileJournal, Journal, MemoryJournal};

use crate::boundary::{
    arg_mut, arg_ref, arg_str, free_handle, guard, guard_code, guard_value, into_handle, out_ptr,
    td_str, CText, Failure, UserData,
};
use crate::error::td_error;
use crate::result::td_result;

/// A journal: durable storage for the fulfillment engine's records. Before calling the grant
/// callback the engine records the intent, after it the answer, and once Twitch has the
/// entitlement FULFILLED that it is settled; a run reads what an interrupted run left first,
/// marks what was granted without granting again, and hands grants in doubt to the grant
/// callback again as `resumed`.
///
/// Made by `td_journal_new_file`, `td_journal_new_memory` or `td_journal_new_callbacks`;
/// freed by `td_journal_free`. Keep the same journal (the same file, the same store) from run
/// to run: a new one forgets what a crash left in doubt. Several instances (processes,
/// machines) may share one store, each with its own `td_journal`, through callbacks with a
/// `claim` (see `td_journal_callbacks`): each entitlement is then granted by one of them.
///
/// Thread safety: one run at a time (it may be moved between threads).
pub struct td_journal {
    pub(crate) inner: Box<dyn Journal + Send>,
}

/// A journal in a file of JSON lines (created on first use), fsync'd on every append. A torn
/// last line (a crash mid-write) is ignored; loading compacts the file to the records still
/// open and the ids settled in the last 30 days (written beside it, `path` with its extension
/// replaced by `compacting`, then renamed over it). A settled id is not granted again when
/// Twitch lists it as CLAIMED again (settled `TD_SETTLED_HELD_ELSEWHERE`).
/// The path is only stored here: a file that cannot be opened fails the run with
/// `TD_JOURNAL`.
///
/// Writes `*journal_out` on success; free it with `td_journal_free`.
///
/// # Safety
/// `path` is a C string; `journal_out` is writable; `error` is NULL or a live `td_error`.
#[no_mangle]
pub unsafe extern "C" fn td_journal_new_file(
    path: *const c_char,
    journal_out: *mut *mut td_journal,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let out = out_ptr(journal_out, "journal_out")?;
        let path = arg_str(path, "path")?;
        if path.is_empty() {
            return Err(Failure::invalid("`path` is empty; name the journal's file"));
        }
        out.write(into_handle(td_journal {
            inner: Box::new(FileJournal::new(path)),
        }));
        Ok(())
    })
}

/// A journal in memory: no grant is given twice within this process (keep the journal from
/// run to run), nothing survives a crash. It keeps the records of entitlements still open and
/// sixteen bytes per id settled in the last 30 days (not granted again when Twitch lists it
/// as CLAIMED again), so it stays small. Free it with `td_journal_free`; NULL only on an
/// internal failure.
#[no_mangle]
pub extern "C" fn td_journal_new_memory() -> *mut td_journal {
    guard_value(std::ptr::null_mut(), || {
        into_handle(td_journal {
            inner: Box::new(MemoryJournal::new()),
        })
    })
}

/// Frees a journal; NULL is a no-op. A file journal's file stays (it is the record).
///
/// # Safety
/// `journal` is NULL or from a `td_journal_new_*` function, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn td_journal_free(journal: *mut td_journal) {
    guard_value((), || free_handle(journal))
}

/// Reads the journal: call `td_journal_sink_push(sink, line)` for every record line stored
/// (in the order they were appended) and return 0; any other value fails the run with
/// `TD_JOURNAL` before anything is granted. `sink` is valid only during the call. A journal
/// with a `claim` callback pushes only the lines of what this instance holds, taking over
/// expired claims first (see `td_journal_claim_fn`).
pub type td_journal_load_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, sink: *mut td_journal_sink) -> c_int>;

/// Appends `count` record lines (`lines[i]`: one JSON object, NUL-terminated, without a
/// newline; valid only during the call) and returns 0 once they are durable (written and
/// flushed to storage that survives a crash). Any other value means they were not stored:
/// the run stops there with `TD_JOURNAL`, and nothing after them is granted.
pub type td_journal_append_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, lines: *const td_str, count: usize) -> c_int,
>;

/// Claims a batch for this instance, in a journal several instances (processes, machines)
/// share so that each entitlement is granted by one of them. `lines[i]` are `granting` record
/// lines, as `append` receives them (valid only during the call); `taken[i]` is false on
/// entry. Store each line whose entitlement this instance may take and set `taken[i]` to true;
/// leave it false when another instance holds that entitlement (or has granted or settled
/// it): the run does not grant it and reports it `TD_SETTLED_HELD_ELSEWHERE`. Return 0 once
/// what was taken is durable; any other value means nothing of the batch was stored: the run
/// stops there with `TD_JOURNAL`, and nothing of the batch is granted.
///
/// Take an id atomically with respect to the other instances: only if no live instance holds
/// it, or this one already does (a grant resumed after a crash); e.g. an insert on a unique
/// key, or a compare-and-set, in one transaction. Give each claim its owner (this instance)
/// and an expiry renewed while the instance lives, so a crashed instance's claims are not
/// held forever: `load` then takes over the open records whose claims expired and returns
/// what this instance now holds (its own and those taken over), never the records of an
/// entitlement another live instance holds. A `not_granted` record appended for an id frees
/// it to be claimed again; a `settled` one closes it for good (never take it again).
pub type td_journal_claim_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        lines: *const td_str,
        count: usize,
        taken: *mut bool,
    ) -> c_int,
>;

/// A journal of your own (a database, a save system): two callbacks, an optional third, and
/// `user_data` passed to each. Records are the core's JSON lines
/// (`{"op":"granting","id":...}`); store them as given, return them as given. Storing only
/// the lines of entitlements still open is allowed (a record for an id whose last record is
/// `settled` or `not_granted` may be dropped with it), but never drop or reorder the lines of
/// an open one.
///
/// A journal used by one instance at a time leaves `claim` NULL: the `granting` records then
/// go to `append` too. A journal several instances share (a database) sets `claim`, which
/// receives the `granting` records instead of `append` and answers which entitlements this
/// instance took; each is then granted by one instance only.
///
/// The callbacks run on the thread that called `td_client_fulfill` or
/// `td_client_fulfill_entitlements`, one at a time; they must not let C++ exceptions or
/// longjmp cross them.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct td_journal_callbacks {
    /// Passed first to every callback; kept by the journal (it must outlive it).
    pub user_data: *mut c_void,
    /// Reads the stored records. Required.
    pub load: td_journal_load_fn,
    /// Stores records durably. Required.
    pub append: td_journal_append_fn,
    /// Takes a batch's entitlements for this instance. Optional: NULL means no other
    /// instance shares the journal (the batch is appended, and every entitlement taken).
    /// Last, so initializers written before it existed leave it NULL.
    pub claim: td_journal_claim_fn,
}

/// A journal made of C callbacks.
struct CallbackJournal {
    load: unsafe extern "C" fn(*mut c_void, *mut td_journal_sink) -> c_int,
    append: unsafe extern "C" fn(*mut c_void, *const td_str, usize) -> c_int,
    claim: Option<unsafe extern "C" fn(*mut c_void, *const td_str, usize, *mut bool) -> c_int>,
    user_data: UserData,
}

/// Records as the core's JSON lines, NUL-terminated for C.
fn lines_of(records: &[JournalRecord]) -> Result<Vec<CText>, JournalError> {
    records
        .iter()
        .map(|r| serde_json::to_string(r).map(CText::new))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| JournalError(format!("a record could not be written as JSON: {e}")))
}

impl Journal for CallbackJournal {
    fn load(&mut self) -> Result<Vec<JournalRecord>, JournalError> {
        let mut sink = td_journal_sink::default();
        // SAFETY: a valid function (checked non-NULL); `user_data` is the caller's promise;
        // `sink` lives until the call returns.
        let code = unsafe { (self.load)(self.user_data.0, &mut sink) };
        if code != 0 {
            return Err(JournalError(format!(
                "the load callback failed (it returned {code})"
            )));
        }
        match sink.bad {
            Some(bad) => Err(JournalError(bad)),
            None => Ok(sink.records),
        }
    }

    fn claim(&mut self, records: &[JournalRecord]) -> Result<Vec<String>, JournalError> {
        let Some(claim) = self.claim else {
            return self.append(records).map(|()| Vec::new());
        };
        let lines = lines_of(records)?;
        let views: Vec<td_str> = lines.iter().map(CText::view).collect();
        // Bytes, not `bool`s: whatever the callback writes is read without undefined
        // behaviour (any non-zero byte is taken).
        let mut taken = vec![0u8; views.len()];
        // SAFETY: as in `append`; `taken` holds `views.len()` one-byte flags (C's `bool`),
        // all false, and outlives the call.
        let code = unsafe {
            claim(
                self.user_data.0,
                views.as_ptr(),
                views.len(),
                taken.as_mut_ptr().cast::<bool>(),
            )
        };
        if code != 0 {
            return Err(JournalError(format!(
                "the claim callback failed (it returned {code}); the run stopped before \
                 granting anything of its batch"
            )));
        }
        Ok(records
            .iter()
            .zip(&taken)
            .filter(|(_, taken)| **taken == 0)
            .map(|(record, _)| record.id().to_string())
            .collect())
    }

    fn append(&mut self, records: &[JournalRecord]) -> Result<(), JournalError> {
        let lines = lines_of(records)?;
        let views: Vec<td_str> = lines.iter().map(CText::view).collect();
        // SAFETY: as in `load`; `views` and the texts they point into outlive the call.
        let code = unsafe { (self.append)(self.user_data.0, views.as_ptr(), views.len()) };
        if code != 0 {
            return Err(JournalError(format!(
                "the append callback failed (it returned {code}); the run stopped before \
                 granting anything more"
            )));
        }
        Ok(())
    }
}

/// Makes a journal of `callbacks` (copied; `user_data` is kept). A NULL `load` or `append`
/// is `TD_NULL_POINTER`; a NULL `claim` appends claims (one instance per journal).
///
/// Writes `*journal_out` on success; free it with `td_journal_free`.
///
/// # Safety
/// `callbacks` points to a `td_journal_callbacks`; `journal_out` is writable; `error` is NULL
/// or a live `td_error`. `user_data` must stay valid, and usable from the threads that run
/// the journal, until the journal is freed.
#[no_mangle]
pub unsafe extern "C" fn td_journal_new_callbacks(
    callbacks: *const td_journal_callbacks,
    journal_out: *mut *mut td_journal,
    error: *mut td_error,
) -> td_result {
    guard(error, || {
        let out = out_ptr(journal_out, "journal_out")?;
        let callbacks = arg_ref(callbacks, "callbacks")?;
        let load = callbacks
            .load
            .ok_or_else(|| Failure::null("callbacks->load"))?;
        let append = callbacks
            .append
            .ok_or_else(|| Failure::null("callbacks->append"))?;
        out.write(into_handle(td_journal {
            inner: Box::new(CallbackJournal {
                load,
                append,
                claim: callbacks.claim,
                user_data: UserData(callbacks.user_data),
            }),
        }));
        Ok(())
    })
}

/// What a journal's load callback hands its records to. Owned by the library, valid only
/// during the callback that received it.
#[derive(Debug, Default)]
pub struct td_journal_sink {
    records: Vec<JournalRecord>,
    lines: usize,
    /// Why the load fails, once a line was not a record.
    bad: Option<String>,
}

/// Hands one stored record line to the engine (surrounding whitespace and a trailing newline
/// are ignored; a blank line is skipped). A line that is not a journal record, or whose ids
/// this library would never write (over 256 bytes, control characters), is
/// `TD_INVALID_INPUT` and fails the whole load (`TD_JOURNAL`, naming the line): a lost record
/// could mean a grant given twice, so the run does not start on a journal it cannot read.
///
/// # Safety
/// `sink` is the pointer the load callback received, during the callback; `json_line` is a
/// C string.
#[no_mangle]
pub unsafe extern "C" fn td_journal_sink_push(
    sink: *mut td_journal_sink,
    json_line: *const c_char,
) -> td_result {
    guard_code(|| {
        let sink = arg_mut(sink, "sink")?;
        sink.lines += 1;
        let line = match arg_str(json_line, "json_line") {
            Ok(line) => line.trim(),
            Err(failure) => {
                sink.bad
                    .get_or_insert_with(|| format!("record line {} could not be read", sink.lines));
                return Err(failure);
            }
        };
        if line.is_empty() {
            return Ok(());
        }
        match serde_json::from_str::<JournalRecord>(line) {
            Ok(record) => match record.validate() {
                Ok(()) => {
                    sink.records.push(record);
                    Ok(())
                }
                // Ids this library never writes (too long, control characters): refused.
                Err(e) => {
                    let message = format!(
                        "record line {} (a `{}` record) is refused: {e}",
                        sink.lines,
                        record.kind()
                    );
                    sink.bad.get_or_insert_with(|| message.clone());
                    Err(Failure::invalid(message))
                }
            },
            Err(e) => {
                let message = format!("record line {} is not a journal record: {e}", sink.lines);
                sink.bad.get_or_insert_with(|| message.clone());
                Err(Failure::invalid(message))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    #[test]
    fn a_record_with_ids_this_library_never_writes_is_refused_naming_its_line() {
        let mut sink = td_journal_sink {
            records: Vec::new(),
            lines: 0,
            bad: None,
        };
        let good = CString::new(r#"{"op":"granted","id":"e1"}"#).unwrap();
        let bad = CString::new(r#"{"op":"settled","id":"e\u0000x"}"#).unwrap();
        unsafe {
            assert_eq!(
                td_journal_sink_push(&mut sink, good.as_ptr()),
                td_result::TD_OK
            );
            assert_eq!(
                td_journal_sink_push(&mut sink, bad.as_ptr()),
                td_result::TD_INVALID_INPUT
            );
        }
        let why = sink.bad.unwrap();
        assert!(
            why.contains("record line 2") && why.contains("`id`"),
            "{why}"
        );
        assert_eq!(sink.records.len(), 1);
    }
}
