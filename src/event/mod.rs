//! Events: what the host receives. [`Event`] carries the wx `res` JSON (built
//! once, NUL-terminated for C) and an optional binary payload; [`dispatch`]
//! delivers them per app, in order, on a thread that is never a tokio worker.

pub mod budget;
pub mod dispatch;
pub mod res;

use bytes::Bytes;

/// Event kinds, numbered as in the ABI (`WXNET_EVENT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum EventKind {
    Success = 1,
    Fail = 2,
    HeadersReceived = 3,
    Progress = 4,
    ChunkReceived = 5,
    SocketOpen = 10,
    SocketMessage = 11,
    SocketError = 12,
    SocketClose = 13,
}

impl EventKind {
    /// Every kind, for the tests that tie each to its `WXNET_EVENT_*` constant.
    pub const ALL: [EventKind; 9] = [
        EventKind::Success,
        EventKind::Fail,
        EventKind::HeadersReceived,
        EventKind::Progress,
        EventKind::ChunkReceived,
        EventKind::SocketOpen,
        EventKind::SocketMessage,
        EventKind::SocketError,
        EventKind::SocketClose,
    ];
}

/// The host's opaque per-task pointer, carried as an integer so that the
/// safe core never dereferences it. Only `ffi` turns it back into a pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserData(pub usize);

/// One event for the host.
#[derive(Debug, Clone)]
pub struct Event {
    pub task: u64,
    pub kind: EventKind,
    /// JSON text followed by one NUL byte (not counted by [`Event::json`]).
    json_nul: String,
    pub data: Option<Bytes>,
    pub user_data: UserData,
    /// Bytes this event counts against the app's queue budget until the host
    /// has it (see [`budget`]); 0 until queued.
    pub(crate) charge: usize,
}

impl Event {
    pub fn new(task: u64, kind: EventKind, mut json: String, data: Option<Bytes>, user_data: UserData) -> Self {
        json.push('\0');
        Event {
            task,
            kind,
            json_nul: json,
            data,
            user_data,
            charge: 0,
        }
    }

    /// What this event costs in the queue budget: its JSON, its data and a
    /// fixed overhead.
    pub fn cost(&self) -> usize {
        self.json_nul.len() + self.data.as_ref().map_or(0, Bytes::len) + budget::EVENT_OVERHEAD_BYTES
    }

    /// The JSON text (the wx `res`), without the NUL.
    pub fn json(&self) -> &str {
        &self.json_nul[..self.json_nul.len() - 1]
    }

    /// The JSON text including its NUL terminator, for C.
    pub fn json_with_nul(&self) -> &str {
        &self.json_nul
    }
}
