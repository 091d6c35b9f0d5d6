//! The clock the driver stamps events with, read from user mode.
//!
//! The driver stamps each record with `KeQueryPerformanceCounter` converted
//! to 100 ns ticks; `QueryPerformanceCounter` reads the same counter here
//! (the same 10 MHz clock under Wine too), so publish-to-receive latency is
//! a subtraction.

use std::sync::OnceLock;
use windows_sys::Win32::System::Performance::{QueryPerformanceCounter, QueryPerformanceFrequency};

/// Now, in 100 ns ticks of the performance counter.
pub fn now_ticks() -> u64 {
    static FREQ: OnceLock<u64> = OnceLock::new();
    let freq = *FREQ.get_or_init(|| {
        let mut f = 0i64;
        // SAFETY: writes one i64 to a valid location.
        unsafe { QueryPerformanceFrequency(&mut f) };
        f.max(1) as u64
    });
    let mut c = 0i64;
    // SAFETY: writes one i64 to a valid location.
    unsafe { QueryPerformanceCounter(&mut c) };
    ((c as u128) * 10_000_000 / u128::from(freq)) as u64
}

/// Microseconds from a record's timestamp to now (0 if the stamp is ahead).
pub fn latency_us(timestamp: u64) -> u64 {
    now_ticks().saturating_sub(timestamp) / 10
}
