//! Raw kernel ABI: types ([`types`]), constants, functions ([`functions`]),
//! and the layout check against mingw's DDK headers ([`layout`]).
//!
//! Names follow the Rust convention (`Irp`, `IoStackLocation`); each item's
//! doc names the C type or function it mirrors.

pub mod functions;
pub mod layout;
pub mod types;

pub use functions::*;
pub use types::*;

/// Values measured from mingw's DDK headers by `build.rs` (the source of
/// truth for [`layout`] and for the constants below).
pub mod ddk {
    include!(concat!(env!("OUT_DIR"), "/layout.rs"));
}

// Constants are taken from the headers, not retyped, so they cannot drift.
// The casts narrow values the probe stored as u64; each fits its C type
// (checked in `layout`).

/// `IRP_MJ_CREATE`.
pub const IRP_MJ_CREATE: usize = ddk::IRP_MJ_CREATE as usize;
/// `IRP_MJ_CLOSE`.
pub const IRP_MJ_CLOSE: usize = ddk::IRP_MJ_CLOSE as usize;
/// `IRP_MJ_CLEANUP`.
pub const IRP_MJ_CLEANUP: usize = ddk::IRP_MJ_CLEANUP as usize;
/// `IRP_MJ_DEVICE_CONTROL`.
pub const IRP_MJ_DEVICE_CONTROL: usize = ddk::IRP_MJ_DEVICE_CONTROL as usize;
/// Number of entries of `DRIVER_OBJECT::MajorFunction`.
pub const IRP_MJ_COUNT: usize = ddk::IRP_MJ_MAXIMUM_FUNCTION as usize + 1;
/// `FILE_DEVICE_UNKNOWN`.
pub const FILE_DEVICE_UNKNOWN: u32 = ddk::FILE_DEVICE_UNKNOWN as u32;
/// `FILE_DEVICE_SECURE_OPEN` (device characteristic).
pub const FILE_DEVICE_SECURE_OPEN: u32 = ddk::FILE_DEVICE_SECURE_OPEN as u32;
/// `DO_BUFFERED_IO`.
pub const DO_BUFFERED_IO: u32 = ddk::DO_BUFFERED_IO as u32;
/// `DO_DEVICE_INITIALIZING`.
pub const DO_DEVICE_INITIALIZING: u32 = ddk::DO_DEVICE_INITIALIZING as u32;
/// `SL_PENDING_RETURNED` (`IO_STACK_LOCATION::Control`).
pub const SL_PENDING_RETURNED: u8 = ddk::SL_PENDING_RETURNED as u8;
/// `NonPagedPoolNx`.
pub const NON_PAGED_POOL_NX: PoolType = ddk::NON_PAGED_POOL_NX as PoolType;
/// `THREAD_ALL_ACCESS`.
pub const THREAD_ALL_ACCESS: u32 = ddk::THREAD_ALL_ACCESS as u32;
/// `SYNCHRONIZE`.
pub const SYNCHRONIZE: u32 = ddk::SYNCHRONIZE as u32;
/// `NotificationEvent` (`EVENT_TYPE`).
pub const NOTIFICATION_EVENT: u32 = ddk::NOTIFICATION_EVENT as u32;
/// `SynchronizationEvent` (`EVENT_TYPE`).
pub const SYNCHRONIZATION_EVENT: u32 = ddk::SYNCHRONIZATION_EVENT as u32;
/// `Executive` (`KWAIT_REASON`).
pub const EXECUTIVE: u32 = ddk::EXECUTIVE as u32;
/// `KernelMode` (`KPROCESSOR_MODE`).
pub const KERNEL_MODE: i8 = ddk::KERNEL_MODE as i8;
/// `IO_NO_INCREMENT`.
pub const IO_NO_INCREMENT: i8 = ddk::IO_NO_INCREMENT as i8;
/// `METHOD_BUFFERED`.
pub const METHOD_BUFFERED: u32 = ddk::METHOD_BUFFERED as u32;
/// `FILE_ANY_ACCESS`.
pub const FILE_ANY_ACCESS: u32 = ddk::FILE_ANY_ACCESS as u32;
/// `FILE_READ_DATA`.
pub const FILE_READ_DATA: u32 = ddk::FILE_READ_DATA as u32;
/// `FILE_WRITE_DATA`.
pub const FILE_WRITE_DATA: u32 = ddk::FILE_WRITE_DATA as u32;

/// `DISPATCH_LEVEL`.
pub const DISPATCH_LEVEL: KIRQL = ddk::DISPATCH_LEVEL as KIRQL;
/// `OBJ_KERNEL_HANDLE`: a handle only kernel mode can use.
pub const OBJ_KERNEL_HANDLE: u32 = ddk::OBJ_KERNEL_HANDLE as u32;
/// `OBJ_CASE_INSENSITIVE`.
pub const OBJ_CASE_INSENSITIVE: u32 = ddk::OBJ_CASE_INSENSITIVE as u32;
/// `WRITE_DAC`.
pub const WRITE_DAC: u32 = ddk::WRITE_DAC as u32;
/// `KEY_QUERY_VALUE`.
pub const KEY_QUERY_VALUE: u32 = ddk::KEY_QUERY_VALUE as u32;
/// `DACL_SECURITY_INFORMATION`.
pub const DACL_SECURITY_INFORMATION: u32 = ddk::DACL_SECURITY_INFORMATION as u32;
/// `KeyValuePartialInformation` (`KEY_VALUE_INFORMATION_CLASS`).
pub const KEY_VALUE_PARTIAL_INFORMATION: u32 = ddk::KEY_VALUE_PARTIAL_INFORMATION as u32;
/// `REG_DWORD`.
pub const REG_DWORD: u32 = ddk::REG_DWORD as u32;
/// `RTL_REGISTRY_ABSOLUTE`: the path is a full registry path.
pub const RTL_REGISTRY_ABSOLUTE: u32 = ddk::RTL_REGISTRY_ABSOLUTE as u32;

/// `REG_QWORD`.
pub const REG_QWORD: u32 = ddk::REG_QWORD as u32;

/// `NTSTATUS` values the driver returns.
pub mod status {
    use super::{ddk, NTSTATUS};
    /// `STATUS_SUCCESS`.
    pub const SUCCESS: NTSTATUS = ddk::STATUS_SUCCESS as u32 as NTSTATUS;
    /// `STATUS_PENDING`.
    pub const PENDING: NTSTATUS = ddk::STATUS_PENDING as u32 as NTSTATUS;
    /// `STATUS_CANCELLED`.
    pub const CANCELLED: NTSTATUS = ddk::STATUS_CANCELLED as u32 as NTSTATUS;
    /// `STATUS_INVALID_DEVICE_REQUEST`.
    pub const INVALID_DEVICE_REQUEST: NTSTATUS = ddk::STATUS_INVALID_DEVICE_REQUEST as u32 as NTSTATUS;
    /// `STATUS_BUFFER_TOO_SMALL`.
    pub const BUFFER_TOO_SMALL: NTSTATUS = ddk::STATUS_BUFFER_TOO_SMALL as u32 as NTSTATUS;
    /// `STATUS_INVALID_PARAMETER`.
    pub const INVALID_PARAMETER: NTSTATUS = ddk::STATUS_INVALID_PARAMETER as u32 as NTSTATUS;
    /// `STATUS_INSUFFICIENT_RESOURCES`.
    pub const INSUFFICIENT_RESOURCES: NTSTATUS = ddk::STATUS_INSUFFICIENT_RESOURCES as u32 as NTSTATUS;
    /// `STATUS_DELETE_PENDING`.
    pub const DELETE_PENDING: NTSTATUS = ddk::STATUS_DELETE_PENDING as u32 as NTSTATUS;
    /// `STATUS_INVALID_HANDLE`.
    pub const INVALID_HANDLE: NTSTATUS = ddk::STATUS_INVALID_HANDLE as u32 as NTSTATUS;
    /// `STATUS_ACCESS_DENIED`.
    pub const ACCESS_DENIED: NTSTATUS = ddk::STATUS_ACCESS_DENIED as u32 as NTSTATUS;
    /// `STATUS_NOT_SUPPORTED`.
    pub const NOT_SUPPORTED: NTSTATUS = ddk::STATUS_NOT_SUPPORTED as u32 as NTSTATUS;
    /// `STATUS_REVISION_MISMATCH`.
    pub const REVISION_MISMATCH: NTSTATUS = ddk::STATUS_REVISION_MISMATCH as u32 as NTSTATUS;
    /// `STATUS_INVALID_DEVICE_STATE`.
    pub const INVALID_DEVICE_STATE: NTSTATUS = ddk::STATUS_INVALID_DEVICE_STATE as u32 as NTSTATUS;

    /// `NT_SUCCESS(status)`.
    pub const fn nt_success(status: NTSTATUS) -> bool {
        status >= 0
    }
}
