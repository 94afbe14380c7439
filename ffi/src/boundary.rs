//! The edge between C and Rust: the panic boundary every export runs in, checks of the
//! pointers and strings C hands us, borrowed string views going out, and copies into
//! caller buffers. Nothing here knows about Twitch.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::td_error;
use crate::result::td_result;

/// A borrowed UTF-8 string: `len` bytes at `ptr`, followed by a NUL byte that `len` does not
/// count (so `ptr` may also be used as a C string). Never NULL: an empty or absent value is
/// `{"", 0}`. It lives as long as the handle it came from (each function says which); copy it
/// to keep it longer. The text never contains credentials unless the function says so.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct td_str {
    /// The first byte; `ptr[len]` is `'\0'`.
    pub ptr: *const c_char,
    /// Length in bytes, not counting the terminating NUL.
    pub len: usize,
}

impl td_str {
    /// The empty string, valid forever.
    pub(crate) fn empty() -> td_str {
        td_str::from_static("\0")
    }

    /// A view of a `'static` string that ends with a NUL byte.
    pub(crate) fn from_static(text: &'static str) -> td_str {
        debug_assert!(text.ends_with('\0'));
        td_str {
            ptr: text.as_ptr().cast(),
            len: text.len() - 1,
        }
    }
}

/// An owned string kept with a trailing NUL, so views of it are C strings too.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CText(String);

impl CText {
    pub(crate) fn new(text: impl Into<String>) -> CText {
        let mut text = text.into();
        text.push('\0');
        CText(text)
    }

    /// The text without its NUL.
    pub(crate) fn as_str(&self) -> &str {
        self.0.strip_suffix('\0').unwrap_or(&self.0)
    }

    /// Overwrites the text with zero bytes (for credentials about to be freed).
    pub(crate) fn wipe(&mut self) {
        // SAFETY: zero bytes are valid UTF-8.
        for byte in unsafe { self.0.as_bytes_mut() } {
            // SAFETY: a valid, aligned byte; volatile so the wipe is not optimized away.
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
    }

    /// A borrowed view, valid while `self` is neither moved nor dropped.
    pub(crate) fn view(&self) -> td_str {
        if self.0.is_empty() {
            return td_str::empty();
        }
        td_str {
            ptr: self.0.as_ptr().cast(),
            len: self.0.len() - 1,
        }
    }
}

/// Views of an optional text: absent is the empty string.
pub(crate) fn view_opt(text: &Option<CText>) -> td_str {
    text.as_ref().map_or_else(td_str::empty, CText::view)
}

/// Why a call failed before or while doing its work, with the detail a `td_error` keeps.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: td_result,
    pub(crate) detail: Detail,
}

#[derive(Debug)]
pub(crate) enum Detail {
    /// A problem with the call itself (a NULL pointer, bad UTF-8, a wrong state).
    Message(String),
    /// An error from the core: Twitch, the transport, or input the core refused.
    Core(twitch_drops::Error),
    /// A fulfillment run that stopped early: its report, whose `error` says why.
    Stopped(Box<twitch_drops::FulfillReport>),
    /// An EventSub message refused by the core's checks.
    EventSub(twitch_drops::EventSubError),
}

impl Failure {
    pub(crate) fn new(code: td_result, message: impl Into<String>) -> Failure {
        Failure {
            code,
            detail: Detail::Message(message.into()),
        }
    }

    pub(crate) fn null(name: &str) -> Failure {
        Failure::new(
            td_result::TD_NULL_POINTER,
            format!("`{name}` is NULL; pass a valid pointer"),
        )
    }

    pub(crate) fn wrong_state(message: impl Into<String>) -> Failure {
        Failure::new(td_result::TD_WRONG_STATE, message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(td_result::TD_INVALID_INPUT, message)
    }
}

impl From<twitch_drops::EventSubError> for Failure {
    fn from(error: twitch_drops::EventSubError) -> Failure {
        Failure {
            code: td_result::of_eventsub(&error),
            detail: Detail::EventSub(error),
        }
    }
}

impl From<twitch_drops::Error> for Failure {
    fn from(error: twitch_drops::Error) -> Failure {
        Failure {
            code: td_result::of(&error),
            detail: Detail::Core(error),
        }
    }
}

pub(crate) type Outcome<T = ()> = Result<T, Failure>;

/// Runs an export that reports detail into an optional `td_error`: resets `error`, runs `body`
/// with panics caught, and records a failure in `error` when there is one.
pub(crate) fn guard(error: *mut td_error, body: impl FnOnce() -> Outcome) -> td_result {
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| Err(panicked(panic)));
    // SAFETY: the caller passes NULL or a pointer from `td_error_new`, used by one thread.
    if let Some(error) = unsafe { error.as_mut() } {
        error.record(result.as_ref().err());
    }
    match result {
        Ok(()) => td_result::TD_OK,
        Err(failure) => failure.code,
    }
}

/// Runs an export that has no `td_error` parameter.
pub(crate) fn guard_code(body: impl FnOnce() -> Outcome) -> td_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => td_result::TD_OK,
        Ok(Err(failure)) => failure.code,
        Err(_) => td_result::TD_PANIC,
    }
}

/// Runs an export that returns a value (a getter, a constructor): `fallback` on a panic.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

fn panicked(panic: Box<dyn std::any::Any + Send>) -> Failure {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".to_string());
    Failure::new(
        td_result::TD_PANIC,
        format!("internal error (a bug in twitch_drops; please report it): {what}"),
    )
}

/// A shared reference from a handle pointer.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` not mutated during `'a`.
pub(crate) unsafe fn arg_ref<'a, T>(ptr: *const T, name: &str) -> Outcome<&'a T> {
    ptr.as_ref().ok_or_else(|| Failure::null(name))
}

/// An exclusive reference from a handle pointer.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` used by no one else during `'a`.
pub(crate) unsafe fn arg_mut<'a, T>(ptr: *mut T, name: &str) -> Outcome<&'a mut T> {
    ptr.as_mut().ok_or_else(|| Failure::null(name))
}

/// Checks an out-pointer before any work is done, so that work is not lost.
pub(crate) fn out_ptr<T>(ptr: *mut T, name: &str) -> Outcome<OutPtr<T>> {
    if ptr.is_null() {
        Err(Failure::null(name))
    } else {
        Ok(OutPtr(ptr))
    }
}

/// A checked, non-NULL out-pointer, written once on success.
pub(crate) struct OutPtr<T>(*mut T);

impl<T> OutPtr<T> {
    pub(crate) fn write(self, value: T) {
        // SAFETY: checked non-NULL; the caller promises it points to writable memory.
        unsafe { self.0.write(value) }
    }
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string live during `'a`.
pub(crate) unsafe fn arg_str<'a>(ptr: *const c_char, name: &str) -> Outcome<&'a str> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    CStr::from_ptr(ptr).to_str().map_err(|e| {
        Failure::new(
            td_result::TD_INVALID_UTF8,
            format!(
                "`{name}` is not valid UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// An optional NUL-terminated UTF-8 string argument: NULL means absent.
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn arg_opt_str<'a>(ptr: *const c_char, name: &str) -> Outcome<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        arg_str(ptr, name).map(Some)
    }
}

/// An array of `count` NUL-terminated UTF-8 strings.
///
/// # Safety
/// `ptr` is NULL or points to `count` pointers, each NULL or a live C string, during `'a`.
pub(crate) unsafe fn arg_strs<'a>(
    ptr: *const *const c_char,
    count: usize,
    name: &str,
) -> Outcome<Vec<&'a str>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    std::slice::from_raw_parts(ptr, count)
        .iter()
        .enumerate()
        .map(|(i, s)| arg_str(*s, &format!("{name}[{i}]")))
        .collect()
}

/// `len` bytes at `ptr` (NULL is allowed when `len` is 0).
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes during `'a`.
pub(crate) unsafe fn arg_bytes<'a>(ptr: *const u8, len: usize, name: &str) -> Outcome<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    Ok(std::slice::from_raw_parts(ptr, len))
}

/// A `td_str` argument: `len` UTF-8 bytes at `ptr` (no NUL needed).
///
/// # Safety
/// `s.ptr` is NULL or points to `s.len` readable bytes during `'a`.
pub(crate) unsafe fn arg_td_str<'a>(s: td_str, name: &str) -> Outcome<&'a str> {
    let bytes = arg_bytes(s.ptr.cast(), s.len, name)?;
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(
            td_result::TD_INVALID_UTF8,
            format!(
                "`{name}` is not valid UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// Copies `text` and a NUL into `buf` (`len` bytes). On success `*len_out` is the length
/// written, NUL not counted; if `buf` is too small nothing is copied and `*len_out` is the
/// size needed, NUL counted (TD_BUFFER_TOO_SMALL).
///
/// # Safety
/// `buf` is NULL or points to `len` writable bytes; `len_out` is NULL or writable.
pub(crate) unsafe fn copy_out(
    text: &str,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> Outcome {
    let len_out = out_ptr(len_out, "len_out")?;
    let needed = text.len() + 1;
    if len < needed {
        len_out.write(needed);
        return Err(Failure::new(
            td_result::TD_BUFFER_TOO_SMALL,
            format!("the buffer holds {len} bytes; {needed} are needed"),
        ));
    }
    if buf.is_null() {
        return Err(Failure::null("buf"));
    }
    std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
    *buf.add(text.len()) = 0;
    len_out.write(text.len());
    Ok(())
}

/// Handles made by [`into_handle`] and not yet freed, process-wide.
static LIVE_HANDLES: AtomicUsize = AtomicUsize::new(0);

/// Moves a value to the heap for C to own; freed by the type's `_free`.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    LIVE_HANDLES.fetch_add(1, Ordering::Relaxed);
    Box::into_raw(Box::new(value))
}

/// Frees a handle made by [`into_handle`]; NULL is a no-op.
///
/// # Safety
/// `ptr` is NULL or came from `into_handle::<T>` and is not used afterwards.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        LIVE_HANDLES.fetch_sub(1, Ordering::Relaxed);
        drop(Box::from_raw(ptr));
    }
}

/// How many handles of any type this library has handed out and not yet seen freed, in the
/// whole process (borrowed pointers, such as entitlements of a page, are not counted). For
/// leak checks in tests and diagnostics: a wrapper that frees what it owns comes back to the
/// count it started from.
#[no_mangle]
pub extern "C" fn td_live_handle_count() -> usize {
    guard_value(0, || LIVE_HANDLES.load(Ordering::Relaxed))
}

/// A C pointer the caller promised to keep valid and thread-safe (`user_data`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct UserData(pub(crate) *mut std::ffi::c_void);

// SAFETY: the documentation of every function taking `user_data` makes the caller promise
// that it may be used from the threads that call into the client.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}
