//! HTTPDNS for wx.request (`enableHttpDNS` + `httpDNSServiceId` +
//! `httpDNSTimeout`): the app config's `httpDns` maps a service id to a
//! DNS-over-HTTPS resolver (RFC 8484), which this module queries.
//!
//! - A lookup sends two GET queries (`?dns=<base64url>`, `Accept:
//!   application/dns-message`), A and AAAA, at once, through the app's own
//!   HTTPS client (HTTP/2 when the resolver offers it): so the resolver's
//!   connection honours `resolve` pins, `caCertificates`, `tlsVerify` and,
//!   under urlCheck, the rule that this device is never a target. The
//!   resolver URL is the host's configuration, not the mini-program's, so
//!   it is not checked against the `request` domain list; it must be
//!   `https://` (checked when the config is loaded).
//! - Answers are cached per name for the smallest TTL of the records used
//!   (at most [`MAX_TTL`]); an answer with TTL 0 serves only the connection
//!   it was fetched for. At most [`MAX_CACHED_NAMES`] names are kept.
//! - The request waits at most `httpDNSTimeout` for the resolver; after
//!   that, or when the resolver fails or knows no address, the connection
//!   uses the system resolver as if HTTPDNS were off. The addresses a
//!   resolver gives are checked like system DNS answers (under urlCheck,
//!   one of this device's addresses is refused).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};

use super::body::HttpClient;
use super::connector::CachedAnswers;
use super::dns_wire::{self, TYPE_A, TYPE_AAAA};

/// Answers are cached at most this long, whatever their TTL.
pub(crate) const MAX_TTL: Duration = Duration::from_secs(3600);
/// At most this many names are cached per resolver.
pub(crate) const MAX_CACHED_NAMES: usize = 256;
/// A DNS message over HTTPS is at most this long (RFC 8484: 65535).
const MAX_MESSAGE: usize = 65_535;
/// `httpDNSTimeout` when the request does not give one.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

struct Cached {
    addrs: Vec<IpAddr>,
    expires: Instant,
    /// A TTL-0 answer: good for the one connection being made now, then gone.
    once: bool,
}

/// How long a TTL-0 answer waits for the connection it was fetched for.
const ONCE_FOR: Duration = Duration::from_secs(10);

/// One `httpDns` service: its resolver URL and its answer cache.
pub(crate) struct DohResolver {
    url: url::Url,
    client: HttpClient,
    cache: Mutex<HashMap<String, Cached>>,
}

impl DohResolver {
    /// `client`: the app's HTTPS client with system DNS.
    pub(crate) fn new(url: url::Url, client: HttpClient) -> DohResolver {
        DohResolver {
            url,
            client,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The cached, unexpired addresses of `host` (lowercase, no brackets),
    /// for a connection; a TTL-0 answer is handed out once.
    pub(crate) fn cached(&self, host: &str) -> Option<Vec<IpAddr>> {
        let mut cache = self.cache.lock().expect("DoH cache lock poisoned");
        let hit = cache.get(host).filter(|c| c.expires > Instant::now())?;
        let addrs = hit.addrs.clone();
        if hit.once {
            cache.remove(host);
        }
        Some(addrs)
    }

    /// Whether `host` has an answer that lasts (by its TTL).
    fn fresh(&self, host: &str) -> bool {
        let cache = self.cache.lock().expect("DoH cache lock poisoned");
        cache.get(host).is_some_and(|c| !c.once && c.expires > Instant::now())
    }

    /// Makes sure `host`'s addresses are cached if the resolver answers
    /// within `timeout`; the connector then uses them ([`Self::cached`]).
    /// Failures only fall back to the system resolver (logged, no URL).
    pub(crate) async fn prefetch(&self, host: &str, timeout: Duration) {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.parse::<IpAddr>().is_ok() {
            return;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if self.fresh(&host) {
            return;
        }
        match tokio::time::timeout(timeout, self.lookup(&host)).await {
            Ok(Ok((addrs, ttl))) => self.remember(host, addrs, ttl),
            Ok(Err(why)) => log::debug!("HTTPDNS lookup failed, using system DNS: {why}"),
            Err(_) => log::debug!("HTTPDNS lookup timed out, using system DNS"),
        }
    }

    fn remember(&self, host: String, addrs: Vec<IpAddr>, ttl: Duration) {
        let now = Instant::now();
        let mut cache = self.cache.lock().expect("DoH cache lock poisoned");
        if cache.len() >= MAX_CACHED_NAMES && !cache.contains_key(&host) {
            cache.retain(|_, c| c.expires > now);
            if cache.len() >= MAX_CACHED_NAMES {
                let oldest = cache.iter().min_by_key(|(_, c)| c.expires).map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    cache.remove(&k);
                }
            }
        }
        let once = ttl.is_zero();
        cache.insert(
            host,
            Cached {
                addrs,
                expires: now + if once { ONCE_FOR } else { ttl.min(MAX_TTL) },
                once,
            },
        );
    }

    /// A and AAAA at once; the addresses (AAAA first) and the smallest TTL.
    async fn lookup(&self, host: &str) -> Result<(Vec<IpAddr>, Duration), String> {
        let (v6, v4) = tokio::join!(self.query(host, TYPE_AAAA), self.query(host, TYPE_A));
        let mut addrs = Vec::new();
        let mut ttl = u32::MAX;
        let mut errors = Vec::new();
        for answer in [v6, v4] {
            match answer {
                Ok(a) if !a.addrs.is_empty() => {
                    ttl = ttl.min(a.ttl);
                    addrs.extend(a.addrs);
                }
                Ok(a) => errors.push(format!("no address (rcode {})", a.rcode)),
                Err(e) => errors.push(e),
            }
        }
        if addrs.is_empty() {
            return Err(errors.join("; "));
        }
        Ok((addrs, Duration::from_secs(u64::from(ttl))))
    }

    async fn query(&self, host: &str, qtype: u16) -> Result<dns_wire::Answer, String> {
        let message = dns_wire::encode_query(host, qtype).map_err(|e| e.to_string())?;
        let mut url = self.url.clone();
        let param = format!("dns={}", base64url(&message));
        let query = match url.query() {
            Some(q) if !q.is_empty() => format!("{q}&{param}"),
            _ => param,
        };
        url.set_query(Some(&query));
        let req = http::Request::get(url.as_str())
            .header(http::header::ACCEPT, "application/dns-message")
            .body(Full::new(Bytes::new()).map_err(|never| match never {}).boxed())
            .map_err(|e| format!("DoH request: {e}"))?;
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| format!("DoH resolver unreachable: {e}"))?;
        if resp.status() != http::StatusCode::OK {
            return Err(format!("DoH resolver answered {}", resp.status()));
        }
        let body = Limited::new(resp.into_body(), MAX_MESSAGE)
            .collect()
            .await
            .map_err(|e| format!("DoH answer: {e}"))?
            .to_bytes();
        dns_wire::decode_answer(&body, host, qtype).map_err(|e| format!("DoH answer: {e}"))
    }
}

/// Base64url without padding (RFC 4648 5), as RFC 8484 4.1 wants.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = match chunk {
            [a, b, c] => (u32::from(*a) << 16) | (u32::from(*b) << 8) | u32::from(*c),
            [a, b] => (u32::from(*a) << 16) | (u32::from(*b) << 8),
            [a] => u32::from(*a) << 16,
            _ => unreachable!("chunks(3) gives 1 to 3 bytes"),
        };
        let sextets = chunk.len() + 1;
        for i in 0..sextets {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

impl CachedAnswers for DohResolver {
    fn cached(&self, host: &str) -> Option<Vec<IpAddr>> {
        DohResolver::cached(self, host)
    }
}

#[cfg(test)]
mod tests {
    use super::base64url;

    #[test]
    fn base64url_without_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xFB, 0xFF]), "-_8");
        // RFC 8484 4.1.1's example query for www.example.com A.
        let q = super::dns_wire::encode_query("www.example.com", super::TYPE_A).expect("query");
        assert_eq!(base64url(&q), "AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB");
    }
}
