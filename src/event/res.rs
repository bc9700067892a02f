//! Builders for the wx `res` JSON objects. Each event's JSON is serialized
//! exactly once, from borrowed data.

use serde::Serialize;

use crate::errors::{Api, WxError};

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

/// The `profile` object of request/upload/download results (spec section 1).
/// Timestamps are ms since the epoch (fractional); 0 when not measured.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub invoke_start: f64,
    pub queue_start: f64,
    pub queue_end: f64,
    pub fetch_start: f64,
    pub redirect_start: f64,
    pub redirect_end: f64,
    pub domain_look_up_start: f64,
    pub domain_look_up_end: f64,
    pub connect_start: f64,
    pub connect_end: f64,
    #[serde(rename = "SSLconnectionStart")]
    pub ssl_connection_start: f64,
    #[serde(rename = "SSLconnectionEnd")]
    pub ssl_connection_end: f64,
    pub request_start: f64,
    pub request_end: f64,
    pub response_start: f64,
    pub response_end: f64,
    pub rtt: f64,
    #[serde(rename = "estimate_nettype")]
    pub estimate_nettype: u32,
    pub http_rtt_estimate: f64,
    pub transport_rtt_estimate: f64,
    pub downstream_throughput_kbps_estimate: f64,
    pub throughput_kbps: f64,
    #[serde(rename = "peerIP")]
    pub peer_ip: String,
    pub port: u16,
    pub protocol: &'static str,
    pub socket_reused: bool,
    pub send_bytes_count: u64,
    /// WeChat's spelling.
    #[serde(rename = "receivedBytedCount")]
    pub received_byted_count: u64,
}

/// Serializes a value that cannot fail to serialize (plain structs of
/// strings, numbers and maps with string keys).
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("res structs always serialize")
}
