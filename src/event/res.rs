//! Builders for the wx `res` JSON objects, every event's in one place and
//! built one way: a `Serialize` struct of borrowed data, serialized once.

use serde::Serialize;

use crate::errors::{Api, WxError};
pub use crate::http::profile::Profile;

/// FAIL `{errMsg, errno}`.
pub fn fail_json(api: Api, err: &WxError) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Fail {
        err_msg: String,
        errno: i32,
    }
    to_json(&Fail {
        err_msg: err.err_msg(api),
        errno: err.errno as i32,
    })
}

/// SOCKET_CLOSE `{code, reason}`.
pub fn close_json(code: u16, reason: &str) -> String {
    #[derive(Serialize)]
    struct Close<'a> {
        code: u16,
        reason: &'a str,
    }
    to_json(&Close { code, reason })
}

/// `{errMsg}` (SOCKET_ERROR).
pub fn err_msg_json(msg: &str) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ErrMsg<'a> {
        err_msg: &'a str,
    }
    to_json(&ErrMsg { err_msg: msg })
}

/// `{errMsg: "<api>:ok"}` (connectSocket's SUCCESS).
pub fn ok_json(api: Api) -> String {
    err_msg_json(&format!("{}:ok", api.name()))
}

/// CHUNK_RECEIVED `{}` (the chunk is the event's data).
pub fn chunk_json() -> String {
    #[derive(Serialize)]
    struct Empty {}
    to_json(&Empty {})
}

/// SOCKET_MESSAGE `{dataKind}` (the message is the event's data).
pub fn message_json(binary: bool) -> String {
    data_kind_json(if binary { "arraybuffer" } else { "text" })
}

fn data_kind_json(data_kind: &str) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct DataKind<'a> {
        data_kind: &'a str,
    }
    to_json(&DataKind { data_kind })
}

/// SOCKET_OPEN `{header, profile}`.
pub fn socket_open_json<P: Serialize>(headers: &Headers, profile: &P) -> String {
    #[derive(Serialize)]
    struct Open<'a, P> {
        header: &'a serde_json::Map<String, serde_json::Value>,
        profile: &'a P,
    }
    to_json(&Open {
        header: &headers.header,
        profile,
    })
}

/// wx.request's SUCCESS `{errMsg, statusCode, header, cookies, profile,
/// dataKind}` (the body is the event's data).
pub fn request_success_json(status: u16, headers: &Headers, profile: &Profile, data_kind: &str) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Success<'a> {
        err_msg: &'static str,
        status_code: u16,
        header: &'a serde_json::Map<String, serde_json::Value>,
        cookies: &'a [String],
        profile: &'a Profile,
        data_kind: &'a str,
    }
    to_json(&Success {
        err_msg: "request:ok",
        status_code: status,
        header: &headers.header,
        cookies: &headers.cookies,
        profile,
        data_kind,
    })
}

/// wx.uploadFile's SUCCESS `{errMsg, statusCode, profile}` (the response
/// text is the event's data).
pub fn upload_success_json(status: u16, profile: &Profile) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Success<'a> {
        err_msg: &'static str,
        status_code: u16,
        profile: &'a Profile,
    }
    to_json(&Success {
        err_msg: "uploadFile:ok",
        status_code: status,
        profile,
    })
}

/// Where a download was saved: `filePath` (a user file the host chose) or
/// `tempFilePath`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved<'a> {
    FilePath(&'a str),
    TempFilePath(&'a str),
}

/// wx.downloadFile's SUCCESS `{errMsg, statusCode, filePath|tempFilePath,
/// profile}`.
pub fn download_success_json(status: u16, saved: Saved<'_>, profile: &Profile) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Success<'a> {
        err_msg: &'static str,
        status_code: u16,
        #[serde(skip_serializing_if = "Option::is_none")]
        file_path: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        temp_file_path: Option<&'a str>,
        profile: &'a Profile,
    }
    let (file_path, temp_file_path) = match saved {
        Saved::FilePath(p) => (Some(p), None),
        Saved::TempFilePath(p) => (None, Some(p)),
    };
    to_json(&Success {
        err_msg: "downloadFile:ok",
        status_code: status,
        file_path,
        temp_file_path,
        profile,
    })
}

/// uploadFile's PROGRESS `{progress, totalBytesSent, totalBytesExpectedToSend}`.
pub fn upload_progress_json(progress: u64, sent: u64, total: u64) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Progress {
        progress: u64,
        total_bytes_sent: u64,
        total_bytes_expected_to_send: u64,
    }
    to_json(&Progress {
        progress,
        total_bytes_sent: sent,
        total_bytes_expected_to_send: total,
    })
}

/// downloadFile's PROGRESS `{progress, totalBytesWritten,
/// totalBytesExpectedToWrite}`.
pub fn download_progress_json(progress: u64, written: u64, total: u64) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Progress {
        progress: u64,
        total_bytes_written: u64,
        total_bytes_expected_to_write: u64,
    }
    to_json(&Progress {
        progress,
        total_bytes_written: written,
        total_bytes_expected_to_write: total,
    })
}

/// Response headers as wx shows them: an object (repeated headers joined
/// with ", ") plus the raw `Set-Cookie` strings apart.
#[derive(Debug, Default, Serialize)]
pub struct Headers {
    pub header: serde_json::Map<String, serde_json::Value>,
    pub cookies: Vec<String>,
}

impl Headers {
    pub fn from_http(map: &http::HeaderMap) -> Headers {
        let mut out = Headers::default();
        for (name, value) in map {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            if name == http::header::SET_COOKIE {
                out.cookies.push(text);
                continue;
            }
            match out.header.get_mut(name.as_str()) {
                Some(serde_json::Value::String(joined)) => {
                    joined.push_str(", ");
                    joined.push_str(&text);
                }
                _ => {
                    out.header
                        .insert(name.as_str().to_owned(), serde_json::Value::String(text));
                }
            }
        }
        out
    }
}

/// HEADERS_RECEIVED `{statusCode, header, cookies}`.
pub fn headers_received_json(status: u16, headers: &Headers) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct H<'a> {
        status_code: u16,
        header: &'a serde_json::Map<String, serde_json::Value>,
        cookies: &'a [String],
    }
    to_json(&H {
        status_code: status,
        header: &headers.header,
        cookies: &headers.cookies,
    })
}

/// Serializes a value that cannot fail to serialize (plain structs of
/// strings, numbers and maps with string keys).
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("res structs always serialize")
}
