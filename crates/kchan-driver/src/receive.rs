//! `IOCTL_RECV`: posting a receive to the engine, and its cancel routine.
//!
//! # Who completes a receive
//!
//! The IRP's cancel routine is set *under the channel lock*, in the same
//! hold that posts it to the engine, and every other party that may
//! complete it takes that lock too. The IRP then goes to whoever swaps the
//! routine out ([`CancelableIrp::try_claim`]):
//!
//! - the engine, before completing it with a batch or at close; the
//!   [`CompletionSink`](crate::sink::CompletionSink) completes it after the
//!   lock is released;
//! - this module, when the engine refuses the post (K pending, closing...)
//!   or the IRP was cancelled before it was posted;
//! - otherwise the I/O manager took it: [`Device::cancel_receive`] runs,
//!   takes the lock, removes the IRP from the engine if it is there (it may
//!   not be, if the post was refused or skipped) and completes it
//!   `STATUS_CANCELLED`. It is the only owner left, so it always completes.
//!
//! The dispatch routine returns the status of a receive completed at once
//! (with a batch or an error), and `STATUS_PENDING` — after
//! `IoMarkIrpPending`, under the lock, before anyone else can complete the
//! IRP — for one that stays in the engine or with the cancel routine.
//!
//! Every receive IRP the driver accepts is counted in the channel's
//! `receives` rundown until it is completed, by whichever path, so unload
//! waits for the last one.

use crate::device::Device;
use crate::handle::{self, Binding};
use crate::kernel::{CancelableIrp, Kernel, NtStatus, OwnedIrp};
use crate::sink::Recv;
use kchan_engine::{EngineError, SubscriberId};
use kchan_proto::{STATUS_CANCELLED, STATUS_DELETE_PENDING, STATUS_INVALID_HANDLE, STATUS_PENDING, STATUS_SUCCESS};

/// What happened to a receive in the lock hold that posted it.
enum Fate<K: Kernel> {
    /// Queued in the engine, or left to the cancel routine: marked pending.
    Pending,
    /// Completed with this status through the sink.
    Completed(NtStatus),
    /// Taken back: the dispatch routine completes it with this status.
    Refused(K::Irp, NtStatus),
}

/// The status of a refused post. The handle's subscriber is stable once
/// bound, so one that is gone or closing means CLEANUP or CLOSE of the
/// handle ran concurrently.
fn refusal_status(e: EngineError) -> NtStatus {
    match e {
        EngineError::NoSuchSubscriber | EngineError::Closing => STATUS_DELETE_PENDING,
        other => other.ntstatus(),
    }
}

/// Under the lock: takes the IRP back from the cancel routine to complete
/// it with `status`, or, if the I/O manager already took the routine,
/// leaves it to the cancel routine (which waits for this lock) and marks it
/// pending.
fn take_back_or_pend<K: Kernel>(recv: Recv<K>, status: NtStatus) -> Fate<K> {
    let mut irp = recv.into_irp();
    if !irp.try_claim() {
        irp.mark_pending();
        irp.disown();
        return Fate::Pending;
    }
    match irp.into_owned() {
        Ok(owned) => Fate::Refused(owned, status),
        Err(_) => unreachable!("a claimed IRP is owned"),
    }
}

impl<K: Kernel> Device<K> {
    /// `IOCTL_RECV` with an output buffer of `len` bytes (checked by the
    /// caller against the limits and the system buffer). A handle that has
    /// not subscribed gets the default subscription first. Returns the
    /// dispatch status. IRQL = PASSIVE_LEVEL.
    pub(crate) fn post_receive(&self, mut irp: K::Irp, len: usize) -> NtStatus {
        let sub = match self.subscriber_for_receive(&irp) {
            Ok(id) => id,
            Err(status) => {
                irp.complete(status, 0);
                return status;
            }
        };
        // The cancel routine finds the subscriber here.
        irp.set_context(sub.to_u64());
        if !self.channel.receives.enter() {
            irp.complete(STATUS_DELETE_PENDING, 0);
            return STATUS_DELETE_PENDING;
        }
        let id = irp.id();
        let mut unposted = Some(irp);
        let fate = self.channel.with(|chan, sink| {
            let irp = unposted.take()?;
            let mut recv = Recv::<K>::new(irp.arm(), len);
            if recv.irp().is_cancelled() {
                return Some(take_back_or_pend(recv, STATUS_CANCELLED));
            }
            sink.watch(id);
            Some(match chan.post(sub, recv, sink) {
                Ok(()) => match sink.watched_status() {
                    Some(status) => Fate::Completed(status),
                    None => {
                        // Queued, and nobody can complete it before the
                        // lock is released.
                        let queued = chan.pending_mut(sub, id).expect("a posted receive is completed or queued");
                        queued.irp().mark_pending();
                        Fate::Pending
                    }
                },
                Err((recv, e)) => take_back_or_pend(recv, refusal_status(e)),
            })
        });
        match fate.flatten() {
            Some(Fate::Pending) => STATUS_PENDING,
            Some(Fate::Completed(status)) => status,
            Some(Fate::Refused(irp, status)) => {
                irp.complete(status, 0);
                self.channel.receives.exit();
                status
            }
            None => {
                // The channel is gone: the IRP was never armed.
                if let Some(irp) = unposted {
                    irp.complete(STATUS_DELETE_PENDING, 0);
                }
                self.channel.receives.exit();
                STATUS_DELETE_PENDING
            }
        }
    }

    /// The handle's subscriber, attaching the default one to a handle that
    /// has none yet.
    fn subscriber_for_receive(&self, irp: &K::Irp) -> Result<SubscriberId, NtStatus> {
        let words = irp.handle().ok_or(STATUS_INVALID_HANDLE)?;
        if handle::binding(&words) == Binding::Unbound {
            let status = self.attach_or_reconfigure(&words, &self.config.default_subscription, false);
            if status != STATUS_SUCCESS {
                return Err(status);
            }
        }
        match handle::binding(&words) {
            Binding::Bound(id) => Ok(id),
            Binding::Closed => Err(STATUS_DELETE_PENDING),
            Binding::Unbound => Err(STATUS_INVALID_HANDLE),
        }
    }

    /// The cancel routine of a posted receive: the I/O manager swapped the
    /// routine out, so `irp` is the driver's alone (the WDM layer has
    /// released the cancel spin lock). Removes it from the engine if it is
    /// there and completes it `STATUS_CANCELLED`. IRQL <= DISPATCH_LEVEL.
    pub fn cancel_receive(&self, irp: K::Irp) {
        crate::irql::at_most_dispatch::<K>();
        let sub = SubscriberId::from_u64(irp.context());
        let reaped = self.channel.with(|chan, _| chan.cancel_reap(sub, irp.id()));
        if let Some((engine_view, detached)) = reaped {
            // The engine's view of this same IRP: given up, we own it.
            if let Some(recv) = engine_view {
                recv.into_irp().disown();
            }
            // The memory of a subscriber whose close this finished.
            self.free(detached);
        }
        irp.complete(STATUS_CANCELLED, 0);
        // Last: unload may free the device once the last receive left.
        self.channel.receives.exit();
    }
}
