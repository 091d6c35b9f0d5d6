//! kchan for drivers written in C: a static library (`libkchan_c.a`) over
//! the `kchan-driver` library's embedding API, and its header
//! `include/kchan_km.h`, generated from this file by cbindgen.
//!
//! A C WDM driver built with mingw-w64 creates a kchan device in
//! `DriverEntry` ([`KchanCreateDevice`]), forwards that device's
//! `IRP_MJ_CREATE`/`CLEANUP`/`CLOSE`/`DEVICE_CONTROL` requests to it
//! ([`KchanDispatch`]), publishes its events from any IRQL up to
//! `DISPATCH_LEVEL` ([`KchanPublish`]) and deletes the device in
//! `DriverUnload` ([`KchanDeleteDevice`]). Clients see the same IOCTL
//! surface and protocol version as `kchan.sys`.
//!
//! # The boundary
//!
//! - Only C types cross it: an opaque `KCHAN_DEVICE`, a `#[repr(C)]`
//!   `KCHAN_CONFIG`, DDK pointers and integers. Every function checks what
//!   it can (null pointers, sizes, names) and answers with an NTSTATUS.
//! - The library needs nothing from the C driver beyond `ntoskrnl.exe` and
//!   `hal.dll`: its allocator is `kchan-km`'s counting pool allocator, its
//!   panic handler `kchan-km`'s, which ends in `KeBugCheckEx` with
//!   `KCHAN_BUGCHECK` (0x6b630001) and never unwinds: the library is built
//!   with `panic = "abort"`, so no unwinding crosses into C.
//! - The header's declarations are this file's: `tests/header.rs`
//!   regenerates the header and fails if the committed one differs, then
//!   compiles it with mingw against the DDK headers.
//!
//! # Why a thin layer
//!
//! Everything a device does (dispatch, per-handle state, rundown, the
//! channel, unload) is `kchan-driver`'s; this crate converts C arguments
//! and owns nothing else, so a C driver and a Rust driver behave alike.
// The library exists only for the Windows kernel target; elsewhere (the
// Linux host's `cargo build`) the crate is empty.
#![cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
#![no_std]
// The C names follow the WDK's conventions, not Rust's.
#![allow(non_snake_case)]

mod embed;

use core::ffi::c_void;
pub use kchan_km::ffi::{DeviceObject, DriverObject, Irp, UnicodeString};

kchan_km::driver_runtime!();

/// The library's heap: nonpaged pool tagged `kchc`, with the live counts
/// the unload report writes.
#[global_allocator]
pub(crate) static POOL: kchan_km::pool::PoolAllocator =
    kchan_km::pool::PoolAllocator::new(u32::from_le_bytes(*b"kchc"));

/// `ULONG` (32 bits on Windows).
pub type ULONG = u32;
/// `USHORT`.
pub type USHORT = u16;
/// `ULONG64`.
pub type ULONG64 = u64;
/// `NTSTATUS`.
pub type NTSTATUS = i32;

/// The version of this interface: `KCHAN_CONFIG.Size` tells which fields a
/// caller knows, so later versions can add fields at the end.
pub const KCHAN_KM_VERSION: u32 = 1;

/// The bug check code of a panic inside the library, 0x6B630001
/// (`KeBugCheckEx`'s first parameter; the second is the source line). A
/// panic means a broken internal invariant, never bad input; it stops the
/// machine and never unwinds into the caller.
pub const KCHAN_BUGCHECK: u32 = 0x6B630001;
const _: () = assert!(KCHAN_BUGCHECK == kchan_km::panic::KCHAN_BUGCHECK);

// The name limit `KCHAN_CONFIG.Name` documents.
const _: () = assert!(kchan_driver::wdm::NAME_MAX == 48);

/// A kchan device created by `KchanCreateDevice`: opaque to the driver.
pub struct KchanDevice {
    _opaque: [u8; 0],
}

/// How `KchanCreateDevice` sets up a device. Zero every field you do not
/// set: zero means the default.
#[repr(C)]
pub struct KchanConfig {
    /// `sizeof(KCHAN_CONFIG)`.
    pub size: ULONG,
    /// The device's name, without a path, e.g. `RTL_CONSTANT_STRING(L"mydriver")`:
    /// the library creates `\Device\<Name>` and the link `\DosDevices\<Name>`,
    /// which clients open as `\\.\<Name>`. 1 to 48 characters from
    /// `A-Z a-z 0-9 _ -`. Copied: the caller's string need not outlive the call.
    pub name: *const UnicodeString,
    /// The `RegistryPath` that `DriverEntry` received, or NULL. The library
    /// reads the ring budget parameter `RingBudgetBytes` (REG_QWORD) there
    /// and, when the device is deleted, writes the unload report
    /// (`LastUnloadLiveAllocations`, `LastUnloadLiveBytes`,
    /// `LastUnloadDroppedRecords`). Copied.
    pub registry_path: *const UnicodeString,
    /// Budget for the rings of all subscribers together, in bytes; 0: 256
    /// MiB. The registry parameter, when present, replaces either. A
    /// subscribe past the budget is refused with STATUS_INSUFFICIENT_RESOURCES
    /// and changes nothing.
    pub ring_budget_bytes: ULONG64,
    /// Most subscribers at once, 1 to 64; 0: 64.
    pub max_subscribers: ULONG,
    /// Largest event payload `KchanPublish` accepts, in bytes, up to 16384;
    /// 0: 16384.
    pub max_payload_bytes: ULONG,
}

/// Creates a kchan device for `DriverObject` under `Config->Name`, with its
/// link, and returns it in `*Device`.
///
/// IRQL: PASSIVE_LEVEL (typically in `DriverEntry`).
///
/// The device object belongs to `DriverObject`: route its requests to
/// `KchanDispatch` (compare the `DeviceObject` your dispatch routine gets with
/// `KchanDeviceObject`). `*Device` stays valid until `KchanDeleteDevice`.
///
/// Returns STATUS_SUCCESS; STATUS_INVALID_PARAMETER for a null pointer, a
/// `Size` smaller than version 1's, a bad name or limit (nothing created,
/// `*Device` set to NULL); STATUS_OBJECT_NAME_COLLISION if the name is
/// taken; STATUS_INSUFFICIENT_RESOURCES; or what `IoCreateDevice` or
/// `IoCreateSymbolicLink` returned.
///
/// # Safety
/// `DriverObject` is the caller's driver object; `Config` and `Device` are
/// valid pointers or null.
#[no_mangle]
pub unsafe extern "C" fn KchanCreateDevice(
    driver_object: *mut DriverObject,
    config: *const KchanConfig,
    device: *mut *mut KchanDevice,
) -> NTSTATUS {
    // SAFETY: the caller's contract is `embed::create`'s.
    unsafe { embed::create(driver_object, config, device) }
}

/// The `DEVICE_OBJECT` of `Device`, for routing: a dispatch routine that
/// receives it passes the IRP to `KchanDispatch`.
///
/// IRQL: any.
///
/// # Safety
/// `Device` came from `KchanCreateDevice` and is not deleted.
#[no_mangle]
pub unsafe extern "C" fn KchanDeviceObject(device: *const KchanDevice) -> *mut DeviceObject {
    if device.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: a live device (caller).
    unsafe { embed::device(device) }.object()
}

/// Serves one request sent to `Device`'s device object: IRP_MJ_CREATE,
/// IRP_MJ_CLEANUP, IRP_MJ_CLOSE or IRP_MJ_DEVICE_CONTROL (any other major
/// function is completed with STATUS_INVALID_DEVICE_REQUEST).
///
/// IRQL: PASSIVE_LEVEL (the I/O manager's, in the requester's thread).
///
/// Ownership: the IRP passes to the library. It is completed, or marked
/// pending and STATUS_PENDING returned; either way the caller must not touch
/// it again, and its dispatch routine returns exactly the value returned
/// here. (A null `Device` completes the IRP with STATUS_INVALID_PARAMETER; a
/// null `Irp` returns it.) Requests of one handle may be dispatched concurrently. Once
/// `KchanDeleteDevice` has started, requests are completed with
/// STATUS_DELETE_PENDING.
///
/// # Safety
/// `Device` came from `KchanCreateDevice`; `Irp` is the request the I/O
/// manager sent to `KchanDeviceObject(Device)`, owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn KchanDispatch(device: *mut KchanDevice, irp: *mut Irp) -> NTSTATUS {
    let invalid = kchan_km::ffi::status::INVALID_PARAMETER;
    if irp.is_null() {
        return invalid;
    }
    if device.is_null() {
        // SAFETY: an IRP handed over by the caller, completed once here.
        unsafe { kchan_km::irp::Irp::from_raw(irp) }.complete(invalid, 0);
        return invalid;
    }
    // SAFETY: a live device (caller).
    let object = unsafe { embed::device(device) }.object();
    // SAFETY: an owned IRP sent to this device, at PASSIVE_LEVEL (caller).
    unsafe { kchan_driver::wdm::dispatch(object, irp) }
}

/// Publishes one event of kind `Kind` (0 to 63) with `PayloadBytes` bytes at
/// `Payload` to every subscriber whose filter has the kind. Returns how many
/// received it: 0 also for a kind above 63 or a payload above the limit
/// (both counted as rejected in the device's statistics).
///
/// IRQL: <= DISPATCH_LEVEL. It neither allocates nor waits: the payload is
/// copied into the subscribers' rings under a spin lock, and receives it
/// fills are completed after the lock is released. A subscriber whose ring
/// is full loses events according to its overflow policy, counted and
/// reported to it as a gap.
///
/// Ownership: the payload stays the caller's; it is copied before the call
/// returns. `Payload` may be NULL when `PayloadBytes` is 0.
///
/// # Safety
/// `Device` came from `KchanCreateDevice` and `KchanDeleteDevice` has not
/// started: stop every event source (timers, DPCs, callbacks, threads)
/// before deleting the device. `Payload` points to `PayloadBytes` readable
/// bytes of nonpaged memory when called above PASSIVE_LEVEL.
#[no_mangle]
pub unsafe extern "C" fn KchanPublish(
    device: *mut KchanDevice,
    kind: USHORT,
    payload: *const c_void,
    payload_bytes: ULONG,
) -> ULONG {
    let payload: &[u8] = match (payload.is_null(), payload_bytes) {
        (_, 0) => &[],
        (true, _) => return 0,
        // SAFETY: `payload_bytes` readable bytes, nonpaged above PASSIVE_LEVEL (caller).
        (false, n) => unsafe { core::slice::from_raw_parts(payload.cast::<u8>(), n as usize) },
    };
    if device.is_null() {
        return 0;
    }
    // SAFETY: a live device, not being deleted (caller).
    let delivered = unsafe { embed::device(device) }.publish(kind, payload);
    delivered as ULONG
}

/// Deletes `Device`: refuses new requests, waits for the dispatch routines in
/// progress, completes every pending receive (STATUS_CANCELLED), waits for
/// cancel routines already running, frees the channel and deletes the link
/// and the device object. Waits without a time limit, logging if it takes
/// long. If `KCHAN_CONFIG.RegistryPath` was given, writes the unload report
/// there once the device is gone: the library's live allocations and bytes,
/// 0 and 0 unless it leaked, and the events still waiting unread in the
/// rings of handles open at the deletion, which went with them (counted
/// dropped at close); with several devices, the last one deleted leaves the
/// final report.
///
/// IRQL: PASSIVE_LEVEL (typically in `DriverUnload`, or on `DriverEntry`'s
/// failure path).
///
/// Ownership: `Device` is invalid when the call returns. Event sources must
/// have stopped before the call (no `KchanPublish` running or to come).
/// Clients with open handles see their receives complete with
/// STATUS_CANCELLED and later requests fail.
///
/// # Safety
/// `Device` came from `KchanCreateDevice` and is deleted once.
#[no_mangle]
pub unsafe extern "C" fn KchanDeleteDevice(device: *mut KchanDevice) {
    // SAFETY: a live device, deleted once (caller).
    unsafe { embed::delete(device) }
}
