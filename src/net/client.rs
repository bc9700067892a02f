//! The hyper clients of one app: one whose TLS offers only HTTP/1.1 and one
//! that also offers h2 (`enableHttp2`). Built once per app; they pool and
//! reuse connections across the app's requests.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::{tls, Connector};
use crate::config::AppConfig;

/// Error type of request bodies (uploads stream from files).
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;
/// The request body type all of an app's requests use.
pub type ReqBody = BoxBody<Bytes, BodyError>;
pub type HttpClient = Client<Connector, ReqBody>;

pub struct HttpClients {
    pub h1: HttpClient,
    pub h2: HttpClient,
    /// For WebSockets: TLS offering http/1.1 only.
    pub h1_connector: Connector,
}

impl HttpClients {
    pub fn new(config: &AppConfig) -> Result<HttpClients, String> {
        let verifier = tls::verifier(config)?;
        let strict = config.policy.url_check;
        let h1_tls = tls::client_config(verifier.clone(), tls::ALPN_H1)?;
        let h1_connector = Connector::new(config.resolve.clone(), h1_tls, strict);
        let h2_connector = Connector::new(
            config.resolve.clone(),
            tls::client_config(verifier, tls::ALPN_H2)?,
            strict,
        );
        Ok(HttpClients {
            h1: build(h1_connector.clone()),
            h2: build(h2_connector),
            h1_connector,
        })
    }

    pub fn pick(&self, http2: bool) -> &HttpClient {
        if http2 {
            &self.h2
        } else {
            &self.h1
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
