//! rustls client configs of an app: ring provider, TLS 1.2 minimum, the
//! app's trust rule, or no verification at all when `tlsVerify` is false
//! (development only).
//!
//! The trust rule, the same on every platform: a server's chain is accepted
//! if the platform verifier accepts it (the system trust store: Android's
//! TrustManager, Apple's Security framework, the OS roots elsewhere), OR if a
//! webpki verifier whose only roots are the app's `caCertificates` accepts
//! it. Both check the hostname (or IP address) the request was made for, so
//! an extra root never lets a certificate for another name through. On
//! Android the platform verifier needs the app's `Context`
//! (`wxnet_android_init` or the Kotlin `Wxnet.initAndroid`); until then
//! every TLS handshake fails with an error that says so.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, LazyLock, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
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

/// The errMsg detail of a handshake attempted on Android before the
/// platform verifier has the app's `Context`.
#[cfg_attr(
    not(any(target_os = "android", test)),
    allow(dead_code, reason = "read by the Android readiness check and the tests only")
)]
pub(crate) const ANDROID_INIT_MISSING: &str =
    "Android initialisation is missing: call wxnet_android_init(vm, context) \
     (or Wxnet.initAndroid(context) from Kotlin) once before the first TLS connection";

/// Set once the Android platform verifier has the app's `Context`.
#[cfg(target_os = "android")]
static PLATFORM_INITIALISED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Records that the Android platform verifier was initialised (after
/// `rustls_platform_verifier::android::init_*` succeeded).
#[cfg(target_os = "android")]
pub(crate) fn mark_platform_initialised() {
    PLATFORM_INITIALISED.store(true, std::sync::atomic::Ordering::Release);
}

/// Whether the platform verifier may be called now: on Android only after
/// initialisation (the verifier crate panics otherwise), elsewhere always.
fn platform_ready() -> Result<(), &'static str> {
    #[cfg(target_os = "android")]
    if !PLATFORM_INITIALISED.load(std::sync::atomic::Ordering::Acquire) {
        return Err(ANDROID_INIT_MISSING);
    }
    Ok(())
}

/// Whether the platform verifier may wait on something other than this CPU:
/// Apple's `SecTrustEvaluateWithError` can fetch revocation data and missing
/// intermediates over the network, Android's goes through JNI to the Java
/// trust manager, Windows' chain engine can fetch too. There the call runs
/// with the worker's other tasks handed to another thread
/// ([`crate::runtime::run_blocking_here`]): with one tokio worker a slow
/// verification would otherwise stall every transfer of every app. Elsewhere
/// (Linux, HarmonyOS) it is webpki over roots loaded in memory, a fraction of
/// a millisecond, cheaper to run in place than to hand the worker over.
const PLATFORM_VERIFY_MAY_WAIT: bool = cfg!(any(target_vendor = "apple", target_os = "android", windows));

/// The verifier for an app's config: the trust rule over the platform and
/// the app's `caCertificates`, or none at all with `tlsVerify: false`.
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
    let verifier: Arc<dyn ServerCertVerifier> = Arc::new(TrustRule::new(&config.ca_certificates, provider)?);
    cache.insert(key, verifier.clone());
    Ok(verifier)
}

/// The platform verifier, or why there is none (e.g. no system roots on a
/// bare Linux container: then only `caCertificates` can be trusted).
type Platform = Result<Arc<dyn ServerCertVerifier>, String>;

/// Accepts a chain that the platform verifier OR the webpki verifier over the
/// app's extra roots accepts (see the module doc).
#[derive(Debug)]
struct TrustRule {
    platform: Platform,
    /// `None` without `caCertificates`.
    extra: Option<Arc<WebPkiServerVerifier>>,
    /// Whether the platform verifier may be called (Android: initialised).
    ready: fn() -> Result<(), &'static str>,
    provider: Arc<CryptoProvider>,
}

impl TrustRule {
    fn new(extra_roots: &[CertificateDer<'static>], provider: Arc<CryptoProvider>) -> Result<Self, String> {
        let platform: Platform = rustls_platform_verifier::Verifier::new(provider.clone())
            .map(|v| Arc::new(v) as Arc<dyn ServerCertVerifier>)
            .map_err(|e| format!("system trust store: {e}"));
        let extra = if extra_roots.is_empty() {
            None
        } else {
            let mut roots = RootCertStore::empty();
            for (i, cert) in extra_roots.iter().enumerate() {
                roots
                    .add(cert.clone())
                    .map_err(|e| format!("caCertificates: certificate {i} is not a usable CA certificate: {e}"))?;
            }
            let v = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| format!("caCertificates: {e}"))?;
            Some(v)
        };
        if let (Err(why), None) = (&platform, &extra) {
            return Err(format!("no trusted roots: {why}, and no caCertificates"));
        }
        Ok(Self {
            platform,
            extra,
            ready: platform_ready,
            provider,
        })
    }

    fn verify_platform(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let platform = self
            .platform
            .as_ref()
            .map_err(|why| rustls::Error::General(why.clone()))?;
        let verify = || platform.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        // A panic inside the platform verifier (e.g. a JNI failure) fails this
        // handshake; it must not take the connection task down with it.
        catch_unwind(AssertUnwindSafe(|| {
            if PLATFORM_VERIFY_MAY_WAIT {
                crate::runtime::run_blocking_here(verify)
            } else {
                verify()
            }
        }))
        .unwrap_or_else(|_| {
            Err(rustls::Error::General(
                "the platform certificate verifier panicked".into(),
            ))
        })
    }
}

impl ServerCertVerifier for TrustRule {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Before Android initialisation nothing is trusted, so that a missing
        // init call shows up at the first handshake, not only for some hosts.
        (self.ready)().map_err(|why| rustls::Error::General(why.into()))?;
        let platform_err = match self.verify_platform(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(ok) => return Ok(ok),
            Err(e) => e,
        };
        let Some(extra) = &self.extra else {
            return Err(platform_err);
        };
        match extra.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(ok) => Ok(ok),
            // Not issued under an extra root: the platform's reason is the one to report.
            Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => Err(platform_err),
            // Issued under an extra root but still bad (wrong name, expired...): say why.
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};

    use super::*;

    /// A CA (self-signed) that can issue leaves.
    struct TestCa {
        der: CertificateDer<'static>,
        pem: String,
        issuer: Issuer<'static, KeyPair>,
    }

    fn make_ca(name: &str) -> TestCa {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let cert = params.self_signed(&key).expect("self-signed CA");
        TestCa {
            der: cert.der().clone(),
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    fn make_leaf(ca: &TestCa, host: &str) -> CertificateDer<'static> {
        let key = KeyPair::generate().expect("leaf key");
        let mut params = CertificateParams::new(vec![host.to_string()]).expect("leaf params");
        params.is_ca = IsCa::ExplicitNoCa;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.signed_by(&key, &ca.issuer).expect("leaf signed").der().clone()
    }

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn check(rule: &TrustRule, leaf: &CertificateDer<'static>, host: &str) -> Result<(), rustls::Error> {
        let name = ServerName::try_from(host.to_string()).expect("server name");
        rule.verify_server_cert(leaf, &[], &name, &[], UnixTime::now())
            .map(|_| ())
    }

    #[test]
    fn extra_root_chain_is_accepted_for_its_host_only() {
        let ca = make_ca("wxnet extra root");
        let leaf = make_leaf(&ca, "api.example.test");
        let rule = TrustRule::new(std::slice::from_ref(&ca.der), provider()).expect("rule");
        check(&rule, &leaf, "api.example.test").expect("a chain to an extra root is accepted");
        let err = check(&rule, &leaf, "other.example.test").expect_err("wrong host");
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn unknown_ca_is_rejected() {
        let trusted = make_ca("wxnet extra root");
        let stranger = make_ca("wxnet unknown CA");
        let leaf = make_leaf(&stranger, "api.example.test");
        let with_extra = TrustRule::new(std::slice::from_ref(&trusted.der), provider()).expect("rule");
        let err = check(&with_extra, &leaf, "api.example.test").expect_err("unknown CA");
        assert!(
            matches!(err, rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)),
            "{err:?}"
        );
        if let Ok(platform_only) = TrustRule::new(&[], provider()) {
            let err = check(&platform_only, &leaf, "api.example.test").expect_err("unknown CA, platform only");
            assert!(
                matches!(err, rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)),
                "{err:?}"
            );
        }
    }

    #[test]
    fn before_android_initialisation_every_chain_fails_with_the_reason() {
        let ca = make_ca("wxnet extra root");
        let leaf = make_leaf(&ca, "api.example.test");
        let mut rule = TrustRule::new(std::slice::from_ref(&ca.der), provider()).expect("rule");
        rule.ready = || Err(ANDROID_INIT_MISSING);
        let err = check(&rule, &leaf, "api.example.test").expect_err("not initialised");
        assert!(err.to_string().contains("Android initialisation is missing"), "{err}");
    }

    /// The platform path: on Linux the platform verifier reads the roots of
    /// `SSL_CERT_FILE`, so a child process with that variable set (environment
    /// is process-wide: not in this multi-threaded test process) must accept a
    /// chain to that root with no `caCertificates`, and still check the host.
    #[test]
    fn platform_trusted_chain_is_accepted() {
        const CHILD: &str = "WXNET_TEST_PLATFORM_ROOT_LEAF";
        if let Ok(leaf_path) = std::env::var(CHILD) {
            let leaf = CertificateDer::from(std::fs::read(leaf_path).expect("leaf file"));
            let rule = TrustRule::new(&[], provider()).expect("platform verifier");
            check(&rule, &leaf, "platform.example.test").expect("a chain to a platform root is accepted");
            check(&rule, &leaf, "other.example.test").expect_err("wrong host on the platform path");
            return;
        }
        if !cfg!(all(target_os = "linux", not(target_os = "android"))) {
            eprintln!("SKIPPED: platform roots are only settable per process on Linux");
            return;
        }
        let ca = make_ca("wxnet platform root");
        let leaf = make_leaf(&ca, "platform.example.test");
        let dir = std::env::temp_dir().join(format!("wxnet-tls-platform-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let ca_file = dir.join("ca.pem");
        std::fs::File::create(&ca_file)
            .and_then(|mut f| f.write_all(ca.pem.as_bytes()))
            .expect("write CA");
        let leaf_file = dir.join("leaf.der");
        std::fs::write(&leaf_file, leaf.as_ref()).expect("write leaf");
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "net::tls::tests::platform_trusted_chain_is_accepted",
                "--nocapture",
            ])
            .env(CHILD, &leaf_file)
            .env("SSL_CERT_FILE", &ca_file)
            .env("SSL_CERT_DIR", &dir)
            .output()
            .expect("run child");
        let _ = std::fs::remove_dir_all(&dir);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("1 passed"), "the child ran no test:\n{text}");
    }
}
