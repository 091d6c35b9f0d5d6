//! The unload report: the driver image's allocator live counts right after
//! a kchan device is destroyed, and the event records the unload found
//! still waiting in subscribers' rings (counted dropped at close), written
//! under the driver's own service key (`LastUnloadLiveAllocations`,
//! `LastUnloadLiveBytes`, `LastUnloadDroppedRecords`, `REG_QWORD`; names in
//! `kchan_proto`), so a test can check after `sc stop` that the unloaded
//! instance freed everything and what it discarded. A restarted instance
//! starts from fresh counters, so `IOCTL_STATS` after a restart could not
//! tell. With several devices in one image, the report of the last one
//! destroyed is the image's final count.

use crate::Closed;
use kchan_km::ffi::{status, RtlWriteRegistryValue, UnicodeString, REG_QWORD, RTL_REGISTRY_ABSOLUTE};
use kchan_km::kprintln;
use kchan_km::pool::PoolAllocator;
use kchan_proto::{LEAK_ALLOCS_VALUE, LEAK_BYTES_VALUE, UNLOAD_DROPPED_RECORDS_VALUE};

/// The value names, NUL-terminated UTF-16 made from `kchan_proto`'s.
static ALLOCS: [u16; LEAK_ALLOCS_VALUE.len() + 1] = wide(LEAK_ALLOCS_VALUE);
static BYTES: [u16; LEAK_BYTES_VALUE.len() + 1] = wide(LEAK_BYTES_VALUE);
static DROPPED: [u16; UNLOAD_DROPPED_RECORDS_VALUE.len() + 1] = wide(UNLOAD_DROPPED_RECORDS_VALUE);

/// `ascii` as NUL-terminated UTF-16, at compile time.
const fn wide<const N: usize>(ascii: &str) -> [u16; N] {
    let bytes = ascii.as_bytes();
    assert!(bytes.len() + 1 == N && ascii.is_ascii());
    let mut units = [0u16; N];
    let mut i = 0;
    while i < bytes.len() {
        units[i] = bytes[i] as u16;
        i += 1;
    }
    units
}

/// Longest service key path kept, in UTF-16 units (`\Registry\Machine\
/// System\CurrentControlSet\Services\` is 52, a service name at most 256).
const PATH_MAX: usize = 320;

/// Where to write the report, and whose counts: copied at creation, so it
/// outlives `DriverEntry`'s registry path and the device extension.
#[derive(Clone, Copy)]
pub(crate) struct UnloadReport {
    pool: &'static PoolAllocator,
    /// The service key path, NUL-terminated.
    path: [u16; PATH_MAX + 1],
}

impl UnloadReport {
    /// A report of `pool` under `registry_path`; `None` (logged) if the
    /// path is null or longer than [`PATH_MAX`].
    ///
    /// # Safety
    /// `registry_path` is null or a valid `UNICODE_STRING`.
    pub(crate) unsafe fn new(registry_path: *const UnicodeString, pool: &'static PoolAllocator) -> Option<Self> {
        if registry_path.is_null() {
            return None;
        }
        // SAFETY: a valid UNICODE_STRING (caller).
        let key = unsafe { &*registry_path };
        let units = usize::from(key.length) / 2;
        if units > PATH_MAX || key.buffer.is_null() {
            kprintln!("unload report: registry path of {} characters not kept", units);
            return None;
        }
        let mut path = [0u16; PATH_MAX + 1];
        // SAFETY: a valid UNICODE_STRING's buffer holds `length` bytes.
        let src = unsafe { core::slice::from_raw_parts(key.buffer.cast_const(), units) };
        path[..units].copy_from_slice(src);
        Some(UnloadReport { pool, path })
    }

    /// Writes the pool's live counts now, and the records `closed` found in
    /// rings. IRQL = PASSIVE_LEVEL.
    pub(crate) fn write(&self, closed: Closed) {
        let stats = self.pool.stats();
        kprintln!("unload report: pool live: {:?}; {:?}", stats, closed);
        let values = [
            (ALLOCS.as_ptr(), stats.live_allocs as u64),
            (BYTES.as_ptr(), stats.live_bytes as u64),
            (DROPPED.as_ptr(), closed.records_dropped),
        ];
        for (name, value) in values {
            let mut data = value;
            // SAFETY: PASSIVE_LEVEL (caller); the path and the name are
            // NUL-terminated UTF-16 that outlive the call; `data` is a live
            // 8-byte local.
            let st = unsafe {
                RtlWriteRegistryValue(
                    RTL_REGISTRY_ABSOLUTE,
                    self.path.as_ptr(),
                    name,
                    REG_QWORD,
                    (&raw mut data).cast(),
                    8,
                )
            };
            if !status::nt_success(st) {
                kprintln!("unload report: RtlWriteRegistryValue failed: {:#x}", st);
            }
        }
    }
}
