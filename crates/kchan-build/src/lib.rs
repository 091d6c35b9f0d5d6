//! How a kchan driver image (`.sys`) is linked, in one place: every Rust
//! driver crate's `build.rs` calls [`configure_driver_cdylib`], and xtask
//! links the C drivers with [`LINK_ARGS`].
//!
//! The image is a native-subsystem PE with entry `DriverEntry`, importing only
//! `ntoskrnl.exe` and `hal.dll`: no C runtime, no start files.
//!
//! rustc's windows-gnu target always appends user-mode libraries to a cdylib's
//! link (`-lmsvcrt -lmingwex -lmingw32 -lgcc -luser32 -lkernel32`, plus
//! `-lgcc_eh -l:libpthread.a` or `-lgcc_s`). Empty archives with those names
//! ([`SHADOWED`]), generated into `OUT_DIR/shadow` and searched before mingw's
//! own directory, make them resolve to nothing; otherwise `memcpy` and friends
//! would be imported from `msvcrt.dll`. `-lntoskrnl` provides `memcpy`,
//! `memset`, `memmove`, `memcmp`. A C driver is linked by gcc directly with
//! `-nostdlib`, so nothing is appended and nothing needs shadowing.
//!
//! `--gc-sections` alone does not trim Rust's `core`: rustup builds it for
//! windows-gnu without function sections, one object with one `.text`, so
//! any use keeps all of it. Driver crates (and the C library) are therefore
//! built with fat LTO, the workspace's `kernel` profile, which compiles
//! `core`'s bitcode with the driver and keeps only what the driver reaches.

use std::env;
use std::fs;
use std::path::PathBuf;

/// Libraries the windows-gnu target links by default, shadowed by empty
/// archives. `ssp`/`ssp_nonshared`/`advapi32`/`ntdll` are not linked by rustc
/// today; shadowing them is harmless and keeps a future default from
/// silently adding a user-mode import.
pub const SHADOWED: &[&str] = &[
    "msvcrt",
    "mingwex",
    "mingw32",
    "gcc",
    "gcc_eh",
    "gcc_s",
    "pthread",
    "user32",
    "kernel32",
    "advapi32",
    "ntdll",
    "ssp",
    "ssp_nonshared",
];

/// Linker arguments of every driver image (gcc driver syntax). The kernel
/// import libraries come last, after the objects and static libraries that
/// use them.
pub const LINK_ARGS: &[&str] = &[
    "-nostdlib",
    "-nostartfiles",
    "-Wl,--subsystem,native",
    "-Wl,--entry,DriverEntry",
    "-Wl,--image-base,0x140000000",
    "-Wl,--dynamicbase",
    "-Wl,--nxcompat",
    "-Wl,--file-alignment,0x200",
    "-Wl,--section-alignment,0x1000",
    "-Wl,--gc-sections",
    "-Wl,--no-undefined",
    "-lntoskrnl",
    "-lhal",
];

/// For a driver crate's `build.rs`: links the crate's cdylib as a driver
/// image when building for Windows; does nothing on other targets (the
/// crate is empty there).
pub fn configure_driver_cdylib() {
    println!("cargo:rerun-if-changed=build.rs");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    let shadow = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("shadow");
    fs::create_dir_all(&shadow).expect("create shadow dir");
    for lib in SHADOWED {
        // "!<arch>\n" is a complete, empty ar archive.
        fs::write(shadow.join(format!("lib{lib}.a")), b"!<arch>\n").expect("write empty archive");
    }
    println!("cargo:rustc-link-search=native={}", shadow.display());
    for arg in LINK_ARGS {
        println!("cargo:rustc-cdylib-link-arg={arg}");
    }
}
