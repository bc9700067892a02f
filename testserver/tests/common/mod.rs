//! A minimal client for the tests: TCP or tokio-rustls (verifying with the server's CA),
//! then hyper's connection-level HTTP/1.1 or HTTP/2 client.
#![allow(dead_code)]

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

pub const H2_H1: &[&[u8]] = &[b"h2", b"http/1.1"];

/// A collected response.
pub struct Resp {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("ASCII header"))
    }
}

pub fn client_config(ca_pem: &str, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA cert");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// TLS to 127.0.0.1:`port`, verifying `name` against the CA.
pub async fn tls(port: u16, ca_pem: &str, alpn: &[&[u8]], name: &str) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from(name.to_owned()).expect("server name");
    TlsConnector::from(client_config(ca_pem, alpn)).connect(name, tcp).await
}

pub fn alpn_of(stream: &TlsStream<TcpStream>) -> Option<Vec<u8>> {
    stream.get_ref().1.alpn_protocol().map(|p| p.to_vec())
}

/// One HTTP connection.
pub enum Client {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

impl Client {
    pub async fn new<I>(io: I, h2: bool) -> Client
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(io);
        if h2 {
            // hyper's default (16 KiB) is too small for /large-header.
            let (send, conn) = http2::Builder::new(TokioExecutor::new())
                .max_header_list_size(1024 * 1024)
                .handshake(io)
                .await
                .expect("h2 handshake");
            tokio::spawn(conn);
            Client::H2(send)
        } else {
            let (send, conn) = http1::handshake(io).await.expect("h1 handshake");
            tokio::spawn(conn);
            Client::H1(send)
        }
    }

    /// TLS on `port` with ALPN h2 + http/1.1, speaking whatever was negotiated.
    pub async fn https(port: u16, ca_pem: &str) -> Client {
        let stream = tls(port, ca_pem, H2_H1, "api.wxnet.test").await.expect("TLS handshake");
        let h2 = alpn_of(&stream).as_deref() == Some(b"h2");
        Client::new(stream, h2).await
    }

    /// A request; `path` may carry a query.
    pub fn req(&self, method: &str, path: &str) -> http::request::Builder {
        let builder = Request::builder().method(method);
        match self {
            Client::H1(_) => builder.uri(path).header("host", "api.wxnet.test"),
            Client::H2(_) => builder.uri(format!("https://api.wxnet.test{path}")),
        }
    }

    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> hyper::Result<Response<Incoming>> {
        match self {
            Client::H1(s) => {
                s.ready().await?;
                s.send_request(req).await
            }
            Client::H2(s) => {
                s.ready().await?;
                s.send_request(req).await
            }
        }
    }

    pub async fn fetch(&mut self, method: &str, path: &str, body: &[u8]) -> Resp {
        let req = self
            .req(method, path)
            .body(Full::new(Bytes::copy_from_slice(body)))
            .expect("request");
        collect(self.send(req).await.expect("response")).await
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.fetch("GET", path, b"").await
    }
}

pub async fn collect(resp: Response<Incoming>) -> Resp {
    let (parts, body) = resp.into_parts();
    Resp {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body: body.collect().await.expect("body").to_bytes(),
    }
}

/// Sends `raw` on a fresh plain connection and reads until the server closes it.
pub async fn raw_http(port: u16, raw: &str) -> Vec<u8> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    tcp.write_all(raw.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = tcp.read_to_end(&mut out).await;
    out
}
