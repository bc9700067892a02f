//! Response decoding: content-encodings (gzip, deflate, br) as a stream, and
//! text conversion to UTF-8 from the `Content-Type` charset with BOM
//! stripping and GB18030 detection for undeclared non-UTF-8 bodies.

use std::io;

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZlibDecoder};
use bytes::Bytes;
use encoding_rs::{Encoding, GB18030, UTF_8};
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use http_body_util::BodyExt;
use tokio_util::io::StreamReader;

use crate::errors::{Errno, WxError};

type RawStream = BoxStream<'static, io::Result<Bytes>>;
type RawReader = StreamReader<RawStream, Bytes>;

/// At most this many bytes after the end of a compressed stream are read
/// (and ignored) to reach the end of the body.
const MAX_TRAILING_BYTES: usize = 64 * 1024;

/// The body as a stream of decoded bytes. Unknown encodings pass through.
///
/// - An empty body is empty whatever its `Content-Encoding` says (HEAD,
///   204, 304, `Content-Length: 0`): there is nothing to decode.
/// - Once the compressed stream ends, the body is still read to its end
///   (bytes after it are ignored, up to [`MAX_TRAILING_BYTES`]), so that
///   whoever watches the raw body (the HTTP cache) sees it complete, and
///   the connection can be reused.
pub fn decoded_stream(
    body: crate::net::client::RespBody,
    content_encoding: Option<&str>,
) -> BoxStream<'static, io::Result<Bytes>> {
    let raw: RawStream = body
        .into_data_stream()
        .map_err(|e| io::Error::other(e.to_string()))
        .boxed();
    let encoding = content_encoding.map(|e| e.trim().to_ascii_lowercase());
    let decoder: fn(RawStream) -> RawStream = match encoding.as_deref() {
        Some("gzip") | Some("x-gzip") => {
            |raw| decode_then_drain(GzipDecoder::new(StreamReader::new(raw)), GzipDecoder::into_inner)
        }
        Some("deflate") => |raw| decode_then_drain(ZlibDecoder::new(StreamReader::new(raw)), ZlibDecoder::into_inner),
        Some("br") => |raw| decode_then_drain(BrotliDecoder::new(StreamReader::new(raw)), BrotliDecoder::into_inner),
        _ => return raw,
    };
    futures_util::stream::once(async move {
        let mut raw = raw;
        loop {
            match raw.next().await {
                None => return futures_util::stream::empty().boxed(),
                Some(Ok(chunk)) if chunk.is_empty() => continue,
                Some(Ok(chunk)) => {
                    let whole = futures_util::stream::once(std::future::ready(Ok(chunk)))
                        .chain(raw)
                        .boxed();
                    return decoder(whole);
                }
                Some(Err(e)) => return futures_util::stream::once(std::future::ready(Err(e))).boxed(),
            }
        }
    })
    .flatten()
    .boxed()
}

/// Reads `decoder` to its end, then the raw body under it to its end.
fn decode_then_drain<D>(decoder: D, into_reader: fn(D) -> RawReader) -> RawStream
where
    D: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    enum State<D> {
        Decoding(D),
        Done,
    }
    futures_util::stream::unfold(
        (State::Decoding(decoder), into_reader),
        |(state, into_reader)| async move {
            let State::Decoding(mut decoder) = state else {
                return None;
            };
            let mut buf = bytes::BytesMut::with_capacity(16 * 1024);
            match tokio::io::AsyncReadExt::read_buf(&mut decoder, &mut buf).await {
                Ok(0) => {
                    let (mut raw, _rest) = into_reader(decoder).into_inner_with_chunk();
                    let mut trailing = 0;
                    while let Some(Ok(chunk)) = raw.next().await {
                        trailing += chunk.len();
                        if trailing > MAX_TRAILING_BYTES {
                            break;
                        }
                    }
                    None
                }
                Ok(_) => Some((Ok(buf.freeze()), (State::Decoding(decoder), into_reader))),
                Err(e) => Some((Err(e), (State::Done, into_reader))),
            }
        },
    )
    .boxed()
}

/// Reads a whole (decoded) body, failing once it passes `limit` bytes.
/// `announced` (Content-Length) sizes the buffer up front, up to 8 MiB, so a
/// server that lies about its length cannot make us reserve much.
pub async fn read_all(
    stream: &mut BoxStream<'static, io::Result<Bytes>>,
    limit: u64,
    announced: Option<u64>,
) -> Result<Bytes, WxError> {
    const MAX_RESERVE: u64 = 8 * 1024 * 1024;
    let reserve = announced.unwrap_or(0).min(limit).min(MAX_RESERVE) as usize;
    let mut collected = bytes::BytesMut::with_capacity(reserve);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(read_error)?;
        if (collected.len() + chunk.len()) as u64 > limit {
            return Err(WxError::network(format!("response data exceeds {limit} bytes")));
        }
        collected.extend_from_slice(&chunk);
    }
    Ok(collected.freeze())
}

/// A failure while reading a response body.
pub fn read_error(e: io::Error) -> WxError {
    WxError::network(format!("reading the response failed: {e}"))
}

/// The charset parameter of a Content-Type value, if any.
fn charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"'))
    })
}

/// The body as UTF-8 bytes (zero-copy when it already is UTF-8 without BOM).
pub fn to_utf8(body: Bytes, content_type: Option<&str>) -> Result<Bytes, WxError> {
    let fail = |why: String| WxError::new(Errno::ConvertUtf8, format!("response data convert to UTF8 fail: {why}"));
    let declared = content_type.and_then(charset);
    let encoding = match declared {
        Some(label) => {
            Some(Encoding::for_label(label.as_bytes()).ok_or_else(|| fail(format!("unknown charset {label:?}")))?)
        }
        None => None,
    };
    // A BOM wins over the label, as in browsers.
    if let Some((bom_enc, bom_len)) = Encoding::for_bom(&body) {
        return decode_strict(bom_enc, body.slice(bom_len..)).map_err(fail);
    }
    match encoding {
        Some(enc) if enc != UTF_8 => decode_strict(enc, body).map_err(fail),
        Some(_) => {
            std::str::from_utf8(&body).map_err(|e| fail(e.to_string()))?;
            Ok(body)
        }
        None if std::str::from_utf8(&body).is_ok() => Ok(body),
        None => decode_strict(GB18030, body).map_err(|_| fail("not UTF-8 and not GB18030".into())),
    }
}

fn decode_strict(enc: &'static Encoding, body: Bytes) -> Result<Bytes, String> {
    if enc == UTF_8 {
        std::str::from_utf8(&body).map_err(|e| e.to_string())?;
        return Ok(body);
    }
    enc.decode_without_bom_handling_and_without_replacement(&body)
        .map(|text| Bytes::from(text.into_owned()))
        .ok_or_else(|| format!("malformed {} data", enc.name()))
}

/// Whether the text parses as JSON (without building a tree).
pub fn is_json(text: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charsets_boms_and_detection() {
        let sample = "你好，世界";
        let (gbk, _, _) = encoding_rs::GBK.encode(sample);
        let gbk = Bytes::from(gbk.into_owned());
        assert_eq!(
            to_utf8(gbk.clone(), Some("text/plain; charset=GBK")).expect("gbk"),
            sample.as_bytes()
        );
        assert_eq!(
            to_utf8(gbk.clone(), Some("text/plain")).expect("detected"),
            sample.as_bytes()
        );
        assert_eq!(to_utf8(gbk, None).expect("detected"), sample.as_bytes());
        let bom = Bytes::from([&[0xEF, 0xBB, 0xBF][..], b"{\"a\":1}"].concat());
        assert_eq!(to_utf8(bom, Some("application/json")).expect("bom"), &b"{\"a\":1}"[..]);
        let utf16 = Bytes::from(vec![0xFF, 0xFE, b'h', 0, b'i', 0]);
        assert_eq!(to_utf8(utf16, None).expect("utf16 bom"), &b"hi"[..]);
        let bad = Bytes::from_static(&[0x80, 0xFF, 0xFE, 0x81]);
        assert_eq!(to_utf8(bad.clone(), None).expect_err("bad").errno, Errno::ConvertUtf8);
        assert!(to_utf8(bad, Some("text/plain; charset=utf-8")).is_err());
        assert!(to_utf8(Bytes::from_static(b"x"), Some("text/plain; charset=klingon")).is_err());
        assert_eq!(charset("text/html; Charset=\"utf-8\""), Some("utf-8"));
    }

    #[test]
    fn json_check() {
        assert!(is_json(b" {\"a\": [1, 2]} "));
        assert!(is_json(b"12"));
        assert!(!is_json(b"{a:1}"));
        assert!(!is_json(b""));
    }
}
