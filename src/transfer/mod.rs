//! wx.uploadFile (streamed multipart) and wx.downloadFile (streamed to
//! disk), on the shared HTTP exchange ([`crate::http`]): policy, queue,
//! redirects, timeouts, Referer, profile, abort.

pub mod download;
pub mod mime;
pub mod progress;
pub mod upload;

use crate::errors::{Errno, WxError};
use crate::sandbox::SandboxError;

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
