//! Ctrl-C and Ctrl-Break: ask a streaming command to finish, and wake its
//! blocking wait so it finishes now.

use kchan::Wakeup;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;

static STOP: AtomicBool = AtomicBool::new(false);
static WAKEUP: OnceLock<Wakeup> = OnceLock::new();

unsafe extern "system" fn on_ctrl(_kind: u32) -> i32 {
    STOP.store(true, Ordering::SeqCst);
    if let Some(w) = WAKEUP.get() {
        w.wake();
    }
    1
}

/// From now on, Ctrl-C sets [`stopped`] and wakes `wakeup`'s subscription.
pub fn install(wakeup: Wakeup) {
    let _ = WAKEUP.set(wakeup);
    // SAFETY: `on_ctrl` is a valid handler for the life of the process.
    unsafe { SetConsoleCtrlHandler(Some(on_ctrl), 1) };
}

/// Whether Ctrl-C was pressed.
pub fn stopped() -> bool {
    STOP.load(Ordering::SeqCst)
}
