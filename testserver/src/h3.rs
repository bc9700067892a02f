//! HTTP/3 (IETF QUIC, quinn + h3) on a UDP port of 127.0.0.1, with the same certificate as
//! the TLS listeners (its `Alt-Svc` advertisement on the TCP listeners is in
//! [`crate::alt_svc`]).
//!
//! Started by [`crate::ServerOptions::h3`]. Every HTTP/3 request is bridged to the ordinary
//! routes over an in-memory HTTP/1.1 connection (so every route, hit counter and body
//! behaviour is the same). Two things differ from TCP: the routes see `HTTP/1.1` as the
//! version (e.g. `/echo`'s `httpVersion`), except `/alpn`, whose answer the bridge turns into
//! `HTTP/3.0`; and a route that drops its connection (`/close`) resets the HTTP/3 stream.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use http::{header, HeaderValue, Request, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;

use crate::body::{full, Body, BoxError};
use crate::cert::Certs;
use crate::connection::{serve, Protocol};
use crate::other_err;
use crate::stats::Stats;

/// Binds the UDP endpoint (inside the server's runtime) and returns it.
pub(crate) fn bind(certs: &Certs) -> io::Result<quinn::Endpoint> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(other_err)?
        .with_no_client_auth()
        .with_single_cert(vec![certs.leaf.clone()], certs.key.clone_key())
        .map_err(other_err)?;
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls).map_err(other_err)?;
    let config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    quinn::Endpoint::server(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
}

/// Accepts QUIC connections until the runtime stops.
pub(crate) async fn accept_loop(endpoint: quinn::Endpoint, stats: Arc<Stats>) {
    while let Some(incoming) = endpoint.accept().await {
        tokio::spawn(serve_connection(incoming, stats.clone()));
    }
}

async fn serve_connection(incoming: quinn::Incoming, stats: Arc<Stats>) {
    let Ok(conn) = incoming.await else {
        return;
    };
    let Ok(mut h3_conn) = h3::server::Connection::<_, Bytes>::new(h3_quinn::Connection::new(conn)).await else {
        return;
    };
    // Ends when the client closes the connection (or it times out).
    while let Ok(Some(resolver)) = h3_conn.accept().await {
        let stats = stats.clone();
        tokio::spawn(async move {
            if let Ok((req, stream)) = resolver.resolve_request().await {
                bridge(req, stream, stats).await;
            }
        });
    }
}

type ServerStream = h3::server::RequestStream<h3_quinn::BidiStream<Bytes>, Bytes>;

/// Serves one HTTP/3 request through the routes over an in-memory HTTP/1.1 connection.
async fn bridge(req: Request<()>, stream: ServerStream, stats: Arc<Stats>) {
    let (mut send, mut recv) = stream.split();
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    tokio::spawn(serve(server_io, Protocol::Http1, stats));
    let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(client_io)).await else {
        send.stop_stream(h3::error::Code::H3_INTERNAL_ERROR);
        return;
    };
    tokio::spawn(conn);

    // The request body, streamed from the QUIC stream into the inner request.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, BoxError>>(4);
    tokio::spawn(async move {
        loop {
            match recv.recv_data().await {
                Ok(Some(mut buf)) => {
                    let data = buf.copy_to_bytes(buf.remaining());
                    if tx.send(Ok(Frame::data(data))).await.is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = tx.send(Err(other_err(e).into())).await;
                    return;
                }
            }
        }
    });
    let body = StreamBody::new(tokio_stream_of(rx)).boxed_unsync();

    let (mut parts, ()) = req.into_parts();
    let path = parts.uri.path().to_owned();
    if let Some(authority) = parts.uri.authority() {
        if let Ok(host) = HeaderValue::from_str(authority.as_str()) {
            parts.headers.entry(header::HOST).or_insert(host);
        }
    }
    parts.uri = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/")
        .parse()
        .unwrap_or_default();
    parts.version = http::Version::HTTP_11;
    let inner = Request::from_parts(parts, body);

    let Ok(resp) = sender.send_request(inner).await else {
        send.stop_stream(h3::error::Code::H3_INTERNAL_ERROR);
        return;
    };
    let (mut head, body) = resp.into_parts();
    let body = if path == "/alpn" {
        head.headers.remove(header::CONTENT_LENGTH);
        full("HTTP/3.0")
    } else {
        body.map_err(BoxError::from).boxed_unsync()
    };
    respond(send, head, body).await
}

async fn respond(
    mut send: h3::server::RequestStream<h3_quinn::SendStream<Bytes>, Bytes>,
    mut head: http::response::Parts,
    mut body: Body,
) {
    // Connection-specific fields do not exist in HTTP/3.
    for name in ["connection", "keep-alive", "transfer-encoding", "upgrade"] {
        head.headers.remove(name);
    }
    if send.send_response(Response::from_parts(head, ())).await.is_err() {
        return;
    }
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    if send.send_data(data).await.is_err() {
                        return;
                    }
                }
            }
            Err(_) => {
                send.stop_stream(h3::error::Code::H3_INTERNAL_ERROR);
                return;
            }
        }
    }
    let _ = send.finish().await;
}

/// An mpsc receiver as a `Stream` (without pulling in tokio-stream).
fn tokio_stream_of<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
}
