//! [`Rundown`]: counts the entries into something that is torn down, and
//! lets the teardown refuse new entries and wait for the last one to
//! leave, with no time limit. The semantics of `ExAcquireRundownProtection`
//! / `ExWaitForRundownProtectionRelease` (stubs in Wine 8, so written here,
//! over the kernel's event).
//!
//! The count and a "draining" bit share one word: an entry is refused once
//! the bit is set, and the exit that brings the count to zero while it is
//! set signals the event. The exit's event set is its last access to the
//! rundown, so the waiter may free it as soon as it wakes.

use crate::kernel::{Event, Kernel};
use crate::sync::{AtomicU64, Ordering};

/// Set once teardown started: no new entries.
const DRAINING: u64 = 1 << 63;

/// How often a long wait is logged, in 100 ns units (5 s).
const LOG_EVERY: u64 = 50_000_000;

/// Entries in progress, and the event the last one signals while draining.
pub struct Rundown<K: Kernel> {
    state: AtomicU64,
    drained: K::Event,
}

impl<K: Kernel> Rundown<K> {
    /// An open rundown; call [`Rundown::init`] in place.
    pub fn new() -> Self {
        Rundown { state: AtomicU64::new(0), drained: K::Event::uninit() }
    }

    /// Initializes the event.
    ///
    /// # Safety
    /// `self` is at its final address and not yet shared.
    pub unsafe fn init(&self) {
        // SAFETY: final address, not shared (caller); a notification event
        // stays set, so a waiter that comes late still sees it.
        unsafe { self.drained.init(false) };
    }

    /// Enters, unless teardown started. Any IRQL <= DISPATCH_LEVEL.
    pub fn enter(&self) -> bool {
        // Acquire on success: the entry happens after the check that no
        // drain started; Relaxed reloads on contention.
        let mut current = self.state.load(Ordering::Relaxed);
        loop {
            if current & DRAINING != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(current, current + 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => current = now,
            }
        }
    }

    /// Enters, for a guard that leaves when dropped; `None` once teardown
    /// started.
    pub fn guard(&self) -> Option<RundownGuard<'_, K>> {
        // Lazily: a guard built for a refused entry would leave on drop.
        self.enter().then(|| RundownGuard { rundown: self })
    }

    /// Leaves (pairs with a successful [`Rundown::enter`]). The last exit
    /// during a drain signals the waiter; nothing of `self` is touched
    /// after that. Any IRQL <= DISPATCH_LEVEL.
    pub fn exit(&self) {
        // Release: everything done inside happens before the drain sees
        // the count reach zero (AcqRel: and the DRAINING bit is read
        // coherently with the decrement).
        let before = self.state.fetch_sub(1, Ordering::AcqRel);
        debug_assert!(before & !DRAINING != 0, "rundown exit without entry");
        if before == DRAINING | 1 {
            self.drained.set();
        }
    }

    /// Entries in progress.
    pub fn active(&self) -> u64 {
        // Relaxed: a figure for logs and tests.
        self.state.load(Ordering::Relaxed) & !DRAINING
    }

    /// Refuses new entries, then waits until every entry has left, with no
    /// time limit (logging `what` every few seconds while it waits).
    /// IRQL = PASSIVE_LEVEL.
    pub fn drain(&self, what: &str) {
        crate::irql::passive::<K>();
        // AcqRel: later entries see the bit; the count read here is
        // ordered after every exit it reflects.
        let before = self.state.fetch_or(DRAINING, Ordering::AcqRel);
        if before & !DRAINING == 0 {
            return;
        }
        let mut waited = 0u64;
        while !self.drained.wait(Some(LOG_EVERY)) {
            waited += LOG_EVERY;
            K::log(format_args!("unload: waiting {} s for {} {}", waited / 10_000_000, self.active(), what));
        }
    }
}

impl<K: Kernel> Default for Rundown<K> {
    fn default() -> Self {
        Self::new()
    }
}

/// One entry into a [`Rundown`], left when dropped.
pub struct RundownGuard<'a, K: Kernel> {
    rundown: &'a Rundown<K>,
}

impl<K: Kernel> Drop for RundownGuard<'_, K> {
    fn drop(&mut self) {
        self.rundown.exit();
    }
}
