//! Fixed sample bodies: charsets, compressed JSON, invalid UTF-8, and the extension table.

use std::io::Write;
use std::sync::OnceLock;

use bytes::Bytes;
use encoding_rs::{Encoding, REPLACEMENT, UTF_16BE, UTF_16LE};

/// The text that `/charset/{label}` encodes.
pub const CHARSET_SAMPLE: &str = "你好，世界 wxnet";

/// The `/invalid-utf8` body: not valid UTF-8 (0xFF can never appear) nor GB18030 (0xFF is
/// no lead byte there, and 0x81 at the end is a lead byte without its trail).
pub const INVALID_UTF8_BODY: &[u8] = b"invalid: \x80\xff\xfe\x81";

/// The sentence repeated in the compressed samples.
const SENTENCE: &str = "The quick brown fox jumps over the lazy dog, and wxnet inflates it again. ";

/// The uncompressed JSON document behind `/gzip`, `/deflate` and `/br` (`encoding` is
/// `gzip`, `deflate` or `br`): `{"compressed":"<encoding>","text":"<about 4 KB>"}`.
pub fn compressed_sample_json(encoding: &str) -> String {
    serde_json::json!({
        "compressed": encoding,
        "text": SENTENCE.repeat(4096 / SENTENCE.len() + 1),
    })
    .to_string()
}

/// The compressed body for `encoding` (`gzip`, `deflate` = zlib wrapper, `br`), computed
/// once per process.
pub(crate) fn compressed(encoding: &str) -> Option<Bytes> {
    static GZIP: OnceLock<Bytes> = OnceLock::new();
    static DEFLATE: OnceLock<Bytes> = OnceLock::new();
    static BR: OnceLock<Bytes> = OnceLock::new();
    type Compress = fn(&[u8]) -> Vec<u8>;
    let (cell, compress): (&OnceLock<Bytes>, Compress) = match encoding {
        "gzip" => (&GZIP, |d| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(d).expect("writing to a Vec cannot fail");
            enc.finish().expect("writing to a Vec cannot fail")
        }),
        "deflate" => (&DEFLATE, |d| {
            let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(d).expect("writing to a Vec cannot fail");
            enc.finish().expect("writing to a Vec cannot fail")
        }),
        "br" => (&BR, |d| {
            let mut enc = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
            enc.write_all(d).expect("writing to a Vec cannot fail");
            enc.into_inner()
        }),
        _ => return None,
    };
    Some(
        cell.get_or_init(|| compress(compressed_sample_json(encoding).as_bytes()).into())
            .clone(),
    )
}

/// [`CHARSET_SAMPLE`] encoded in the encoding `label` names (WHATWG labels, any case), and
/// whether some characters were unmappable (then written as `&#NNNN;`, as encoding_rs
/// does). `None` for an unknown label or one that cannot encode (`replacement`).
///
/// UTF-16LE/BE are encoded here, without a BOM: encoding_rs only decodes them.
pub fn encode_charset_sample(label: &str) -> Option<(Vec<u8>, bool)> {
    let encoding = Encoding::for_label(label.trim().as_bytes())?;
    let utf16 = |to_bytes: fn(u16) -> [u8; 2]| {
        let bytes = CHARSET_SAMPLE.encode_utf16().flat_map(to_bytes).collect();
        Some((bytes, false))
    };
    if encoding == UTF_16LE {
        utf16(u16::to_le_bytes)
    } else if encoding == UTF_16BE {
        utf16(u16::to_be_bytes)
    } else if encoding == REPLACEMENT {
        None
    } else {
        let (bytes, _, had_errors) = encoding.encode(CHARSET_SAMPLE);
        Some((bytes.into_owned(), had_errors))
    }
}

/// The content type `/bytes?ext=` announces for a file extension (with or without the dot).
pub(crate) fn mime_for_ext(ext: &str) -> &'static str {
    match ext.trim_start_matches('.').to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "txt" => "text/plain",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "js" => "text/javascript",
        "css" => "text/css",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{GB18030, GBK, UTF_8};
    use std::io::Read;

    #[test]
    fn invalid_utf8_is_invalid_in_utf8_and_gb18030() {
        for enc in [UTF_8, GB18030, GBK] {
            assert!(
                enc.decode_without_bom_handling_and_without_replacement(INVALID_UTF8_BODY)
                    .is_none(),
                "{} decoded it",
                enc.name()
            );
        }
    }

    #[test]
    fn charsets_round_trip() {
        for label in ["utf-8", "gbk", "gb18030", "big5", "UTF-16LE", "utf-16be"] {
            let (bytes, lossy) = encode_charset_sample(label).expect(label);
            assert!(!lossy, "{label}");
            let enc = Encoding::for_label(label.as_bytes()).expect(label);
            let text = enc
                .decode_without_bom_handling_and_without_replacement(&bytes)
                .expect(label);
            assert_eq!(text, CHARSET_SAMPLE, "{label}");
        }
        // 你 is not in JIS X 0208: written as a numeric character reference.
        let (sjis, lossy) = encode_charset_sample("shift_jis").expect("shift_jis");
        assert!(lossy && sjis.starts_with(b"&#20320;"));
        assert!(encode_charset_sample("no-such-charset").is_none());
        assert!(encode_charset_sample("iso-2022-kr").is_none());
    }

    #[test]
    fn compressed_bodies_decode() {
        let mut out = String::new();
        let gz = compressed("gzip").expect("gzip");
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut out)
            .expect("gunzip");
        assert_eq!(out, compressed_sample_json("gzip"));
        out.clear();
        let z = compressed("deflate").expect("deflate");
        flate2::read::ZlibDecoder::new(&z[..])
            .read_to_string(&mut out)
            .expect("inflate");
        assert_eq!(out, compressed_sample_json("deflate"));
        out.clear();
        let br = compressed("br").expect("br");
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_string(&mut out)
            .expect("unbrotli");
        assert_eq!(out, compressed_sample_json("br"));
        assert!(out.len() > 4096 && br.len() < 1024);
    }
}
