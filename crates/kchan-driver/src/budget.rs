//! [`RingBudget`]: one limit on the ring memory of all subscribers
//! together, so that opens and subscribes cannot exhaust the non-paged pool
//! (64 handles asking for 64 MiB rings each would take 4 GiB).
//!
//! A subscribe reserves its ring's bytes *before* allocating the ring, and
//! is refused with `STATUS_INSUFFICIENT_RESOURCES`, changing nothing, when
//! the reservation does not fit. The bytes come back when the ring is freed:
//! a refused or replaced ring, or a closed subscriber's.

use crate::sync::{AtomicUsize, Ordering};

/// The ring budget used when the service key names none: 256 MiB, room for
/// 64 clients with the client library's 4 MiB default ring.
pub const DEFAULT_RING_BUDGET_BYTES: usize = 256 << 20;

/// Ring bytes in use against a fixed limit.
pub struct RingBudget {
    limit: usize,
    used: AtomicUsize,
}

impl RingBudget {
    /// A budget of `limit` bytes, none used.
    pub fn new(limit: usize) -> Self {
        RingBudget { limit, used: AtomicUsize::new(0) }
    }

    /// Reserves `bytes`; false (and nothing reserved) if they do not fit.
    /// Any IRQL <= DISPATCH_LEVEL.
    pub fn reserve(&self, bytes: usize) -> bool {
        // Relaxed: the count guards no other memory; each reservation is a
        // single read-modify-write.
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    /// Gives back `bytes` reserved earlier.
    pub fn release(&self, bytes: usize) {
        // Relaxed: see `reserve`.
        let before = self.used.fetch_sub(bytes, Ordering::Relaxed);
        debug_assert!(before >= bytes, "ring budget released more than reserved");
    }

    /// The limit, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes reserved now.
    pub fn used(&self) -> usize {
        // Relaxed: a figure for STATS.
        self.used.load(Ordering::Relaxed)
    }
}
