//! Version, status strings, last error, log callback.

use core::ffi::{c_char, c_void};

use super::guard::{guard, last_error_ptr};
use super::wxnet_status;
use crate::errors::{ApiError, Status};

/// The library version, e.g. "0.1.0". Static; never freed.
#[unsafe(no_mangle)]
pub extern "C" fn wxnet_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The C ABI version of the loaded library, to compare with the header's
/// `WXNET_ABI_VERSION` before any other call: a binding that finds another
/// number must not use the library. Any thread; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn wxnet_abi_version() -> i32 {
    super::WXNET_ABI_VERSION
}

/// A static description of a status code ("unknown status" for others).
#[unsafe(no_mangle)]
pub extern "C" fn wxnet_status_str(status: wxnet_status) -> *const c_char {
    Status::describe_nul(status).as_ptr().cast()
}

/// The detail of the last failed wxnet call on the calling thread (e.g. which
/// config field is wrong). Never NULL (empty when none). Valid until the next
/// wxnet call on this thread; owned by the library.
#[unsafe(no_mangle)]
pub extern "C" fn wxnet_last_error() -> *const c_char {
    last_error_ptr()
}

/// The host's log sink: `(ud, level 1..5, msg, len)`; `msg` is UTF-8, also
/// NUL-terminated, valid during the call only.
pub type wxnet_log_callback = Option<unsafe extern "C" fn(ud: *mut c_void, level: i32, msg: *const c_char, len: usize)>;

/// Sets the process-wide log callback (`cb` NULL: logging off). It is
/// called on the library's log thread (`wxnet-log`), one record at a time
/// (at most 1024 wait; more are dropped and counted in a warning), never on
/// a network worker, and never receives URLs
/// with their query strings, header values, bodies or socket messages (the
/// records of the libraries wxnet uses are limited to their warnings and
/// errors). `max_level`: 1 error, 2 warn, 3 info, 4 debug, 5 trace. `ud` is
/// passed back as is.
///
/// When this returns, the old callback is not running and is never called
/// again, so its `ud` may be freed; the only exception is a call from inside
/// the old callback itself (the callback may call this: no lock is held
/// while it runs), which returns before the callback does. Records made
/// while the callback runs, on its thread, are dropped.
/// `WXNET_E_INVALID_STATE` when the log thread cannot be started.
#[unsafe(no_mangle)]
pub extern "C" fn wxnet_set_log_callback(cb: wxnet_log_callback, ud: *mut c_void, max_level: i32) -> wxnet_status {
    let ud = ud as usize;
    guard("wxnet_set_log_callback", || {
        let sink = cb.map(|cb| {
            Box::new(move |level: i32, msg: &str| {
                let mut text = Vec::with_capacity(msg.len() + 1);
                text.extend_from_slice(msg.as_bytes());
                text.push(0);
                // SAFETY: the host registered `cb` for exactly this signature and
                // keeps `ud` valid while registered; `text` outlives the call.
                unsafe { cb(ud as *mut c_void, level, text.as_ptr().cast(), msg.len()) }
            }) as crate::logging::LogSink
        });
        crate::logging::set_sink(sink, max_level)
            .map_err(|e| ApiError::new(Status::InvalidState, format!("cannot start the log thread: {e}")))
    })
}
