//! Builders for the wx `res` JSON objects, every event's in one place and
//! built one way: a `Serialize` struct of borrowed data, serialized once.

use serde::Serialize;
use serde_json::value::RawValue;

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
        header: &'a RawValue,
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
        header: &'a RawValue,
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
/// with ", ") plus the raw `Set-Cookie` strings apart. The object is JSON
/// text written once straight from the `HeaderMap` (no map of owned strings)
/// and embedded as is in every event that shows it.
#[derive(Debug, Serialize)]
pub struct Headers {
    pub header: Box<RawValue>,
    pub cookies: Vec<String>,
}

impl Default for Headers {
    fn default() -> Headers {
        Headers {
            header: RawValue::from_string("{}".to_owned()).expect("{} is JSON"),
            cookies: Vec::new(),
        }
    }
}

impl Headers {
    pub fn from_http(map: &http::HeaderMap) -> Headers {
        let mut cookies = Vec::new();
        let mut json = Vec::with_capacity(64 + 48 * map.len());
        json.push(b'{');
        // `keys()` yields each name once, in first-seen order; `get_all`
        // gives its values in order.
        for name in map.keys() {
            if name == http::header::SET_COOKIE {
                cookies.extend(
                    map.get_all(name)
                        .iter()
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                );
                continue;
            }
            if json.len() > 1 {
                json.push(b',');
            }
            write_json_str(&mut json, name.as_str());
            json.push(b':');
            let mut values = map.get_all(name).iter();
            let first = values.next().expect("a key has at least one value");
            match values.next() {
                None => write_json_str(&mut json, &String::from_utf8_lossy(first.as_bytes())),
                Some(second) => {
                    let mut joined = String::from_utf8_lossy(first.as_bytes()).into_owned();
                    for v in std::iter::once(second).chain(values) {
                        joined.push_str(", ");
                        joined.push_str(&String::from_utf8_lossy(v.as_bytes()));
                    }
                    write_json_str(&mut json, &joined);
                }
            }
        }
        json.push(b'}');
        Headers {
            header: RawValue::from_string(String::from_utf8(json).expect("JSON written from str is UTF-8"))
                .expect("the header object is written as JSON"),
            cookies,
        }
    }
}

/// Appends `s` as a JSON string literal (quotes and escapes).
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(out, s).expect("writing a str to a Vec cannot fail");
}

/// HEADERS_RECEIVED `{statusCode, header, cookies}`.
pub fn headers_received_json(status: u16, headers: &Headers) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct H<'a> {
        status_code: u16,
        header: &'a RawValue,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_object_joins_repeats_keeps_order_and_sets_cookies_apart() {
        let mut map = http::HeaderMap::new();
        map.append("content-type", "application/json".parse().expect("value"));
        map.append("x-multi", "a".parse().expect("value"));
        map.append("set-cookie", "a=1; Path=/".parse().expect("value"));
        map.append(
            "x-quote",
            http::HeaderValue::from_bytes(b"say \"hi\" \\ \xe4").expect("value"),
        );
        map.append("x-multi", "b".parse().expect("value"));
        map.append("set-cookie", "b=2".parse().expect("value"));
        let h = Headers::from_http(&map);
        assert_eq!(
            h.header.get(),
            r#"{"content-type":"application/json","x-multi":"a, b","x-quote":"say \"hi\" \\ �"}"#
        );
        assert_eq!(h.cookies, ["a=1; Path=/", "b=2"]);
        let value: serde_json::Value = serde_json::from_str(&headers_received_json(204, &h)).expect("JSON");
        assert_eq!(value["statusCode"], 204);
        assert_eq!(value["header"]["x-multi"], "a, b");
        assert_eq!(value["cookies"][1], "b=2");
        // Through serde (the socket's open event) it is a nested object, not a string.
        let open = serde_json::json!({ "header": h.header });
        assert_eq!(open["header"]["content-type"], "application/json");
        assert_eq!(
            headers_received_json(200, &Headers::default()),
            r#"{"statusCode":200,"header":{},"cookies":[]}"#
        );
    }
}
