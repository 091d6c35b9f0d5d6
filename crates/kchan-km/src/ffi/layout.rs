//! Compile-time layout check: every size and field offset declared in
//! [`super::types`] equals the value measured from mingw's DDK headers by
//! `build.rs` (see [`super::ddk`]). A mismatch is a compile error naming the
//! field, e.g.
//!
//! ```text
//! error[E0080]: evaluation panicked: layout mismatch: Irp.cancel + 0 vs IRP_CANCEL
//!   --> crates/kchan-km/src/ffi/layout.rs:30:23
//! ```

use super::ddk;
use super::types::*;
use core::mem::{align_of, offset_of, size_of};

/// Asserts `size_of::<$ty>() == ddk::$c`.
macro_rules! size {
    ($ty:ty, $c:ident) => {
        const _: () = assert!(
            size_of::<$ty>() as u64 == ddk::$c,
            concat!("layout mismatch: size_of ", stringify!($ty), " vs ", stringify!($c))
        );
    };
}

/// Asserts `offset_of!($ty, $field) (+ $extra) == ddk::$c`.
macro_rules! offset {
    ($ty:ty, $field:ident, $c:ident) => {
        offset!($ty, $field + 0, $c);
    };
    ($ty:ty, $field:ident + $extra:expr, $c:ident) => {
        const _: () = assert!(
            (offset_of!($ty, $field) + $extra) as u64 == ddk::$c,
            concat!(
                "layout mismatch: ",
                stringify!($ty),
                ".",
                stringify!($field),
                " + ",
                stringify!($extra),
                " vs ",
                stringify!($c)
            )
        );
    };
}

size!(DriverObject, DRIVER_OBJECT_SIZE);
offset!(DriverObject, device_object, DRIVER_OBJECT_DEVICE_OBJECT);
offset!(DriverObject, driver_name, DRIVER_OBJECT_DRIVER_NAME);
offset!(DriverObject, driver_unload, DRIVER_OBJECT_DRIVER_UNLOAD);
offset!(DriverObject, major_function, DRIVER_OBJECT_MAJOR_FUNCTION);

size!(DeviceObject, DEVICE_OBJECT_SIZE);
offset!(DeviceObject, driver_object, DEVICE_OBJECT_DRIVER_OBJECT);
offset!(DeviceObject, flags, DEVICE_OBJECT_FLAGS);
offset!(DeviceObject, characteristics, DEVICE_OBJECT_CHARACTERISTICS);
offset!(DeviceObject, device_extension, DEVICE_OBJECT_DEVICE_EXTENSION);
offset!(DeviceObject, device_type, DEVICE_OBJECT_DEVICE_TYPE);
offset!(DeviceObject, stack_size, DEVICE_OBJECT_STACK_SIZE);

size!(Irp, IRP_SIZE);
offset!(Irp, mdl_address, IRP_MDL_ADDRESS);
offset!(Irp, flags, IRP_FLAGS);
offset!(Irp, system_buffer, IRP_SYSTEM_BUFFER);
offset!(Irp, io_status, IRP_IO_STATUS);
offset!(Irp, requestor_mode, IRP_REQUESTOR_MODE);
offset!(Irp, pending_returned, IRP_PENDING_RETURNED);
offset!(Irp, cancel, IRP_CANCEL);
offset!(Irp, cancel_irql, IRP_CANCEL_IRQL);
offset!(Irp, cancel_routine, IRP_CANCEL_ROUTINE);
offset!(Irp, user_buffer, IRP_USER_BUFFER);
offset!(Irp, driver_context, IRP_DRIVER_CONTEXT);
offset!(Irp, list_entry, IRP_LIST_ENTRY);
offset!(Irp, current_stack_location, IRP_CURRENT_STACK_LOCATION);
offset!(Irp, original_file_object, IRP_ORIGINAL_FILE_OBJECT);

size!(IoStatusBlock, IO_STATUS_BLOCK_SIZE);
offset!(IoStatusBlock, status, IO_STATUS_BLOCK_STATUS);
offset!(IoStatusBlock, information, IO_STATUS_BLOCK_INFORMATION);

size!(IoStackLocation, IO_STACK_LOCATION_SIZE);
offset!(IoStackLocation, major_function, IO_STACK_LOCATION_MAJOR_FUNCTION);
offset!(IoStackLocation, minor_function, IO_STACK_LOCATION_MINOR_FUNCTION);
offset!(IoStackLocation, control, IO_STACK_LOCATION_CONTROL);
offset!(IoStackLocation, parameters, IO_STACK_LOCATION_PARAMETERS);
offset!(
    IoStackLocation,
    parameters + offset_of!(DeviceIoControlParameters, output_buffer_length),
    IO_STACK_LOCATION_IOCTL_OUTPUT_LENGTH
);
offset!(
    IoStackLocation,
    parameters + offset_of!(DeviceIoControlParameters, input_buffer_length),
    IO_STACK_LOCATION_IOCTL_INPUT_LENGTH
);
offset!(
    IoStackLocation,
    parameters + offset_of!(DeviceIoControlParameters, io_control_code),
    IO_STACK_LOCATION_IOCTL_CODE
);
offset!(
    IoStackLocation,
    parameters + offset_of!(DeviceIoControlParameters, type3_input_buffer),
    IO_STACK_LOCATION_IOCTL_TYPE3_INPUT
);
offset!(
    IoStackLocation,
    parameters + offset_of!(CreateParameters, security_context),
    IO_STACK_LOCATION_CREATE_SECURITY_CONTEXT
);
offset!(IoSecurityContext, access_state, IO_SECURITY_CONTEXT_ACCESS_STATE);
offset!(IoSecurityContext, desired_access, IO_SECURITY_CONTEXT_DESIRED_ACCESS);
offset!(AccessState, previously_granted_access, ACCESS_STATE_PREVIOUSLY_GRANTED_ACCESS);
offset!(IoStackLocation, device_object, IO_STACK_LOCATION_DEVICE_OBJECT);
offset!(IoStackLocation, file_object, IO_STACK_LOCATION_FILE_OBJECT);

size!(UnicodeString, UNICODE_STRING_SIZE);
offset!(UnicodeString, length, UNICODE_STRING_LENGTH);
offset!(UnicodeString, maximum_length, UNICODE_STRING_MAXIMUM_LENGTH);
offset!(UnicodeString, buffer, UNICODE_STRING_BUFFER);

size!(FileObject, FILE_OBJECT_SIZE);
offset!(FileObject, device_object, FILE_OBJECT_DEVICE_OBJECT);
offset!(FileObject, fs_context, FILE_OBJECT_FS_CONTEXT);
offset!(FileObject, fs_context2, FILE_OBJECT_FS_CONTEXT2);

size!(ObjectAttributes, OBJECT_ATTRIBUTES_SIZE);
offset!(ObjectAttributes, length, OBJECT_ATTRIBUTES_LENGTH);
offset!(ObjectAttributes, root_directory, OBJECT_ATTRIBUTES_ROOT_DIRECTORY);
offset!(ObjectAttributes, object_name, OBJECT_ATTRIBUTES_OBJECT_NAME);
offset!(ObjectAttributes, attributes, OBJECT_ATTRIBUTES_ATTRIBUTES);
offset!(ObjectAttributes, security_descriptor, OBJECT_ATTRIBUTES_SECURITY_DESCRIPTOR);
offset!(ObjectAttributes, security_quality_of_service, OBJECT_ATTRIBUTES_SECURITY_QOS);
offset!(KeyValuePartialInformation, value_type, KEY_VALUE_PARTIAL_INFORMATION_TYPE);
offset!(KeyValuePartialInformation, data_length, KEY_VALUE_PARTIAL_INFORMATION_DATA_LENGTH);
offset!(KeyValuePartialInformation, data, KEY_VALUE_PARTIAL_INFORMATION_DATA);

size!(ListEntry, LIST_ENTRY_SIZE);
offset!(ListEntry, flink, LIST_ENTRY_FLINK);
offset!(ListEntry, blink, LIST_ENTRY_BLINK);

size!(KSPIN_LOCK, KSPIN_LOCK_SIZE);
size!(KIRQL, KIRQL_SIZE);
size!(KEvent, KEVENT_SIZE);
const _: () = assert!(align_of::<KEvent>() as u64 == ddk::KEVENT_ALIGN, "KEVENT alignment");
size!(i64, LARGE_INTEGER_SIZE);
size!(NTSTATUS, NTSTATUS_SIZE);
size!(PoolType, POOL_TYPE_SIZE);
size!(u32, DEVICE_TYPE_SIZE);

// The constants narrowed in `ffi/mod.rs` survive the narrowing unchanged.
macro_rules! fits {
    ($($c:ident as $t:ty),* $(,)?) => {
        $(const _: () = assert!(
            ddk::$c as $t as u64 == ddk::$c,
            concat!("constant does not fit: ", stringify!($c))
        );)*
    };
}
fits!(
    IRP_MJ_CREATE as u8,
    IRP_MJ_CLOSE as u8,
    IRP_MJ_CLEANUP as u8,
    IRP_MJ_DEVICE_CONTROL as u8,
    IRP_MJ_MAXIMUM_FUNCTION as u8,
    FILE_DEVICE_UNKNOWN as u32,
    FILE_DEVICE_SECURE_OPEN as u32,
    DO_BUFFERED_IO as u32,
    DO_DEVICE_INITIALIZING as u32,
    SL_PENDING_RETURNED as u8,
    NON_PAGED_POOL_NX as u32,
    THREAD_ALL_ACCESS as u32,
    SYNCHRONIZE as u32,
    NOTIFICATION_EVENT as u32,
    SYNCHRONIZATION_EVENT as u32,
    EXECUTIVE as u32,
    KERNEL_MODE as u8,
    IO_NO_INCREMENT as u8,
    METHOD_BUFFERED as u32,
    FILE_ANY_ACCESS as u32,
    FILE_READ_DATA as u32,
    FILE_WRITE_DATA as u32,
    STATUS_SUCCESS as u32,
    STATUS_PENDING as u32,
    STATUS_CANCELLED as u32,
    STATUS_INVALID_DEVICE_REQUEST as u32,
    STATUS_BUFFER_TOO_SMALL as u32,
    STATUS_INVALID_PARAMETER as u32,
    STATUS_INSUFFICIENT_RESOURCES as u32,
    STATUS_DELETE_PENDING as u32,
    STATUS_INVALID_HANDLE as u32,
    STATUS_ACCESS_DENIED as u32,
    STATUS_NOT_SUPPORTED as u32,
    STATUS_REVISION_MISMATCH as u32,
    STATUS_INVALID_DEVICE_STATE as u32,
    OBJ_KERNEL_HANDLE as u32,
    OBJ_CASE_INSENSITIVE as u32,
    WRITE_DAC as u32,
    KEY_QUERY_VALUE as u32,
    DACL_SECURITY_INFORMATION as u32,
    KEY_VALUE_PARTIAL_INFORMATION as u32,
    REG_DWORD as u32,
    RTL_REGISTRY_ABSOLUTE as u32,
    DISPATCH_LEVEL as u8,
    REG_QWORD as u32,
);
const _: () = assert!(ddk::NON_PAGED_POOL_NX <= i32::MAX as u64 && ddk::KERNEL_MODE < 0x80);
