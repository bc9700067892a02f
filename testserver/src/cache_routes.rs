//! The `/cache/...` routes: responses with caching headers and a serial number, so that a
//! client test can tell a network answer from a cached one (and count round trips with
//! [`crate::TestServer::hits`]).
//!
//! Every route takes an optional trailing `/{tag}` (ignored), so that tests running at the
//! same time count their hits apart. A 200 body is JSON `{"serial": N, "lang": L}`: N grows
//! by one with every 200 these routes send (process-wide), L is the request's `X-Lang` (or
//! null).
//!
//! | route | answer |
//! | --- | --- |
//! | `/cache/max-age?s=60` | `Cache-Control: max-age={s}` |
//! | `/cache/etag?v=v1&s=N&grow=G` | `ETag: "{v}"`, `Cache-Control: max-age={s}` (without `s`: `no-cache`); a request whose `If-None-Match` lists `"{v}"` (or `*`) gets 304 with the same two fields, plus `G` empty fields whose names no earlier answer used |
//! | `/cache/last-modified` | `Last-Modified:` [`LAST_MODIFIED`], `Cache-Control: no-cache`; `If-Modified-Since` equal to it gets 304 |
//! | `/cache/no-store` | `Cache-Control: no-store, max-age=60` |
//! | `/cache/vary` | `Vary: X-Lang`, `Cache-Control: max-age=60` |

use std::sync::atomic::{AtomicU64, Ordering};

use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::json;

use crate::body::{empty, Body};
use crate::query::Query;
use crate::respond::{bad_request, json_response, text};

/// The `Last-Modified` of `/cache/last-modified`.
pub const LAST_MODIFIED: &str = "Wed, 21 Oct 2015 07:28:00 GMT";

static SERIAL: AtomicU64 = AtomicU64::new(1);
/// Names the `grow` fields of `/cache/etag` 304s: each is new.
static GROWN: AtomicU64 = AtomicU64::new(0);
/// The most `grow` fields one answer carries.
const MAX_GROW: u64 = 100_000;

/// `arg`: the path after `/cache/`.
pub(crate) fn handle(headers: &HeaderMap, arg: &str, query: &Query) -> Response<Body> {
    let name = arg.split('/').next().unwrap_or("");
    let get = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (cache_control, extra, not_modified): (String, Vec<(header::HeaderName, String)>, bool) = match name {
        "max-age" => match query.number("s") {
            Ok(s) => (format!("max-age={}", s.unwrap_or(60)), vec![], false),
            Err(e) => return bad_request(e),
        },
        "etag" => {
            let v = query.get("v").unwrap_or("v1");
            if !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return bad_request("v must be letters, digits or '-'".into());
            }
            let cc = match query.number("s") {
                Ok(Some(s)) => format!("max-age={s}"),
                Ok(None) => "no-cache".into(),
                Err(e) => return bad_request(e),
            };
            let etag = format!("\"{v}\"");
            let inm = get(header::IF_NONE_MATCH);
            let matched = inm.split(',').any(|t| {
                let t = t.trim();
                t == "*" || t.trim_start_matches("W/") == etag
            });
            (cc, vec![(header::ETAG, etag)], matched)
        }
        "last-modified" => {
            let matched = get(header::IF_MODIFIED_SINCE) == LAST_MODIFIED;
            (
                "no-cache".into(),
                vec![(header::LAST_MODIFIED, LAST_MODIFIED.into())],
                matched,
            )
        }
        "no-store" => ("no-store, max-age=60".into(), vec![], false),
        "vary" => ("max-age=60".into(), vec![(header::VARY, "X-Lang".into())], false),
        _ => return text(StatusCode::NOT_FOUND, "not found"),
    };
    let mut resp = if not_modified {
        let mut r = Response::new(empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        let grow = match query.number("grow") {
            Ok(g) => g.unwrap_or(0),
            Err(e) => return bad_request(e),
        };
        if grow > MAX_GROW {
            return bad_request(format!("grow must be at most {MAX_GROW}"));
        }
        for _ in 0..grow {
            let n = GROWN.fetch_add(1, Ordering::Relaxed);
            let name = header::HeaderName::from_bytes(format!("g{n:x}").as_bytes()).expect("g and hex digits");
            r.headers_mut().append(name, HeaderValue::from_static(""));
        }
        r
    } else {
        let lang = headers.get("x-lang").and_then(|v| v.to_str().ok());
        json_response(
            StatusCode::OK,
            &json!({"serial": SERIAL.fetch_add(1, Ordering::SeqCst), "lang": lang}),
        )
    };
    let h = resp.headers_mut();
    for (name, value) in std::iter::once((header::CACHE_CONTROL, cache_control)).chain(extra) {
        if let Ok(value) = HeaderValue::from_str(&value) {
            h.insert(name, value);
        }
    }
    resp
}
