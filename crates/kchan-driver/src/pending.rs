//! Pending receives: a queue of IRPs, each cancellable, with exactly one
//! completer.
//!
//! # Protocol
//!
//! An IRP in the queue has our cancel routine set. Three parties may want
//! to complete it: a completer (delivery thread, CLOSE/CLEANUP, unload), the
//! cancel routine (via `IoCancelIrp`), and nobody else. Ownership goes to
//! whoever swaps the cancel routine out:
//!
//! - A completer, holding the queue lock, calls
//!   `IoSetCancelRoutine(irp, NULL)`. Non-null: the IRP is its own; it unlinks
//!   it and completes it *after* releasing the lock. Null: `IoCancelIrp`
//!   already took the routine, which is running or about to, and will unlink
//!   the IRP under the same lock: the completer leaves it alone.
//! - The cancel routine releases the cancel spin lock, takes the queue lock,
//!   unlinks the IRP, releases the lock and completes it `STATUS_CANCELLED`.
//!   The IRP is always still linked when it runs: completers never unlink an
//!   IRP whose routine they could not claim.
//! - Queuing sets the routine, then checks `Irp->Cancel`: if cancelled and
//!   the routine can be claimed back, it is completed at once; if cancelled
//!   but the routine was already taken, it is queued anyway so the cancel
//!   routine finds and unlinks it.
//!
//! No IRP is completed while the queue lock is held (completion can run
//! other drivers' completion routines and, under Wine, talks to wineserver).
//!
//! The lock is a [`SpinLock`], so every function here may run at IRQL
//! <= DISPATCH_LEVEL; the cancel routine runs at DISPATCH_LEVEL.

use crate::device::Device;
use core::mem::offset_of;
use core::ptr;
use kchan_km::ffi::{
    status, DeviceObject, IoReleaseCancelSpinLock, Irp, ListEntry, NTSTATUS,
};
use kchan_km::sync::SpinLock;
use kchan_km::{irp, list};

struct PendingList {
    /// Head of the IRPs, linked through `Irp::list_entry`.
    head: ListEntry,
    /// Number of linked IRPs.
    count: usize,
    /// Set by unload: no IRP may be queued any more.
    closed: bool,
}

/// The queue of pending receives. Lives in the device extension; must not
/// move after [`PendingQueue::init`].
pub struct PendingQueue {
    inner: SpinLock<PendingList>,
}

// SAFETY: the raw list pointers are only followed under the lock, and point
// to IRPs (kernel memory valid on any thread) or to the head itself.
unsafe impl Send for PendingList {}

/// The IRP whose `Tail.Overlay.ListEntry` is `entry` (`CONTAINING_RECORD`).
fn irp_of(entry: *mut ListEntry) -> *mut Irp {
    entry.wrapping_byte_sub(offset_of!(Irp, list_entry)).cast::<Irp>()
}

impl PendingQueue {
    /// An uninitialized queue; call [`PendingQueue::init`] at its final
    /// address.
    pub const fn new() -> Self {
        Self {
            inner: SpinLock::new(PendingList {
                head: ListEntry { flink: ptr::null_mut(), blink: ptr::null_mut() },
                count: 0,
                closed: false,
            }),
        }
    }

    /// Links the empty list head to itself.
    ///
    /// # Safety
    /// `self` is at its final address and not yet shared.
    pub unsafe fn init(&self) {
        let mut q = self.inner.lock();
        // SAFETY: the head is valid for writes (we hold the lock) and stays
        // at this address (caller).
        unsafe { list::init(&mut q.head) };
    }

    /// Number of IRPs in the queue.
    pub fn len(&self) -> usize {
        self.inner.lock().count
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Refuses every later [`PendingQueue::push`] (unload).
    pub fn close(&self) {
        self.inner.lock().closed = true;
    }

    /// Queues `irp` as pending and returns `STATUS_PENDING`, or completes it
    /// at once (`STATUS_CANCELLED` if already cancelled,
    /// `STATUS_DELETE_PENDING` after [`PendingQueue::close`]) and returns
    /// that status. The dispatch routine returns the result as is and does
    /// not touch `irp` again.
    ///
    /// # Safety
    /// Called from the dispatch routine that owns `irp`, a device control
    /// IRP of this device, IRQL <= DISPATCH_LEVEL.
    pub unsafe fn push(&self, irp: *mut Irp) -> NTSTATUS {
        let mut q = self.inner.lock();
        let refuse = if q.closed {
            Some(status::DELETE_PENDING)
        } else {
            // SAFETY: we own `irp` (caller) and it is not visible to any
            // completer yet; `cancel_recv` matches DRIVER_CANCEL.
            unsafe { irp::set_cancel_routine(irp, Some(cancel_recv)) };
            // SAFETY: as above; the Cancel flag is read after the exchange.
            let cancelled = unsafe { irp::is_cancelled(irp) };
            // SAFETY: as above.
            if cancelled && unsafe { irp::set_cancel_routine(irp, None) }.is_some() {
                Some(status::CANCELLED)
            } else {
                // Not cancelled, or cancelled with the routine already taken
                // by IoCancelIrp: queue it; the routine will unlink it.
                None
            }
        };
        if let Some(st) = refuse {
            drop(q);
            // SAFETY: still ours: never linked, cancel routine cleared (or
            // never set). Completed outside the lock.
            unsafe { irp::complete(irp, st, 0) };
            return st;
        }
        // SAFETY: we own `irp` until the lock is released.
        unsafe { irp::mark_pending(irp) };
        // SAFETY: we own the IRP; this only takes a field address.
        let entry = unsafe { ptr::addr_of_mut!((*irp).list_entry) };
        // SAFETY: initialized head, the IRP's entry is unlinked, lock held.
        unsafe { list::push_back(&mut q.head, entry) };
        q.count += 1;
        drop(q);
        // From here on `irp` may already be completed by another party.
        status::PENDING
    }

    /// Claims up to `max` queued IRPs for which `select` is true, in queue
    /// order, and, after releasing the lock, hands each to `complete`, which
    /// must complete it. IRPs whose cancel routine is already running are
    /// skipped (the routine completes them). Returns how many were claimed.
    ///
    /// `select` runs under the spin lock (DISPATCH_LEVEL): it must only read
    /// the IRP. IRQL <= DISPATCH_LEVEL.
    pub fn take(
        &self,
        max: usize,
        mut select: impl FnMut(*mut Irp) -> bool,
        mut complete: impl FnMut(*mut Irp),
    ) -> usize {
        let mut claimed = ListEntry { flink: ptr::null_mut(), blink: ptr::null_mut() };
        let claimed_head: *mut ListEntry = &mut claimed;
        // SAFETY: a local head, not moved while the list is in use below.
        unsafe { list::init(claimed_head) };
        let mut n = 0;
        {
            let mut q = self.inner.lock();
            let head: *mut ListEntry = &mut q.head;
            // SAFETY: initialized head, lock held.
            let mut entry = unsafe { (*head).flink };
            while n < max && !ptr::eq(entry, head) {
                // SAFETY: `entry` is a linked member (lock held).
                let next = unsafe { (*entry).flink };
                let irp = irp_of(entry);
                // SAFETY: a queued IRP stays valid while linked: only its
                // owner unlinks it, under this lock.
                if select(irp) && unsafe { irp::set_cancel_routine(irp, None) }.is_some() {
                    // SAFETY: we won the claim; unlink it (lock held)...
                    unsafe { list::remove(entry) };
                    // SAFETY: ...and link it into the local list (ours).
                    unsafe { list::push_back(claimed_head, entry) };
                    q.count -= 1;
                    n += 1;
                }
                entry = next;
            }
        }
        // Lock released: complete what we claimed.
        // SAFETY: the local list holds only IRPs we own.
        while let Some(entry) = unsafe { list::pop_front(claimed_head) } {
            complete(irp_of(entry));
        }
        n
    }
}

impl Default for PendingQueue {
    fn default() -> Self {
        Self::new()
    }
}

/// Cancel routine of a queued receive (`DRIVER_CANCEL`).
///
/// Called by `IoCancelIrp` at DISPATCH_LEVEL holding the cancel spin lock,
/// after it swapped our routine out: the IRP is ours, and still linked.
unsafe extern "system" fn cancel_recv(device: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the IRP is ours (we won it from `IoCancelIrp`).
    let cancel_irql = unsafe { (*irp).cancel_irql };
    // SAFETY: the I/O manager holds the cancel spin lock for us and stored
    // the IRQL to restore in `CancelIrql`; we release it first, as required.
    unsafe { IoReleaseCancelSpinLock(cancel_irql) };
    // SAFETY: `device` is our device (cancel routines run only for IRPs we
    // queued, and unload waits for the queue to drain before deleting it).
    let dev = unsafe { Device::from_object(device) };
    {
        let mut q = dev.pending.inner.lock();
        // SAFETY: the IRP is ours; this only takes a field address.
        let entry = unsafe { ptr::addr_of_mut!((*irp).list_entry) };
        // SAFETY: the IRP is linked (see the module's protocol); lock held.
        unsafe { list::remove(entry) };
        q.count -= 1;
    }
    // SAFETY: we own the IRP; completed outside the queue lock.
    unsafe { irp::complete(irp, status::CANCELLED, 0) };
}
