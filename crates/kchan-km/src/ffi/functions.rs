//! Kernel functions and data imported from `ntoskrnl.exe` and `hal.dll`.
//!
//! Declared with the x64 Windows calling convention (`extern "system"`; on
//! x64 there is one convention, so the `fastcall` exports such as
//! `IofCompleteRequest` are ordinary calls). The IRQL each may be called at
//! is stated per function; callers' `SAFETY` comments refer to it.
//!
//! `KeQueryPerformanceCounter` is imported from `hal.dll`: Wine 8 exports it
//! only there, while mingw's `libntoskrnl.a` (like x64 Windows 8+) puts it in
//! `ntoskrnl.exe`. x64 Windows' `hal.dll` keeps the export for compatibility
//! (untried here). The import is made with `raw-dylib`, so no import library
//! is needed.

use super::types::*;
use core::ffi::c_void;

#[link(name = "ntoskrnl")]
unsafe extern "system" {
    /// `IoCreateDevice`. IRQL = PASSIVE_LEVEL.
    pub fn IoCreateDevice(
        driver_object: *mut DriverObject,
        device_extension_size: u32,
        device_name: *mut UnicodeString,
        device_type: u32,
        device_characteristics: u32,
        exclusive: u8,
        device_object: *mut *mut DeviceObject,
    ) -> NTSTATUS;
    /// `IoDeleteDevice`. IRQL = PASSIVE_LEVEL.
    pub fn IoDeleteDevice(device_object: *mut DeviceObject);
    /// `IoCreateSymbolicLink`. IRQL = PASSIVE_LEVEL.
    pub fn IoCreateSymbolicLink(link: *mut UnicodeString, target: *mut UnicodeString) -> NTSTATUS;
    /// `IoDeleteSymbolicLink`. IRQL = PASSIVE_LEVEL.
    pub fn IoDeleteSymbolicLink(link: *mut UnicodeString) -> NTSTATUS;
    /// `IofCompleteRequest` (`IoCompleteRequest` is a macro for it).
    /// IRQL <= DISPATCH_LEVEL. The IRP must not be touched afterwards.
    pub fn IofCompleteRequest(irp: *mut Irp, priority_boost: i8);
    /// `IoReleaseCancelSpinLock`. IRQL = DISPATCH_LEVEL (the lock is held).
    pub fn IoReleaseCancelSpinLock(irql: KIRQL);
    /// `KeAcquireSpinLockRaiseToDpc` (what `KeAcquireSpinLock` expands to on
    /// x64). IRQL <= DISPATCH_LEVEL; returns the previous IRQL.
    pub fn KeAcquireSpinLockRaiseToDpc(lock: *mut KSPIN_LOCK) -> KIRQL;
    /// `KeReleaseSpinLock`. IRQL = DISPATCH_LEVEL; restores `new_irql`.
    pub fn KeReleaseSpinLock(lock: *mut KSPIN_LOCK, new_irql: KIRQL);
    /// `ExAllocatePoolWithTag`. IRQL <= DISPATCH_LEVEL for nonpaged pool.
    pub fn ExAllocatePoolWithTag(pool_type: PoolType, bytes: usize, tag: u32) -> *mut c_void;
    /// `ExFreePoolWithTag`. IRQL <= DISPATCH_LEVEL for nonpaged pool.
    pub fn ExFreePoolWithTag(p: *mut c_void, tag: u32);
    /// `PsCreateSystemThread`. IRQL = PASSIVE_LEVEL.
    pub fn PsCreateSystemThread(
        thread_handle: *mut HANDLE,
        desired_access: u32,
        object_attributes: *mut c_void,
        process_handle: HANDLE,
        client_id: *mut c_void,
        start_routine: KStartRoutine,
        start_context: *mut c_void,
    ) -> NTSTATUS;
    /// `PsTerminateSystemThread`. IRQL = PASSIVE_LEVEL, from the thread itself.
    pub fn PsTerminateSystemThread(exit_status: NTSTATUS) -> NTSTATUS;
    /// `ObReferenceObjectByHandle`. IRQL = PASSIVE_LEVEL.
    pub fn ObReferenceObjectByHandle(
        handle: HANDLE,
        desired_access: u32,
        object_type: *mut c_void,
        access_mode: i8,
        object: *mut *mut c_void,
        handle_information: *mut c_void,
    ) -> NTSTATUS;
    /// `ObfDereferenceObject` (`ObDereferenceObject` is a macro for it).
    /// IRQL <= DISPATCH_LEVEL.
    pub fn ObfDereferenceObject(object: *mut c_void) -> isize;
    /// `ZwClose`. IRQL = PASSIVE_LEVEL.
    pub fn ZwClose(handle: HANDLE) -> NTSTATUS;
    /// `KeWaitForSingleObject`. IRQL = PASSIVE_LEVEL to wait without
    /// timeout (or a zero timeout at <= DISPATCH_LEVEL).
    pub fn KeWaitForSingleObject(
        object: *mut c_void,
        wait_reason: u32,
        wait_mode: i8,
        alertable: u8,
        timeout: *mut i64,
    ) -> NTSTATUS;
    /// `KeDelayExecutionThread`; `interval` in 100 ns units, negative =
    /// relative. IRQL = PASSIVE_LEVEL (<= APC_LEVEL).
    pub fn KeDelayExecutionThread(wait_mode: i8, alertable: u8, interval: *mut i64) -> NTSTATUS;
    /// `KeInitializeEvent`. Any IRQL; the event must be nonpaged.
    pub fn KeInitializeEvent(event: *mut KEvent, event_type: u32, state: u8);
    /// `KeSetEvent`. IRQL <= DISPATCH_LEVEL with `wait` = FALSE.
    pub fn KeSetEvent(event: *mut KEvent, increment: i32, wait: u8) -> i32;
    /// `RtlWriteRegistryValue`: writes one value under an existing key.
    /// IRQL = PASSIVE_LEVEL; `path` and `value_name` are NUL-terminated UTF-16.
    pub fn RtlWriteRegistryValue(
        relative_to: u32,
        path: *const u16,
        value_name: *const u16,
        value_type: u32,
        value_data: *mut c_void,
        value_length: u32,
    ) -> NTSTATUS;
    /// `ObOpenObjectByPointer`: a handle to a referenced object.
    /// IRQL = PASSIVE_LEVEL.
    pub fn ObOpenObjectByPointer(
        object: *mut c_void,
        attributes: u32,
        access_state: *mut c_void,
        desired_access: u32,
        object_type: *mut c_void,
        access_mode: i8,
        handle: *mut HANDLE,
    ) -> NTSTATUS;
    /// `ZwSetSecurityObject`. IRQL = PASSIVE_LEVEL.
    pub fn ZwSetSecurityObject(handle: HANDLE, information: u32, descriptor: *const c_void) -> NTSTATUS;
    /// `ZwOpenKey`. IRQL = PASSIVE_LEVEL.
    pub fn ZwOpenKey(key: *mut HANDLE, desired_access: u32, attributes: *mut ObjectAttributes) -> NTSTATUS;
    /// `ZwQueryValueKey`. IRQL = PASSIVE_LEVEL.
    pub fn ZwQueryValueKey(
        key: HANDLE,
        value_name: *mut UnicodeString,
        class: u32,
        information: *mut c_void,
        length: u32,
        result_length: *mut u32,
    ) -> NTSTATUS;
    /// `KeBugCheckEx`: stops the system (under Wine: ends winedevice.exe).
    pub fn KeBugCheckEx(code: u32, p1: usize, p2: usize, p3: usize, p4: usize) -> !;

    /// `PsThreadType`: the exported variable holding the thread object
    /// type (`POBJECT_TYPE`), for `ObReferenceObjectByHandle`.
    ///
    /// C declares it `extern POBJECT_TYPE *PsThreadType` *without*
    /// dllimport, so there the name binds to the import-table slot and C code
    /// writes `*PsThreadType`. Rust accesses statics of a `#[link]` block
    /// through `__imp_` (dllimport), so here the name is the variable
    /// itself: use its value directly, with no extra dereference.
    pub static PsThreadType: *mut c_void;
}

#[link(name = "ntoskrnl")]
unsafe extern "C" {
    /// `DbgPrint(format, ...)`: printf-style, any IRQL for `%s`/`%d`-class
    /// conversions of nonpaged data. Under Wine it shows with
    /// `WINEDEBUG=+debugstr`.
    pub fn DbgPrint(format: *const u8, ...) -> u32;
}

#[link(name = "hal", kind = "raw-dylib")]
unsafe extern "system" {

    /// `KeQueryPerformanceCounter`: ticks; frequency in `*frequency` when
    /// non-null. Any IRQL. (`LARGE_INTEGER` returns in RAX on x64.)
    pub fn KeQueryPerformanceCounter(frequency: *mut i64) -> i64;
}
