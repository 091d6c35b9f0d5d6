//! Clocks: the one the driver stamps records with, and this process's CPU time.
//!
//! The driver stamps with `KeQueryPerformanceCounter` converted to 100 ns
//! ticks; `QueryPerformanceCounter` reads the same counter (same 10 MHz clock
//! under Wine, see the notes), so publish-to-receive latency is a subtraction.

use windows_sys::Win32::Foundation::FILETIME;
use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessTimes};

pub use kchan::clock::now_ticks;

/// User plus kernel CPU time of this process so far, in 100 ns ticks
/// (`GetProcessTimes`; under Wine `/proc` would show wineserver's figures).
pub fn process_cpu_ticks() -> u64 {
    let zero = FILETIME { dwLowDateTime: 0, dwHighDateTime: 0 };
    let (mut creation, mut exit, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: no precondition; returns a pseudo-handle that is always valid.
    let process = unsafe { GetCurrentProcess() };
    // SAFETY: `process` is valid and the four out-pointers are valid
    // FILETIMEs on this frame.
    let ok = unsafe { GetProcessTimes(process, &mut creation, &mut exit, &mut kernel, &mut user) };
    if ok == 0 {
        return 0;
    }
    let ft = |t: FILETIME| (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime);
    ft(kernel) + ft(user)
}
