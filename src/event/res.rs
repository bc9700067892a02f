//! Builders for the wx `res` JSON objects. Each event's JSON is serialized
//! exactly once, from borrowed data.

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
    to_json(&serde_json::json!({"code": code, "reason": reason}))
}

/// `{errMsg}` (SOCKET_ERROR).
pub fn err_msg_json(msg: &str) -> String {
    to_json(&serde_json::json!({ "errMsg": msg }))
}

/// Response headers as wx shows them: an object (repeated headers joined
/// with ", ") plus the raw `Set-Cookie` strings apart. The object is kept as
/// its JSON text, written once straight from the `HeaderMap` (no map of
/// owned strings) and spliced into every event that shows it.
#[derive(Debug, Default, Serialize)]
pub struct Headers {
    pub header: JsonText,
    pub cookies: Vec<String>,
}

/// The text of a JSON value we wrote ourselves (so always valid JSON).
/// Spliced as is into the event JSON we build by hand; through serde (rare
/// paths: a socket's open event) it is checked and embedded as a value.
#[derive(Debug, Clone)]
pub struct JsonText(String);

impl JsonText {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for JsonText {
    fn default() -> JsonText {
        JsonText("{}".to_owned())
    }
}

impl Serialize for JsonText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RawValue::from_string(self.0.clone())
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
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
            header: JsonText(String::from_utf8(json).expect("JSON written from str is UTF-8")),
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
    let mut out = String::with_capacity(48 + headers.header.as_str().len());
    out.push_str("{\"statusCode\":");
    push_u16(&mut out, status);
    push_header_and_cookies(&mut out, headers);
    out.push('}');
    out
}

/// Appends `,"header":{...},"cookies":[...]` (the members every response
/// event shares).
pub fn push_header_and_cookies(out: &mut String, headers: &Headers) {
    out.push_str(",\"header\":");
    out.push_str(headers.header.as_str());
    out.push_str(",\"cookies\":");
    if headers.cookies.is_empty() {
        out.push_str("[]");
    } else {
        out.push_str(&to_json(&headers.cookies));
    }
}

/// Appends a status code as decimal text.
pub fn push_u16(out: &mut String, n: u16) {
    use std::fmt::Write;
    write!(out, "{n}").expect("writing to a String cannot fail");
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
            h.header.as_str(),
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
