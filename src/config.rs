//! The app config JSON of the ABI -> a validated [`AppConfig`].
//!
//! Unknown fields and ill-typed values are errors whose message names the
//! field (via `serde_path_to_error`), so a host sees e.g.
//! `networkTimeout.request: invalid type: string "5", expected a whole number >= 0 at line 1 column 40`;
//! JSON that is cut short or malformed blames no field.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;

use crate::policy::{AllowedDomain, DomainKind, Policy};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawDomains {
    request: Option<Vec<String>>,
    socket: Option<Vec<String>>,
    upload_file: Option<Vec<String>>,
    download_file: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTimeouts {
    request: Option<u64>,
    connect_socket: Option<u64>,
    upload_file: Option<u64>,
    download_file: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawConfig {
    app_id: String,
    version: Option<String>,
    domains: Option<RawDomains>,
    url_check: Option<bool>,
    tls_verify: Option<bool>,
    allow_lan: Option<bool>,
    network_timeout: Option<RawTimeouts>,
    max_timeout_ms: Option<u64>,
    max_concurrent_requests: Option<u32>,
    max_sockets: Option<u32>,
    max_domains_per_type: Option<u32>,
    max_download_bytes: Option<u64>,
    max_queued_event_bytes: Option<u64>,
    max_socket_message_bytes: Option<u64>,
    max_socket_send_queue_bytes: Option<u64>,
    background_grace_ms: Option<i64>,
    temp_dir: Option<String>,
    user_data_dir: Option<String>,
    cache_dir: Option<String>,
    ca_certificates: Option<Vec<String>>,
    resolve: Option<HashMap<String, OneOrMany>>,
    cookie_jar: Option<bool>,
    http_dns: Option<HashMap<String, String>>,
}

/// A `resolve` value: one `"ip:port"` or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// At most this many addresses in one `resolve` pin.
pub const MAX_PINNED_ADDRESSES: usize = 16;
/// At most this many `httpDns` service ids.
pub const MAX_HTTP_DNS_SERVICES: usize = 16;

/// Default timeouts per API, before the cap (`networkTimeout`).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub request: Duration,
    pub connect_socket: Duration,
    pub upload_file: Duration,
    pub download_file: Duration,
}

/// A validated app configuration. Built once by [`AppConfig::from_json`].
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub app_id: String,
    pub version: String,
    pub policy: Policy,
    pub tls_verify: bool,
    pub timeouts: Timeouts,
    pub max_timeout: Duration,
    pub max_concurrent_requests: usize,
    pub max_sockets: usize,
    pub max_download_bytes: u64,
    /// Bytes of events (JSON + data) queued for the host at most; producers
    /// (body streams, progress, socket reads) wait for room beyond it.
    pub max_queued_event_bytes: usize,
    /// The largest WebSocket message (and frame) accepted; above it the
    /// socket closes with 1009.
    pub max_socket_message_bytes: usize,
    /// Bytes of host messages one socket holds for the network at most; a
    /// send beyond it is refused (one message larger than it passes alone).
    pub max_socket_send_queue_bytes: usize,
    /// `None`: background work allowed (grace -1).
    pub background_grace: Option<Duration>,
    pub temp_dir: Option<PathBuf>,
    pub user_data_dir: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    pub ca_certificates: Vec<CertificateDer<'static>>,
    /// `host:port` (host lowercased, no trailing dot) -> pinned addresses,
    /// in the host's order (raced with Happy Eyeballs, see
    /// [`crate::net::connector`]); never empty.
    pub resolve: HashMap<String, Vec<SocketAddr>>,
    pub cookie_jar: bool,
    /// `httpDns`: service id -> DNS-over-HTTPS resolver URL (RFC 8484), for
    /// wx.request `enableHttpDNS` + `httpDNSServiceId`.
    pub http_dns: HashMap<String, url::Url>,
}

const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Default of `maxQueuedEventBytes`: 4 MiB of events waiting for the host.
pub const DEFAULT_MAX_QUEUED_EVENT_BYTES: usize = 4 * 1024 * 1024;
/// Default of `maxSocketMessageBytes`: 16 MiB.
pub const DEFAULT_MAX_SOCKET_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Default of `maxSocketSendQueueBytes`: 16 MiB.
pub const DEFAULT_MAX_SOCKET_SEND_QUEUE_BYTES: usize = 16 * 1024 * 1024;
/// Byte limits are between 1 KiB and 1 GiB: smaller would make every event
/// wait, larger defeats the bound on a phone.
const BYTE_LIMIT_RANGE: std::ops::RangeInclusive<u64> = 1024..=1024 * 1024 * 1024;

impl AppConfig {
    /// Parses and validates the config JSON. The error names the field.
    pub fn from_json(json: &[u8]) -> Result<AppConfig, String> {
        // First the JSON itself and the shape of the objects: a cut-short or malformed
        // text blames no field, and an array where an object belongs is said so (serde
        // would read it as a tuple of the struct's fields).
        let value: serde_json::Value = serde_json::from_slice(json).map_err(|e| {
            if e.is_eof() {
                format!(
                    "the config is not complete JSON: it ends at line {} column {}",
                    e.line(),
                    e.column()
                )
            } else {
                format!("the config is not valid JSON: {e}")
            }
        })?;
        if !value.is_object() {
            return Err(format!("the config must be a JSON object, not {}", json_kind(&value)));
        }
        for field in ["domains", "networkTimeout", "resolve"] {
            match value.get(field) {
                Some(v) if !v.is_object() && !v.is_null() => {
                    return Err(format!("{field}: must be an object, not {}", json_kind(v)));
                }
                _ => {}
            }
        }
        let de = &mut serde_json::Deserializer::from_slice(json);
        let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let inner = e.inner();
            let path = e.path().to_string();
            if path == "." {
                readable_serde_message(inner)
            } else {
                format!("{path}: {}", readable_serde_message(inner))
            }
        })?;
        Self::validate(raw)
    }

    fn validate(raw: RawConfig) -> Result<AppConfig, String> {
        check_header_safe("appId", &raw.app_id)?;
        if raw.app_id.is_empty() {
            return Err("appId: must not be empty".into());
        }
        let version = raw.version.unwrap_or_else(|| "0".into());
        check_header_safe("version", &version)?;

        let max_domains = raw.max_domains_per_type.unwrap_or(20) as usize;
        let raw_domains = raw.domains.unwrap_or_default();
        let mut policy = Policy {
            url_check: raw.url_check.unwrap_or(true),
            allow_lan: raw.allow_lan.unwrap_or(true),
            domains: Default::default(),
        };
        for kind in DomainKind::ALL {
            let list = match kind {
                DomainKind::Request => &raw_domains.request,
                DomainKind::Socket => &raw_domains.socket,
                DomainKind::UploadFile => &raw_domains.upload_file,
                DomainKind::DownloadFile => &raw_domains.download_file,
            };
            let list = list.as_deref().unwrap_or_default();
            let key = kind.config_key();
            if list.len() > max_domains {
                return Err(format!(
                    "domains.{key}: {} entries, more than maxDomainsPerType ({max_domains})",
                    list.len()
                ));
            }
            for (i, entry) in list.iter().enumerate() {
                let parsed = AllowedDomain::parse(entry, kind).map_err(|e| format!("domains.{key}[{i}]: {e}"))?;
                policy.domains[kind as usize].push(parsed);
            }
        }

        let t = raw.network_timeout.unwrap_or_default();
        let ms = |name: &str, v: Option<u64>| -> Result<Duration, String> {
            match v {
                Some(0) => Err(format!("{name}: must be > 0")),
                Some(v) => Ok(Duration::from_millis(v)),
                None => Ok(Duration::from_millis(DEFAULT_TIMEOUT_MS)),
            }
        };
        let timeouts = Timeouts {
            request: ms("networkTimeout.request", t.request)?,
            connect_socket: ms("networkTimeout.connectSocket", t.connect_socket)?,
            upload_file: ms("networkTimeout.uploadFile", t.upload_file)?,
            download_file: ms("networkTimeout.downloadFile", t.download_file)?,
        };
        let max_timeout = ms("maxTimeoutMs", raw.max_timeout_ms)?;

        let max_concurrent_requests = positive("maxConcurrentRequests", raw.max_concurrent_requests, 10)?;
        let max_sockets = positive("maxSockets", raw.max_sockets, 5)?;
        let max_download_bytes = match raw.max_download_bytes {
            Some(0) => return Err("maxDownloadBytes: must be > 0".into()),
            Some(v) => v,
            None => 50 * 1024 * 1024,
        };
        let max_queued_event_bytes = bounded_bytes(
            "maxQueuedEventBytes",
            raw.max_queued_event_bytes,
            DEFAULT_MAX_QUEUED_EVENT_BYTES,
        )?;
        let max_socket_message_bytes = bounded_bytes(
            "maxSocketMessageBytes",
            raw.max_socket_message_bytes,
            DEFAULT_MAX_SOCKET_MESSAGE_BYTES,
        )?;
        let max_socket_send_queue_bytes = bounded_bytes(
            "maxSocketSendQueueBytes",
            raw.max_socket_send_queue_bytes,
            DEFAULT_MAX_SOCKET_SEND_QUEUE_BYTES,
        )?;
        let background_grace = match raw.background_grace_ms {
            None => Some(Duration::from_millis(5000)),
            Some(-1) => None,
            Some(v) if v >= 0 => Some(Duration::from_millis(v as u64)),
            Some(v) => return Err(format!("backgroundGraceMs: {v} is neither >= 0 nor -1")),
        };

        let mut ca_certificates = Vec::new();
        for (i, pem) in raw.ca_certificates.unwrap_or_default().iter().enumerate() {
            let certs: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("caCertificates[{i}]: not a PEM certificate: {}", describe_pem_error(&e)))?;
            if certs.is_empty() {
                return Err(format!("caCertificates[{i}]: no CERTIFICATE block"));
            }
            ca_certificates.extend(certs);
        }

        let mut resolve = HashMap::new();
        for (key, value) in raw.resolve.unwrap_or_default() {
            let norm = normalize_host_port(&key).ok_or_else(|| format!("resolve: key {key:?} is not host:port"))?;
            let values = match value {
                OneOrMany::One(v) => vec![v],
                OneOrMany::Many(list) => list,
            };
            if values.is_empty() || values.len() > MAX_PINNED_ADDRESSES {
                return Err(format!(
                    "resolve.{key}: give 1 to {MAX_PINNED_ADDRESSES} addresses, not {}",
                    values.len()
                ));
            }
            let addrs = values
                .iter()
                .map(|v| {
                    v.parse::<SocketAddr>()
                        .map_err(|_| format!("resolve.{key}: {v:?} is not ip:port"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            resolve.insert(norm, addrs);
        }

        let raw_http_dns = raw.http_dns.unwrap_or_default();
        if raw_http_dns.len() > MAX_HTTP_DNS_SERVICES {
            return Err(format!(
                "httpDns: {} service ids, more than {MAX_HTTP_DNS_SERVICES}",
                raw_http_dns.len()
            ));
        }
        let mut http_dns = HashMap::new();
        for (id, value) in raw_http_dns {
            if id.is_empty() {
                return Err("httpDns: a service id must not be empty".into());
            }
            let url = url::Url::parse(&value)
                .ok()
                .filter(|u| u.scheme() == "https" && u.host_str().is_some() && u.fragment().is_none())
                .ok_or_else(|| format!("httpDns.{id}: {value:?} is not an https:// URL (RFC 8484)"))?;
            http_dns.insert(id, url);
        }

        Ok(AppConfig {
            app_id: raw.app_id,
            version,
            policy,
            tls_verify: raw.tls_verify.unwrap_or(true),
            timeouts,
            max_timeout,
            max_concurrent_requests,
            max_sockets,
            max_download_bytes,
            max_queued_event_bytes,
            max_socket_message_bytes,
            max_socket_send_queue_bytes,
            background_grace,
            temp_dir: abs_dir("tempDir", raw.temp_dir)?,
            user_data_dir: abs_dir("userDataDir", raw.user_data_dir)?,
            cache_dir: abs_dir("cacheDir", raw.cache_dir)?,
            ca_certificates,
            resolve,
            cookie_jar: raw.cookie_jar.unwrap_or(false),
            http_dns,
        })
    }

    /// The effective timeout: the option, else the app default, capped.
    pub fn effective_timeout(&self, option_ms: Option<u64>, default: Duration) -> Duration {
        let chosen = option_ms
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
            .unwrap_or(default);
        chosen.min(self.max_timeout)
    }
}

/// "an array", "a string"...: a JSON value's kind, for messages.
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A serde_json message in the words of the JSON a host wrote: Rust type names
/// (`u64`, `struct RawConfig`, `a sequence`) become JSON ones.
fn readable_serde_message(error: &serde_json::Error) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("expected u64", "expected a whole number >= 0"),
        ("expected u32", "expected a whole number >= 0"),
        ("expected i64", "expected a whole number"),
        ("expected struct RawConfig", "expected an object"),
        ("expected struct RawDomains", "expected an object"),
        ("expected struct RawTimeouts", "expected an object"),
        ("expected a map", "expected an object"),
        ("expected a sequence", "expected an array"),
        ("invalid type: sequence", "invalid type: array"),
        ("invalid type: map", "invalid type: object"),
        ("invalid type: floating point", "invalid type: number"),
        ("invalid type: integer", "invalid type: number"),
        ("invalid value: integer", "invalid value: number"),
    ];
    let mut text = error.to_string();
    for (rust, json) in WORDS {
        text = text.replace(rust, json);
    }
    text
}

fn positive(name: &str, v: Option<u32>, default: u32) -> Result<usize, String> {
    match v {
        Some(0) => Err(format!("{name}: must be > 0")),
        Some(v) => Ok(v as usize),
        None => Ok(default as usize),
    }
}

fn bounded_bytes(name: &str, v: Option<u64>, default: usize) -> Result<usize, String> {
    match v {
        None => Ok(default),
        Some(v) if BYTE_LIMIT_RANGE.contains(&v) => Ok(v as usize),
        Some(v) => Err(format!(
            "{name}: {v} is outside {}..={}",
            BYTE_LIMIT_RANGE.start(),
            BYTE_LIMIT_RANGE.end()
        )),
    }
}

fn abs_dir(name: &str, v: Option<String>) -> Result<Option<PathBuf>, String> {
    match v {
        None => Ok(None),
        Some(s) if s.contains('\0') => Err(format!("{name}: contains NUL")),
        Some(s) => {
            let p = PathBuf::from(s);
            if p.is_absolute() {
                Ok(Some(p))
            } else {
                Err(format!("{name}: must be an absolute path"))
            }
        }
    }
}

/// Values that end up inside the Referer header must be header-safe.
fn check_header_safe(name: &str, value: &str) -> Result<(), String> {
    if value.bytes().any(|b| b < 0x20 || b == 0x7f || b == b'/') {
        return Err(format!("{name}: contains control characters or '/'"));
    }
    Ok(())
}

/// `Host:Port` -> `host:port` with the host lowercased and a trailing dot
/// removed; IPv6 hosts keep their brackets. `None` when not host:port.
pub fn normalize_host_port(s: &str) -> Option<String> {
    let (host, port) = s.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    Some(format!("{host}:{port}"))
}

/// A PEM parse error in words (the crate's own text prints labels as byte lists).
fn describe_pem_error(e: &rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { end_marker } => {
            let label = String::from_utf8_lossy(end_marker);
            format!("the {label} block has no \"-----END {label}-----\" line")
        }
        Error::IllegalSectionStart { line } => {
            format!("malformed \"-----BEGIN\" line {:?}", String::from_utf8_lossy(line))
        }
        Error::Base64Decode(_) => "the block's body is not valid base64".to_string(),
        Error::SectionTooLarge => "the block is too large".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_config_gets_defaults() {
        let c = AppConfig::from_json(br#"{"appId":"wx1"}"#).expect("valid");
        assert_eq!(c.version, "0");
        assert_eq!(c.max_concurrent_requests, 10);
        assert_eq!(c.max_sockets, 5);
        assert_eq!(c.max_download_bytes, 52_428_800);
        assert_eq!(c.max_queued_event_bytes, 4 * 1024 * 1024);
        assert_eq!(c.max_socket_message_bytes, 16 * 1024 * 1024);
        assert_eq!(c.max_socket_send_queue_bytes, 16 * 1024 * 1024);
        assert!(c.policy.url_check && c.policy.allow_lan && c.tls_verify);
        assert_eq!(c.background_grace, Some(Duration::from_millis(5000)));
    }

    #[test]
    fn bad_ca_certificate_errors_read_as_words() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"appId":"a","caCertificates":["-----BEGIN CERTIFICATE-----\nMIIB\n"]}"#,
                r#"caCertificates[0]: not a PEM certificate: the CERTIFICATE block has no "-----END CERTIFICATE-----" line"#,
            ),
            (
                r#"{"appId":"a","caCertificates":["-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"]}"#,
                "caCertificates[0]: not a PEM certificate: the block's body is not valid base64",
            ),
            (
                r#"{"appId":"a","caCertificates":["junk"]}"#,
                "caCertificates[0]: no CERTIFICATE block",
            ),
        ];
        for (json, want) in cases {
            let err = AppConfig::from_json(json.as_bytes()).expect_err(json);
            assert_eq!(&err, want, "{json}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        let cases: &[(&str, &str)] = &[
            (r#"{}"#, "appId"),
            (r#"{"appId":"a","bogus":1}"#, "bogus"),
            (
                r#"{"appId":"a","networkTimeout":{"request":"5"}}"#,
                "networkTimeout.request",
            ),
            (
                r#"{"appId":"a","domains":{"request":["http://x.com"]}}"#,
                "domains.request[0]",
            ),
            (r#"{"appId":"a","maxSockets":0}"#, "maxSockets"),
            (r#"{"appId":"a","tempDir":"rel/dir"}"#, "tempDir"),
            (r#"{"appId":"a","maxQueuedEventBytes":0}"#, "maxQueuedEventBytes"),
            (r#"{"appId":"a","maxQueuedEventBytes":1023}"#, "maxQueuedEventBytes"),
            (r#"{"appId":"a","maxQueuedEventBytes":-1}"#, "maxQueuedEventBytes"),
            (
                r#"{"appId":"a","maxSocketMessageBytes":2147483648}"#,
                "maxSocketMessageBytes",
            ),
            (r#"{"appId":"a","resolve":{"x.com":"1.2.3.4:1"}}"#, "resolve"),
            (r#"{"appId":"a","resolve":{"x.com:443":"nope"}}"#, "resolve.x.com:443"),
            (r#"{"appId":"a","resolve":{"x.com:443":[]}}"#, "resolve.x.com:443"),
            (
                r#"{"appId":"a","resolve":{"x.com:443":["1.2.3.4:1","nope"]}}"#,
                "resolve.x.com:443",
            ),
            (
                r#"{"appId":"a","httpDns":{"s1":"http://doh.example/dns-query"}}"#,
                "httpDns.s1",
            ),
            (r#"{"appId":"a","httpDns":{"s1":"not a url"}}"#, "httpDns.s1"),
            (r#"{"appId":"a","httpDns":{"s1":7}}"#, "httpDns.s1"),
            (r#"{"appId":"a","caCertificates":["junk"]}"#, "caCertificates[0]"),
            (r#"{"appId":"a\r\nX: y"}"#, "appId"),
            (r#"{"appId":"a","backgroundGraceMs":-2}"#, "backgroundGraceMs"),
            (
                r#"{"appId":"a","maxDomainsPerType":1,"domains":{"socket":["wss://a.com","wss://b.com"]}}"#,
                "domains.socket",
            ),
            (r#"[1]"#, "must be a JSON object"),
        ];
        for (json, needle) in cases {
            let err = AppConfig::from_json(json.as_bytes()).expect_err(json);
            assert!(err.contains(needle), "{json}: {err:?} should mention {needle}");
        }
    }

    #[test]
    fn messages_read_for_a_person() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"appId":"wx1","networkTimeout":{"request":5"#,
                "the config is not complete JSON: it ends at line 1 column 44",
            ),
            (
                r#"{"appId":"#,
                "the config is not complete JSON: it ends at line 1 column 9",
            ),
            (
                r#"{"appId" "wx1"}"#,
                "the config is not valid JSON: expected `:` at line 1 column 10",
            ),
            (
                r#"{"appId":"wx1","networkTimeout":{"request":"5"}}"#,
                r#"networkTimeout.request: invalid type: string "5", expected a whole number >= 0 at line 1 column 46"#,
            ),
            (
                r#"{"appId":"wx1","maxTimeoutMs":-1}"#,
                "maxTimeoutMs: invalid value: number `-1`, expected a whole number >= 0 at line 1 column 32",
            ),
            (
                r#"{"appId":"wx1","backgroundGraceMs":1.5}"#,
                "backgroundGraceMs: invalid type: number `1.5`, expected a whole number at line 1 column 38",
            ),
            (r#"[1]"#, "the config must be a JSON object, not an array"),
            (r#""wx1""#, "the config must be a JSON object, not a string"),
            (
                r#"{"appId":"wx1","domains":[]}"#,
                "domains: must be an object, not an array",
            ),
            (
                r#"{"appId":"wx1","networkTimeout":5000}"#,
                "networkTimeout: must be an object, not a number",
            ),
            (
                r#"{"appId":"wx1","caCertificates":"pem"}"#,
                r#"caCertificates: invalid type: string "pem", expected an array at line 1 column 37"#,
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|(json, want)| {
                let err = AppConfig::from_json(json.as_bytes()).expect_err(json);
                (err != *want).then(|| format!("{json}\n  got:  {err}\n  want: {want}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn timeout_precedence_and_cap() {
        let c = AppConfig::from_json(br#"{"appId":"a","networkTimeout":{"request":3000},"maxTimeoutMs":10000}"#)
            .expect("valid");
        let d = c.timeouts.request;
        assert_eq!(c.effective_timeout(None, d), Duration::from_millis(3000));
        assert_eq!(c.effective_timeout(Some(500), d), Duration::from_millis(500));
        assert_eq!(c.effective_timeout(Some(99_000), d), Duration::from_millis(10_000));
    }

    #[test]
    fn resolve_keys_are_normalized() {
        let c = AppConfig::from_json(br#"{"appId":"a","resolve":{"API.Example.com.:443":"127.0.0.1:8443"}}"#)
            .expect("valid");
        assert!(c.resolve.contains_key("api.example.com:443"));
    }

    #[test]
    fn resolve_takes_one_address_or_a_list_and_http_dns_maps_ids() {
        let c = AppConfig::from_json(
            br#"{"appId":"a","resolve":{"a.com:443":"127.0.0.1:1","b.com:443":["[::1]:2","127.0.0.2:3"]},
                "httpDns":{"svc":"https://doh.example/dns-query"}}"#,
        )
        .expect("valid");
        assert_eq!(
            c.resolve["a.com:443"],
            vec!["127.0.0.1:1".parse::<SocketAddr>().expect("addr")]
        );
        assert_eq!(c.resolve["b.com:443"].len(), 2);
        assert_eq!(c.http_dns["svc"].as_str(), "https://doh.example/dns-query");
    }
}
