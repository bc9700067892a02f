//! wx.connectSocket / SocketTask over WebSocket (RFC 6455), on the same
//! connector as HTTP (policy, `resolve` pins, TLS roots, profile timings).
//!
//! Event order: SUCCESS (`connectSocket:ok`, not terminal) or FAIL (terminal)
//! at once; then OPEN, MESSAGE, ERROR as they happen; finally exactly one
//! SOCKET_CLOSE (terminal).
//!
//! Close codes reported in SOCKET_CLOSE: when this side started the close
//! (host `close`, abort, background, a message over the size limit), the
//! code and reason it sent; when the peer did, the peer's; when the
//! connection was lost or never opened, 1006 "abnormal closure".

pub(crate) mod handshake;
mod session;
mod wire;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::core::AppCore;
use crate::errors::{Api, ApiError, Errno, Status, WxError};
use crate::event::{res, EventKind};
use crate::options::Opts;
use crate::policy::DomainKind;
use crate::task::{SocketControl, TaskShared};

/// How long a close handshake may wait for the peer's answer.
pub const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Open,
    Closing,
    /// Closing after an abort: a second abort sends nothing (so the command
    /// channel stays bounded however often the host aborts).
    Aborted,
}

/// What the host asks of a live socket.
pub(crate) enum Command {
    /// A host message and its bytes counted in the [`SendQueue`].
    Send(yawc::Frame, usize),
    /// Start the closing handshake (bounded by [`CLOSE_WAIT`]).
    Close(u16, String),
    /// End now, even mid-send: a close frame goes out only if it can be
    /// written without waiting.
    Abort,
}

/// Says what a command is, never what a message holds (log privacy).
impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Send(frame, _) => write!(f, "Send({:?}, {} bytes)", frame.opcode(), frame.payload().len()),
            Command::Close(code, _) => write!(f, "Close({code})"),
            Command::Abort => f.write_str("Abort"),
        }
    }
}

/// The host-facing control of one socket (the task's [`crate::task::Control`]).
pub struct SocketHandle {
    phase: Mutex<Phase>,
    /// Bounded though the channel is not: host messages by `queued`, and at
    /// most one close and one abort per socket.
    commands: mpsc::UnboundedSender<Command>,
    /// Bytes of host messages sent and not yet taken by the WebSocket.
    queued: SendQueue,
}

/// What a queued message costs besides its bytes (the frame, its place in
/// the queue), so that empty messages are bounded too.
const MESSAGE_OVERHEAD_BYTES: usize = 64;

/// The bytes of host messages a socket holds for the network, against
/// `maxSocketSendQueueBytes`: added by `send` on the host's thread, taken
/// off by the session when the WebSocket takes a message.
pub(crate) struct SendQueue {
    bytes: AtomicUsize,
    limit: usize,
}

impl SendQueue {
    /// A message of `len` bytes left the queue.
    pub(crate) fn taken(&self, len: usize) {
        self.bytes.fetch_sub(len, Ordering::AcqRel);
    }
}

impl SocketHandle {
    fn set_phase(&self, phase: Phase) {
        *self.phase.lock().expect("socket phase lock poisoned") = phase;
    }

    /// Queues a message; only while open. Never blocks.
    pub fn send(&self, data: &[u8], binary: bool) -> Result<(), ApiError> {
        let message = if binary {
            yawc::Frame::binary(Bytes::copy_from_slice(data))
        } else {
            std::str::from_utf8(data)
                .map_err(|_| ApiError::new(Status::InvalidArgument, "a text message must be UTF-8"))?;
            yawc::Frame::text(Bytes::copy_from_slice(data))
        };
        let phase = self.phase.lock().expect("socket phase lock poisoned");
        if *phase != Phase::Open {
            return Err(ApiError::new(
                Status::InvalidState,
                format!("the socket is not open ({phase:?})"),
            ));
        }
        // Under the phase lock, so two sends cannot both pass the check. A
        // message larger than the limit still goes alone, once the queue is
        // empty.
        let cost = data.len() + MESSAGE_OVERHEAD_BYTES;
        let queued = self.queued.bytes.load(Ordering::Acquire);
        if queued > 0 && queued.saturating_add(cost) > self.queued.limit {
            return Err(ApiError::new(
                Status::InvalidState,
                format!(
                    "the socket's send queue is full: {queued} bytes wait for the network \
                     (maxSocketSendQueueBytes {})",
                    self.queued.limit
                ),
            ));
        }
        self.queued.bytes.fetch_add(cost, Ordering::AcqRel);
        self.commands.send(Command::Send(message, cost)).map_err(|_| {
            self.queued.taken(cost);
            ApiError::new(Status::InvalidState, "the socket is closed")
        })
    }

    /// `wxnet_task_abort` on a socket: a close with code 1000 that does not
    /// wait for anything (not for a send in progress, nor for the peer's
    /// answer). The task ends with SOCKET_CLOSE at once (the code and reason
    /// of a close already started, else 1000 ""). Never blocks.
    pub fn abort(&self) {
        let mut phase = self.phase.lock().expect("socket phase lock poisoned");
        if *phase == Phase::Aborted {
            return;
        }
        *phase = Phase::Aborted;
        let _ = self.commands.send(Command::Abort);
    }

    /// Starts the close handshake (or ends a connection attempt). A second
    /// close is a no-op.
    pub fn close(&self, code: u16, reason: &str) -> Result<(), ApiError> {
        let mut phase = self.phase.lock().expect("socket phase lock poisoned");
        if matches!(*phase, Phase::Closing | Phase::Aborted) {
            return Ok(());
        }
        *phase = Phase::Closing;
        let _ = self.commands.send(Command::Close(code, reason.to_owned()));
        Ok(())
    }
}

impl SocketControl for SocketHandle {
    fn send(&self, data: &[u8], binary: bool) -> Result<(), ApiError> {
        SocketHandle::send(self, data, binary)
    }

    fn close(&self, code: u16, reason: &str) -> Result<(), ApiError> {
        SocketHandle::close(self, code, reason)
    }

    fn abort(&self) {
        SocketHandle::abort(self)
    }
}

/// Checks a close request: code 0 means 1000; else 1000 or 3000-4999;
/// reason at most 123 UTF-8 bytes.
pub fn validate_close(code: i32, reason: &[u8]) -> Result<(u16, String), ApiError> {
    let code = match code {
        0 | 1000 => 1000,
        3000..=4999 => code as u16,
        other => {
            return Err(ApiError::new(
                Status::InvalidArgument,
                format!("close code {other}: use 1000 or 3000-4999"),
            ));
        }
    };
    let reason =
        std::str::from_utf8(reason).map_err(|_| ApiError::new(Status::InvalidArgument, "close reason is not UTF-8"))?;
    if reason.len() > 123 {
        return Err(ApiError::new(
            Status::InvalidArgument,
            format!("close reason is {} bytes, at most 123", reason.len()),
        ));
    }
    Ok((code, reason.to_owned()))
}

/// Validates a connectSocket call (background, policy, options).
pub(crate) fn start(app: &AppCore, opts: &Opts) -> Result<handshake::Target, WxError> {
    app.check_foreground()?;
    let url = app.url(opts, DomainKind::Socket)?;
    let headers = app.headers(opts)?;
    let protocols = match opts.get("protocols") {
        None => Vec::new(),
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .map(|p| match p.as_str() {
                Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b',') => Ok(s.to_owned()),
                _ => Err(WxError::parameter(
                    "parameter.protocols should be an Array of protocol tokens",
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(WxError::parameter("parameter.protocols should be Array")),
    };
    let no_delay = match opts.get("tcpNoDelay") {
        None => true,
        Some(_) => opts.bool("tcpNoDelay")?,
    };
    let deflate = opts.bool("perMessageDeflate")?;
    let timeout = app.timeout(opts, Api::ConnectSocket)?;
    Ok(handshake::Target {
        url,
        headers,
        protocols,
        no_delay,
        deflate,
        timeout,
        max_message_bytes: app.config.max_socket_message_bytes,
    })
}

/// The host-facing control of a new socket task and the session's end of
/// its command channel; the control is the task's before its id is out.
pub(crate) fn control(task: &TaskShared, max_send_queue_bytes: usize) -> Commands {
    let (tx, rx) = mpsc::unbounded_channel();
    let handle = Arc::new(SocketHandle {
        phase: Mutex::new(Phase::Connecting),
        commands: tx,
        queued: SendQueue {
            bytes: AtomicUsize::new(0),
            limit: max_send_queue_bytes,
        },
    });
    task.set_socket(handle.clone());
    Commands { handle, rx }
}

/// The session's side of a socket: its handle and the host's commands.
pub(crate) struct Commands {
    handle: Arc<SocketHandle>,
    rx: mpsc::UnboundedReceiver<Command>,
}

/// Runs a started socket: connect, then the message loop.
pub(crate) fn spawn(app: &Arc<AppCore>, task: &Arc<TaskShared>, commands: Commands, target: handshake::Target) {
    let fut = session::run(app.clone(), task.clone(), commands.handle, commands.rx, target);
    crate::core::spawn_task(task, fut);
}

/// SUCCESS `connectSocket:ok` (not terminal).
pub(crate) fn emit_ok(task: &TaskShared) {
    task.emit(EventKind::Success, res::ok_json(Api::ConnectSocket), None);
}

/// FAIL for a refused connectSocket call (over maxSockets).
pub(crate) fn too_many() -> WxError {
    WxError::new(Errno::MaxTaskCount, "exceed max task count")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_code_and_reason_rules() {
        assert_eq!(validate_close(0, b"").expect("ok").0, 1000);
        assert_eq!(validate_close(1000, b"bye").expect("ok"), (1000, "bye".into()));
        assert_eq!(validate_close(3000, b"").expect("ok").0, 3000);
        assert_eq!(validate_close(4999, b"").expect("ok").0, 4999);
        for bad in [1, 999, 1001, 1005, 1006, 1011, 2999, 5000, -1] {
            assert_eq!(
                validate_close(bad, b"").expect_err("bad code").status,
                Status::InvalidArgument,
                "{bad}"
            );
        }
        assert!(validate_close(1000, "é".repeat(61).as_bytes()).is_ok(), "122 bytes");
        assert!(validate_close(1000, &[b'a'; 123]).is_ok());
        assert!(validate_close(1000, &[b'a'; 124]).is_err());
        assert!(validate_close(1000, "é".repeat(62).as_bytes()).is_err(), "124 bytes");
        assert!(validate_close(1000, b"\xff").is_err());
    }
}
