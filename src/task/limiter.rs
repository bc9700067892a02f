//! The in-flight limit of an app (request + uploadFile + downloadFile) with
//! a FIFO queue beyond it. A task takes its place in the queue at the moment
//! the host calls the start function (not when its future first runs), so
//! the order is the call order.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

struct Inner {
    available: usize,
    waiters: VecDeque<oneshot::Sender<Permit>>,
}

/// Counts free slots and queues waiters in call order.
pub struct Limiter {
    inner: Mutex<Inner>,
}

/// One slot; released (handed to the next waiter) when dropped.
pub struct Permit {
    limiter: Option<Arc<Limiter>>,
}

/// A place in line, taken synchronously.
pub enum Ticket {
    Ready(Permit),
    Waiting(oneshot::Receiver<Permit>),
}

impl Limiter {
    pub fn new(slots: usize) -> Arc<Limiter> {
        Arc::new(Limiter {
            inner: Mutex::new(Inner {
                available: slots,
                waiters: VecDeque::new(),
            }),
        })
    }

    /// Takes a slot now, or a place at the end of the queue.
    pub fn enqueue(self: &Arc<Self>) -> Ticket {
        let mut inner = self.inner.lock().expect("limiter lock poisoned");
        if inner.available > 0 && inner.waiters.is_empty() {
            inner.available -= 1;
            return Ticket::Ready(Permit {
                limiter: Some(self.clone()),
            });
        }
        let (tx, rx) = oneshot::channel();
        inner.waiters.push_back(tx);
        Ticket::Waiting(rx)
    }

    /// Hands a freed slot to the first waiter still waiting, else frees it.
    fn release(self: &Arc<Self>) {
        loop {
            let waiter = {
                let mut inner = self.inner.lock().expect("limiter lock poisoned");
                match inner.waiters.pop_front() {
                    Some(w) => w,
                    None => {
                        inner.available += 1;
                        return;
                    }
                }
            };
            match waiter.send(Permit {
                limiter: Some(self.clone()),
            }) {
                Ok(()) => return,
                // That waiter was aborted: the same slot goes to the next one.
                Err(mut unclaimed) => unclaimed.limiter = None,
            }
        }
    }
}

impl Ticket {
    /// Waits for the slot. `None` only if the limiter is gone.
    pub async fn wait(self) -> Option<Permit> {
        match self {
            Ticket::Ready(p) => Some(p),
            Ticket::Waiting(rx) => rx.await.ok(),
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(limiter) = self.limiter.take() {
            limiter.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fifo_and_abandoned_places_pass_their_slot_on() {
        let l = Limiter::new(1);
        let first = l.enqueue().wait().await.expect("slot");
        let second = l.enqueue();
        let abandoned = l.enqueue();
        let third = l.enqueue();
        drop(abandoned);
        drop(first);
        let p2 = second.wait().await.expect("second gets it");
        drop(p2);
        let p3 = third.wait().await.expect("third gets it after the abandoned one");
        drop(p3);
        assert_eq!(l.inner.lock().expect("lock").available, 1);
    }
}
