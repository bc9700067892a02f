//! The HTTP side of one app: the hyper clients (one whose TLS offers only
//! HTTP/1.1, one that also offers h2 for `enableHttp2`), the HTTP/3 client
//! and its Alt-Svc knowledge (feature `quic`), the optional cookie jar, and
//! one pair of hyper clients per `httpDns` service (`enableHttpDNS`), whose
//! connectors resolve through that service first.
//! Built with the app; connections are pooled and reused across the app's
//! requests. [`HttpClients::renewed`] gives the same clients with empty pools
//! (`wxnet_app_reset_connections`, after the device's network changed).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::client::danger::ServerCertVerifier;

use super::connector::CachedAnswers;
use super::doh::DohResolver;
use super::{tls, Connector};
use crate::config::AppConfig;
use crate::cookies::CookieJar;

pub use super::body::{BodyError, HttpClient, ReqBody, RespBody};

pub struct HttpClients {
    pub h1: HttpClient,
    pub h2: HttpClient,
    /// For WebSockets: TLS offering http/1.1 only.
    pub h1_connector: Connector,
    /// `cookieJar: true`. Shared with the clients that replace these
    /// ([`HttpClients::renewed`]): cookies outlive connections.
    pub cookies: Option<Arc<CookieJar>>,
    /// Origins that advertised HTTP/3.
    #[cfg(feature = "quic")]
    pub alt_svc: std::sync::Arc<super::alt_svc::AltSvcCache>,
    #[cfg(feature = "quic")]
    pub h3: super::h3::H3Client,
    /// `httpDns` service id -> its resolver and clients.
    pub http_dns: HashMap<String, HttpDnsClients>,
    /// The certificate verifier all of them use, kept for [`HttpClients::renewed`]
    /// (building a platform verifier again costs, and on Android needs JNI).
    verifier: Arc<dyn ServerCertVerifier>,
}

/// The clients of one `httpDns` service: their connectors use the
/// service's DoH answers before the system resolver (own connection pools).
pub struct HttpDnsClients {
    pub(crate) resolver: Arc<DohResolver>,
    h1: HttpClient,
    h2: HttpClient,
}

/// HTTPDNS for one exchange: the service and how long to wait for it
/// (`httpDNSTimeout`) before the system resolver is used instead.
#[derive(Clone, Copy)]
pub struct HttpDns<'a> {
    pub clients: &'a HttpDnsClients,
    pub timeout: Duration,
}

impl HttpDns<'_> {
    /// Looks `host` up through the service (at most `timeout`), so that the
    /// connection made next uses its answer; see [`DohResolver::prefetch`].
    pub async fn prefetch(&self, host: &str) {
        self.clients.resolver.prefetch(host, self.timeout).await;
    }
}

/// How one exchange may travel: which hyper client, and whether HTTP/3 may
/// be tried. `Copy`; borrowed from the app.
#[derive(Clone, Copy)]
pub struct Route<'a> {
    pub clients: &'a HttpClients,
    pub http2: bool,
    /// `enableQuic`: HTTP/3 may be tried for this exchange.
    #[cfg_attr(
        not(feature = "quic"),
        allow(
            dead_code,
            reason = "read only with the quic feature; without it enableQuic uses TCP"
        )
    )]
    pub quic: bool,
    /// `enableHttpDNS`: connect through this service's answers.
    pub http_dns: Option<HttpDns<'a>>,
}

impl<'a> Route<'a> {
    /// The hyper client for TCP.
    pub fn tcp(&self) -> &'a HttpClient {
        if let Some(dns) = self.http_dns {
            return if self.http2 { &dns.clients.h2 } else { &dns.clients.h1 };
        }
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

    /// The same route, resolving through an `httpDns` service (or not).
    pub fn with_http_dns(self, http_dns: Option<HttpDns<'a>>) -> Route<'a> {
        Route { http_dns, ..self }
    }
}

impl HttpClients {
    pub fn new(config: &AppConfig) -> Result<HttpClients, String> {
        let verifier = tls::verifier(config)?;
        let cookies = config.cookie_jar.then(|| Arc::new(CookieJar::new()));
        #[cfg(feature = "quic")]
        let alt_svc = std::sync::Arc::new(super::alt_svc::AltSvcCache::new(config.policy.clone()));
        HttpClients::build(
            config,
            verifier,
            cookies,
            #[cfg(feature = "quic")]
            alt_svc,
        )
    }

    /// The same clients with empty connection pools: new hyper clients (HTTP/1.1,
    /// h2, and those of every `httpDns` service, whose cached answers are
    /// forgotten) and a new HTTP/3 endpoint. The cookie jar, the Alt-Svc
    /// knowledge and the verifier are shared with `self`. Connections pooled by
    /// `self` close once the last exchange still using `self` ends.
    pub fn renewed(&self, config: &AppConfig) -> Result<HttpClients, String> {
        HttpClients::build(
            config,
            self.verifier.clone(),
            self.cookies.clone(),
            #[cfg(feature = "quic")]
            self.alt_svc.clone(),
        )
    }

    fn build(
        config: &AppConfig,
        verifier: Arc<dyn ServerCertVerifier>,
        cookies: Option<Arc<CookieJar>>,
        #[cfg(feature = "quic")] alt_svc: Arc<super::alt_svc::AltSvcCache>,
    ) -> Result<HttpClients, String> {
        let strict = config.policy.url_check;
        let h1_tls = tls::client_config(verifier.clone(), tls::ALPN_H1)?;
        let h1_connector = Connector::new(config.resolve.clone(), h1_tls, strict);
        let h2_connector = Connector::new(
            config.resolve.clone(),
            tls::client_config(verifier.clone(), tls::ALPN_H2)?,
            strict,
        );
        let h2 = build(h2_connector);
        let mut http_dns = HashMap::new();
        for (id, url) in &config.http_dns {
            let resolver = Arc::new(DohResolver::new(url.clone(), h2.clone()));
            let connector = |alpn| -> Result<HttpClient, String> {
                Ok(build(Connector::with_doh(
                    config.resolve.clone(),
                    tls::client_config(verifier.clone(), alpn)?,
                    strict,
                    Some(resolver.clone() as Arc<dyn CachedAnswers>),
                )))
            };
            let clients = HttpDnsClients {
                h1: connector(tls::ALPN_H1)?,
                h2: connector(tls::ALPN_H2)?,
                resolver: resolver.clone(),
            };
            http_dns.insert(id.clone(), clients);
        }
        // HTTP/3 resolves by itself; a pin listing several addresses gives it the first.
        #[cfg(feature = "quic")]
        let h3 = {
            let first_pins = config
                .resolve
                .iter()
                .map(|(key, addrs)| (key.clone(), addrs[0]))
                .collect();
            super::h3::H3Client::new(verifier.clone(), first_pins, strict, alt_svc.clone())?
        };
        Ok(HttpClients {
            h1: build(h1_connector.clone()),
            h2,
            h1_connector,
            cookies,
            #[cfg(feature = "quic")]
            alt_svc,
            #[cfg(feature = "quic")]
            h3,
            http_dns,
            verifier,
        })
    }

    /// The clients of `enableHttpDNS` with this `httpDNSServiceId`, if the
    /// app config lists it.
    pub fn http_dns(&self, service_id: &str, timeout: Duration) -> Option<HttpDns<'_>> {
        let clients = self.http_dns.get(service_id)?;
        Some(HttpDns { clients, timeout })
    }

    /// The route of an exchange: HTTP/1.1 only, or h2 allowed; no HTTP/3
    /// unless [`Route::with_quic`] says so.
    pub fn pick(&self, http2: bool) -> Route<'_> {
        Route {
            clients: self,
            http2,
            quic: false,
            http_dns: None,
        }
    }
}

fn build(connector: Connector) -> HttpClient {
    let header_bytes = super::limits::MAX_RESPONSE_HEADER_BYTES;
    Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(16)
        // HTTP/1.1: a head must fit the read buffer (its raw size is below
        // its counted size, plus the status line: hence the slack), and the
        // field count allows every head within the limit (a field counts at
        // least 33 bytes). The exact check is in the exchange's transport.
        .http1_max_buf_size(header_bytes + 16 * 1024)
        .http1_max_headers(header_bytes / 33 + 1)
        // HTTP/2 counts as the limit does; twice the limit here so that a
        // section a little over it gets the transport's clear error rather
        // than h2's "protocol error" (which sections over twice the limit get).
        .http2_max_header_list_size(u32::try_from(2 * header_bytes).expect("the header limit fits u32"))
        .build(connector)
}
