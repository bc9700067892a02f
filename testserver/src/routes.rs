//! The routes (the same on every listener). See the crate documentation for the list.
//!
//! The connections are served with upgrades enabled: the WebSocket routes (`/ws/...`, in
//! [`crate::ws`]) call `hyper::upgrade::on(&mut req)`, spawn a task on the upgraded IO and
//! answer 101 here.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde_json::json;

use crate::body::{empty, full, Body, BoxError, PatternBody, ScheduledBody};
use crate::content::{self, INVALID_UTF8_BODY};
use crate::query::Query;
use crate::respond::{bad_request, delay_arg, header_json, json_response, lossy, status, text, typed};
use crate::stats::Stats;

/// Returned by the service for `/close`: hyper then drops the connection (HTTP/1.1) or resets
/// the stream (HTTP/2) without sending any response.
#[derive(Debug)]
pub(crate) struct CloseConnection;

impl std::fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed on purpose by /close")
    }
}

impl std::error::Error for CloseConnection {}

/// Largest request body `/echo` collects (it is echoed back inside a JSON document).
const MAX_ECHO_BODY: usize = 16 * 1024 * 1024;
/// Largest total body `/chunked` generates (it is scheduled in memory).
const MAX_CHUNKED_TOTAL: u64 = 64 * 1024 * 1024;

/// Answers one request. Only `/close` yields an error; bad input yields a 4xx response.
pub(crate) async fn handle(req: Request<Incoming>, stats: Arc<Stats>) -> Result<Response<Body>, CloseConnection> {
    let path = req.uri().path().to_owned();
    let query = Query::parse(req.uri().query().unwrap_or(""));
    let version = req.version();
    let resp = match path.as_str() {
        "/echo" => echo(req).await,
        "/echo/raw" => echo_raw(req),
        "/json" => json_response(StatusCode::OK, &json!({"hello": "world", "n": 1})),
        "/text" => text(StatusCode::OK, "plain text, not json"),
        "/empty" => Response::new(empty()),
        "/bom" => typed(
            StatusCode::OK,
            "application/json",
            full(&b"\xEF\xBB\xBF{\"bom\":true}"[..]),
        ),
        "/invalid-utf8" => typed(StatusCode::OK, "text/plain", full(INVALID_UTF8_BODY)),
        "/gzip" => compressed(&req, "gzip"),
        "/deflate" => compressed(&req, "deflate"),
        "/br" => compressed(&req, "br"),
        "/set-cookie" => set_cookie(),
        "/alpn" => text(StatusCode::OK, version_str(version)),
        "/close" => return Err(CloseConnection),
        "/hang" => return std::future::pending().await,
        "/wait-hits" => wait_hits(&query, &stats).await.unwrap_or_else(bad_request),
        "/large-header" => large_header(&query).unwrap_or_else(bad_request),
        "/upload" => crate::upload::handle(req).await,
        "/redirect-to" => redirect_to(&query),
        "/redirect-loop" => redirect(StatusCode::FOUND, "/redirect-loop"),
        "/chunked" => chunked(&query).unwrap_or_else(bad_request),
        "/gzip-bomb" => crate::bomb::handle(&query).unwrap_or_else(bad_request),
        "/many-headers" => crate::semantic_routes::many_headers(&query),
        "/dns-query" => crate::semantic_routes::dns_query(req, &query).await,
        p => {
            // CONNECT requests have an empty path: never slice blindly.
            let p = p.strip_prefix('/').unwrap_or(p);
            let (route, arg) = p.split_once('/').unwrap_or(("", ""));
            match route {
                "status" => status(arg),
                "delay" => delay(arg, false).await,
                "delay-body" => delay(arg, true).await,
                "redirect" => redirect_n(arg),
                "charset" => charset(arg, &query),
                "bytes" => bytes(arg, &query, version).unwrap_or_else(bad_request),
                "cache" => crate::cache_routes::handle(req.headers(), arg, &query),
                "cache-encoded" => crate::semantic_routes::cache_encoded(req.headers(), arg, &query),
                "encoded-empty" => crate::semantic_routes::encoded_empty(arg, &query),
                "dns-query" => crate::semantic_routes::dns_query(req, &query).await,
                "cookie" => crate::cookie_routes::handle(arg, req.uri().query().unwrap_or("")),
                "ws" => crate::ws::handle(req, arg, &query, stats).unwrap_or_else(not_found),
                _ => not_found(),
            }
        }
    };
    Ok(resp)
}

/// Longest wait `/wait-hits` accepts.
const MAX_WAIT_HITS: Duration = Duration::from_secs(120);

/// `/wait-hits?path=P&n=N&timeout_ms=T`: answers once the server has seen N requests
/// (default one) for exactly P, counted as [`crate::TestServer::hits`] counts them: 200; or
/// after T ms (default 10000, at most 120000): 504. Both with `{"path": P, "hits": count}`.
/// For clients outside the test process (the C examples), instead of sleeping until a
/// request arrived.
async fn wait_hits(query: &Query, stats: &Stats) -> Result<Response<Body>, String> {
    let path = query.get("path").ok_or("query parameter path is required")?;
    let n = query.number("n")?.unwrap_or(1);
    let timeout = Duration::from_millis(query.number("timeout_ms")?.unwrap_or(10_000)).min(MAX_WAIT_HITS);
    let reached = tokio::time::timeout(timeout, stats.wait_hits(path, n)).await.is_ok();
    let code = if reached {
        StatusCode::OK
    } else {
        StatusCode::GATEWAY_TIMEOUT
    };
    Ok(json_response(code, &json!({"path": path, "hits": stats.hits_of(path)})))
}

fn not_found() -> Response<Body> {
    text(StatusCode::NOT_FOUND, "not found")
}

fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

async fn echo(req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_ECHO_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return text(StatusCode::PAYLOAD_TOO_LARGE, "body over 16 MiB"),
        Err(e) => return bad_request(format!("reading the body: {e}")),
    };
    let headers = header_json(&parts.headers);
    let authority = parts
        .uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| parts.headers.get(header::HOST).map(lossy));
    json_response(
        StatusCode::OK,
        &json!({
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "query": parts.uri.query().unwrap_or(""),
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
            "bodyLength": body.len(),
            "httpVersion": version_str(parts.version),
            "contentType": parts.headers.get(header::CONTENT_TYPE).map(lossy),
            "authority": authority,
        }),
    )
}

/// Streams the request body back as it arrives (Content-Length kept when the request had one).
fn echo_raw(req: Request<Incoming>) -> Response<Body> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut resp = Response::new(req.into_body().map_err(BoxError::from).boxed_unsync());
    resp.headers_mut().insert(header::CONTENT_TYPE, content_type);
    resp
}

fn compressed(req: &Request<Incoming>, encoding: &'static str) -> Response<Body> {
    let Some(data) = content::compressed(encoding) else {
        return text(StatusCode::NOT_FOUND, "not found");
    };
    let accept = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .cloned()
        .unwrap_or(HeaderValue::from_static("none"));
    let mut resp = typed(StatusCode::OK, "application/json", full(data));
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    headers.insert("x-accept-encoding", accept);
    resp
}

fn set_cookie() -> Response<Body> {
    let mut resp = text(StatusCode::OK, "cookies set");
    let headers = resp.headers_mut();
    for (name, value) in [
        (header::SET_COOKIE, "a=1; Path=/"),
        (header::SET_COOKIE, "b=2; HttpOnly"),
        (header::HeaderName::from_static("x-multi"), "one"),
        (header::HeaderName::from_static("x-multi"), "two"),
    ] {
        headers.append(name, HeaderValue::from_static(value));
    }
    resp
}

/// A response with an `x-large-header` of `?kib=` KiB (default 64, at most 4096).
fn large_header(query: &Query) -> Result<Response<Body>, String> {
    let kib = query.number("kib")?.unwrap_or(64);
    if kib > 4096 {
        return Err(format!("kib {kib} is over 4096"));
    }
    let mut resp = text(StatusCode::OK, "large header");
    let value = HeaderValue::from_str(&"x".repeat(kib as usize * 1024)).expect("ASCII letters are valid");
    resp.headers_mut().insert("x-large-header", value);
    Ok(resp)
}

/// `/delay/{ms}` waits before answering; `/delay-body/{ms}` answers at once (with
/// Content-Length) and sends the body after the delay.
async fn delay(arg: &str, body_only: bool) -> Response<Body> {
    let delay = match delay_arg(arg) {
        Ok(d) => d,
        Err(e) => return bad_request(e),
    };
    if body_only {
        let body = ScheduledBody::new(vec![(delay, Bytes::from_static(b"delayed"))], true);
        return typed(StatusCode::OK, "text/plain", body.boxed_unsync());
    }
    tokio::time::sleep(delay).await;
    text(StatusCode::OK, "delayed")
}

fn redirect(status: StatusCode, location: &str) -> Response<Body> {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut resp = Response::new(empty());
            *resp.status_mut() = status;
            resp.headers_mut().insert(header::LOCATION, value);
            resp
        }
        Err(_) => bad_request("the location is not a valid header value".into()),
    }
}

fn redirect_n(arg: &str) -> Response<Body> {
    match arg.parse::<u32>() {
        Ok(0) => json_response(StatusCode::OK, &json!({"redirected": true})),
        Ok(n) => redirect(StatusCode::FOUND, &format!("/redirect/{}", n - 1)),
        Err(_) => bad_request(format!("bad redirect count {arg:?}")),
    }
}

fn redirect_to(query: &Query) -> Response<Body> {
    let Some(url) = query.get("url") else {
        return bad_request("missing url".into());
    };
    let status = match query.number("status") {
        Ok(None) => StatusCode::FOUND,
        Ok(Some(code @ (301 | 302 | 303 | 307 | 308))) => {
            StatusCode::from_u16(code as u16).expect("listed codes are valid")
        }
        _ => return bad_request("status must be one of 301, 302, 303, 307, 308".into()),
    };
    redirect(status, url)
}

fn letters(offset: u64, len: u64) -> Bytes {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (offset..offset + len)
        .map(|i| ALPHABET[(i % ALPHABET.len() as u64) as usize])
        .collect::<Vec<u8>>()
        .into()
}

/// `n` chunks of `size` letters, `interval_ms` apart, without Content-Length.
fn chunked(query: &Query) -> Result<Response<Body>, String> {
    let n = query.number("n")?.unwrap_or(5);
    let size = query.number("size")?.unwrap_or(100);
    let interval = match query.get("interval_ms") {
        Some(ms) => delay_arg(ms)?,
        None => Duration::from_millis(50),
    };
    if n.saturating_mul(size) > MAX_CHUNKED_TOTAL || n > 100_000 {
        return Err(format!("n * size must be <= {MAX_CHUNKED_TOTAL}, n <= 100000"));
    }
    let frames = (0..n)
        .map(|i| {
            let wait = if i == 0 { Duration::ZERO } else { interval };
            (wait, letters(i * size, size))
        })
        .collect();
    let body = ScheduledBody::new(frames, false).boxed_unsync();
    Ok(typed(StatusCode::OK, "text/plain", body))
}

fn charset(label: &str, query: &Query) -> Response<Body> {
    let Some((bytes, lossy)) = content::encode_charset_sample(label) else {
        return bad_request(format!("unknown charset {label:?}"));
    };
    let content_type = if query.flag("nocharset") {
        HeaderValue::from_static("text/plain")
    } else {
        match HeaderValue::from_str(&format!("text/plain; charset={label}")) {
            Ok(v) => v,
            Err(_) => return bad_request("bad charset label".into()),
        }
    };
    let mut resp = Response::new(full(bytes));
    resp.headers_mut().insert(header::CONTENT_TYPE, content_type);
    if lossy {
        resp.headers_mut()
            .insert("x-encode-lossy", HeaderValue::from_static("1"));
    }
    resp
}

/// `/bytes/{n}` and its query flags; see the crate documentation.
fn bytes(arg: &str, query: &Query, version: Version) -> Result<Response<Body>, String> {
    let n: u64 = arg.parse().map_err(|_| format!("bad byte count {arg:?}"))?;
    let lie = query.number("lie_length")?;
    let rate = match query.number("rate_kbps")? {
        Some(0) => return Err("rate_kbps must be > 0".into()),
        rate => rate.map(|k| k.saturating_mul(1024)),
    };
    let announce = !query.flag("no_length") && lie.is_none();
    let content_type = query
        .get("ext")
        .map_or("application/octet-stream", content::mime_for_ext);
    let body = PatternBody::new(n, announce, rate).boxed_unsync();
    let mut resp = typed(StatusCode::OK, content_type, body);
    let headers = resp.headers_mut();
    if let Some(lie) = lie {
        // The body has no exact size, so hyper trusts this header: with fewer bytes than
        // announced it closes the connection after the last one; with more, it sends only
        // `lie` bytes. Close afterwards either way, so the connection is not reused.
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(lie));
        if version < Version::HTTP_2 {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    if let Some(name) = query.get("filename") {
        let value = format!("attachment; filename=\"{}\"", name.replace(['"', '\\'], "_"));
        let value = HeaderValue::from_str(&value).map_err(|_| "bad filename".to_owned())?;
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(resp)
}
