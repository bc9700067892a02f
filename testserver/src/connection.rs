//! Serving HTTP on one accepted connection (TCP, TLS, or the in-memory HTTP/1.1 connection
//! that the HTTP/3 bridge opens): hit counting, the routes and the `Alt-Svc` header.
//!
//! Used by the TCP accept loops ([`crate::server`]) and the HTTP/3 bridge ([`crate::h3`]);
//! imports neither of them.

use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::alt_svc::advertise;
use crate::routes;
use crate::stats::Stats;

/// Which HTTP versions a connection may speak.
#[derive(Clone, Copy)]
pub(crate) enum Protocol {
    Auto,
    Http1,
    Http2,
}

/// Serves HTTP on one connection until it closes. Upgrades are enabled so that a route can
/// take over the connection (see [`routes`]).
pub(crate) async fn serve<I>(io: I, protocol: Protocol, stats: Arc<Stats>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    builder
        .http2()
        .timer(TokioTimer::new())
        .adaptive_window(true)
        .max_header_list_size(1024 * 1024);
    let builder = match protocol {
        Protocol::Auto => builder,
        Protocol::Http1 => builder.http1_only(),
        Protocol::Http2 => builder.http2_only(),
    };
    let service = service_fn(move |req| {
        stats.hit(req.uri().path());
        if let Some(tagged) = req.uri().path_and_query().filter(|pq| pq.query().is_some()) {
            stats.hit(tagged.as_str());
        }
        let alt_svc = stats.alt_svc.get().cloned();
        advertise(routes::handle(req, stats.clone()), alt_svc)
    });
    // Errors here are the client's doing (or /close): nothing to report.
    let _ = builder.serve_connection_with_upgrades(TokioIo::new(io), service).await;
}
