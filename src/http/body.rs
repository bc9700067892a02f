//! The request body of an exchange, in a form that can be produced again
//! for each redirect hop (307/308 resend it).

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use super::multipart::Multipart;
use crate::errors::WxError;
use crate::net::client::ReqBody;
use crate::runtime::now_ms;

/// A request body that can be produced again for each redirect hop.
#[derive(Clone)]
pub enum BodySource {
    Bytes(Bytes),
    /// A streamed multipart upload (reopens its file per hop).
    Multipart(Arc<Multipart>),
}

impl BodySource {
    pub fn empty() -> Self {
        BodySource::Bytes(Bytes::new())
    }

    /// A fresh body that records when its last bytes went out. Its size is
    /// known (so HTTP/1.1 sends `Content-Length`, never chunked): a byte
    /// body's exactly, a multipart body's as it computes it.
    pub(crate) fn make(&self, end: Arc<AtomicU64>) -> Result<ReqBody, WxError> {
        let body = match self {
            BodySource::Bytes(bytes) => Full::new(bytes.clone()).map_err(|never| match never {}).boxed(),
            BodySource::Multipart(m) => m.body()?,
        };
        Ok(TimedBody { inner: body, end }.boxed())
    }
}

/// A request body that records when each frame went out and, unlike
/// `map_frame`, passes on its inner body's size hint (hyper derives
/// `Content-Length` from it).
struct TimedBody {
    inner: ReqBody,
    end: Arc<AtomicU64>,
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = crate::net::client::BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &polled {
            self.end.store(now_ms().to_bits(), Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
