//! The HTTP side of one app: the hyper clients (one whose TLS offers only
//! HTTP/1.1, one that also offers h2 for `enableHttp2`), the HTTP/3 client
//! and its Alt-Svc knowledge (feature `quic`), and the optional cookie jar.
//! Built once per app; connections are pooled and reused across the app's
//! requests.

use std::time::Duration;

use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::{tls, Connector};
use crate::config::AppConfig;
use crate::cookies::CookieJar;

pub use super::body::{BodyError, ReqBody, RespBody};
pub type HttpClient = Client<Connector, ReqBody>;

pub struct HttpClients {
    pub h1: HttpClient,
    pub h2: HttpClient,
    /// For WebSockets: TLS offering http/1.1 only.
    pub h1_connector: Connector,
    /// `cookieJar: true`.
    pub cookies: Option<CookieJar>,
    /// Origins that advertised HTTP/3.
    #[cfg(feature = "quic")]
    pub alt_svc: std::sync::Arc<super::alt_svc::AltSvcCache>,
    #[cfg(feature = "quic")]
    pub h3: super::h3::H3Client,
}

/// How one exchange may travel: which hyper client, and whether HTTP/3 may
/// be tried. `Copy`; borrowed from the app.
#[derive(Clone, Copy)]
pub struct Route<'a> {
    pub clients: &'a HttpClients,
    pub http2: bool,
    pub quic: bool,
}

impl<'a> Route<'a> {
    /// The hyper client for TCP.
    pub fn tcp(&self) -> &'a HttpClient {
        if self.http2 {
            &self.clients.h2
        } else {
            &self.clients.h1
        }
    }

    /// The same route, with HTTP/3 allowed (`enableQuic`) or not.
    pub fn with_quic(self, quic: bool) -> Route<'a> {
        Route { quic, ..self }
    }
}

impl HttpClients {
    pub fn new(config: &AppConfig) -> Result<HttpClients, String> {
        let verifier = tls::verifier(config)?;
        let strict = config.policy.url_check;
        let h1_tls = tls::client_config(verifier.clone(), tls::ALPN_H1)?;
        let h1_connector = Connector::new(config.resolve.clone(), h1_tls, strict);
        let h2_connector = Connector::new(
            config.resolve.clone(),
            tls::client_config(verifier.clone(), tls::ALPN_H2)?,
            strict,
        );
        #[cfg(feature = "quic")]
        let alt_svc = std::sync::Arc::new(super::alt_svc::AltSvcCache::default());
        #[cfg(feature = "quic")]
        let h3 = super::h3::H3Client::new(verifier, config.resolve.clone(), strict, alt_svc.clone())?;
        #[cfg(not(feature = "quic"))]
        drop(verifier);
        Ok(HttpClients {
            h1: build(h1_connector.clone()),
            h2: build(h2_connector),
            h1_connector,
            cookies: config.cookie_jar.then(CookieJar::new),
            #[cfg(feature = "quic")]
            alt_svc,
            #[cfg(feature = "quic")]
            h3,
        })
    }

    /// The route of an exchange: HTTP/1.1 only, or h2 allowed; no HTTP/3
    /// unless [`Route::with_quic`] says so.
    pub fn pick(&self, http2: bool) -> Route<'_> {
        Route {
            clients: self,
            http2,
            quic: false,
        }
    }
}

fn build(connector: Connector) -> HttpClient {
    Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(16)
        .build(connector)
}
