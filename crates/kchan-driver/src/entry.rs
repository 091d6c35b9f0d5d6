//! `DriverEntry` and `DriverUnload`.

use crate::device::Device;
use crate::mailbox::Mailbox;
use crate::{delivery, dispatch, POOL};
use alloc::boxed::Box;
use core::ptr;
use core::sync::atomic::Ordering;
use kchan_km::ffi::{
    status, DriverObject, IoCreateDevice, IoCreateSymbolicLink, IoDeleteDevice,
    IoDeleteSymbolicLink, KeDelayExecutionThread, UnicodeString, DO_BUFFERED_IO,
    DO_DEVICE_INITIALIZING, FILE_DEVICE_SECURE_OPEN, FILE_DEVICE_UNKNOWN, IRP_MJ_CLEANUP,
    IRP_MJ_CLOSE, IRP_MJ_CREATE, IRP_MJ_DEVICE_CONTROL, KERNEL_MODE, NTSTATUS,
};
use kchan_km::kprintln;
use kchan_km::thread::SystemThread;
use kchan_km::unicode::StaticUnicode;

static DEVICE_NAME: StaticUnicode<14> = StaticUnicode::new(b"\\Device\\kchan\0");
static LINK_NAME: StaticUnicode<18> = StaticUnicode::new(b"\\DosDevices\\kchan\0");

/// How long unload waits for cancel routines already running (1 ms steps).
const UNLOAD_DRAIN_MS: u32 = 5_000;

/// Driver entry point. IRQL = PASSIVE_LEVEL, system thread.
///
/// # Safety
/// Called once by the kernel with a valid driver object.
#[no_mangle]
pub unsafe extern "system" fn DriverEntry(driver: *mut DriverObject, _registry: *mut UnicodeString) -> NTSTATUS {
    kprintln!("DriverEntry (pool live: {:?})", POOL.stats());
    let mailbox = Box::new(Mailbox::new());

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
    unsafe { Device::init_in_place(dev_ptr, mailbox) };
    // SAFETY: the device is ours until DO_DEVICE_INITIALIZING is cleared.
    unsafe { (*device).flags |= DO_BUFFERED_IO };

    let mut link = LINK_NAME.as_unicode_string();
    // SAFETY: PASSIVE_LEVEL; both strings are live locals over statics.
    let st = unsafe { IoCreateSymbolicLink(&mut link, &mut name) };
    if !status::nt_success(st) {
        kprintln!("IoCreateSymbolicLink failed: {:#x}", st);
        // SAFETY: nothing else knows the device; drop our state...
        unsafe { ptr::drop_in_place(dev_ptr) };
        // SAFETY: ...and delete it (PASSIVE_LEVEL).
        unsafe { IoDeleteDevice(device) };
        return st;
    }

    // SAFETY: `dev_ptr` is initialized and outlives the thread (unload joins
    // it first); PASSIVE_LEVEL; `delivery::run` ends with
    // PsTerminateSystemThread.
    match unsafe { SystemThread::spawn(delivery::run, dev_ptr.cast()) } {
        Ok(thread) => {
            // SAFETY: `dev_ptr` is initialized.
            *unsafe { &*dev_ptr }.thread.lock() = Some(thread);
        }
        Err(st) => {
            kprintln!("PsCreateSystemThread failed: {:#x}", st);
            // SAFETY (three blocks): no thread was created, so nothing else
            // knows the device: remove the link, drop our state, delete the
            // device. PASSIVE_LEVEL.
            // SAFETY: see above.
            unsafe { IoDeleteSymbolicLink(&mut link) };
            // SAFETY: see above.
            unsafe { ptr::drop_in_place(dev_ptr) };
            // SAFETY: see above.
            unsafe { IoDeleteDevice(device) };
            return st;
        }
    }

    // SAFETY: `driver` is valid (caller); the table is ours to fill before
    // returning from DriverEntry.
    unsafe {
        let d = &mut *driver;
        d.major_function[IRP_MJ_CREATE] = Some(dispatch::create);
        d.major_function[IRP_MJ_CLOSE] = Some(dispatch::close_or_cleanup);
        d.major_function[IRP_MJ_CLEANUP] = Some(dispatch::close_or_cleanup);
        d.major_function[IRP_MJ_DEVICE_CONTROL] = Some(dispatch::device_control);
        d.driver_unload = Some(driver_unload);
    }
    // SAFETY: the device is fully set up; from now on the I/O manager may
    // send requests.
    unsafe { (*device).flags &= !DO_DEVICE_INITIALIZING };
    kprintln!("loaded: \\Device\\kchan, \\DosDevices\\kchan");
    status::SUCCESS
}

/// `DriverUnload`. IRQL = PASSIVE_LEVEL. Works with open handles and
/// pending receives (Wine calls it regardless of open handles).
unsafe extern "system" fn driver_unload(driver: *mut DriverObject) {
    // SAFETY: `driver` is ours; DriverEntry created exactly one device.
    let device = unsafe { (*driver).device_object };
    if device.is_null() {
        return;
    }
    // SAFETY: our initialized device, not yet deleted.
    let dev = unsafe { Device::from_object(device) };

    // 1. Stop and join the delivery thread. Release: pairs with its Acquire.
    dev.stop.store(true, Ordering::Release);
    // SAFETY: initialized event; PASSIVE_LEVEL.
    unsafe { dev.wake.set() };
    let thread = dev.thread.lock().take();
    if let Some(thread) = thread {
        let st = thread.join();
        kprintln!("delivery thread joined: {:#x}", st);
    }

    // 2. Refuse new receives, complete the queued ones.
    dev.pending.close();
    let n = dev.pending.take(
        usize::MAX,
        |_| true,
        // SAFETY: `take` hands us claimed IRPs.
        |irp| unsafe { kchan_km::irp::complete(irp, status::CANCELLED, 0) },
    );
    // 3. Wait for cancel routines already running: they still use `dev`.
    let mut waited = 0;
    while !dev.pending.is_empty() && waited < UNLOAD_DRAIN_MS {
        let mut one_ms: i64 = -10_000;
        // SAFETY: PASSIVE_LEVEL; relative 1 ms.
        unsafe { KeDelayExecutionThread(KERNEL_MODE, 0, &mut one_ms) };
        waited += 1;
    }
    if !dev.pending.is_empty() {
        kprintln!("unload: {} receives still pending, leaking the device", dev.pending.len());
        return;
    }

    // 4. Free our state and delete link and device.
    let mut link = LINK_NAME.as_unicode_string();
    // SAFETY (three blocks): nothing uses the extension any more (thread
    // joined, queue empty and closed, no dispatch runs during unload);
    // `dev` is not used after the drop. PASSIVE_LEVEL.
    // SAFETY: see above.
    unsafe { ptr::drop_in_place(ptr::from_ref(dev).cast_mut()) };
    // SAFETY: see above.
    unsafe { IoDeleteSymbolicLink(&mut link) };
    // SAFETY: see above.
    unsafe { IoDeleteDevice(device) };
    kprintln!("unloaded: completed {} pending receives; pool live: {:?}", n, POOL.stats());
}
