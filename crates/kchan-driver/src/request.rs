//! A pending `IOCTL_RECV` as the engine sees it ([`Recv`]), and the sink
//! that collects finished receives under the spin lock so they are
//! completed after it is released ([`IrpSink`]).
//!
//! # Ownership
//!
//! A `Recv` is a claim on an IRP the driver owns. While it sits in the
//! engine's queue, the IRP has our cancel routine set; whoever swaps that
//! routine out with `IoSetCancelRoutine(irp, NULL)` ([`Recv::try_claim`])
//! owns the IRP and completes it, exactly once. The engine claims before
//! it hands a request to the sink; the sink then owns it and uses the IRP's
//! `Tail.Overlay.ListEntry` (free while the driver owns the IRP) to chain it,
//! so collecting never allocates.

use crate::shell::Shell;
use core::ptr;
use kchan_engine::{Outcome, Request, Sink};
use kchan_km::ffi::{status, Irp, ListEntry, NTSTATUS};
use kchan_km::irp;

/// A pending receive: the IRP and its METHOD_BUFFERED output buffer.
pub struct Recv {
    irp: *mut Irp,
    buf: *mut u8,
    len: usize,
}

// SAFETY: the IRP and its system buffer are nonpaged kernel memory, valid
// on any thread while the driver owns the IRP; the engine moves a `Recv`
// between threads only under the channel's spin lock.
unsafe impl Send for Recv {}

impl Recv {
    /// Wraps a receive IRP whose output buffer is `buf`, `len` bytes.
    ///
    /// # Safety
    /// The driver owns `irp`, a METHOD_BUFFERED device control IRP whose
    /// system buffer `buf` holds at least `len` bytes; it stays owned until
    /// completed through [`IrpSink`] or by whoever wins the claim.
    pub unsafe fn new(irp: *mut Irp, buf: *mut u8, len: usize) -> Self {
        Recv { irp, buf, len }
    }

    /// The IRP.
    pub fn irp(&self) -> *mut Irp {
        self.irp
    }
}

impl Request for Recv {
    fn buffer(&mut self) -> &mut [u8] {
        // SAFETY: `buf` holds `len` bytes owned with the IRP (see `new`);
        // the engine calls this only under the channel lock, one caller at
        // a time, and the I/O manager does not touch the buffer before
        // completion. IRQL <= DISPATCH_LEVEL.
        unsafe { core::slice::from_raw_parts_mut(self.buf, self.len) }
    }

    fn id(&self) -> u64 {
        self.irp as u64
    }

    fn try_claim(&mut self) -> bool {
        // SAFETY: the IRP is live and queued by us (see `new`); the
        // exchange is the claim protocol. IRQL = DISPATCH_LEVEL (lock held).
        unsafe { irp::set_cancel_routine(self.irp, None) }.is_some()
    }
}

/// Finished receives, chained through their IRPs, in completion order.
/// Completed by [`IrpSink::complete_all`] after the spin lock is released.
pub struct IrpSink {
    first: *mut Irp,
    last: *mut Irp,
}

/// The IRP whose `Tail.Overlay.ListEntry` is `entry`.
fn irp_of(entry: *mut ListEntry) -> *mut Irp {
    entry.wrapping_byte_sub(core::mem::offset_of!(Irp, list_entry)).cast::<Irp>()
}

impl IrpSink {
    /// An empty sink.
    pub const fn new() -> Self {
        IrpSink { first: ptr::null_mut(), last: ptr::null_mut() }
    }

    /// Whether `target` is in the sink, and the status it will complete with.
    pub fn status_of(&self, target: *mut Irp) -> Option<NTSTATUS> {
        let mut p = self.first;
        while !p.is_null() {
            // SAFETY: IRPs in the sink are owned by it and live.
            let irp = unsafe { &*p };
            let (st, next) = (irp.io_status.status, irp.list_entry.flink);
            if p == target {
                return Some(st);
            }
            p = if next.is_null() { ptr::null_mut() } else { irp_of(next) };
        }
        None
    }

    /// Completes every collected IRP (status already set), in order, and
    /// counts them off `shell`'s outstanding receives. Call after releasing
    /// the spin lock. IRQL <= DISPATCH_LEVEL.
    pub fn complete_all(&mut self, shell: &Shell) {
        let mut p = self.first;
        self.first = ptr::null_mut();
        self.last = ptr::null_mut();
        while !p.is_null() {
            // SAFETY: owned by the sink; read the link and the status
            // (set in `complete`) before completing.
            let irp = unsafe { &*p };
            let (next, st, info) = (irp.list_entry.flink, irp.io_status.status, irp.io_status.information);
            // SAFETY: the sink owns the IRP (claimed by the engine) and
            // gives it up here, outside any spin lock of ours.
            unsafe { irp::complete(p, st, info) };
            shell.receive_done();
            p = if next.is_null() { ptr::null_mut() } else { irp_of(next) };
        }
    }
}

impl Default for IrpSink {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for IrpSink {
    fn drop(&mut self) {
        // Every path calls `complete_all`; an IRP left here would hang its
        // caller forever. Internal invariant, never input-dependent.
        assert!(self.first.is_null(), "IrpSink dropped with IRPs in it");
    }
}

impl Sink<Recv> for IrpSink {
    /// Called under the channel lock (DISPATCH_LEVEL): records the outcome
    /// in the IRP and chains it; no allocation, no completion here.
    fn complete(&mut self, req: Recv, outcome: Outcome) {
        let (st, info) = match outcome {
            Outcome::Delivered { bytes, .. } => (status::SUCCESS, bytes),
            Outcome::Closed => (status::CANCELLED, 0),
        };
        let p = req.irp;
        // SAFETY: the engine claimed the IRP (`try_claim`) before handing it
        // over: the sink owns it, and its status block and list entry are
        // ours to write until completion.
        let irp = unsafe { &mut *p };
        irp.io_status.status = st;
        irp.io_status.information = info;
        irp.list_entry.flink = ptr::null_mut();
        let entry: *mut ListEntry = &mut irp.list_entry;
        if self.last.is_null() {
            self.first = p;
        } else {
            // SAFETY: `last` is owned by the sink (see above).
            unsafe { (*self.last).list_entry.flink = entry };
        }
        self.last = p;
    }
}
