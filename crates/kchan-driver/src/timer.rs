//! The timer thread: drives the engine's time-based completion policies
//! (`Coalesce`, `Adaptive`: complete a held receive once its oldest record
//! waited `max_delay_us`).
//!
//! It sleeps on [`Shell::timer_wake`] until the channel's next deadline
//! (or indefinitely when there is none), then runs `on_timer`. The deadline
//! it sleeps until is recorded under the channel lock; any operation that
//! creates a nearer one (a publish while a receive is held, a post, a
//! reconfigure) sets the event (see [`Shell::with`]). So no dispatch routine
//! or publisher ever waits, and the thread wakes only when there is work.
//! It exits when `DriverUnload` sets [`Device::stop`] and the event.

use crate::device::Device;
use crate::shell::Shell;
use core::ffi::c_void;
use core::sync::atomic::Ordering;
use kchan_engine::Clock;
use kchan_km::ffi::{status, PsTerminateSystemThread};

/// Thread body (`KSTART_ROUTINE`); `context` is the `Device`.
///
/// # Safety
/// `context` points to the initialized `Device`, which outlives the thread
/// (`DriverUnload` joins it before deleting the device). PASSIVE_LEVEL.
pub unsafe extern "system" fn run(context: *mut c_void) {
    // SAFETY: see the function's contract.
    let dev = unsafe { &*context.cast::<Device>() };
    let shell: &Shell = &dev.shell;
    // Acquire: pairs with the Release store in `DriverUnload`.
    while !dev.stop.load(Ordering::Acquire) {
        let mut now = 0;
        let next = shell.with_timer(|chan, sink| {
            now = chan.clock().now();
            chan.on_timer(now, sink);
        });
        let timeout = match next {
            None | Some(u64::MAX) => None,
            Some(deadline) => Some(deadline.saturating_sub(now).min(i64::MAX as u64) as i64),
        };
        // SAFETY: the event was initialized by `Shell::init`; system threads
        // run at PASSIVE_LEVEL. Signal or timeout: both mean "look again".
        unsafe { shell.timer_wake.wait(timeout) };
    }
    // SAFETY: called by the system thread itself, at PASSIVE_LEVEL; does
    // not return.
    unsafe { PsTerminateSystemThread(status::SUCCESS) };
}
