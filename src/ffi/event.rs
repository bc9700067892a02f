//! `wxnet_event`: the C view of an [`Event`], borrowed (callback mode) or
//! owned (poll mode, freed with `wxnet_event_free`).

use core::ffi::{c_char, c_void};

use super::guard::guard;
use crate::event::Event;

/// One event. Pointers are valid during the callback (callback mode) or
/// until `wxnet_event_free` (poll mode).
#[repr(C)]
pub struct wxnet_event {
    /// The task this event belongs to.
    pub task: u64,
    /// `WXNET_EVENT_*`.
    pub kind: i32,
    /// UTF-8 JSON object (the wx `res`), `json_len` bytes, also NUL-terminated.
    pub json: *const c_char,
    pub json_len: usize,
    /// Binary payload (body, chunk, message), or NULL and 0.
    pub data: *const u8,
    pub data_len: usize,
    /// As given when the task started. Never touched after the terminal event.
    pub task_user_data: *mut c_void,
}

/// Called for every event of an app in callback mode, on that app's
/// dispatcher thread (never a network worker), one event at a time.
pub type wxnet_event_callback = Option<unsafe extern "C" fn(app_user_data: *mut c_void, event: *const wxnet_event)>;

impl wxnet_event {
    /// A view of `ev`, valid while `ev` lives.
    pub(super) fn borrowed(ev: &Event) -> wxnet_event {
        let (data, data_len) = match &ev.data {
            Some(d) if !d.is_empty() => (d.as_ptr(), d.len()),
            _ => (std::ptr::null(), 0),
        };
        wxnet_event {
            task: ev.task,
            kind: ev.kind as i32,
            json: ev.json_with_nul().as_ptr().cast(),
            json_len: ev.json().len(),
            data,
            data_len,
            task_user_data: ev.user_data.0 as *mut c_void,
        }
    }
}

/// A poll-mode event: the C view first, so a `*mut wxnet_event` handed out
/// is also a pointer to this box.
#[repr(C)]
pub(super) struct OwnedEvent {
    raw: wxnet_event,
    event: Event,
}

impl OwnedEvent {
    pub(super) fn into_raw(event: Event) -> *mut wxnet_event {
        let raw = wxnet_event::borrowed(&event);
        // The view points into `event`'s heap buffers, which do not move with the box.
        Box::into_raw(Box::new(OwnedEvent { raw, event })).cast()
    }
}

/// Frees an event returned by `wxnet_app_poll`. NULL is ignored. Any thread.
///
/// # Safety
/// `event` must be NULL or a pointer from `wxnet_app_poll` not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_event_free(event: *mut wxnet_event) {
    let _ = guard("wxnet_event_free", || {
        if !event.is_null() {
            // SAFETY: per the contract `event` came from OwnedEvent::into_raw
            // (a Box<OwnedEvent> whose first field is the wxnet_event).
            drop(unsafe { Box::from_raw(event.cast::<OwnedEvent>()) });
        }
        Ok(())
    });
}
