//! The boundary guard: panics, NULLs, and the thread-local last error.

use std::cell::RefCell;
use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{wxnet_status, WXNET_E_PANIC, WXNET_OK};
use crate::errors::{ApiError, Status};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records the detail of a failed call for `wxnet_last_error`. Never panics:
/// on a thread whose thread-locals are being destroyed (a call from a
/// `pthread_key` or C++ `thread_local` destructor) the detail is dropped.
pub(super) fn set_last_error(detail: &str) {
    let clean: Vec<u8> = detail.bytes().filter(|b| *b != 0).collect();
    let text = CString::new(clean).expect("NUL bytes were filtered out");
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut last) = e.try_borrow_mut() {
            *last = text;
        }
    });
}

/// The current thread's last error text (NUL-terminated, never NULL; empty
/// where the thread-locals are gone).
pub(super) fn last_error_ptr() -> *const core::ffi::c_char {
    LAST_ERROR
        .try_with(|e| e.try_borrow().map(|last| last.as_ptr()).unwrap_or(c"".as_ptr()))
        .unwrap_or(c"".as_ptr())
}

/// Runs an export's body: a panic becomes `WXNET_E_PANIC`, an error its
/// status, and either one's detail becomes the thread's last error.
pub(super) fn guard(name: &str, body: impl FnOnce() -> Result<(), ApiError>) -> wxnet_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => WXNET_OK,
        Ok(Err(e)) => {
            set_last_error(&format!("{name}: {}", e.detail));
            e.status as wxnet_status
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!("{name}: internal panic: {what}"));
            WXNET_E_PANIC
        }
    }
}

/// `Err(NullArgument)` naming the parameter when `p` is NULL.
pub(super) fn non_null<T>(p: *const T, param: &str) -> Result<(), ApiError> {
    if p.is_null() {
        Err(ApiError::new(Status::NullArgument, format!("{param} is NULL")))
    } else {
        Ok(())
    }
}

/// A borrowed byte string from C: `(NULL, 0)` is empty, `(NULL, n > 0)` is an error.
///
/// # Safety
/// If non-NULL, `ptr` must point to `len` readable bytes that stay valid and
/// unchanged for `'a` (the duration of the call).
pub(super) unsafe fn bytes<'a>(ptr: *const u8, len: usize, param: &str) -> Result<&'a [u8], ApiError> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(ApiError::new(
                Status::NullArgument,
                format!("{param} is NULL with length {len}"),
            ))
        };
    }
    // No object is larger than isize::MAX bytes: such a length is not a buffer.
    if len > isize::MAX as usize {
        return Err(ApiError::new(
            Status::InvalidArgument,
            format!("{param}: length {len} is larger than any buffer"),
        ));
    }
    // SAFETY: non-NULL, at most isize::MAX, and the caller guarantees `len`
    // readable bytes for 'a.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Writes an out-parameter (only called on success).
///
/// # Safety
/// `out` must be a valid, aligned, writable pointer (checked non-NULL before).
pub(super) unsafe fn write_out<T>(out: *mut T, value: T) {
    // SAFETY: the caller checked `out` is non-NULL and the C contract makes it writable.
    unsafe { out.write(value) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::WXNET_E_NULL_ARGUMENT;

    #[test]
    fn panics_become_status_and_last_error() {
        let status = guard("wxnet_test", || panic!("boom"));
        assert_eq!(status, WXNET_E_PANIC);
        // SAFETY: last_error_ptr returns a valid NUL-terminated thread-local string.
        let text = unsafe { std::ffi::CStr::from_ptr(last_error_ptr()) }
            .to_string_lossy()
            .into_owned();
        assert!(text.contains("internal panic: boom"), "{text}");
        assert_eq!(
            guard("x", || Err(ApiError::new(Status::NullArgument, "p is NULL"))),
            WXNET_E_NULL_ARGUMENT
        );
    }

    #[test]
    fn a_length_no_buffer_can_have_is_refused() {
        let one = [7u8];
        // SAFETY: the length is refused before any byte is read.
        let err = unsafe { bytes(one.as_ptr(), usize::MAX, "data") }.expect_err("too long");
        assert_eq!(err.status, Status::InvalidArgument);
        // SAFETY: (NULL, 0) reads nothing; one byte is readable at `one`.
        assert_eq!(unsafe { bytes(std::ptr::null(), 0, "data") }.expect("empty"), b"");
        // SAFETY: as above.
        assert_eq!(unsafe { bytes(one.as_ptr(), 1, "data") }.expect("one byte"), [7]);
    }
}
