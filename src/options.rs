//! The wx options object as the host passes it (JSON): typed access whose
//! errors read like WeChat's (`parameter error: parameter.url should be
//! String instead of Number`), and the header rules every API shares.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::errors::{ApiError, Status, WxError};

/// A parsed options object.
#[derive(Debug, Clone)]
pub struct Opts {
    map: Map<String, Value>,
    /// `data` stays as the host's JSON text: a JSON body can be sent as is
    /// and a big object is never built into a tree (see `request::body`).
    data: Option<Box<RawValue>>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

fn wrong_type(key: &str, want: &str, got: &Value) -> WxError {
    WxError::parameter(format!(
        "parameter.{key} should be {want} instead of {}",
        type_name(got)
    ))
}

impl Opts {
    /// Malformed input (not UTF-8, not JSON, not an object) is API misuse:
    /// `WXNET_E_INVALID_ARGUMENT`, not a wx fail.
    pub fn parse(json: &[u8]) -> Result<Opts, ApiError> {
        let invalid = |detail: String| ApiError::new(Status::InvalidArgument, detail);
        let text = std::str::from_utf8(json).map_err(|e| invalid(format!("options are not UTF-8: {e}")))?;
        let fields: Vec<(std::borrow::Cow<'_, str>, &RawValue)> =
            match serde_json::from_str::<std::collections::HashMap<std::borrow::Cow<'_, str>, &RawValue>>(text) {
                Ok(fields) => fields.into_iter().collect(),
                Err(e) => {
                    return Err(invalid(match serde_json::from_str::<Value>(text) {
                        Ok(other) => format!("options must be a JSON object, not {}", type_name(&other)),
                        Err(_) => format!("options are not valid JSON: {e}"),
                    }))
                }
            };
        let mut opts = Opts {
            map: Map::new(),
            data: None,
        };
        for (key, raw) in fields {
            if key == "data" {
                opts.data = (raw.get() != "null").then(|| raw.to_owned());
            } else {
                let value = serde_json::from_str(raw.get()).map_err(|e| invalid(format!("options.{key}: {e}")))?;
                opts.map.insert(key.into_owned(), value);
            }
        }
        Ok(opts)
    }

    /// The `data` option as the host's JSON text, if present and not null.
    pub fn data(&self) -> Option<&RawValue> {
        self.data.as_deref()
    }

    /// The raw value; JSON `null` counts as absent (JavaScript `undefined`).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn str(&self, key: &str) -> Result<Option<&str>, WxError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong_type(key, "String", other)),
        }
    }

    pub fn required_str(&self, key: &str) -> Result<&str, WxError> {
        self.str(key)?
            .ok_or_else(|| WxError::parameter(format!("parameter.{key} should be String instead of Undefined")))
    }

    pub fn bool(&self, key: &str) -> Result<bool, WxError> {
        match self.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(wrong_type(key, "Boolean", other)),
        }
    }

    /// A non-negative number (fractions are truncated, as a JS timer would).
    pub fn millis(&self, key: &str) -> Result<Option<u64>, WxError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f as u64)),
                _ => Err(WxError::parameter(format!(
                    "parameter.{key} should be a non-negative Number"
                ))),
            },
            Some(other) => Err(wrong_type(key, "Number", other)),
        }
    }

    pub fn object(&self, key: &str) -> Result<Option<&Map<String, Value>>, WxError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(other) => Err(wrong_type(key, "Object", other)),
        }
    }

    /// One of a fixed set of strings (compared as given), or the default.
    pub fn choice<'a>(
        &'a self,
        key: &str,
        allowed: &[&'static str],
        default: &'static str,
    ) -> Result<&'a str, WxError> {
        match self.str(key)? {
            None => Ok(default),
            Some(s) if allowed.contains(&s) => Ok(s),
            Some(s) => Err(WxError::parameter(format!(
                "parameter.{key} {s:?} should be one of {allowed:?}"
            ))),
        }
    }
}

/// How JavaScript's `String(v)` renders a JSON value inside a query string or
/// header: strings as is, integers without ".0", objects and arrays as JSON.
pub fn js_string(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::String(s) => s.into(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{}", f as i64).into(),
            _ => n.to_string().into(),
        },
        Value::Bool(b) => if *b { "true" } else { "false" }.into(),
        Value::Null => "null".into(),
        other => other.to_string().into(),
    }
}

/// Headers a host may not set: the transport owns them.
const TRANSPORT_HEADERS: &[&str] = &[
    "connection",
    "content-length",
    "host",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
];

/// The `header` option as an HTTP header map: `Referer` is dropped (the fixed
/// one is sent instead), transport headers are dropped, names or values with
/// CR, LF, NUL or other invalid bytes are rejected.
pub fn header_map(header: Option<&Map<String, Value>>, referer: &HeaderValue) -> Result<HeaderMap, WxError> {
    let mut map = HeaderMap::new();
    for (name, value) in header.into_iter().flatten() {
        let lname = name.to_ascii_lowercase();
        if lname == "referer" || TRANSPORT_HEADERS.contains(&lname.as_str()) {
            continue;
        }
        let hname = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| WxError::parameter(format!("header name {name:?} is not a valid HTTP header name")))?;
        let text = js_string(value);
        let hvalue = HeaderValue::from_str(&text).map_err(|_| {
            WxError::parameter(format!(
                "header {name:?} has a value with CR, LF, NUL or another invalid byte"
            ))
        })?;
        // A `HeaderMap` holds about 24,000 distinct names (`append` panics past that).
        map.try_append(hname, hvalue)
            .map_err(|_| WxError::parameter("header has more fields than a request can carry"))?;
    }
    map.try_insert(http::header::REFERER, referer.clone())
        .map_err(|_| WxError::parameter("header has more fields than a request can carry"))?;
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn referer() -> HeaderValue {
        HeaderValue::from_static("https://servicewechat.com/wx1/0/page-frame.html")
    }

    #[test]
    fn referer_is_fixed_and_bad_bytes_rejected() {
        let h: Map<String, Value> =
            serde_json::from_str(r#"{"Referer":"https://evil","X-A":1,"x-b":true}"#).expect("json");
        let m = header_map(Some(&h), &referer()).expect("ok");
        assert_eq!(m["referer"], referer());
        assert_eq!(m["x-a"], "1");
        assert_eq!(m["x-b"], "true");
        for bad in [
            r#"{"X":"a\r\nY: b"}"#,
            r#"{"X":"a\nb"}"#,
            r#"{"X":"a\u0000b"}"#,
            r#"{"X\r\n":"a"}"#,
            r#"{"X Y":"a"}"#,
        ] {
            let h: Map<String, Value> = serde_json::from_str(bad).expect("json");
            let e = header_map(Some(&h), &referer()).expect_err(bad);
            assert_eq!(e.errno, crate::errors::Errno::InvalidParameter);
        }
    }

    #[test]
    fn js_string_matches_javascript() {
        let v: Value = serde_json::from_str(r#"[1, 1.0, 1.5, "s", true, null, {"a":1}, [1,2]]"#).expect("json");
        let got: Vec<_> = v
            .as_array()
            .expect("array")
            .iter()
            .map(|x| js_string(x).into_owned())
            .collect();
        assert_eq!(got, ["1", "1", "1.5", "s", "true", "null", r#"{"a":1}"#, "[1,2]"]);
    }

    #[test]
    fn option_type_errors_read_like_wechat() {
        let o = Opts::parse(br#"{"url": 5, "timeout": "x", "enableHttp2": 1}"#).expect("object");
        assert_eq!(
            o.required_str("url").expect_err("type").reason,
            "parameter error: parameter.url should be String instead of Number"
        );
        assert!(o.millis("timeout").is_err());
        assert!(o.bool("enableHttp2").is_err());
        assert!(Opts::parse(b"[1]").is_err());
        assert!(Opts::parse(b"{").is_err());
        assert!(Opts::parse(b"\xff").is_err());
    }
}
