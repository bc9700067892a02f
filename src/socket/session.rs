//! A socket's life after connectSocket:ok: the connection attempt (which a
//! close may end), then the message loop until exactly one SOCKET_CLOSE.
//!
//! The loop never waits on one thing only: host commands are always watched,
//! also while a send is stuck (a peer that does not read) and while an
//! incoming message waits for room in the app's event queue (a host that is
//! behind: the socket is not read meanwhile, so TCP slows the peer down).
//! Close runs the closing handshake within [`CLOSE_WAIT`]; abort ends at once.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Sink;
use tokio::sync::mpsc;
use yawc::close::CloseCode;
use yawc::{Frame, OpCode, WebSocketError as WsError};

use super::handshake::{self, Target, Ws};
use super::wire::Wire;
use super::{Command, Phase, SendQueue, SocketHandle, CLOSE_WAIT};
use crate::core::AppCore;
use crate::event::budget::Reservation;
use crate::event::{res, Event, EventKind};
use crate::task::TaskShared;

const ABNORMAL: u16 = 1006;
const TOO_BIG: u16 = 1009;
/// Pings a peer may send during a closing handshake before the connection
/// is cut (their Pongs are not sent any more, and would pile up).
const MAX_PINGS_WHILE_CLOSING: usize = 64;

pub async fn run(
    app: Arc<AppCore>,
    task: Arc<TaskShared>,
    handle: Arc<SocketHandle>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    target: Target,
) {
    let connector = app.http().h1_connector.clone();
    let attempt = tokio::time::timeout(target.timeout, handshake::open(&connector, &target));
    let opened = tokio::select! {
        result = attempt => match result {
            Ok(Ok(opened)) => opened,
            Ok(Err(e)) => return abnormal(&task, &e.reason),
            Err(_) => return abnormal(&task, "timeout"),
        },
        command = commands.recv() => {
            // Closed before it opened: the attempt ends here.
            let (code, reason) = match command {
                Some(Command::Close(code, reason)) => (code, reason),
                _ => (1000, String::new()),
            };
            task.finish(EventKind::SocketClose, res::close_json(code, &reason), None);
            return;
        }
    };
    {
        let mut phase = handle.phase.lock().expect("socket phase lock poisoned");
        if *phase == Phase::Connecting {
            *phase = Phase::Open;
        }
    }
    let open_json = res::socket_open_json(&opened.headers, &opened.profile);
    task.emit(EventKind::SocketOpen, open_json, None);
    log::debug!("socket {} open", task.id);
    let (code, reason) = Session::new(&task, opened.ws, opened.wire, &handle.queued)
        .run(&mut commands)
        .await;
    handle.set_phase(Phase::Closing);
    task.finish(EventKind::SocketClose, res::close_json(code, &reason), None);
    log::debug!("socket {} closed with {code}", task.id);
}

/// The connection failed or was lost: ERROR then CLOSE 1006.
fn abnormal(task: &TaskShared, why: &str) {
    task.emit(EventKind::SocketError, res::err_msg_json(why), None);
    task.finish(
        EventKind::SocketClose,
        res::close_json(ABNORMAL, "abnormal closure"),
        None,
    );
}

type RoomWait = Pin<Box<dyn Future<Output = Reservation> + Send>>;

/// An open socket's state between steps.
struct Session<'a> {
    task: &'a TaskShared,
    ws: Ws,
    /// Makes our close frame the only one when we fail the connection.
    wire: Wire,
    /// Host messages not yet handed to the WebSocket (in order), each with
    /// its bytes counted in `queued` (0 for our close frame).
    outgoing: VecDeque<(Frame, usize)>,
    queued: &'a SendQueue,
    /// Something was handed to the WebSocket and not flushed yet.
    unflushed: bool,
    /// A received message waiting for room in the event queue; nothing is
    /// read meanwhile.
    held: Option<(Event, RoomWait)>,
    /// A Ping was read: yawc queued its Pong, which goes out only when the
    /// WebSocket is polled for sending. Nothing more is read until it is
    /// written, so Pongs go out while the host sends nothing, and a peer
    /// that pings without reading our Pongs is slowed down instead of
    /// filling yawc's queue of them.
    pong_due: bool,
}

/// What woke the loop.
enum Step {
    Command(Option<Command>),
    Sent(Result<(), WsError>),
    Room(Reservation),
    Incoming(Result<Frame, WsError>),
}

impl<'a> Session<'a> {
    fn new(task: &'a TaskShared, ws: Ws, wire: Wire, queued: &'a SendQueue) -> Self {
        Session {
            task,
            ws,
            wire,
            outgoing: VecDeque::new(),
            queued,
            unflushed: false,
            held: None,
            pong_due: false,
        }
    }

    /// Runs until the socket closes; returns the code and reason to report.
    async fn run(mut self, commands: &mut mpsc::UnboundedReceiver<Command>) -> (u16, String) {
        loop {
            let step = std::future::poll_fn(|cx| self.poll_step(cx, commands)).await;
            match step {
                Step::Command(Some(Command::Send(message, len))) => self.outgoing.push_back((message, len)),
                Step::Command(Some(Command::Close(code, reason))) => {
                    self.close_within(CLOSE_WAIT, code, &reason, commands).await;
                    return (code, reason);
                }
                Step::Command(Some(Command::Abort)) => {
                    self.close_without_waiting(1000, "");
                    return (1000, String::new());
                }
                // The handle lives in the task, so this does not happen; close politely if it does.
                Step::Command(None) => {
                    self.close_within(CLOSE_WAIT, 1000, "", commands).await;
                    return (1000, String::new());
                }
                Step::Sent(Ok(())) => {}
                Step::Sent(Err(e)) => return lost(self.task, &e),
                Step::Room(reservation) => {
                    let (event, _) = self.held.take().expect("room was awaited for a held message");
                    self.task.emit_reserved(reservation, event);
                }
                Step::Incoming(incoming) => {
                    if let Some(end) = self.incoming(incoming, commands).await {
                        return end;
                    }
                }
            }
        }
    }

    /// Polls, in this order: host commands, the send in progress, room for a
    /// held message, and (only when no message is held) the socket.
    fn poll_step(&mut self, cx: &mut Context<'_>, commands: &mut mpsc::UnboundedReceiver<Command>) -> Poll<Step> {
        if let Poll::Ready(command) = commands.poll_recv(cx) {
            return Poll::Ready(Step::Command(command));
        }
        if !self.outgoing.is_empty() || self.unflushed {
            if let Poll::Ready(result) = self.poll_send(cx) {
                return Poll::Ready(Step::Sent(result));
            }
        }
        if let Some((_, room)) = &mut self.held {
            return room.as_mut().poll(cx).map(Step::Room);
        }
        if self.pong_due {
            // Ready once yawc wrote and flushed the Pongs it owes.
            match Pin::new(&mut self.ws).poll_ready(cx) {
                Poll::Ready(Ok(())) => self.pong_due = false,
                Poll::Ready(Err(e)) => return Poll::Ready(Step::Sent(Err(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.ws.poll_next_frame(cx).map(Step::Incoming)
    }

    /// Hands the queued messages to the WebSocket and flushes. A message
    /// leaves the queue only when the WebSocket takes it, so stopping this
    /// at any point loses nothing.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        while !self.outgoing.is_empty() {
            match Pin::new(&mut self.ws).poll_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            let (message, len) = self.outgoing.pop_front().expect("checked non-empty");
            self.queued.taken(len);
            Pin::new(&mut self.ws).start_send(message)?;
            self.unflushed = true;
        }
        match Pin::new(&mut self.ws).poll_flush(cx) {
            Poll::Ready(result) => {
                self.unflushed = false;
                Poll::Ready(result)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// One item from the socket; `Some` when the session is over.
    async fn incoming(
        &mut self,
        incoming: Result<Frame, WsError>,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> Option<(u16, String)> {
        // yawc answers Pings itself and hands over whole (reassembled,
        // inflated, UTF-8 checked) messages.
        let frame = match incoming {
            Ok(frame) => frame,
            Err(WsError::FrameTooLarge) => {
                log::warn!("socket {}: incoming message over the limit", self.task.id);
                self.task.emit(
                    EventKind::SocketError,
                    res::err_msg_json("message too big: over maxSocketMessageBytes"),
                    None,
                );
                self.fail(TOO_BIG, "message too big", CLOSE_WAIT, commands).await;
                return Some((TOO_BIG, "message too big".into()));
            }
            Err(e) => {
                // A protocol violation by the peer: say why (RFC 6455
                // 7.1.7: 1002, 1007 for invalid UTF-8), hardly waiting for
                // an answer. The host sees 1006, as browsers report it.
                if !matches!(e, WsError::ConnectionClosed | WsError::IoError(_)) {
                    let code = if matches!(e, WsError::InvalidUTF8) { 1007 } else { 1002 };
                    self.fail(code, "", Duration::from_millis(500), commands).await;
                }
                return Some(lost(self.task, &e));
            }
        };
        let (json, data) = match frame.opcode() {
            OpCode::Text => (res::message_json(false), frame.into_payload()),
            OpCode::Binary => (res::message_json(true), frame.into_payload()),
            // A control frame's payload is at most 125 bytes (RFC 6455
            // 5.5); yawc takes a longer close frame.
            OpCode::Close if frame.payload().len() > 125 => {
                let e = WsError::InvalidCloseFrame;
                self.fail(1002, "", Duration::from_millis(500), commands).await;
                return Some(lost(self.task, &e));
            }
            OpCode::Close => {
                // The peer started the close: yawc queued our answer; keep
                // polling (bounded) so it goes out.
                let code = frame.close_code().map(u16::from);
                let reason = frame.close_reason().ok().flatten().unwrap_or("").to_owned();
                self.drain_within(CLOSE_WAIT, false, commands).await;
                return Some(match code {
                    Some(code) => (code, reason),
                    None => (1005, String::new()),
                });
            }
            OpCode::Ping => {
                self.pong_due = true;
                return None;
            }
            _ => return None,
        };
        let event = self.task.event(EventKind::SocketMessage, json, Some(data));
        let room = Box::pin(self.task.reserve(event.cost()));
        self.held = Some((event, room));
        None
    }

    /// Fails the connection with `code` after a read error, within `limit`
    /// (an abort ends it at once): our close frame is the only one that goes
    /// out (yawc may have queued its own: [`Wire`] puts ours in its place),
    /// then the peer's answer is awaited, unless yawc already stopped
    /// reading (a failure inside a frame).
    async fn fail(
        &mut self,
        code: u16,
        reason: &str,
        limit: Duration,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) {
        self.outgoing.clear();
        self.wire.fail_with(code, reason);
        self.close_within(limit, code, reason, commands).await;
    }

    /// The closing handshake, all of it within `limit`: what the host queued
    /// before the close, our close frame, then the peer's answer. Messages
    /// that arrive meanwhile are not delivered. An abort ends it at once.
    async fn close_within(
        &mut self,
        limit: Duration,
        code: u16,
        reason: &str,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) {
        self.held = None;
        self.outgoing.push_back((close_message(code, reason), 0));
        self.drain_within(limit, true, commands).await;
    }

    /// Sends what is queued and reads (discarding) until the peer closes,
    /// the time is up or the host aborts. Later sends are refused by the
    /// handle (closing); a later close is a no-op. `ours`: we sent the
    /// close, so the peer's close frame ends it (yawc would answer it
    /// otherwise); else reading goes on until yawc reports the end, which is
    /// after it sent its answer to the peer's close.
    async fn drain_within(&mut self, limit: Duration, ours: bool, commands: &mut mpsc::UnboundedReceiver<Command>) {
        let mut read_done = false;
        // Pings read here get Pongs yawc queues and no longer sends (the
        // close is under way): a peer that keeps pinging is cut off.
        let mut pings = 0;
        let drain = std::future::poll_fn(|cx| {
            if let Poll::Ready(Some(Command::Abort)) = commands.poll_recv(cx) {
                return Poll::Ready(());
            }
            if !self.outgoing.is_empty() || self.unflushed {
                if let Poll::Ready(Err(_)) = self.poll_send(cx) {
                    return Poll::Ready(());
                }
            }
            while !read_done {
                match self.ws.poll_next_frame(cx) {
                    Poll::Ready(Ok(frame)) if ours && frame.opcode() == OpCode::Close => read_done = true,
                    Poll::Ready(Ok(frame)) if frame.opcode() == OpCode::Ping => {
                        pings += 1;
                        read_done = pings > MAX_PINGS_WHILE_CLOSING;
                    }
                    Poll::Ready(Ok(_)) => {}
                    Poll::Ready(Err(_)) => read_done = true,
                    Poll::Pending => break,
                }
            }
            if read_done && self.outgoing.is_empty() && !self.unflushed {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
        let _ = tokio::time::timeout(limit, drain).await;
    }

    /// Abort: a close frame only if it can be written now, then the end.
    fn close_without_waiting(&mut self, code: u16, reason: &str) {
        self.held = None;
        if !self.outgoing.is_empty() || self.unflushed {
            // In the middle of a send: the close frame cannot go out first.
            return;
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        self.outgoing.push_back((close_message(code, reason), 0));
        let _ = self.poll_send(&mut cx);
    }
}

fn close_message(code: u16, reason: &str) -> Frame {
    Frame::close(CloseCode::from(code), reason)
}

/// The connection broke: ERROR, then 1006.
fn lost(task: &TaskShared, e: &WsError) -> (u16, String) {
    let why = match e {
        WsError::ConnectionClosed => "connection lost".to_owned(),
        WsError::IoError(e) => e.to_string(),
        other => format!("protocol error: {other}"),
    };
    task.emit(EventKind::SocketError, res::err_msg_json(&why), None);
    (ABNORMAL, "abnormal closure".into())
}
