//! The `wdm.h` inline helpers for IRPs that the driver uses.
//!
//! These are macros or `FORCEINLINE` functions in the headers, so there is
//! nothing to import: they are re-implemented here over the checked layouts.

use crate::ffi::{
    DeviceIoControlParameters, DriverCancel, IoStackLocation, IofCompleteRequest, Irp, IO_NO_INCREMENT, NTSTATUS,
    SL_PENDING_RETURNED,
};
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU8, Ordering};

/// `IoGetCurrentIrpStackLocation(irp)`.
///
/// # Safety
/// `irp` is a live IRP owned by the caller (dispatch routine, or the driver
/// while it holds the IRP). Any IRQL.
pub unsafe fn current_stack(irp: *mut Irp) -> *mut IoStackLocation {
    // SAFETY: the caller guarantees `irp` is live and ours; the I/O manager
    // set `CurrentStackLocation` before dispatching it. Any IRQL.
    unsafe { (*irp).current_stack_location }
}

/// The `Parameters.DeviceIoControl` member of the current stack location.
///
/// # Safety
/// As [`current_stack`], and the IRP's major function is
/// `IRP_MJ_DEVICE_CONTROL`, so that member of the union is the live one.
pub unsafe fn ioctl_parameters(irp: *mut Irp) -> DeviceIoControlParameters {
    // SAFETY: the caller guarantees the IRP is live and ours.
    let stack = unsafe { current_stack(irp) };
    // SAFETY: the stack location is valid while we own the IRP.
    let parameters = unsafe { &(*stack).parameters };
    // SAFETY: for a device control request `DeviceIoControl` is the union
    // member the I/O manager wrote (caller).
    unsafe { parameters.device_io_control }
}

/// `IoSetCancelRoutine(irp, routine)`: atomically exchanges
/// `Irp->CancelRoutine` (`InterlockedExchangePointer`, a full barrier) and
/// returns the previous value.
///
/// This is the claim protocol: whoever swaps a non-null routine out owns the
/// right to complete the IRP; a null result means the I/O manager already
/// took the routine and the cancel routine will complete it.
///
/// # Safety
/// `irp` is live: owned by the driver (queued or being queued). Any IRQL
/// <= DISPATCH_LEVEL.
pub unsafe fn set_cancel_routine(irp: *mut Irp, routine: Option<DriverCancel>) -> Option<DriverCancel> {
    let new = routine.map_or(ptr::null_mut(), |f| f as *mut c_void);
    // SAFETY: the IRP is live (caller); this only computes a field address.
    let field = unsafe { ptr::addr_of_mut!((*irp).cancel_routine) };
    // SAFETY: the field is pointer-sized and aligned (layout checked), lives
    // as long as the IRP, and every writer of `CancelRoutine` (this
    // function, the I/O manager's `IoCancelIrp`) uses atomic exchange.
    let slot = unsafe { AtomicPtr::from_ptr(field) };
    let old = slot.swap(new, Ordering::SeqCst);
    if old.is_null() {
        None
    } else {
        // SAFETY: only this function stores into the field on the driver's
        // side, and it stores either null or a `DriverCancel`; the I/O
        // manager only stores null.
        Some(unsafe { core::mem::transmute::<*mut c_void, DriverCancel>(old) })
    }
}

/// Reads `Irp->Cancel` (set by `IoCancelIrp` on another thread).
///
/// # Safety
/// `irp` is live and owned by the driver. IRQL <= DISPATCH_LEVEL.
pub unsafe fn is_cancelled(irp: *mut Irp) -> bool {
    // SAFETY: the IRP is live (caller); this only computes a field address.
    let field = unsafe { ptr::addr_of_mut!((*irp).cancel) };
    // SAFETY: a byte field of a live IRP; the I/O manager writes it
    // concurrently, so it is read atomically. `SeqCst` orders this read after
    // the preceding `set_cancel_routine` exchange, as the protocol needs.
    let flag = unsafe { AtomicU8::from_ptr(field) };
    flag.load(Ordering::SeqCst) != 0
}

/// `IoMarkIrpPending(irp)`: sets `SL_PENDING_RETURNED` in the current stack
/// location. The dispatch routine must then return `STATUS_PENDING`.
///
/// # Safety
/// `irp` is live and owned by the dispatch routine calling this. Any IRQL.
pub unsafe fn mark_pending(irp: *mut Irp) {
    // SAFETY: the caller owns the live IRP.
    let stack = unsafe { current_stack(irp) };
    // SAFETY: the current stack location is valid while the caller owns the
    // IRP, and only the owner writes `Control`.
    unsafe { (*stack).control |= SL_PENDING_RETURNED };
}

/// Sets `IoStatus` and calls `IoCompleteRequest(irp, IO_NO_INCREMENT)`.
///
/// # Safety
/// The caller owns `irp` (dispatch routine, or it won the cancel-routine
/// claim) and never touches it again. IRQL <= DISPATCH_LEVEL. Do not call it
/// while holding a driver spin lock that a completion path may take.
pub unsafe fn complete(irp: *mut Irp, status: NTSTATUS, information: usize) {
    // SAFETY: the caller owns the IRP (see above); `io_status` is its
    // completion record, written only by the owner before completion.
    let io_status = unsafe { &mut (*irp).io_status };
    io_status.status = status;
    io_status.information = information;
    // SAFETY: ownership passes to the I/O manager here; the caller
    // guarantees it does not use `irp` afterwards. IRQL <= DISPATCH_LEVEL.
    unsafe { IofCompleteRequest(irp, IO_NO_INCREMENT) };
}
