//! The WDM binding: the core ([`crate::Device`]) as a Windows device, for
//! a Rust WDM driver to embed (kernel target only).
//!
//! ```ignore
//! static KCHAN: AtomicPtr<KchanDevice> = AtomicPtr::new(ptr::null_mut());
//!
//! #[no_mangle]
//! pub unsafe extern "system" fn DriverEntry(driver: *mut DriverObject, registry: *mut UnicodeString) -> NTSTATUS {
//!     let options = Options { name: "mydevice", registry_path: registry, ..Options::default() };
//!     match unsafe { KchanDevice::create(driver, &options) } {
//!         Ok(dev) => KCHAN.store(dev, Ordering::Release),
//!         Err(status) => return status,
//!     }
//!     unsafe { kchan_driver::wdm::route(driver) };       // CREATE, CLEANUP, CLOSE, DEVICE_CONTROL
//!     unsafe { (*driver).driver_unload = Some(unload) };
//!     STATUS_SUCCESS
//! }
//! // Any IRQL <= DISPATCH_LEVEL, from any event source:
//! unsafe { &*KCHAN.load(Ordering::Acquire) }.publish(7, b"payload");
//! // DriverUnload: stop your event sources, then
//! unsafe { KchanDevice::destroy(KCHAN.load(Ordering::Acquire)) };
//! ```

mod clock;
mod kernel;
mod registry;
mod routing;
mod status_check;
mod timer;
mod unload_report;

pub use clock::KernelClock;
pub use kernel::Wdm;
pub use routing::{dispatch, route};

use crate::device::{Closed, Config, Device, SourceHooks};
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};
use kchan_km::ffi::{
    status, DeviceObject, DriverObject, IoCreateDevice, IoCreateSymbolicLink, IoDeleteDevice, IoDeleteSymbolicLink,
    ObOpenObjectByPointer, UnicodeString, ZwClose, ZwSetSecurityObject, DACL_SECURITY_INFORMATION, DO_BUFFERED_IO,
    DO_DEVICE_INITIALIZING, FILE_DEVICE_SECURE_OPEN, FILE_DEVICE_UNKNOWN, HANDLE, KERNEL_MODE, NTSTATUS,
    OBJ_KERNEL_HANDLE, WRITE_DAC,
};
use kchan_km::kprintln;
use kchan_km::pool::PoolAllocator;
use kchan_km::sync::SpinLock;
use kchan_km::thread::SystemThread;
use unload_report::UnloadReport;

/// Longest device name, in characters.
pub const NAME_MAX: usize = 48;

/// How [`KchanDevice::create`] sets the device up.
pub struct Options<'a> {
    /// The device's name: `\Device\<name>`, opened from user mode as
    /// `\\.\<name>`. ASCII letters, digits, `-` and `_`, at most
    /// [`NAME_MAX`] characters.
    pub name: &'a str,
    /// Limits, receive size, ring budget, default subscription. The ring
    /// budget is replaced by the service key's `RingBudgetBytes` value when
    /// `registry_path` is given and the value is there.
    pub config: Config,
    /// The driver's service key (`DriverEntry`'s second argument), or null.
    pub registry_path: *const UnicodeString,
    /// `GEN_START`/`GEN_STOP` and extra `STATS` fields; `None` answers
    /// those two requests `STATUS_NOT_SUPPORTED`.
    pub hooks: Option<&'static dyn SourceHooks>,
    /// The driver image's allocator, whose live counts
    /// [`KchanDevice::destroy`] writes under the service key
    /// (`registry_path`) when it is done, with the records it found still
    /// in rings: the unload report (`kchan_proto::LEAK_ALLOCS_VALUE`,
    /// `kchan_proto::LEAK_BYTES_VALUE`,
    /// `kchan_proto::UNLOAD_DROPPED_RECORDS_VALUE`). `None`, or no registry
    /// path: no report.
    pub unload_report: Option<&'static PoolAllocator>,
}

impl<'a> Options<'a> {
    /// The defaults, for the device `name` of the driver whose service key
    /// is `registry_path` (`DriverEntry`'s second argument, or null).
    pub fn new(name: &'a str, registry_path: *const UnicodeString) -> Self {
        Options { name, registry_path, ..Options::default() }
    }
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            name: kchan_proto::DEVICE_NAME,
            config: Config::default(),
            registry_path: ptr::null(),
            hooks: None,
            unload_report: None,
        }
    }
}

/// A name as UTF-16 with a prefix, NUL-terminated, in fixed storage.
struct WideName {
    units: [u16; NAME_MAX + 16],
    len: usize,
}

impl WideName {
    fn new(prefix: &str, name: &str) -> Option<WideName> {
        let valid = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        if name.is_empty() || name.len() > NAME_MAX || !name.bytes().all(valid) {
            return None;
        }
        let mut units = [0u16; NAME_MAX + 16];
        let mut len = 0;
        for b in prefix.bytes().chain(name.bytes()) {
            units[len] = u16::from(b);
            len += 1;
        }
        Some(WideName { units, len })
    }

    /// A `UNICODE_STRING` over the name, valid while `self` lives and does
    /// not move. The kernel calls it is passed to (`IoCreateDevice`,
    /// `Io*SymbolicLink`) take `*mut` but do not write through the buffer.
    fn unicode(&self) -> UnicodeString {
        let bytes = (self.len * 2) as u16;
        UnicodeString { length: bytes, maximum_length: bytes + 2, buffer: self.units.as_ptr().cast_mut() }
    }
}

/// A kchan device created by a WDM driver: the core plus its device
/// object, symbolic link and timer thread. Lives in the device extension.
pub struct KchanDevice {
    core: Device<Wdm>,
    object: *mut DeviceObject,
    link: WideName,
    /// Set by `destroy`: the timer thread exits.
    stop: AtomicBool,
    timer: SpinLock<Option<SystemThread>>,
    /// Written by `destroy` once the device is gone.
    report: Option<UnloadReport>,
}

// The extension follows DEVICE_OBJECT (0x148 bytes) in one allocation, so
// it is only guaranteed 8-byte alignment.
const _: () = assert!(core::mem::align_of::<KchanDevice>() <= 8);

// SAFETY: every field is shareable between threads: the core synchronizes
// itself, `object` is only read (its target lives as long as the device),
// `link` and `report` are only read, the rest are atomics and locks.
unsafe impl Sync for KchanDevice {}
// SAFETY: no field has thread affinity: the core's locks and events, the
// atomics and the thread reference may be used and dropped from any thread;
// `object` and `link` are plain data.
unsafe impl Send for KchanDevice {}

impl KchanDevice {
    /// Creates `\Device\<name>` and `\DosDevices\<name>` with a security
    /// descriptor that lets SYSTEM and Administrators do everything and
    /// others only read (subscribe and receive), and starts the timer
    /// thread. Call from `DriverEntry`, then [`route`] the requests.
    /// IRQL = PASSIVE_LEVEL.
    ///
    /// # Safety
    /// `driver` is the driver object `DriverEntry` received;
    /// `options.registry_path` is null or its registry path.
    pub unsafe fn create(driver: *mut DriverObject, options: &Options<'_>) -> Result<&'static KchanDevice, NTSTATUS> {
        crate::irql::passive::<Wdm>();
        let (Some(name), Some(link)) =
            (WideName::new("\\Device\\", options.name), WideName::new("\\DosDevices\\", options.name))
        else {
            return Err(status::INVALID_PARAMETER);
        };
        let mut config = options.config;
        // SAFETY: null or the service key (caller); PASSIVE_LEVEL.
        if let Some(budget) = unsafe { registry::ring_budget(options.registry_path) } {
            config.ring_budget_bytes = budget;
        }
        let core = Device::new(KernelClock::new(), config, options.hooks)?;
        // SAFETY: null or the service key (caller); PASSIVE_LEVEL.
        let report = options.unload_report.and_then(|pool| unsafe { UnloadReport::new(options.registry_path, pool) });

        let mut object = ptr::null_mut();
        let mut device_name = name.unicode();
        // SAFETY: PASSIVE_LEVEL; `driver` is valid (caller); the name and
        // `object` are live locals; the extension is sized for us.
        let st = unsafe {
            IoCreateDevice(
                driver,
                core::mem::size_of::<KchanDevice>() as u32,
                &mut device_name,
                FILE_DEVICE_UNKNOWN,
                FILE_DEVICE_SECURE_OPEN,
                0,
                &mut object,
            )
        };
        if !status::nt_success(st) {
            kprintln!("IoCreateDevice failed: {:#x}", st);
            return Err(st);
        }
        // SAFETY: the device was just created; its extension is ours and
        // unshared, sized and aligned for a `KchanDevice` (checked above).
        let slot = unsafe { (*object).device_extension.cast::<KchanDevice>() };
        // SAFETY: `slot` is the new extension: valid for writes of a
        // `KchanDevice` (sized and aligned for one), unshared.
        unsafe {
            slot.write(KchanDevice {
                core,
                object,
                link,
                stop: AtomicBool::new(false),
                timer: SpinLock::new(None),
                report,
            })
        };
        // SAFETY: initialized at its final address (the extension never
        // moves), not yet shared.
        let dev = unsafe { &*slot };
        // SAFETY: the core is in the extension, which never moves, and no
        // request or thread can reach it yet.
        unsafe { dev.core.init() };
        // SAFETY: our new device; PASSIVE_LEVEL.
        unsafe { secure(object) };
        // SAFETY: the device is ours until DO_DEVICE_INITIALIZING is cleared.
        unsafe { (*object).flags |= DO_BUFFERED_IO };

        let mut link_name = dev.link.unicode();
        // SAFETY: PASSIVE_LEVEL; both strings are live locals over live names.
        let st = unsafe { IoCreateSymbolicLink(&mut link_name, &mut device_name) };
        if !status::nt_success(st) {
            kprintln!("IoCreateSymbolicLink failed: {:#x}", st);
            // SAFETY: nothing else knows the device; no thread started.
            unsafe { dev.delete(false) };
            return Err(st);
        }
        // SAFETY: `dev` outlives the thread (destroy joins it first);
        // PASSIVE_LEVEL; the body ends with PsTerminateSystemThread.
        match unsafe { SystemThread::spawn(timer::run, ptr::from_ref(dev).cast_mut().cast()) } {
            Ok(thread) => *dev.timer.lock() = Some(thread),
            Err(st) => {
                kprintln!("PsCreateSystemThread failed: {:#x}", st);
                // SAFETY: no thread runs; no request was routed yet.
                unsafe { dev.delete(true) };
                return Err(st);
            }
        }
        // SAFETY: fully set up: from now on the I/O manager may send requests.
        unsafe { (*object).flags &= !DO_DEVICE_INITIALIZING };
        kprintln!("created \\Device\\{} (ring budget {} bytes)", options.name, config.ring_budget_bytes);
        Ok(dev)
    }

    /// The device-independent core (the requests, the channel).
    pub fn core(&self) -> &Device<Wdm> {
        &self.core
    }

    /// The device object, for a driver that routes requests itself: those
    /// sent to it go to [`dispatch`].
    pub fn object(&self) -> *mut DeviceObject {
        self.object
    }

    /// Publishes one event to every subscriber whose filter has `kind`. Any
    /// IRQL <= DISPATCH_LEVEL; neither allocates nor blocks. Returns how
    /// many subscribers got it.
    pub fn publish(&self, kind: u16, payload: &[u8]) -> usize {
        self.core.publish(kind, payload)
    }

    /// The `KchanDevice` of a device object [`KchanDevice::create`] made.
    ///
    /// # Safety
    /// `object` is such a device object, not yet deleted.
    pub unsafe fn from_object<'a>(object: *mut DeviceObject) -> &'a KchanDevice {
        // SAFETY: a live device object of ours (caller).
        let extension = unsafe { (*object).device_extension };
        // SAFETY: `create` wrote an initialized `KchanDevice` there.
        unsafe { &*extension.cast::<KchanDevice>() }
    }

    /// Tears the device down, for `DriverUnload`: refuses new requests and
    /// waits for those in progress, stops the driver's source (hooks) and
    /// the timer, closes every subscriber (completing its receives, and
    /// counting the records still in its ring dropped at close), waits for
    /// every receive to be completed — each wait without a time limit —
    /// then frees the channel, deletes link and device, and writes the
    /// unload report if [`Options::unload_report`] asked for one. Works with
    /// handles still open (Wine unloads regardless). Returns how many
    /// subscribers it closed and how many records their rings still held.
    /// IRQL = PASSIVE_LEVEL.
    ///
    /// # Safety
    /// `dev` came from [`KchanDevice::create`], is destroyed once, and is
    /// not used afterwards; the driver's own event sources (callbacks,
    /// threads) no longer publish.
    pub unsafe fn destroy(dev: *const KchanDevice) -> Closed {
        // SAFETY: a live device (caller).
        let dev = unsafe { &*dev };
        dev.core.stop_dispatch();
        // SAFETY: our device object, not yet deleted.
        let driver = unsafe { (*dev.object).driver_object };
        // SAFETY: the driver object outlives DriverUnload; PASSIVE_LEVEL.
        unsafe { routing::unroute(driver) };
        // Release: pairs with the timer thread's Acquire load.
        dev.stop.store(true, Ordering::Release);
        crate::kernel::Event::set(dev.core.timer_wake());
        let thread = dev.timer.lock().take();
        if let Some(thread) = thread {
            thread.join();
        }
        let closed = dev.core.close_all();
        let report = dev.report; // a copy: the device's memory goes next
                                 // SAFETY: nothing of the device runs any more (dispatch drained,
                                 // timer joined, receives completed).
        unsafe { dev.delete(true) };
        if let Some(report) = report {
            report.write(closed);
        }
        closed
    }

    /// Deletes the link (if `linked`), our state and the device object.
    ///
    /// # Safety
    /// Nothing uses the device any more, and `self` is not used after.
    unsafe fn delete(&self, linked: bool) {
        let object = self.object;
        if linked {
            let mut link = self.link.unicode();
            // SAFETY: PASSIVE_LEVEL; the link `create` made.
            unsafe { IoDeleteSymbolicLink(&mut link) };
        }
        // SAFETY: nothing uses the extension any more (caller).
        unsafe { ptr::drop_in_place(ptr::from_ref(self).cast_mut()) };
        // SAFETY: PASSIVE_LEVEL; our device, deleted once.
        unsafe { IoDeleteDevice(object) };
    }
}

/// Gives `object` the security descriptor of [`crate::security`]. A failure
/// is logged and the device stays with the default descriptor.
///
/// # Safety
/// `object` is our new device object. IRQL = PASSIVE_LEVEL.
unsafe fn secure(object: *mut DeviceObject) {
    let descriptor = crate::security::device_descriptor();
    let mut handle: HANDLE = ptr::null_mut();
    // SAFETY: PASSIVE_LEVEL; a referenced object of ours; null access
    // state and type are allowed for a kernel handle.
    let st = unsafe {
        ObOpenObjectByPointer(
            object.cast(),
            OBJ_KERNEL_HANDLE,
            ptr::null_mut(),
            WRITE_DAC,
            ptr::null_mut(),
            KERNEL_MODE,
            &mut handle,
        )
    };
    if !status::nt_success(st) {
        kprintln!("security descriptor not set: ObOpenObjectByPointer failed: {:#x}", st);
        return;
    }
    // SAFETY: PASSIVE_LEVEL; a handle with WRITE_DAC; a valid self-relative
    // descriptor that outlives the call.
    let st = unsafe { ZwSetSecurityObject(handle, DACL_SECURITY_INFORMATION, descriptor.as_ptr().cast()) };
    if !status::nt_success(st) {
        kprintln!("security descriptor not set: ZwSetSecurityObject failed: {:#x}", st);
    }
    // SAFETY: our kernel handle, closed once.
    unsafe { ZwClose(handle) };
}
