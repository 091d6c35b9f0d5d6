//! `IOCTL_RECV`: post a receive to the engine, and its cancel routine.
//!
//! # Protocol (who completes a receive)
//!
//! The IRP's cancel routine is set *under the channel lock*, in the same
//! hold that posts it to the engine, and every other party that may
//! complete it also needs that lock. Ownership goes to whoever swaps the
//! routine out with `IoSetCancelRoutine(irp, NULL)`:
//!
//! - the engine, before completing it with a batch or at close
//!   ([`crate::request::Recv::try_claim`]); the IRP then goes to the sink
//!   and is completed after the lock is released;
//! - this module, when the engine refuses the post (K pending, closing...)
//!   or the IRP was cancelled before it was posted;
//! - otherwise `IoCancelIrp` took it: [`cancel_recv`] runs, takes the lock,
//!   removes the IRP from the engine if it is there (`cancel_reap`; it may
//!   not be, if the post was refused or skipped) and completes it
//!   `STATUS_CANCELLED`. It is the only owner left, so it always completes.
//!
//! The dispatch routine returns the status of a receive it completed itself
//! (at once, with a batch or an error), and `STATUS_PENDING` — after
//! `IoMarkIrpPending`, done under the lock before anyone else can see the
//! IRP — for one that stays in the engine or with the cancel routine.

use crate::device::Device;
use crate::request::Recv;
use kchan_engine::SubscriberId;
use kchan_km::ffi::{status, DeviceObject, IoReleaseCancelSpinLock, Irp, NTSTATUS};
use kchan_km::irp;

enum Fate {
    /// Ours to complete after the lock, with this status.
    Complete(NTSTATUS),
    /// In the sink: completed with this status by `Shell::with`.
    Completed(NTSTATUS),
    /// Marked pending: the engine or the cancel routine completes it.
    Pending,
}

/// Posts receive `irp` of subscriber `sub`; its output buffer `buf` of
/// `len` bytes was checked by the caller. Returns the dispatch status; the
/// caller must not touch `irp` afterwards.
///
/// # Safety
/// Called from the dispatch routine that owns `irp`, a METHOD_BUFFERED
/// `IOCTL_RECV` of our device whose system buffer `buf` holds `len` bytes.
/// IRQL = PASSIVE_LEVEL.
pub unsafe fn post(dev: &Device, irp: *mut Irp, sub: SubscriberId, buf: *mut u8, len: usize) -> NTSTATUS {
    // The cancel routine finds the subscriber here.
    // SAFETY: we own the IRP; DriverContext is the owner's scratch space.
    unsafe { (*irp).driver_context[0] = sub.to_u64() as *mut core::ffi::c_void };
    dev.shell.receive_accepted();
    // SAFETY: ownership as required by `Recv::new` (caller's contract).
    let req = unsafe { Recv::new(irp, buf, len) };
    let fate = dev.shell.with(|chan, sink| {
        // SAFETY: we own the IRP and nobody else can see it yet (every other
        // completer needs this lock); `cancel_recv` matches DRIVER_CANCEL.
        unsafe { irp::set_cancel_routine(irp, Some(cancel_recv)) };
        // SAFETY: as above; read after the exchange (SeqCst).
        if unsafe { irp::is_cancelled(irp) } {
            return reclaim_or_pend(irp, status::CANCELLED);
        }
        match chan.post(sub, req, sink) {
            Ok(()) => match sink.status_of(irp) {
                Some(st) => Fate::Completed(st),
                None => {
                    // SAFETY: queued in the engine, but nobody can complete
                    // it before we release the lock.
                    unsafe { irp::mark_pending(irp) };
                    Fate::Pending
                }
            },
            Err((_req, e)) => reclaim_or_pend(irp, e.ntstatus()),
        }
    });
    match fate {
        Some(Fate::Pending) => status::PENDING,
        Some(Fate::Completed(st)) => st,
        Some(Fate::Complete(st)) => {
            // SAFETY: we reclaimed the IRP (cancel routine swapped out).
            unsafe { irp::complete(irp, st, 0) };
            dev.shell.receive_done();
            st
        }
        None => {
            // The channel is gone (unload); the cancel routine was never set.
            // SAFETY: still only ours.
            unsafe { irp::complete(irp, status::DELETE_PENDING, 0) };
            dev.shell.receive_done();
            status::DELETE_PENDING
        }
    }
}

/// Under the lock: takes the IRP back from our cancel routine to complete it
/// with `st`, or, if `IoCancelIrp` already took the routine, leaves it to
/// [`cancel_recv`] (which waits for this lock) and marks it pending.
fn reclaim_or_pend(irp: *mut Irp, st: NTSTATUS) -> Fate {
    // SAFETY: the IRP is live and was ours until the routine was set.
    if unsafe { irp::set_cancel_routine(irp, None) }.is_some() {
        Fate::Complete(st)
    } else {
        // SAFETY: the cancel routine cannot complete it before we release
        // the lock, so marking it pending here is still the owner's act.
        unsafe { irp::mark_pending(irp) };
        Fate::Pending
    }
}

/// Cancel routine of a posted receive (`DRIVER_CANCEL`).
///
/// Called by `IoCancelIrp` at DISPATCH_LEVEL holding the cancel spin lock,
/// after it swapped our routine out: the IRP is ours alone.
unsafe extern "system" fn cancel_recv(device: *mut DeviceObject, irp: *mut Irp) {
    // SAFETY: the IRP is ours (we won it from `IoCancelIrp`).
    let cancel_irql = unsafe { (*irp).cancel_irql };
    // SAFETY: the I/O manager holds the cancel spin lock for us and stored
    // the IRQL to restore in `CancelIrql`; we release it first, as required.
    unsafe { IoReleaseCancelSpinLock(cancel_irql) };
    // SAFETY: `device` is our device (cancel routines run only for IRPs we
    // posted, and unload waits until every posted receive completed).
    let dev = unsafe { Device::from_object(device) };
    // SAFETY: the IRP is ours; `post` stored the subscriber id here.
    let sub = SubscriberId::from_u64(unsafe { (*irp).driver_context[0] } as u64);
    // The engine may hold it (posted, or doomed by a failed claim) or not
    // (post refused or skipped): either way it is ours to complete now.
    let reaped = dev.shell.with(|chan, _| chan.cancel_reap(sub, irp as u64));
    // The memory of a subscriber whose close this finished is freed here,
    // outside the lock.
    drop(reaped);
    // SAFETY: we own the IRP; completed outside the channel lock.
    unsafe { irp::complete(irp, status::CANCELLED, 0) };
    dev.shell.receive_done();
}
