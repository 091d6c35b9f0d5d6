//! [`PoolAllocator`]: a `GlobalAlloc` over `ExAllocatePoolWithTag` /
//! `ExFreePoolWithTag` in `NonPagedPoolNx`, counting live allocations and
//! bytes so that tests and `DriverUnload` can prove nothing leaks.
//!
//! Nonpaged, so memory from it may be touched at DISPATCH_LEVEL; allocating
//! and freeing are allowed at IRQL <= DISPATCH_LEVEL. (The engine's design
//! still allocates only at subscribe time, never on the publish path.)
//!
//! The pool returns 16-byte aligned blocks on x64. Larger alignments are
//! served by over-allocating and storing the pool pointer just below the
//! aligned block.
//!
//! The driver declares the instance:
//! `#[global_allocator] static ALLOC: PoolAllocator = PoolAllocator::new(u32::from_le_bytes(*b"kchn"));`

use crate::ffi::{ExAllocatePoolWithTag, ExFreePoolWithTag, NON_PAGED_POOL_NX};
use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Alignment the pool guarantees on x64 (`MEMORY_ALLOCATION_ALIGNMENT`).
const POOL_ALIGN: usize = 16;

/// Global allocator over the nonpaged pool, with counters.
pub struct PoolAllocator {
    tag: u32,
    live_allocs: AtomicUsize,
    live_bytes: AtomicUsize,
    total_allocs: AtomicU64,
    failed_allocs: AtomicU64,
}

/// A snapshot of [`PoolAllocator`]'s counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Allocations not yet freed.
    pub live_allocs: usize,
    /// Bytes requested by the live allocations (without alignment slack).
    pub live_bytes: usize,
    /// Allocations ever made.
    pub total_allocs: u64,
    /// Allocations the pool refused.
    pub failed_allocs: u64,
}

impl PoolAllocator {
    /// An allocator tagging its blocks with `tag` (four ASCII bytes,
    /// little-endian, as shown by pool tools).
    pub const fn new(tag: u32) -> Self {
        Self {
            tag,
            live_allocs: AtomicUsize::new(0),
            live_bytes: AtomicUsize::new(0),
            total_allocs: AtomicU64::new(0),
            failed_allocs: AtomicU64::new(0),
        }
    }

    /// Current counters. Any IRQL. The fields are read one by one, so under
    /// concurrent allocation they may be mutually a little out of date;
    /// when quiescent they are exact.
    pub fn stats(&self) -> PoolStats {
        // Relaxed: counters are statistics, not synchronization; nothing
        // else is published through them.
        PoolStats {
            live_allocs: self.live_allocs.load(Ordering::Relaxed),
            live_bytes: self.live_bytes.load(Ordering::Relaxed),
            total_allocs: self.total_allocs.load(Ordering::Relaxed),
            failed_allocs: self.failed_allocs.load(Ordering::Relaxed),
        }
    }

    /// Extra bytes requested for `layout` so an aligned block and the saved
    /// pool pointer fit.
    fn slack(layout: Layout) -> usize {
        if layout.align() <= POOL_ALIGN {
            0
        } else {
            layout.align()
        }
    }
}

// SAFETY: `alloc` returns blocks of at least `layout.size()` bytes aligned to
// `layout.align()` (pool alignment, or over-allocation), or null; `dealloc`
// frees exactly the pool block `alloc` got for that pointer and layout.
unsafe impl GlobalAlloc for PoolAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // The driver allocates at PASSIVE_LEVEL only (never on the publish
        // path), although the nonpaged pool would allow DISPATCH_LEVEL.
        crate::irql::passive();
        let slack = Self::slack(layout);
        let Some(bytes) = layout.size().max(1).checked_add(slack) else {
            self.failed_allocs.fetch_add(1, Ordering::Relaxed);
            return core::ptr::null_mut();
        };
        // SAFETY: nonpaged pool may be allocated at IRQL <= DISPATCH_LEVEL,
        // which is where Rust code of this driver runs (dispatch routines,
        // system thread, spin-lock holders).
        let raw = unsafe { ExAllocatePoolWithTag(NON_PAGED_POOL_NX, bytes, self.tag) }.cast::<u8>();
        if raw.is_null() {
            self.failed_allocs.fetch_add(1, Ordering::Relaxed);
            return raw;
        }
        // Relaxed: statistics only (see `stats`).
        self.live_allocs.fetch_add(1, Ordering::Relaxed);
        self.live_bytes.fetch_add(layout.size(), Ordering::Relaxed);
        self.total_allocs.fetch_add(1, Ordering::Relaxed);
        if slack == 0 {
            return raw;
        }
        // Over-aligned: the first aligned address past `raw` leaves at least
        // POOL_ALIGN (>= 8) bytes below it for the saved pointer.
        let offset = layout.align() - (raw as usize & (layout.align() - 1));
        // SAFETY: `offset` is in 1..=align = slack, so `aligned` and the
        // `size` bytes after it are inside the block.
        let aligned = unsafe { raw.add(offset) };
        // SAFETY: `aligned - 8` is inside the block (offset >= 16 because raw
        // is 16-aligned and align > 16) and 8-aligned.
        let saved = unsafe { aligned.cast::<*mut u8>().sub(1) };
        // SAFETY: `saved` is inside the block just allocated (which only
        // this call knows) and 8-aligned.
        unsafe { saved.write(raw) };
        aligned
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        crate::irql::at_most_dispatch();
        let raw = if Self::slack(layout) == 0 {
            ptr
        } else {
            // SAFETY: `alloc` stored the pool pointer right below `ptr` for
            // this over-aligned layout (the caller passes the same layout).
            let saved = unsafe { ptr.cast::<*mut u8>().sub(1) };
            // SAFETY: `alloc` wrote the pool pointer at `saved`, 8-aligned
            // and inside the block, which is still allocated (freed below).
            unsafe { saved.read() }
        };
        // SAFETY: `raw` came from ExAllocatePoolWithTag with this tag and is
        // freed once (GlobalAlloc contract). IRQL <= DISPATCH_LEVEL.
        unsafe { ExFreePoolWithTag(raw.cast::<c_void>(), self.tag) };
        // Relaxed: statistics only.
        self.live_allocs.fetch_sub(1, Ordering::Relaxed);
        self.live_bytes.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}
