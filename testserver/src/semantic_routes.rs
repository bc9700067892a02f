//! Routes for the HTTP details a client must get right (wxnet issue 12): empty bodies with a
//! `Content-Encoding`, compressed cacheable responses sent chunked, many header fields, and
//! a DNS-over-HTTPS endpoint (RFC 8484).
//!
//! | route | answer |
//! | --- | --- |
//! | `/encoded-empty/{gzip,br}?status=S` | status S (200 default, 204, 304, any 200..=599) with `Content-Encoding` and an empty body (`Content-Length: 0` on a 200) |
//! | `/cache-encoded/{gzip,br}[/tag]?s=60&v=v1` | 200 JSON `{"serial": N}` compressed with that encoding, sent chunked (no Content-Length) in two frames, `Cache-Control: max-age={s}` (`no-cache` without `s`), `ETag: "{v}"`; a matching `If-None-Match` gets 304 with the same fields and `Content-Encoding` |
//! | `/many-headers?n=150&size=8` | 200 `ok` with n fields `x-field-{i}: ` + `size` letters (n * (size + 20) at most 16 MiB) |
//! | `/dns-query[/tag]?ttl=300` | DoH (GET `?dns=`, base64url, or POST `application/dns-message`): a name under `doh.test` gets one A record `127.0.0.1` with that TTL and no AAAA record; any other name NXDOMAIN; a malformed query 400 |

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::body::{empty, full, Body, ScheduledBody};
use crate::query::Query;
use crate::respond::{bad_request, text, typed};

/// Largest header section `/many-headers` builds.
const MAX_HEADER_BYTES: u64 = 16 * 1024 * 1024;

static SERIAL: AtomicU64 = AtomicU64::new(1);

fn compress(encoding: &str, data: &[u8]) -> Option<Vec<u8>> {
    match encoding {
        "gzip" => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(data).ok()?;
            enc.finish().ok()
        }
        "br" => {
            let mut out = Vec::new();
            {
                let mut enc = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                enc.write_all(data).ok()?;
            }
            Some(out)
        }
        _ => None,
    }
}

/// `/encoded-empty/{encoding}`.
pub(crate) fn encoded_empty(arg: &str, query: &Query) -> Response<Body> {
    let encoding = match arg {
        "gzip" => "gzip",
        "br" => "br",
        _ => return text(StatusCode::NOT_FOUND, "not found"),
    };
    let status = match query.number("status") {
        Ok(s) => s.unwrap_or(200),
        Err(e) => return bad_request(e),
    };
    let Some(status) = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .filter(|s| (200..=599).contains(&s.as_u16()))
    else {
        return bad_request("status must be 200..=599".into());
    };
    let mut resp = Response::new(empty());
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// `/cache-encoded/{encoding}[/tag]`.
pub(crate) fn cache_encoded(headers: &HeaderMap, arg: &str, query: &Query) -> Response<Body> {
    let encoding = arg.split('/').next().unwrap_or("");
    if !matches!(encoding, "gzip" | "br") {
        return text(StatusCode::NOT_FOUND, "not found");
    }
    let v = query.get("v").unwrap_or("v1");
    if !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return bad_request("v must be letters, digits or '-'".into());
    }
    let cache_control = match query.number("s") {
        Ok(Some(s)) => format!("max-age={s}"),
        Ok(None) => "no-cache".into(),
        Err(e) => return bad_request(e),
    };
    let etag = format!("\"{v}\"");
    let matched = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|inm| inm.split(',').any(|t| t.trim().trim_start_matches("W/") == etag));
    let mut resp = if matched {
        let mut r = Response::new(empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let body = format!("{{\"serial\":{}}}", SERIAL.fetch_add(1, Ordering::SeqCst));
        let Some(data) = compress(encoding, body.as_bytes()) else {
            return bad_request("compression failed".into());
        };
        let data = Bytes::from(data);
        let half = data.len() / 2;
        let frames = vec![
            (Duration::ZERO, data.slice(..half)),
            (Duration::ZERO, data.slice(half..)),
        ];
        typed(
            StatusCode::OK,
            "application/json",
            ScheduledBody::new(frames, false).boxed_unsync(),
        )
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static(if encoding == "br" { "br" } else { "gzip" }),
    );
    for (name, value) in [(header::CACHE_CONTROL, cache_control), (header::ETAG, etag)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            h.insert(name, value);
        }
    }
    resp
}

/// `/many-headers`.
pub(crate) fn many_headers(query: &Query) -> Response<Body> {
    let (n, size) = match (query.number("n"), query.number("size")) {
        (Ok(n), Ok(size)) => (n.unwrap_or(150), size.unwrap_or(8)),
        (Err(e), _) | (_, Err(e)) => return bad_request(e),
    };
    if n.saturating_mul(size.saturating_add(20)) > MAX_HEADER_BYTES {
        return bad_request("n * (size + 20) must be at most 16 MiB".into());
    }
    let value = HeaderValue::from_str(&"v".repeat(size as usize)).expect("letters are a valid value");
    let mut resp = text(StatusCode::OK, "ok");
    let h = resp.headers_mut();
    for i in 0..n {
        let name = header::HeaderName::from_bytes(format!("x-field-{i}").as_bytes()).expect("valid name");
        h.insert(name, value.clone());
    }
    resp
}

/// `/dns-query`.
pub(crate) async fn dns_query(req: Request<Incoming>, query: &Query) -> Response<Body> {
    let ttl = match query.number("ttl") {
        Ok(t) => u32::try_from(t.unwrap_or(300)).unwrap_or(u32::MAX),
        Err(e) => return bad_request(e),
    };
    let message = if req.method() == Method::POST {
        match Limited::new(req.into_body(), 65_535).collect().await {
            Ok(c) => c.to_bytes().to_vec(),
            Err(e) => return bad_request(format!("reading the query: {e}")),
        }
    } else {
        match query.get("dns").map(base64url_decode) {
            Some(Some(m)) => m,
            _ => return bad_request("dns= must be base64url".into()),
        }
    };
    match answer(&message, ttl) {
        Some(reply) => typed(StatusCode::OK, "application/dns-message", full(reply)),
        None => bad_request("malformed DNS query".into()),
    }
}

/// The reply to a one-question query: see the module table.
fn answer(query: &[u8], ttl: u32) -> Option<Vec<u8>> {
    if query.len() < 12 || u16::from_be_bytes([query[4], query[5]]) != 1 {
        return None;
    }
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*query.get(pos)?);
        if len == 0 {
            pos += 1;
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(query.get(pos + 1..pos + 1 + len)?).to_ascii_lowercase());
        pos += 1 + len;
    }
    let question_end = pos + 4;
    let qtype = u16::from_be_bytes([*query.get(pos)?, *query.get(pos + 1)?]);
    let question = query.get(12..question_end)?;
    let ours = labels.len() >= 2 && labels[labels.len() - 2..] == ["doh", "test"];
    let a_record = ours && qtype == 1;
    let mut out = Vec::new();
    out.extend_from_slice(&query[0..2]);
    out.push(0x81);
    out.push(if ours { 0x80 } else { 0x83 });
    out.extend_from_slice(&[0, 1, 0, u8::from(a_record), 0, 0, 0, 0]);
    out.extend_from_slice(question);
    if a_record {
        out.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&[0, 4, 127, 0, 0, 1]);
    }
    Some(out)
}

fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doh_answers() {
        // www.doh.test A, ID 0.
        let q = b"\x00\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x03doh\x04test\x00\x00\x01\x00\x01";
        let a = answer(q, 7).expect("answer");
        assert_eq!(&a[2..8], &[0x81, 0x80, 0, 1, 0, 1]);
        assert_eq!(&a[a.len() - 10..], &[0, 0, 0, 7, 0, 4, 127, 0, 0, 1]);
        let mut other = q.to_vec();
        other[17] = b'x';
        assert_eq!(answer(&other, 7).expect("answer")[3], 0x83);
        assert!(answer(&q[..20], 7).is_none());
        assert_eq!(base64url_decode("Zm9v").expect("b64"), b"foo");
        assert_eq!(base64url_decode("-_8").expect("b64"), [0xFB, 0xFF]);
    }
}
