//! rustls server configurations for the two TLS listeners.

use std::io;
use std::sync::Arc;

use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use crate::cert::Certs;
use crate::other_err;

/// ALPN ids offered by the main HTTPS listener, in preference order.
pub(crate) const ALPN_H2_H1: &[&[u8]] = &[b"h2", b"http/1.1"];
/// ALPN ids offered by the HTTP/1.1-only HTTPS listener.
pub(crate) const ALPN_H1: &[&[u8]] = &[b"http/1.1"];

/// Builds an acceptor offering `alpn`. The ring provider is installed explicitly rather than
/// relying on a process-wide default, which the client under test may or may not have set.
pub(crate) fn acceptor(certs: &Certs, alpn: &[&[u8]]) -> io::Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(other_err)?
        .with_no_client_auth()
        .with_single_cert(vec![certs.leaf.clone()], certs.key.clone_key())
        .map_err(other_err)?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(TlsAcceptor::from(Arc::new(config)))
}
