//! [`Subscription`]: this handle's subscriber in the driver, with its K
//! receives in flight on a completion port of their own.

use crate::receiver::{Batch, ClientStats, Receiver};
use crate::sys::windows::iocp::CompletionPort;
use crate::sys::windows::recv_port::{IocpPort, KEY_WAKE};
use crate::{Device, Item, Result, SubscribeOptions};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// A subscription: this handle's subscriber in the driver, with K receive
/// requests kept in flight.
///
/// [`next_batch`](Subscription::next_batch) lends out the records of one
/// completed receive; the request is posted again when the next batch is
/// asked for. [`events`](Subscription::events) is the same as an iterator of
/// owned items. Dropping the subscription at any moment is safe: it cancels
/// every request still in flight and waits for each one's completion before
/// its buffer is freed.
pub struct Subscription {
    receiver: Receiver<IocpPort<Device>>,
}

/// Wakes a thread blocked in [`Subscription::next_batch_timeout`] from
/// another thread; that call then returns `Ok(None)`.
#[derive(Clone)]
pub struct Wakeup {
    port: Arc<CompletionPort>,
}

impl Wakeup {
    /// Wakes the waiter (or the next wait, if none waits now).
    pub fn wake(&self) {
        let _ = self.port.post(KEY_WAKE);
    }
}

impl Subscription {
    pub(crate) fn start(device: Device, options: SubscribeOptions, first_seq: Option<u64>) -> Result<Subscription> {
        let max_in_flight = options.config().max_in_flight.max(1) as usize;
        let port = IocpPort::new(device, max_in_flight)?;
        let receiver = Receiver::start(port, max_in_flight, options.receive_buffer_bytes(), first_seq)?;
        Ok(Subscription { receiver })
    }

    /// The device this subscription receives from (for control calls).
    pub fn device(&self) -> &Device {
        self.receiver.port().device()
    }

    /// A handle that interrupts a blocking wait from another thread.
    pub fn wakeup(&self) -> Wakeup {
        Wakeup { port: self.receiver.port().completion_port().clone() }
    }

    /// What this client has received so far.
    pub fn client_stats(&self) -> ClientStats {
        self.receiver.stats()
    }

    /// Receives pending in the driver now (at most the subscriber's limit
    /// K; one less while a batch is lent out).
    pub fn pending_receives(&self) -> usize {
        self.receiver.pending()
    }

    /// Waits for the next batch.
    pub fn next_batch(&mut self) -> Result<Batch<'_>> {
        // A wake-up ends a wait without a batch: wait again. (Polonius
        // would take `while let`; today's borrow checker needs the detour.)
        while self.receiver.next_batch(None)?.is_none() {}
        Ok(self.receiver.lent().expect("a batch was just lent"))
    }

    /// Waits at most `timeout` for the next batch; `Ok(None)` on time-out or
    /// when woken by a [`Wakeup`].
    pub fn next_batch_timeout(&mut self, timeout: Duration) -> Result<Option<Batch<'_>>> {
        self.receiver.next_batch(Some(timeout))
    }

    /// The subscription as an iterator of owned events and gaps.
    pub fn events(&mut self) -> Events<'_> {
        Events { sub: self, pending: VecDeque::new() }
    }
}

/// Owned events and gaps of a [`Subscription`], in sequence order.
pub struct Events<'a> {
    sub: &'a mut Subscription,
    pending: VecDeque<Item>,
}

impl Iterator for Events<'_> {
    type Item = Result<Item>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.pending.is_empty() {
            match self.sub.next_batch() {
                Ok(batch) => self.pending.extend(batch.records().map(|r| Item::from_record(&r))),
                Err(e) => return Some(Err(e)),
            }
        }
        self.pending.pop_front().map(Ok)
    }
}
