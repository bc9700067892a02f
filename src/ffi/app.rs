//! `wxnet_app`: create, free, background, poll, wakeup.

use core::ffi::{c_char, c_void};
use std::time::Duration;

use super::event::{wxnet_event, wxnet_event_callback, OwnedEvent};
use super::guard::{bytes, guard, non_null, write_out};
use super::wxnet_status;
use crate::errors::{ApiError, Status};
use crate::event::dispatch::Mode;
use crate::App;

/// One mini-program instance (opaque). Created by `wxnet_app_new`, freed by
/// `wxnet_app_free`.
///
/// A `wxnet_app*` is not the address of anything: it names an entry of the
/// library's app table and that entry's generation, so a call that races
/// `wxnet_app_free`, or comes after it, finds no app and returns
/// `WXNET_E_CLOSED` instead of reading freed memory.
pub struct wxnet_app {
    _opaque: [u8; 0],
}

/// Bits of a handle that hold the slot's generation; the bits above hold the
/// slot's index plus one (so no handle is NULL).
const GENERATION_BITS: u32 = usize::BITS / 2;
const GENERATION_MASK: usize = (1 << GENERATION_BITS) - 1;
/// The most apps alive at once (65,535 where pointers have 32 bits).
const MAX_SLOTS: usize = (1 << (usize::BITS - GENERATION_BITS)) - 1;

enum SlotState {
    Free,
    Live(App),
    /// `wxnet_app_free` is running: calls get `WXNET_E_CLOSED`.
    Closing,
}

struct Slot {
    generation: usize,
    state: SlotState,
}

/// Every app of the process, by handle. A freed slot is reused with the next
/// generation, so the table is as large as the most apps alive at once, and
/// a stale handle would only name an app again after 2^16 (32-bit) or 2^32
/// reuses of its slot.
struct AppTable {
    slots: Vec<Slot>,
    free: Vec<usize>,
}

static APPS: std::sync::Mutex<AppTable> = std::sync::Mutex::new(AppTable {
    slots: Vec::new(),
    free: Vec::new(),
});

fn table() -> std::sync::MutexGuard<'static, AppTable> {
    APPS.lock().expect("app table lock poisoned")
}

fn closed() -> ApiError {
    ApiError::new(Status::Closed, "the app was freed or is being freed")
}

impl AppTable {
    fn insert(&mut self, app: App) -> Result<*mut wxnet_app, ApiError> {
        let index = match self.free.pop() {
            Some(index) => index,
            None if self.slots.len() < MAX_SLOTS => {
                self.slots.push(Slot {
                    generation: 0,
                    state: SlotState::Free,
                });
                self.slots.len() - 1
            }
            None => return Err(ApiError::new(Status::InvalidState, "too many apps alive at once")),
        };
        let slot = &mut self.slots[index];
        slot.state = SlotState::Live(app);
        let handle = ((index + 1) << GENERATION_BITS) | slot.generation;
        Ok(handle as *mut wxnet_app)
    }

    /// The slot index a handle names (its generation not checked).
    fn index(handle: *const wxnet_app) -> Result<usize, ApiError> {
        (handle as usize >> GENERATION_BITS).checked_sub(1).ok_or_else(closed)
    }

    fn slot(&mut self, handle: *const wxnet_app) -> Result<&mut Slot, ApiError> {
        let slot = self.slots.get_mut(Self::index(handle)?).ok_or_else(closed)?;
        if slot.generation != handle as usize & GENERATION_MASK {
            return Err(closed());
        }
        Ok(slot)
    }
}

/// The app a handle names (a clone: the table's lock is not held while it
/// is used).
pub(super) fn app_ref(app: *const wxnet_app) -> Result<App, ApiError> {
    non_null(app, "app")?;
    match &table().slot(app)?.state {
        SlotState::Live(live) => Ok(live.clone()),
        SlotState::Free | SlotState::Closing => Err(closed()),
    }
}

/// Creates an app from its config JSON (`config_json`, `config_len` bytes,
/// copied). `callback` NULL selects poll mode; otherwise every event of this
/// app is passed to `callback(app_user_data, event)` on the app's own
/// dispatcher thread (never a network worker), one at a time, in order.
/// On `WXNET_OK`, `*out_app` owns the app: free it with `wxnet_app_free`.
/// Invalid config: `WXNET_E_INVALID_CONFIG`, `wxnet_last_error` names the field.
///
/// # Safety
/// `config_json` must point to `config_len` readable bytes; `out_app` must be
/// writable. `app_user_data` is passed back as is.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_app_new(
    config_json: *const c_char,
    config_len: usize,
    callback: wxnet_event_callback,
    app_user_data: *mut c_void,
    out_app: *mut *mut wxnet_app,
) -> wxnet_status {
    let ud = app_user_data as usize;
    guard("wxnet_app_new", || {
        non_null(out_app, "out_app")?;
        non_null(config_json, "config_json")?;
        // SAFETY: caller guarantees config_len readable bytes.
        let config = unsafe { bytes(config_json.cast(), config_len, "config_json") }?;
        let mode = match callback {
            None => Mode::Poll,
            Some(cb) => Mode::Callback(Box::new(move |ev| {
                let raw = wxnet_event::borrowed(ev);
                // SAFETY: the host registered `cb` for this signature; `raw`
                // points into `ev`, alive for the duration of the call.
                unsafe { cb(ud as *mut c_void, &raw) }
            })),
        };
        let app = App::new(config, mode)?;
        let handle = match table().insert(app.clone()) {
            Ok(handle) => handle,
            Err(e) => {
                app.close()?;
                return Err(e);
            }
        };
        // SAFETY: out_app checked non-NULL above.
        unsafe { write_out(out_app, handle) };
        Ok(())
    })
}

/// Frees an app: aborts every task, waits until no callback of this app is
/// running, and guarantees none runs after it returns. Terminal events of the
/// aborted tasks are delivered before it returns (callback mode) or dropped
/// (poll mode). Later calls with its task ids give `WXNET_E_UNKNOWN_TASK`.
/// From inside this app's own callback: `WXNET_E_WOULD_DEADLOCK` (nothing
/// freed); likewise from another app's callback when that app is itself
/// being freed from a callback of this one (a cycle that would wait forever). NULL: `WXNET_E_NULL_ARGUMENT`.
///
/// While it runs, and after it returned `WXNET_OK`, every call with `app`
/// (a second free too) returns `WXNET_E_CLOSED`; a thread blocked in
/// `wxnet_app_poll` returns with `WXNET_E_CLOSED`.
///
/// # Safety
/// `app`: a handle from `wxnet_app_new` (a freed one gives `WXNET_E_CLOSED`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_app_free(app: *mut wxnet_app) -> wxnet_status {
    guard("wxnet_app_free", || {
        non_null(app, "app")?;
        let live = {
            let mut table = table();
            let slot = table.slot(app)?;
            match std::mem::replace(&mut slot.state, SlotState::Closing) {
                SlotState::Live(live) => live,
                other => {
                    slot.state = other;
                    return Err(closed());
                }
            }
        };
        // The table is not locked meanwhile: callbacks that run during the
        // close may call the API (and get WXNET_E_CLOSED).
        let outcome = live.close();
        let mut table = table();
        let index = AppTable::index(app).expect("checked before the close");
        let slot = table.slot(app).expect("a closing slot keeps its generation");
        match outcome {
            Ok(()) => {
                slot.state = SlotState::Free;
                slot.generation = (slot.generation + 1) & GENERATION_MASK;
                table.free.push(index);
                Ok(())
            }
            Err(e) => {
                slot.state = SlotState::Live(live);
                Err(e)
            }
        }
    })
}

/// Tells the app it went to the background (`true`) or came back (`false`).
/// After `backgroundGraceMs`, unfinished requests/uploads/downloads fail with
/// `:fail interrupted`; new calls fail so until it is foreground again.
///
/// # Safety
/// `app`: a handle from `wxnet_app_new` (a freed one gives `WXNET_E_CLOSED`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_app_set_background(app: *mut wxnet_app, background: bool) -> wxnet_status {
    guard("wxnet_app_set_background", || {
        app_ref(app)?.set_background(background);
        Ok(())
    })
}

/// Drops every pooled connection of the app, for a host that learned the
/// device's network changed (Wi-Fi to cellular, a VPN coming up): connections
/// made on the old network may be dead without either side knowing, and the
/// next request would wait out its timeout on one. Later requests, uploads and
/// downloads connect anew (HTTP/1.1, h2 and HTTP/3, and those of every
/// `httpDns` service, whose cached answers are forgotten too). Tasks in flight
/// are not touched: they finish on their connections, which close when they
/// end; sockets (`wxnet_connect_socket`) are not touched either, close those
/// the app should reopen. Cookies and learned `Alt-Svc` are kept.
///
/// Any thread; returns when the new pools are in place (no event follows).
/// `WXNET_E_INVALID_STATE` if new clients could not be built (the old ones
/// stay in use; `wxnet_last_error` says why).
///
/// # Safety
/// `app`: a handle from `wxnet_app_new` (a freed one gives `WXNET_E_CLOSED`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_app_reset_connections(app: *mut wxnet_app) -> wxnet_status {
    guard("wxnet_app_reset_connections", || app_ref(app)?.reset_connections())
}

/// Poll mode: waits up to `timeout_ms` (0: don't wait, -1: forever) and sets
/// `*out_event` to an owned event (free it with `wxnet_event_free`) or to
/// NULL on timeout. Callback-mode apps: `WXNET_E_WRONG_MODE`; an app being
/// freed: `WXNET_E_CLOSED`.
///
/// # Safety
/// `app`: a handle from `wxnet_app_new` (a freed one gives `WXNET_E_CLOSED`);
/// `out_event` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_app_poll(
    app: *mut wxnet_app,
    timeout_ms: i32,
    out_event: *mut *mut wxnet_event,
) -> wxnet_status {
    guard("wxnet_app_poll", || {
        non_null(out_event, "out_event")?;
        let timeout = match timeout_ms {
            -1 => None,
            t if t >= 0 => Some(Duration::from_millis(t as u64)),
            t => {
                return Err(ApiError::new(
                    Status::InvalidArgument,
                    format!("timeout_ms {t}: use >= 0 or -1"),
                ))
            }
        };
        let event = app_ref(app)?.poll(timeout)?;
        let raw = event.map(OwnedEvent::into_raw).unwrap_or(std::ptr::null_mut());
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out_event, raw) };
        Ok(())
    })
}

/// Poll mode: `wake(ud)` is called from a library thread (the app's
/// dispatcher, never a network worker) whenever the queue goes from empty to
/// non-empty. It must only schedule a drain on the host's own thread; in
/// particular it must not wait for the thread that may call
/// `wxnet_app_set_wakeup` (replacing the hook waits for a running `wake` to
/// return, so that `ud` is never used after the call that replaced it).
/// `wake` itself may call `wxnet_app_set_wakeup` (NULL: one-shot): that call
/// returns at once and the new hook takes over when `wake` returns.
/// `wake` NULL removes the hook.
///
/// # Safety
/// `app`: a handle from `wxnet_app_new` (a freed one gives `WXNET_E_CLOSED`); `ud` must stay valid
/// while the hook is set.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wxnet_app_set_wakeup(
    app: *mut wxnet_app,
    wake: Option<unsafe extern "C" fn(ud: *mut c_void)>,
    ud: *mut c_void,
) -> wxnet_status {
    let ud = ud as usize;
    guard("wxnet_app_set_wakeup", || {
        let hook = wake.map(|wake| {
            Box::new(move || {
                // SAFETY: the host registered `wake` with this signature and
                // keeps `ud` valid while the hook is set.
                unsafe { wake(ud as *mut c_void) }
            }) as crate::event::dispatch::Wakeup
        });
        app_ref(app)?.set_wakeup(hook)
    })
}
