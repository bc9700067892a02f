//! HTTP/3 (IETF QUIC via quinn, HTTP/3 via h3) for one app: UDP endpoints,
//! a pool of live connections per origin, and the "head start" race with TCP.
//!
//! A request that may use HTTP/3 asks [`H3Client::send`]. Without a pooled
//! connection a handshake starts as its own task; the request waits for it at
//! most [`HEAD_START`]. If the handshake fails or is not done by then, the
//! request is told to use TCP ([`H3Error::Unavailable`]) and the origin is
//! marked broken (TCP only for a while); a handshake that finishes later still
//! pools its connection and clears the mark, so later requests get HTTP/3.
//! Once a request went out on a stream, a failure is the request's failure.
//!
//! TLS is the app's: the same verifier (system roots + `caCertificates`, or
//! none with `tlsVerify: false`), TLS 1.3 with the *ring* provider, ALPN `h3`,
//! certificate checked for the origin's host even when Alt-Svc names another.
//! DNS honours the app's `resolve` pins (see [`H3Client::resolve`]).
//! Response headers are limited to [`super::limits::MAX_RESPONSE_HEADER_BYTES`]
//! (announced to the server, and enforced when they are decoded); what h3 may
//! buffer from a server before that is bounded by [`super::h3_guard`].

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use h3::error::Code;
use http::{header, HeaderMap, HeaderValue};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use rustls::client::danger::ServerCertVerifier;
use tokio::sync::watch;

use super::alt_svc::{AltSvcCache, Alternative};
use super::body::{BodyError, ReqBody, RespBody};
use super::h3_guard::{GuardedBidi, GuardedConnection, GuardedOpener, GuardedRecv, Guards, StreamGuard, Violation};
use super::{connector, ConnInfo, ConnectTimings};
use crate::runtime::now_ms;

/// How long a request waits for a new QUIC handshake before it uses TCP.
pub const HEAD_START: Duration = Duration::from_millis(300);
/// A handshake still not done after this is given up (the connection task ends).
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);
/// An idle pooled connection closes after this.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why HTTP/3 was not used or did not work.
#[derive(Debug)]
pub enum H3Error {
    /// No connection could be had in time: use TCP for this request.
    Unavailable(String),
    /// The request was sent and then failed: the request fails.
    Failed(String),
    /// The response header section is over the limit (or its frame is).
    HeadTooLarge,
}

/// What [`H3Client::send`] returns: the response, its connection, and
/// whether this request reused the connection.
pub struct H3Response {
    pub response: http::Response<RespBody>,
    pub info: ConnInfo,
    pub reused: bool,
}

type H3Sender = h3::client::SendRequest<GuardedOpener, Bytes>;
type RecvStream = h3::client::RequestStream<GuardedRecv, Bytes>;

/// A live connection.
#[derive(Clone)]
struct Pooled {
    send: H3Sender,
    conn: quinn::Connection,
    info: ConnInfo,
    /// Guards of request streams opened on this connection.
    guards: Guards,
}

impl Pooled {
    fn alive(&self) -> bool {
        self.conn.close_reason().is_none()
    }
}

type Attempt = watch::Receiver<Option<Result<Pooled, String>>>;

struct Shared {
    quic: quinn::ClientConfig,
    resolve: HashMap<String, SocketAddr>,
    refuse_local_answers: bool,
    alt_svc: Arc<AltSvcCache>,
    endpoints: Mutex<[Option<quinn::Endpoint>; 2]>,
    pool: Mutex<HashMap<String, Pooled>>,
    pending: Mutex<HashMap<String, Attempt>>,
}

/// Where a request goes: the https origin and its advertised alternative.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL's host (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    pub alt: Alternative,
}

impl Target {
    fn key(&self) -> String {
        let alt_host = self.alt.host.as_deref().unwrap_or("");
        format!("{}:{}>{alt_host}:{}", self.host, self.port, self.alt.port)
    }
}

/// One app's HTTP/3 client. Cheap to clone.
#[derive(Clone)]
pub struct H3Client {
    shared: Arc<Shared>,
}

impl H3Client {
    pub fn new(
        verifier: Arc<dyn ServerCertVerifier>,
        resolve: HashMap<String, SocketAddr>,
        refuse_local_answers: bool,
        alt_svc: Arc<AltSvcCache>,
    ) -> Result<H3Client, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| format!("QUIC TLS setup: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"h3".to_vec()];
        let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).map_err(|e| format!("QUIC TLS: {e}"))?;
        let mut transport = quinn::TransportConfig::default();
        // What quinn holds for a server's streams is bounded per stream (its stream receive
        // window, 1.25 MB); the number of such streams is bounded here. HTTP/3 servers may
        // not open bidirectional streams at all (RFC 9114 6.1); they need 3 unidirectional
        // ones (control, QPACK encoder and decoder) plus the odd reserved one, which h3
        // stops at once.
        transport.max_concurrent_bidi_streams(0u32.into());
        transport.max_concurrent_uni_streams(16u32.into());
        transport.max_idle_timeout(Some(
            quinn::IdleTimeout::try_from(IDLE_TIMEOUT).expect("30 s is a valid QUIC idle timeout"),
        ));
        let mut quic = quinn::ClientConfig::new(Arc::new(crypto));
        quic.transport_config(Arc::new(transport));
        Ok(H3Client {
            shared: Arc::new(Shared {
                quic,
                resolve,
                refuse_local_answers,
                alt_svc,
                endpoints: Mutex::new([None, None]),
                pool: Mutex::new(HashMap::new()),
                pending: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Sends one request over HTTP/3. `request` has an absolute https URI.
    pub async fn send(&self, target: &Target, request: http::Request<ReqBody>) -> Result<H3Response, H3Error> {
        let key = target.key();
        let (parts, body) = request.into_parts();
        let (mut pooled, mut reused) = match self.pooled(&key) {
            Some(p) => (p, true),
            None => (self.fresh(&key, target).await?, false),
        };
        let (stream, guard) = match open(&pooled, &parts, &body).await {
            Ok(stream) => stream,
            Err(e) if reused => {
                // A pooled connection the server closed meanwhile: nothing was
                // sent, so (as hyper does for a stale keep-alive connection)
                // try again on a new one.
                log::debug!("h3: pooled connection unusable ({e}), reconnecting");
                self.forget(&key, &pooled);
                pooled = self.fresh(&key, target).await?;
                reused = false;
                open(&pooled, &parts, &body).await.map_err(H3Error::Unavailable)?
            }
            Err(e) => return Err(H3Error::Unavailable(e)),
        };
        let response = match transfer(&pooled, stream, guard, body).await {
            Ok(response) => response,
            Err((e, connection_failed)) => {
                if connection_failed {
                    // h3 closes the connection in its driver task, a moment
                    // later: the next request must not pick it meanwhile.
                    self.forget(&key, &pooled);
                }
                return Err(e);
            }
        };
        Ok(H3Response {
            response,
            info: pooled.info,
            reused,
        })
    }

    fn pooled(&self, key: &str) -> Option<Pooled> {
        let mut pool = self.shared.pool.lock().expect("h3 pool lock poisoned");
        match pool.get(key) {
            Some(p) if p.alive() => Some(p.clone()),
            Some(_) => {
                pool.remove(key);
                None
            }
            None => None,
        }
    }

    fn forget(&self, key: &str, pooled: &Pooled) {
        let mut pool = self.shared.pool.lock().expect("h3 pool lock poisoned");
        if pool
            .get(key)
            .is_some_and(|p| p.conn.stable_id() == pooled.conn.stable_id())
        {
            pool.remove(key);
        }
    }

    /// Joins or starts the handshake for `key`, waiting at most [`HEAD_START`].
    async fn fresh(&self, key: &str, target: &Target) -> Result<Pooled, H3Error> {
        let mut attempt = {
            let mut pending = self.shared.pending.lock().expect("h3 pending lock poisoned");
            match pending.get(key) {
                Some(rx) => rx.clone(),
                None => {
                    let (tx, rx) = watch::channel(None);
                    pending.insert(key.to_owned(), rx.clone());
                    tokio::spawn(connect_task(
                        Arc::downgrade(&self.shared),
                        self.clone(),
                        key.to_owned(),
                        target.clone(),
                        tx,
                    ));
                    rx
                }
            }
        };
        let waited = tokio::time::timeout(HEAD_START, attempt.wait_for(Option::is_some))
            .await
            .map(|r| r.map(|v| v.clone()));
        match waited {
            Ok(Ok(Some(Ok(p)))) => Ok(p),
            Ok(Ok(Some(Err(e)))) => Err(H3Error::Unavailable(e)),
            Ok(Ok(None)) | Ok(Err(_)) => Err(H3Error::Unavailable("QUIC connect task ended".into())),
            Err(_) => {
                self.shared
                    .alt_svc
                    .mark_broken(&target.host, target.port, Instant::now());
                Err(H3Error::Unavailable(format!(
                    "no QUIC handshake within {} ms",
                    HEAD_START.as_millis()
                )))
            }
        }
    }

    /// The UDP address for a target: a `resolve` pin for the alternative's
    /// `host:port`; else, for the origin's own host, the address pinned for
    /// the origin with the alternative's port; else an IP literal; else DNS
    /// (answers pointing at this device refused under urlCheck, as on TCP).
    async fn resolve(&self, target: &Target) -> Result<SocketAddr, String> {
        let host = target.alt.host.as_deref().unwrap_or(&target.host);
        let norm = |h: &str, port: u16| {
            let h = h.trim_end_matches('.').to_ascii_lowercase();
            if h.contains(':') {
                format!("[{h}]:{port}")
            } else {
                format!("{h}:{port}")
            }
        };
        if let Some(addr) = self.shared.resolve.get(&norm(host, target.alt.port)) {
            return Ok(*addr);
        }
        if target.alt.host.is_none() {
            if let Some(addr) = self.shared.resolve.get(&norm(&target.host, target.port)) {
                return Ok(SocketAddr::new(addr.ip(), target.alt.port));
            }
        }
        let refuse = self.shared.refuse_local_answers;
        if let Ok(ip) = host.parse::<IpAddr>() {
            if refuse && connector::is_this_device(ip) {
                return Err(format!("{ip} is an address of this device"));
            }
            return Ok(SocketAddr::new(ip, target.alt.port));
        }
        tokio::net::lookup_host((host, target.alt.port))
            .await
            .map_err(|e| format!("DNS lookup failed: {e}"))?
            .find(|a| !(refuse && connector::is_this_device(a.ip())))
            .ok_or_else(|| "DNS lookup failed: no usable address".to_owned())
    }

    fn endpoint(&self, v6: bool) -> Result<quinn::Endpoint, String> {
        let mut endpoints = self.shared.endpoints.lock().expect("h3 endpoint lock poisoned");
        let slot = &mut endpoints[usize::from(v6)];
        if let Some(e) = slot {
            return Ok(e.clone());
        }
        let bind: IpAddr = if v6 {
            Ipv6Addr::UNSPECIFIED.into()
        } else {
            Ipv4Addr::UNSPECIFIED.into()
        };
        let endpoint =
            quinn::Endpoint::client(SocketAddr::new(bind, 0)).map_err(|e| format!("cannot open a UDP socket: {e}"))?;
        *slot = Some(endpoint.clone());
        Ok(endpoint)
    }

    /// Resolves, handshakes (QUIC + TLS in one), and sets up HTTP/3.
    async fn connect(&self, target: &Target) -> Result<Pooled, String> {
        let mut t = ConnectTimings {
            dns_start: now_ms(),
            ..Default::default()
        };
        let addr = self.resolve(target).await?;
        t.dns_end = now_ms();
        t.connect_start = t.dns_end;
        t.tls_start = t.dns_end;
        let endpoint = self.endpoint(addr.is_ipv6())?;
        let conn = endpoint
            .connect_with(self.shared.quic.clone(), addr, &target.host)
            .map_err(|e| format!("QUIC connect failed: {e}"))?
            .await
            .map_err(|e| format!("QUIC handshake failed: {e}"))?;
        t.connect_end = now_ms();
        t.tls_end = t.connect_end;
        let guards = Guards::default();
        let (mut driver, send) = h3::client::builder()
            .max_field_section_size(super::limits::MAX_RESPONSE_HEADER_BYTES as u64)
            .build(GuardedConnection::new(conn.clone(), guards.clone()))
            .await
            .map_err(|e| format!("HTTP/3 setup failed: {e}"))?;
        let info = ConnInfo::new(conn.remote_address(), false, t);
        // The driver runs the control streams until the connection closes.
        tokio::spawn(async move {
            let _ = std::future::poll_fn(|cx| driver.poll_close(cx)).await;
        });
        Ok(Pooled {
            send,
            conn,
            info,
            guards,
        })
    }
}

/// The handshake as its own task, so that it can finish (and pool its
/// connection) after the request that started it went to TCP.
async fn connect_task(
    shared: Weak<Shared>,
    client: H3Client,
    key: String,
    target: Target,
    tx: watch::Sender<Option<Result<Pooled, String>>>,
) {
    let result = match tokio::time::timeout(HANDSHAKE_LIMIT, client.connect(&target)).await {
        Ok(r) => r,
        Err(_) => Err("QUIC handshake timed out".into()),
    };
    drop(client);
    let Some(shared) = shared.upgrade() else {
        return;
    };
    match &result {
        Ok(p) => {
            shared.alt_svc.mark_working(&target.host, target.port);
            shared
                .pool
                .lock()
                .expect("h3 pool lock poisoned")
                .insert(key.clone(), p.clone());
        }
        Err(e) => {
            log::debug!("h3: {e}; using TCP for {}", target.host);
            shared.alt_svc.mark_broken(&target.host, target.port, Instant::now());
        }
    }
    shared.pending.lock().expect("h3 pending lock poisoned").remove(&key);
    let _ = tx.send(Some(result));
}

/// Fields that do not exist in HTTP/3 (RFC 9114 4.2); `:authority` replaces Host.
const CONNECTION_SPECIFIC: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
];

type BidiStream = h3::client::RequestStream<GuardedBidi<Bytes>, Bytes>;

/// Opens a stream and sends the request head. Nothing reaches the server
/// when this fails.
async fn open(
    pooled: &Pooled,
    parts: &http::request::Parts,
    body: &ReqBody,
) -> Result<(BidiStream, Arc<StreamGuard>), String> {
    let mut headers: HeaderMap = parts.headers.clone();
    for name in CONNECTION_SPECIFIC {
        headers.remove(*name);
    }
    if headers.get(header::TE).is_some_and(|v| v != "trailers") {
        headers.remove(header::TE);
    }
    if let Some(n) = body.size_hint().exact() {
        if n > 0 && !headers.contains_key(header::CONTENT_LENGTH) {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
        }
    }
    let head_bytes = header_bytes(&headers) + parts.uri.to_string().len() + parts.method.as_str().len();
    let mut head = http::Request::builder()
        .method(parts.method.clone())
        .uri(parts.uri.clone())
        .body(())
        .map_err(|e| e.to_string())?;
    *head.headers_mut() = headers;
    let stream = pooled
        .send
        .clone()
        .send_request(head)
        .await
        .map_err(|e| format!("HTTP/3 stream could not be opened: {e}"))?;
    let guard = pooled
        .guards
        .claim(stream.id())
        .ok_or("HTTP/3 stream opened without its guard")?;
    pooled.info.add_sent(head_bytes);
    Ok((stream, guard))
}

fn header_bytes(headers: &HeaderMap) -> usize {
    headers.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum()
}

/// Sends the body, then waits for the response head.
async fn transfer(
    pooled: &Pooled,
    stream: BidiStream,
    guard: Arc<StreamGuard>,
    mut body: ReqBody,
) -> Result<http::Response<RespBody>, (H3Error, bool)> {
    let (send_half, recv_half) = stream.split();
    let mut recv = RecvBody {
        stream: recv_half,
        info: pooled.info.clone(),
        guard,
        done: false,
        reading: false,
    };
    let mut sender = Sender {
        stream: send_half,
        done: false,
    };
    let send_failed = |e: &dyn std::fmt::Display| {
        (
            H3Error::Failed(format!("sending the HTTP/3 request failed: {e}")),
            false,
        )
    };
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| send_failed(&e))?;
        if let Ok(data) = frame.into_data() {
            let n = data.len();
            sender.stream.send_data(data).await.map_err(|e| send_failed(&e))?;
            pooled.info.add_sent(n);
        }
    }
    sender.stream.finish().await.map_err(|e| send_failed(&e))?;
    sender.done = true;
    recv.reading = true;
    let response = recv.stream.recv_response().await.map_err(|e| {
        let connection_failed = matches!(e, h3::error::StreamError::ConnectionError { .. });
        let error = if matches!(e, h3::error::StreamError::HeaderTooBig { .. }) {
            H3Error::HeadTooLarge
        } else {
            match recv.guard.violation() {
                Some(Violation::HeadTooLarge) => H3Error::HeadTooLarge,
                Some(v) => H3Error::Failed(format!("HTTP/3 response failed: {v}")),
                None => H3Error::Failed(format!("HTTP/3 response failed: {e}")),
            }
        };
        (error, connection_failed)
    })?;
    recv.reading = false;
    let (head, ()) = response.into_parts();
    pooled.info.add_received(header_bytes(&head.headers) + 3);
    Ok(http::Response::from_parts(head, recv.boxed_unsync()))
}

/// The request half of a stream: reset if dropped before it finished (abort,
/// timeout), so the server never takes a cut body for a whole one.
struct Sender {
    stream: h3::client::RequestStream<h3_quinn::SendStream<Bytes>, Bytes>,
    done: bool,
}

impl Drop for Sender {
    fn drop(&mut self) {
        if !self.done {
            self.stream.stop_stream(Code::H3_REQUEST_CANCELLED);
        }
    }
}

/// The response body of an HTTP/3 stream. Dropped before its end (abort,
/// timeout), it asks the server to stop sending.
struct RecvBody {
    stream: RecvStream,
    info: ConnInfo,
    /// Told how much body was taken (h3's read-ahead bound); says why it
    /// failed a stream.
    guard: Arc<StreamGuard>,
    done: bool,
    /// A read is in flight: h3-quinn then holds the QUIC stream inside its
    /// read future and panics on `stop_sending`; dropping the future drops
    /// the stream, and quinn sends STOP_SENDING itself.
    reading: bool,
}

impl Body for RecvBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let polled = this.stream.poll_recv_data(cx);
        this.reading = polled.is_pending();
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Some(mut buf))) => {
                let data = buf.copy_to_bytes(buf.remaining());
                this.guard.delivered(data.len());
                this.info.add_received(data.len());
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Poll::Ready(Ok(None)) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Err(e)) => {
                this.done = true;
                match this.guard.violation() {
                    Some(v) => Poll::Ready(Some(Err(Box::new(v)))),
                    None => Poll::Ready(Some(Err(Box::new(e)))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl Drop for RecvBody {
    fn drop(&mut self) {
        if !self.done && !self.reading {
            self.stream.stop_sending(Code::H3_REQUEST_CANCELLED);
        }
    }
}
