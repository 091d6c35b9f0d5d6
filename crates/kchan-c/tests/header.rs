//! `include/kchan_km.h` says what the library exports: it is regenerated
//! from `src/` with cbindgen and compared with the committed file, then
//! compiled with mingw against the DDK headers, so the names it borrows from
//! `ntddk.h` exist there with the widths the Rust declarations use.
//!
//! After changing the interface: `KCHAN_BLESS=1 cargo test -p kchan-c
//! --test header` rewrites the header; review the diff and commit it.
#![cfg(not(windows))]

use std::path::PathBuf;
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    crate_dir().join("include/kchan_km.h")
}

/// The header cbindgen writes for the crate's source today.
fn generated_header() -> String {
    let config = cbindgen::Config::from_file(crate_dir().join("cbindgen.toml")).expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir())
        .with_config(config)
        .generate()
        .expect("cbindgen reads the crate");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("UTF-8 header")
}

#[test]
fn the_committed_header_is_what_the_rust_declarations_generate() {
    let fresh = generated_header();
    if std::env::var_os("KCHAN_BLESS").is_some() {
        std::fs::write(header_path(), &fresh).expect("write the header");
    }
    let committed = std::fs::read_to_string(header_path()).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is out of date with src/: rerun with KCHAN_BLESS=1 and commit it.\n--- generated ---\n{fresh}",
        header_path().display()
    );
    for name in ["KchanCreateDevice", "KchanDeviceObject", "KchanDispatch", "KchanPublish", "KchanDeleteDevice"] {
        assert!(fresh.contains(&format!("{name}(")), "{name} is declared");
    }
}

/// Compiles `source` with mingw as kernel code (DDK headers, no C library),
/// warnings as errors; returns the compiler's messages on failure.
fn compile(name: &str, source: &str) -> Result<(), String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kchan-c-header");
    std::fs::create_dir_all(&dir).unwrap();
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, source).unwrap();
    let out = Command::new("x86_64-w64-mingw32-gcc")
        .args(["-fsyntax-only", "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"])
        .args(["-I/usr/x86_64-w64-mingw32/include/ddk", "-I/usr/share/mingw-w64/include/ddk"])
        .arg(format!("-I{}", include_dir().display()))
        .arg(&c)
        .output()
        .expect("x86_64-w64-mingw32-gcc runs (cargo xtask setup installs it)");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn include_dir() -> PathBuf {
    crate_dir().join("include")
}

#[test]
fn the_header_compiles_as_kernel_code_with_the_widths_rust_uses() {
    // The DDK names the Rust side declares as type aliases (src/lib.rs):
    // ULONG = u32, USHORT = u16, ULONG64 = u64, NTSTATUS = i32.
    let source = r#"
        #include <ntddk.h>
        #include <kchan_km.h>
        _Static_assert(sizeof(ULONG) == 4, "ULONG is u32");
        _Static_assert(sizeof(USHORT) == 2, "USHORT is u16");
        _Static_assert(sizeof(ULONG64) == 8, "ULONG64 is u64");
        _Static_assert(sizeof(NTSTATUS) == 4 && (NTSTATUS)-1 < 0, "NTSTATUS is i32");
        _Static_assert(KCHAN_KM_VERSION == 1, "interface version");
        /* A driver's use of every declaration, with the DDK's own types. */
        NTSTATUS use_all(DRIVER_OBJECT *driver, IRP *irp) {
            UNICODE_STRING name = RTL_CONSTANT_STRING(L"example");
            KCHAN_CONFIG config = { .Size = sizeof config, .Name = &name };
            KCHAN_DEVICE *device = NULL;
            NTSTATUS status = KchanCreateDevice(driver, &config, &device);
            if (!NT_SUCCESS(status)) return status;
            if (KchanDeviceObject(device) == NULL) return STATUS_UNSUCCESSFUL;
            ULONG delivered = KchanPublish(device, 3, "abc", 3);
            status = KchanDispatch(device, irp);
            KchanDeleteDevice(device);
            return delivered ? status : STATUS_UNSUCCESSFUL;
        }
    "#;
    compile("use_all", source).unwrap();
}

#[test]
fn a_wrong_argument_type_does_not_compile() {
    // The compile check above could pass vacuously if the header declared
    // nothing (implicit declarations are errors in C11 with -Werror); this
    // shows the prototypes are seen and enforced.
    let source = r#"
        #include <ntddk.h>
        #include <kchan_km.h>
        ULONG wrong(KCHAN_DEVICE *device) { return KchanPublish(device, 3, "abc", (void *)0); }
    "#;
    let err = compile("wrong_type", source).expect_err("a pointer for PayloadBytes must not compile");
    assert!(err.contains("KchanPublish"), "{err}");
}
