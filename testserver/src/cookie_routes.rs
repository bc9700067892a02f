//! `/cookie/set?c=<Set-Cookie value>&c=...&to=<url>`: one `Set-Cookie` field per `c`
//! (percent-decoded, sent as given), then a 302 to `to` when present, else 200 `cookies set`.
//! `/echo` shows which cookies a client sends back (its `headers.cookie`).

use http::{header, HeaderValue, Response, StatusCode};

use crate::body::{empty, Body};
use crate::query::decode;
use crate::respond::{bad_request, text};

/// `arg`: the path after `/cookie/`; `query`: the raw query string.
pub(crate) fn handle(arg: &str, query: &str) -> Response<Body> {
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
        let Ok(value) = HeaderValue::from_str(&cookie) else {
            return bad_request("c is not a valid header value".into());
        };
        resp.headers_mut().append(header::SET_COOKIE, value);
    }
    resp
}
