//! rustls client configs of an app: ring provider, TLS 1.2 minimum, the
//! platform verifier (system roots) plus the app's `caCertificates`, or no
//! verification at all when `tlsVerify` is false (development only).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::config::AppConfig;

/// ALPN offers: `h2` only when the request allows HTTP/2.
pub const ALPN_H1: &[&[u8]] = &[b"http/1.1"];
pub const ALPN_H2: &[&[u8]] = &[b"h2", b"http/1.1"];

/// Verifiers already built, by their extra roots (DER). Building one loads
/// the platform's trust store (on Linux, every file in /etc/ssl/certs: about
/// 3 ms), so apps with the same `caCertificates` share one.
type VerifierCache = HashMap<Vec<Vec<u8>>, Arc<dyn ServerCertVerifier>>;
static VERIFIERS: LazyLock<Mutex<VerifierCache>> = LazyLock::new(Default::default);

/// The verifier for an app's config: the platform verifier plus the app's
/// `caCertificates`, or none at all with `tlsVerify: false`.
pub fn verifier(config: &AppConfig) -> Result<Arc<dyn ServerCertVerifier>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    if !config.tls_verify {
        return Ok(Arc::new(NoVerification(provider)));
    }
    let key: Vec<Vec<u8>> = config.ca_certificates.iter().map(|c| c.as_ref().to_vec()).collect();
    let mut cache = VERIFIERS.lock().expect("verifier cache lock poisoned");
    if let Some(v) = cache.get(&key) {
        return Ok(v.clone());
    }
    let verifier: Arc<dyn ServerCertVerifier> = Arc::new(
        rustls_platform_verifier::Verifier::new_with_extra_roots(config.ca_certificates.iter().cloned(), provider)
            .map_err(|e| format!("caCertificates: {e}"))?,
    );
    cache.insert(key, verifier.clone());
    Ok(verifier)
}

/// A client config with the given ALPN list.
pub fn client_config(verifier: Arc<dyn ServerCertVerifier>, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// `tlsVerify: false`: accepts any certificate, still checks handshake
/// signatures so the session keys are at least bound to the presented key.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
