//! DNS (app `resolve` pins first, then HTTPDNS answers if the client has a
//! `DohResolver` (`net/doh.rs`), then the system resolver), TCP (nodelay), then TLS with
//! ALPN. Used by hyper as a `tower_service::Service<Uri>` and directly by
//! the WebSocket client.
//!
//! Several addresses are raced with Happy Eyeballs v2 (RFC 8305): the
//! first attempt starts at once, each next one when the previous failed
//! or [`CONNECTION_ATTEMPT_DELAY`] passed without a connection, whichever
//! comes first; the first connection wins and the others are dropped.
//! The system resolver's answers come ordered by RFC 6724 already (the OS
//! knows the source addresses); HTTPDNS answers are ordered here as RFC
//! 6724 section 6 says as far as it applies without a source address (rule
//! 6, precedence from the default policy table, then rule 8, smaller scope
//! first; otherwise the resolver's order). Then the address families are
//! interleaved (RFC 8305 section 4), starting with the family of the first
//! address. Pinned addresses keep the host's order. The address that won is the peer
//! `profile` reports (`peerIP`, `port`).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use http::Uri;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;

use super::{Conn, ConnInfo, ConnectTimings, MaybeTls};
use crate::runtime::now_ms;

/// RFC 8305 section 5: the delay before the next connection attempt starts
/// while the previous one is still pending.
pub const CONNECTION_ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Why a connection could not be made; its Display is the errMsg reason.
#[derive(Debug)]
pub enum ConnectError {
    Dns(String),
    Connect(String),
    Tls(String),
    BadUri(String),
    /// Under urlCheck, the target is this device (policy, not network).
    ThisDevice(String),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Dns(e) => write!(f, "DNS lookup failed: {e}"),
            ConnectError::Connect(e) => write!(f, "connect failed: {e}"),
            ConnectError::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            ConnectError::BadUri(e) => write!(f, "invalid url: {e}"),
            ConnectError::ThisDevice(e) => write!(f, "url not in domain list: {e} is an address of this device"),
        }
    }
}

impl std::error::Error for ConnectError {}

/// Answers a resolver already holds (HTTPDNS: `net/doh.rs`), used before
/// the system resolver.
pub(crate) trait CachedAnswers: Send + Sync {
    fn cached(&self, host: &str) -> Option<Vec<std::net::IpAddr>>;
}

struct Shared {
    resolve: HashMap<String, Vec<SocketAddr>>,
    /// HTTPDNS (`enableHttpDNS`): its cached answers come before the system
    /// resolver.
    doh: Option<Arc<dyn CachedAnswers>>,
    tls: Arc<ClientConfig>,
    /// With urlCheck on, DNS answers pointing at this device (loopback,
    /// unspecified) are refused, so a listed domain cannot be turned into a
    /// path to local services. `resolve` pins are the host's explicit choice
    /// and are exempt.
    refuse_local_answers: bool,
}

/// One app's connector for one ALPN offer. Cheap to clone.
#[derive(Clone)]
pub struct Connector {
    shared: Arc<Shared>,
}

impl Connector {
    pub fn new(resolve: HashMap<String, Vec<SocketAddr>>, tls: Arc<ClientConfig>, refuse_local_answers: bool) -> Self {
        Self::with_doh(resolve, tls, refuse_local_answers, None)
    }

    /// A connector that uses `doh`'s cached answers before the system
    /// resolver (see `DohResolver::prefetch` in `net/doh.rs`).
    pub(crate) fn with_doh(
        resolve: HashMap<String, Vec<SocketAddr>>,
        tls: Arc<ClientConfig>,
        refuse_local_answers: bool,
        doh: Option<Arc<dyn CachedAnswers>>,
    ) -> Self {
        Connector {
            shared: Arc::new(Shared {
                resolve,
                doh,
                tls,
                refuse_local_answers,
            }),
        }
    }

    /// Resolves, connects and (if `tls`) handshakes. `host` as in a URL
    /// (IPv6 in brackets).
    pub async fn connect(&self, tls: bool, host: &str, port: u16) -> Result<(MaybeTls, ConnInfo), ConnectError> {
        let mut t = ConnectTimings {
            dns_start: now_ms(),
            ..Default::default()
        };
        let addrs = self.resolve(host, port).await?;
        t.dns_end = now_ms();
        t.connect_start = t.dns_end;
        let tcp = connect_happy(&addrs, CONNECTION_ATTEMPT_DELAY).await?;
        t.connect_end = now_ms();
        let peer = tcp.peer_addr().map_err(|e| ConnectError::Connect(e.to_string()))?;
        if !tls {
            return Ok((MaybeTls::Plain(tcp), ConnInfo::new(peer, false, t)));
        }
        t.tls_start = now_ms();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(bare.to_owned()).map_err(|e| ConnectError::BadUri(e.to_string()))?;
        let stream = tokio_rustls::TlsConnector::from(self.shared.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| ConnectError::Tls(e.to_string()))?;
        t.tls_end = now_ms();
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        Ok((MaybeTls::Tls(Box::new(stream)), ConnInfo::new(peer, h2, t)))
    }

    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, ConnectError> {
        let key = format!("{}:{port}", host.trim_end_matches('.').to_ascii_lowercase());
        if let Some(addrs) = self.shared.resolve.get(&key) {
            return Ok(addrs.clone());
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let refuse = self.shared.refuse_local_answers;
        if let Ok(ip) = bare.parse::<IpAddr>() {
            if refuse && is_this_device(ip) {
                return Err(ConnectError::ThisDevice(ip.to_string()));
            }
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let from_doh = self
            .shared
            .doh
            .as_ref()
            .and_then(|doh| doh.cached(&bare.to_ascii_lowercase()));
        // The system resolver already orders its answers by RFC 6724 (with
        // the source addresses it knows); HTTPDNS answers get our ordering.
        let answers: Vec<SocketAddr> = match from_doh {
            Some(ips) => sort_rfc6724(ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect()),
            None => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|e| ConnectError::Dns(e.to_string()))?
                .collect(),
        };
        let answers = interleave_families(answers);
        let usable: Vec<SocketAddr> = answers
            .iter()
            .copied()
            .filter(|a| !(refuse && is_this_device(a.ip())))
            .collect();
        match (usable.is_empty(), answers.first()) {
            (false, _) => Ok(usable),
            (true, Some(a)) => Err(ConnectError::ThisDevice(format!(
                "{bare} resolves to {}, which",
                a.ip()
            ))),
            (true, None) => Err(ConnectError::Dns("no addresses".into())),
        }
    }
}

/// Loopback or unspecified, including IPv4-mapped IPv6 forms.
pub fn is_local(ip: IpAddr) -> bool {
    let ip = canonical(ip);
    ip.is_loopback() || ip.is_unspecified()
}

/// This device: loopback, unspecified, or one of its interface addresses
/// (spec section 5: never a request target, whatever `allowLan` says).
pub fn is_this_device(ip: IpAddr) -> bool {
    is_local(ip) || own_addresses().contains(&canonical(ip))
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The interface addresses, re-read at most every few seconds (networks change).
fn own_addresses() -> Arc<Vec<IpAddr>> {
    const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(5);
    type Snapshot = Option<(std::time::Instant, Arc<Vec<IpAddr>>)>;
    static CACHE: std::sync::Mutex<Snapshot> = std::sync::Mutex::new(None);
    let mut cache = CACHE.lock().expect("own-address cache lock poisoned");
    if let Some((at, addrs)) = cache.as_ref() {
        if at.elapsed() < FRESH_FOR {
            return addrs.clone();
        }
    }
    let addrs: Arc<Vec<IpAddr>> = Arc::new(
        if_addrs::get_if_addrs()
            .unwrap_or_default()
            .into_iter()
            .map(|i| canonical(i.ip()))
            .collect(),
    );
    *cache = Some((std::time::Instant::now(), addrs.clone()));
    addrs
}

/// RFC 6724 section 2.1's default policy table: (prefix, length, precedence).
const POLICY_TABLE: &[(Ipv6Addr, u8, u8)] = &[
    (Ipv6Addr::LOCALHOST, 128, 50),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96, 35),
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16, 30),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32, 5),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, 3),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96, 1),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, 1),
    (Ipv6Addr::new(0x3ffe, 0, 0, 0, 0, 0, 0, 0), 16, 1),
    (Ipv6Addr::UNSPECIFIED, 0, 40),
];

/// An address as IPv6 (IPv4 as IPv4-mapped), as RFC 6724 compares them.
fn as_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// The precedence of the longest matching policy table entry.
fn precedence(ip: IpAddr) -> u8 {
    let bits = u128::from(as_v6(ip));
    POLICY_TABLE
        .iter()
        .filter(|(prefix, len, _)| {
            let mask = if *len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(*len))
            };
            bits & mask == u128::from(*prefix) & mask
        })
        .max_by_key(|(_, len, _)| *len)
        .map_or(40, |(_, _, p)| *p)
}

/// RFC 6724 section 3.1/3.2 scope: smaller is narrower.
fn scope(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() || v4.is_link_local() => 0x2,
        IpAddr::V4(_) => 0xe,
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => scope(IpAddr::V4(v6.to_ipv4_mapped().expect("mapped"))),
        IpAddr::V6(v6) if v6.is_multicast() => v6.octets()[1] & 0x0f,
        IpAddr::V6(v6) if v6.is_loopback() || (v6.segments()[0] & 0xffc0) == 0xfe80 => 0x2,
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfec0 => 0x5,
        IpAddr::V6(_) => 0xe,
    }
}

/// RFC 6724 rules 6 (higher precedence first) and 8 (smaller scope first),
/// stable otherwise (the rules that need a source address are left out).
fn sort_rfc6724(mut addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    addrs.sort_by_key(|a| (std::cmp::Reverse(precedence(a.ip())), scope(a.ip())));
    addrs
}

/// RFC 8305 section 4: alternate the families, starting with the first
/// address's, each family in its own order.
fn interleave_families(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return addrs;
    };
    let first_v6 = first.is_ipv6();
    let (mut lead, mut other): (std::collections::VecDeque<_>, std::collections::VecDeque<_>) =
        addrs.into_iter().partition(|a| a.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(lead.len() + other.len());
    loop {
        match (lead.pop_front(), other.pop_front()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// The most addresses of one name a connection tries. A resolver's answer
/// can hold thousands (a DoH message of 64 KiB), and attempts that get no
/// answer stay open until the request's timeout: without a cap one request
/// to such a name would hold a socket per `delay` for its whole timeout.
const MAX_ATTEMPTS: usize = 16;

/// Happy Eyeballs v2 (RFC 8305 section 5): starts the attempts in order,
/// each `delay` after the previous one or at once when an attempt fails; the first connection wins, the other attempts are dropped.
/// At most [`MAX_ATTEMPTS`] addresses are tried.
async fn connect_happy(addrs: &[SocketAddr], delay: Duration) -> Result<TcpStream, ConnectError> {
    let mut next = addrs.iter().take(MAX_ATTEMPTS);
    let mut running = FuturesUnordered::new();
    let mut last_error = None;
    let attempt = |addr: SocketAddr| async move { (addr, TcpStream::connect(addr).await) };
    if let Some(addr) = next.next() {
        running.push(attempt(*addr));
    }
    while !running.is_empty() {
        let stagger = tokio::time::sleep(delay);
        tokio::pin!(stagger);
        let outcome = tokio::select! {
            Some(outcome) = running.next() => Some(outcome),
            () = &mut stagger => None,
        };
        match outcome {
            Some((_, Ok(stream))) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Some((addr, Err(e))) => {
                log::debug!("connect to {addr} failed: {e}");
                last_error = Some(e);
                if let Some(addr) = next.next() {
                    running.push(attempt(*addr));
                }
            }
            None => {
                if let Some(addr) = next.next() {
                    running.push(attempt(*addr));
                }
            }
        }
    }
    Err(ConnectError::Connect(
        last_error
            .map(|e| e.to_string())
            .unwrap_or_else(|| "no address to connect to".into()),
    ))
}

impl tower_service::Service<Uri> for Connector {
    type Response = Conn;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let tls = match uri.scheme_str() {
                Some("https") => true,
                Some("http") => false,
                _ => return Err(ConnectError::BadUri("scheme must be http or https".into())),
            };
            let host = uri.host().ok_or_else(|| ConnectError::BadUri("no host".into()))?;
            let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
            let (stream, info) = this.connect(tls, host, port).await?;
            Ok(Conn::new(stream, info))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().expect("socket address")).collect()
    }

    #[test]
    fn rfc6724_order_then_family_interleaving() {
        // Native IPv6 (40) before IPv4 (35) before 6to4 (30) before Teredo (5);
        // loopback first; otherwise the resolver's order.
        let sorted = sort_rfc6724(addrs(&[
            "[2001:0:1::1]:1",
            "1.1.1.1:1",
            "[2002::1]:1",
            "[2400::1]:1",
            "2.2.2.2:1",
            "[::1]:1",
        ]));
        assert_eq!(
            sorted,
            addrs(&[
                "[::1]:1",
                "[2400::1]:1",
                "1.1.1.1:1",
                "2.2.2.2:1",
                "[2002::1]:1",
                "[2001:0:1::1]:1"
            ])
        );
        // Same precedence: link-local scope before global.
        assert_eq!(
            sort_rfc6724(addrs(&["[2400::1]:1", "[fe80::1]:1"])),
            addrs(&["[fe80::1]:1", "[2400::1]:1"])
        );
        assert_eq!(
            interleave_families(addrs(&[
                "[2400::1]:1",
                "[2400::2]:1",
                "[2400::3]:1",
                "1.1.1.1:1",
                "2.2.2.2:1"
            ])),
            addrs(&["[2400::1]:1", "1.1.1.1:1", "[2400::2]:1", "2.2.2.2:1", "[2400::3]:1"])
        );
        assert_eq!(interleave_families(Vec::new()), Vec::new());
    }

    /// A port nobody listens on (it refuses at once), and a listener (kept
    /// open by the caller) with its address.
    async fn refused_and_listening() -> (SocketAddr, tokio::net::TcpListener, SocketAddr) {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let refused = closed.local_addr().expect("addr");
        drop(closed);
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let good = open.local_addr().expect("addr");
        (refused, open, good)
    }

    #[tokio::test]
    async fn a_refused_address_moves_on_at_once_and_all_failing_is_an_error() {
        // A port nobody listens on refuses at once; the next address wins
        // without waiting for the (here one hour) stagger.
        let (refused, _open, good) = refused_and_listening().await;
        let stream = connect_happy(&[refused, good], Duration::from_secs(3600))
            .await
            .expect("second address connects");
        assert_eq!(stream.peer_addr().expect("peer"), good);
        let err = connect_happy(&[refused], Duration::from_secs(3600))
            .await
            .expect_err("nothing listens");
        assert!(err.to_string().starts_with("connect failed"), "{err}");
    }

    #[tokio::test]
    async fn at_most_max_attempts_addresses_are_tried() {
        let (refused, _open, good) = refused_and_listening().await;
        let mut addrs = vec![refused; MAX_ATTEMPTS - 1];
        addrs.push(good);
        connect_happy(&addrs, Duration::from_secs(3600))
            .await
            .expect("the last address tried connects");
        addrs.insert(0, refused);
        connect_happy(&addrs, Duration::from_secs(3600))
            .await
            .expect_err("the good address is one past the cap");
    }

    #[test]
    fn local_answers() {
        for ip in ["127.0.0.1", "127.9.9.9", "0.0.0.0", "::1", "::", "::ffff:127.0.0.1"] {
            assert!(is_local(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["10.0.0.1", "192.168.1.1", "8.8.8.8", "fe80::1", "::ffff:8.8.8.8"] {
            assert!(!is_local(ip.parse().expect("ip")), "{ip}");
        }
        for iface in if_addrs::get_if_addrs().expect("interfaces") {
            assert!(is_this_device(iface.ip()), "{} is this device", iface.ip());
        }
        assert!(!is_this_device("8.8.8.8".parse().expect("ip")));
    }
}
