//! Bounds on what h3 may buffer from a server: the QUIC streams handed to h3
//! are wrapped so that a stream's receive side fails (and is stopped) before
//! h3 holds more than a bounded number of bytes of it.
//!
//! Why: h3 0.0.8 (`FrameDecoder::decode`) keeps reading a stream into its
//! buffer until a whole non-DATA frame (HEADERS, SETTINGS, an unknown or
//! reserved type) has arrived, and quinn re-opens flow control as h3 reads.
//! `max_field_section_size` is checked only once the frame is complete, so a
//! server announcing a 1 GB HEADERS frame and streaming junk would make the
//! client buffer without limit. Neither h3 nor quinn offers a frame-size
//! limit (quinn's stream window bounds only what h3 has not read yet), so the
//! frame lengths are checked here, as the bytes pass, before h3 sees them.
//!
//! Request streams ([`GuardedBidi`]): every byte is classified by a small
//! frame scanner, which drops what h3 would only skip (empty DATA frames,
//! which h3 0.0.8 even takes for the end of the body, and unknown or reserved
//! frame types); the stream fails when
//! - a non-DATA frame announces more than [`MAX_FRAME_BYTES`] (a HEADERS or
//!   PUSH_PROMISE frame: the response head is too large, errno and text as on
//!   HTTP/1.1 and HTTP/2), or
//! - the bytes that are not body (frame headers, HEADERS, dropped frames)
//!   exceed [`NON_BODY_BUDGET`] plus 1/8 of the body bytes: h3 reads one more
//!   chunk per frame it decodes, so a flood of tiny frames would pile up in
//!   its buffer, and one of dropped frames would keep a request busy for
//!   nothing until its timeout.
//!
//! And it stops handing h3 more bytes (backpressure, not failure) while h3
//! holds [`MAX_READ_AHEAD`] body bytes our body reader has not taken yet
//! (the count comes from [`StreamGuard::delivered`]): h3 reads ahead one chunk
//! at every frame boundary when the network is faster than the host.
//!
//! Unidirectional streams ([`GuardedRecv`] from the server): control, QPACK
//! and unknown types. h3 reads the control stream for the connection's whole
//! life and only the type of the others (they are then parked or stopped);
//! a server sends a SETTINGS frame of tens of bytes, perhaps a GOAWAY and a
//! few reserved (grease) frames. [`MAX_UNI_STREAM_BYTES`] (64 KiB) over the
//! stream's lifetime is far above that; past it the stream fails, and h3
//! closes the connection (a control stream error is a connection error).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes};
use h3::error::Code;
use h3::quic::{self, ConnectionErrorIncoming, RecvStream as _, StreamErrorIncoming, StreamId, WriteBuf};

use super::limits::MAX_RESPONSE_HEADER_BYTES;

/// The largest non-DATA frame accepted on a request stream: the header
/// section limit plus 64 KiB. The limit counts each field as name + value +
/// 32 bytes, while QPACK encodes it in name + value + a few bytes of prefix
/// (less with Huffman or the static table), so a section within the limit
/// always fits; the margin only keeps this check clear of that count. A
/// section over the limit whose frame is below this is refused by h3's own
/// check once decoded (the same FAIL).
pub(crate) const MAX_FRAME_BYTES: u64 = MAX_RESPONSE_HEADER_BYTES as u64 + 64 * 1024;
/// Non-body bytes a request stream may carry besides 1/8 of its body bytes:
/// room for an informational head, the response head and trailers at the
/// largest size (3 × [`MAX_FRAME_BYTES`]). A DATA frame header costs 2 to 16
/// bytes, so a server's framing stays under 1/8 of its body unless it sends
/// DATA frames of fewer than about 100 bytes.
const NON_BODY_BUDGET: u64 = 3 * MAX_FRAME_BYTES;
/// Body bytes h3 may hold that our body reader has not taken: past this the
/// stream is not read until the reader catches up (quinn's flow control then
/// slows the server).
pub(crate) const MAX_READ_AHEAD: u64 = 256 * 1024;
/// Lifetime bytes of a server's unidirectional stream (see the module doc).
pub(crate) const MAX_UNI_STREAM_BYTES: u64 = 64 * 1024;

const FRAME_DATA: u64 = 0x0;
const FRAME_HEADERS: u64 = 0x1;
const FRAME_PUSH_PROMISE: u64 = 0x5;
/// Frame types h3 acts on (RFC 9114 7.2 and the HTTP/2 types it reserves, 11.2.1):
/// passed to it, so that it refuses those not allowed on a request stream.
const KNOWN_FRAMES: &[u64] = &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0x8, 0x9, 0xd];
/// WebTransport's bidirectional stream signal: not a length-prefixed frame.
const FRAME_WEBTRANSPORT_BIDI: u64 = 0x41;

/// Why a guarded stream failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Violation {
    /// A HEADERS or PUSH_PROMISE frame over [`MAX_FRAME_BYTES`].
    HeadTooLarge,
    /// Anything else: the text says what.
    Other(String),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::HeadTooLarge => write!(f, "response header section exceeds {MAX_RESPONSE_HEADER_BYTES} bytes"),
            Violation::Other(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Violation {}

/// What a request stream's guard shares with the body reader.
#[derive(Default)]
pub(crate) struct StreamGuard {
    /// Body bytes h3 handed to our code (updated by the body reader).
    delivered: AtomicU64,
    /// The guard's wait for the reader (backpressure).
    waker: Mutex<Option<Waker>>,
    violation: Mutex<Option<Violation>>,
}

impl StreamGuard {
    /// The body reader took `n` more bytes from h3.
    pub(crate) fn delivered(&self, n: usize) {
        self.delivered.fetch_add(n as u64, Ordering::AcqRel);
        if let Some(waker) = self.waker.lock().expect("h3 guard waker lock poisoned").take() {
            waker.wake();
        }
    }

    /// Why the stream failed, if the guard failed it.
    pub(crate) fn violation(&self) -> Option<Violation> {
        self.violation.lock().expect("h3 guard lock poisoned").clone()
    }
}

/// Request streams opened on one connection whose guard the request has not
/// claimed yet, by stream id.
#[derive(Default, Clone)]
pub(crate) struct Guards(Arc<Mutex<HashMap<StreamId, Arc<StreamGuard>>>>);

impl Guards {
    fn register(&self, id: StreamId) -> Arc<StreamGuard> {
        let guard = Arc::new(StreamGuard::default());
        let mut map = self.0.lock().expect("h3 guards lock poisoned");
        // Streams whose request never claimed its guard (h3 failed after
        // opening) and that are gone: only this map still holds them.
        map.retain(|_, g| Arc::strong_count(g) > 1);
        map.insert(id, guard.clone());
        guard
    }

    /// The guard of the request stream `id` (once).
    pub(crate) fn claim(&self, id: StreamId) -> Option<Arc<StreamGuard>> {
        self.0.lock().expect("h3 guards lock poisoned").remove(&id)
    }
}

/// h3-quinn's connection, with guarded receive sides.
pub(crate) struct GuardedConnection {
    inner: h3_quinn::Connection,
    guards: Guards,
}

impl GuardedConnection {
    pub(crate) fn new(conn: quinn::Connection, guards: Guards) -> Self {
        GuardedConnection {
            inner: h3_quinn::Connection::new(conn),
            guards,
        }
    }
}

impl<B: Buf> quic::Connection<B> for GuardedConnection {
    type RecvStream = GuardedRecv;
    type OpenStreams = GuardedOpener;

    fn poll_accept_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Self::RecvStream, ConnectionErrorIncoming>> {
        let inner = <h3_quinn::Connection as quic::Connection<B>>::poll_accept_recv(&mut self.inner, cx);
        inner.map_ok(GuardedRecv::new)
    }

    fn poll_accept_bidi(&mut self, cx: &mut Context<'_>) -> Poll<Result<Self::BidiStream, ConnectionErrorIncoming>> {
        // A server may not open bidirectional streams in HTTP/3 (h3 refuses
        // them); guarded all the same.
        let inner = <h3_quinn::Connection as quic::Connection<B>>::poll_accept_bidi(&mut self.inner, cx);
        inner.map_ok(|s| GuardedBidi::new(s, Arc::new(StreamGuard::default())))
    }

    fn opener(&self) -> Self::OpenStreams {
        GuardedOpener {
            inner: <h3_quinn::Connection as quic::Connection<B>>::opener(&self.inner),
            guards: self.guards.clone(),
        }
    }
}

impl<B: Buf> quic::OpenStreams<B> for GuardedConnection {
    type BidiStream = GuardedBidi<B>;
    type SendStream = h3_quinn::SendStream<B>;

    fn poll_open_bidi(&mut self, cx: &mut Context<'_>) -> Poll<Result<Self::BidiStream, StreamErrorIncoming>> {
        open_guarded_bidi(&mut self.inner, &self.guards, cx)
    }

    fn poll_open_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<Self::SendStream, StreamErrorIncoming>> {
        quic::OpenStreams::<B>::poll_open_send(&mut self.inner, cx)
    }

    fn close(&mut self, code: Code, reason: &[u8]) {
        quic::OpenStreams::<B>::close(&mut self.inner, code, reason)
    }
}

/// Opens a request stream on `inner` (the connection or its opener) and
/// registers the stream's guard.
fn open_guarded_bidi<B: Buf, O>(
    inner: &mut O,
    guards: &Guards,
    cx: &mut Context<'_>,
) -> Poll<Result<GuardedBidi<B>, StreamErrorIncoming>>
where
    O: quic::OpenStreams<B, BidiStream = h3_quinn::BidiStream<B>>,
{
    inner.poll_open_bidi(cx).map_ok(|s| {
        let id = quic::RecvStream::recv_id(&s);
        GuardedBidi::new(s, guards.register(id))
    })
}

/// h3-quinn's stream opener, with guarded request streams.
#[derive(Clone)]
pub(crate) struct GuardedOpener {
    inner: h3_quinn::OpenStreams,
    guards: Guards,
}

impl<B: Buf> quic::OpenStreams<B> for GuardedOpener {
    type BidiStream = GuardedBidi<B>;
    type SendStream = h3_quinn::SendStream<B>;

    fn poll_open_bidi(&mut self, cx: &mut Context<'_>) -> Poll<Result<Self::BidiStream, StreamErrorIncoming>> {
        open_guarded_bidi(&mut self.inner, &self.guards, cx)
    }

    fn poll_open_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<Self::SendStream, StreamErrorIncoming>> {
        quic::OpenStreams::<B>::poll_open_send(&mut self.inner, cx)
    }

    fn close(&mut self, code: Code, reason: &[u8]) {
        quic::OpenStreams::<B>::close(&mut self.inner, code, reason)
    }
}

/// A request stream: h3-quinn's send half, a guarded receive half.
pub(crate) struct GuardedBidi<B: Buf> {
    send: h3_quinn::SendStream<B>,
    recv: GuardedRecv,
}

impl<B: Buf> GuardedBidi<B> {
    fn new(stream: h3_quinn::BidiStream<B>, guard: Arc<StreamGuard>) -> Self {
        let (send, recv) = quic::BidiStream::split(stream);
        GuardedBidi {
            send,
            recv: GuardedRecv {
                inner: recv,
                rule: Rule::Request(RequestScan::new(guard)),
                failed: None,
            },
        }
    }
}

impl<B: Buf> quic::BidiStream<B> for GuardedBidi<B> {
    type SendStream = h3_quinn::SendStream<B>;
    type RecvStream = GuardedRecv;

    fn split(self) -> (Self::SendStream, Self::RecvStream) {
        (self.send, self.recv)
    }
}

impl<B: Buf> quic::SendStream<B> for GuardedBidi<B> {
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), StreamErrorIncoming>> {
        self.send.poll_ready(cx)
    }

    fn send_data<T: Into<WriteBuf<B>>>(&mut self, data: T) -> Result<(), StreamErrorIncoming> {
        self.send.send_data(data)
    }

    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), StreamErrorIncoming>> {
        self.send.poll_finish(cx)
    }

    fn reset(&mut self, reset_code: u64) {
        self.send.reset(reset_code)
    }

    fn send_id(&self) -> StreamId {
        self.send.send_id()
    }
}

impl<B: Buf> quic::RecvStream for GuardedBidi<B> {
    type Buf = Bytes;

    fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, StreamErrorIncoming>> {
        self.recv.poll_data(cx)
    }

    fn stop_sending(&mut self, error_code: u64) {
        self.recv.stop_sending(error_code)
    }

    fn recv_id(&self) -> StreamId {
        self.recv.recv_id()
    }
}

/// h3-quinn's receive stream, checked as its bytes pass.
pub(crate) struct GuardedRecv {
    inner: h3_quinn::RecvStream,
    rule: Rule,
    failed: Option<Violation>,
}

enum Rule {
    Request(RequestScan),
    /// Bytes so far on a unidirectional stream.
    Uni(u64),
}

impl GuardedRecv {
    fn new(inner: h3_quinn::RecvStream) -> Self {
        GuardedRecv {
            inner,
            rule: Rule::Uni(0),
            failed: None,
        }
    }

    fn fail(&mut self, violation: Violation) -> StreamErrorIncoming {
        // A read just completed, so h3-quinn holds the QUIC stream: STOP_SENDING.
        let code = match violation {
            Violation::HeadTooLarge => Code::H3_MESSAGE_ERROR,
            Violation::Other(_) => Code::H3_EXCESSIVE_LOAD,
        };
        quic::RecvStream::stop_sending(&mut self.inner, code.value());
        log::debug!("h3: stream {} stopped: {violation}", self.recv_id());
        if let Rule::Request(scan) = &self.rule {
            *scan.guard.violation.lock().expect("h3 guard lock poisoned") = Some(violation.clone());
        }
        self.failed = Some(violation.clone());
        StreamErrorIncoming::Unknown(Box::new(violation))
    }
}

impl quic::RecvStream for GuardedRecv {
    type Buf = Bytes;

    fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, StreamErrorIncoming>> {
        loop {
            if let Some(v) = &self.failed {
                return Poll::Ready(Err(StreamErrorIncoming::Unknown(Box::new(v.clone()))));
            }
            if let Rule::Request(scan) = &self.rule {
                if scan.must_wait(cx) {
                    return Poll::Pending;
                }
            }
            let chunk = match self.inner.poll_data(cx) {
                Poll::Ready(Ok(Some(chunk))) => chunk,
                Poll::Ready(Ok(None)) => {
                    // A frame header cut by the end of the stream reaches h3,
                    // which reports the stream as ended mid-frame.
                    if let Rule::Request(scan) = &mut self.rule {
                        if let Some(partial) = scan.take_partial_header() {
                            return Poll::Ready(Ok(Some(partial)));
                        }
                    }
                    return Poll::Ready(Ok(None));
                }
                other => return other,
            };
            let checked = match &mut self.rule {
                Rule::Request(scan) => scan.scan(chunk),
                Rule::Uni(total) => {
                    *total += chunk.len() as u64;
                    if *total > MAX_UNI_STREAM_BYTES {
                        Err(Violation::Other(format!(
                            "HTTP/3 server sent more than {MAX_UNI_STREAM_BYTES} bytes on a unidirectional stream"
                        )))
                    } else {
                        Ok(Some(chunk))
                    }
                }
            };
            match checked {
                Ok(Some(out)) => return Poll::Ready(Ok(Some(out))),
                // Only dropped frames or part of a frame header: read on.
                Ok(None) => continue,
                Err(v) => return Poll::Ready(Err(self.fail(v))),
            }
        }
    }

    fn stop_sending(&mut self, error_code: u64) {
        if self.failed.is_none() {
            self.inner.stop_sending(error_code)
        }
    }

    fn recv_id(&self) -> StreamId {
        self.inner.recv_id()
    }
}

/// What a frame's payload is to h3.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Payload {
    /// DATA: the response body.
    Body,
    /// HEADERS and the other frame types h3 knows (it refuses most of them here).
    Kept,
    /// An unknown or reserved (grease) type: meaningless (RFC 9114 9), so h3
    /// never sees it rather than buffering it whole to skip it.
    Dropped,
}

/// Where the scanner is in the frame sequence of a request stream.
enum FramePos {
    /// Reading a frame header (type and length varints); `len` bytes so far,
    /// held back until the header is complete.
    Header { bytes: [u8; 16], len: usize },
    /// Inside a frame's payload.
    Payload { kind: Payload, left: u64 },
}

const NEW_HEADER: FramePos = FramePos::Header { bytes: [0; 16], len: 0 };

/// The frame scanner of a request stream and its counts.
struct RequestScan {
    guard: Arc<StreamGuard>,
    pos: FramePos,
    /// Body bytes passed to h3.
    body: u64,
    /// Other bytes received (frame headers, HEADERS, dropped frames).
    non_body: u64,
}

/// What of one chunk goes to h3: ranges of the chunk, or a frame header
/// that began in an earlier chunk.
enum Piece {
    Range(usize, usize),
    Owned(Bytes),
}

impl RequestScan {
    fn new(guard: Arc<StreamGuard>) -> Self {
        RequestScan {
            guard,
            pos: NEW_HEADER,
            body: 0,
            non_body: 0,
        }
    }

    /// Backpressure: h3 already holds [`MAX_READ_AHEAD`] body bytes the
    /// reader has not taken (h3 can deliver those without reading, so this
    /// never stalls the reader).
    fn must_wait(&self, cx: &mut Context<'_>) -> bool {
        let held = |g: &StreamGuard| self.body.saturating_sub(g.delivered.load(Ordering::Acquire));
        if held(&self.guard) < MAX_READ_AHEAD {
            return false;
        }
        *self.guard.waker.lock().expect("h3 guard waker lock poisoned") = Some(cx.waker().clone());
        // The reader may have taken bytes meanwhile.
        held(&self.guard) >= MAX_READ_AHEAD
    }

    fn take_partial_header(&mut self) -> Option<Bytes> {
        match std::mem::replace(&mut self.pos, NEW_HEADER) {
            FramePos::Header { bytes, len } if len > 0 => Some(Bytes::copy_from_slice(&bytes[..len])),
            _ => None,
        }
    }

    /// Checks and filters one chunk: what h3 gets of it (`None`: nothing).
    fn scan(&mut self, chunk: Bytes) -> Result<Option<Bytes>, Violation> {
        let mut pieces: Vec<Piece> = Vec::new();
        let keep = |pieces: &mut Vec<Piece>, a: usize, b: usize| match pieces.last_mut() {
            Some(Piece::Range(_, end)) if *end == a => *end = b,
            _ => pieces.push(Piece::Range(a, b)),
        };
        let mut i = 0;
        // Where the current frame header began in this chunk, if it did.
        let mut header_start = matches!(self.pos, FramePos::Header { len: 0, .. }).then_some(0);
        while i < chunk.len() {
            match &mut self.pos {
                FramePos::Header { bytes, len } => {
                    if *len == 0 {
                        header_start = Some(i);
                    }
                    bytes[*len] = chunk[i];
                    *len += 1;
                    i += 1;
                    self.non_body += 1;
                    let Some((ty, length)) = frame_header(&bytes[..*len]) else {
                        continue;
                    };
                    let (header, header_len) = (*bytes, *len);
                    let (pos, kept) = self.frame(ty, length)?;
                    if kept {
                        match header_start {
                            Some(start) => keep(&mut pieces, start, i),
                            None => pieces.push(Piece::Owned(Bytes::copy_from_slice(&header[..header_len]))),
                        }
                    }
                    self.pos = pos;
                }
                FramePos::Payload { kind, left } => {
                    let n = (*left).min((chunk.len() - i) as u64);
                    *left -= n;
                    let n = n as usize;
                    match kind {
                        Payload::Body => self.body += n as u64,
                        Payload::Kept | Payload::Dropped => self.non_body += n as u64,
                    }
                    if *kind != Payload::Dropped {
                        keep(&mut pieces, i, i + n);
                    }
                    i += n;
                    if *left == 0 {
                        self.pos = NEW_HEADER;
                    }
                }
            }
        }
        if self.non_body > NON_BODY_BUDGET + self.body / 8 {
            return Err(Violation::Other(format!(
                "HTTP/3 server sent {} bytes of framing for {} bytes of body",
                self.non_body, self.body
            )));
        }
        Ok(match pieces.as_slice() {
            [] => None,
            [Piece::Range(a, b)] => Some(chunk.slice(*a..*b)),
            _ => {
                let mut out = bytes::BytesMut::new();
                for piece in &pieces {
                    match piece {
                        Piece::Range(a, b) => out.extend_from_slice(&chunk[*a..*b]),
                        Piece::Owned(bytes) => out.extend_from_slice(bytes),
                    }
                }
                Some(out.freeze())
            }
        })
    }

    /// What follows a frame header, and whether h3 sees the frame.
    fn frame(&self, ty: u64, length: u64) -> Result<(FramePos, bool), Violation> {
        let kind = match ty {
            FRAME_DATA if length == 0 => {
                // h3 0.0.8 takes an empty DATA frame for the end of the body
                // (a silently cut response); it carries nothing: dropped.
                return Ok((NEW_HEADER, false));
            }
            FRAME_DATA => Payload::Body,
            FRAME_WEBTRANSPORT_BIDI => {
                return Err(Violation::Other("HTTP/3 server sent a WebTransport frame".into()));
            }
            ty if KNOWN_FRAMES.contains(&ty) => Payload::Kept,
            _ => Payload::Dropped,
        };
        if kind == Payload::Kept && length > MAX_FRAME_BYTES {
            return Err(if ty == FRAME_HEADERS || ty == FRAME_PUSH_PROMISE {
                Violation::HeadTooLarge
            } else {
                Violation::Other(format!("HTTP/3 frame of type {ty:#x} announces {length} bytes"))
            });
        }
        let pos = if length == 0 {
            NEW_HEADER
        } else {
            FramePos::Payload { kind, left: length }
        };
        Ok((pos, kind != Payload::Dropped))
    }
}

/// The frame type and length once `bytes` holds both varints (RFC 9000 16).
fn frame_header(bytes: &[u8]) -> Option<(u64, u64)> {
    let (ty, used) = varint(bytes)?;
    let (length, _) = varint(&bytes[used..])?;
    Some((ty, length))
}

fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    let len = 1usize << (first >> 6);
    if bytes.len() < len {
        return None;
    }
    let mut value = u64::from(first & 0x3f);
    for b in &bytes[1..len] {
        value = (value << 8) | u64::from(*b);
    }
    Some((value, len))
}

/// For the `h3_frames` fuzz target ([`crate::fuzzing::h3_frames`]): scans a request
/// stream's bytes as they would arrive cut at `cuts` (clamped, in order) and returns what
/// h3 gets with the body and other byte counts, or the violation's text.
#[cfg(feature = "fuzzing")]
pub(crate) fn scan_in_pieces(stream: &[u8], cuts: &[usize]) -> Result<(Vec<u8>, u64, u64), String> {
    let mut scan = RequestScan::new(Arc::new(StreamGuard::default()));
    let mut seen = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
        let cut = cut.clamp(start, stream.len());
        match scan.scan(Bytes::copy_from_slice(&stream[start..cut])) {
            Ok(Some(out)) => seen.extend_from_slice(&out),
            Ok(None) => {}
            Err(violation) => return Err(violation.to_string()),
        }
        start = cut;
    }
    Ok((seen, scan.body, scan.non_body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan() -> RequestScan {
        RequestScan::new(Arc::new(StreamGuard::default()))
    }

    #[test]
    fn frames_split_anywhere_are_counted_and_filtered() {
        // HEADERS of 3 bytes, DATA of 5 (2-byte length varint), an unknown type 0x21 of 1
        // byte, an empty DATA frame, DATA of 1.
        let stream: &[u8] = &[
            0x01, 0x03, 1, 2, 3, 0x00, 0x40, 0x05, 9, 9, 9, 9, 9, 0x21, 0x01, 7, 0x00, 0x00, 0x00, 0x01, 8,
        ];
        let h3_sees: &[u8] = &[0x01, 0x03, 1, 2, 3, 0x00, 0x40, 0x05, 9, 9, 9, 9, 9, 0x00, 0x01, 8];
        for cut in 0..=stream.len() {
            for cut2 in cut..=stream.len() {
                let mut s = scan();
                let mut seen = Vec::new();
                for part in [&stream[..cut], &stream[cut..cut2], &stream[cut2..]] {
                    if let Some(out) = s.scan(Bytes::copy_from_slice(part)).expect("valid") {
                        assert!(!out.is_empty());
                        seen.extend_from_slice(&out);
                    }
                }
                assert_eq!(seen, h3_sees, "cuts at {cut}, {cut2}");
                assert_eq!((s.body, s.non_body), (6, 15), "cuts at {cut}, {cut2}");
            }
        }
    }

    #[test]
    fn a_payload_chunk_passes_without_a_copy() {
        let mut s = scan();
        s.scan(Bytes::from_static(&[0x00, 0x44, 0x00])).expect("DATA of 1024");
        let chunk = Bytes::from(vec![1u8; 1024]);
        let out = s.scan(chunk.clone()).expect("payload").expect("passed");
        assert_eq!(out.as_ptr(), chunk.as_ptr());
    }

    #[test]
    fn oversized_frames_fail_at_their_header() {
        // HEADERS announcing 64 MiB (4-byte varint 0x84000000).
        let mut s = scan();
        let head = Bytes::from_static(&[0x01, 0x84, 0, 0, 0]);
        assert_eq!(s.scan(head), Err(Violation::HeadTooLarge));
        let mut s = scan();
        let settings = Bytes::from_static(&[0x04, 0x84, 0, 0, 0]);
        assert!(matches!(s.scan(settings), Err(Violation::Other(_))));
        // A DATA frame may be of any length; an unknown one too (it is dropped).
        let mut s = scan();
        assert!(s.scan(Bytes::from_static(&[0x00, 0x84, 0, 0, 0, 1])).is_ok());
        let mut s = scan();
        assert_eq!(s.scan(Bytes::from_static(&[0x21, 0x84, 0, 0, 0, 1])), Ok(None));
    }

    #[test]
    fn empty_frames_exhaust_the_budget() {
        let mut s = scan();
        let empty = Bytes::from(vec![0u8; 64 * 1024]);
        let failed = (0..32).any(|_| s.scan(empty.clone()).is_err());
        assert!(failed, "2 MiB of empty DATA frames");
    }
}
