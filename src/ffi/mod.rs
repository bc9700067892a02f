//! The C ABI (`include/wxnet.h` is generated from this module by cbindgen).
//!
//! This is the only module with `unsafe` and `extern "C"` items. Every export
//! runs inside [`guard`]: a panic becomes `WXNET_E_PANIC`, a NULL where a
//! pointer is required becomes `WXNET_E_NULL_ARGUMENT`, and the detail of any
//! failure is readable with `wxnet_last_error` on the same thread.
#![allow(
    unsafe_code,
    reason = "the FFI boundary: raw pointers from C are turned into safe Rust types here and only here"
)]
#![allow(
    non_camel_case_types,
    reason = "C type names follow the wxnet_<object> convention of the header"
)]

#[cfg(target_os = "android")]
mod android;
mod app;
mod event;
mod guard;
#[cfg(feature = "jni")]
mod jni;
mod meta;
mod path;
mod task;

#[cfg(target_os = "android")]
pub use android::*;
pub use app::*;
pub use event::*;
pub use meta::*;
pub use path::*;
pub use task::*;

/// Status of every fallible call: `WXNET_OK` or a negative `WXNET_E_*`.
pub type wxnet_status = i32;
/// A task (request, upload, download or socket). Never 0, never reused, below 2^63.
pub type wxnet_task_id = u64;

/// Success.
pub const WXNET_OK: wxnet_status = 0;
/// A required pointer was NULL (or a `(NULL, n > 0)` byte string).
pub const WXNET_E_NULL_ARGUMENT: wxnet_status = -1;
/// Malformed JSON, not UTF-8, options that are not an object, bad close code or reason.
pub const WXNET_E_INVALID_ARGUMENT: wxnet_status = -2;
/// The app config is invalid; `wxnet_last_error` names the field.
pub const WXNET_E_INVALID_CONFIG: wxnet_status = -3;
/// The task id is unknown, or its app was freed.
pub const WXNET_E_UNKNOWN_TASK: wxnet_status = -4;
/// The call does not fit the object's state (e.g. send on a socket that is not open).
pub const WXNET_E_INVALID_STATE: wxnet_status = -5;
/// Poll-mode call on a callback-mode app, or the reverse.
pub const WXNET_E_WRONG_MODE: wxnet_status = -6;
/// `wxnet_app_free` from inside that app's own callback.
pub const WXNET_E_WOULD_DEADLOCK: wxnet_status = -7;
/// The app is being freed.
pub const WXNET_E_CLOSED: wxnet_status = -8;
/// A panic was caught inside the library; the call had no effect.
pub const WXNET_E_PANIC: wxnet_status = -99;

/// Terminal: the wx `success` res. Request: `data` holds the body.
pub const WXNET_EVENT_SUCCESS: i32 = 1;
/// Terminal: `{errMsg, errno}`.
pub const WXNET_EVENT_FAIL: i32 = 2;
/// `{statusCode, header, cookies}` before the body.
pub const WXNET_EVENT_HEADERS_RECEIVED: i32 = 3;
/// Upload/download progress object.
pub const WXNET_EVENT_PROGRESS: i32 = 4;
/// `{}` with the chunk in `data` (enableChunked).
pub const WXNET_EVENT_CHUNK_RECEIVED: i32 = 5;
/// Socket opened: `{header, profile}`.
pub const WXNET_EVENT_SOCKET_OPEN: i32 = 10;
/// `{"dataKind": "text"|"arraybuffer"}` with the message in `data`.
pub const WXNET_EVENT_SOCKET_MESSAGE: i32 = 11;
/// `{errMsg}`.
pub const WXNET_EVENT_SOCKET_ERROR: i32 = 12;
/// Terminal for sockets: `{code, reason}`.
pub const WXNET_EVENT_SOCKET_CLOSE: i32 = 13;

/// Log levels of `wxnet_set_log_callback`.
pub const WXNET_LOG_ERROR: i32 = 1;
pub const WXNET_LOG_WARN: i32 = 2;
pub const WXNET_LOG_INFO: i32 = 3;
pub const WXNET_LOG_DEBUG: i32 = 4;
pub const WXNET_LOG_TRACE: i32 = 5;

/// The C ABI version this header describes.
pub const WXNET_ABI_VERSION: i32 = 1;
/// The library version (`wxnet_version` returns it as a string).
pub const WXNET_VERSION_MAJOR: i32 = 0;
pub const WXNET_VERSION_MINOR: i32 = 1;
pub const WXNET_VERSION_PATCH: i32 = 0;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::Status;
    use crate::event::EventKind;

    /// `Status` is the only source of the numbers: each `WXNET_*` status
    /// constant, `wxnet_status_str` and the JNI mapping agree with it.
    #[test]
    fn every_status_matches_its_constant_and_mappings() {
        let constants = [
            (Status::Ok, WXNET_OK, "ok"),
            (Status::NullArgument, WXNET_E_NULL_ARGUMENT, "null argument"),
            (Status::InvalidArgument, WXNET_E_INVALID_ARGUMENT, "invalid argument"),
            (Status::InvalidConfig, WXNET_E_INVALID_CONFIG, "invalid config"),
            (Status::UnknownTask, WXNET_E_UNKNOWN_TASK, "unknown task"),
            (Status::InvalidState, WXNET_E_INVALID_STATE, "invalid state"),
            (Status::WrongMode, WXNET_E_WRONG_MODE, "wrong mode"),
            (Status::WouldDeadlock, WXNET_E_WOULD_DEADLOCK, "would deadlock"),
            (Status::Closed, WXNET_E_CLOSED, "closed"),
            (Status::Panic, WXNET_E_PANIC, "panic"),
        ];
        assert_eq!(constants.len(), Status::ALL.len(), "a status without a constant");
        for (status, constant, text) in constants {
            assert_eq!(status as i32, constant, "{status:?}");
            assert_eq!(Status::from_code(constant), Some(status));
            assert_eq!(Status::describe_nul(constant), format!("{text}\0"));
        }
        assert_eq!(Status::from_code(-50), None);
        assert_eq!(Status::describe_nul(-50), "unknown status\0");
    }

    /// `EventKind` is the only source of the numbers: each `WXNET_EVENT_*`
    /// constant agrees with it (the JNI bridge passes `kind` through as is).
    #[test]
    fn every_event_kind_matches_its_constant() {
        let constants = [
            (EventKind::Success, WXNET_EVENT_SUCCESS),
            (EventKind::Fail, WXNET_EVENT_FAIL),
            (EventKind::HeadersReceived, WXNET_EVENT_HEADERS_RECEIVED),
            (EventKind::Progress, WXNET_EVENT_PROGRESS),
            (EventKind::ChunkReceived, WXNET_EVENT_CHUNK_RECEIVED),
            (EventKind::SocketOpen, WXNET_EVENT_SOCKET_OPEN),
            (EventKind::SocketMessage, WXNET_EVENT_SOCKET_MESSAGE),
            (EventKind::SocketError, WXNET_EVENT_SOCKET_ERROR),
            (EventKind::SocketClose, WXNET_EVENT_SOCKET_CLOSE),
        ];
        assert_eq!(constants.len(), EventKind::ALL.len(), "a kind without a constant");
        for (kind, constant) in constants {
            assert_eq!(kind as i32, constant, "{kind:?}");
        }
    }

    #[test]
    fn abi_version_export_matches_the_header_constant() {
        assert_eq!(wxnet_abi_version(), WXNET_ABI_VERSION);
    }

    #[test]
    fn version_constant_matches_the_crate() {
        let v = format!(
            "{}.{}.{}",
            super::WXNET_VERSION_MAJOR,
            super::WXNET_VERSION_MINOR,
            super::WXNET_VERSION_PATCH
        );
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
    }
}
