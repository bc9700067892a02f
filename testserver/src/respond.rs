//! Small response helpers shared by the route modules: typed, text, JSON and 400 responses,
//! `/status/{code}`, the delay argument and the request headers as JSON.
//!
//! A leaf: it imports none of the route modules, so every route module can use it.

use std::time::Duration;

use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::{Map, Value};

use crate::body::{empty, full, Body};

/// Longest delay any route accepts (also keeps `Instant + delay` from overflowing).
const MAX_DELAY_MS: u64 = 24 * 3600 * 1000;

/// A response with a `Content-Type`.
pub(crate) fn typed(status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// A `text/plain; charset=utf-8` response.
pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    typed(status, "text/plain; charset=utf-8", full(body.into()))
}

/// An `application/json` response.
pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    typed(status, "application/json", full(value.to_string()))
}

pub(crate) fn bad_request(msg: String) -> Response<Body> {
    text(StatusCode::BAD_REQUEST, msg)
}

pub(crate) fn status(arg: &str) -> Response<Body> {
    let Some(status) = arg.parse::<u16>().ok().and_then(|c| StatusCode::from_u16(c).ok()) else {
        return bad_request(format!("bad status code {arg:?}"));
    };
    if status.is_informational() {
        return bad_request("1xx codes cannot be a final response".into());
    }
    match status.as_u16() {
        204 | 205 | 304 => {
            let mut resp = Response::new(empty());
            *resp.status_mut() = status;
            resp
        }
        code => text(status, format!("status {code}")),
    }
}

pub(crate) fn delay_arg(arg: &str) -> Result<Duration, String> {
    match arg.parse::<u64>() {
        Ok(ms) if ms <= MAX_DELAY_MS => Ok(Duration::from_millis(ms)),
        _ => Err(format!("delay must be 0..={MAX_DELAY_MS} ms")),
    }
}

/// A header value as a string, invalid UTF-8 replaced.
pub(crate) fn lossy(v: &HeaderValue) -> String {
    String::from_utf8_lossy(v.as_bytes()).into_owned()
}

/// The request headers as a JSON object: lowercase names, repeated fields joined with ", "
/// ("; " for Cookie), values decoded as lossy UTF-8.
pub(crate) fn header_json(headers: &HeaderMap) -> Map<String, Value> {
    let mut map = Map::new();
    for name in headers.keys() {
        // HTTP/2 clients may split Cookie into several fields; they rejoin with "; ".
        let sep = if name == header::COOKIE { "; " } else { ", " };
        let values: Vec<String> = headers.get_all(name).iter().map(lossy).collect();
        map.insert(name.as_str().to_owned(), values.join(sep).into());
    }
    map
}
