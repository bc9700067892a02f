//! The multipart/form-data body of an upload: form fields, then one file
//! part streamed from disk (never read whole), with an exact Content-Length.
//! The file is the handle opened when the upload was checked; each hop reads
//! it from its start with positional reads (a hop that is dropped late never
//! moves another hop's position).

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{stream, StreamExt, TryStreamExt};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{Map, Value};

use crate::errors::WxError;
use crate::net::client::ReqBody;
use crate::options::js_string;

const READ_CHUNK: usize = 256 * 1024;

/// Called with the bytes handed to the connection so far.
pub type OnSent = Arc<dyn Fn(u64) + Send + Sync>;

/// A body description; each hop (redirect 307/308) streams it anew.
pub struct Multipart {
    boundary: String,
    head: Bytes,
    tail: Bytes,
    file: Arc<std::fs::File>,
    file_len: u64,
    on_sent: OnSent,
}

/// Quotes a name for a Content-Disposition parameter as browsers do
/// (HTML's form encoding): `"` -> `%22`, CR -> `%0D`, LF -> `%0A`.
fn quote(name: &str) -> String {
    name.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

impl Multipart {
    pub fn new(
        field: &str,
        file: std::fs::File,
        file_len: u64,
        filename: &str,
        content_type: &str,
        form: Option<&Map<String, Value>>,
        on_sent: OnSent,
    ) -> Multipart {
        let boundary = format!("----wxnetFormBoundary{}", crate::sandbox::random_hex(12));
        let mut head = String::new();
        for (k, v) in form.into_iter().flatten() {
            head.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{}\r\n",
                quote(k),
                js_string(v)
            ));
        }
        head.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {content_type}\r\n\r\n",
            quote(field),
            quote(filename)
        ));
        let tail = format!("\r\n--{boundary}--\r\n");
        Multipart {
            boundary,
            head: Bytes::from(head),
            tail: Bytes::from(tail),
            file: Arc::new(file),
            file_len,
            on_sent,
        }
    }

    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    pub fn content_length(&self) -> u64 {
        self.head.len() as u64 + self.file_len + self.tail.len() as u64
    }

    /// A fresh streaming body: the file from its first byte.
    pub fn body(&self) -> Result<ReqBody, WxError> {
        let file = stream::try_unfold((self.file.clone(), 0u64), |(file, offset)| async move {
            let (file, chunk) = tokio::task::spawn_blocking(move || {
                let chunk = read_at(&file, offset, READ_CHUNK);
                (file, chunk)
            })
            .await
            .map_err(std::io::Error::other)?;
            let chunk = chunk?;
            if chunk.is_empty() {
                return Ok(None);
            }
            let next = offset + chunk.len() as u64;
            Ok::<_, std::io::Error>(Some((chunk, (file, next))))
        });
        let expected = self.file_len;
        let mut read = 0u64;
        let file = file.map(move |chunk| {
            let chunk = chunk?;
            read += chunk.len() as u64;
            if read > expected {
                return Err(std::io::Error::other("the file grew while it was being uploaded"));
            }
            Ok(chunk)
        });
        let head = stream::once(std::future::ready(Ok(self.head.clone())));
        let tail = stream::once(std::future::ready(Ok(self.tail.clone())));
        let parts = head.chain(file).chain(tail);
        let on_sent = self.on_sent.clone();
        let mut sent = 0u64;
        let counted = parts.map_ok(move |chunk| {
            sent += chunk.len() as u64;
            on_sent(sent);
            Frame::data(chunk)
        });
        Ok(BodyExt::boxed(StreamBody::new(
            counted.map_err(|e| Box::new(e) as crate::net::client::BodyError),
        )))
    }
}

/// Up to `len` bytes of `file` from `offset` (fewer at its end, none past it).
fn read_at(file: &std::fs::File, offset: u64, len: usize) -> std::io::Result<Bytes> {
    let mut buf = vec![0; len];
    #[cfg(unix)]
    let n = std::os::unix::fs::FileExt::read_at(file, &mut buf, offset)?;
    #[cfg(windows)]
    let n = std::os::windows::fs::FileExt::seek_read(file, &mut buf, offset)?;
    buf.truncate(n);
    Ok(Bytes::from(buf))
}
