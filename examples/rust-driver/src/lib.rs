//! `kchan_example_rust.sys`: a Rust WDM driver that streams its own events
//! through the kchan library. A system thread publishes a counter (kind 2,
//! 8 bytes little-endian) every 10 ms; clients open `\\.\kchan_example_rust`.
//! Everything else (the device, its requests, unload) is the library's.
#![cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
#![no_std]

use core::ptr::{from_ref, null_mut};
use core::sync::atomic::{AtomicPtr, Ordering::*};
use kchan_driver::wdm::{self, KchanDevice, Options};
use kchan_km::ffi::{self, status, DriverObject, UnicodeString};
use kchan_km::{pool::PoolAllocator, sync::SpinLock, thread::SystemThread};

kchan_km::driver_runtime!();
#[global_allocator]
static POOL: PoolAllocator = PoolAllocator::new(u32::from_le_bytes(*b"kchr"));

/// The device while the source may publish; null tells the source to stop.
static DEVICE: AtomicPtr<KchanDevice> = AtomicPtr::new(null_mut());
static SOURCE: SpinLock<Option<SystemThread>> = SpinLock::new(None);

/// # Safety
/// Called once by the kernel, at PASSIVE_LEVEL.
#[no_mangle]
pub unsafe extern "system" fn DriverEntry(driver: *mut DriverObject, registry: *mut UnicodeString) -> i32 {
    // `destroy` writes the pool's live counts under the service key: the unload report.
    let options = Options { unload_report: Some(&POOL), ..Options::new("kchan_example_rust", registry) };
    // SAFETY: our driver object and registry path, in DriverEntry.
    let dev = match unsafe { KchanDevice::create(driver, &options) } {
        Ok(dev) => dev,
        Err(st) => return st,
    };
    DEVICE.store(from_ref(dev).cast_mut(), Release);
    // SAFETY: `counter` ends with PsTerminateSystemThread; unload joins it before destroying the device.
    match unsafe { SystemThread::spawn(counter, null_mut()) } {
        Ok(thread) => *SOURCE.lock() = Some(thread),
        Err(st) => {
            // SAFETY: our driver object; `unload` destroys the device, and no request was routed.
            unsafe { unload(driver) };
            return st;
        }
    }
    // SAFETY: our driver object, in DriverEntry.
    unsafe { wdm::route(driver) };
    // SAFETY: as above.
    unsafe { (*driver).driver_unload = Some(unload) };
    status::SUCCESS
}

/// The event source: a counter every 10 ms, at PASSIVE_LEVEL.
unsafe extern "system" fn counter(_: *mut core::ffi::c_void) {
    for count in 0u64.. {
        // SAFETY: non-null means not yet destroyed: unload nulls it and joins us first.
        let Some(dev) = (unsafe { DEVICE.load(Acquire).as_ref() }) else { break };
        dev.publish(2, &count.to_le_bytes());
        let mut ten_ms = -100_000i64;
        // SAFETY: PASSIVE_LEVEL; a relative time in a live local.
        unsafe { ffi::KeDelayExecutionThread(ffi::KERNEL_MODE, 0, &mut ten_ms) };
    }
    // SAFETY: the system thread itself, at PASSIVE_LEVEL.
    unsafe { ffi::PsTerminateSystemThread(status::SUCCESS) };
}

/// Stops the source, then destroys the device (which writes the unload report).
unsafe extern "system" fn unload(_: *mut DriverObject) {
    let dev = DEVICE.swap(null_mut(), AcqRel);
    let source = SOURCE.lock().take(); // released before the wait
    if let Some(thread) = source {
        thread.join();
    }
    // SAFETY: created in DriverEntry, destroyed once; its only source has stopped.
    unsafe { KchanDevice::destroy(dev) };
}
