//! The byte stream of a connection (plain TCP or TLS over TCP) and its
//! adapter to hyper's IO traits, counting bytes as they pass.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::ConnInfo;

/// Plain TCP or TLS over TCP, as tokio IO (what the WebSocket stack also runs on).
pub enum MaybeTls {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl MaybeTls {
    /// Turns Nagle's algorithm on (`false`) or off (`true`, the default).
    pub fn set_nodelay(&self, nodelay: bool) {
        let tcp = match self {
            MaybeTls::Plain(s) => s,
            MaybeTls::Tls(s) => s.get_ref().0,
        };
        let _ = tcp.set_nodelay(nodelay);
    }
}

impl AsyncRead for MaybeTls {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTls {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTls::Plain(s) => s.is_write_vectored(),
            MaybeTls::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A [`MaybeTls`] that counts the bytes crossing it into its [`ConnInfo`].
///
/// It also keeps an early response readable. A server may answer before it
/// has read the request body (a 413 before an 8 MiB upload) and close; the
/// body's next write then fails (EPIPE / ECONNRESET) while the answer
/// waits in the receive buffer. If that write error reached hyper, it would
/// fail the whole exchange and never read the answer. So once the peer is
/// gone, writes are discarded and reported as done: hyper finishes the
/// body quickly, reads on, and either gets the server's response (success,
/// as in curl and browsers) or, if there is none, the read error (failure).
pub struct Counted {
    inner: MaybeTls,
    info: ConnInfo,
    /// The peer is gone: writes are discarded (see above).
    peer_gone: bool,
}

/// Whether a write error means the peer closed or reset the connection.
fn peer_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
    )
}

impl Counted {
    /// Turns a write result into "done" once the peer is gone.
    fn after_write(&mut self, res: Poll<io::Result<usize>>, len: usize) -> Poll<io::Result<usize>> {
        match res {
            Poll::Ready(Ok(n)) => {
                self.info.add_sent(n);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) if peer_gone(&e) => {
                log::debug!("peer closed while the request was being sent ({e}); reading its answer");
                self.peer_gone = true;
                Poll::Ready(Ok(len))
            }
            other => other,
        }
    }
}

impl AsyncRead for Counted {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let res = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.info.add_received(buf.filled().len() - before);
        res
    }
}

impl AsyncWrite for Counted {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.peer_gone {
            return Poll::Ready(Ok(buf.len()));
        }
        let res = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after_write(res, buf.len())
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let len = bufs.iter().map(|b| b.len()).sum();
        if this.peer_gone {
            return Poll::Ready(Ok(len));
        }
        let res = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(res, len)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.peer_gone {
            return Poll::Ready(Ok(()));
        }
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(Err(e)) if peer_gone(&e) => {
                this.peer_gone = true;
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.peer_gone {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// A connection as hyper sees it: the counted stream plus its [`ConnInfo`]
/// (handed to hyper as `Connected::extra`, so every response carries it).
pub struct Conn {
    io: TokioIo<Counted>,
}

impl Conn {
    pub fn new(stream: MaybeTls, info: ConnInfo) -> Self {
        Conn {
            io: TokioIo::new(Counted {
                inner: stream,
                info,
                peer_gone: false,
            }),
        }
    }

    fn info(&self) -> &ConnInfo {
        &self.io.inner().info
    }
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        let connected = Connected::new().extra(self.info().clone());
        if self.info().is_h2() {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        hyper::rt::Write::is_write_vectored(&self.io)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
