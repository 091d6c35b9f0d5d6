//! What the driver's core needs from the kernel: [`Kernel`] and the IRP
//! ownership types it names.
//!
//! The core (dispatch, receive posting, cancel, CLEANUP/CLOSE, subscribe,
//! rundown, unload) is written once against these traits. The WDM binding
//! (`crate::wdm`, kernel target only) implements them over `kchan-km`; the
//! host tests implement them with fake IRPs and real threads (and loom).
//!
//! # Ownership, as the types say it
//!
//! - [`OwnedIrp`]: a request the driver owns and nobody else can complete:
//!   a dispatch routine's IRP, or one won back from the cancel protocol.
//!   [`OwnedIrp::complete`] consumes it, so it is completed once and never
//!   touched after.
//! - [`CancelableIrp`]: an owned IRP with the driver's cancel routine set
//!   ([`OwnedIrp::arm`]). The I/O manager may take it at any moment by
//!   swapping the routine out; the driver takes it back with
//!   [`CancelableIrp::try_claim`] (`IoSetCancelRoutine(irp, NULL) != NULL`).
//!   Only a claimed one turns back into an [`OwnedIrp`]
//!   ([`CancelableIrp::into_owned`]). One whose claim failed belongs to the
//!   cancel routine, which receives it as an [`OwnedIrp`]; the driver's
//!   other view of it is given up with [`CancelableIrp::disown`].

use crate::sync::AtomicU64;
use kchan_engine::Clock;

/// An `NTSTATUS`.
pub type NtStatus = i32;

/// Interrupt request levels the driver distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Irql {
    /// `PASSIVE_LEVEL` (0): may wait and allocate.
    Passive,
    /// `APC_LEVEL` (1).
    Apc,
    /// `DISPATCH_LEVEL` (2): spin-lock holders, DPCs, cancel routines.
    Dispatch,
    /// Above `DISPATCH_LEVEL`: the driver never runs there.
    Device,
}

impl Irql {
    /// From a raw `KIRQL`.
    pub const fn from_raw(irql: u8) -> Irql {
        match irql {
            0 => Irql::Passive,
            1 => Irql::Apc,
            2 => Irql::Dispatch,
            _ => Irql::Device,
        }
    }
}

/// The kernel operations the core uses. One implementation per
/// environment: WDM (`crate::wdm::Wdm`) and the host tests' fake.
pub trait Kernel: Sized + 'static {
    /// A request the driver owns.
    type Irp: OwnedIrp<Cancelable = Self::Cancelable>;
    /// A request the driver owns, with its cancel routine set.
    type Cancelable: CancelableIrp<Owned = Self::Irp>;
    /// A spin lock guarding a `T` (raises to DISPATCH_LEVEL while held).
    type Lock<T: Send>: SpinLock<T>;
    /// A kernel event (`KEVENT`).
    type Event: Event;
    /// The records' timestamp clock.
    type Clock: Clock + Send + Sync;

    /// The current IRQL (what `KeGetCurrentIrql` reports), for the
    /// debug-build checks of
    /// [`crate::irql`].
    fn current_irql() -> Irql;

    /// Logs one line (`DbgPrint`). Any IRQL <= DISPATCH_LEVEL.
    fn log(args: core::fmt::Arguments<'_>);
}

/// Parameters of an `IRP_MJ_DEVICE_CONTROL` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoctlParams {
    /// `IoControlCode`.
    pub code: u32,
    /// `InputBufferLength`.
    pub input_len: usize,
    /// `OutputBufferLength`.
    pub output_len: usize,
}

/// The two words a driver of a device that is not a file system owns in
/// each file object (`FsContext`, `FsContext2`), from CREATE to CLOSE: the
/// handle's state without an allocation per open (see [`crate::handle`]).
pub struct HandleWords<'a> {
    /// The handle's subscriber binding (`FsContext`).
    pub binding: &'a AtomicU64,
    /// The access granted at CREATE (`FsContext2`).
    pub access: &'a AtomicU64,
}

/// An IRP the driver owns: no one else may complete it.
pub trait OwnedIrp: Send + Sized {
    /// The same IRP with the driver's cancel routine set.
    type Cancelable: CancelableIrp<Owned = Self>;

    /// Identity, stable while the IRP lives (its address).
    fn id(&self) -> u64;
    /// The file object's words (`None` for a request without a file object).
    fn handle(&self) -> Option<HandleWords<'_>>;
    /// `IRP_MJ_CREATE` only: the access the I/O manager granted the new
    /// handle (`SecurityContext->AccessState->PreviouslyGrantedAccess`), or
    /// `None` when the I/O manager does not say (Wine passes no security
    /// context).
    fn granted_access(&self) -> Option<u32>;
    /// `IRP_MJ_DEVICE_CONTROL` only: code and buffer lengths.
    fn ioctl(&self) -> IoctlParams;
    /// `IRP_MJ_DEVICE_CONTROL`, METHOD_BUFFERED: the system buffer,
    /// `max(input_len, output_len)` bytes (empty when both are 0, or when
    /// the I/O manager gave none).
    fn system_buffer(&mut self) -> &mut [u8];
    /// Stores a word for whoever owns the IRP next (`DriverContext[0]`).
    fn set_context(&mut self, value: u64);
    /// The word stored by [`OwnedIrp::set_context`].
    fn context(&self) -> u64;
    /// Sets `IoStatus` without completing (for [`crate::sink`]).
    fn stage(&mut self, status: NtStatus, information: usize);
    /// The status [`OwnedIrp::stage`] set.
    fn staged_status(&self) -> NtStatus;
    /// Chains `next` behind this IRP, in memory the owner may use
    /// (`Tail.Overlay.ListEntry`): collecting finished IRPs never allocates.
    fn set_next(&mut self, next: Option<Self>);
    /// Takes the IRP chained by [`OwnedIrp::set_next`].
    fn take_next(&mut self) -> Option<Self>;
    /// Completes with `status` and `information` bytes
    /// (`IoCompleteRequest`). IRQL <= DISPATCH_LEVEL, and never under a
    /// spin lock of the driver.
    fn complete(self, status: NtStatus, information: usize);
    /// Completes with what [`OwnedIrp::stage`] set.
    fn complete_staged(self);
    /// Sets the driver's cancel routine (`IoSetCancelRoutine`): from now
    /// on the I/O manager may take the IRP. Call it under the channel lock,
    /// which every other party that may complete the IRP takes too.
    fn arm(self) -> Self::Cancelable;
}

/// An IRP the driver owns whose cancel routine is set: whoever swaps the
/// routine out owns it.
pub trait CancelableIrp: Send + Sized {
    /// The IRP once claimed.
    type Owned;

    /// Identity (the same as [`OwnedIrp::id`]).
    fn id(&self) -> u64;
    /// `Irp->Cancel`: the I/O manager asked to cancel it.
    fn is_cancelled(&self) -> bool;
    /// The system buffer (the receive's output), owned with the IRP until
    /// it completes.
    fn system_buffer(&mut self) -> &mut [u8];
    /// The word stored by [`OwnedIrp::set_context`].
    fn context(&self) -> u64;
    /// `IoSetCancelRoutine(irp, NULL) != NULL`: true if the driver took the
    /// IRP back (then [`CancelableIrp::into_owned`] succeeds); false if the
    /// I/O manager took the routine first and the cancel routine owns it.
    /// Once true, stays true.
    fn try_claim(&mut self) -> bool;
    /// The owned IRP, if [`CancelableIrp::try_claim`] succeeded.
    fn into_owned(self) -> Result<Self::Owned, Self>;
    /// `IoMarkIrpPending`: the dispatch routine returns `STATUS_PENDING`.
    /// Call it from the dispatch routine, under the channel lock, while the
    /// IRP is still queued there (nobody can complete it before the lock is
    /// released).
    fn mark_pending(&mut self);
    /// Gives up this view of an IRP whose claim failed: the cancel routine
    /// received it and completes it.
    fn disown(self);
}

/// A spin lock guarding a `T`.
pub trait SpinLock<T>: Send + Sync {
    /// A released lock holding `value`.
    fn new(value: T) -> Self;
    /// Runs `f` with the lock held (at DISPATCH_LEVEL). IRQL <= DISPATCH_LEVEL.
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R;
}

/// A kernel event. Initialize it in place with [`Event::init`].
pub trait Event: Send + Sync {
    /// Storage for an event, not yet usable.
    fn uninit() -> Self;
    /// `KeInitializeEvent`: `auto_reset` for a synchronization event
    /// (a wait consumes the signal), else a notification event (stays set).
    ///
    /// # Safety
    /// The event is at its final address and nobody waits on it or sets it.
    unsafe fn init(&self, auto_reset: bool);
    /// `KeSetEvent`. IRQL <= DISPATCH_LEVEL; [`Event::init`] ran.
    fn set(&self);
    /// `KeWaitForSingleObject`, with an optional timeout in 100 ns units;
    /// true if signalled, false on timeout. IRQL = PASSIVE_LEVEL;
    /// [`Event::init`] ran.
    fn wait(&self, timeout_100ns: Option<u64>) -> bool;
}
