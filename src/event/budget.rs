//! The byte budget of one app's event queue (`maxQueuedEventBytes`).
//!
//! Every event counts its JSON and data (plus a fixed overhead) from the
//! moment it is queued until the host has it: in callback mode until the
//! callback returns, in poll mode until `poll` hands it out. Producers that
//! can wait (body chunks, progress, socket messages, a SUCCESS carrying a
//! body) [`reserve`](Budget::reserve) their bytes first and so wait while the
//! queue is full: they stop reading from their sockets and TCP flow control
//! slows the server. Events that must always get through (FAIL, SOCKET_CLOSE,
//! SOCKET_ERROR, upload progress from inside the body writer) are
//! [`charge`](Budget::charge)d without waiting: there is at most a handful per
//! task, so they cannot grow the queue without bound, and abort, close and
//! `wxnet_app_free` can never deadlock on a full queue.
//!
//! Waiters are served in arrival order, so a message larger than the whole
//! budget (it passes once the queue is empty) is not starved by small ones.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// What one queued event costs besides its JSON and data: the event itself,
/// its allocations and its place in the queue.
pub const EVENT_OVERHEAD_BYTES: usize = 128;

struct State {
    used: usize,
    /// Tickets of the producers waiting for room, oldest first.
    waiting: VecDeque<u64>,
    next_ticket: u64,
    /// Set when the app is freed: nobody waits any more.
    closed: bool,
}

/// Counts the bytes queued for the host; see the module docs.
pub struct Budget {
    limit: usize,
    state: Mutex<State>,
    room: Notify,
}

/// Bytes counted for an event about to be queued. Dropped unused (the
/// producer was aborted, or the task ended meanwhile), it gives them back.
pub struct Reservation {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Budget {
    pub fn new(limit: usize) -> Arc<Budget> {
        Arc::new(Budget {
            limit,
            state: Mutex::new(State {
                used: 0,
                waiting: VecDeque::new(),
                next_ticket: 0,
                closed: false,
            }),
            room: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("event budget lock poisoned")
    }

    /// Counts `bytes` at once, even over the limit (events that must not wait).
    pub fn charge(self: &Arc<Self>, bytes: usize) -> Reservation {
        self.lock().used += bytes;
        Reservation {
            budget: self.clone(),
            bytes,
        }
    }

    /// Waits until `bytes` fit (or the queue is empty, so that an event larger
    /// than the whole budget still passes alone), in arrival order, then
    /// counts them. Cancel-safe: dropping the future gives up its place.
    pub fn reserve(self: &Arc<Self>, bytes: usize) -> impl Future<Output = Reservation> + Send + 'static {
        let budget = self.clone();
        async move {
            let mut place = Place {
                budget: &budget,
                ticket: None,
            };
            loop {
                let notified = budget.room.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if place.try_take(bytes) {
                    break;
                }
                notified.await;
            }
            drop(place);
            Reservation { budget, bytes }
        }
    }

    fn release(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        let mut st = self.lock();
        st.used = st.used.saturating_sub(bytes);
        let someone_waits = !st.waiting.is_empty();
        drop(st);
        if someone_waits {
            self.room.notify_waiters();
        }
    }

    /// Lets every waiter through from now on (the app is being freed).
    pub fn close(&self) {
        self.lock().closed = true;
        self.room.notify_waiters();
    }

    /// Bytes queued for the host now.
    pub fn queued_bytes(&self) -> usize {
        self.lock().used
    }

    /// Producers waiting for room now.
    pub fn waiting_producers(&self) -> usize {
        self.lock().waiting.len()
    }
}

/// A producer's place in line while it waits for room.
struct Place<'a> {
    budget: &'a Budget,
    ticket: Option<u64>,
}

impl Place<'_> {
    /// Takes the bytes if they fit and no earlier producer waits; else takes
    /// (or keeps) a place in line.
    fn try_take(&mut self, bytes: usize) -> bool {
        let mut st = self.budget.lock();
        let first = match self.ticket {
            Some(t) => st.waiting.front() == Some(&t),
            None => st.waiting.is_empty(),
        };
        let fits = st.closed || st.used == 0 || st.used.saturating_add(bytes) <= self.budget.limit;
        if first && fits {
            st.used += bytes;
            if let Some(t) = self.ticket.take() {
                st.waiting.pop_front();
                debug_assert!(st.waiting.iter().all(|w| *w != t));
                // The next in line may fit too.
                drop(st);
                self.budget.room.notify_waiters();
            }
            return true;
        }
        if self.ticket.is_none() {
            let t = st.next_ticket;
            st.next_ticket += 1;
            st.waiting.push_back(t);
            self.ticket = Some(t);
        }
        false
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.ticket.take() {
            let mut st = self.budget.lock();
            st.waiting.retain(|w| *w != t);
            drop(st);
            // The one behind may be first now.
            self.budget.room.notify_waiters();
        }
    }
}

impl Reservation {
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Hands the counted bytes to the queued event: from now on the
    /// dispatcher gives them back (with [`Budget::give_back`]) once the host
    /// has the event.
    pub(crate) fn into_charge(mut self) -> usize {
        // Dropping `self` now releases nothing (0 bytes) but still drops its
        // `Arc<Budget>`; `mem::forget` here leaked the budget (valgrind).
        std::mem::take(&mut self.bytes)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.release(self.bytes);
    }
}

impl Budget {
    /// Gives back the bytes of an event the host now has (or that was dropped).
    pub(crate) fn give_back(&self, bytes: usize) {
        self.release(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn waits_for_room_in_order_and_an_oversized_event_passes_alone() {
        let b = Budget::new(100);
        let first = b.reserve(60).await;
        assert_eq!(b.queued_bytes(), 60);
        let big = tokio::spawn(b.reserve(500));
        tokio::task::yield_now().await;
        while b.waiting_producers() == 0 {
            tokio::task::yield_now().await;
        }
        // A small one fits but is behind the big one: it waits too.
        let small = tokio::spawn(b.reserve(10));
        while b.waiting_producers() < 2 {
            tokio::task::yield_now().await;
        }
        drop(first);
        let big = tokio::time::timeout(Duration::from_secs(5), big)
            .await
            .expect("big passes once the queue is empty")
            .expect("join");
        assert_eq!(b.queued_bytes(), 500);
        assert!(!small.is_finished());
        drop(big);
        let small = tokio::time::timeout(Duration::from_secs(5), small)
            .await
            .expect("small follows")
            .expect("join");
        assert_eq!(small.bytes(), 10);
        drop(small);
        assert_eq!(b.queued_bytes(), 0);
        assert_eq!(b.waiting_producers(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_waiter_gives_up_its_place_and_close_lets_everyone_through() {
        let b = Budget::new(10);
        let held = b.charge(50);
        let cancelled = tokio::spawn(b.reserve(5));
        while b.waiting_producers() == 0 {
            tokio::task::yield_now().await;
        }
        cancelled.abort();
        let _ = cancelled.await;
        assert_eq!(b.waiting_producers(), 0);
        let waiter = tokio::spawn(b.reserve(5));
        while b.waiting_producers() == 0 {
            tokio::task::yield_now().await;
        }
        b.close();
        let r = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("close lets it through")
            .expect("join");
        assert_eq!(b.queued_bytes(), 55);
        drop((held, r));
        assert_eq!(b.queued_bytes(), 0);
    }
}
