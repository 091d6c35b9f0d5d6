//! The open handle's subscriber: `FILE_OBJECT::FsContext` holds its
//! [`SubscriberId`] from `IRP_MJ_CREATE` to `IRP_MJ_CLOSE`.
//!
//! The field belongs to the driver of a device that is not a file system
//! (layout checked against mingw's `FILE_OBJECT` in `kchan-km`). The id is
//! stored plus one, so a null `FsContext` means "no subscriber" (the open
//! failed half way, or CLOSE already ran).

use kchan_engine::SubscriberId;
use kchan_km::ffi::{FileObject, Irp};
use kchan_km::irp;

/// The file object of `irp` (null for requests without one).
///
/// # Safety
/// The caller owns the live `irp`. Any IRQL.
unsafe fn file_object(irp: *mut Irp) -> *mut FileObject {
    // SAFETY: live IRP owned by the caller.
    let stack = unsafe { irp::current_stack(irp) };
    // SAFETY: its current stack location is valid while the caller owns it.
    unsafe { (*stack).file_object }
}

/// The subscriber bound to the handle `irp` was sent on.
///
/// # Safety
/// The caller owns the live `irp`, sent to our device. Any IRQL.
pub unsafe fn subscriber(irp: *mut Irp) -> Option<SubscriberId> {
    // SAFETY: caller's contract.
    let file = unsafe { file_object(irp) };
    if file.is_null() {
        return None;
    }
    // SAFETY: a file object of our device, live while one of its IRPs is;
    // only our dispatch routines (serialized per handle for CREATE/CLOSE)
    // write `FsContext`.
    let raw = unsafe { (*file).fs_context } as u64;
    (raw != 0).then(|| SubscriberId::from_u64(raw.wrapping_sub(1)))
}

/// Binds `id` to the handle (CREATE) or unbinds it (`None`, CLOSE).
///
/// # Safety
/// The caller owns the live CREATE or CLOSE `irp` of our device.
/// IRQL = PASSIVE_LEVEL.
pub unsafe fn bind(irp: *mut Irp, id: Option<SubscriberId>) {
    // SAFETY: caller's contract.
    let file = unsafe { file_object(irp) };
    if file.is_null() {
        return;
    }
    let raw = id.map_or(0, |id| id.to_u64().wrapping_add(1));
    // SAFETY: as in `subscriber`; CREATE and CLOSE are the first and last
    // requests of a handle, so nothing reads it concurrently.
    unsafe { (*file).fs_context = raw as *mut core::ffi::c_void };
}
