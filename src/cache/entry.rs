//! One cached response and its file format.
//!
//! ```text
//!  "WXC1" | meta length u32 LE | body length u64 LE | meta | body | SHA-256 of all before
//!  meta = url, status u16, response time (s u64, ns u32), protocol,
//!         request headers (those the response varies on), response headers
//!  strings and header lists: u32 LE length (or count) first
//! ```
//!
//! A file is accepted only if its magic, both lengths (against the file
//! size) and the checksum agree, so a torn write (crash, full disk, power
//! loss before the data reached the disk) reads as "no entry", never as a
//! wrong response.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

const MAGIC: &[u8; 4] = b"WXC1";
const DIGEST_LEN: usize = 32;

/// A stored response.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The request URL (without fragment): guards against key collisions.
    pub url: String,
    pub status: StatusCode,
    /// When the response (or its last revalidation) arrived.
    pub response_time: SystemTime,
    /// `profile.protocol` of the fetch that filled the entry.
    pub protocol: String,
    /// The request fields the response varies on.
    pub request_headers: HeaderMap,
    /// The response fields (without `Set-Cookie`).
    pub response_headers: HeaderMap,
    /// The body as received (still content-encoded).
    pub body: Bytes,
}

impl Entry {
    /// The file bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut meta = Vec::new();
        put_bytes(&mut meta, self.url.as_bytes());
        meta.extend_from_slice(&self.status.as_u16().to_le_bytes());
        let since = self
            .response_time
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        meta.extend_from_slice(&since.as_secs().to_le_bytes());
        meta.extend_from_slice(&since.subsec_nanos().to_le_bytes());
        put_bytes(&mut meta, self.protocol.as_bytes());
        put_headers(&mut meta, &self.request_headers);
        put_headers(&mut meta, &self.response_headers);

        let mut out = Vec::with_capacity(16 + meta.len() + self.body.len() + DIGEST_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.body.len() as u64).to_le_bytes());
        out.extend_from_slice(&meta);
        out.extend_from_slice(&self.body);
        let digest = ring::digest::digest(&ring::digest::SHA256, &out);
        out.extend_from_slice(digest.as_ref());
        out
    }

    /// Parses file bytes; `None` for anything incomplete or damaged.
    pub fn decode(file: Vec<u8>) -> Option<Entry> {
        let file = Bytes::from(file);
        let content_len = file.len().checked_sub(DIGEST_LEN)?;
        let (content, digest) = file.split_at(content_len);
        if ring::digest::digest(&ring::digest::SHA256, content).as_ref() != digest {
            return None;
        }
        let mut r = Reader(content);
        if r.take(4)? != MAGIC {
            return None;
        }
        let meta_len = u32::from_le_bytes(r.array()?) as usize;
        let body_len = usize::try_from(u64::from_le_bytes(r.array()?)).ok()?;
        if r.0.len() != meta_len.checked_add(body_len)? {
            return None;
        }
        let mut m = Reader(r.take(meta_len)?);
        let url = String::from_utf8(m.bytes()?.to_vec()).ok()?;
        let status = StatusCode::from_u16(u16::from_le_bytes(m.array()?)).ok()?;
        let secs = u64::from_le_bytes(m.array()?);
        let nanos = u32::from_le_bytes(m.array()?);
        // `Duration::new` carries nanoseconds into seconds and panics when that overflows.
        if nanos >= 1_000_000_000 {
            return None;
        }
        let response_time = SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))?;
        let protocol = String::from_utf8(m.bytes()?.to_vec()).ok()?;
        let request_headers = m.headers()?;
        let response_headers = m.headers()?;
        if !m.0.is_empty() {
            return None;
        }
        let body_start = 4 + 4 + 8 + meta_len;
        Some(Entry {
            url,
            status,
            response_time,
            protocol,
            request_headers,
            response_headers,
            body: file.slice(body_start..body_start + body_len),
        })
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

fn put_headers(out: &mut Vec<u8>, h: &HeaderMap) {
    out.extend_from_slice(&(h.len() as u32).to_le_bytes());
    for (name, value) in h {
        put_bytes(out, name.as_str().as_bytes());
        put_bytes(out, value.as_bytes());
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = u32::from_le_bytes(self.array()?) as usize;
        self.take(n)
    }

    fn headers(&mut self) -> Option<HeaderMap> {
        let count = u32::from_le_bytes(self.array()?) as usize;
        let mut map = HeaderMap::new();
        for _ in 0..count {
            let name = HeaderName::from_bytes(self.bytes()?).ok()?;
            let value = HeaderValue::from_bytes(self.bytes()?).ok()?;
            // A `HeaderMap` holds about 24,000 distinct names (`append` panics past that); no
            // response we store has that many.
            map.try_append(name, value).ok()?;
        }
        Some(map)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample(body: &'static [u8]) -> Entry {
        let mut res = HeaderMap::new();
        res.append("cache-control", HeaderValue::from_static("max-age=60"));
        res.append("link", HeaderValue::from_static("<a>"));
        res.append("link", HeaderValue::from_static("<b>"));
        res.append("x-bin", HeaderValue::from_bytes(b"\xff\xfe").expect("obs-text"));
        let mut req = HeaderMap::new();
        req.append("x-lang", HeaderValue::from_static("zh"));
        Entry {
            url: "https://a.test/x?y=1".into(),
            status: StatusCode::OK,
            response_time: SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 123),
            protocol: "h2".into(),
            request_headers: req,
            response_headers: res,
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn round_trip_and_every_damage_is_caught() {
        let e = sample(b"hello body");
        let bytes = e.encode();
        assert_eq!(Entry::decode(bytes.clone()), Some(e));
        for cut in 0..bytes.len() {
            assert_eq!(Entry::decode(bytes[..cut].to_vec()), None, "truncated at {cut}");
        }
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert_eq!(Entry::decode(bad), None, "bit flip at {i}");
        }
    }

    /// The checksum is no secret: anyone who can write the cache directory can make a file
    /// that passes it. Its content is still only parsed, never trusted to be sane.
    fn resealed(mut content: Vec<u8>) -> Vec<u8> {
        let digest = ring::digest::digest(&ring::digest::SHA256, &content);
        content.extend_from_slice(digest.as_ref());
        content
    }

    #[test]
    fn a_resealed_file_with_impossible_fields_reads_as_no_entry() {
        let mut e = sample(b"");
        e.url = "u".into();
        e.request_headers.clear();
        e.response_headers.clear();
        let mut content = e.encode();
        content.truncate(content.len() - DIGEST_LEN);
        assert!(Entry::decode(resealed(content.clone())).is_some());

        // Nanoseconds that would carry past the largest second (Duration::new panics).
        let secs_at = 16 + 4 + 1 + 2;
        let mut time = content.clone();
        time[secs_at..secs_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        time[secs_at + 8..secs_at + 12].copy_from_slice(&1_999_999_999u32.to_le_bytes());
        assert_eq!(Entry::decode(resealed(time)), None);

        // More fields than a HeaderMap holds (`append` panics past 32,768).
        let count = 32_769u32;
        let mut many = content.clone();
        let at = many.len() - 4;
        many[at..].copy_from_slice(&count.to_le_bytes());
        for i in 0..count {
            put_bytes(&mut many, format!("x{i}").as_bytes());
            put_bytes(&mut many, b"");
        }
        let meta_len = u32::try_from(many.len() - 16).expect("meta fits u32");
        many[4..8].copy_from_slice(&meta_len.to_le_bytes());
        assert!(Entry::decode(resealed(many)).is_none(), "32,769 distinct fields");
    }
}
