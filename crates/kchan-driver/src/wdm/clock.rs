//! The record timestamp clock: `KeQueryPerformanceCounter` in 100 ns ticks.
//!
//! Read once per publish that reaches a subscriber, or once per inject
//! message and generator chunk (`Channel::publish_at`). Under Wine it costs
//! 110-140 ns, several times a publish, and already
//! runs at 10 MHz, so the conversion is skipped then; the client's
//! `QueryPerformanceCounter` is the same clock, so publish-to-receive
//! latency can be measured from the timestamps.

use kchan_engine::Clock;
use kchan_km::ffi::KeQueryPerformanceCounter;

/// 100 ns ticks per second.
const TICKS_PER_S: u64 = 10_000_000;

/// `KeQueryPerformanceCounter`, scaled to 100 ns ticks.
#[derive(Clone, Copy)]
pub struct KernelClock {
    /// Counter frequency in Hz (read once: it never changes while the system runs).
    freq: u64,
}

impl KernelClock {
    /// Reads the counter's frequency. Any IRQL.
    pub fn new() -> Self {
        let mut freq: i64 = 0;
        // SAFETY: any IRQL; `freq` is a live local.
        unsafe { KeQueryPerformanceCounter(&mut freq) };
        KernelClock { freq: (freq.max(1)) as u64 }
    }
}

impl Default for KernelClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for KernelClock {
    /// Now, in 100 ns ticks. Any IRQL.
    fn now(&self) -> u64 {
        // SAFETY: any IRQL; a null frequency pointer is allowed.
        let ticks = unsafe { KeQueryPerformanceCounter(core::ptr::null_mut()) }.max(0) as u64;
        if self.freq == TICKS_PER_S {
            ticks
        } else {
            (u128::from(ticks) * u128::from(TICKS_PER_S) / u128::from(self.freq)) as u64
        }
    }
}
