//! One HTTP exchange as wx sees it: send, follow redirects (each hop checked
//! against the domain list, at most 10), and hand back the final response
//! head, its body, and what the connection knows. Shared by request,
//! uploadFile and downloadFile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderMap, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use crate::errors::{Errno, WxError};
use crate::event::res::Profile;
use crate::net::client::{HttpClient, ReqBody};
use crate::net::{ConnInfo, ConnectError};
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

/// A request body that can be produced again for each redirect hop.
#[derive(Clone)]
pub enum BodySource {
    Bytes(Bytes),
    /// A streamed multipart upload (reopens its file per hop).
    Multipart(Arc<crate::transfer::multipart::Multipart>),
}

impl BodySource {
    pub fn empty() -> Self {
        BodySource::Bytes(Bytes::new())
    }

    /// A fresh body that records when its last bytes went out.
    fn make(&self, end: Arc<AtomicU64>) -> Result<ReqBody, WxError> {
        let body = match self {
            BodySource::Bytes(bytes) => Full::new(bytes.clone()).map_err(|never| match never {}).boxed(),
            BodySource::Multipart(m) => m.body()?,
        };
        Ok(body
            .map_frame(move |frame| {
                end.store(now_ms().to_bits(), Ordering::Relaxed);
                frame
            })
            .boxed())
    }
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

/// The connection a response came over, and whether this request reused it.
pub struct ConnUse {
    pub info: Option<ConnInfo>,
    pub reused: bool,
}

/// The final response.
pub struct Response {
    pub status: StatusCode,
    pub head: http::response::Parts,
    pub body: Incoming,
    pub conn: ConnUse,
}

impl Exchange {
    /// Sends, following redirects as configured; fills the request-side
    /// `profile` fields (redirect*, request*, responseStart).
    pub async fn send(
        self,
        client: &HttpClient,
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
        let mut hops = 0;
        loop {
            let uri: Uri = url
                .as_str()
                .parse()
                .map_err(|e| WxError::new(Errno::InvalidUrl, format!("invalid url: {e}")))?;
            let request_end = Arc::new(AtomicU64::new(0));
            let mut req = http::Request::builder()
                .method(method.clone())
                .uri(uri)
                .body(body.make(request_end.clone())?)
                .map_err(|e| WxError::parameter(e.to_string()))?;
            *req.headers_mut() = headers.clone();
            let request_start = now_ms();
            let resp = client.request(req).await.map_err(classify)?;
            let response_start = now_ms();
            let (head, incoming) = resp.into_parts();
            let location = head.headers.get(header::LOCATION).and_then(|v| v.to_str().ok());
            if let (Redirect::Follow, true, Some(location)) = (redirect, is_redirect(head.status), location) {
                hops += 1;
                if hops > MAX_REDIRECTS {
                    return Err(WxError::new(Errno::MaxRedirect, "reach the max redirect count"));
                }
                if profile.redirect_start == 0.0 {
                    profile.redirect_start = request_start;
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
                    headers.remove(header::COOKIE);
                }
                drop(incoming);
                profile.redirect_end = now_ms();
                url = next;
                continue;
            }
            let info = head.extensions.get::<ConnInfo>().cloned();
            let reused = info.as_ref().is_some_and(ConnInfo::claim_use);
            // On a fresh connection the request starts once it is set up.
            let connected = match (&info, reused) {
                (Some(i), false) => i.timings().tls_end.max(i.timings().connect_end),
                _ => 0.0,
            };
            profile.request_start = request_start.max(connected);
            let body_sent = f64::from_bits(request_end.load(Ordering::Relaxed));
            profile.request_end = body_sent.max(profile.request_start);
            profile.response_start = response_start;
            return Ok(Response {
                status: head.status,
                head,
                body: incoming,
                conn: ConnUse { info, reused },
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

/// hyper's errors -> a wx network failure whose reason names the layer
/// (DNS, connect, TLS) when the connector failed.
pub fn classify(e: hyper_util::client::legacy::Error) -> WxError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    let mut chain = Vec::new();
    while let Some(s) = source {
        if let Some(c) = s.downcast_ref::<ConnectError>() {
            return WxError::network(c.to_string());
        }
        chain.push(s.to_string());
        source = s.source();
    }
    WxError::network(format!("network error: {}", chain.join(": ")))
}
