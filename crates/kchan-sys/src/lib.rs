//! `kchan.sys`: the kchan driver. A thin driver over the kchan library
//! (`kchan-driver`): the library's device as `\Device\kchan`
//! (`\\.\kchan`, service `kchan`), a synthetic event source driven by
//! `IOCTL_GEN_START`/`IOCTL_GEN_STOP` ([`generator`]), and the library's
//! unload report (`Options::unload_report`: its allocator's live counts
//! and the records the unload found still in rings, under the service key
//! once the device is gone, which the e2e tests read after every stop).
//!
//! Built as a `cdylib` for `x86_64-pc-windows-gnu`; `build.rs` holds every
//! link setting, so `cargo build -p kchan-sys --target
//! x86_64-pc-windows-gnu --profile kernel` yields
//! `target/x86_64-pc-windows-gnu/kernel/kchan_sys.dll`, a native-subsystem
//! PE importing only `ntoskrnl.exe` and `hal.dll`, installed as `kchan.sys`
//! (the `kernel` profile is release with the LTO that leaves out the parts
//! of `core` the driver does not use).
//! On other targets the crate is empty, so a host `cargo build` succeeds.
#![cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
#![no_std]

extern crate alloc;

pub mod generator;

use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use generator::Generator;
use kchan_driver::wdm::{self, KchanDevice, Options};
use kchan_driver::Config;
use kchan_km::ffi::{status, DriverObject, UnicodeString, NTSTATUS};
use kchan_km::kprintln;

kchan_km::driver_runtime!();

/// The kernel heap: nonpaged pool tagged `kchn`, with live counters
/// (reported by `IOCTL_STATS` and at unload).
#[global_allocator]
pub static POOL: kchan_km::pool::PoolAllocator = kchan_km::pool::PoolAllocator::new(u32::from_le_bytes(*b"kchn"));

/// The device, from `DriverEntry` to `DriverUnload`.
static DEVICE: AtomicPtr<KchanDevice> = AtomicPtr::new(ptr::null_mut());

/// The generator (a static: at its final address from the start).
static GENERATOR: Generator = Generator::new();

/// The device name: `\Device\kchan`, `\\.\kchan`.
const NAME: &str = kchan_proto::DEVICE_NAME;

/// Driver entry point. IRQL = PASSIVE_LEVEL, system thread.
///
/// # Safety
/// Called once by the kernel with a valid driver object and its registry
/// path.
#[no_mangle]
pub unsafe extern "system" fn DriverEntry(driver: *mut DriverObject, registry: *mut UnicodeString) -> NTSTATUS {
    kprintln!("DriverEntry (pool live: {:?})", POOL.stats());
    // SAFETY: the static is at its final address and nothing uses it yet.
    unsafe { GENERATOR.init() };
    let options = Options {
        name: NAME,
        config: Config::default(),
        registry_path: registry,
        hooks: Some(&GENERATOR),
        unload_report: Some(&POOL),
    };
    // SAFETY: our driver object and registry path (caller); PASSIVE_LEVEL.
    let dev = match unsafe { KchanDevice::create(driver, &options) } {
        Ok(dev) => dev,
        Err(st) => return st,
    };
    // SAFETY: `dev` lives until `destroy`, which stops the generator first
    // (`SourceHooks::shutdown`); PASSIVE_LEVEL.
    if let Err(st) = unsafe { GENERATOR.spawn(dev) } {
        kprintln!("PsCreateSystemThread failed: {:#x}", st);
        // SAFETY: created above, destroyed once, no request routed yet.
        unsafe { KchanDevice::destroy(dev) };
        return st;
    }
    DEVICE.store(ptr::from_ref(dev).cast_mut(), Ordering::Release);
    // SAFETY: our driver object, in DriverEntry.
    unsafe { wdm::route(driver) };
    // SAFETY: our driver object, in DriverEntry: its unload routine is ours
    // to set.
    unsafe { (*driver).driver_unload = Some(driver_unload) };
    kprintln!("loaded (pool live: {:?})", POOL.stats());
    status::SUCCESS
}

/// `DriverUnload`. IRQL = PASSIVE_LEVEL. Works with open handles and
/// pending receives (Wine unloads regardless of them).
unsafe extern "system" fn driver_unload(_driver: *mut DriverObject) {
    let dev = DEVICE.swap(ptr::null_mut(), Ordering::AcqRel);
    if dev.is_null() {
        return;
    }
    // SAFETY: created by DriverEntry, destroyed once; the generator is our
    // only event source and `destroy` stops it through the hooks.
    let closed = unsafe { KchanDevice::destroy(dev) };
    kprintln!(
        "unloaded: closed {} subscribers, {} records left in their rings counted dropped",
        closed.subscribers,
        closed.records_dropped
    );
}
