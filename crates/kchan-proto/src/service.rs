//! Names the driver, its installer and its tests share: the device, the
//! service, and the registry values under the service's key.
//!
//! These belong to `kchan.sys`. A driver built on the kchan library chooses
//! its own device and service names; the registry value names are the
//! library's, under whatever service key that driver has.

/// The `kchan.sys` service name (`HKLM\System\CurrentControlSet\Services\kchan`).
pub const SERVICE_NAME: &str = "kchan";
/// The `kchan.sys` device's name: `\Device\kchan` in the kernel.
pub const DEVICE_NAME: &str = "kchan";
/// The `kchan.sys` device, as user mode opens it (`\\.\` and [`DEVICE_NAME`]).
pub const DEVICE_PATH: &str = r"\\.\kchan";
/// The file name of the driver image.
pub const DRIVER_FILE: &str = "kchan.sys";

/// `REG_QWORD` (or `REG_DWORD`) under the service key: the budget, in bytes,
/// for all subscribers' rings together. Read when the driver starts; absent,
/// zero or unreadable: the library's default.
pub const RING_BUDGET_VALUE: &str = "RingBudgetBytes";
/// `REG_QWORD` under the service key: allocations still live when the last
/// `DriverUnload` finished (0 when nothing leaked).
pub const LEAK_ALLOCS_VALUE: &str = "LastUnloadLiveAllocations";
/// `REG_QWORD` under the service key: bytes still live when the last
/// `DriverUnload` finished.
pub const LEAK_BYTES_VALUE: &str = "LastUnloadLiveBytes";
/// `REG_QWORD` under the service key: event records the last `DriverUnload`
/// found still waiting in subscribers' rings (of handles still open), freed
/// with them and so counted dropped at close (`StatsReply::dropped_at_close`).
pub const UNLOAD_DROPPED_RECORDS_VALUE: &str = "LastUnloadDroppedRecords";

/// The service key of `service` relative to `HKEY_LOCAL_MACHINE`.
pub fn service_key_path(service: &str) -> ServiceKey<'_> {
    ServiceKey(service)
}

/// `System\CurrentControlSet\Services\<name>`, displayed without allocating.
#[derive(Debug, Clone, Copy)]
pub struct ServiceKey<'a>(&'a str);

impl core::fmt::Display for ServiceKey<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, r"System\CurrentControlSet\Services\{}", self.0)
    }
}

// The path is written out (a `const` cannot join two `&str`); it must stay
// the name behind `\\.\`.
const _: () = {
    let (path, name) = (DEVICE_PATH.as_bytes(), DEVICE_NAME.as_bytes());
    assert!(path.len() == 4 + name.len());
    let mut i = 0;
    while i < name.len() {
        assert!(path[4 + i] == name[i]);
        i += 1;
    }
};
