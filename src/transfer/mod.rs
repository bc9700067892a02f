//! wx.uploadFile (streamed multipart) and wx.downloadFile (streamed to
//! disk), on the shared HTTP exchange ([`crate::http`]): policy, queue,
//! redirects, timeouts, Referer, profile, abort.

pub mod download;
pub mod mime;
pub mod progress;
pub mod upload;

use crate::errors::{Api, Errno, WxError};
use crate::sandbox::SandboxError;

/// [`off_worker`] for a step before the task's queue wait (which the
/// task's timeout does not cover yet): bounded by that timeout too.
pub(crate) async fn off_worker_within<T: Send + 'static>(
    api: Api,
    limit: std::time::Duration,
    step: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WxError> {
    tokio::time::timeout(limit, off_worker(api, step))
        .await
        .map_err(|_| WxError::timeout())?
}

/// Runs one file-system step of `api`'s task (checks that resolve or create
/// directories, opening and creating files, syncing them) on tokio's
/// blocking pool, not on the network worker: a slow or hung file system then
/// holds up this task only, not every app's network I/O. If the task is
/// dropped meanwhile (abort, timeout, app free), the step still runs to its
/// end and what it returns is dropped there: return values that own
/// something on disk remove it when dropped.
pub(crate) async fn off_worker<T: Send + 'static>(
    api: Api,
    step: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WxError> {
    match tokio::task::spawn_blocking(step).await {
        Ok(value) => Ok(value),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // The runtime is shutting down (the library is unloading).
        Err(_) => Err(WxError::abort(api)),
    }
}

/// A sandbox refusal as a wx failure of `api`.
pub(crate) fn sandbox_error(vpath: &str, e: SandboxError) -> WxError {
    match e {
        SandboxError::Missing(_) => WxError::new(Errno::PermissionDenied, format!("{e}")),
        _ => WxError::new(
            Errno::PermissionDenied,
            format!("permission denied can not open file {vpath}: {e}"),
        ),
    }
}
