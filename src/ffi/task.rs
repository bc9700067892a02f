//! Task starts (`wxnet_request`, uploads, downloads, sockets) and task
//! operations by id (abort, socket send/close).

use core::ffi::{c_char, c_void};

use bytes::Bytes;

use super::app::{app_ref, wxnet_app};
use super::guard::{bytes, guard, non_null, write_out};
use super::{wxnet_status, wxnet_task_id};
use crate::errors::ApiError;
use crate::event::UserData;

/// Starts a wx.request. `options_json` (`options_len` bytes, copied) is the wx
/// options object; `body`/`body_len` (copied; NULL and 0 for none) is an
/// ArrayBuffer `data`, sent as is. On `WXNET_OK`, `*out_task` names the task;
/// it will get exactly one terminal event (SUCCESS or FAIL), after which the
/// library never touches `task_user_data` again. Events arrive on the app's
/// dispatcher thread (callback mode) or through `wxnet_app_poll`.
/// Malformed JSON or options that are not an object: `WXNET_E_INVALID_ARGUMENT`,
/// no event. Invalid option values are wx failures: a FAIL event.
///
/// # Safety
/// `app` from `wxnet_app_new` (freed: `WXNET_E_CLOSED`); `options_json` readable for `options_len` bytes; `body`
/// readable for `body_len` bytes unless NULL; `out_task` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_request(
    app: *mut wxnet_app,
    options_json: *const c_char,
    options_len: usize,
    body: *const u8,
    body_len: usize,
    task_user_data: *mut c_void,
    out_task: *mut wxnet_task_id,
) -> wxnet_status {
    let ud = UserData(task_user_data as usize);
    guard("wxnet_request", || {
        non_null(out_task, "out_task")?;
        non_null(options_json, "options_json")?;
        // SAFETY: caller guarantees the lengths.
        let options = unsafe { bytes(options_json.cast(), options_len, "options_json") }?;
        // SAFETY: caller guarantees body_len readable bytes unless NULL; (NULL, n > 0) is refused.
        let bytes_in = unsafe { bytes(body, body_len, "body") }?;
        // A non-NULL pointer is an ArrayBuffer (even an empty one); NULL means no binary data.
        let body = (!body.is_null()).then(|| Bytes::copy_from_slice(bytes_in));
        let id = app_ref(app)?.request(options, body, ud)?;
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out_task, id) };
        Ok(())
    })
}

/// Shared shape of the option-only starts (upload, download, socket).
///
/// # Safety
/// As for `wxnet_request`.
unsafe fn start_with_options(
    name: &str,
    app: *mut wxnet_app,
    options_json: *const c_char,
    options_len: usize,
    out_task: *mut wxnet_task_id,
    start: impl FnOnce(&crate::App, &[u8]) -> Result<u64, ApiError>,
) -> wxnet_status {
    guard(name, || {
        non_null(out_task, "out_task")?;
        non_null(options_json, "options_json")?;
        // SAFETY: caller guarantees the length.
        let options = unsafe { bytes(options_json.cast(), options_len, "options_json") }?;
        let id = start(&app_ref(app)?, options)?;
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out_task, id) };
        Ok(())
    })
}

/// Starts a wx.uploadFile: a multipart POST of the sandboxed file
/// `filePath` (`wxfile://…`) streamed from disk, with `name`, `formData`,
/// `header`, `timeout`. Events: PROGRESS `{progress, totalBytesSent,
/// totalBytesExpectedToSend}` (throttled, one at 100), HEADERS_RECEIVED, then
/// SUCCESS `{errMsg, statusCode, profile}` with the response text as `data`,
/// or FAIL. Same ownership and threading rules as `wxnet_request`.
///
/// # Safety
/// As for `wxnet_request`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_upload_file(
    app: *mut wxnet_app,
    options_json: *const c_char,
    options_len: usize,
    task_user_data: *mut c_void,
    out_task: *mut wxnet_task_id,
) -> wxnet_status {
    let ud = UserData(task_user_data as usize);
    // SAFETY: forwarded contract.
    unsafe {
        start_with_options(
            "wxnet_upload_file",
            app,
            options_json,
            options_len,
            out_task,
            |app, o| app.upload_file(o, ud),
        )
    }
}

/// Starts a wx.downloadFile: GET streamed to a `.part` file and renamed when
/// complete, to `filePath` (under `wxfile://usr/`) or a new temp file.
/// Events: HEADERS_RECEIVED, PROGRESS `{progress, totalBytesWritten,
/// totalBytesExpectedToWrite}` (throttled, one at 100), then SUCCESS
/// `{errMsg, statusCode, tempFilePath | filePath, profile}` or FAIL (no
/// partial file is left). Same ownership and threading rules as `wxnet_request`.
///
/// # Safety
/// As for `wxnet_request`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_download_file(
    app: *mut wxnet_app,
    options_json: *const c_char,
    options_len: usize,
    task_user_data: *mut c_void,
    out_task: *mut wxnet_task_id,
) -> wxnet_status {
    let ud = UserData(task_user_data as usize);
    // SAFETY: forwarded contract.
    unsafe {
        start_with_options(
            "wxnet_download_file",
            app,
            options_json,
            options_len,
            out_task,
            |app, o| app.download_file(o, ud),
        )
    }
}

/// Starts a wx.connectSocket (`url` wss://, `header`, `protocols`,
/// `tcpNoDelay`, `perMessageDeflate` (accepted, not negotiated), `timeout`
/// for the handshake). Events: SUCCESS (`connectSocket:ok`, not terminal) or
/// FAIL (terminal: policy, bad options, more than `maxSockets` alive) at
/// once; then SOCKET_OPEN `{header, profile}`, SOCKET_MESSAGE (payload in
/// `data`), SOCKET_ERROR `{errMsg}`, and exactly one SOCKET_CLOSE `{code,
/// reason}` (terminal). Same ownership and threading rules as `wxnet_request`.
///
/// # Safety
/// As for `wxnet_request`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_connect_socket(
    app: *mut wxnet_app,
    options_json: *const c_char,
    options_len: usize,
    task_user_data: *mut c_void,
    out_task: *mut wxnet_task_id,
) -> wxnet_status {
    let ud = UserData(task_user_data as usize);
    // SAFETY: forwarded contract.
    unsafe {
        start_with_options(
            "wxnet_connect_socket",
            app,
            options_json,
            options_len,
            out_task,
            |app, o| app.connect_socket(o, ud),
        )
    }
}

/// Aborts a task. Never blocks, idempotent, works on queued tasks: the task
/// ends with FAIL `…:fail abort` unless it had already ended (then `WXNET_OK`
/// and nothing happens). Unknown ids or ids of a freed app:
/// `WXNET_E_UNKNOWN_TASK`. Any thread, including inside callbacks.
#[unsafe(no_mangle)]
pub extern "C" fn wxnet_task_abort(task: wxnet_task_id) -> wxnet_status {
    guard("wxnet_task_abort", || crate::app::task_abort(task))
}

/// Sends a text (`binary` false; must be UTF-8, else
/// `WXNET_E_INVALID_ARGUMENT`) or binary message on an open socket; `data`
/// is copied and queued (never blocks); sends keep their order. Not open
/// (connecting, closing, ended), or the socket's queue already holds
/// `maxSocketSendQueueBytes` for a peer that does not read (a larger message
/// goes alone when nothing waits): `WXNET_E_INVALID_STATE`.
///
/// # Safety
/// `data` readable for `len` bytes unless NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_socket_send(
    task: wxnet_task_id,
    data: *const u8,
    len: usize,
    binary: bool,
) -> wxnet_status {
    guard("wxnet_socket_send", || {
        // SAFETY: caller guarantees len readable bytes.
        let data = unsafe { bytes(data, len, "data") }?;
        crate::app::socket_send(task, data, binary)
    })
}

/// Closes a socket with `code` (0 means 1000; else 1000 or 3000-4999) and a
/// reason of at most 123 UTF-8 bytes (copied), else `WXNET_E_INVALID_ARGUMENT`.
/// Before the socket opened, this ends the attempt. Either way exactly one
/// SOCKET_CLOSE follows; a peer that never answers is cut after a bounded
/// wait. A second close is a no-op.
///
/// # Safety
/// `reason` readable for `reason_len` bytes unless NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_socket_close(
    task: wxnet_task_id,
    code: i32,
    reason: *const c_char,
    reason_len: usize,
) -> wxnet_status {
    guard("wxnet_socket_close", || {
        // SAFETY: caller guarantees reason_len readable bytes.
        let reason = unsafe { bytes(reason.cast(), reason_len, "reason") }?;
        crate::app::socket_close(task, code, reason)
    })
}
