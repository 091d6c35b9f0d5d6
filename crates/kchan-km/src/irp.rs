//! IRPs as owned values: [`Irp`], which the driver owns and completes
//! exactly once ([`Irp::complete`] consumes it), and [`CancelableIrp`], the
//! same IRP while its cancel routine is set, which turns back into an
//! [`Irp`] only for whoever wins the cancel routine.
//!
//! The `wdm.h` inline helpers the driver needs (`IoGetCurrentIrpStackLocation`,
//! `IoSetCancelRoutine`, `IoMarkIrpPending`, `IoCompleteRequest`'s status
//! block) are macros or `FORCEINLINE` functions in the headers, so there is
//! nothing to import: they are written here over the checked layouts, once,
//! and every raw access to an IRP stays in this module.

use crate::ffi::{
    AccessState, DeviceIoControlParameters, DriverCancel, FileObject, IoReleaseCancelSpinLock, IoSecurityContext,
    IoStackLocation, IofCompleteRequest, Irp as RawIrp, IO_NO_INCREMENT, IRP_MJ_CREATE, IRP_MJ_DEVICE_CONTROL,
    METHOD_BUFFERED, NTSTATUS, SL_PENDING_RETURNED,
};
use core::ffi::c_void;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, Ordering};

/// An IRP the driver owns: handed to a dispatch routine, or won back from
/// the cancel protocol. Nobody else completes it; [`Irp::complete`]
/// consumes it, so it is completed once and never touched after.
/// Dropping it without completing leaks the request (its caller waits
/// forever): every path completes it or arms it.
pub struct Irp {
    raw: NonNull<RawIrp>,
}

// SAFETY: an IRP is nonpaged kernel memory that any thread may touch while
// it owns it; ownership moves with the value.
unsafe impl Send for Irp {}

impl Irp {
    /// Takes ownership of `raw`.
    ///
    /// # Safety
    /// `raw` is a live IRP the caller owns: the argument of a dispatch
    /// routine, sent to this driver's device. Any IRQL.
    pub unsafe fn from_raw(raw: *mut RawIrp) -> Irp {
        // The I/O manager never dispatches a null IRP (caller).
        Irp { raw: NonNull::new(raw).expect("dispatch routine called with a null IRP") }
    }

    /// In a cancel routine (`DRIVER_CANCEL`): releases the cancel spin lock
    /// the I/O manager holds for it, and returns the IRP, which the routine
    /// owns because `IoCancelIrp` swapped its cancel routine out.
    ///
    /// # Safety
    /// Called once, first thing, by the cancel routine the driver set on
    /// `raw` with [`Irp::arm`], with the `raw` the I/O manager passed it.
    /// IRQL = DISPATCH_LEVEL, cancel spin lock held.
    pub unsafe fn from_cancel_routine(raw: *mut RawIrp) -> Irp {
        // SAFETY: the I/O manager passes the live IRP whose routine it took
        // (caller); `CancelIrql` holds the IRQL to restore.
        let irql = unsafe { (*raw).cancel_irql };
        // SAFETY: the cancel spin lock is held for us (caller) and must be
        // released with `CancelIrql` before anything else.
        unsafe { IoReleaseCancelSpinLock(irql) };
        // SAFETY: `raw` is live, and the cancel routine owns it: `IoCancelIrp`
        // swapped the cancel routine out, so no other party can complete it.
        unsafe { Irp::from_raw(raw) }
    }

    fn raw(&self) -> &RawIrp {
        // SAFETY: the IRP is live and owned by `self` (constructors).
        unsafe { self.raw.as_ref() }
    }

    /// The IRP's address: its identity while it lives.
    pub fn id(&self) -> u64 {
        self.raw.as_ptr() as u64
    }

    fn stack(&self) -> &IoStackLocation {
        // SAFETY: the I/O manager set `CurrentStackLocation` before handing
        // the IRP over; the location is valid while the IRP is owned.
        unsafe { &*self.raw().current_stack_location }
    }

    /// `MajorFunction` of the current stack location.
    pub fn major_function(&self) -> u8 {
        self.stack().major_function
    }

    /// `Parameters.DeviceIoControl`, for an `IRP_MJ_DEVICE_CONTROL` IRP.
    pub fn ioctl_parameters(&self) -> Option<DeviceIoControlParameters> {
        let stack = self.stack();
        if usize::from(stack.major_function) != IRP_MJ_DEVICE_CONTROL {
            return None;
        }
        // SAFETY: for a device control IRP, `DeviceIoControl` is the union
        // member the I/O manager wrote.
        Some(unsafe { stack.parameters.device_io_control })
    }

    /// For an `IRP_MJ_CREATE` IRP: the access granted to the new handle
    /// (`SecurityContext->AccessState->PreviouslyGrantedAccess`, else the
    /// `DesiredAccess`), or `None` without a security context (Wine).
    pub fn granted_access(&self) -> Option<u32> {
        let stack = self.stack();
        if usize::from(stack.major_function) != IRP_MJ_CREATE {
            return None;
        }
        // SAFETY: for a create IRP, `Create` is the union member the I/O
        // manager wrote.
        let context: *const IoSecurityContext = unsafe { stack.parameters.create.security_context };
        // SAFETY: null, or the I/O manager's security context, live during
        // the create.
        let context = unsafe { context.as_ref() }?;
        let state: *const AccessState = context.access_state;
        // SAFETY: null, or the access state of this create, live during it.
        let granted = unsafe { state.as_ref() }.map_or(0, |s| s.previously_granted_access);
        Some(if granted != 0 { granted } else { context.desired_access })
    }

    fn file_object(&self) -> Option<NonNull<FileObject>> {
        NonNull::new(self.stack().file_object)
    }

    /// The file object's `FsContext` and `FsContext2` words, as atomics:
    /// a driver of a device that is not a file system owns them from CREATE
    /// to CLOSE. `None` for a request without a file object.
    pub fn file_context(&self) -> Option<(&AtomicU64, &AtomicU64)> {
        let file = self.file_object()?.as_ptr();
        // SAFETY: the file object lives at least as long as its IRP (the
        // I/O manager holds a reference for the request); this only
        // computes a field address.
        let first = unsafe { ptr::addr_of_mut!((*file).fs_context) };
        // SAFETY: the same live file object; this only computes a field
        // address.
        let second = unsafe { ptr::addr_of_mut!((*file).fs_context2) };
        // SAFETY: pointer-sized, 8-aligned fields (layout checked) that
        // only this driver accesses, always through these atomics, for as
        // long as the IRP (and so the borrow of `self`) lives.
        let binding = unsafe { AtomicU64::from_ptr(first.cast()) };
        // SAFETY: `FsContext2` is pointer-sized and 8-aligned too, accessed
        // only by this driver through these atomics, while the IRP lives.
        let access = unsafe { AtomicU64::from_ptr(second.cast()) };
        Some((binding, access))
    }

    /// The METHOD_BUFFERED system buffer of a device control IRP:
    /// `max(InputBufferLength, OutputBufferLength)` bytes; empty when there
    /// is none.
    pub fn system_buffer(&mut self) -> &mut [u8] {
        // SAFETY: `self` owns the live IRP.
        unsafe { system_buffer(self.raw) }
    }

    /// `Tail.Overlay.DriverContext[0]`: scratch space of the IRP's owner.
    pub fn set_context(&mut self, value: u64) {
        // SAFETY: the owner's scratch space, ours while we own the IRP.
        unsafe { (*self.raw.as_ptr()).driver_context[0] = value as *mut c_void };
    }

    /// The word [`Irp::set_context`] stored.
    pub fn context(&self) -> u64 {
        self.raw().driver_context[0] as u64
    }

    /// Sets `IoStatus` (status and bytes), without completing.
    pub fn stage(&mut self, status: NTSTATUS, information: usize) {
        // SAFETY: the status block is the owner's to write before completion.
        let io_status = unsafe { &mut (*self.raw.as_ptr()).io_status };
        io_status.status = status;
        io_status.information = information;
    }

    /// The status [`Irp::stage`] set.
    pub fn staged_status(&self) -> NTSTATUS {
        self.raw().io_status.status
    }

    /// Chains `next` behind this IRP through `Tail.Overlay.ListEntry`,
    /// which the owner may use: a list of finished IRPs without allocating.
    pub fn set_next(&mut self, next: Option<Irp>) {
        let next = next.map_or(ptr::null_mut(), |irp| {
            // SAFETY: only computes the field address of the live IRP.
            unsafe { ptr::addr_of_mut!((*irp.raw.as_ptr()).list_entry) }
        });
        // SAFETY: the list entry is the owner's while it owns the IRP; the
        // chained IRP's ownership moves into this field.
        unsafe { (*self.raw.as_ptr()).list_entry.flink = next };
    }

    /// Takes the IRP [`Irp::set_next`] chained, if any.
    pub fn take_next(&mut self) -> Option<Irp> {
        // SAFETY: the list entry is ours (see `set_next`).
        let flink = unsafe { &mut (*self.raw.as_ptr()).list_entry.flink };
        let entry = core::mem::replace(flink, ptr::null_mut());
        let entry = NonNull::new(entry)?;
        let irp = entry.as_ptr().wrapping_byte_sub(core::mem::offset_of!(RawIrp, list_entry)).cast::<RawIrp>();
        // `set_next` stored the list entry of an IRP it took ownership of.
        Some(Irp { raw: NonNull::new(irp)? })
    }

    /// Completes with `status` and `information` bytes
    /// (`IoCompleteRequest(irp, IO_NO_INCREMENT)`). IRQL <= DISPATCH_LEVEL;
    /// not while holding a spin lock that a completion path may take.
    pub fn complete(mut self, status: NTSTATUS, information: usize) {
        self.stage(status, information);
        self.complete_staged();
    }

    /// Completes with the status block already set ([`Irp::stage`]).
    pub fn complete_staged(self) {
        crate::irql::at_most_dispatch();
        // SAFETY: we own the IRP and give it to the I/O manager here; `self`
        // is consumed, so nothing touches it after. IRQL <= DISPATCH_LEVEL.
        unsafe { IofCompleteRequest(self.raw.as_ptr(), IO_NO_INCREMENT) };
    }

    /// `IoSetCancelRoutine(irp, routine)`: from now on `IoCancelIrp` may
    /// take the IRP and call `routine`, which must start with
    /// [`Irp::from_cancel_routine`]. Take every other path that may
    /// complete the IRP under one lock, and arm it under that lock.
    pub fn arm(self, routine: DriverCancel) -> CancelableIrp {
        // SAFETY: live IRP, owned (see `exchange_cancel_routine`).
        let previous = unsafe { exchange_cancel_routine(self.raw, routine as *mut c_void) };
        debug_assert!(previous.is_null(), "IRP armed twice");
        CancelableIrp { raw: self.raw, claimed: false }
    }
}

/// An IRP the driver owns with its cancel routine set: the I/O manager may
/// take it at any moment. [`CancelableIrp::try_claim`] takes it back.
pub struct CancelableIrp {
    raw: NonNull<RawIrp>,
    claimed: bool,
}

// SAFETY: as for `Irp`.
unsafe impl Send for CancelableIrp {}

impl CancelableIrp {
    /// The IRP's address.
    pub fn id(&self) -> u64 {
        self.raw.as_ptr() as u64
    }

    /// `Irp->Cancel`, read atomically after the cancel routine was set (the
    /// I/O manager writes it from another thread).
    pub fn is_cancelled(&self) -> bool {
        // SAFETY: the IRP is live until someone completes it, which needs
        // the lock our caller holds or our claim; this computes an address.
        let field = unsafe { ptr::addr_of_mut!((*self.raw.as_ptr()).cancel) };
        // SAFETY: a byte of the live IRP that the I/O manager writes
        // concurrently, so read atomically; SeqCst orders it after the
        // exchange that set the routine, as the protocol needs.
        unsafe { AtomicU8::from_ptr(field) }.load(Ordering::SeqCst) != 0
    }

    /// The system buffer (the receive's output): the driver's until the
    /// IRP completes, whoever completes it.
    pub fn system_buffer(&mut self) -> &mut [u8] {
        // SAFETY: live (see `is_cancelled`); the I/O manager does not touch
        // the buffer before completion, and `&mut self` makes this the only
        // borrow on our side.
        unsafe { system_buffer(self.raw) }
    }

    /// `Tail.Overlay.DriverContext[0]` (set while the IRP was an [`Irp`]).
    pub fn context(&self) -> u64 {
        // SAFETY: live (see `is_cancelled`); written before arming, only read since.
        unsafe { (*self.raw.as_ptr()).driver_context[0] as u64 }
    }

    /// `IoSetCancelRoutine(irp, NULL) != NULL`: true if the driver took the
    /// IRP back; false if `IoCancelIrp` took the routine first (the cancel
    /// routine then owns the IRP). Once true, stays true.
    pub fn try_claim(&mut self) -> bool {
        if !self.claimed {
            // SAFETY: live and armed by us (see `exchange_cancel_routine`).
            self.claimed = !unsafe { exchange_cancel_routine(self.raw, ptr::null_mut()) }.is_null();
        }
        self.claimed
    }

    /// The owned IRP, if [`CancelableIrp::try_claim`] succeeded.
    pub fn into_owned(self) -> Result<Irp, CancelableIrp> {
        if self.claimed {
            Ok(Irp { raw: self.raw })
        } else {
            Err(self)
        }
    }

    /// `IoMarkIrpPending`: the dispatch routine that posted it must return
    /// `STATUS_PENDING`. Call it from that routine, under the lock every
    /// completer takes, while no one can have completed it.
    pub fn mark_pending(&mut self) {
        // SAFETY: live (see `is_cancelled`); the current stack location is
        // valid until completion.
        let stack = unsafe { (*self.raw.as_ptr()).current_stack_location };
        // SAFETY: `Control` is written only by the IRP's owner side, and no
        // completer can run while the caller holds the lock.
        unsafe { (*stack).control |= SL_PENDING_RETURNED };
    }

    /// Gives up this view of an IRP whose claim failed: its cancel routine
    /// received it (as an [`Irp`]) and completes it.
    pub fn disown(self) {
        debug_assert!(!self.claimed, "disowning a claimed IRP leaks it");
    }
}

/// `InterlockedExchangePointer(&Irp->CancelRoutine, new)`.
///
/// # Safety
/// `irp` is live and owned by the driver (being armed, or armed by it).
unsafe fn exchange_cancel_routine(irp: NonNull<RawIrp>, new: *mut c_void) -> *mut c_void {
    // SAFETY: only computes the field address of the live IRP (caller).
    let field = unsafe { ptr::addr_of_mut!((*irp.as_ptr()).cancel_routine) };
    // SAFETY: pointer-sized and aligned (layout checked), lives as long as
    // the IRP; every writer (this function, `IoCancelIrp`) exchanges it
    // atomically. SeqCst: a full barrier, as `IoSetCancelRoutine` is.
    unsafe { AtomicPtr::from_ptr(field) }.swap(new, Ordering::SeqCst)
}

/// The system buffer of a device control IRP the caller owns.
///
/// # Safety
/// `irp` is live and owned by the caller, who holds the only borrow of it.
unsafe fn system_buffer<'a>(irp: NonNull<RawIrp>) -> &'a mut [u8] {
    // SAFETY: live and owned (caller).
    let raw = unsafe { &*irp.as_ptr() };
    // SAFETY: the current stack location is valid while the IRP is owned.
    let stack = unsafe { &*raw.current_stack_location };
    if usize::from(stack.major_function) != IRP_MJ_DEVICE_CONTROL || raw.system_buffer.is_null() {
        return &mut [];
    }
    // SAFETY: for a device control IRP, `DeviceIoControl` is the member
    // the I/O manager wrote.
    let p = unsafe { stack.parameters.device_io_control };
    if p.io_control_code & 3 != METHOD_BUFFERED {
        return &mut [];
    }
    let len = p.input_buffer_length.max(p.output_buffer_length) as usize;
    // SAFETY: METHOD_BUFFERED: the I/O manager allocated the system buffer
    // with max(input, output) bytes, owned with the IRP (caller).
    unsafe { core::slice::from_raw_parts_mut(raw.system_buffer.cast::<u8>(), len) }
}
