//! IRQL preconditions, checked in debug builds (the spirit of
//! windows-drivers-rs's `paged_code!`): a function that must run at
//! PASSIVE_LEVEL, or at most DISPATCH_LEVEL, says so with one of these at
//! its entry, and a caller that breaks the rule stops there. The IRQL comes
//! from [`Kernel::current_irql`]: CR8 in the WDM binding (see
//! `kchan_km::irql`: x64 exports no `KeGetCurrentIrql`), a per-thread
//! level the fake spin lock raises in the host tests.

use crate::kernel::{Irql, Kernel};

/// Debug builds: stops unless the IRQL is PASSIVE_LEVEL.
#[inline]
#[track_caller]
pub fn passive<K: Kernel>() {
    if cfg!(debug_assertions) {
        let irql = K::current_irql();
        assert!(irql == Irql::Passive, "IRQL {irql:?}: PASSIVE_LEVEL required");
    }
}

/// Debug builds: stops unless the IRQL is at most DISPATCH_LEVEL.
#[inline]
#[track_caller]
pub fn at_most_dispatch<K: Kernel>() {
    if cfg!(debug_assertions) {
        let irql = K::current_irql();
        assert!(irql <= Irql::Dispatch, "IRQL {irql:?}: at most DISPATCH_LEVEL required");
    }
}
