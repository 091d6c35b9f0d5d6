//! `DriverEntry` and `DriverUnload`.

use crate::clock::KernelClock;
use crate::control::limits;
use crate::device::Device;
use crate::shell::Chan;
use crate::{dispatch, generator, leak_report, timer, POOL};
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::Ordering;
use kchan_km::ffi::{
    status, DeviceObject, DriverObject, IoCreateDevice, IoCreateSymbolicLink, IoDeleteDevice, IoDeleteSymbolicLink,
    KStartRoutine, KeDelayExecutionThread, UnicodeString, DO_BUFFERED_IO, DO_DEVICE_INITIALIZING,
    FILE_DEVICE_SECURE_OPEN, FILE_DEVICE_UNKNOWN, IRP_MJ_CLEANUP, IRP_MJ_CLOSE, IRP_MJ_CREATE, IRP_MJ_DEVICE_CONTROL,
    KERNEL_MODE, NTSTATUS,
};
use kchan_km::kprintln;
use kchan_km::sync::SpinLock;
use kchan_km::thread::SystemThread;
use kchan_km::unicode::StaticUnicode;

static DEVICE_NAME: StaticUnicode<14> = StaticUnicode::new(b"\\Device\\kchan\0");
static LINK_NAME: StaticUnicode<18> = StaticUnicode::new(b"\\DosDevices\\kchan\0");

/// How long unload waits for receives still completing (cancel routines
/// already running), in 1 ms steps.
const UNLOAD_DRAIN_MS: u32 = 5_000;

/// Driver entry point. IRQL = PASSIVE_LEVEL, system thread.
///
/// # Safety
/// Called once by the kernel with a valid driver object.
#[no_mangle]
pub unsafe extern "system" fn DriverEntry(driver: *mut DriverObject, _registry: *mut UnicodeString) -> NTSTATUS {
    kprintln!("DriverEntry (pool live: {:?})", POOL.stats());
    let chan = match Chan::new(KernelClock::new(), limits()) {
        Ok(c) => c,
        Err(e) => return e.ntstatus(),
    };
    let mut name = DEVICE_NAME.as_unicode_string();
    let mut device = ptr::null_mut();
    // SAFETY: PASSIVE_LEVEL; `driver` is valid (caller); `name` and `device`
    // are live locals; the extension is sized for `Device`.
    let st = unsafe {
        IoCreateDevice(
            driver,
            core::mem::size_of::<Device>() as u32,
            &mut name,
            FILE_DEVICE_UNKNOWN,
            FILE_DEVICE_SECURE_OPEN,
            0,
            &mut device,
        )
    };
    if !status::nt_success(st) {
        kprintln!("IoCreateDevice failed: {:#x}", st);
        return st;
    }
    // SAFETY: the device was just created; its extension is ours, unshared.
    let dev_ptr = unsafe { (*device).device_extension.cast::<Device>() };
    // SAFETY: fresh extension of `size_of::<Device>()` bytes, unshared.
    unsafe { Device::init_in_place(dev_ptr, chan) };
    // SAFETY: the device is ours until DO_DEVICE_INITIALIZING is cleared.
    unsafe { (*device).flags |= DO_BUFFERED_IO };

    let mut link = LINK_NAME.as_unicode_string();
    // SAFETY: PASSIVE_LEVEL; both strings are live locals over statics.
    let st = unsafe { IoCreateSymbolicLink(&mut link, &mut name) };
    if !status::nt_success(st) {
        kprintln!("IoCreateSymbolicLink failed: {:#x}", st);
        // SAFETY: nothing else knows the device or runs on it.
        unsafe { teardown(device, false) };
        return st;
    }
    // SAFETY: initialized above, at its final address.
    let dev = unsafe { &*dev_ptr };
    // SAFETY: `dev_ptr` is initialized and outlives both threads (unload
    // and the failure path join them first); PASSIVE_LEVEL; both bodies end
    // with PsTerminateSystemThread.
    let started = unsafe { spawn(&dev.timer_thread, timer::run, dev_ptr.cast()) }
        // SAFETY: as above.
        .and_then(|()| unsafe { spawn(&dev.generator.thread, generator::run, dev_ptr.cast()) });
    if let Err(st) = started {
        kprintln!("PsCreateSystemThread failed: {:#x}", st);
        // SAFETY: no dispatch routine is installed yet; `teardown` joins the
        // thread that may have started.
        unsafe { teardown(device, true) };
        return st;
    }

    // SAFETY: `driver` is valid (caller); the table is ours to fill before
    // returning from DriverEntry.
    let d = unsafe { &mut *driver };
    d.major_function[IRP_MJ_CREATE] = Some(dispatch::create);
    d.major_function[IRP_MJ_CLOSE] = Some(dispatch::close);
    d.major_function[IRP_MJ_CLEANUP] = Some(dispatch::cleanup);
    d.major_function[IRP_MJ_DEVICE_CONTROL] = Some(dispatch::device_control);
    d.driver_unload = Some(driver_unload);
    // SAFETY: the device is fully set up; from now on the I/O manager may
    // send requests.
    unsafe { (*device).flags &= !DO_DEVICE_INITIALIZING };
    kprintln!("loaded: \\Device\\kchan, \\DosDevices\\kchan (pool live: {:?})", POOL.stats());
    status::SUCCESS
}

/// Starts a system thread and stores it in `slot`.
///
/// # Safety
/// As [`SystemThread::spawn`].
unsafe fn spawn(
    slot: &SpinLock<Option<SystemThread>>,
    routine: KStartRoutine,
    ctx: *mut c_void,
) -> Result<(), NTSTATUS> {
    // SAFETY: the caller's contract is `spawn`'s.
    let thread = unsafe { SystemThread::spawn(routine, ctx) }?;
    *slot.lock() = Some(thread);
    Ok(())
}

/// `DriverUnload`. IRQL = PASSIVE_LEVEL. Works with open handles and
/// pending receives (Wine calls it regardless of open handles).
unsafe extern "system" fn driver_unload(driver: *mut DriverObject) {
    // SAFETY: `driver` is ours; DriverEntry created exactly one device.
    let device = unsafe { (*driver).device_object };
    if device.is_null() {
        return;
    }
    // SAFETY: our device, initialized, not yet deleted; no dispatch routine
    // runs during unload.
    unsafe { teardown(device, true) };
}

/// Stops everything and frees every allocation: joins the threads, closes
/// every subscriber (completing their receives), waits for receives still
/// being completed, frees the channel, deletes link (if `linked`) and
/// device, then reports the allocator's live counts. IRQL = PASSIVE_LEVEL.
///
/// # Safety
/// `device` is our initialized device, not yet deleted, and no dispatch
/// routine runs or will run on it.
unsafe fn teardown(device: *mut DeviceObject, linked: bool) {
    // SAFETY: caller's contract.
    let dev = unsafe { Device::from_object(device) };

    // 1. Stop and join the threads (no more publishing or timer work).
    // Release: pairs with the threads' Acquire loads.
    dev.stop.store(true, Ordering::Release);
    dev.generator.wake_for_unload();
    // SAFETY: initialized in `Shell::init`; PASSIVE_LEVEL.
    unsafe { dev.shell.timer_wake.set() };
    for slot in [&dev.generator.thread, &dev.timer_thread] {
        let thread = slot.lock().take();
        if let Some(thread) = thread {
            thread.join();
        }
    }

    // 2. Close every subscriber: claimable receives complete now.
    let mut closed = 0;
    for id in dev.shell.forget_all().into_iter().flatten() {
        let detached = dev.shell.with(|chan, sink| chan.close(id, sink));
        drop(detached); // outside the lock
        closed += 1;
    }
    // 3. Receives whose cancel routine is already running are completed by
    // it; it still uses the channel, so wait for it.
    let mut waited = 0;
    while dev.shell.outstanding() > 0 && waited < UNLOAD_DRAIN_MS {
        let mut one_ms: i64 = -10_000;
        // SAFETY: PASSIVE_LEVEL; relative 1 ms, a live local.
        unsafe { KeDelayExecutionThread(KERNEL_MODE, 0, &mut one_ms) };
        waited += 1;
    }
    if dev.shell.outstanding() > 0 {
        kprintln!("unload: {} receives still outstanding, leaking the device", dev.shell.outstanding());
        return;
    }
    // 4. Free the channel (outside its lock), our state, link and device.
    drop(dev.shell.take_channel());
    let mut link = LINK_NAME.as_unicode_string();
    if linked {
        // SAFETY: PASSIVE_LEVEL; the link was created by DriverEntry.
        unsafe { IoDeleteSymbolicLink(&mut link) };
    }
    // SAFETY: nothing uses the extension any more (threads joined, channel
    // gone, no receive outstanding, no dispatch); `dev` is not used after.
    unsafe { ptr::drop_in_place(ptr::from_ref(dev).cast_mut()) };
    // SAFETY: PASSIVE_LEVEL; our device, deleted once.
    unsafe { IoDeleteDevice(device) };
    let pool = POOL.stats();
    kprintln!("unloaded: closed {} subscribers; pool live: {:?}", closed, pool);
    leak_report::write(&pool);
}
