//! The allocator's live counts at the end of `DriverUnload`, and the event
//! records the unload found still waiting in rings (handles still open:
//! counted dropped at close), written to the service's registry key so a
//! test can check, after `sc stop`, that the unloaded instance freed every
//! allocation and what it discarded (a restarted instance starts from
//! fresh counters, so `IOCTL_STATS` after a restart cannot tell).
//!
//! Values under `HKLM\System\CurrentControlSet\Services\kchan`
//! (`REG_QWORD`): `kchan_proto::LEAK_ALLOCS_VALUE`,
//! `kchan_proto::LEAK_BYTES_VALUE` and
//! `kchan_proto::UNLOAD_DROPPED_RECORDS_VALUE`. Also logged with `DbgPrint`.

use kchan_km::ffi::{RtlWriteRegistryValue, REG_QWORD, RTL_REGISTRY_SERVICES};
use kchan_km::pool::PoolStats;
use kchan_km::unicode::StaticUnicode;

static SERVICE_KEY: StaticUnicode<6> = StaticUnicode::new(b"kchan\0");
static ALLOCS: StaticUnicode<26> = StaticUnicode::new(b"LastUnloadLiveAllocations\0");
static BYTES: StaticUnicode<20> = StaticUnicode::new(b"LastUnloadLiveBytes\0");
static DROPPED: StaticUnicode<25> = StaticUnicode::new(b"LastUnloadDroppedRecords\0");

/// Whether `a` equals `b` (usable in constants).
pub const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

// The UTF-16 names above are the shared names of `kchan-proto`.
const _: () = assert!(same(kchan_proto::SERVICE_NAME.as_bytes(), b"kchan"));
const _: () = assert!(same(kchan_proto::LEAK_ALLOCS_VALUE.as_bytes(), b"LastUnloadLiveAllocations"));
const _: () = assert!(same(kchan_proto::LEAK_BYTES_VALUE.as_bytes(), b"LastUnloadLiveBytes"));
const _: () = assert!(same(kchan_proto::UNLOAD_DROPPED_RECORDS_VALUE.as_bytes(), b"LastUnloadDroppedRecords"));

/// Writes `stats`' live counts and `records_dropped`, the records the
/// unload found in rings. IRQL = PASSIVE_LEVEL.
pub fn write(stats: &PoolStats, records_dropped: u64) {
    let values = [
        (ALLOCS.as_wide_ptr(), stats.live_allocs as u64),
        (BYTES.as_wide_ptr(), stats.live_bytes as u64),
        (DROPPED.as_wide_ptr(), records_dropped),
    ];
    for (name, value) in values {
        let mut data = value;
        // SAFETY: PASSIVE_LEVEL (DriverUnload); both names are static
        // NUL-terminated UTF-16; `data` is a live 8-byte local.
        let st = unsafe {
            RtlWriteRegistryValue(
                RTL_REGISTRY_SERVICES,
                SERVICE_KEY.as_wide_ptr(),
                name,
                REG_QWORD,
                (&raw mut data).cast(),
                8,
            )
        };
        if st < 0 {
            kchan_km::kprintln!("unload report: RtlWriteRegistryValue failed: {:#x}", st);
        }
    }
}
