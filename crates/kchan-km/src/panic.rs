//! The panic handler: log, then bug check. It never unwinds (the driver is
//! built with `panic = "abort"`) and never returns.
//!
//! Choice: `KeBugCheckEx`, not an endless loop. A panic in this driver means
//! an internal invariant broke (input from user mode never panics: it is
//! validated and answered with an NTSTATUS). Continuing would leave the
//! channel's state and possibly a held spin lock behind; a loop would hang
//! the thread at whatever IRQL it was, possibly DISPATCH_LEVEL with a spin
//! lock held, freezing a CPU, and hide the failure. A bug check stops at once
//! with a crash dump that points here. Under Wine `KeBugCheckEx` ends
//! `winedevice.exe`, which is what a test run wants to see too.
//!
//! The bug check code is [`KCHAN_BUGCHECK`]; parameter 1 is the source line,
//! parameter 2 a pointer to the file name (bytes, not NUL-terminated),
//! parameter 3 its length.

use crate::ffi::KeBugCheckEx;
use core::panic::PanicInfo;

/// Bug check code used on panic ("kc" + 1): a driver-defined code.
pub const KCHAN_BUGCHECK: u32 = 0x6b63_0001;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let (file, line) = info.location().map_or(("?", 0), |l| (l.file(), l.line()));
    crate::kprintln!("PANIC at {}:{}: {}", file, line, info.message());
    // SAFETY: KeBugCheckEx may be called at any IRQL and does not return; its
    // parameters are plain values for the crash dump.
    unsafe { KeBugCheckEx(KCHAN_BUGCHECK, line as usize, file.as_ptr() as usize, file.len(), 0) }
}
