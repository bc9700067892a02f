//! One HTTP exchange as wx sees it: send, follow redirects (each hop checked
//! against the domain list, at most 10; each hop sent by
//! [`super::transport`]), keep the app's cookie jar (if on) in step, and
//! hand back the final response head, its body, and what the connection
//! knows. Shared by request, uploadFile and downloadFile.

use std::sync::atomic::Ordering;

use http::{header, HeaderMap, Method, StatusCode};

use super::body::BodySource;
use super::profile::{ConnUse, Profile};
use super::transport::{self, HopRequest};
use crate::cache::HttpCache;
use crate::errors::{Errno, WxError};
use crate::net::client::{RespBody, Route};
use crate::policy::{self, DomainKind, Policy};
use crate::runtime::now_ms;

/// At most this many redirects are followed (errno 600008 beyond).
pub const MAX_REDIRECTS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirect {
    Follow,
    /// Stop at a 3xx and report it as the response.
    Manual,
}

/// What to send (the URL already passed the policy check).
pub struct Exchange {
    pub url: url::Url,
    pub method: Method,
    pub headers: HeaderMap,
    pub body: BodySource,
    pub http2: bool,
    pub redirect: Redirect,
}

/// The final response.
pub struct Response {
    pub status: StatusCode,
    pub head: http::response::Parts,
    pub body: RespBody,
    pub conn: ConnUse,
}

impl Response {
    /// A response header as text (None if absent or not visible ASCII).
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.head.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The announced Content-Length, if any (a claim, not a promise). None
    /// with a Transfer-Encoding, which then frames the body (RFC 9112 6.3).
    pub fn content_length(&self) -> Option<u64> {
        if self.head.headers.contains_key(header::TRANSFER_ENCODING) {
            return None;
        }
        self.header(header::CONTENT_LENGTH).and_then(|v| v.parse().ok())
    }
}

impl Exchange {
    /// Sends, following redirects as configured; fills the request-side
    /// `profile` fields (redirect*, request*, responseStart). With the app's
    /// cookie jar on, each hop sends and stores cookies.
    pub async fn send(
        self,
        route: Route<'_>,
        policy: &Policy,
        kind: DomainKind,
        profile: &mut Profile,
    ) -> Result<Response, WxError> {
        self.send_cached(route, None, policy, kind, profile).await
    }

    /// [`Exchange::send`] with the app's HTTP cache (`enableCache`) taking
    /// part in every hop.
    pub async fn send_cached(
        self,
        route: Route<'_>,
        cache: Option<&HttpCache>,
        policy: &Policy,
        kind: DomainKind,
        profile: &mut Profile,
    ) -> Result<Response, WxError> {
        let Exchange {
            mut url,
            mut method,
            mut headers,
            mut body,
            redirect,
            ..
        } = self;
        let jar = route.clients.cookies.as_deref();
        let mut hops = 0;
        loop {
            let mut hop_headers = headers.clone();
            if let Some(jar) = jar {
                jar.apply(&url, &mut hop_headers);
            }
            let request = HopRequest {
                url: &url,
                method: &method,
                headers: hop_headers,
                body: &body,
            };
            let hop = transport::hop(route, cache, request).await?;
            if let Some(jar) = jar {
                jar.store(&url, &hop.head.headers);
            }
            let head = hop.head;
            let location = head.headers.get(header::LOCATION).and_then(|v| v.to_str().ok());
            if let (Redirect::Follow, true, Some(location)) = (redirect, is_redirect(head.status), location) {
                hops += 1;
                if hops > MAX_REDIRECTS {
                    return Err(WxError::new(Errno::MaxRedirect, "reach the max redirect count"));
                }
                if profile.redirect_start == 0.0 {
                    profile.redirect_start = hop.request_start;
                }
                let next = url
                    .join(location)
                    .map_err(|e| WxError::new(Errno::InvalidUrl, format!("invalid redirect location: {e}")))?;
                let next = policy::check_url(policy, kind, next.as_str())?;
                if downgrades_to_get(head.status, &method) {
                    method = Method::GET;
                    body = BodySource::empty();
                    headers.remove(header::CONTENT_TYPE);
                    headers.remove(header::CONTENT_LENGTH);
                }
                if next.origin() != url.origin() {
                    headers.remove(header::AUTHORIZATION);
                    headers.remove(header::PROXY_AUTHORIZATION);
                    headers.remove(header::COOKIE);
                }
                drop(hop.body);
                profile.redirect_end = now_ms();
                url = next;
                continue;
            }
            let conn = hop.conn;
            // On a fresh connection the request starts once it is set up.
            let connected = match (&conn.info, conn.reused) {
                (Some(i), false) => i.timings().tls_end.max(i.timings().connect_end),
                _ => 0.0,
            };
            profile.request_start = hop.request_start.max(connected);
            let body_sent = f64::from_bits(hop.request_end.load(Ordering::Relaxed));
            profile.request_end = body_sent.max(profile.request_start);
            profile.response_start = hop.response_start.max(profile.request_start);
            return Ok(Response {
                status: head.status,
                head,
                body: hop.body,
                conn,
            });
        }
    }
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// 303 turns anything but HEAD into GET; 301/302 turn POST into GET (as
/// browsers do); 307/308 keep method and body.
fn downgrades_to_get(status: StatusCode, method: &Method) -> bool {
    match status.as_u16() {
        303 => method != Method::HEAD,
        301 | 302 => method == Method::POST,
        _ => false,
    }
}
