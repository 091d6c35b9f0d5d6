//! The device's place in its driver's dispatch table: [`route`] points a
//! driver's CREATE, CLEANUP, CLOSE and DEVICE_CONTROL entries at
//! [`dispatch`], which hands each request to the core, and `unroute` puts
//! the I/O manager's default routine back at unload.

use super::KchanDevice;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kchan_km::ffi::{
    status, DeviceObject, DriverDispatch, DriverObject, Irp as RawIrp, IRP_MJ_CLEANUP, IRP_MJ_CLOSE, IRP_MJ_CREATE,
    IRP_MJ_DEVICE_CONTROL, NTSTATUS,
};
use kchan_km::irp::Irp;

/// Routes `IRP_MJ_CREATE`, `IRP_MJ_CLEANUP`, `IRP_MJ_CLOSE` and
/// `IRP_MJ_DEVICE_CONTROL` of every device of `driver` to [`dispatch`]:
/// for a driver whose only device is its kchan device. A driver with other
/// devices routes them itself and calls [`dispatch`] for the kchan one.
///
/// # Safety
/// `driver` is the driver object, in `DriverEntry` (before any request).
pub unsafe fn route(driver: *mut DriverObject) {
    // SAFETY: the dispatch table is ours to fill in DriverEntry (caller).
    let d = unsafe { &mut *driver };
    if let Some(default) = d.major_function[IRP_MJ_DEVICE_CONTROL].filter(|f| !is_ours(*f)) {
        // Relaxed: written in DriverEntry, read in DriverUnload, which the
        // kernel orders after it.
        IO_MANAGER_DEFAULT.store(default as *mut (), Ordering::Relaxed);
    }
    for major in ROUTED {
        d.major_function[major] = Some(dispatch);
    }
}

/// Whether `f` is [`dispatch`].
fn is_ours(f: DriverDispatch) -> bool {
    core::ptr::fn_addr_eq(f, dispatch as DriverDispatch)
}

/// The requests [`route`] sends to [`dispatch`].
const ROUTED: [usize; 4] = [IRP_MJ_CREATE, IRP_MJ_CLEANUP, IRP_MJ_CLOSE, IRP_MJ_DEVICE_CONTROL];

/// The I/O manager's routine for requests a driver does not handle (what
/// the dispatch table held before [`route`]; Windows' and Wine's fail the
/// request with `STATUS_INVALID_DEVICE_REQUEST`). Null until `route` ran.
static IO_MANAGER_DEFAULT: AtomicPtr<()> = AtomicPtr::new(ptr::null_mut());

/// Points the entries [`route`] set back at the I/O manager's default
/// routine, for `DriverUnload` once dispatch has drained.
///
/// Windows sends no request to a driver whose unload has begun. Wine can:
/// its request loop may have fetched an IRP for the device before the
/// service thread ran DriverUnload, and call the table after the image is
/// unmapped. With the default routine there, such a late request fails
/// instead of executing unmapped memory. (A request already inside our
/// code when the image goes away cannot be helped from here.)
///
/// # Safety
/// `driver` is the live driver object. IRQL = PASSIVE_LEVEL.
pub(super) unsafe fn unroute(driver: *mut DriverObject) {
    // Relaxed: see `IO_MANAGER_DEFAULT`.
    let default = IO_MANAGER_DEFAULT.load(Ordering::Relaxed);
    if default.is_null() || driver.is_null() {
        return;
    }
    // SAFETY: a non-null value stored by `route` came from a `DriverDispatch`.
    let default: DriverDispatch = unsafe { core::mem::transmute::<*mut (), DriverDispatch>(default) };
    for major in ROUTED {
        // SAFETY: the driver object is live until after DriverUnload (caller).
        let slot = unsafe { &raw mut (*driver).major_function[major] };
        // SAFETY: `slot` points into the live driver object: an aligned,
        // pointer-sized entry.
        if unsafe { slot.read_volatile() }.is_some_and(is_ours) {
            // SAFETY: as for the read; one aligned pointer-sized store, which
            // a request loop reading the entry at the same time sees whole.
            unsafe { slot.write_volatile(Some(default)) };
        }
    }
}

/// The dispatch routine of a kchan device (`DRIVER_DISPATCH`) for
/// `IRP_MJ_CREATE`, `IRP_MJ_CLEANUP`, `IRP_MJ_CLOSE` and
/// `IRP_MJ_DEVICE_CONTROL`; others get `STATUS_INVALID_DEVICE_REQUEST`.
///
/// # Safety
/// Called by the I/O manager (or a driver forwarding what it got), at
/// PASSIVE_LEVEL, with a device made by [`KchanDevice::create`] and an IRP
/// it hands over.
pub unsafe extern "system" fn dispatch(object: *mut DeviceObject, irp: *mut RawIrp) -> NTSTATUS {
    // SAFETY: the IRP is handed over to us (caller).
    let irp = unsafe { Irp::from_raw(irp) };
    // SAFETY: our device, live while the I/O manager dispatches to it.
    let dev = unsafe { KchanDevice::from_object(object) };
    match usize::from(irp.major_function()) {
        IRP_MJ_CREATE => dev.core.create(irp),
        IRP_MJ_CLEANUP => dev.core.cleanup(irp),
        IRP_MJ_CLOSE => dev.core.close(irp),
        IRP_MJ_DEVICE_CONTROL => dev.core.device_control(irp),
        _ => {
            irp.complete(status::INVALID_DEVICE_REQUEST, 0);
            status::INVALID_DEVICE_REQUEST
        }
    }
}
