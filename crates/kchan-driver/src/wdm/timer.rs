//! The timer thread: drives the completion policies' deadlines
//! (`Coalesce`, `Adaptive`: complete a held receive once its oldest record
//! waited `max_delay_us`).
//!
//! It sleeps on the core's timer event until the channel's next deadline
//! (or until woken when there is none), then runs [`Device::on_timer`]. The
//! deadline it sleeps until is recorded under the channel lock; any
//! operation that creates a nearer one sets the event. So no dispatch
//! routine or publisher ever waits for it, and it wakes only when there is
//! work. It exits when [`KchanDevice::destroy`] sets its stop flag and the
//! event.
//!
//! [`Device::on_timer`]: crate::Device::on_timer

use super::KchanDevice;
use crate::device::TimerSleep;
use core::ffi::c_void;
use core::sync::atomic::Ordering;
use kchan_km::ffi::{status, PsTerminateSystemThread};

/// Thread body (`KSTART_ROUTINE`); `context` is the [`KchanDevice`].
///
/// # Safety
/// `context` points to the initialized `KchanDevice`, which outlives the
/// thread (`destroy` joins it first). PASSIVE_LEVEL.
pub unsafe extern "system" fn run(context: *mut c_void) {
    // SAFETY: see the function's contract.
    let dev = unsafe { &*context.cast::<KchanDevice>() };
    // Acquire: pairs with the Release store in `destroy`.
    while !dev.stop.load(Ordering::Acquire) {
        let sleep = match dev.core.on_timer() {
            TimerSleep::For(ticks) => Some(ticks),
            TimerSleep::UntilWoken => None,
            TimerSleep::Exit => break,
        };
        // Signal or timeout: both mean "look again".
        crate::kernel::Event::wait(dev.core.timer_wake(), sleep);
    }
    // SAFETY: called by the system thread itself, at PASSIVE_LEVEL; does
    // not return.
    unsafe { PsTerminateSystemThread(status::SUCCESS) };
}
