//! Per-app event delivery. Tokio workers only push into a channel; one
//! dispatcher thread per app takes events off it in order and either calls the
//! host's callback (callback mode) or queues them for `poll` and calls the
//! wakeup hook (poll mode). So host code never runs on a tokio worker, events
//! of one app are never delivered two at once, and shutting the dispatcher
//! down (join) guarantees no callback runs afterwards.
//!
//! The channel plus the poll queue are bounded in bytes by the app's
//! [`Budget`]: see [`super::budget`] for who waits and who does not.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use super::budget::{Budget, Reservation};
use super::Event;
use crate::errors::{ApiError, Status};

/// The host's event handler in callback mode, run on the dispatcher thread.
pub type Handler = Box<dyn FnMut(&Event) + Send>;
/// The host's wakeup hook in poll mode, run on the dispatcher thread.
pub type Wakeup = Box<dyn Fn() + Send + Sync>;

enum Msg {
    Event(Event),
    Shutdown,
}

/// How many times the dispatcher polls its channel before it sleeps. Events
/// come in bursts (HEADERS_RECEIVED then SUCCESS a few microseconds later,
/// the events of other tasks in flight); catching the next one awake saves
/// a sleep and a wake-up (two system calls and a context switch on each
/// side) for about the cost of one. The `yield_now` every 50 polls lets a
/// worker on the same CPU run. Measured (BENCHMARKS.md, "Dispatcher spin"):
/// a spin that shrinks to 16 polls while it keeps ending in a sleep costs
/// 14-22% less CPU per sequential request, but answers WebSocket messages
/// about 10% later and loses about 7% at 10 in flight over HTTP/1.1; so the
/// spin stays fixed.
const SPINS_BEFORE_SLEEP: u32 = 200;

/// The next message: a short spin first, then a blocking wait. `None` when
/// every sender is gone.
fn recv_spinning(rx: &mpsc::Receiver<Msg>) -> Option<Msg> {
    for i in 0..SPINS_BEFORE_SLEEP {
        match rx.try_recv() {
            Ok(msg) => return Some(msg),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) if i % 50 == 49 => std::thread::yield_now(),
            Err(mpsc::TryRecvError::Empty) => std::hint::spin_loop(),
        }
    }
    rx.recv().ok()
}

/// Delivery mode chosen at app creation.
pub enum Mode {
    Callback(Handler),
    Poll,
}

#[derive(Default)]
struct PollState {
    events: VecDeque<Event>,
    closed: bool,
}

struct PollQueue {
    state: Mutex<PollState>,
    ready: Condvar,
    wakeup: Mutex<Option<Wakeup>>,
    budget: std::sync::Arc<Budget>,
}

/// One app's dispatcher: a channel in, one thread out.
pub struct Dispatcher {
    tx: Mutex<Option<mpsc::Sender<Msg>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    thread_id: ThreadId,
    poll: Option<std::sync::Arc<PollQueue>>,
    budget: std::sync::Arc<Budget>,
}

impl Dispatcher {
    /// Starts the dispatcher thread of the app with this serial; at most
    /// `max_queued_bytes` of events wait for the host (see [`Budget`]).
    pub fn start(mode: Mode, app_serial: u64, max_queued_bytes: usize) -> std::io::Result<Dispatcher> {
        let (tx, rx) = mpsc::channel::<Msg>();
        let budget = Budget::new(max_queued_bytes);
        let poll = matches!(mode, Mode::Poll).then(|| {
            std::sync::Arc::new(PollQueue {
                state: Mutex::default(),
                ready: Condvar::new(),
                wakeup: Mutex::new(None),
                budget: budget.clone(),
            })
        });
        let queue = poll.clone();
        let delivered = budget.clone();
        let thread = std::thread::Builder::new()
            .name("wxnet-dispatch".into())
            .spawn(move || {
                DISPATCHING.with(|d| d.set(Some(app_serial)));
                run(mode, rx, queue, &delivered)
            })?;
        Ok(Dispatcher {
            thread_id: thread.thread().id(),
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            poll,
            budget,
        })
    }

    /// Counts `bytes` at once, even over the limit (see [`Budget::charge`]).
    pub fn reserve_now(&self, bytes: usize) -> Reservation {
        self.budget.charge(bytes)
    }

    /// Waits for room for `bytes` in the queue (see [`Budget::reserve`]).
    pub fn reserve(&self, bytes: usize) -> impl std::future::Future<Output = Reservation> + Send + 'static {
        self.budget.reserve(bytes)
    }

    /// Queues an event whose bytes were reserved. Never blocks.
    pub fn send_reserved(&self, mut ev: Event, reservation: Reservation) {
        let tx = self.tx.lock().expect("dispatcher sender lock poisoned");
        if let Some(tx) = tx.as_ref() {
            ev.charge = reservation.into_charge();
            if let Err(mpsc::SendError(Msg::Event(ev))) = tx.send(Msg::Event(ev)) {
                self.budget.give_back(ev.charge);
            }
        }
    }

    /// Bytes of events queued for the host now (not yet delivered or polled).
    pub fn queued_bytes(&self) -> usize {
        self.budget.queued_bytes()
    }

    /// Producers waiting for room in the queue now.
    pub fn waiting_producers(&self) -> usize {
        self.budget.waiting_producers()
    }

    /// Whether the calling thread is this app's dispatcher (i.e. we are inside
    /// one of its callbacks).
    pub fn is_current_thread(&self) -> bool {
        std::thread::current().id() == self.thread_id
    }

    /// Stops delivery: in callback mode every event queued so far is delivered
    /// first; in poll mode the queue is dropped and pollers get `Closed`.
    /// Returns once the dispatcher thread has exited. Must not be called from
    /// the dispatcher thread itself.
    pub fn shutdown(&self) {
        self.budget.close();
        if let Some(tx) = self.tx.lock().expect("dispatcher sender lock poisoned").take() {
            let _ = tx.send(Msg::Shutdown);
        }
        if let Some(queue) = &self.poll {
            queue.close();
        }
        if let Some(thread) = self.thread.lock().expect("dispatcher thread lock poisoned").take() {
            let _ = thread.join();
        }
        if let Some(queue) = &self.poll {
            queue.close();
        }
    }

    /// Poll mode: waits up to `timeout` (None: forever) for the next event.
    pub fn poll(&self, timeout: Option<Duration>) -> Result<Option<Event>, ApiError> {
        let queue = self.poll.as_ref().ok_or_else(|| {
            ApiError::new(
                Status::WrongMode,
                "this app delivers events to a callback; poll is for apps created without one",
            )
        })?;
        queue.pop(timeout)
    }

    pub fn set_wakeup(&self, wakeup: Option<Wakeup>) -> Result<(), ApiError> {
        let queue = self
            .poll
            .as_ref()
            .ok_or_else(|| ApiError::new(Status::WrongMode, "the wakeup hook is for poll mode"))?;
        *queue.wakeup.lock().expect("wakeup lock poisoned") = wakeup;
        Ok(())
    }
}

/// The dispatcher thread's loop.
fn run(mode: Mode, rx: mpsc::Receiver<Msg>, queue: Option<std::sync::Arc<PollQueue>>, budget: &Budget) {
    match mode {
        Mode::Callback(mut handler) => {
            while let Some(Msg::Event(ev)) = recv_spinning(&rx) {
                handler(&ev);
                budget.give_back(ev.charge);
            }
        }
        Mode::Poll => {
            let queue = queue.expect("poll mode has a queue");
            while let Some(Msg::Event(ev)) = recv_spinning(&rx) {
                queue.push(ev);
            }
        }
    }
}

thread_local! {
    /// On a dispatcher thread: the serial of the app it delivers for.
    static DISPATCHING: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// The serial of the app whose dispatcher thread the caller runs on, if any.
pub fn dispatching_app() -> Option<u64> {
    DISPATCHING.with(|d| d.get())
}

impl PollQueue {
    fn push(&self, ev: Event) {
        let was_empty = {
            let mut st = self.state.lock().expect("poll queue lock poisoned");
            if st.closed {
                self.budget.give_back(ev.charge);
                return;
            }
            let was_empty = st.events.is_empty();
            st.events.push_back(ev);
            was_empty
        };
        self.ready.notify_one();
        if was_empty {
            if let Some(wake) = self.wakeup.lock().expect("wakeup lock poisoned").as_ref() {
                wake();
            }
        }
    }

    fn pop(&self, timeout: Option<Duration>) -> Result<Option<Event>, ApiError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut st = self.state.lock().expect("poll queue lock poisoned");
        loop {
            if let Some(ev) = st.events.pop_front() {
                // The host has it now: its memory is the host's to free.
                self.budget.give_back(ev.charge);
                return Ok(Some(ev));
            }
            if st.closed {
                return Err(ApiError::new(Status::Closed, "the app is being freed"));
            }
            match deadline {
                None => st = self.ready.wait(st).expect("poll queue lock poisoned"),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Ok(None);
                    }
                    st = self
                        .ready
                        .wait_timeout(st, d - now)
                        .expect("poll queue lock poisoned")
                        .0;
                }
            }
        }
    }

    fn close(&self) {
        let mut st = self.state.lock().expect("poll queue lock poisoned");
        st.closed = true;
        for ev in st.events.drain(..) {
            self.budget.give_back(ev.charge);
        }
        drop(st);
        self.ready.notify_all();
    }
}
