//! Every check is shown to fail on a bad image made on the spot by mingw
//! (or, for Rust's float code, by rustc), and to pass on a minimal good
//! driver. Each bad image differs from the
//! good one in one way, and must fail for that reason alone.

use super::*;
use std::path::PathBuf;
use std::process::Command;

/// How a good driver is linked (as `kchan-driver/build.rs` links kchan.sys).
const DRIVER_ARGS: &[&str] = &[
    "-O1",
    "-nostdlib",
    "-nostartfiles",
    "-Wl,--subsystem,native",
    "-Wl,--entry,DriverEntry",
    "-shared",
    "-Wl,--dynamicbase",
    "-Wl,--nxcompat",
    "-Wl,--section-alignment,0x1000",
    "-Wl,--file-alignment,0x200",
];

const GOOD: &str = "void* IoGetCurrentProcess(void);\n\
                    long DriverEntry(void* d, void* r) { return IoGetCurrentProcess() == d; }\n";

fn dir() -> PathBuf {
    let dir = crate::target_dir().join("pecheck-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles and links `source` into `<name>.sys` with `args`; the checksum
/// is made correct so that only what a test changes is wrong.
fn build(name: &str, source: &str, args: &[&str]) -> PathBuf {
    build_file(&format!("{name}.sys"), source, args)
}

/// [`build`] into the file `file_name` (a `.dll` or `.exe`).
fn build_file(file_name: &str, source: &str, args: &[&str]) -> PathBuf {
    let c = dir().join(format!("{file_name}.c"));
    let out = dir().join(file_name);
    std::fs::write(&c, source).unwrap();
    let status = Command::new(imports::MINGW_CC)
        .arg("-o")
        .arg(&out)
        .arg(&c)
        .args(args)
        .arg(format!("-L{}", dir().display()))
        .status()
        .expect("x86_64-w64-mingw32-gcc runs (cargo xtask setup installs it)");
    assert!(status.success(), "compiling {file_name}");
    checksum::fix(&out).unwrap();
    out
}

fn driver(name: &str, source: &str, extra: &[&str]) -> PathBuf {
    let mut args = DRIVER_ARGS.to_vec();
    args.extend(extra);
    args.push("-lntoskrnl");
    build(name, source, &args)
}

/// The image's problems; asserts there is exactly one and that it says `what`.
fn only_problem(sys: &Path, what: &str) -> String {
    let report = inspect(sys).unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].contains(what), "{:?}", report.problems);
    assert!(check_driver_image(sys).is_err());
    report.problems[0].clone()
}

#[test]
fn passes_a_native_driver_that_imports_only_the_kernel() {
    let sys = driver("good", GOOD, &[]);
    let report = check_driver_image(&sys).unwrap();
    assert!(report.problems.is_empty());
    let facts = image_facts(&std::fs::read(&sys).unwrap()).unwrap();
    assert_eq!(facts.imports, vec![("ntoskrnl.exe".to_string(), vec!["IoGetCurrentProcess".to_string()])]);
}

#[test]
fn fails_a_native_driver_that_imports_msvcrt() {
    // The real failure mode: rustc's appended user-mode libraries come first
    // on the link line and win symbol resolution.
    let src = "int puts(const char*);\n\
               long DriverEntry(void* d, void* r) { return puts((const char*)d); }\n";
    let sys = driver("imports_msvcrt", src, &["-lmsvcrt"]);
    only_problem(&sys, "msvcrt.dll");
}

#[test]
fn fails_a_user_mode_dll() {
    let sys = build("user_dll", "int f(void) { return 1; }\n", &["-shared"]);
    let report = inspect(&sys).unwrap();
    let all = report.problems.join("\n");
    assert!(all.contains("user-mode modules") && all.to_lowercase().contains("kernel32.dll"), "{all}");
    assert!(all.contains("subsystem"), "{all}");
}

#[test]
fn fails_a_console_subsystem_image() {
    let args: Vec<&str> = DRIVER_ARGS
        .iter()
        .map(|a| if *a == "-Wl,--subsystem,native" { "-Wl,--subsystem,console" } else { a })
        .collect();
    let mut args = args;
    args.push("-lntoskrnl");
    let sys = build("console", GOOD, &args);
    only_problem(&sys, "subsystem 3 instead of native");
}

#[test]
fn fails_a_name_that_ntoskrnl_does_not_export() {
    // An import library claiming ntoskrnl.exe exports a made-up name: the
    // link succeeds, Windows' loader would not.
    std::fs::write(dir().join("fake.def"), "LIBRARY ntoskrnl.exe\nEXPORTS\nKchanNotAnExport\n").unwrap();
    let status = Command::new("x86_64-w64-mingw32-dlltool")
        .current_dir(dir())
        .args(["-d", "fake.def", "-l", "libkchanfake.a"])
        .status()
        .expect("dlltool runs");
    assert!(status.success());
    let src = "void* KchanNotAnExport(void);\n\
               long DriverEntry(void* d, void* r) { return KchanNotAnExport() == d; }\n";
    let sys = driver("not_exported", src, &["-lkchanfake"]);
    let problem = only_problem(&sys, "does not export");
    assert!(problem.contains("KchanNotAnExport"), "{problem}");
    let report = inspect(&sys).unwrap();
    assert!(report.notes.iter().any(|n| n.contains("not dated") && n.contains("KchanNotAnExport")), "{report:?}");
}

#[test]
fn fails_a_section_both_writable_and_executable() {
    let src = format!("__asm__(\".section .kwx,\\\"wx\\\"\\n.byte 0xc3\\n.text\\n\");\n{GOOD}");
    let sys = driver("wx", &src, &[]);
    only_problem(&sys, "section .kwx is both writable and executable");
}

#[test]
fn fails_a_section_alignment_other_than_a_page() {
    let sys = driver("align", GOOD, &["-Wl,--section-alignment,0x200"]);
    only_problem(&sys, "section alignment 0x200");
}

#[test]
fn fails_without_nx_compat_and_without_dynamic_base() {
    let sys = driver("no_nx", GOOD, &["-Wl,--disable-nxcompat"]);
    only_problem(&sys, "NX_COMPAT is not set");
    let sys = driver("no_aslr", GOOD, &["-Wl,--disable-dynamicbase"]);
    only_problem(&sys, "DYNAMIC_BASE is not set");
}

#[test]
fn fails_an_image_with_a_tls_directory() {
    // ld fills the TLS directory entry when `_tls_used` exists.
    let src = format!("const unsigned long long _tls_used[5] = {{0}};\n{GOOD}");
    let sys = driver("tls", &src, &[]);
    only_problem(&sys, "TLS directory");
}

#[test]
fn fails_a_missing_or_wrong_checksum_and_the_build_fix_repairs_it() {
    let sys = driver("checksum", GOOD, &[]);
    let mut bytes = std::fs::read(&sys).unwrap();
    let nt = u32::from_le_bytes(bytes[0x3c..0x40].try_into().unwrap()) as usize;
    let field = nt + 4 + 20 + 64;
    let good = u32::from_le_bytes(bytes[field..field + 4].try_into().unwrap());
    bytes[field..field + 4].copy_from_slice(&0u32.to_le_bytes());
    std::fs::write(&sys, &bytes).unwrap();
    only_problem(&sys, "PE checksum is 0");
    assert_eq!(checksum::fix(&sys).unwrap(), good);
    check_driver_image(&sys).unwrap();
    // One byte changed after the checksum was written.
    let mut bytes = std::fs::read(&sys).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x5a;
    std::fs::write(&sys, &bytes).unwrap();
    only_problem(&sys, "does not match the file");
}

#[test]
fn fails_a_frame_over_a_page_and_its_stack_probe() {
    let src = "void* IoGetCurrentProcess(void);\n\
               long DriverEntry(void* d, void* r) {\n\
                 volatile char buf[8192]; buf[0] = 1;\n\
                 return buf[(unsigned long long)d & 8191] + (IoGetCurrentProcess() == d);\n\
               }\n";
    // The probe (___chkstk_ms) comes from libgcc, as it would for Rust.
    let sys = driver("big_frame", src, &["-lgcc"]);
    let report = inspect(&sys).unwrap();
    let all = report.problems.join("\n");
    assert_eq!(report.problems.len(), 1, "{all}");
    assert!(all.contains("DriverEntry calls a stack probe"), "{all}");
}

#[test]
fn reports_the_largest_frames_and_the_deepest_chain_from_dispatch() {
    let src = "void* IoGetCurrentProcess(void);\n\
               __attribute__((noinline)) long helper(void* d) {\n\
                 volatile char buf[3000]; buf[0] = 1; return buf[(unsigned long long)d % 3000];\n\
               }\n\
               __attribute__((noinline)) long dispatch_ioctl(void* d) {\n\
                 volatile char buf[1000]; buf[0] = 2; return helper(d) + buf[(unsigned long long)d % 1000];\n\
               }\n\
               long DriverEntry(void* d, void* r) { return dispatch_ioctl(d) + (IoGetCurrentProcess() == d); }\n";
    let sys = driver("chain", src, &[]);
    let report = check_driver_image(&sys).unwrap();
    let notes = report.notes.join("\n");
    assert!(notes.contains("largest frames: 30"), "helper's ~3 KiB frame comes first: {notes}");
    assert!(notes.contains("dispatch_ioctl -> helper"), "{notes}");
    let chain_bytes: u64 = notes
        .split("from dispatch: ")
        .nth(1)
        .and_then(|rest| rest.split(" B").next())
        .and_then(|n| n.parse().ok())
        .expect("a byte count");
    assert!((4000..4200).contains(&chain_bytes), "{notes}");
}

/// A Rust driver whose `DriverEntry` formats one line with `FORMAT` (the
/// arguments of `write!`), as a driver's log or panic message would.
const RUST_DRIVER: &str = r#"#![no_std]
use core::fmt::Write;
extern "system" {
    fn IoGetCurrentProcess() -> usize;
}
struct Line(usize);
impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}
#[no_mangle]
pub extern "system" fn DriverEntry(driver: usize, _registry: usize) -> i32 {
    let value = driver ^ unsafe { IoGetCurrentProcess() };
    let mut line = Line(0);
    let _ = write!(line, FORMAT);
    line.0 as i32
}
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
#[no_mangle]
extern "C" fn rust_eh_personality() {}
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    loop {}
}
"#;

/// Compiles [`RUST_DRIVER`] with `format` into `<name>.sys`: a `cdylib`
/// for the Windows target, linked as every Rust driver image is
/// (`kchan-build`'s arguments, its shadowed user-mode libraries), with fat
/// LTO as the `kernel` profile builds it, or without.
fn rust_driver(name: &str, format: &str, lto: bool) -> PathBuf {
    let shadow = dir().join("shadow");
    std::fs::create_dir_all(&shadow).unwrap();
    for lib in kchan_build::SHADOWED {
        std::fs::write(shadow.join(format!("lib{lib}.a")), b"!<arch>\n").unwrap();
    }
    let rs = dir().join(format!("{name}.rs"));
    let out = dir().join(format!("{name}.sys"));
    std::fs::write(&rs, RUST_DRIVER.replace("FORMAT", format)).unwrap();
    let mut rustc = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()));
    rustc
        .args(["--edition", "2021", "--crate-type", "cdylib", "--crate-name", name, "--target", crate::WINDOWS_TARGET])
        .args(["-C", "panic=abort", "-C", "opt-level=2", "-C", "linker=x86_64-w64-mingw32-gcc"])
        .arg("-L")
        .arg(format!("native={}", shadow.display()));
    if lto {
        rustc.args(["-C", "lto=fat"]);
    }
    for arg in kchan_build::LINK_ARGS {
        rustc.arg("-C").arg(format!("link-arg={arg}"));
    }
    let status = rustc.arg("-o").arg(&out).arg(&rs).status().expect("rustc runs");
    assert!(status.success(), "compiling {name}");
    checksum::fix(&out).unwrap();
    out
}

const TENTHS_AS_FLOAT: &str = r#""rate: {}", value as f64 / 10.0"#;
const TENTHS_AS_INTEGERS: &str = r#""rate: {}.{}", value / 10, value % 10"#;

#[test]
fn fails_a_rust_driver_that_formats_a_float() {
    let sys = rust_driver("formats_float", TENTHS_AS_FLOAT, true);
    let problem = only_problem(&sys, "holds core's float formatting");
    assert!(problem.contains("core::"), "names the functions: {problem}");
}

#[test]
fn passes_the_same_driver_printing_tenths_as_integers() {
    let sys = rust_driver("formats_integers", TENTHS_AS_INTEGERS, true);
    let report = check_driver_image(&sys).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn fails_the_same_driver_linked_without_lto_which_keeps_all_of_core() {
    let sys = rust_driver("formats_integers_no_lto", TENTHS_AS_INTEGERS, false);
    only_problem(&sys, "holds core's float formatting");
}

#[test]
fn rejects_what_is_not_a_pe() {
    assert!(image_facts(b"MZ not really").is_err());
}

#[test]
fn passes_a_user_mode_program_that_imports_only_windows_dlls() {
    let source = "#include <stdio.h>\n#include <windows.h>\nint main(void) { printf(\"%lu\\n\", GetCurrentProcessId()); return 0; }\n";
    let exe = build_file("windows_only.exe", source, &["-O2"]);
    assert_eq!(program::foreign_imports(&exe).unwrap(), Vec::<String>::new());
    program::check_user_program(&exe).unwrap();
}

#[test]
fn fails_a_user_mode_program_that_needs_a_dll_windows_lacks() {
    // A DLL made on the spot stands for mingw's runtime DLLs.
    build_file("mingwonly.dll", "__declspec(dllexport) int helper(void) { return 7; }\n", &["-shared"]);
    let exe =
        build_file("needs_dll.exe", "int helper(void);\nint main(void) { return helper(); }\n", &["-l:mingwonly.dll"]);
    assert_eq!(program::foreign_imports(&exe).unwrap(), vec!["mingwonly.dll".to_string()]);
    let err = program::check_user_program(&exe).unwrap_err().to_string();
    assert!(err.contains("mingwonly.dll") && err.contains("not part of Windows"), "{err}");
}
