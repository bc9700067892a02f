//! Per-app event delivery. Tokio workers push events into one queue per app,
//! under a mutex held for a push, and wake the app's dispatcher thread only
//! when it sleeps. What the dispatcher does depends on the mode:
//!
//! - callback mode: it takes every queued event at once (a batch) and calls
//!   the host's callback for each, in order;
//! - poll mode: the queue *is* the one `poll` reads, so a worker's event
//!   reaches a host thread blocked in `poll` directly (one wake-up, no hop
//!   through the dispatcher); the dispatcher only calls the wakeup hook when
//!   the queue went from empty to non-empty.
//!
//! So host code never runs on a tokio worker, events of one app are never
//! delivered two at once, and shutting the dispatcher down (join) guarantees
//! no callback or wakeup hook runs afterwards.
//!
//! The queue is bounded in bytes by the app's [`Budget`]: see
//! [`super::budget`] for who waits and who does not.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use super::budget::{Budget, Reservation};
use super::Event;
use crate::errors::{ApiError, Status};

/// The host's event handler in callback mode, run on the dispatcher thread.
pub type Handler = Box<dyn FnMut(&Event) + Send>;
/// The host's wakeup hook in poll mode, run on the dispatcher thread.
pub type Wakeup = Box<dyn Fn() + Send + Sync>;

/// How many times the dispatcher looks for work before it sleeps. Events
/// come in bursts (HEADERS_RECEIVED then SUCCESS a few microseconds later,
/// the events of other tasks in flight); catching the next one awake saves
/// a sleep and a wake-up (two system calls and a context switch on each
/// side) for about the cost of one. The `yield_now` every 50 looks lets a
/// worker on the same CPU run. Measured (BENCHMARKS.md, "Dispatcher spin"):
/// a spin that shrinks to 16 looks while it keeps ending in a sleep costs
/// 14-22% less CPU per sequential request, but answers WebSocket messages
/// about 10% later and loses about 7% at 10 in flight over HTTP/1.1; so the
/// spin stays fixed.
const SPINS_BEFORE_SLEEP: u32 = 200;

/// Delivery mode chosen at app creation.
pub enum Mode {
    Callback(Handler),
    Poll,
}

#[derive(Default)]
struct State {
    /// Events not yet handed to the host, oldest first.
    events: VecDeque<Event>,
    /// Set by shutdown: nothing is queued any more.
    closed: bool,
    /// The dispatcher waits on `Shared::dispatcher_wake`; whoever gives it
    /// work clears this and notifies (the only system call on the path).
    dispatcher_asleep: bool,
    /// Poll mode: a wakeup hook is set.
    hook_set: bool,
    /// Poll mode: the queue went from empty to non-empty since the
    /// dispatcher last started the hook.
    wake_due: bool,
    /// Poll mode: threads blocked in `poll`.
    pollers_waiting: usize,
}

struct Shared {
    callback_mode: bool,
    state: Mutex<State>,
    /// Set (under the lock) when the dispatcher has work; the spinning
    /// dispatcher reads it without the lock.
    work_ready: AtomicBool,
    /// Poll mode: set (under the lock) while the queue holds events; a
    /// spinning poller reads it without the lock.
    events_ready: AtomicBool,
    dispatcher_wake: Condvar,
    /// Poll mode: where `poll` waits.
    event_ready: Condvar,
    /// Held while the hook runs, so replacing it waits for a running call.
    wakeup: Mutex<Option<Wakeup>>,
    /// A replacement set from inside the running hook (whose thread holds
    /// `wakeup`): put in place as the call returns, before `wakeup` is let go.
    replacement: Mutex<Option<Option<Wakeup>>>,
    budget: Arc<Budget>,
}

/// One app's dispatcher: a queue in, one thread out.
pub struct Dispatcher {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    thread_id: ThreadId,
}

impl Dispatcher {
    /// Starts the dispatcher thread of the app with this serial; at most
    /// `max_queued_bytes` of events wait for the host (see [`Budget`]).
    pub fn start(mode: Mode, app_serial: u64, max_queued_bytes: usize) -> std::io::Result<Dispatcher> {
        let shared = Arc::new(Shared {
            callback_mode: matches!(mode, Mode::Callback(_)),
            state: Mutex::default(),
            work_ready: AtomicBool::new(false),
            events_ready: AtomicBool::new(false),
            dispatcher_wake: Condvar::new(),
            event_ready: Condvar::new(),
            wakeup: Mutex::new(None),
            replacement: Mutex::new(None),
            budget: Budget::new(max_queued_bytes),
        });
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("wxnet-dispatch".into())
            .spawn(move || {
                DISPATCHING.with(|d| d.set(Some(app_serial)));
                match mode {
                    Mode::Callback(handler) => deliver_to_callback(&theirs, handler),
                    Mode::Poll => run_wakeup_hook(&theirs),
                }
            })?;
        Ok(Dispatcher {
            thread_id: thread.thread().id(),
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Counts `bytes` at once, even over the limit (see [`Budget::charge`]).
    pub fn reserve_now(&self, bytes: usize) -> Reservation {
        self.shared.budget.charge(bytes)
    }

    /// Waits for room for `bytes` in the queue (see [`Budget::reserve`]).
    pub fn reserve(&self, bytes: usize) -> impl std::future::Future<Output = Reservation> + Send + 'static {
        self.shared.budget.reserve(bytes)
    }

    /// Queues an event whose bytes were reserved. Never blocks (beyond the
    /// queue's lock, held for a push). After shutdown the event is dropped.
    pub fn send_reserved(&self, mut ev: Event, reservation: Reservation) {
        ev.charge = reservation.into_charge();
        self.shared.push(ev);
    }

    /// Bytes of events queued for the host now (not yet delivered or polled).
    pub fn queued_bytes(&self) -> usize {
        self.shared.budget.queued_bytes()
    }

    /// Producers waiting for room in the queue now.
    pub fn waiting_producers(&self) -> usize {
        self.shared.budget.waiting_producers()
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
        self.shared.budget.close();
        self.shared.close();
        if let Some(thread) = self.thread.lock().expect("dispatcher thread lock poisoned").take() {
            let _ = thread.join();
        }
    }

    /// Poll mode: waits up to `timeout` (None: forever) for the next event.
    pub fn poll(&self, timeout: Option<Duration>) -> Result<Option<Event>, ApiError> {
        if self.shared.callback_mode {
            return Err(ApiError::new(
                Status::WrongMode,
                "this app delivers events to a callback; poll is for apps created without one",
            ));
        }
        self.shared.pop(timeout)
    }

    pub fn set_wakeup(&self, wakeup: Option<Wakeup>) -> Result<(), ApiError> {
        if self.shared.callback_mode {
            return Err(ApiError::new(Status::WrongMode, "the wakeup hook is for poll mode"));
        }
        if std::thread::current().id() == self.thread_id {
            // From inside the hook: this thread holds `wakeup` while the hook
            // runs, so waiting for it would never end.
            self.shared.lock().hook_set = wakeup.is_some();
            *self.shared.replacement.lock().expect("replacement lock poisoned") = Some(wakeup);
            return Ok(());
        }
        let mut hook = self.shared.wakeup.lock().expect("wakeup lock poisoned");
        self.shared.lock().hook_set = wakeup.is_some();
        *hook = wakeup;
        Ok(())
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("event queue lock poisoned")
    }

    /// Queues one event (a worker, or whoever ends a task) and wakes whoever
    /// needs it: the sleeping dispatcher in callback mode; in poll mode a
    /// blocked poller, and the dispatcher when the hook is due.
    fn push(&self, ev: Event) {
        let mut st = self.lock();
        if st.closed {
            drop(st);
            self.budget.give_back(ev.charge);
            return;
        }
        let was_empty = st.events.is_empty();
        st.events.push_back(ev);
        let mut wake_poller = false;
        let mut dispatcher_has_work = self.callback_mode;
        if !self.callback_mode {
            self.events_ready.store(true, Ordering::Release);
            wake_poller = st.pollers_waiting > 0;
            if was_empty && st.hook_set {
                st.wake_due = true;
                dispatcher_has_work = true;
            }
        }
        let wake_dispatcher = dispatcher_has_work && std::mem::take(&mut st.dispatcher_asleep);
        if dispatcher_has_work {
            self.work_ready.store(true, Ordering::Release);
        }
        drop(st);
        if wake_poller {
            self.event_ready.notify_one();
        }
        if wake_dispatcher {
            self.dispatcher_wake.notify_one();
        }
    }

    /// The dispatcher's wait for work: a short spin (see
    /// [`SPINS_BEFORE_SLEEP`]), then sleep until `has_work` or shutdown.
    /// Returns the locked state with work in it, or `None` at shutdown.
    fn wait_for_work(&self, has_work: impl Fn(&State) -> bool) -> Option<MutexGuard<'_, State>> {
        spin_until_set(&self.work_ready);
        let mut st = self.lock();
        loop {
            if has_work(&st) {
                self.work_ready.store(false, Ordering::Relaxed);
                return Some(st);
            }
            if st.closed {
                return None;
            }
            st.dispatcher_asleep = true;
            st = self.dispatcher_wake.wait(st).expect("event queue lock poisoned");
        }
    }

    fn pop(&self, timeout: Option<Duration>) -> Result<Option<Event>, ApiError> {
        if timeout != Some(Duration::ZERO) {
            // A poller that would wait: the same short spin as the dispatcher's
            // first, since the next event is often microseconds away.
            spin_until_set(&self.events_ready);
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut st = self.lock();
        loop {
            if let Some(ev) = st.events.pop_front() {
                if st.events.is_empty() {
                    self.events_ready.store(false, Ordering::Relaxed);
                }
                drop(st);
                // The host has it now: its memory is the host's to free.
                self.budget.give_back(ev.charge);
                return Ok(Some(ev));
            }
            if st.closed {
                return Err(ApiError::new(Status::Closed, "the app is being freed"));
            }
            st.pollers_waiting += 1;
            st = match deadline {
                None => self.event_ready.wait(st).expect("event queue lock poisoned"),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        st.pollers_waiting -= 1;
                        return Ok(None);
                    }
                    self.event_ready
                        .wait_timeout(st, d - now)
                        .expect("event queue lock poisoned")
                        .0
                }
            };
            st.pollers_waiting -= 1;
        }
    }

    /// Shutdown: nothing is queued from now on; the dispatcher ends once it
    /// has delivered what is queued (callback mode) or at once (poll mode,
    /// where the queue is dropped and pollers get `Closed`).
    fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        st.dispatcher_asleep = false;
        let dropped: Vec<Event> = if self.callback_mode {
            Vec::new()
        } else {
            self.events_ready.store(false, Ordering::Relaxed);
            st.events.drain(..).collect()
        };
        drop(st);
        for ev in dropped {
            self.budget.give_back(ev.charge);
        }
        self.dispatcher_wake.notify_all();
        self.event_ready.notify_all();
    }
}

/// Spins up to [`SPINS_BEFORE_SLEEP`] looks (a `yield_now` every 50) until
/// `flag` is set; the caller then takes the lock and sleeps if need be.
fn spin_until_set(flag: &AtomicBool) {
    for i in 0..SPINS_BEFORE_SLEEP {
        if flag.load(Ordering::Acquire) {
            return;
        }
        if i % 50 == 49 {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Callback mode: the dispatcher thread's loop. Takes every queued event at
/// once and calls back for each; at shutdown, ends once the queue is empty.
fn deliver_to_callback(shared: &Shared, mut handler: Handler) {
    let mut batch = VecDeque::new();
    while let Some(mut st) = shared.wait_for_work(|st| !st.events.is_empty()) {
        std::mem::swap(&mut st.events, &mut batch);
        drop(st);
        for ev in batch.drain(..) {
            handler(&ev);
            shared.budget.give_back(ev.charge);
        }
    }
}

/// Poll mode: the dispatcher thread's loop. Calls the wakeup hook after the
/// queue went from empty to non-empty; the events themselves go straight
/// from the workers to the pollers.
fn run_wakeup_hook(shared: &Shared) {
    while let Some(mut st) = shared.wait_for_work(|st| st.wake_due) {
        st.wake_due = false;
        drop(st);
        let mut hook = shared.wakeup.lock().expect("wakeup lock poisoned");
        if let Some(wake) = hook.as_ref() {
            wake();
        }
        if let Some(replacement) = shared.replacement.lock().expect("replacement lock poisoned").take() {
            *hook = replacement;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventKind, UserData};
    use std::sync::mpsc;

    fn event(task: u64) -> Event {
        Event::new(
            task,
            EventKind::Progress,
            format!("{{\"n\":{task}}}"),
            None,
            UserData(0),
        )
    }

    fn send(d: &Dispatcher, task: u64) {
        let ev = event(task);
        let r = d.reserve_now(ev.cost());
        d.send_reserved(ev, r);
    }

    #[test]
    fn callback_mode_delivers_in_order_and_everything_queued_before_shutdown() {
        let (tx, rx) = mpsc::channel();
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let gate = Mutex::new(gate_rx);
        let handler: Handler = Box::new(move |ev: &Event| {
            if ev.task == 0 {
                // Hold the dispatcher inside the first callback while more queue up.
                gate.lock()
                    .expect("gate")
                    .recv_timeout(Duration::from_secs(10))
                    .expect("gate opened");
            }
            tx.send(ev.task).expect("test alive");
        });
        let d = Dispatcher::start(Mode::Callback(handler), 7, 1 << 20).expect("thread");
        for task in 0..100 {
            send(&d, task);
        }
        assert!(d.queued_bytes() > 0);
        gate_tx.send(()).expect("dispatcher waits");
        d.shutdown();
        let got: Vec<u64> = rx.try_iter().collect();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        assert_eq!(d.queued_bytes(), 0);
        // After shutdown an event is dropped and its bytes are given back.
        send(&d, 100);
        assert_eq!(d.queued_bytes(), 0);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn poll_mode_hands_events_to_a_blocked_poller_and_wakes_once_per_empty_to_non_empty() {
        let d = Arc::new(Dispatcher::start(Mode::Poll, 8, 1 << 20).expect("thread"));
        let (woke_tx, woke_rx) = mpsc::channel();
        d.set_wakeup(Some(Box::new(move || {
            let _ = woke_tx.send(());
        })))
        .expect("poll mode");
        let poller = {
            let d = d.clone();
            std::thread::spawn(move || d.poll(Some(Duration::from_secs(10))))
        };
        // Wait (bounded) until the poller blocks, then push from this thread.
        let deadline = Instant::now() + Duration::from_secs(10);
        while d.shared.lock().pollers_waiting == 0 {
            assert!(Instant::now() < deadline, "the poller never blocked");
            std::thread::yield_now();
        }
        send(&d, 1);
        let got = poller
            .join()
            .expect("poller")
            .expect("poll ok")
            .expect("an event, not a timeout");
        assert_eq!(got.task, 1);
        woke_rx.recv_timeout(Duration::from_secs(10)).expect("the hook ran");
        // Two pushes onto an empty queue, no poll in between: one more wake, not two.
        send(&d, 2);
        send(&d, 3);
        woke_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the hook ran again");
        assert_eq!(d.poll(Some(Duration::ZERO)).expect("ok").map(|e| e.task), Some(2));
        assert_eq!(d.poll(Some(Duration::ZERO)).expect("ok").map(|e| e.task), Some(3));
        assert!(d.poll(Some(Duration::ZERO)).expect("ok").is_none());
        send(&d, 4);
        woke_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("empty again: woken again");
        assert!(woke_rx.try_recv().is_err(), "one wake per empty-to-non-empty");
        // Shutdown drops what is queued, gives its bytes back, and pollers get Closed.
        d.shutdown();
        assert_eq!(d.queued_bytes(), 0);
        let err = d.poll(Some(Duration::ZERO)).expect_err("closed");
        assert_eq!(err.status, Status::Closed);
    }

    #[test]
    fn a_hook_can_replace_or_remove_itself() {
        let d = Arc::new(Dispatcher::start(Mode::Poll, 9, 1 << 20).expect("thread"));
        let (woke_tx, woke_rx) = mpsc::channel();
        let weak = Arc::downgrade(&d);
        let tx = woke_tx.clone();
        d.set_wakeup(Some(Box::new(move || {
            let _ = tx.send("first");
            // One-shot: the hook hands over to a second one from inside itself.
            let d = weak.upgrade().expect("the test holds the dispatcher");
            let tx = tx.clone();
            let weak = Arc::downgrade(&d);
            d.set_wakeup(Some(Box::new(move || {
                let _ = tx.send("second");
                let d = weak.upgrade().expect("the test holds the dispatcher");
                d.set_wakeup(None).expect("removes itself");
            })))
            .expect("replaces itself");
        })))
        .expect("poll mode");
        for (task, want) in [(1, Some("first")), (2, Some("second")), (3, None)] {
            send(&d, task);
            match want {
                Some(want) => assert_eq!(woke_rx.recv_timeout(Duration::from_secs(10)), Ok(want)),
                None => {
                    // No hook: the event is there, and setting a hook from here still works.
                    let got = d.poll(Some(Duration::from_secs(10))).expect("ok").expect("event");
                    assert_eq!(got.task, task);
                    let tx = woke_tx.clone();
                    d.set_wakeup(Some(Box::new(move || {
                        let _ = tx.send("third");
                    })))
                    .expect("set from another thread");
                    send(&d, 4);
                    assert_eq!(woke_rx.recv_timeout(Duration::from_secs(10)), Ok("third"));
                }
            }
            if task < 3 {
                assert_eq!(d.poll(Some(Duration::ZERO)).expect("ok").map(|e| e.task), Some(task));
            }
        }
        assert!(woke_rx.try_recv().is_err(), "the removed hook did not run for task 3");
        d.shutdown();
    }
}
