//! The device extension: all state of the driver, in nonpaged memory that
//! `IoCreateDevice` allocates and `IoDeleteDevice` frees.

use crate::mailbox::Mailbox;
use crate::pending::PendingQueue;
use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, AtomicU64};
use kchan_km::ffi::{DeviceObject, SYNCHRONIZATION_EVENT};
use kchan_km::sync::{Event, SpinLock};
use kchan_km::thread::SystemThread;

/// State of `\Device\kchan`, stored in its device extension.
pub struct Device {
    /// Pending `IOCTL_RECV` requests of every handle.
    pub pending: PendingQueue,
    /// Injected records waiting for a receive (pool memory: exercises and
    /// accounts the allocator; freed at unload).
    pub mailbox: SpinLock<Box<Mailbox>>,
    /// Wakes the delivery thread (auto-reset).
    pub wake: Event,
    /// Set once by `DriverUnload`: the delivery thread exits.
    pub stop: AtomicBool,
    /// Next sequence number of a delivered record.
    pub next_seq: AtomicU64,
    /// The delivery thread, joined by `DriverUnload`.
    pub thread: SpinLock<Option<SystemThread>>,
}

// The extension follows DEVICE_OBJECT (0x148 bytes) in one allocation, so it
// is only guaranteed 8-byte alignment.
const _: () = assert!(core::mem::align_of::<Device>() <= 8);

impl Device {
    /// Writes a new `Device` into `slot` and initializes its self-referential
    /// parts in place. IRQL = PASSIVE_LEVEL.
    ///
    /// # Safety
    /// `slot` is the device extension of a device just created with
    /// `size_of::<Device>()` bytes: valid, aligned (checked above),
    /// nonpaged, not yet visible to any other thread.
    pub unsafe fn init_in_place(slot: *mut Device, mailbox: Box<Mailbox>) {
        // SAFETY: valid for writes and unshared (caller).
        unsafe {
            slot.write(Device {
                pending: PendingQueue::new(),
                mailbox: SpinLock::new(mailbox),
                wake: Event::uninit(),
                stop: AtomicBool::new(false),
                next_seq: AtomicU64::new(0),
                thread: SpinLock::new(None),
            })
        };
        // SAFETY: `slot` now holds a Device at its final address (the
        // extension never moves), unshared (caller).
        let dev = unsafe { &*slot };
        // SAFETY: as above: final address, nobody waits or sets yet.
        unsafe { dev.wake.init(SYNCHRONIZATION_EVENT, false) };
        // SAFETY: as above: final address, not yet shared.
        unsafe { dev.pending.init() };
    }

    /// The `Device` of `\Device\kchan`.
    ///
    /// # Safety
    /// `device` is the device object created by `DriverEntry` (whose
    /// extension `init_in_place` initialized) and not yet deleted: true for
    /// every dispatch and cancel routine call, and for the delivery thread,
    /// which `DriverUnload` joins before deleting it.
    pub unsafe fn from_object<'a>(device: *mut DeviceObject) -> &'a Device {
        // SAFETY: see the function's contract: a live device object.
        let extension = unsafe { (*device).device_extension };
        // SAFETY: see the function's contract: an initialized `Device`.
        unsafe { &*extension.cast::<Device>() }
    }
}
