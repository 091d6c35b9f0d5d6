//! The C functions' bodies: argument checks and conversion to the
//! library's WDM API (`kchan_driver::wdm`).

use crate::{KchanConfig, KchanDevice, NTSTATUS, POOL};
use core::ptr;
use kchan_driver::wdm::{KchanDevice as Device, Options, NAME_MAX};
use kchan_driver::Config;
use kchan_km::ffi::{status, DriverObject, UnicodeString};
use kchan_proto::MAX_RECORD_PAYLOAD;

/// The library's device behind a C handle.
///
/// # Safety
/// `device` came from [`create`] and is not deleted.
pub(crate) unsafe fn device<'a>(device: *const KchanDevice) -> &'a Device {
    // SAFETY: a `KCHAN_DEVICE *` is a `KchanDevice` pointer (caller).
    unsafe { &*device.cast::<Device>() }
}

/// `KchanCreateDevice`.
///
/// # Safety
/// As `KchanCreateDevice`.
pub(crate) unsafe fn create(
    driver: *mut DriverObject,
    config: *const KchanConfig,
    out: *mut *mut KchanDevice,
) -> NTSTATUS {
    if out.is_null() {
        return status::INVALID_PARAMETER;
    }
    // SAFETY: a valid pointer (caller), checked non-null.
    unsafe { out.write(ptr::null_mut()) };
    if driver.is_null() || config.is_null() {
        return status::INVALID_PARAMETER;
    }
    // SAFETY: a valid pointer (caller), checked non-null; version 1's
    // fields are there once `size` says so, checked before any other read.
    let size = unsafe { (*config).size };
    if (size as usize) < core::mem::size_of::<KchanConfig>() {
        return status::INVALID_PARAMETER;
    }
    // SAFETY: a valid pointer (caller) to a config whose `size`, just
    // checked, covers all of version 1.
    let config = unsafe { &*config };
    let mut name_buf = [0u8; NAME_MAX];
    // SAFETY: `config.name` is null or a valid string (caller).
    let Some(name) = (unsafe { ascii_name(config.name, &mut name_buf) }) else {
        return status::INVALID_PARAMETER;
    };
    let Some(library_config) = library_config(config) else { return status::INVALID_PARAMETER };

    let options = Options {
        name,
        config: library_config,
        registry_path: config.registry_path,
        hooks: None,
        unload_report: Some(&POOL),
    };
    // SAFETY: the caller's driver object and registry path; PASSIVE_LEVEL
    // (KchanCreateDevice's contract).
    let dev = match unsafe { Device::create(driver, &options) } {
        Ok(dev) => dev,
        Err(st) => return st,
    };
    // SAFETY: a valid pointer (caller).
    unsafe { out.write(ptr::from_ref(dev).cast_mut().cast()) };
    status::SUCCESS
}

/// `KchanDeleteDevice`.
///
/// # Safety
/// As `KchanDeleteDevice`.
pub(crate) unsafe fn delete(device: *mut KchanDevice) {
    if device.is_null() {
        return;
    }
    // SAFETY: a live device, destroyed once, no publish running (caller).
    let closed = unsafe { Device::destroy(device.cast::<Device>()) };
    kchan_km::kprintln!(
        "device deleted: closed {} subscribers, {} records left in their rings counted dropped",
        closed.subscribers,
        closed.records_dropped
    );
}

/// The library's config for a C config: zero fields take the defaults,
/// others must be within the library's bounds.
fn library_config(c: &KchanConfig) -> Option<Config> {
    let mut config = Config::default();
    match c.max_subscribers {
        0 => {}
        n @ 1..=64 => config.limits.max_subscribers = n as usize,
        _ => return None,
    }
    match c.max_payload_bytes {
        0 => {}
        n if n <= MAX_RECORD_PAYLOAD => config.limits.max_payload = n as usize,
        _ => return None,
    }
    if c.ring_budget_bytes != 0 {
        config.ring_budget_bytes = usize::try_from(c.ring_budget_bytes).ok()?;
    }
    Some(config)
}

/// The ASCII name in `name`, copied into `buf`; `None` for a null or empty
/// string, one longer than `buf`, or one with characters outside ASCII
/// (the library checks the allowed set).
///
/// # Safety
/// `name` is null or points to a valid `UNICODE_STRING`.
unsafe fn ascii_name(name: *const UnicodeString, buf: &mut [u8; NAME_MAX]) -> Option<&str> {
    if name.is_null() {
        return None;
    }
    // SAFETY: a valid UNICODE_STRING (caller).
    let name = unsafe { &*name };
    let units = usize::from(name.length) / 2;
    if units == 0 || units > buf.len() || name.buffer.is_null() {
        return None;
    }
    // SAFETY: a valid UNICODE_STRING's buffer holds `length` bytes.
    let wide = unsafe { core::slice::from_raw_parts(name.buffer.cast_const(), units) };
    for (dst, &unit) in buf.iter_mut().zip(wide) {
        *dst = u8::try_from(unit).ok().filter(u8::is_ascii)?;
    }
    core::str::from_utf8(&buf[..units]).ok()
}
