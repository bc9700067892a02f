//! wx.request `data` conversion (spec section 1): what goes into the query
//! string and what goes into the body, by method and content-type.

use bytes::Bytes;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::errors::{Errno, WxError};
use crate::options::js_string;

/// The request data as the host passed it.
#[derive(Debug, Clone)]
pub enum Data<'a> {
    None,
    /// ArrayBuffer, passed beside the JSON.
    Binary(Bytes),
    /// The `data` option's JSON text.
    Json(&'a RawValue),
}

/// Where the data ends up.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Placed {
    /// Appended to the URL's query (already encoded), if any.
    pub query: Option<String>,
    pub body: Bytes,
}

fn invalid(e: serde_json::Error) -> WxError {
    WxError::new(Errno::InvalidData, format!("invalid request data: {e}"))
}

/// Applies the conversion rules. `content_type` is the request's (default
/// `application/json`). A JSON body (an object, array, number or boolean sent
/// with any content type but form-urlencoded) is the host's JSON text as is:
/// no tree is built and nothing is serialized again.
pub fn place(method: &http::Method, content_type: &str, data: Data<'_>) -> Result<Placed, WxError> {
    let in_query = method == http::Method::GET || method == http::Method::HEAD;
    let raw = match data {
        Data::None => return Ok(Placed::default()),
        Data::Binary(body) => return Ok(Placed { query: None, body }),
        Data::Json(raw) => raw.get(),
    };
    let form = content_type
        .to_ascii_lowercase()
        .contains("application/x-www-form-urlencoded");
    let text = |t: String| {
        if in_query {
            Placed {
                query: Some(t),
                body: Bytes::new(),
            }
        } else {
            Placed {
                query: None,
                body: Bytes::from(t),
            }
        }
    };
    Ok(match raw.as_bytes().first() {
        Some(b'"') => text(serde_json::from_str::<String>(raw).map_err(invalid)?),
        Some(b'{') if in_query || form => text(query_string(&serde_json::from_str(raw).map_err(invalid)?)),
        _ if in_query => text(js_string(&serde_json::from_str(raw).map_err(invalid)?).into_owned()),
        _ => Placed {
            query: None,
            body: Bytes::copy_from_slice(raw.as_bytes()),
        },
    })
}

/// `encodeURIComponent(k)=encodeURIComponent(v)&…` in the object's order;
/// nested objects and arrays are JSON-encoded first.
pub fn query_string(m: &Map<String, Value>) -> String {
    let mut out = String::new();
    for (k, v) in m {
        if !out.is_empty() {
            out.push('&');
        }
        encode_uri_component(k, &mut out);
        out.push('=');
        encode_uri_component(&js_string(v), &mut out);
    }
    out
}

/// JavaScript's `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )`
/// is percent-encoded as UTF-8.
pub fn encode_uri_component(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// Appends a query part to a URL, before any fragment. Bytes a query may
/// not hold are percent-encoded by the URL parser, except tab, CR and LF,
/// which the WHATWG parser silently removes: those are encoded here
/// (`%09`, `%0D`, `%0A`) so that string `data` reaches the server whole.
pub fn append_query(url: &mut url::Url, extra: &str) {
    if extra.is_empty() {
        return;
    }
    let mut combined = match url.query() {
        Some(q) if !q.is_empty() => format!("{q}&"),
        _ => String::new(),
    };
    for c in extra.chars() {
        match c {
            '\t' => combined.push_str("%09"),
            '\n' => combined.push_str("%0A"),
            '\r' => combined.push_str("%0D"),
            c => combined.push(c),
        }
    }
    url.set_query(Some(&combined));
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn json(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).expect("json")
    }

    #[test]
    fn conversion_rules() {
        let obj = json(r#"{"a":"x y","b":1,"c":{"d":[1,"é"]},"e":true}"#);
        let q = "a=x%20y&b=1&c=%7B%22d%22%3A%5B1%2C%22%C3%A9%22%5D%7D&e=true";
        let get = place(&Method::GET, "application/json", Data::Json(&obj)).expect("ok");
        assert_eq!(get.query.as_deref(), Some(q));
        assert!(get.body.is_empty());
        let head = place(&Method::HEAD, "application/json", Data::Json(&obj)).expect("ok");
        assert_eq!(head.query.as_deref(), Some(q));
        let post = place(&Method::POST, "application/json", Data::Json(&obj)).expect("ok");
        assert_eq!(
            post.body,
            Bytes::from(r#"{"a":"x y","b":1,"c":{"d":[1,"é"]},"e":true}"#)
        );
        let form = place(
            &Method::PUT,
            "application/x-www-form-urlencoded; charset=UTF-8",
            Data::Json(&obj),
        )
        .expect("ok");
        assert_eq!(form.body, Bytes::from(q));
        let s = json(r#""raw=1&b=2""#);
        assert_eq!(
            place(&Method::GET, "", Data::Json(&s)).expect("ok").query.as_deref(),
            Some("raw=1&b=2")
        );
        assert_eq!(
            place(&Method::POST, "", Data::Json(&s)).expect("ok").body,
            Bytes::from("raw=1&b=2")
        );
        let bin = Bytes::from_static(&[0, 1, 2]);
        assert_eq!(
            place(&Method::GET, "", Data::Binary(bin.clone())).expect("ok").body,
            bin
        );
        assert_eq!(place(&Method::POST, "", Data::None).expect("ok"), Placed::default());
    }

    #[test]
    fn javascript_key_order_is_kept_and_json_bodies_go_as_is() {
        let obj = json(r#"{"z":1,"a":{"y":2,"b":3}}"#);
        let get = place(&Method::GET, "application/json", Data::Json(&obj)).expect("ok");
        assert_eq!(get.query.as_deref(), Some("z=1&a=%7B%22y%22%3A2%2C%22b%22%3A3%7D"));
        let spaced = json(r#"{ "z": 1, "a": [true, null] }"#);
        let post = place(&Method::POST, "application/json", Data::Json(&spaced)).expect("ok");
        assert_eq!(post.body, Bytes::from(r#"{ "z": 1, "a": [true, null] }"#));
        let number = json("42");
        assert_eq!(
            place(&Method::GET, "", Data::Json(&number))
                .expect("ok")
                .query
                .as_deref(),
            Some("42")
        );
        assert_eq!(
            place(&Method::PUT, "", Data::Json(&number)).expect("ok").body,
            Bytes::from("42")
        );
    }

    #[test]
    fn encode_uri_component_matches_js() {
        let mut out = String::new();
        encode_uri_component("AZaz09-_.!~*'() /?&=#+中", &mut out);
        assert_eq!(out, "AZaz09-_.!~*'()%20%2F%3F%26%3D%23%2B%E4%B8%AD");
    }

    #[test]
    fn append_query_keeps_existing_and_fragment() {
        let mut u = url::Url::parse("https://a.com/p?x=1#frag").expect("url");
        append_query(&mut u, "y=2");
        assert_eq!(u.as_str(), "https://a.com/p?x=1&y=2#frag");
    }

    #[test]
    fn append_query_encodes_tab_cr_lf_instead_of_dropping_them() {
        let mut u = url::Url::parse("https://a.com/p").expect("url");
        append_query(&mut u, "a=1\r\nb=2\tc");
        assert_eq!(u.query(), Some("a=1%0D%0Ab=2%09c"));
    }
}
