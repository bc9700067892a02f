//! DNS (app `resolve` pins first), TCP (nodelay), then TLS with ALPN. Used by
//! hyper as a `tower_service::Service<Uri>` and directly by the WebSocket
//! client.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;

use super::{Conn, ConnInfo, ConnectTimings, MaybeTls};
use crate::runtime::now_ms;

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

struct Shared {
    resolve: HashMap<String, SocketAddr>,
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
    pub fn new(resolve: HashMap<String, SocketAddr>, tls: Arc<ClientConfig>, refuse_local_answers: bool) -> Self {
        Connector {
            shared: Arc::new(Shared {
                resolve,
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
        let tcp = connect_any(&addrs).await?;
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
        if let Some(addr) = self.shared.resolve.get(&key) {
            return Ok(vec![*addr]);
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let refuse = self.shared.refuse_local_answers;
        if let Ok(ip) = bare.parse::<IpAddr>() {
            if refuse && is_this_device(ip) {
                return Err(ConnectError::ThisDevice(ip.to_string()));
            }
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let answers: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| ConnectError::Dns(e.to_string()))?
            .collect();
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

/// Tries each address in turn; the first that connects wins.
async fn connect_any(addrs: &[SocketAddr]) -> Result<TcpStream, ConnectError> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(ConnectError::Connect(
        last.map(|e| e.to_string())
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
    use super::{is_local, is_this_device};

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
