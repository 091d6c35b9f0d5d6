//! The driver's parameters under its service key: `RingBudgetBytes`
//! (`REG_QWORD` or `REG_DWORD`).

use core::ptr;
use kchan_km::ffi::{
    status, KeyValuePartialInformation, ObjectAttributes, UnicodeString, ZwClose, ZwOpenKey, ZwQueryValueKey, HANDLE,
    KEY_QUERY_VALUE, KEY_VALUE_PARTIAL_INFORMATION, OBJ_CASE_INSENSITIVE, OBJ_KERNEL_HANDLE, REG_DWORD, REG_QWORD,
};
use kchan_km::unicode::StaticUnicode;

static RING_BUDGET: StaticUnicode<16> = StaticUnicode::new(b"RingBudgetBytes\0");
const _: () = assert!(kchan_proto::RING_BUDGET_VALUE.len() == 15);

/// `RingBudgetBytes` under `service_key`, if present, readable and not 0.
///
/// # Safety
/// `service_key` is null or a valid `UNICODE_STRING` (`DriverEntry`'s
/// registry path). IRQL = PASSIVE_LEVEL.
pub unsafe fn ring_budget(service_key: *const UnicodeString) -> Option<usize> {
    if service_key.is_null() {
        return None;
    }
    let mut attributes = ObjectAttributes {
        length: core::mem::size_of::<ObjectAttributes>() as u32,
        root_directory: ptr::null_mut(),
        object_name: service_key.cast_mut(),
        attributes: OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
        security_descriptor: ptr::null_mut(),
        security_quality_of_service: ptr::null_mut(),
    };
    let mut key: HANDLE = ptr::null_mut();
    // SAFETY: PASSIVE_LEVEL (caller); `attributes` names a valid string
    // (caller) and lives for the call; `key` is a live local.
    let st = unsafe { ZwOpenKey(&mut key, KEY_QUERY_VALUE, &mut attributes) };
    if !status::nt_success(st) {
        return None;
    }
    let mut name = RING_BUDGET.as_unicode_string();
    let mut info = KeyValuePartialInformation { title_index: 0, value_type: 0, data_length: 0, data: [0; 8] };
    let mut got = 0u32;
    // SAFETY: PASSIVE_LEVEL; an open key; `info` is a live local of the
    // size given, `name` and `got` too.
    let st = unsafe {
        ZwQueryValueKey(
            key,
            &mut name,
            KEY_VALUE_PARTIAL_INFORMATION,
            (&raw mut info).cast(),
            core::mem::size_of::<KeyValuePartialInformation>() as u32,
            &mut got,
        )
    };
    // SAFETY: our kernel handle, closed once.
    unsafe { ZwClose(key) };
    if !status::nt_success(st) {
        return None;
    }
    let value = match (info.value_type, info.data_length) {
        (REG_QWORD, 8) => u64::from_le_bytes(info.data),
        (REG_DWORD, 4) => u64::from(u32::from_le_bytes([info.data[0], info.data[1], info.data[2], info.data[3]])),
        _ => return None,
    };
    usize::try_from(value).ok().filter(|&v| v > 0)
}
