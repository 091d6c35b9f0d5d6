//! A pending receive as the engine sees it ([`Recv`]), and the sink that
//! collects finished receives under the channel lock so that they are
//! completed after it is released ([`CompletionSink`]).
//!
//! The engine claims a receive ([`Request::try_claim`]: the kernel's
//! `IoSetCancelRoutine(irp, NULL)`) before handing it to the sink, so the
//! sink turns it back into an owned IRP and chains it through the IRP's
//! own list entry: collecting never allocates.

use crate::kernel::{CancelableIrp, Kernel, NtStatus, OwnedIrp};
use crate::rundown::Rundown;
use kchan_engine::{Outcome, Request, Sink};
use kchan_proto::{STATUS_CANCELLED, STATUS_SUCCESS};

/// A pending `IOCTL_RECV`: the cancelable IRP and its output length.
pub struct Recv<K: Kernel> {
    irp: K::Cancelable,
    len: usize,
}

impl<K: Kernel> Recv<K> {
    /// A receive whose output buffer is the first `len` bytes of the IRP's
    /// system buffer (the caller checked that it holds them).
    pub fn new(irp: K::Cancelable, len: usize) -> Self {
        Recv { irp, len }
    }

    /// The IRP.
    pub fn irp(&mut self) -> &mut K::Cancelable {
        &mut self.irp
    }

    /// The IRP, giving up the receive.
    pub fn into_irp(self) -> K::Cancelable {
        self.irp
    }
}

impl<K: Kernel> Request for Recv<K> {
    fn buffer(&mut self) -> &mut [u8] {
        &mut self.irp.system_buffer()[..self.len]
    }

    fn id(&self) -> u64 {
        self.irp.id()
    }

    fn try_claim(&mut self) -> bool {
        self.irp.try_claim()
    }
}

/// Finished receives, completed by [`CompletionSink::complete_all`] once
/// the lock is released, in the order the engine finished them.
pub struct CompletionSink<K: Kernel> {
    /// Most recent first, chained through the IRPs.
    head: Option<K::Irp>,
    watched: Option<u64>,
    watched_status: Option<NtStatus>,
}

impl<K: Kernel> CompletionSink<K> {
    /// An empty sink.
    pub fn new() -> Self {
        CompletionSink { head: None, watched: None, watched_status: None }
    }

    /// Remembers the status of the receive `id` if it comes through here
    /// (the dispatch routine then returns that status instead of
    /// `STATUS_PENDING`).
    pub fn watch(&mut self, id: u64) {
        self.watched = Some(id);
    }

    /// The status the watched receive got, if it came through.
    pub fn watched_status(&self) -> Option<NtStatus> {
        self.watched_status
    }

    /// Completes every collected IRP, oldest first, each leaving
    /// `receives`. Call with no spin lock of the driver held.
    /// IRQL <= DISPATCH_LEVEL.
    pub fn complete_all(&mut self, receives: &Rundown<K>) {
        let mut oldest_first = None;
        let mut cursor = self.head.take();
        while let Some(mut irp) = cursor {
            cursor = irp.take_next();
            irp.set_next(oldest_first.take());
            oldest_first = Some(irp);
        }
        while let Some(mut irp) = oldest_first {
            oldest_first = irp.take_next();
            irp.complete_staged();
            receives.exit();
        }
    }
}

impl<K: Kernel> Default for CompletionSink<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Kernel> Drop for CompletionSink<K> {
    fn drop(&mut self) {
        // Every path completes what it collected; an IRP left here would
        // hang its caller. An internal invariant, never input-dependent.
        assert!(self.head.is_none(), "completion sink dropped with IRPs in it");
    }
}

impl<K: Kernel> Sink<Recv<K>> for CompletionSink<K> {
    /// Under the channel lock: records the outcome in the IRP and chains it.
    fn complete(&mut self, req: Recv<K>, outcome: Outcome) {
        let (status, information) = match outcome {
            Outcome::Delivered { bytes, .. } => (STATUS_SUCCESS, bytes),
            Outcome::Closed => (STATUS_CANCELLED, 0),
        };
        // The engine hands over only what it claimed: anything else would
        // complete an IRP its cancel routine owns.
        let Ok(mut irp) = req.irp.into_owned() else { panic!("the engine finished a receive it did not claim") };
        irp.stage(status, information);
        if self.watched == Some(irp.id()) {
            self.watched_status = Some(status);
        }
        irp.set_next(self.head.take());
        self.head = Some(irp);
    }
}
