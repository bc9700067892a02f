//! A fresh CA and leaf certificate per server start (ECDSA P-256: a few milliseconds).

use std::io;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use time::OffsetDateTime;

use crate::other_err;

/// What the TLS listeners need, plus the CA for clients to trust.
pub(crate) struct Certs {
    /// PEM of the self-signed CA that signed the leaf.
    pub ca_pem: String,
    /// The leaf certificate (DER).
    pub leaf: CertificateDer<'static>,
    /// The leaf's private key (PKCS#8 DER).
    pub key: PrivateKeyDer<'static>,
}

/// Generates a CA and a leaf for `dns_names` plus the IP address 127.0.0.1.
///
/// The leaf is valid from a day ago for 90 days (short enough for verifiers that cap leaf
/// lifetimes, e.g. Apple's 398 days); the CA for 10 years.
pub(crate) fn generate(dns_names: &[String]) -> io::Result<Certs> {
    let now = OffsetDateTime::now_utc();
    let day = Duration::from_secs(24 * 3600);

    let ca_key = KeyPair::generate().map_err(other_err)?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name = name("wxnet test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = now - day;
    ca.not_after = now + day * 3650;
    let ca_cert = ca.self_signed(&ca_key).map_err(other_err)?;
    let issuer = Issuer::new(ca, ca_key);

    let leaf_key = KeyPair::generate().map_err(other_err)?;
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name = name("localhost");
    leaf.subject_alt_names = dns_names
        .iter()
        .map(|n| n.clone().try_into().map(SanType::DnsName))
        .collect::<Result<_, _>>()
        .map_err(other_err)?;
    leaf.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = now - day;
    leaf.not_after = now + day * 90;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(other_err)?;

    Ok(Certs {
        ca_pem: ca_cert.pem(),
        leaf: leaf_cert.der().clone(),
        key: leaf_key.into(),
    })
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "wxnet tests");
    dn
}
