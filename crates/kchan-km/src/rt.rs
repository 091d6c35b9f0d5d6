//! Symbols the prebuilt `core` refers to although nothing can unwind.
//!
//! rustup ships `core`/`alloc` compiled with unwinding tables, so their
//! objects reference `rust_eh_personality` and `_Unwind_Resume` (from
//! libgcc_eh, which a driver does not link). With `panic = "abort"` neither
//! is ever called; these definitions satisfy the linker. If one ever runs,
//! the state is corrupt: bug check.

use crate::ffi::KeBugCheckEx;
use crate::panic::KCHAN_BUGCHECK;

/// Personality routine referenced by the unwind tables of `core`.
#[no_mangle]
extern "C" fn rust_eh_personality() {}

/// Referenced by landing pads in prebuilt `core`; unreachable with
/// `panic = "abort"`.
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    // SAFETY: any IRQL; does not return.
    unsafe { KeBugCheckEx(KCHAN_BUGCHECK, 0, 0, 0, 1) }
}
