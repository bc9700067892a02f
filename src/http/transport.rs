//! One hop of an exchange (one URL, before any redirect is followed): the
//! app's HTTP cache first (`enableCache`), then HTTP/3 (`enableQuic`, when
//! the origin advertised it and it is not marked broken), then TCP through
//! hyper. Whatever answers, the hop gives back the same [`Hop`].

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use http::{HeaderMap, Method, Uri};
use http_body_util::{BodyExt, Full};

use super::body::BodySource;
use super::profile::ConnUse;
use crate::cache::{HttpCache, Lookup, Revalidated};
use crate::errors::{Errno, WxError};
use crate::net::client::{RespBody, Route};
use crate::net::limits::{header_section_size, MAX_RESPONSE_HEADER_BYTES};
use crate::net::{ConnInfo, ConnectError};
use crate::runtime::now_ms;

/// A hop's response and what `profile` needs to know about it.
pub struct Hop {
    pub head: http::response::Parts,
    pub body: RespBody,
    pub conn: ConnUse,
    pub request_start: f64,
    /// When the request body's last bytes went out (f64 bits; 0: no body).
    pub request_end: Arc<AtomicU64>,
    pub response_start: f64,
}

/// The request of one hop.
pub struct HopRequest<'a> {
    pub url: &'a url::Url,
    pub method: &'a Method,
    pub headers: HeaderMap,
    pub body: &'a BodySource,
}

/// Sends one hop. `cache` is the app's cache when the request enabled it.
///
/// The cache's and HTTP/3's futures are boxed: they are large, and unboxed
/// every request's state machine would carry (and copy) their size even when
/// neither is used.
pub async fn hop(route: Route<'_>, cache: Option<&HttpCache>, req: HopRequest<'_>) -> Result<Hop, WxError> {
    let uri: Uri = req
        .url
        .as_str()
        .parse()
        .map_err(|e| WxError::new(Errno::InvalidUrl, format!("invalid url: {e}")))?;
    let mut parts = http::Request::new(()).into_parts().0;
    parts.method = req.method.clone();
    parts.uri = uri;
    parts.headers = req.headers;
    let serving = cache.filter(|_| HttpCache::serves(&parts.method, &parts.headers));

    let mut send_headers = None;
    let mut stale = None;
    if let Some(cache) = serving {
        match Box::pin(cache.lookup(&parts)).await {
            Lookup::Fresh(hit) => {
                let now = now_ms();
                let mut head = http::Response::new(()).into_parts().0;
                head.status = hit.status;
                head.headers = hit.headers;
                return Ok(Hop {
                    head,
                    body: full(hit.body),
                    conn: ConnUse::cached(hit.protocol),
                    request_start: now,
                    request_end: Arc::new(AtomicU64::new(0)),
                    response_start: now,
                });
            }
            Lookup::Stale(entry, conditional) => {
                send_headers = Some(conditional);
                stale = Some(entry);
            }
            Lookup::Miss => {}
        }
    }

    let mut hop = network(route, req.url, &parts, send_headers, req.body).await?;
    if header_section_size(&hop.head.headers) > MAX_RESPONSE_HEADER_BYTES {
        return Err(header_too_large());
    }
    #[cfg(feature = "quic")]
    learn_alt_svc(route, req.url, &hop.head.headers);

    let Some(cache) = cache else {
        return Ok(hop);
    };
    let revalidated = match stale {
        Some(entry) => Box::pin(cache.revalidated(*entry, &parts, &hop.head)).await,
        None => Revalidated::NotUsable,
    };
    if let Revalidated::Hit(hit) = revalidated {
        // The 304 came over the network (its profile stays); the response
        // the mini-program sees is the stored one.
        hop.head.status = hit.status;
        hop.head.headers = hit.headers;
        hop.body = full(hit.body);
    } else if let Revalidated::TooLarge = revalidated {
        return Err(header_too_large());
    } else if serving.is_some() {
        hop.body = cache.store(&parts, &hop.head, hop.conn.protocol, hop.body);
    } else if HttpCache::invalidated_by(&parts.method) && hop.head.status.as_u16() < 400 {
        Box::pin(cache.invalidate(&parts.uri)).await;
    }
    Ok(hop)
}

fn full(bytes: bytes::Bytes) -> RespBody {
    Full::new(bytes).map_err(|never| match never {}).boxed_unsync()
}

/// A request to send over the network. `headers`: replaces the request's
/// fields (a revalidation's).
fn build(
    parts: &http::request::Parts,
    headers: Option<&HeaderMap>,
    body: &BodySource,
    end: &Arc<AtomicU64>,
) -> Result<http::Request<crate::net::client::ReqBody>, WxError> {
    let mut req = http::Request::builder()
        .method(parts.method.clone())
        .uri(parts.uri.clone())
        .body(body.make(end.clone())?)
        .map_err(|e| WxError::parameter(e.to_string()))?;
    *req.headers_mut() = headers.unwrap_or(&parts.headers).clone();
    Ok(req)
}

async fn network(
    route: Route<'_>,
    url: &url::Url,
    parts: &http::request::Parts,
    headers: Option<HeaderMap>,
    body: &BodySource,
) -> Result<Hop, WxError> {
    #[cfg(feature = "quic")]
    if let Some(target) = h3_target(route, url) {
        let request_end = Arc::new(AtomicU64::new(0));
        let req = build(parts, headers.as_ref(), body, &request_end)?;
        let request_start = now_ms();
        match Box::pin(route.clients.h3.send(&target, req)).await {
            Ok(r) => {
                let response_start = now_ms();
                let (head, body) = r.response.into_parts();
                return Ok(Hop {
                    head,
                    body,
                    conn: ConnUse {
                        info: Some(r.info),
                        reused: r.reused,
                        protocol: "h3",
                        cached: false,
                    },
                    request_start,
                    request_end,
                    response_start,
                });
            }
            Err(crate::net::h3::H3Error::Unavailable(why)) => {
                log::debug!("h3 not used for {}: {why}", target.host);
            }
            Err(crate::net::h3::H3Error::Failed(why)) => return Err(WxError::network(why)),
            Err(crate::net::h3::H3Error::HeadTooLarge) => return Err(header_too_large()),
        }
    }

    if let (Some(http_dns), Some(host)) = (route.http_dns, url.host_str()) {
        http_dns.prefetch(host).await;
    }
    let request_end = Arc::new(AtomicU64::new(0));
    let req = build(parts, headers.as_ref(), body, &request_end)?;
    let request_start = now_ms();
    let resp = route.tcp().request(req).await.map_err(classify)?;
    let response_start = now_ms();
    let (head, incoming) = resp.into_parts();
    let info = head.extensions.get::<ConnInfo>().cloned();
    let reused = info.as_ref().is_some_and(ConnInfo::claim_use);
    let protocol = match &info {
        Some(i) if i.is_h2() => "h2",
        _ => "http1.1",
    };
    Ok(Hop {
        head,
        body: incoming
            .map_err(|e| Box::new(e) as crate::net::client::BodyError)
            .boxed_unsync(),
        conn: ConnUse {
            info,
            reused,
            protocol,
            cached: false,
        },
        request_start,
        request_end,
        response_start,
    })
}

/// hyper's errors -> a wx network failure whose reason names the layer
/// (DNS, connect, TLS) when the connector failed.
pub fn classify(e: hyper_util::client::legacy::Error) -> WxError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    let mut chain = Vec::new();
    while let Some(s) = source {
        // hyper's `Error::is_parse_too_large` exists only with its `server` feature (which
        // wxnet does not build: `cargo build -p wxnet` alone would fail), so the kind is
        // read from the error's fixed text ("message head is too large").
        if s.downcast_ref::<hyper::Error>()
            .is_some_and(|h| h.is_parse() && h.to_string().contains("too large"))
        {
            return header_too_large();
        }
        if let Some(c) = s.downcast_ref::<ConnectError>() {
            return match c {
                ConnectError::ThisDevice(_) => WxError::new(Errno::NotInDomainList, c.to_string()),
                _ => WxError::network(c.to_string()),
            };
        }
        chain.push(s.to_string());
        source = s.source();
    }
    WxError::network(format!("network error: {}", chain.join(": ")))
}

/// Where HTTP/3 would go for this URL, if the route allows it and the
/// origin advertised it.
#[cfg(feature = "quic")]
fn h3_target(route: Route<'_>, url: &url::Url) -> Option<crate::net::h3::Target> {
    if !route.quic || url.scheme() != "https" {
        return None;
    }
    let host = url.host_str()?.trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default()?;
    let alt = route.clients.alt_svc.lookup(host, port, std::time::Instant::now())?;
    Some(crate::net::h3::Target {
        host: host.to_owned(),
        port,
        alt,
    })
}

/// Every https response of the app teaches its `Alt-Svc`.
#[cfg(feature = "quic")]
fn learn_alt_svc(route: Route<'_>, url: &url::Url, headers: &HeaderMap) {
    if url.scheme() != "https" || !headers.contains_key(http::header::ALT_SVC) {
        return;
    }
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    route.clients.alt_svc.learn(
        host,
        port,
        headers.get_all(http::header::ALT_SVC).iter().map(|v| v.as_bytes()),
        std::time::Instant::now(),
    );
}

/// The failure of a response whose header section is over
/// [`MAX_RESPONSE_HEADER_BYTES`] (any protocol).
pub fn header_too_large() -> WxError {
    WxError::network(format!(
        "response header section exceeds {MAX_RESPONSE_HEADER_BYTES} bytes"
    ))
}
