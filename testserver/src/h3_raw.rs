//! A hand-written HTTP/3 server on quinn, for what a well-behaved stack would refuse to send
//! ([`crate::ServerOptions::h3_raw`]): its own control stream (type 0x00, an empty SETTINGS
//! frame), and one fixed answer ([`RawH3`]) to every request, framed and QPACK-encoded here
//! (static table and literals only, no dynamic table).
//!
//! It counts the response bytes the client's flow control let it write and records how each
//! answer ended ([`RawH3Stats`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What the raw HTTP/3 listener answers every request with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawH3 {
    /// A HEADERS frame header announcing `n` payload bytes, then junk until `n` bytes were
    /// written or the client stopped the stream.
    AnnouncedHeaders(u64),
    /// `:status 200` and one field `x-big` sized so that the header section, counted as
    /// HTTP/3 counts it (name + value + 32 per field, `:status` included), is `n` bytes;
    /// then the body `ok`.
    Headers(usize),
    /// A small header section (`:status 200`), then `n` bytes of empty DATA frames (`00 00`,
    /// which carry nothing) until `n` were written or the client stopped the stream.
    EmptyDataFrames(u64),
    /// A small header section, then the body `abcd` as DATA `ab`, an empty DATA frame, a
    /// reserved (grease) frame type 0x21 of 3 bytes, and DATA `cd`.
    BodyWithEmptyFrames,
    /// On the control stream, a SETTINGS frame header announcing `n` bytes and then junk
    /// until `n` were written or the client stopped the stream; requests get no answer.
    HugeSettings(u64),
    /// A small header section, then a body of `total` bytes (byte `i` is `i % 251`, see
    /// [`raw_body_byte`]) in DATA frames of `frame` bytes.
    BodyFrames { frame: usize, total: usize },
}

/// Byte `i` of the body of [`RawH3::BodyFrames`].
pub fn raw_body_byte(i: usize) -> u8 {
    (i % 251) as u8
}

/// What the raw listener saw, for tests.
#[derive(Debug, Default)]
pub struct RawH3Stats {
    written: AtomicU64,
    /// 0 while no answer ended; the STOP_SENDING code + 1 when the client stopped one;
    /// [`WRITTEN`] or [`LOST`] otherwise.
    ended: AtomicU64,
}

const WRITTEN: u64 = u64::MAX;
const LOST: u64 = u64::MAX - 1;

/// How an answer (or the control stream of [`RawH3::HugeSettings`]) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawH3End {
    /// The client sent STOP_SENDING with this code.
    Stopped(u64),
    /// Everything was written.
    Written,
    /// The connection was closed (or another write error).
    Lost,
}

impl RawH3Stats {
    /// Response bytes (frames included) written so far, over all answers.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    /// How the last answer ended (`None` while none did).
    pub fn ended(&self) -> Option<RawH3End> {
        match self.ended.load(Ordering::SeqCst) {
            0 => None,
            WRITTEN => Some(RawH3End::Written),
            LOST => Some(RawH3End::Lost),
            code => Some(RawH3End::Stopped(code - 1)),
        }
    }
}

/// Accepts QUIC connections until the runtime stops.
pub(crate) async fn accept_loop(endpoint: quinn::Endpoint, mode: RawH3, stats: Arc<RawH3Stats>) {
    while let Some(incoming) = endpoint.accept().await {
        tokio::spawn(serve_connection(incoming, mode.clone(), stats.clone()));
    }
}

async fn serve_connection(incoming: quinn::Incoming, mode: RawH3, stats: Arc<RawH3Stats>) {
    let Ok(conn) = incoming.await else {
        return;
    };
    let Ok(mut control) = conn.open_uni().await else {
        return;
    };
    if let RawH3::HugeSettings(n) = mode {
        // Stream type 0x00 (control), then SETTINGS (0x04) announcing `n` bytes.
        let mut head = vec![0x00, 0x04];
        varint(&mut head, n);
        let outcome = match write(&mut control, &head, &stats).await {
            Ok(()) => fill(&mut control, n, 0x5a, &stats).await,
            Err(e) => Err(e),
        };
        stats.ended.store(ended_code(outcome), Ordering::SeqCst);
        // Until the client closes the connection.
        let _ = conn.closed().await;
        return;
    }
    // Stream type 0x00 (control), SETTINGS (0x04) with no parameters.
    if control.write_all(&[0x00, 0x04, 0x00]).await.is_err() {
        return;
    }
    // `control` lives as long as the connection: closing it is a connection error.
    while let Ok((send, recv)) = conn.accept_bi().await {
        tokio::spawn(answer(send, recv, mode.clone(), stats.clone()));
    }
    drop(control);
}

async fn answer(mut send: quinn::SendStream, mut recv: quinn::RecvStream, mode: RawH3, stats: Arc<RawH3Stats>) {
    // The request (its head, QPACK-encoded) is not decoded: every request gets the same answer.
    if recv.read_to_end(1 << 20).await.is_err() {
        return;
    }
    let outcome = match mode {
        RawH3::AnnouncedHeaders(n) => {
            let mut head = vec![0x01];
            varint(&mut head, n);
            match write(&mut send, &head, &stats).await {
                Ok(()) => fill(&mut send, n, 0x5a, &stats).await,
                Err(e) => Err(e),
            }
        }
        RawH3::Headers(n) => {
            let mut out = vec![0x01];
            let section = header_section(n);
            varint(&mut out, section.len() as u64);
            out.extend_from_slice(&section);
            out.extend_from_slice(&[0x00, 0x02, b'o', b'k']);
            write(&mut send, &out, &stats).await
        }
        RawH3::BodyWithEmptyFrames => {
            let section = header_section(100);
            let mut out = vec![0x01];
            varint(&mut out, section.len() as u64);
            out.extend_from_slice(&section);
            out.extend_from_slice(&[
                0x00, 0x02, b'a', b'b', 0x00, 0x00, 0x21, 0x03, 1, 2, 3, 0x00, 0x02, b'c', b'd',
            ]);
            write(&mut send, &out, &stats).await
        }
        RawH3::HugeSettings(_) => return,
        RawH3::BodyFrames { frame, total } => body_frames(&mut send, frame, total, &stats).await,
        RawH3::EmptyDataFrames(n) => {
            let section = header_section(100);
            let mut head = vec![0x01];
            varint(&mut head, section.len() as u64);
            head.extend_from_slice(&section);
            match write(&mut send, &head, &stats).await {
                Ok(()) => fill(&mut send, n, 0x00, &stats).await,
                Err(e) => Err(e),
            }
        }
    };
    if outcome.is_ok() {
        let _ = send.finish();
    }
    stats.ended.store(ended_code(outcome), Ordering::SeqCst);
    // Wait until the client has everything (or is gone) before the stream is dropped.
    let _ = send.stopped().await;
}

async fn body_frames(
    send: &mut quinn::SendStream,
    frame: usize,
    total: usize,
    stats: &RawH3Stats,
) -> Result<(), quinn::WriteError> {
    let section = header_section(100);
    let mut out = vec![0x01];
    varint(&mut out, section.len() as u64);
    out.extend_from_slice(&section);
    let mut sent = 0;
    while sent < total {
        // About 64 KiB of frames per write.
        while sent < total && out.len() < 64 * 1024 {
            let len = frame.min(total - sent);
            out.push(0x00);
            varint(&mut out, len as u64);
            out.extend((sent..sent + len).map(raw_body_byte));
            sent += len;
        }
        write(send, &out, stats).await?;
        out.clear();
    }
    write(send, &out, stats).await
}

/// How an answer ended, as [`RawH3Stats::ended`] stores it.
fn ended_code(outcome: Result<(), quinn::WriteError>) -> u64 {
    match outcome {
        Ok(()) => WRITTEN,
        Err(quinn::WriteError::Stopped(code)) => code.into_inner() + 1,
        Err(_) => LOST,
    }
}

/// Writes `n` bytes of `byte`.
async fn fill(send: &mut quinn::SendStream, n: u64, byte: u8, stats: &RawH3Stats) -> Result<(), quinn::WriteError> {
    let block = vec![byte; 64 * 1024];
    let mut left = n;
    while left > 0 {
        let len = left.min(block.len() as u64) as usize;
        write(send, &block[..len], stats).await?;
        left -= len as u64;
    }
    Ok(())
}

/// Writes `bytes`, counting each part quinn accepted (flow control permitting).
async fn write(send: &mut quinn::SendStream, mut bytes: &[u8], stats: &RawH3Stats) -> Result<(), quinn::WriteError> {
    while !bytes.is_empty() {
        let n = send.write(bytes).await?;
        stats.written.fetch_add(n as u64, Ordering::SeqCst);
        bytes = &bytes[n..];
    }
    Ok(())
}

/// A QPACK field section (RFC 9204): `:status 200` from the static table, then `x-big` as a
/// literal name and value, sized so the section counts `size` bytes (see [`RawH3::Headers`]).
fn header_section(size: usize) -> Vec<u8> {
    const NAME: &[u8] = b"x-big";
    let status = ":status".len() + "200".len() + 32;
    let value_len = size - status - NAME.len() - 32;
    // Required Insert Count 0, Delta Base 0.
    let mut out = vec![0x00, 0x00];
    // Indexed field line, static table (T = 1), index 25 = `:status: 200`.
    out.push(0xc0 | 25);
    // Literal field line with literal name: 001 N H + 3-bit name length.
    prefix_int(&mut out, 0x20, 3, NAME.len());
    out.extend_from_slice(NAME);
    // Value: H = 0 + 7-bit length.
    prefix_int(&mut out, 0x00, 7, value_len);
    out.resize(out.len() + value_len, b'v');
    out
}

/// QPACK/HPACK prefixed integer (RFC 7541 5.1).
fn prefix_int(out: &mut Vec<u8>, flags: u8, prefix_bits: u32, value: usize) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// QUIC variable-length integer (RFC 9000 16).
fn varint(out: &mut Vec<u8>, v: u64) {
    if v < 1 << 6 {
        out.push(v as u8);
    } else if v < 1 << 14 {
        out.extend_from_slice(&(v as u16 | 0x4000).to_be_bytes());
    } else if v < 1 << 30 {
        out.extend_from_slice(&(v as u32 | 0x8000_0000).to_be_bytes());
    } else {
        out.extend_from_slice(&(v | 0xc000_0000_0000_0000).to_be_bytes());
    }
}
