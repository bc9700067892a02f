//! The request body of an exchange, in a form that can be produced again
//! for each redirect hop (307/308 resend it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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

    /// A fresh body that records when its last bytes went out.
    pub(crate) fn make(&self, end: Arc<AtomicU64>) -> Result<ReqBody, WxError> {
        let body = match self {
            BodySource::Bytes(bytes) => Full::new(bytes.clone()).map_err(|never| match never {}).boxed(),
            BodySource::Multipart(m) => m.body()?,
        };
        Ok(body
            .map_frame(move |frame| {
                end.store(now_ms().to_bits(), Ordering::Relaxed);
                frame
            })
            .boxed())
    }
}
