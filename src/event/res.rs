//! Builders for the wx `res` JSON objects. Each event's JSON is serialized
//! exactly once, from borrowed data.

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
    to_json(&serde_json::json!({"code": code, "reason": reason}))
}

/// `{errMsg}` (SOCKET_ERROR).
pub fn err_msg_json(msg: &str) -> String {
    to_json(&serde_json::json!({ "errMsg": msg }))
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
