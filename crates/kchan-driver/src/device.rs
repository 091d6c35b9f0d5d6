//! The device extension: all state of the driver, in nonpaged memory that
//! `IoCreateDevice` allocates and `IoDeleteDevice` frees.

use crate::generator::Generator;
use crate::shell::{Chan, Shell};
use core::sync::atomic::AtomicBool;
use kchan_km::ffi::DeviceObject;
use kchan_km::sync::SpinLock;
use kchan_km::thread::SystemThread;

/// State of `\Device\kchan`, stored in its device extension.
pub struct Device {
    /// The channel and its bookkeeping.
    pub shell: Shell,
    /// The synthetic event source.
    pub generator: Generator,
    /// Set once by `DriverUnload`: the system threads exit.
    pub stop: AtomicBool,
    /// The timer thread (drives the completion policies' deadlines).
    pub timer_thread: SpinLock<Option<SystemThread>>,
}

// The extension follows DEVICE_OBJECT (0x148 bytes) in one allocation, so it
// is only guaranteed 8-byte alignment.
const _: () = assert!(core::mem::align_of::<Device>() <= 8);

impl Device {
    /// Writes a new `Device` holding `chan` into `slot` and initializes its
    /// self-referential parts (events) in place. IRQL = PASSIVE_LEVEL.
    ///
    /// # Safety
    /// `slot` is the device extension of a device just created with
    /// `size_of::<Device>()` bytes: valid, aligned (checked above),
    /// nonpaged, not yet visible to any other thread.
    pub unsafe fn init_in_place(slot: *mut Device, chan: Chan) {
        // SAFETY: valid for writes and unshared (caller).
        unsafe {
            slot.write(Device {
                shell: Shell::new(),
                generator: Generator::new(),
                stop: AtomicBool::new(false),
                timer_thread: SpinLock::new(None),
            })
        };
        // SAFETY: `slot` now holds a Device at its final address (the
        // extension never moves), unshared (caller).
        let dev = unsafe { &*slot };
        // SAFETY: as above: final address, not yet shared.
        unsafe { dev.shell.init(chan) };
        // SAFETY: as above.
        unsafe { dev.generator.init() };
    }

    /// Publishes one event to every matching subscriber: the entry point for
    /// event sources (OS callbacks, ...). Callable at IRQL <= DISPATCH_LEVEL:
    /// it neither allocates nor blocks (the payload is copied into the
    /// rings under the spin lock; receives it completes are completed after
    /// the lock is released). Returns how many subscribers got it.
    pub fn publish(&self, kind: u16, payload: &[u8]) -> usize {
        self.shell.with(|chan, sink| chan.publish(kind, payload, sink)).unwrap_or(0)
    }

    /// The `Device` of `\Device\kchan`.
    ///
    /// # Safety
    /// `device` is the device object created by `DriverEntry` (whose
    /// extension `init_in_place` initialized) and not yet deleted: true for
    /// every dispatch and cancel routine call, and for the system threads,
    /// which `DriverUnload` joins before deleting it.
    pub unsafe fn from_object<'a>(device: *mut DeviceObject) -> &'a Device {
        // SAFETY: see the function's contract: a live device object.
        let extension = unsafe { (*device).device_extension };
        // SAFETY: see the function's contract: an initialized `Device`.
        unsafe { &*extension.cast::<Device>() }
    }
}
