//! `enableCache`: a private HTTP cache (RFC 9111) on disk, one per app, in
//! `<cacheDir>/wxnet-http/`.
//!
//! - Only requests with `enableCache: true` read or write it; an app without
//!   `cacheDir` has no cache (the option then does nothing).
//! - Stored: responses to GET that the rules allow (`http-cache-semantics`,
//!   evaluated as a private cache), one entry per URL (the last response; a
//!   request whose `Vary`-named fields differ is a miss and replaces it).
//!   Not stored: `no-store` (request or response), `Vary: *`, bodies over an
//!   eighth of the cap, bodies that end in an error or are aborted.
//!   `Set-Cookie` fields are never written to disk.
//! - Served: fresh entries without any network round trip; stale entries
//!   with a validator (`ETag`, `Last-Modified`) are revalidated and a `304`
//!   becomes the stored response (headers updated); stale entries without a
//!   validator are fetched again.
//! - A request that carries its own `Range`, `If-None-Match`,
//!   `If-Modified-Since`, `If-Match` or `If-Unmodified-Since` bypasses the
//!   cache (the mini-program handles that exchange itself). A successful
//!   POST/PUT/DELETE/PATCH with `enableCache` removes the URL's entry.
//! - Size: [`CAPACITY`] bytes, least recently used entries evicted first.
//!
//! File safety is in [`store`] and [`entry`].

pub mod entry;
pub mod store;
pub mod tee;

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use http_cache_semantics::{AfterResponse, BeforeRequest, CacheOptions, CachePolicy};

use crate::net::client::RespBody;
use crate::net::limits::{header_section_size, MAX_RESPONSE_HEADER_BYTES};
use entry::Entry;
use store::Store;

/// The size cap of one app's cache.
pub const CAPACITY: u64 = 50 * 1024 * 1024;
/// The cache's folder inside `cacheDir`.
pub const SUBDIR: &str = "wxnet-http";

/// A response the cache answers with.
#[derive(Debug)]
pub struct Hit {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The protocol of the fetch that stored it.
    pub protocol: &'static str,
}

/// A stored response that needs revalidation.
pub struct Stale {
    key: String,
    entry: Entry,
    policy: CachePolicy,
}

/// What a revalidation's answer gives.
pub enum Revalidated {
    /// A matching `304`: the stored response, its fields updated.
    Hit(Hit),
    /// Not a `304`, or not one for the stored response: the answer stands.
    NotUsable,
    /// A matching `304` whose fields would take the stored response's header
    /// section over [`MAX_RESPONSE_HEADER_BYTES`]: the entry is gone, and
    /// the request fails as a response of that size would.
    TooLarge,
}

/// What the cache says about a request.
pub enum Lookup {
    Miss,
    Fresh(Hit),
    /// Send the request with these fields (they carry the validators).
    Stale(Box<Stale>, HeaderMap),
}

/// One app's cache.
pub struct HttpCache {
    store: Arc<Store>,
}

fn options() -> CacheOptions {
    CacheOptions {
        shared: false,
        ..CacheOptions::default()
    }
}

/// Fields with which a request manages validation or ranges itself.
const OWN_CONDITIONALS: &[header::HeaderName] = &[
    header::RANGE,
    header::IF_NONE_MATCH,
    header::IF_MODIFIED_SINCE,
    header::IF_MATCH,
    header::IF_UNMODIFIED_SINCE,
    header::IF_RANGE,
];

impl HttpCache {
    /// Opens the cache under `cache_dir`.
    pub fn open(cache_dir: &Path) -> io::Result<HttpCache> {
        Self::with_capacity(&cache_dir.join(SUBDIR), CAPACITY)
    }

    /// Opens a cache directory with another cap.
    pub fn with_capacity(dir: &Path, cap: u64) -> io::Result<HttpCache> {
        Ok(HttpCache {
            store: Arc::new(Store::open(dir, cap)?),
        })
    }

    /// Whether the cache may answer (and store) this request.
    pub fn serves(method: &Method, headers: &HeaderMap) -> bool {
        method == Method::GET && !OWN_CONDITIONALS.iter().any(|h| headers.contains_key(h))
    }

    /// Whether a successful response to this method makes the URL's entry stale.
    pub fn invalidated_by(method: &Method) -> bool {
        matches!(method.as_str(), "POST" | "PUT" | "DELETE" | "PATCH")
    }

    /// Looks the request up (`req.uri` is the URL without fragment).
    pub async fn lookup(&self, req: &http::request::Parts) -> Lookup {
        let key = key_of(&req.uri);
        let store = self.store.clone();
        let read_key = key.clone();
        let Ok(Some(entry)) = tokio::task::spawn_blocking(move || store.read(&read_key)).await else {
            return Lookup::Miss;
        };
        if entry.url != req.uri.to_string() {
            return Lookup::Miss;
        }
        let policy = policy_of(&entry);
        let now = SystemTime::now();
        match policy.before_request(req, now) {
            BeforeRequest::Fresh(_) => {
                let mut headers = entry.response_headers.clone();
                headers.insert(header::AGE, HeaderValue::from(policy.age(now).as_secs()));
                Lookup::Fresh(Hit {
                    status: entry.status,
                    headers,
                    body: entry.body,
                    protocol: protocol_name(&entry.protocol),
                })
            }
            BeforeRequest::Stale { request, matches } => {
                let validators = entry.response_headers.contains_key(header::ETAG)
                    || entry.response_headers.contains_key(header::LAST_MODIFIED);
                if matches && validators {
                    Lookup::Stale(Box::new(Stale { key, entry, policy }), request.headers)
                } else {
                    Lookup::Miss
                }
            }
        }
    }

    /// The server answered a revalidation: a matching `304` gives the stored
    /// response (its headers updated, the entry rewritten). A `304` whose
    /// fields would make the stored header section larger than any response
    /// may have ([`MAX_RESPONSE_HEADER_BYTES`]; a server adding new names
    /// with every `304` would grow it without end) removes the entry.
    pub async fn revalidated(
        &self,
        stale: Stale,
        req: &http::request::Parts,
        resp: &http::response::Parts,
    ) -> Revalidated {
        if resp.status != StatusCode::NOT_MODIFIED {
            return Revalidated::NotUsable;
        }
        let now = SystemTime::now();
        if !matches!(
            stale.policy.after_response(req, resp, now),
            AfterResponse::NotModified(..)
        ) {
            return Revalidated::NotUsable;
        }
        let mut entry = stale.entry;
        let Some(merged) = merge_304(&entry.response_headers, &resp.headers) else {
            let store = self.store.clone();
            let _ = tokio::task::spawn_blocking(move || store.remove(&stale.key)).await;
            return Revalidated::TooLarge;
        };
        entry.response_headers = merged;
        entry.response_time = now;
        let hit = Hit {
            status: entry.status,
            headers: entry.response_headers.clone(),
            body: entry.body.clone(),
            protocol: protocol_name(&entry.protocol),
        };
        let store = self.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.write(&stale.key, &entry)).await;
        Revalidated::Hit(hit)
    }

    /// Wraps a network response's body so that it is stored when complete,
    /// if the rules allow storing it.
    pub fn store(
        &self,
        req: &http::request::Parts,
        resp: &http::response::Parts,
        protocol: &str,
        body: RespBody,
    ) -> RespBody {
        let policy = CachePolicy::new_options(req, resp, SystemTime::now(), options());
        let vary: Vec<String> = resp
            .headers
            .get_all(header::VARY)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        let too_big = resp
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .is_some_and(|n| n > self.store.max_entry());
        if !policy.is_storable() || vary.iter().any(|n| n == "*") || too_big {
            return body;
        }
        let mut request_headers = HeaderMap::new();
        for name in &vary {
            for value in req.headers.get_all(name.as_str()) {
                if let Ok(name) = header::HeaderName::from_bytes(name.as_bytes()) {
                    request_headers.append(name, value.clone());
                }
            }
        }
        let mut response_headers = resp.headers.clone();
        response_headers.remove(header::SET_COOKIE);
        let entry = Entry {
            url: req.uri.to_string(),
            status: resp.status,
            response_time: SystemTime::now(),
            protocol: protocol.to_owned(),
            request_headers,
            response_headers,
            body: Bytes::new(),
        };
        use http_body_util::BodyExt;
        tee::StoringBody::new(body, self.store.clone(), key_of(&req.uri), entry).boxed_unsync()
    }

    /// Removes the URL's entry (after a successful unsafe request).
    pub async fn invalidate(&self, uri: &http::Uri) {
        let store = self.store.clone();
        let key = key_of(uri);
        let _ = tokio::task::spawn_blocking(move || store.remove(&key)).await;
    }
}

/// The file name of a URL's entry: SHA-256 of the URL, hex.
fn key_of(uri: &http::Uri) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, uri.to_string().as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The policy as it was when the entry was stored (or last revalidated).
pub(crate) fn policy_of(entry: &Entry) -> CachePolicy {
    let mut req = http::Request::get(entry.url.as_str())
        .body(())
        .map(|r| r.into_parts().0)
        .unwrap_or_else(|_| http::Request::new(()).into_parts().0);
    req.headers = entry.request_headers.clone();
    let mut res = http::Response::new(()).into_parts().0;
    res.status = entry.status;
    res.headers = entry.response_headers.clone();
    cap_age(&mut res.headers);
    CachePolicy::new_options(&req, &res, entry.response_time, options())
}

/// RFC 9111 1.2.2: a delta-seconds value past 2^31 counts as 2^31.
const MAX_DELTA_SECONDS: u64 = 1 << 31;

/// Caps the server's `Age` at [`MAX_DELTA_SECONDS`]: http-cache-semantics adds `Age` to the
/// time since the response without checking, so `Age: 18446744073709551615` would panic in
/// every lookup of the entry a second after it was stored. Read as the crate reads it: the
/// first field, as a `u64`.
fn cap_age(headers: &mut HeaderMap) {
    let age = headers
        .get(header::AGE)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if age.is_some_and(|age| age > MAX_DELTA_SECONDS) {
        headers.insert(header::AGE, HeaderValue::from(MAX_DELTA_SECONDS));
    }
}

/// RFC 9111 4.3.4: the 304's fields replace the stored ones, except those
/// describing the stored body. `None` when the result would be over
/// [`MAX_RESPONSE_HEADER_BYTES`].
fn merge_304(stored: &HeaderMap, fresh: &HeaderMap) -> Option<HeaderMap> {
    const KEEP: &[header::HeaderName] = &[
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
        header::TRANSFER_ENCODING,
        header::CONTENT_RANGE,
        header::SET_COOKIE,
    ];
    let mut merged = stored.clone();
    for name in fresh.keys() {
        if KEEP.contains(name) {
            continue;
        }
        merged.remove(name);
        for value in fresh.get_all(name) {
            merged.try_append(name.clone(), value.clone()).ok()?;
        }
    }
    (header_section_size(&merged) <= MAX_RESPONSE_HEADER_BYTES).then_some(merged)
}

fn protocol_name(p: &str) -> &'static str {
    match p {
        "h3" => "h3",
        "h2" => "h2",
        _ => "http1.1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_age_past_any_clock_is_capped_before_the_policy_sees_it() {
        let mut entry = entry::tests::sample(b"");
        entry.response_headers.insert(header::AGE, HeaderValue::from(u64::MAX));
        let stored = SystemTime::now() - std::time::Duration::from_secs(10);
        entry.response_time = stored;
        let policy = policy_of(&entry);
        let now = SystemTime::now();
        let req = http::Request::get(entry.url.as_str())
            .body(())
            .expect("request")
            .into_parts()
            .0;
        assert!(matches!(policy.before_request(&req, now), BeforeRequest::Stale { .. }));
        let age = policy.age(now).as_secs();
        assert!((MAX_DELTA_SECONDS + 10..MAX_DELTA_SECONDS + 60).contains(&age), "{age}");
        // Values the crate reads as they are stay as they are.
        for (value, kept) in [("60", true), (" 60", true), ("x", true), ("2147483649", false)] {
            let mut h = HeaderMap::new();
            h.insert(header::AGE, HeaderValue::from_static(value));
            cap_age(&mut h);
            assert_eq!(h[header::AGE] == value, kept, "{value}");
        }
    }

    #[test]
    fn merge_keeps_body_fields() {
        let mut stored = HeaderMap::new();
        stored.insert(header::CONTENT_LENGTH, HeaderValue::from_static("10"));
        stored.insert(header::ETAG, HeaderValue::from_static("\"a\""));
        stored.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=1"));
        let mut fresh = HeaderMap::new();
        fresh.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        fresh.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=60"));
        fresh.insert("x-new", HeaderValue::from_static("1"));
        let merged = merge_304(&stored, &fresh).expect("small enough");
        assert_eq!(merged[header::CONTENT_LENGTH], "10");
        assert_eq!(merged[header::CACHE_CONTROL], "max-age=60");
        assert_eq!(merged[header::ETAG], "\"a\"");
        assert_eq!(merged["x-new"], "1");
    }

    #[test]
    fn conditional_and_range_requests_bypass() {
        let mut h = HeaderMap::new();
        assert!(HttpCache::serves(&Method::GET, &h));
        assert!(!HttpCache::serves(&Method::POST, &h));
        assert!(!HttpCache::serves(&Method::HEAD, &h));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=0-1"));
        assert!(!HttpCache::serves(&Method::GET, &h));
    }
}
