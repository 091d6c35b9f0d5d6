//! [`LockedChannel`]: the engine's channel behind the driver's spin lock,
//! plus what every user of it needs: completing finished receives after
//! the lock is released, counting the receive IRPs the driver holds (so
//! unload can wait for them), and waking the timer when a nearer deadline
//! appears.
//!
//! Every operation goes through [`LockedChannel::with`]: take the lock
//! (DISPATCH_LEVEL), run the engine operation with a [`CompletionSink`],
//! note the channel's next deadline, release the lock, wake the timer if
//! needed, complete the collected IRPs, and return the closure's value —
//! which may hold engine memory (`Detached`, `Prepared`) that the caller
//! frees outside the lock by dropping it.

use crate::kernel::{Event, Kernel, SpinLock};
use crate::rundown::Rundown;
use crate::sink::{CompletionSink, Recv};
use crate::sync::{AtomicU64, Ordering};
use kchan_engine::{Channel, Clock};

/// The engine's channel as the driver instantiates it.
pub type EngineChannel<K> = Channel<Recv<K>, <K as Kernel>::Clock>;

/// No deadline.
const NONE: u64 = u64::MAX;

/// The channel, its lock, the receive count and the timer's wake-up.
pub struct LockedChannel<K: Kernel> {
    /// `None` once unload took the channel away.
    state: K::Lock<Option<EngineChannel<K>>>,
    /// Deadline (100 ns ticks) the timer sleeps until, [`NONE`] for none.
    /// Read and written under the lock only.
    timer_target: AtomicU64,
    /// Wakes the timer (auto-reset).
    timer_wake: K::Event,
    /// Receive IRPs the driver holds: entered when a receive is accepted,
    /// left when it is completed, by whichever path.
    pub receives: Rundown<K>,
}

impl<K: Kernel> LockedChannel<K> {
    /// Wraps `chan`; call [`LockedChannel::init`] in place.
    pub fn new(chan: EngineChannel<K>) -> Self {
        LockedChannel {
            state: K::Lock::new(Some(chan)),
            timer_target: AtomicU64::new(NONE),
            timer_wake: K::Event::uninit(),
            receives: Rundown::new(),
        }
    }

    /// Initializes the events.
    ///
    /// # Safety
    /// `self` is at its final address and not yet shared.
    pub unsafe fn init(&self) {
        // SAFETY: final address, not yet shared (caller).
        unsafe { self.timer_wake.init(true) };
        // SAFETY: `receives` is a field of `self`: at its final address,
        // not yet shared (caller).
        unsafe { self.receives.init() };
    }

    /// Runs `f` on the channel under the spin lock with a sink; then, with
    /// the lock released, wakes the timer if `f` created a nearer deadline
    /// and completes the receives `f` finished. `None` if unload took the
    /// channel. IRQL <= DISPATCH_LEVEL; `f` runs at DISPATCH_LEVEL and must
    /// neither allocate, free nor block.
    pub fn with<T>(&self, f: impl FnOnce(&mut EngineChannel<K>, &mut CompletionSink<K>) -> T) -> Option<T> {
        crate::irql::at_most_dispatch::<K>();
        let mut sink = CompletionSink::new();
        let (value, wake_timer) = self.state.with(|state| {
            let chan = state.as_mut()?;
            let value = f(chan, &mut sink);
            // O(1): the engine's bound, never later than the next deadline.
            // Relaxed: the target is only accessed under the lock.
            let nearer = chan.deadline_bound().is_some_and(|d| d < self.timer_target.load(Ordering::Relaxed));
            Some((value, nearer))
        })?;
        if wake_timer {
            self.timer_wake.set();
        }
        sink.complete_all(&self.receives);
        Some(value)
    }

    /// For the timer: completes what is due now, and records the next
    /// deadline as the one it sleeps until, in the same lock hold (so a
    /// publish cannot slip a nearer one in unnoticed). Returns now and that
    /// deadline (`None` for none), or `None` once the channel is gone.
    pub fn on_timer(&self) -> Option<(u64, Option<u64>)> {
        self.with(|chan, sink| {
            let now = chan.clock().now();
            chan.on_timer(now, sink);
            // Exact after `on_timer`.
            let next = chan.deadline_bound();
            // Relaxed: under the lock (see `timer_target`).
            self.timer_target.store(next.unwrap_or(NONE), Ordering::Relaxed);
            (now, next)
        })
    }

    /// The timer's wake-up event.
    pub fn timer_wake(&self) -> &K::Event {
        &self.timer_wake
    }

    /// Takes the channel away (unload), to be dropped outside the lock.
    pub fn take(&self) -> Option<EngineChannel<K>> {
        self.state.with(Option::take)
    }
}
