//! Response body types: fixed, scheduled (delayed / chunked) and the streamed `/bytes`
//! pattern, which is generated frame by frame and never buffered.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use tokio::time::{Instant, Sleep};

/// The error type of every response body.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type of every response.
pub(crate) type Body = UnsyncBoxBody<Bytes, BoxError>;

/// Largest data frame the streamed bodies produce.
pub(crate) const FRAME: usize = 64 * 1024;

/// A complete in-memory body (Content-Length is set from its size).
pub(crate) fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// An empty body (Content-Length: 0 where allowed).
pub(crate) fn empty() -> Body {
    Empty::new().map_err(|never: Infallible| match never {}).boxed_unsync()
}

/// Frames sent one after another, each after its own delay; a delay of zero sends at once.
pub(crate) struct ScheduledBody {
    frames: VecDeque<(Option<Duration>, Bytes)>,
    sleep: Option<Pin<Box<Sleep>>>,
    remaining: u64,
    announce_length: bool,
}

impl ScheduledBody {
    /// `announce_length`: report an exact size (so hyper sends Content-Length) or not (so
    /// HTTP/1.1 uses chunked transfer-encoding).
    pub(crate) fn new(frames: Vec<(Duration, Bytes)>, announce_length: bool) -> Self {
        let remaining = frames.iter().map(|(_, b)| b.len() as u64).sum();
        ScheduledBody {
            frames: frames.into_iter().map(|(d, b)| (Some(d), b)).collect(),
            sleep: None,
            remaining,
            announce_length,
        }
    }
}

impl http_body::Body for ScheduledBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            if let Some(sleep) = this.sleep.as_mut() {
                ready!(sleep.as_mut().poll(cx));
                this.sleep = None;
            }
            let Some(front) = this.frames.front_mut() else {
                return Poll::Ready(None);
            };
            if let Some(delay) = front.0.take() {
                if !delay.is_zero() {
                    this.sleep = Some(Box::pin(tokio::time::sleep(delay)));
                    continue;
                }
            }
            let Some((_, data)) = this.frames.pop_front() else {
                return Poll::Ready(None);
            };
            this.remaining -= data.len() as u64;
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        if self.announce_length {
            SizeHint::with_exact(self.remaining)
        } else {
            SizeHint::new()
        }
    }
}

/// The `/bytes/{n}` body: `byte[i] = (i % 251) as u8`, in frames of at most [`FRAME`]
/// bytes sliced out of one shared buffer, optionally throttled.
pub(crate) struct PatternBody {
    pos: u64,
    len: u64,
    announce_length: bool,
    pace: Option<Pace>,
}

struct Pace {
    bytes_per_sec: u64,
    start: Option<Instant>,
    sleep: Pin<Box<Sleep>>,
}

impl PatternBody {
    /// `len` bytes; `announce_length` as for [`ScheduledBody::new`]; `bytes_per_sec` throttles
    /// (the average rate since the first frame never exceeds it).
    pub(crate) fn new(len: u64, announce_length: bool, bytes_per_sec: Option<u64>) -> Self {
        PatternBody {
            pos: 0,
            len,
            announce_length,
            pace: bytes_per_sec.filter(|r| *r > 0).map(|bytes_per_sec| Pace {
                bytes_per_sec,
                start: None,
                sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
            }),
        }
    }
}

/// `FRAME + 251` pattern bytes, so any frame is a slice starting at `offset % 251`.
fn pattern_buffer() -> &'static Bytes {
    static BUF: OnceLock<Bytes> = OnceLock::new();
    BUF.get_or_init(|| {
        (0..(FRAME + 251) as u64)
            .map(crate::pattern_byte)
            .collect::<Vec<u8>>()
            .into()
    })
}

impl http_body::Body for PatternBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let left = this.len - this.pos;
        if left == 0 {
            return Poll::Ready(None);
        }
        let mut size = left.min(FRAME as u64);
        if let Some(pace) = this.pace.as_mut() {
            // About 50 ms worth of data per frame, so progress events are smooth.
            size = size.min((pace.bytes_per_sec / 20).max(1));
            let start = *pace.start.get_or_insert_with(Instant::now);
            let due = start + Duration::from_secs_f64(this.pos as f64 / pace.bytes_per_sec as f64);
            if Instant::now() < due {
                pace.sleep.as_mut().reset(due);
                ready!(pace.sleep.as_mut().poll(cx));
            }
        }
        let offset = (this.pos % 251) as usize;
        // size <= FRAME, so the slice stays inside the buffer.
        let data = pattern_buffer().slice(offset..offset + size as usize);
        this.pos += size;
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.pos >= self.len
    }

    fn size_hint(&self) -> SizeHint {
        if self.announce_length {
            SizeHint::with_exact(self.len - self.pos)
        } else {
            SizeHint::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pattern_body_is_the_pattern() {
        let body = PatternBody::new(3 * FRAME as u64 + 17, true, None);
        let data = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(data.len(), 3 * FRAME + 17);
        assert_eq!(crate::check_pattern(0, &data), None);
    }

    #[tokio::test]
    async fn scheduled_body_keeps_order() {
        let frames = vec![
            (Duration::ZERO, Bytes::from_static(b"ab")),
            (Duration::from_millis(5), Bytes::from_static(b"cd")),
        ];
        let body = ScheduledBody::new(frames, true);
        assert_eq!(http_body::Body::size_hint(&body).exact(), Some(4));
        let data = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(&data[..], b"abcd");
    }
}
