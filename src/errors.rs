//! Every wx failure in one table: the errno a host branches on and the reason
//! text that follows `"<api>:fail "` in `errMsg`, plus the synchronous API
//! statuses of the C ABI (misuse, never network failures).

use std::fmt;

/// The four wx network APIs; the prefix of every `errMsg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    Request,
    UploadFile,
    DownloadFile,
    ConnectSocket,
}

impl Api {
    /// The name used in `errMsg`, e.g. `request` in `request:ok`.
    pub fn name(self) -> &'static str {
        match self {
            Api::Request => "request",
            Api::UploadFile => "uploadFile",
            Api::DownloadFile => "downloadFile",
            Api::ConnectSocket => "connectSocket",
        }
    }
}

/// The errno table of spec section "errno". Numbers are what hosts branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Errno {
    /// `abort()` of a request or upload ("cancel").
    Cancel = 1,
    Timeout = 5,
    InvalidParameter = 1001,
    Unknown = 600000,
    Network = 600001,
    NotInDomainList = 600002,
    Interrupted = 600003,
    MaxTaskCount = 600007,
    MaxRedirect = 600008,
    InvalidUrl = 600009,
    InvalidData = 600010,
    ConvertUtf8 = 602302,
    AbortDownload = 603105,
    SaveFile = 603300,
    MaxFileSize = 603301,
    PermissionDenied = 603303,
}

/// A wx-level failure: becomes a FAIL event `{errMsg, errno}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxError {
    pub errno: Errno,
    pub reason: String,
}

impl WxError {
    pub fn new(errno: Errno, reason: impl Into<String>) -> Self {
        WxError {
            errno,
            reason: reason.into(),
        }
    }

    /// `abort()`: errno 603105 for downloads, 1 ("cancel") otherwise.
    pub fn abort(api: Api) -> Self {
        let errno = if api == Api::DownloadFile {
            Errno::AbortDownload
        } else {
            Errno::Cancel
        };
        WxError::new(errno, "abort")
    }

    pub fn timeout() -> Self {
        WxError::new(Errno::Timeout, "timeout")
    }

    pub fn interrupted() -> Self {
        WxError::new(Errno::Interrupted, "interrupted")
    }

    /// A parameter of the options object is missing or ill-typed.
    pub fn parameter(detail: impl fmt::Display) -> Self {
        WxError::new(Errno::InvalidParameter, format!("parameter error: {detail}"))
    }

    pub fn network(detail: impl fmt::Display) -> Self {
        WxError::new(Errno::Network, detail.to_string())
    }

    /// The full `errMsg` for this failure of `api`.
    pub fn err_msg(&self, api: Api) -> String {
        format!("{}:fail {}", api.name(), self.reason)
    }
}

impl From<crate::policy::PolicyViolation> for WxError {
    fn from(v: crate::policy::PolicyViolation) -> Self {
        use crate::policy::PolicyViolation as V;
        let errno = match v {
            V::InvalidUrl(_) => Errno::InvalidUrl,
            V::NotInDomainList(_) => Errno::NotInDomainList,
        };
        WxError::new(errno, v.reason())
    }
}

/// Synchronous statuses of the C ABI (`wxnet_status`). Numbers are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    Ok = 0,
    NullArgument = -1,
    InvalidArgument = -2,
    InvalidConfig = -3,
    UnknownTask = -4,
    InvalidState = -5,
    WrongMode = -6,
    WouldDeadlock = -7,
    Closed = -8,
    Panic = -99,
}

impl Status {
    /// Every status, for the code -> status mapping and the tests that tie
    /// each to its `WXNET_*` constant.
    pub const ALL: [Status; 10] = [
        Status::Ok,
        Status::NullArgument,
        Status::InvalidArgument,
        Status::InvalidConfig,
        Status::UnknownTask,
        Status::InvalidState,
        Status::WrongMode,
        Status::WouldDeadlock,
        Status::Closed,
        Status::Panic,
    ];

    /// The status with this ABI number, if any.
    pub fn from_code(code: i32) -> Option<Status> {
        Status::ALL.into_iter().find(|s| *s as i32 == code)
    }

    /// A static description, as `wxnet_status_str` returns it (NUL-terminated).
    pub fn describe_nul(code: i32) -> &'static str {
        match Status::from_code(code) {
            Some(Status::Ok) => "ok\0",
            Some(Status::NullArgument) => "null argument\0",
            Some(Status::InvalidArgument) => "invalid argument\0",
            Some(Status::InvalidConfig) => "invalid config\0",
            Some(Status::UnknownTask) => "unknown task\0",
            Some(Status::InvalidState) => "invalid state\0",
            Some(Status::WrongMode) => "wrong mode\0",
            Some(Status::WouldDeadlock) => "would deadlock\0",
            Some(Status::Closed) => "closed\0",
            Some(Status::Panic) => "panic\0",
            None => "unknown status\0",
        }
    }
}

/// A synchronous error of an API call: the status plus the detail that
/// `wxnet_last_error` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: Status,
    pub detail: String,
}

impl ApiError {
    pub fn new(status: Status, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.status, self.detail)
    }
}

impl std::error::Error for ApiError {}
