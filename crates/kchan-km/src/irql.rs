//! IRQL preconditions, checked in debug builds: a function that must run
//! at PASSIVE_LEVEL, or at most DISPATCH_LEVEL, calls one of these first
//! (the spirit of windows-drivers-rs's `paged_code!`).
//!
//! On x64 the IRQL *is* CR8: `KeGetCurrentIrql` is an inline read of it in
//! the WDK's headers, and neither x64 Windows nor Wine 8 exports a function
//! of that name (Wine's `hal.dll` leaves it unimplemented on x64: a driver
//! importing it stops at its first call). So the check reads CR8. In real
//! kernel mode that is one instruction; under Wine, where drivers run in
//! user mode, it traps and `ntoskrnl.exe`'s privileged-instruction handler
//! emulates it (returning PASSIVE_LEVEL), slowly, which is why release
//! builds neither check nor read it.

use crate::ffi::{DISPATCH_LEVEL, KIRQL};

/// The current IRQL (CR8, what `KeGetCurrentIrql` expands to on x64);
/// 0 in release builds, which do not read it.
pub fn current() -> KIRQL {
    #[cfg(debug_assertions)]
    {
        let cr8: u64;
        // SAFETY: reading CR8 has no side effect; kernel code may read it at
        // any IRQL (under Wine the read traps and is emulated).
        unsafe { core::arch::asm!("mov {}, cr8", out(reg) cr8, options(nomem, nostack, preserves_flags)) };
        cr8 as KIRQL
    }
    #[cfg(not(debug_assertions))]
    0
}

/// Debug builds: stops unless the IRQL is PASSIVE_LEVEL.
#[inline]
#[track_caller]
pub fn passive() {
    if cfg!(debug_assertions) {
        let irql = current();
        assert!(irql == 0, "IRQL {irql}: PASSIVE_LEVEL required");
    }
}

/// Debug builds: stops unless the IRQL is at most DISPATCH_LEVEL.
#[inline]
#[track_caller]
pub fn at_most_dispatch() {
    if cfg!(debug_assertions) {
        let irql = current();
        assert!(irql <= DISPATCH_LEVEL, "IRQL {irql}: at most DISPATCH_LEVEL required");
    }
}
