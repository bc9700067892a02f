//! The server's own thread and runtime, the listeners and the accept loops.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::alt_svc::alt_svc_for;
use crate::connection::{serve, Protocol};
use crate::stats::Stats;
use crate::{cert, tls, ServerOptions, HOSTNAMES};

/// How a listener's connections are served.
#[derive(Clone)]
enum Listener {
    /// Plain TCP: HTTP/1.1, or HTTP/2 when the client starts with the h2 preface.
    Plain,
    /// TLS: HTTP/2 when ALPN picked `h2`, HTTP/1.1 otherwise.
    Tls(TlsAcceptor),
}

/// A running test server; dropping it stops the runtime and closes the listeners.
pub struct TestServer {
    ca_pem: String,
    https: u16,
    http: u16,
    https_h1: u16,
    h3: Option<u16>,
    h3_raw: Option<Arc<crate::RawH3Stats>>,
    stats: Arc<Stats>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts with [`ServerOptions::default`]; see [`TestServer::start_with`].
    pub fn start() -> TestServer {
        Self::start_with(ServerOptions::default())
    }

    /// Starts on 127.0.0.1 with ephemeral ports, on its own thread and tokio runtime, and
    /// returns once the three listeners are bound.
    ///
    /// # Panics
    /// When the certificates cannot be generated or a port cannot be bound; use
    /// [`TestServer::try_start_with`] to get the error instead.
    pub fn start_with(opts: ServerOptions) -> TestServer {
        Self::try_start_with(opts).expect("wxnet-testserver failed to start")
    }

    /// [`TestServer::start_with`], returning startup errors instead of panicking.
    pub fn try_start_with(opts: ServerOptions) -> io::Result<TestServer> {
        let names: Vec<String> = HOSTNAMES
            .iter()
            .map(|s| s.to_string())
            .chain(opts.extra_hostnames)
            .collect();
        let certs = cert::generate(&names)?;
        let listeners = [
            Listener::Tls(tls::acceptor(&certs, tls::ALPN_H2_H1)?),
            Listener::Plain,
            Listener::Tls(tls::acceptor(&certs, tls::ALPN_H1)?),
        ];

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("wxnet-testserver-worker")
            .enable_all()
            .build()?;
        let stats = Arc::new(Stats::default());
        let mut ports = [0u16; 3];
        {
            // Bind here, so errors and ports are known before returning; the accept loops
            // start running on the runtime's workers right away.
            let _guard = runtime.enter();
            for (port, kind) in ports.iter_mut().zip(listeners) {
                let listener = bind()?;
                *port = listener.local_addr()?.port();
                runtime.spawn(accept_loop(listener, kind, stats.clone()));
            }
        }
        let mut h3_raw = None;
        let h3 = if let Some(mode) = opts.h3_raw {
            let _guard = runtime.enter();
            let endpoint = crate::h3::bind(&certs)?;
            let port = endpoint.local_addr()?.port();
            let raw_stats = Arc::new(crate::RawH3Stats::default());
            runtime.spawn(crate::h3_raw::accept_loop(endpoint, mode, raw_stats.clone()));
            h3_raw = Some(raw_stats);
            Some(port)
        } else if opts.h3 {
            let _guard = runtime.enter();
            let endpoint = crate::h3::bind(&certs)?;
            let port = endpoint.local_addr()?.port();
            runtime.spawn(crate::h3::accept_loop(endpoint, stats.clone()));
            Some(port)
        } else {
            None
        };
        if let Some(value) = opts.alt_svc.or(h3.map(alt_svc_for)) {
            let value = http::HeaderValue::from_str(&value).map_err(crate::other_err)?;
            let _ = stats.alt_svc.set(value);
        }
        let (shutdown, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("wxnet-testserver".into())
            .spawn(move || {
                // Returns when the sender is used or dropped.
                let _ = runtime.block_on(stopped);
                runtime.shutdown_timeout(Duration::from_secs(2));
            })?;
        Ok(TestServer {
            ca_pem: certs.ca_pem,
            https: ports[0],
            http: ports[1],
            https_h1: ports[2],
            h3,
            h3_raw,
            stats,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// TLS port whose ALPN offers `h2` and `http/1.1`.
    pub fn https_port(&self) -> u16 {
        self.https
    }

    /// Plain-text port: HTTP/1.1, and HTTP/2 with prior knowledge (h2c).
    pub fn http_port(&self) -> u16 {
        self.http
    }

    /// TLS port whose ALPN offers only `http/1.1`.
    pub fn https_h1_port(&self) -> u16 {
        self.https_h1
    }

    /// UDP port of the HTTP/3 listener, when started with [`ServerOptions::h3`].
    pub fn h3_port(&self) -> Option<u16> {
        self.h3
    }

    /// What the hand-written HTTP/3 server saw, when started with [`ServerOptions::h3_raw`].
    ///
    /// [`ServerOptions::h3_raw`]: crate::ServerOptions::h3_raw
    pub fn h3_raw_stats(&self) -> Option<&crate::RawH3Stats> {
        self.h3_raw.as_deref()
    }

    /// PEM of this server's CA, the issuer of its leaf certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// How many requests arrived for exactly `path`, on all listeners; counted before the
    /// route runs. A `path` without a query counts every query; one with a query counts
    /// only requests with exactly that query (a test's own tag, e.g. `/hang?t=abort`).
    pub fn hits(&self, path: &str) -> u64 {
        self.stats.hits_of(path)
    }

    /// What the WebSocket connections opened with exactly `path_and_query` (e.g.
    /// `/ws/ping?t=idle`, a test's own tag) saw, summed over them.
    pub fn ws_counters(&self, path_and_query: &str) -> crate::WsCounters {
        self.stats.ws_counters(path_and_query)
    }

    /// How many TCP connections were accepted so far, on all listeners.
    pub fn connections(&self) -> u64 {
        self.stats.connections.load(Ordering::SeqCst)
    }

    /// How many accepted TCP connections are still open (served, not yet closed by
    /// either side), on all listeners.
    pub fn open_connections(&self) -> u64 {
        self.stats.open_connections()
    }

    /// Waits until at most `max` TCP connections are open, or `timeout` passed;
    /// returns how many are open then.
    pub fn wait_open_connections_at_most(&self, max: u64, timeout: Duration) -> u64 {
        self.stats.wait_open_at_most(max, timeout)
    }

    /// How many text and binary messages the WebSocket routes (`/ws/...`) received so far,
    /// on all connections (control frames are not counted).
    pub fn ws_messages_received(&self) -> u64 {
        self.stats.ws_messages.load(Ordering::SeqCst)
    }

    /// The DNS names of the leaf certificate (it also has the IP SAN 127.0.0.1); the same
    /// as [`HOSTNAMES`].
    pub fn hostnames() -> &'static [&'static str] {
        HOSTNAMES
    }
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("https", &self.https)
            .field("http", &self.http)
            .field("https_h1", &self.https_h1)
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        drop(self.shutdown.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn bind() -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    socket.listen(1024)
}

async fn accept_loop(listener: TcpListener, kind: Listener, stats: Arc<Stats>) {
    loop {
        match listener.accept().await {
            Ok((tcp, _)) => {
                let open = stats.opened();
                let _ = tcp.set_nodelay(true);
                let serving = serve_tcp(tcp, kind.clone(), stats.clone());
                tokio::spawn(async move {
                    serving.await;
                    drop(open);
                });
            }
            Err(e) => {
                // E.g. out of file descriptors: wait a little instead of spinning.
                eprintln!("wxnet-testserver: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_tcp(tcp: TcpStream, kind: Listener, stats: Arc<Stats>) {
    match kind {
        Listener::Plain => serve(tcp, Protocol::Auto, stats).await,
        Listener::Tls(acceptor) => {
            let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp));
            let Ok(Ok(tls)) = handshake.await else {
                return; // failed or stalled handshake: just drop the connection
            };
            let protocol = match tls.get_ref().1.alpn_protocol() {
                Some(b"h2") => Protocol::Http2,
                _ => Protocol::Http1,
            };
            serve(tls, protocol, stats).await
        }
    }
}
