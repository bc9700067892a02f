//! `/gzip-bomb?mb=N`: a small gzip body that decodes to N MiB of zeros (default 1000, at most
//! 4096), for tests of a client's memory bounds. 1000 MiB take about 1 MB on the wire.
//!
//! Built without compressing N MiB: one MiB of zeros is deflated once (ending with a sync
//! flush, so the segment is byte-aligned, not final, and refers to nothing before it), the
//! segment is repeated N times, and the CRC-32 of N MiB of zeros is computed in GF(2) as zlib's
//! `crc32_combine` does.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{LazyLock, Mutex};

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};

use crate::body::{full, Body};
use crate::query::Query;
use crate::respond::typed;

const MIB: u64 = 1024 * 1024;
const MAX_MIB: u64 = 4096;

/// `/gzip-bomb`: `Content-Encoding: gzip`, application/octet-stream, Content-Length set.
pub(crate) fn handle(query: &Query) -> Result<Response<Body>, String> {
    let mib = query.number("mb")?.unwrap_or(1000);
    if !(1..=MAX_MIB).contains(&mib) {
        return Err(format!("mb must be 1..={MAX_MIB}"));
    }
    static BUILT: LazyLock<Mutex<HashMap<u64, Bytes>>> = LazyLock::new(Default::default);
    let body = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(mib)
        .or_insert_with(|| build(mib))
        .clone();
    let mut resp = typed(StatusCode::OK, "application/octet-stream", full(body));
    resp.headers_mut()
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    Ok(resp)
}

fn build(mib: u64) -> Bytes {
    let mut segment = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    segment.write_all(&vec![0u8; MIB as usize]).expect("write to a Vec");
    segment.flush().expect("sync flush to a Vec");
    let segment = segment.get_ref().clone();
    let total = mib * MIB;
    let mut out = Vec::with_capacity(segment.len() * mib as usize + 32);
    // gzip header: magic, deflate, no flags, no mtime, no extra flags, unknown OS.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    for _ in 0..mib {
        out.extend_from_slice(&segment);
    }
    // A final empty fixed-Huffman block: BFINAL=1, BTYPE=01, end-of-block code 0000000.
    out.extend_from_slice(&[0x03, 0x00]);
    out.extend_from_slice(&crc32_of_zeros(total).to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    Bytes::from(out)
}

/// CRC-32 (IEEE, as gzip uses it) of `len` zero bytes.
fn crc32_of_zeros(len: u64) -> u32 {
    // The register update for one zero bit is a linear map; square it up to len * 8 bits.
    let mut odd = [0u32; 32];
    odd[0] = 0xedb8_8320;
    let mut row = 1u32;
    for slot in odd.iter_mut().skip(1) {
        *slot = row;
        row <<= 1;
    }
    let mut even = square(&odd); // 2 zero bits
    odd = square(&even); // 4 zero bits
                         // Apply len zero bytes to the preset register 0xffffffff, then the final xor.
    let mut crc = 0xffff_ffffu32;
    let mut n = len;
    loop {
        even = square(&odd); // first pass: 8 bits = one byte
        if n & 1 == 1 {
            crc = times(&even, crc);
        }
        n >>= 1;
        if n == 0 {
            break;
        }
        odd = square(&even);
        if n & 1 == 1 {
            crc = times(&odd, crc);
        }
        n >>= 1;
        if n == 0 {
            break;
        }
    }
    crc ^ 0xffff_ffff
}

fn times(matrix: &[u32; 32], mut vec: u32) -> u32 {
    let mut sum = 0;
    let mut i = 0;
    while vec != 0 {
        if vec & 1 == 1 {
            sum ^= matrix[i];
        }
        vec >>= 1;
        i += 1;
    }
    sum
}

fn square(matrix: &[u32; 32]) -> [u32; 32] {
    let mut out = [0u32; 32];
    for (n, slot) in out.iter_mut().enumerate() {
        *slot = times(matrix, matrix[n]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn crc_of_zeros_matches_a_direct_computation() {
        for len in [0u64, 1, 2, 3, 1000, 65_536, 1_048_576] {
            let mut crc = flate2::Crc::new();
            crc.update(&vec![0u8; len as usize]);
            assert_eq!(crc32_of_zeros(len), crc.sum(), "{len}");
        }
    }

    #[test]
    fn the_bomb_decodes_to_zeros_of_the_announced_size() {
        let body = build(3);
        assert!(body.len() < 16 * 1024, "{} bytes", body.len());
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .expect("valid gzip");
        assert_eq!(out.len() as u64, 3 * MIB);
        assert!(out.iter().all(|b| *b == 0));
    }
}
