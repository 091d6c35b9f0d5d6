//! What a driver image needs because it has no unwinder: the panic
//! handler's body (log, then bug check) and the unwinding symbols prebuilt
//! `core` refers to. The final driver crate installs them with
//! [`driver_runtime!`](crate::driver_runtime); a library of kernel code
//! does not, so that its host and test builds link std's own.
//!
//! Choice: `KeBugCheckEx`, not an endless loop. A panic in the driver
//! means an internal invariant broke (input from user mode never panics:
//! it is validated and answered with an NTSTATUS). Continuing would leave
//! the channel's state and possibly a held spin lock behind; a loop would
//! hang the thread at whatever IRQL it was, possibly DISPATCH_LEVEL with a
//! spin lock held, freezing a CPU, and hide the failure. A bug check stops
//! at once with a crash dump that points here. Under Wine `KeBugCheckEx`
//! ends `winedevice.exe`, which is what a test run wants to see too.
//!
//! The bug check code is [`KCHAN_BUGCHECK`]; parameter 1 is the source
//! line, parameter 2 a pointer to the file name (bytes, not
//! NUL-terminated), parameter 3 its length; parameter 4 is 1 for an
//! attempted unwind.

use crate::ffi::KeBugCheckEx;
use core::panic::PanicInfo;

/// Bug check code used on panic ("kc" + 1): a driver-defined code.
pub const KCHAN_BUGCHECK: u32 = 0x6b63_0001;

/// The panic handler's body: logs the message and location, then bug
/// checks. Any IRQL.
pub fn bugcheck(info: &PanicInfo<'_>) -> ! {
    let (file, line) = info.location().map_or(("?", 0), |l| (l.file(), l.line()));
    crate::kprintln!("PANIC at {}:{}: {}", file, line, info.message());
    // SAFETY: KeBugCheckEx may be called at any IRQL and does not return; its
    // parameters are plain values for the crash dump.
    unsafe { KeBugCheckEx(KCHAN_BUGCHECK, line as usize, file.as_ptr() as usize, file.len(), 0) }
}

/// What `_Unwind_Resume` does: it is referenced by landing pads in prebuilt
/// `core` and unreachable with `panic = "abort"`; if it ever runs, the
/// state is corrupt: bug check.
pub fn unwind_resume() -> ! {
    // SAFETY: any IRQL; does not return.
    unsafe { KeBugCheckEx(KCHAN_BUGCHECK, 0, 0, 0, 1) }
}

/// Installs the driver image's runtime in the calling crate (the one that
/// links the `.sys`): a `#[panic_handler]` that bug checks, and the
/// `rust_eh_personality` and `_Unwind_Resume` symbols that rustup's
/// prebuilt `core` refers to although nothing can unwind.
#[macro_export]
macro_rules! driver_runtime {
    () => {
        #[panic_handler]
        fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
            $crate::panic::bugcheck(info)
        }

        /// Personality routine referenced by the unwind tables of `core`.
        #[no_mangle]
        extern "C" fn rust_eh_personality() {}

        /// Referenced by landing pads in prebuilt `core`.
        #[no_mangle]
        extern "C" fn _Unwind_Resume() -> ! {
            $crate::panic::unwind_resume()
        }
    };
}
