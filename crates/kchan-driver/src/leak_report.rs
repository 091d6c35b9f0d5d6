//! The allocator's live counts at the end of `DriverUnload`, written to the
//! service's registry key so a test can check, after `sc stop`, that the
//! unloaded instance freed every allocation (a restarted instance starts
//! from fresh counters, so `IOCTL_STATS` after a restart cannot tell).
//!
//! Values under `HKLM\System\CurrentControlSet\Services\kchan` (`REG_QWORD`):
//! [`LIVE_ALLOCS_VALUE`], [`LIVE_BYTES_VALUE`]. Also logged with `DbgPrint`.

use kchan_km::ffi::{RtlWriteRegistryValue, REG_QWORD, RTL_REGISTRY_SERVICES};
use kchan_km::pool::PoolStats;
use kchan_km::unicode::StaticUnicode;

/// Value name: live allocations when the last unload finished.
pub const LIVE_ALLOCS_VALUE: &str = "LastUnloadLiveAllocations";
/// Value name: live bytes when the last unload finished.
pub const LIVE_BYTES_VALUE: &str = "LastUnloadLiveBytes";

static SERVICE_KEY: StaticUnicode<6> = StaticUnicode::new(b"kchan\0");
static ALLOCS: StaticUnicode<26> = StaticUnicode::new(b"LastUnloadLiveAllocations\0");
static BYTES: StaticUnicode<20> = StaticUnicode::new(b"LastUnloadLiveBytes\0");

/// Writes `stats`' live counts. IRQL = PASSIVE_LEVEL.
pub fn write(stats: &PoolStats) {
    let values = [(ALLOCS.as_wide_ptr(), stats.live_allocs as u64), (BYTES.as_wide_ptr(), stats.live_bytes as u64)];
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
