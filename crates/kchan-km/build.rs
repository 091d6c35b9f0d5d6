//! Layout source of truth for `kchan-km`.
//!
//! For the Windows target, this compiles a small C file against mingw's DDK
//! headers (`ddk/ntddk.h`, which pulls in `ddk/wdm.h`) into an object file
//! (never run: cross-compiled objects cannot run on the build host), where a
//! table of `sizeof`/`offsetof` values sits in its own section. The section is
//! copied out with `objcopy -O binary` and becomes `OUT_DIR/layout.rs`, a list
//! of `pub const` values. `src/ffi/layout.rs` compares every Rust struct size
//! and field offset the driver uses with those values in `const` assertions,
//! so a wrong layout stops the build with the name of the field.
//!
//! On any other target the crate is empty and nothing is compiled.
//!
//! Tools: `KCHAN_MINGW_CC` (default `x86_64-w64-mingw32-gcc`) and
//! `KCHAN_MINGW_OBJCOPY` (default `x86_64-w64-mingw32-objcopy`).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// (Rust constant name, C expression evaluated with the DDK headers).
const ITEMS: &[(&str, &str)] = &[
    // DRIVER_OBJECT
    ("DRIVER_OBJECT_SIZE", "sizeof(DRIVER_OBJECT)"),
    ("DRIVER_OBJECT_DEVICE_OBJECT", "offsetof(DRIVER_OBJECT, DeviceObject)"),
    ("DRIVER_OBJECT_DRIVER_NAME", "offsetof(DRIVER_OBJECT, DriverName)"),
    ("DRIVER_OBJECT_DRIVER_UNLOAD", "offsetof(DRIVER_OBJECT, DriverUnload)"),
    ("DRIVER_OBJECT_MAJOR_FUNCTION", "offsetof(DRIVER_OBJECT, MajorFunction)"),
    ("IRP_MJ_MAXIMUM_FUNCTION", "IRP_MJ_MAXIMUM_FUNCTION"),
    // DEVICE_OBJECT
    ("DEVICE_OBJECT_SIZE", "sizeof(DEVICE_OBJECT)"),
    ("DEVICE_OBJECT_DRIVER_OBJECT", "offsetof(DEVICE_OBJECT, DriverObject)"),
    ("DEVICE_OBJECT_FLAGS", "offsetof(DEVICE_OBJECT, Flags)"),
    ("DEVICE_OBJECT_CHARACTERISTICS", "offsetof(DEVICE_OBJECT, Characteristics)"),
    ("DEVICE_OBJECT_DEVICE_EXTENSION", "offsetof(DEVICE_OBJECT, DeviceExtension)"),
    ("DEVICE_OBJECT_DEVICE_TYPE", "offsetof(DEVICE_OBJECT, DeviceType)"),
    ("DEVICE_OBJECT_STACK_SIZE", "offsetof(DEVICE_OBJECT, StackSize)"),
    // IRP
    ("IRP_SIZE", "sizeof(IRP)"),
    ("IRP_MDL_ADDRESS", "offsetof(IRP, MdlAddress)"),
    ("IRP_FLAGS", "offsetof(IRP, Flags)"),
    ("IRP_SYSTEM_BUFFER", "offsetof(IRP, AssociatedIrp.SystemBuffer)"),
    ("IRP_IO_STATUS", "offsetof(IRP, IoStatus)"),
    ("IRP_REQUESTOR_MODE", "offsetof(IRP, RequestorMode)"),
    ("IRP_PENDING_RETURNED", "offsetof(IRP, PendingReturned)"),
    ("IRP_CANCEL", "offsetof(IRP, Cancel)"),
    ("IRP_CANCEL_IRQL", "offsetof(IRP, CancelIrql)"),
    ("IRP_CANCEL_ROUTINE", "offsetof(IRP, CancelRoutine)"),
    ("IRP_USER_BUFFER", "offsetof(IRP, UserBuffer)"),
    ("IRP_DRIVER_CONTEXT", "offsetof(IRP, Tail.Overlay.DriverContext)"),
    ("IRP_LIST_ENTRY", "offsetof(IRP, Tail.Overlay.ListEntry)"),
    ("IRP_CURRENT_STACK_LOCATION", "offsetof(IRP, Tail.Overlay.CurrentStackLocation)"),
    ("IRP_ORIGINAL_FILE_OBJECT", "offsetof(IRP, Tail.Overlay.OriginalFileObject)"),
    ("IO_STACK_LOCATION_CREATE_SECURITY_CONTEXT", "offsetof(IO_STACK_LOCATION, Parameters.Create.SecurityContext)"),
    ("IO_SECURITY_CONTEXT_ACCESS_STATE", "offsetof(IO_SECURITY_CONTEXT, AccessState)"),
    ("IO_SECURITY_CONTEXT_DESIRED_ACCESS", "offsetof(IO_SECURITY_CONTEXT, DesiredAccess)"),
    ("ACCESS_STATE_PREVIOUSLY_GRANTED_ACCESS", "offsetof(ACCESS_STATE, PreviouslyGrantedAccess)"),
    // OBJECT_ATTRIBUTES, KEY_VALUE_PARTIAL_INFORMATION
    ("OBJECT_ATTRIBUTES_SIZE", "sizeof(OBJECT_ATTRIBUTES)"),
    ("OBJECT_ATTRIBUTES_LENGTH", "offsetof(OBJECT_ATTRIBUTES, Length)"),
    ("OBJECT_ATTRIBUTES_ROOT_DIRECTORY", "offsetof(OBJECT_ATTRIBUTES, RootDirectory)"),
    ("OBJECT_ATTRIBUTES_OBJECT_NAME", "offsetof(OBJECT_ATTRIBUTES, ObjectName)"),
    ("OBJECT_ATTRIBUTES_ATTRIBUTES", "offsetof(OBJECT_ATTRIBUTES, Attributes)"),
    ("OBJECT_ATTRIBUTES_SECURITY_DESCRIPTOR", "offsetof(OBJECT_ATTRIBUTES, SecurityDescriptor)"),
    ("OBJECT_ATTRIBUTES_SECURITY_QOS", "offsetof(OBJECT_ATTRIBUTES, SecurityQualityOfService)"),
    ("KEY_VALUE_PARTIAL_INFORMATION_TYPE", "offsetof(KEY_VALUE_PARTIAL_INFORMATION, Type)"),
    ("KEY_VALUE_PARTIAL_INFORMATION_DATA_LENGTH", "offsetof(KEY_VALUE_PARTIAL_INFORMATION, DataLength)"),
    ("KEY_VALUE_PARTIAL_INFORMATION_DATA", "offsetof(KEY_VALUE_PARTIAL_INFORMATION, Data)"),
    // IO_STATUS_BLOCK
    ("IO_STATUS_BLOCK_SIZE", "sizeof(IO_STATUS_BLOCK)"),
    ("IO_STATUS_BLOCK_STATUS", "offsetof(IO_STATUS_BLOCK, Status)"),
    ("IO_STATUS_BLOCK_INFORMATION", "offsetof(IO_STATUS_BLOCK, Information)"),
    // IO_STACK_LOCATION
    ("IO_STACK_LOCATION_SIZE", "sizeof(IO_STACK_LOCATION)"),
    ("IO_STACK_LOCATION_MAJOR_FUNCTION", "offsetof(IO_STACK_LOCATION, MajorFunction)"),
    ("IO_STACK_LOCATION_MINOR_FUNCTION", "offsetof(IO_STACK_LOCATION, MinorFunction)"),
    ("IO_STACK_LOCATION_CONTROL", "offsetof(IO_STACK_LOCATION, Control)"),
    ("IO_STACK_LOCATION_PARAMETERS", "offsetof(IO_STACK_LOCATION, Parameters)"),
    (
        "IO_STACK_LOCATION_IOCTL_OUTPUT_LENGTH",
        "offsetof(IO_STACK_LOCATION, Parameters.DeviceIoControl.OutputBufferLength)",
    ),
    (
        "IO_STACK_LOCATION_IOCTL_INPUT_LENGTH",
        "offsetof(IO_STACK_LOCATION, Parameters.DeviceIoControl.InputBufferLength)",
    ),
    ("IO_STACK_LOCATION_IOCTL_CODE", "offsetof(IO_STACK_LOCATION, Parameters.DeviceIoControl.IoControlCode)"),
    ("IO_STACK_LOCATION_IOCTL_TYPE3_INPUT", "offsetof(IO_STACK_LOCATION, Parameters.DeviceIoControl.Type3InputBuffer)"),
    ("IO_STACK_LOCATION_DEVICE_OBJECT", "offsetof(IO_STACK_LOCATION, DeviceObject)"),
    ("IO_STACK_LOCATION_FILE_OBJECT", "offsetof(IO_STACK_LOCATION, FileObject)"),
    // FILE_OBJECT
    ("FILE_OBJECT_SIZE", "sizeof(FILE_OBJECT)"),
    ("FILE_OBJECT_DEVICE_OBJECT", "offsetof(FILE_OBJECT, DeviceObject)"),
    ("FILE_OBJECT_FS_CONTEXT", "offsetof(FILE_OBJECT, FsContext)"),
    ("FILE_OBJECT_FS_CONTEXT2", "offsetof(FILE_OBJECT, FsContext2)"),
    // Small types
    ("UNICODE_STRING_SIZE", "sizeof(UNICODE_STRING)"),
    ("UNICODE_STRING_LENGTH", "offsetof(UNICODE_STRING, Length)"),
    ("UNICODE_STRING_MAXIMUM_LENGTH", "offsetof(UNICODE_STRING, MaximumLength)"),
    ("UNICODE_STRING_BUFFER", "offsetof(UNICODE_STRING, Buffer)"),
    ("LIST_ENTRY_SIZE", "sizeof(LIST_ENTRY)"),
    ("LIST_ENTRY_FLINK", "offsetof(LIST_ENTRY, Flink)"),
    ("LIST_ENTRY_BLINK", "offsetof(LIST_ENTRY, Blink)"),
    ("KSPIN_LOCK_SIZE", "sizeof(KSPIN_LOCK)"),
    ("KIRQL_SIZE", "sizeof(KIRQL)"),
    ("KEVENT_SIZE", "sizeof(KEVENT)"),
    ("KEVENT_ALIGN", "__alignof__(KEVENT)"),
    ("LARGE_INTEGER_SIZE", "sizeof(LARGE_INTEGER)"),
    ("NTSTATUS_SIZE", "sizeof(NTSTATUS)"),
    ("POOL_TYPE_SIZE", "sizeof(POOL_TYPE)"),
    ("DEVICE_TYPE_SIZE", "sizeof(DEVICE_TYPE)"),
    // Constants the driver passes to the kernel.
    ("IRP_MJ_CREATE", "IRP_MJ_CREATE"),
    ("IRP_MJ_CLOSE", "IRP_MJ_CLOSE"),
    ("IRP_MJ_DEVICE_CONTROL", "IRP_MJ_DEVICE_CONTROL"),
    ("IRP_MJ_CLEANUP", "IRP_MJ_CLEANUP"),
    ("FILE_DEVICE_UNKNOWN", "FILE_DEVICE_UNKNOWN"),
    ("FILE_DEVICE_SECURE_OPEN", "FILE_DEVICE_SECURE_OPEN"),
    ("DO_BUFFERED_IO", "DO_BUFFERED_IO"),
    ("DO_DEVICE_INITIALIZING", "DO_DEVICE_INITIALIZING"),
    ("SL_PENDING_RETURNED", "SL_PENDING_RETURNED"),
    ("NON_PAGED_POOL_NX", "NonPagedPoolNx"),
    ("THREAD_ALL_ACCESS", "THREAD_ALL_ACCESS"),
    ("SYNCHRONIZE", "SYNCHRONIZE"),
    ("NOTIFICATION_EVENT", "NotificationEvent"),
    ("SYNCHRONIZATION_EVENT", "SynchronizationEvent"),
    ("EXECUTIVE", "Executive"),
    ("KERNEL_MODE", "KernelMode"),
    ("IO_NO_INCREMENT", "IO_NO_INCREMENT"),
    ("METHOD_BUFFERED", "METHOD_BUFFERED"),
    ("FILE_ANY_ACCESS", "FILE_ANY_ACCESS"),
    ("FILE_READ_DATA", "FILE_READ_DATA"),
    ("FILE_WRITE_DATA", "FILE_WRITE_DATA"),
    ("STATUS_SUCCESS", "(unsigned int)STATUS_SUCCESS"),
    ("STATUS_PENDING", "(unsigned int)STATUS_PENDING"),
    ("STATUS_CANCELLED", "(unsigned int)STATUS_CANCELLED"),
    ("STATUS_INVALID_DEVICE_REQUEST", "(unsigned int)STATUS_INVALID_DEVICE_REQUEST"),
    ("STATUS_BUFFER_TOO_SMALL", "(unsigned int)STATUS_BUFFER_TOO_SMALL"),
    ("STATUS_INVALID_PARAMETER", "(unsigned int)STATUS_INVALID_PARAMETER"),
    ("STATUS_INSUFFICIENT_RESOURCES", "(unsigned int)STATUS_INSUFFICIENT_RESOURCES"),
    ("STATUS_DELETE_PENDING", "(unsigned int)STATUS_DELETE_PENDING"),
    ("STATUS_INVALID_HANDLE", "(unsigned int)STATUS_INVALID_HANDLE"),
    ("STATUS_ACCESS_DENIED", "(unsigned int)STATUS_ACCESS_DENIED"),
    ("STATUS_NOT_SUPPORTED", "(unsigned int)STATUS_NOT_SUPPORTED"),
    ("STATUS_REVISION_MISMATCH", "(unsigned int)STATUS_REVISION_MISMATCH"),
    ("STATUS_INVALID_DEVICE_STATE", "(unsigned int)STATUS_INVALID_DEVICE_STATE"),
    ("OBJ_KERNEL_HANDLE", "OBJ_KERNEL_HANDLE"),
    ("OBJ_CASE_INSENSITIVE", "OBJ_CASE_INSENSITIVE"),
    ("WRITE_DAC", "WRITE_DAC"),
    ("KEY_QUERY_VALUE", "KEY_QUERY_VALUE"),
    ("DACL_SECURITY_INFORMATION", "DACL_SECURITY_INFORMATION"),
    ("KEY_VALUE_PARTIAL_INFORMATION", "KeyValuePartialInformation"),
    ("REG_DWORD", "REG_DWORD"),
    ("RTL_REGISTRY_ABSOLUTE", "RTL_REGISTRY_ABSOLUTE"),
    ("DISPATCH_LEVEL", "DISPATCH_LEVEL"),
    ("REG_QWORD", "REG_QWORD"),
];

/// First two words of the table: a magic number and the item count, so a
/// truncated or foreign section is caught instead of being misread.
const MAGIC: u64 = 0x6b63_6861_6e4c_4159; // "kchanLAY"

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=KCHAN_MINGW_CC");
    println!("cargo:rerun-if-env-changed=KCHAN_MINGW_OBJCOPY");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let target_arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if target_os != "windows" {
        // Nothing to check: the crate compiles to nothing on this target.
        return;
    }
    assert!(
        target_env == "gnu" && target_arch == "x86_64",
        "kchan-km supports x86_64-pc-windows-gnu only (got {target_arch}-{target_env})"
    );

    let values = measure(&out);
    let mut rs = String::from("// Generated by kchan-km/build.rs from mingw's DDK headers. Do not edit.\n");
    for ((name, expr), value) in ITEMS.iter().zip(values) {
        writeln!(rs, "/// `{expr}` in mingw's DDK headers.\npub const {name}: u64 = {value:#x};").unwrap();
    }
    fs::write(out.join("layout.rs"), rs).expect("write layout.rs");
}

/// Compiles the probe and returns one value per `ITEMS` entry.
fn measure(out: &std::path::Path) -> Vec<u64> {
    let cc = env::var("KCHAN_MINGW_CC").unwrap_or_else(|_| "x86_64-w64-mingw32-gcc".into());
    let objcopy = env::var("KCHAN_MINGW_OBJCOPY").unwrap_or_else(|_| "x86_64-w64-mingw32-objcopy".into());

    let mut c = String::from(
        "/* Generated by kchan-km/build.rs: layout probe, compiled, never run. */\n\
         #include <ntddk.h>\n\
         #include <stddef.h>\n\
         __attribute__((used, section(\".kclay\")))\n\
         const unsigned long long kchan_layout[] = {\n",
    );
    writeln!(c, "    {MAGIC:#x}ULL, {}ULL,", ITEMS.len()).unwrap();
    for (name, expr) in ITEMS {
        writeln!(c, "    (unsigned long long)({expr}), /* {name} */").unwrap();
    }
    c.push_str("};\n");
    let src = out.join("layout_probe.c");
    let obj = out.join("layout_probe.o");
    let bin = out.join("layout_probe.bin");
    fs::write(&src, c).expect("write probe");

    // The DDK headers live in include/ddk and include each other by bare name.
    let status = Command::new(&cc)
        .args(["-c", "-O0", "-I/usr/x86_64-w64-mingw32/include/ddk", "-I/usr/share/mingw-w64/include/ddk"])
        .arg("-o")
        .arg(&obj)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc} (install gcc-mingw-w64-x86-64): {e}"));
    assert!(status.success(), "{cc} failed on the layout probe {}", src.display());

    let status = Command::new(&objcopy)
        .args(["-O", "binary", "--only-section=.kclay"])
        .arg(&obj)
        .arg(&bin)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {objcopy}: {e}"));
    assert!(status.success(), "{objcopy} failed on {}", obj.display());

    let bytes = fs::read(&bin).expect("read probe section");
    let words: Vec<u64> = bytes.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().unwrap())).collect();
    // The section may be padded to its alignment (16 bytes) with zeros.
    let n = ITEMS.len() + 2;
    assert!(
        words.len() >= n && words[n..].iter().all(|&w| w == 0) && words[0] == MAGIC && words[1] == ITEMS.len() as u64,
        "layout probe section malformed: {} words, header {:x?}",
        words.len(),
        words.get(..2)
    );
    words[2..n].to_vec()
}
