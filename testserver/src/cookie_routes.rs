//! `/cookie/set?c=<Set-Cookie value>&c=...&to=<url>`: one `Set-Cookie` field per `c`
//! (percent-decoded, sent as given, UTF-8 included), then a 302 to `to` when present, else
//! 200 `cookies set`. `/cookie/many?n=N&prefix=P`: N fields `P0=v; Path=/` to
//! `P{N-1}=v; Path=/` (N at most 10,000).
//! `/echo` shows which cookies a client sends back (its `headers.cookie`).

use http::{header, HeaderValue, Response, StatusCode};

use crate::body::{empty, Body};
use crate::query::decode;
use crate::respond::{bad_request, text};

/// `arg`: the path after `/cookie/`; `query`: the raw query string.
pub(crate) fn handle(arg: &str, query: &str) -> Response<Body> {
    if arg == "many" {
        return many(query);
    }
    if arg != "set" {
        return text(StatusCode::NOT_FOUND, "not found");
    }
    let mut cookies = Vec::new();
    let mut to = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match decode(name).as_str() {
            "c" => cookies.push(decode(value)),
            "to" => to = Some(decode(value)),
            _ => {}
        }
    }
    let mut resp = match to {
        Some(location) => {
            let Ok(location) = HeaderValue::from_str(&location) else {
                return bad_request("to is not a valid header value".into());
            };
            let mut r = Response::new(empty());
            *r.status_mut() = StatusCode::FOUND;
            r.headers_mut().insert(header::LOCATION, location);
            r
        }
        None => text(StatusCode::OK, "cookies set"),
    };
    for cookie in cookies {
        let Ok(value) = HeaderValue::from_bytes(cookie.as_bytes()) else {
            return bad_request("c is not a valid header value".into());
        };
        resp.headers_mut().append(header::SET_COOKIE, value);
    }
    resp
}

/// `/cookie/many?n=N&prefix=P`.
fn many(query: &str) -> Response<Body> {
    let query = crate::query::Query::parse(query);
    let n = match query.number("n") {
        Ok(Some(n)) if n <= 10_000 => n,
        _ => return bad_request("n must be a number up to 10000".into()),
    };
    let prefix = query.get("prefix").unwrap_or("c");
    if !prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return bad_request("prefix must be letters and digits".into());
    }
    let mut resp = text(StatusCode::OK, "cookies set");
    for i in 0..n {
        let value = HeaderValue::from_str(&format!("{prefix}{i}=v; Path=/")).expect("letters, digits, =; /");
        resp.headers_mut().append(header::SET_COOKIE, value);
    }
    resp
}
