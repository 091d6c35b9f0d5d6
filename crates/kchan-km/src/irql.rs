//! IRQL preconditions, checked in debug builds: a function that must run
//! at PASSIVE_LEVEL, or at most DISPATCH_LEVEL, calls one of these first
//! (the spirit of windows-drivers-rs's `paged_code!`). The IRQL is read
//! with the exported `KeGetCurrentIrql`, not mingw's inline read of CR8,
//! which only real kernel mode allows; release builds neither check nor
//! import it.

use crate::ffi::{DISPATCH_LEVEL, KIRQL};

/// The current IRQL (`KeGetCurrentIrql`); 0 in release builds, which do
/// not import the function.
pub fn current() -> KIRQL {
    #[cfg(debug_assertions)]
    // SAFETY: any IRQL; no arguments.
    let irql = unsafe { crate::ffi::KeGetCurrentIrql() };
    #[cfg(not(debug_assertions))]
    let irql = 0;
    irql
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
