//! The socket's IO as yawc sees it, with one override: once the session
//! fails the connection it decides the close frame that goes out.
//!
//! yawc queues a close frame of its own when it finds a protocol error in a
//! frame, with codes RFC 6455 does not ask for in some cases (1003 for a
//! reserved opcode, where Autobahn and browsers expect 1002), and answers a
//! close frame with an over-long payload instead of failing. After
//! [`Wire::fail_with`], every byte yawc writes is dropped and our close frame
//! (masked, as a client's must be) is written in its place, once.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What the session holds to override the wire.
#[derive(Clone, Default)]
pub struct Wire {
    state: Arc<Mutex<Override>>,
}

#[derive(Default)]
enum Override {
    /// yawc's bytes pass through.
    #[default]
    Off,
    /// Our close frame, not yet all written; yawc's bytes are dropped.
    Replacing(Vec<u8>),
    /// Our close frame is out; yawc's bytes are dropped.
    Done,
}

impl Wire {
    /// From now on the only bytes written are a close frame with `code` and
    /// `reason` (at most 123 bytes; longer is cut).
    pub fn fail_with(&self, code: u16, reason: &str) {
        let mut state = self.state.lock().expect("wire lock poisoned");
        if matches!(*state, Override::Off) {
            *state = Override::Replacing(close_frame(code, reason));
        }
    }

    /// Wraps `io`; the override applies to it.
    pub fn tap<S>(&self, io: S) -> Tapped<S> {
        Tapped { io, wire: self.clone() }
    }
}

/// A masked client close frame (RFC 6455 5.2, 5.3, 5.5.1).
fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(&reason.as_bytes()[..cut]);
    let mut mask = [0u8; 4];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut mask)
        .expect("the system random source works");
    let mut frame = vec![0x88, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// The IO with the override applied.
pub struct Tapped<S> {
    io: S,
    wire: Wire,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tapped<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tapped<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let mut state = this.wire.state.lock().expect("wire lock poisoned");
        loop {
            match &mut *state {
                Override::Off => {
                    drop(state);
                    return Pin::new(&mut this.io).poll_write(cx, buf);
                }
                Override::Done => return Poll::Ready(Ok(buf.len())),
                Override::Replacing(ours) => match Pin::new(&mut this.io).poll_write(cx, ours) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Poll::Ready(Ok(n)) => {
                        ours.drain(..n);
                        if ours.is_empty() {
                            *state = Override::Done;
                        }
                    }
                    other => return other,
                },
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_frames_are_masked_and_bounded() {
        let frame = close_frame(1002, "");
        assert_eq!(frame.len(), 2 + 4 + 2);
        assert_eq!(&frame[..2], &[0x88, 0x82]);
        let mask = &frame[2..6];
        assert_eq!([frame[6] ^ mask[0], frame[7] ^ mask[1]], 1002u16.to_be_bytes());
        let long = close_frame(1000, &"é".repeat(100));
        assert_eq!(long[1], 0x80 | 124, "2 + 122 bytes: the cut keeps UTF-8 whole");
    }
}
