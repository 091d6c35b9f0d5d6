//! Kernel structures, declared with the fields the driver uses and opaque
//! padding elsewhere. Every size and every named field's offset is checked
//! in [`super::layout`].

use core::ffi::c_void;

/// `NTSTATUS`.
#[allow(clippy::upper_case_acronyms)]
pub type NTSTATUS = i32;
/// `KIRQL`.
#[allow(clippy::upper_case_acronyms)]
pub type KIRQL = u8;
/// `KSPIN_LOCK` (`ULONG_PTR`).
#[allow(non_camel_case_types)]
pub type KSPIN_LOCK = usize;
/// `HANDLE`.
#[allow(clippy::upper_case_acronyms)]
pub type HANDLE = *mut c_void;
/// `POOL_TYPE` (a C enum: `int`).
pub type PoolType = i32;

/// `DRIVER_DISPATCH`: IRQL = PASSIVE_LEVEL for the major functions used here.
pub type DriverDispatch = unsafe extern "system" fn(*mut DeviceObject, *mut Irp) -> NTSTATUS;
/// `DRIVER_UNLOAD`: IRQL = PASSIVE_LEVEL.
pub type DriverUnload = unsafe extern "system" fn(*mut DriverObject);
/// `DRIVER_CANCEL`: called at DISPATCH_LEVEL holding the cancel spin lock.
pub type DriverCancel = unsafe extern "system" fn(*mut DeviceObject, *mut Irp);
/// `KSTART_ROUTINE`: a system thread's body, IRQL = PASSIVE_LEVEL.
pub type KStartRoutine = unsafe extern "system" fn(*mut c_void);

/// `LIST_ENTRY`.
#[repr(C)]
#[derive(Debug)]
pub struct ListEntry {
    /// `Flink`.
    pub flink: *mut ListEntry,
    /// `Blink`.
    pub blink: *mut ListEntry,
}

/// `UNICODE_STRING`: counted UTF-16, lengths in bytes, not NUL-terminated.
#[repr(C)]
#[derive(Debug)]
pub struct UnicodeString {
    /// `Length` in bytes.
    pub length: u16,
    /// `MaximumLength` in bytes.
    pub maximum_length: u16,
    /// `Buffer`.
    pub buffer: *mut u16,
}

/// `IO_STATUS_BLOCK`. The first member is a union of `NTSTATUS Status` and
/// `PVOID Pointer`; only `Status` is used (little-endian low half).
#[repr(C)]
pub struct IoStatusBlock {
    /// `Status`.
    pub status: NTSTATUS,
    _pointer_high: u32,
    /// `Information`: bytes transferred, for IOCTLs.
    pub information: usize,
}

/// `KEVENT`: opaque dispatcher object, 8-byte aligned, nonpaged storage.
#[repr(C, align(8))]
pub struct KEvent {
    _opaque: [u8; 0x18],
}

/// `DRIVER_OBJECT`.
#[repr(C)]
pub struct DriverObject {
    _type_size: [u16; 2],
    _pad0: u32,
    /// `DeviceObject`: first device created by this driver.
    pub device_object: *mut DeviceObject,
    _flags_to_name: [u8; 0x38 - 0x10],
    /// `DriverName`.
    pub driver_name: UnicodeString,
    _hw_db_to_start_io: [usize; 4],
    /// `DriverUnload`.
    pub driver_unload: Option<DriverUnload>,
    /// `MajorFunction[IRP_MJ_MAXIMUM_FUNCTION + 1]`.
    pub major_function: [Option<DriverDispatch>; super::IRP_MJ_COUNT],
}

/// `DEVICE_OBJECT`.
#[repr(C)]
pub struct DeviceObject {
    _type_size_refcount: [u16; 4],
    /// `DriverObject`.
    pub driver_object: *mut DriverObject,
    _next_to_timer: [usize; 4],
    /// `Flags` (`DO_*`).
    pub flags: u32,
    /// `Characteristics` (`FILE_DEVICE_*`).
    pub characteristics: u32,
    _vpb: *mut c_void,
    /// `DeviceExtension`: driver-defined, nonpaged, `DeviceExtensionSize` bytes.
    pub device_extension: *mut c_void,
    /// `DeviceType`.
    pub device_type: u32,
    /// `StackSize`.
    pub stack_size: i8,
    _rest: [u8; 0x148 - 0x4d],
}

/// `IRP`.
#[repr(C)]
pub struct Irp {
    _type_size: [u16; 2],
    _pad0: u32,
    /// `MdlAddress`.
    pub mdl_address: *mut c_void,
    /// `Flags`.
    pub flags: u32,
    _pad1: u32,
    /// `AssociatedIrp.SystemBuffer`: the METHOD_BUFFERED buffer, input in,
    /// output out, `max(in, out)` bytes.
    pub system_buffer: *mut c_void,
    _thread_list_entry: ListEntry,
    /// `IoStatus`.
    pub io_status: IoStatusBlock,
    /// `RequestorMode`.
    pub requestor_mode: i8,
    /// `PendingReturned`.
    pub pending_returned: u8,
    _stack_count: i8,
    _current_location: i8,
    /// `Cancel`: set by the I/O manager; read it atomically.
    pub cancel: u8,
    /// `CancelIrql`: the IRQL to pass to `IoReleaseCancelSpinLock` in a
    /// cancel routine.
    pub cancel_irql: KIRQL,
    _apc_environment: i8,
    _allocation_flags: u8,
    _user_iosb: *mut IoStatusBlock,
    _user_event: *mut KEvent,
    _overlay: [usize; 2],
    /// `CancelRoutine`: exchange it atomically only (as
    /// [`crate::irp::Irp::arm`] and [`crate::irp::CancelableIrp::try_claim`]
    /// do).
    pub cancel_routine: *mut c_void,
    /// `UserBuffer`.
    pub user_buffer: *mut c_void,
    /// `Tail.Overlay.DriverContext[4]`: the current owner's scratch space.
    pub driver_context: [*mut c_void; 4],
    _thread: *mut c_void,
    _auxiliary_buffer: *mut c_void,
    /// `Tail.Overlay.ListEntry`: the current owner may queue the IRP with it.
    pub list_entry: ListEntry,
    /// `Tail.Overlay.CurrentStackLocation`.
    pub current_stack_location: *mut IoStackLocation,
    /// `Tail.Overlay.OriginalFileObject`.
    pub original_file_object: *mut c_void,
    _tail_rest: [u8; 8],
}

/// `Parameters.DeviceIoControl` of `IO_STACK_LOCATION` (x64 layout: every
/// ULONG is followed by 4 bytes of padding, `POINTER_ALIGNMENT`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct DeviceIoControlParameters {
    /// `OutputBufferLength`.
    pub output_buffer_length: u32,
    _pad0: u32,
    /// `InputBufferLength`.
    pub input_buffer_length: u32,
    _pad1: u32,
    /// `IoControlCode`.
    pub io_control_code: u32,
    _pad2: u32,
    /// `Type3InputBuffer` (METHOD_NEITHER only).
    pub type3_input_buffer: *mut c_void,
}

/// `Parameters.Create` of `IO_STACK_LOCATION` (only the field used).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CreateParameters {
    /// `SecurityContext`: the access check's context (null under Wine).
    pub security_context: *mut IoSecurityContext,
    _options_to_ea_length: [usize; 3],
}

/// `IO_SECURITY_CONTEXT`.
#[repr(C)]
pub struct IoSecurityContext {
    _security_qos: *mut c_void,
    /// `AccessState`.
    pub access_state: *mut AccessState,
    /// `DesiredAccess`.
    pub desired_access: u32,
    _full_create_options: u32,
}

/// `ACCESS_STATE`, up to the field used.
#[repr(C)]
pub struct AccessState {
    _operation_id: [u32; 2],
    _flags_bytes: [u8; 4],
    _flags: u32,
    _remaining_desired_access: u32,
    /// `PreviouslyGrantedAccess`: the access granted so far (for a device
    /// open, by the I/O manager's check against the device's security
    /// descriptor).
    pub previously_granted_access: u32,
}

/// The `Parameters` union of `IO_STACK_LOCATION`; only the members for
/// `IRP_MJ_CREATE` and `IRP_MJ_DEVICE_CONTROL` are declared.
#[repr(C)]
pub union IoStackParameters {
    /// For `IRP_MJ_CREATE`.
    pub create: CreateParameters,
    /// For `IRP_MJ_DEVICE_CONTROL`/`IRP_MJ_INTERNAL_DEVICE_CONTROL`.
    pub device_io_control: DeviceIoControlParameters,
    _raw: [usize; 4],
}

/// `OBJECT_ATTRIBUTES`.
#[repr(C)]
pub struct ObjectAttributes {
    /// `Length`: `size_of::<ObjectAttributes>()`.
    pub length: u32,
    /// `RootDirectory`.
    pub root_directory: HANDLE,
    /// `ObjectName`.
    pub object_name: *mut UnicodeString,
    /// `Attributes` (`OBJ_*`).
    pub attributes: u32,
    /// `SecurityDescriptor`.
    pub security_descriptor: *mut c_void,
    /// `SecurityQualityOfService`.
    pub security_quality_of_service: *mut c_void,
}

/// `KEY_VALUE_PARTIAL_INFORMATION` with room for an 8-byte value.
#[repr(C)]
pub struct KeyValuePartialInformation {
    /// `TitleIndex`.
    pub title_index: u32,
    /// `Type` (`REG_*`).
    pub value_type: u32,
    /// `DataLength`.
    pub data_length: u32,
    /// `Data` (declared `UCHAR[1]` in C; here room for a `REG_QWORD`).
    pub data: [u8; 8],
}

/// `IO_STACK_LOCATION`.
#[repr(C)]
pub struct IoStackLocation {
    /// `MajorFunction`.
    pub major_function: u8,
    /// `MinorFunction`.
    pub minor_function: u8,
    _flags: u8,
    /// `Control` (`SL_PENDING_RETURNED`, ...).
    pub control: u8,
    _pad0: u32,
    /// `Parameters`.
    pub parameters: IoStackParameters,
    /// `DeviceObject`.
    pub device_object: *mut DeviceObject,
    /// `FileObject`: identifies the open handle (one per `CreateFile`).
    pub file_object: *mut FileObject,
    _completion_routine: *mut c_void,
    _context: *mut c_void,
}

/// `FILE_OBJECT`: one per open handle (`CreateFile`). Only the fields a
/// device driver owns are declared: `FsContext`/`FsContext2` belong to the
/// driver of a device that is not a file system, from `IRP_MJ_CREATE` to
/// `IRP_MJ_CLOSE`.
#[repr(C)]
pub struct FileObject {
    _type_size: [u16; 2],
    _pad0: u32,
    /// `DeviceObject`.
    pub device_object: *mut DeviceObject,
    _vpb: *mut c_void,
    /// `FsContext`: the driver's per-handle context.
    pub fs_context: *mut c_void,
    /// `FsContext2`: a second per-handle context word.
    pub fs_context2: *mut c_void,
    _rest: [u8; 0xd8 - 0x28],
}
