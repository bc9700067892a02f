//! A socket's life after connectSocket:ok: the connection attempt (which a
//! close may end), then the message loop until exactly one SOCKET_CLOSE.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::handshake::{self, Target, Ws};
use super::{Command, Phase, SocketHandle, CLOSE_WAIT};
use crate::core::AppCore;
use crate::event::{res, EventKind};
use crate::task::TaskShared;

const ABNORMAL: u16 = 1006;
const TOO_BIG: u16 = 1009;

pub async fn run(
    app: Arc<AppCore>,
    task: Arc<TaskShared>,
    handle: Arc<SocketHandle>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    target: Target,
) {
    let connector = app.http.h1_connector.clone();
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
    let open_json = res::to_json(&serde_json::json!({"header": opened.headers.header, "profile": opened.profile}));
    task.emit(EventKind::SocketOpen, open_json, None);
    log::debug!("socket {} open", task.id);
    let (code, reason) = session(&task, opened.ws, &mut commands).await;
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

/// Runs until the socket closes; returns the code and reason to report.
async fn session(task: &TaskShared, mut ws: Ws, commands: &mut mpsc::UnboundedReceiver<Command>) -> (u16, String) {
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Send(message)) => {
                    if let Err(e) = ws.send(message).await {
                        return lost(task, &e);
                    }
                }
                Some(Command::Close(code, reason)) => {
                    close_and_wait(&mut ws, code, &reason).await;
                    return (code, reason);
                }
                // The handle lives in the task, so this does not happen; close politely if it does.
                None => {
                    close_and_wait(&mut ws, 1000, "").await;
                    return (1000, String::new());
                }
            },
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    task.emit(EventKind::SocketMessage, r#"{"dataKind":"text"}"#.into(), Some(text.into()));
                }
                Some(Ok(Message::Binary(bytes))) => {
                    task.emit(EventKind::SocketMessage, r#"{"dataKind":"arraybuffer"}"#.into(), Some(bytes));
                }
                Some(Ok(Message::Close(frame))) => {
                    // The peer started the close: tungstenite queued our
                    // answer; keep polling (bounded) so it goes out.
                    let _ = tokio::time::timeout(CLOSE_WAIT, async { while let Some(Ok(_)) = ws.next().await {} }).await;
                    return match frame {
                        Some(f) => (u16::from(f.code), f.reason.as_str().to_owned()),
                        None => (1005, String::new()),
                    };
                }
                Some(Ok(_)) => {}
                Some(Err(WsError::Capacity(e))) => {
                    log::warn!("socket {}: incoming message over the limit", task.id);
                    task.emit(EventKind::SocketError, res::err_msg_json(&format!("message too big: {e}")), None);
                    close_and_wait(&mut ws, TOO_BIG, "message too big").await;
                    return (TOO_BIG, "message too big".into());
                }
                Some(Err(e)) => {
                    fail_connection(&mut ws, &e).await;
                    return lost(task, &e);
                }
                None => return lost(task, &WsError::ConnectionClosed),
            },
        }
    }
}

/// The connection broke: ERROR, then 1006.
fn lost(task: &TaskShared, e: &WsError) -> (u16, String) {
    let why = match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed => "connection lost".to_owned(),
        WsError::Protocol(p) => format!("protocol error: {p}"),
        other => other.to_string(),
    };
    task.emit(EventKind::SocketError, res::err_msg_json(&why), None);
    (ABNORMAL, "abnormal closure".into())
}

/// On a protocol violation by the peer, says why before dropping the
/// connection (RFC 6455 7.1.7): 1007 for invalid UTF-8, 1002 otherwise. Does
/// not wait for an answer; the host still sees 1006, as browsers report it.
async fn fail_connection(ws: &mut Ws, e: &WsError) {
    let code = match e {
        WsError::Utf8(_) => 1007,
        WsError::Protocol(_) => 1002,
        _ => return,
    };
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: "".into(),
    };
    let _ = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        ws.send(Message::Close(Some(frame))),
    )
    .await;
}

/// Sends our close frame and waits (bounded) for the peer's answer.
async fn close_and_wait(ws: &mut Ws, code: u16, reason: &str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        if ws.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
}
