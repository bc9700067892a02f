//! The boundary guard: panics, NULLs, and the thread-local last error.

use std::cell::RefCell;
use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{wxnet_status, WXNET_E_PANIC, WXNET_OK};
use crate::errors::{ApiError, Status};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(super) fn set_last_error(detail: &str) {
    let clean: Vec<u8> = detail.bytes().filter(|b| *b != 0).collect();
    let text = CString::new(clean).expect("NUL bytes were filtered out");
    LAST_ERROR.with(|e| *e.borrow_mut() = text);
}

/// The current thread's last error text (NUL-terminated, never NULL).
pub(super) fn last_error_ptr() -> *const core::ffi::c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
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
    // SAFETY: non-NULL, and the caller guarantees `len` readable bytes for 'a.
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
}
