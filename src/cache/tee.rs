//! A response body that also fills a cache entry: it passes every frame on,
//! keeps a copy (up to a size limit), and at the end of the body writes the
//! entry before it reports the end. So once a request has succeeded, the
//! next one finds the entry. A body that fails, is dropped early (abort,
//! timeout) or grows past the limit stores nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use http_body::{Body, Frame, SizeHint};
use tokio::task::JoinHandle;

use super::entry::Entry;
use super::store::Store;
use crate::net::client::{BodyError, RespBody};

enum State {
    /// Copying frames; the entry waits for its body.
    Collecting { copy: BytesMut, entry: Box<Entry> },
    /// The body ended; its entry is being written.
    Writing(JoinHandle<()>),
    /// Nothing (more) to store.
    Passing,
}

pub struct StoringBody {
    inner: RespBody,
    store: Arc<Store>,
    key: String,
    limit: u64,
    state: State,
}

impl StoringBody {
    pub fn new(inner: RespBody, store: Arc<Store>, key: String, entry: Entry) -> StoringBody {
        let limit = store.max_entry();
        StoringBody {
            inner,
            store,
            key,
            limit,
            state: State::Collecting {
                copy: BytesMut::new(),
                entry: Box::new(entry),
            },
        }
    }
}

impl Body for StoringBody {
    type Data = bytes::Bytes;
    type Error = BodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, BodyError>>> {
        let this = self.get_mut();
        if let State::Writing(handle) = &mut this.state {
            // The entry is written whether or not the join fails.
            let _ = ready!(Pin::new(handle).poll(cx));
            this.state = State::Passing;
            return Poll::Ready(None);
        }
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let (State::Collecting { copy, .. }, Some(data)) = (&mut this.state, frame.data_ref()) {
                    if (copy.len() + data.len()) as u64 > this.limit {
                        this.state = State::Passing;
                    } else {
                        copy.extend_from_slice(data);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => {
                this.state = State::Passing;
                Poll::Ready(Some(Err(e)))
            }
            None => match std::mem::replace(&mut this.state, State::Passing) {
                State::Collecting { copy, mut entry } => {
                    entry.body = copy.freeze();
                    let store = this.store.clone();
                    let key = std::mem::take(&mut this.key);
                    this.state = State::Writing(tokio::task::spawn_blocking(move || {
                        if let Err(e) = store.write(&key, &entry) {
                            log::warn!("cache: writing an entry failed: {e}");
                        }
                    }));
                    // Poll the write right away (registers the waker).
                    Pin::new(this).poll_frame(cx)
                }
                _ => Poll::Ready(None),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Passing) && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
