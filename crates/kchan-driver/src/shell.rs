//! [`Shell`]: the engine's channel behind the driver's spin lock, plus what
//! every caller of it needs: completing finished receives after the lock is
//! released, waking the timer thread when a nearer deadline appears, and
//! counting the receive IRPs the driver owns (so unload can wait for them).
//!
//! Every entry point goes through [`Shell::with`]: take the lock (IRQL ->
//! DISPATCH_LEVEL), run the engine operation with an [`IrpSink`], note the
//! channel's next deadline, release the lock, complete the collected IRPs,
//! and return the closure's value — which may hold engine memory
//! (`Detached`, `Prepared`) that is then freed outside the lock by dropping it.

use crate::clock::KernelClock;
use crate::request::{IrpSink, Recv};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use kchan_engine::{Channel, SubscriberId};
use kchan_km::sync::{Event, SpinLock};

/// The channel type of this driver.
pub type Chan = Channel<Recv, KernelClock>;

/// Size of the table of attached subscribers (the engine's table is at most 64).
pub const MAX_SUBSCRIBERS: usize = 64;

struct State {
    /// `None` before `DriverEntry` set it up and after unload took it away.
    chan: Option<Chan>,
    /// Subscribers attached by CREATE and not yet closed by CLOSE, as
    /// `SubscriberId::to_u64() + 1` (0 = free), so unload can close them all.
    attached: [u64; MAX_SUBSCRIBERS],
}

/// The channel, its lock, and the bookkeeping around it. Lives in the
/// device extension (nonpaged); [`Shell::init`] runs at its final address.
pub struct Shell {
    state: SpinLock<State>,
    /// Deadline (100 ns ticks) the timer thread sleeps until; `u64::MAX`:
    /// none. Written and compared under the lock only.
    timer_target: AtomicU64,
    /// Wakes the timer thread (auto-reset).
    pub timer_wake: Event,
    /// Receive IRPs accepted by `IOCTL_RECV` and not yet completed.
    outstanding: AtomicUsize,
}

impl Shell {
    /// A shell without a channel; call [`Shell::init`] in place.
    pub const fn new() -> Self {
        Shell {
            state: SpinLock::new(State { chan: None, attached: [0; MAX_SUBSCRIBERS] }),
            timer_target: AtomicU64::new(u64::MAX),
            timer_wake: Event::uninit(),
            outstanding: AtomicUsize::new(0),
        }
    }

    /// Installs the channel and initializes the timer event. IRQL = PASSIVE_LEVEL.
    ///
    /// # Safety
    /// `self` is at its final address and not yet shared.
    pub unsafe fn init(&self, chan: Chan) {
        // SAFETY: final address, nobody waits on or sets it yet (caller).
        unsafe { self.timer_wake.init(kchan_km::ffi::SYNCHRONIZATION_EVENT, false) };
        self.state.lock().chan = Some(chan);
    }

    /// Runs `f` on the channel under the spin lock with a sink, then, with
    /// the lock released, wakes the timer if `f` created a nearer deadline
    /// and completes the receives `f` finished. `None` if the channel is
    /// gone (unload). IRQL <= DISPATCH_LEVEL; `f` runs at DISPATCH_LEVEL and
    /// must neither allocate nor free nor block.
    pub fn with<T>(&self, f: impl FnOnce(&mut Chan, &mut IrpSink) -> T) -> Option<T> {
        let mut sink = IrpSink::new();
        let (value, kick) = {
            let mut st = self.state.lock();
            let chan = st.chan.as_mut()?;
            let value = f(chan, &mut sink);
            // Relaxed: the target is only read and written under the lock.
            let kick = chan.next_deadline().is_some_and(|d| d < self.timer_target.load(Ordering::Relaxed));
            (value, kick)
        };
        if kick {
            // SAFETY: initialized in `init`; KeSetEvent at <= DISPATCH_LEVEL.
            unsafe { self.timer_wake.set() };
        }
        sink.complete_all(self);
        Some(value)
    }

    /// For the timer thread: runs `f`, then records the next deadline as the
    /// one it will sleep until, under the same lock hold (so a publish
    /// cannot slip a nearer deadline in between unnoticed).
    pub fn with_timer(&self, f: impl FnOnce(&mut Chan, &mut IrpSink)) -> Option<u64> {
        self.with(|chan, sink| {
            f(chan, sink);
            let next = chan.next_deadline().unwrap_or(u64::MAX);
            // Relaxed: under the lock (see `timer_target`).
            self.timer_target.store(next, Ordering::Relaxed);
            next
        })
    }

    /// Records a subscriber attached by CREATE (so unload can close it).
    pub fn remember(&self, id: SubscriberId) {
        let mut st = self.state.lock();
        if let Some(slot) = st.attached.iter_mut().find(|s| **s == 0) {
            *slot = id.to_u64().wrapping_add(1);
        }
    }

    /// Forgets a subscriber closed by CLOSE.
    pub fn forget(&self, id: SubscriberId) {
        let key = id.to_u64().wrapping_add(1);
        let mut st = self.state.lock();
        if let Some(slot) = st.attached.iter_mut().find(|s| **s == key) {
            *slot = 0;
        }
    }

    /// Removes and returns every remembered subscriber (unload).
    pub fn forget_all(&self) -> [Option<SubscriberId>; MAX_SUBSCRIBERS] {
        let mut st = self.state.lock();
        let mut out = [None; MAX_SUBSCRIBERS];
        for (o, s) in out.iter_mut().zip(st.attached.iter_mut()) {
            if *s != 0 {
                *o = Some(SubscriberId::from_u64(s.wrapping_sub(1)));
                *s = 0;
            }
        }
        out
    }

    /// Takes the channel away (unload), to be dropped by the caller outside
    /// the lock. Later `with` calls return `None`.
    pub fn take_channel(&self) -> Option<Chan> {
        self.state.lock().chan.take()
    }

    /// A receive IRP was accepted (before it becomes visible to anyone).
    pub fn receive_accepted(&self) {
        // Relaxed: a count; unload reads it after joining every producer
        // and polls until it reaches zero.
        self.outstanding.fetch_add(1, Ordering::Relaxed);
    }

    /// A receive IRP was completed (by any path).
    pub fn receive_done(&self) {
        // Release: everything the completer did with the shell happens
        // before unload's Acquire load sees the count drop.
        self.outstanding.fetch_sub(1, Ordering::Release);
    }

    /// Receive IRPs the driver still owns.
    pub fn outstanding(&self) -> usize {
        // Acquire: pairs with `receive_done`.
        self.outstanding.load(Ordering::Acquire)
    }
}

impl Default for Shell {
    fn default() -> Self {
        Self::new()
    }
}
