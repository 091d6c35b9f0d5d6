//! `include/kchan.h`, the wire protocol for C and C++ clients, is this
//! crate rendered by cbindgen (`cbindgen.toml`), plus what cbindgen cannot
//! evaluate, written out here from the crate's own values: the constants
//! computed by `const fn` or from other items (IOCTL codes, the magic,
//! sizes) and the string constants, before the types; the size, alignment
//! and every field offset of each structure as `_Static_assert`s, after
//! them. So the crate stays the one source of truth, and a C compiler whose
//! layout differs stops at the header.
//!
//! The tests regenerate the header and compare it with the committed file,
//! check that every public constant of the crate is in it, and compile it
//! with mingw as C11 and C++ next to `windows.h`, whose `CTL_CODE` and
//! `STATUS_*` values it must match.
//!
//! After changing the protocol: `KCHAN_BLESS=1 cargo test -p kchan-proto
//! --test header` rewrites the header; review the diff and commit it.
#![cfg(not(windows))]

#[path = "support/wire_structs.rs"]
mod wire_structs;

use kchan_proto::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn include_dir() -> PathBuf {
    crate_dir().join("include")
}

fn header_path() -> PathBuf {
    include_dir().join("kchan.h")
}

fn config() -> cbindgen::Config {
    cbindgen::Config::from_file(crate_dir().join("cbindgen.toml")).expect("cbindgen.toml parses")
}

/// The C name of a constant: the crate's name behind the export prefix.
fn c_constant(name: &str) -> String {
    if name.starts_with("KCHAN_") {
        name.to_string()
    } else {
        format!("KCHAN_{name}")
    }
}

/// The C name cbindgen.toml gives a type.
fn c_type(rust: &str) -> String {
    config().export.rename.get(rust).cloned().unwrap_or_else(|| panic!("cbindgen.toml renames {rust}"))
}

/// A constant cbindgen cannot write: name, C value, what it is.
struct Computed {
    name: &'static str,
    value: String,
    doc: String,
}

fn ioctl(name: &'static str, code: u32, what: &str) -> Computed {
    let access = ["FILE_ANY_ACCESS", "FILE_READ_ACCESS", "FILE_WRITE_ACCESS", "FILE_READ_ACCESS | FILE_WRITE_ACCESS"];
    let doc = format!(
        "CTL_CODE(0x{:X}, 0x{:X}, METHOD_BUFFERED, {}). {what}",
        code >> 16,
        (code >> 2) & 0xFFF,
        access[((code >> 14) & 3) as usize]
    );
    assert_eq!(code & 3, METHOD_BUFFERED, "{name} is METHOD_BUFFERED");
    Computed { name, value: format!("0x{code:08X}u"), doc }
}

fn number(name: &'static str, value: usize, doc: &str) -> Computed {
    Computed { name, value: value.to_string(), doc: doc.to_string() }
}

fn string(name: &'static str, value: &str, doc: &str) -> Computed {
    let mut literal = String::from("\"");
    for c in value.chars() {
        assert!(c.is_ascii() && !c.is_ascii_control(), "{name}: plain ASCII");
        if c == '\\' || c == '"' {
            literal.push('\\');
        }
        literal.push(c);
    }
    literal.push('"');
    Computed { name, value: literal, doc: doc.to_string() }
}

/// Every constant of the crate that cbindgen leaves out.
fn computed() -> Vec<Computed> {
    vec![
        ioctl("IOCTL_VERSION", IOCTL_VERSION, "Output: KCHAN_VERSION_INFO."),
        ioctl("IOCTL_SUBSCRIBE", IOCTL_SUBSCRIBE, "Input: KCHAN_SUBSCRIBE_CONFIG."),
        ioctl(
            "IOCTL_SUBSCRIBE_WRITE_ACCESS",
            IOCTL_SUBSCRIBE_WRITE_ACCESS,
            "The first code of IOCTL_SUBSCRIBE (protocol version 1), still served; send KCHAN_IOCTL_SUBSCRIBE.",
        ),
        ioctl("IOCTL_RECV", IOCTL_RECV, "Output: a batch (KCHAN_BATCH_HEADER and records); pends until records come."),
        ioctl("IOCTL_STATS", IOCTL_STATS, "Output: KCHAN_STATS_REPLY (at least KCHAN_STATS_REPLY_MIN_BYTES)."),
        ioctl("IOCTL_INJECT", IOCTL_INJECT, "Input: an inject message (KCHAN_INJECT_HEADER and records)."),
        ioctl("IOCTL_GEN_START", IOCTL_GEN_START, "Input: KCHAN_GEN_CONFIG."),
        ioctl("IOCTL_GEN_STOP", IOCTL_GEN_STOP, "No input: stops the driver's generator."),
        Computed {
            name: "KCHAN_MAGIC",
            value: format!("0x{KCHAN_MAGIC:08X}u"),
            doc: "KCHAN_VERSION_INFO.magic: \"KCHN\" in little-endian.".into(),
        },
        number("RECORD_HEADER_SIZE", RECORD_HEADER_SIZE, "sizeof(KCHAN_RECORD_HEADER)."),
        number("BATCH_HEADER_SIZE", BATCH_HEADER_SIZE, "sizeof(KCHAN_BATCH_HEADER)."),
        number("GAP_RECORD_SIZE", GAP_RECORD_SIZE, "A whole gap record: KCHAN_RECORD_HEADER and KCHAN_GAP_INFO."),
        number(
            "STATS_REPLY_MIN_BYTES",
            STATS_REPLY_MIN_BYTES,
            "Smallest IOCTL_STATS output: KCHAN_STATS_REPLY's channel and subscriber.",
        ),
        string("DEVICE_NAME", DEVICE_NAME, "kchan.sys's device name (\\Device\\kchan in the kernel)."),
        string("DEVICE_PATH", DEVICE_PATH, "kchan.sys's device as user mode opens it."),
        string("SERVICE_NAME", SERVICE_NAME, "kchan.sys's service name."),
        string("DRIVER_FILE", DRIVER_FILE, "The driver image's file name."),
        string("RING_BUDGET_VALUE", RING_BUDGET_VALUE, "REG_QWORD under the service key: the ring budget."),
        string("LEAK_ALLOCS_VALUE", LEAK_ALLOCS_VALUE, "REG_QWORD: allocations live after the last unload."),
        string("LEAK_BYTES_VALUE", LEAK_BYTES_VALUE, "REG_QWORD: bytes live after the last unload."),
        string(
            "UNLOAD_DROPPED_RECORDS_VALUE",
            UNLOAD_DROPPED_RECORDS_VALUE,
            "REG_QWORD: event records the last unload found in rings.",
        ),
    ]
}

/// The block of computed constants (cbindgen's `after_includes`).
fn computed_block() -> String {
    let mut out = String::from(
        "\n/*\n * Constants the Rust crate computes (by const fn, from other items, or as\n * strings), written out by tests/header.rs.\n */\n",
    );
    for c in computed() {
        out.push_str("\n/**\n");
        for line in wrap(&c.doc, 72) {
            writeln!(out, " * {line}").unwrap();
        }
        writeln!(out, " */\n#define {} {}", c_constant(c.name), c.value).unwrap();
    }
    out
}

/// `text` in lines of at most `width` characters (longer words stand alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// The layout asserts and the include guard's end (cbindgen's `trailer`).
fn layout_block() -> String {
    let mut out = String::from(
        "/*\n * Each structure's layout as the Rust crate has it, written out by\n * tests/header.rs: a compiler that lays them out otherwise stops here.\n */\n\
         #ifdef __cplusplus\n#define KCHAN_LAYOUT(what) static_assert(what, #what)\n#define KCHAN_ALIGNOF(type) alignof(type)\n\
         #else\n#define KCHAN_LAYOUT(what) _Static_assert(what, #what)\n#define KCHAN_ALIGNOF(type) _Alignof(type)\n#endif\n",
    );
    for layout in wire_structs::structs() {
        let c = c_type(layout.name);
        writeln!(out, "\nKCHAN_LAYOUT(sizeof({c}) == {});", layout.size).unwrap();
        writeln!(out, "KCHAN_LAYOUT(KCHAN_ALIGNOF({c}) == {});", layout.align).unwrap();
        for wire_structs::Field { name: field, offset, .. } in &layout.fields {
            writeln!(out, "KCHAN_LAYOUT(offsetof({c}, {field}) == {offset});").unwrap();
        }
    }
    out.push_str("\n#undef KCHAN_LAYOUT\n#undef KCHAN_ALIGNOF\n\n#endif  /* KCHAN_H */\n");
    out
}

/// The header for the crate's source today.
fn generated_header() -> String {
    let mut config = config();
    config.after_includes = Some(computed_block());
    config.trailer = Some(layout_block());
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir())
        .with_config(config)
        .generate()
        .expect("cbindgen reads the crate");
    let mut out = Vec::new();
    bindings.write(&mut out);
    let text = String::from_utf8(out).expect("UTF-8 header");
    // cbindgen leaves a blank line for each item it skips (the computed
    // constants, written above): keep one.
    let mut tidy = String::with_capacity(text.len());
    for line in text.lines() {
        if !(line.is_empty() && tidy.ends_with("\n\n")) {
            tidy.push_str(line);
            tidy.push('\n');
        }
    }
    tidy
}

#[test]
fn the_committed_header_is_what_the_crate_generates() {
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
}

/// `pub const NAME` items of the crate's source files.
fn public_constants() -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(crate_dir().join("src")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("pub const ") else { continue };
            if rest.starts_with("fn ") {
                continue;
            }
            names.push(rest.split(':').next().unwrap().trim().to_string());
        }
    }
    names
}

#[test]
fn every_public_constant_and_exported_type_is_in_the_header() {
    let header = generated_header();
    let constants = public_constants();
    assert!(constants.len() > 50, "found the crate's constants: {constants:?}");
    // `STATUS_NAMES` pairs each status with its Rust name, for messages: the
    // statuses themselves are in the header.
    for name in constants.iter().filter(|n| *n != "STATUS_NAMES") {
        assert!(header.contains(&format!("#define {} ", c_constant(name))), "{name} is in the header");
    }
    // Every structure cbindgen exports has its layout asserted, and each
    // exported type is defined.
    let asserted: Vec<String> = wire_structs::structs().iter().map(|l| c_type(l.name)).collect();
    for rust in &config().export.include {
        let c = c_type(rust);
        let is_enum = header.contains(&format!("enum {c}\n"));
        assert!(is_enum || header.contains(&format!("typedef struct {c} {{")), "{c} is defined");
        assert!(is_enum || asserted.contains(&c), "{c}'s layout is asserted");
    }
}

/// Compiles `source` with `compiler` (`-fsyntax-only`, warnings as errors)
/// against `include`; returns the compiler's messages on failure.
fn compile(compiler: &str, std: &str, name: &str, source: &str, include: &Path) -> Result<(), String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kchan-proto-header");
    std::fs::create_dir_all(&dir).unwrap();
    let extension = if std.contains("++") { "cpp" } else { "c" };
    let file = dir.join(format!("{name}.{extension}"));
    std::fs::write(&file, source).unwrap();
    let out = Command::new(compiler)
        .args(["-fsyntax-only", &format!("-std={std}"), "-Wall", "-Wextra", "-Wpedantic", "-Werror"])
        .arg(format!("-I{}", include.display()))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{compiler} runs (cargo xtask setup installs it): {e}"));
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A program that includes the header after `windows.h` and checks its
/// values against the SDK's: each IOCTL against `CTL_CODE` with the
/// function number the driver assigns, each status against `ntstatus.h`.
fn against_the_sdk(assert: &str) -> String {
    let mut source = String::from(
        "#define WIN32_NO_STATUS\n#include <windows.h>\n#undef WIN32_NO_STATUS\n#include <ntstatus.h>\n#include <winioctl.h>\n#include <kchan.h>\n",
    );
    let codes = [
        ("IOCTL_VERSION", 0x800, "FILE_ANY_ACCESS"),
        ("IOCTL_SUBSCRIBE", 0x801, "FILE_READ_ACCESS"),
        ("IOCTL_SUBSCRIBE_WRITE_ACCESS", 0x801, "FILE_WRITE_ACCESS"),
        ("IOCTL_RECV", 0x802, "FILE_READ_ACCESS"),
        ("IOCTL_STATS", 0x803, "FILE_READ_ACCESS"),
        ("IOCTL_INJECT", 0x804, "FILE_WRITE_ACCESS"),
        ("IOCTL_GEN_START", 0x805, "FILE_WRITE_ACCESS"),
        ("IOCTL_GEN_STOP", 0x806, "FILE_WRITE_ACCESS"),
    ];
    for (name, function, access) in codes {
        writeln!(
            source,
            "{assert}(KCHAN_{name} == CTL_CODE(FILE_DEVICE_UNKNOWN, 0x{function:X}, METHOD_BUFFERED, {access}), \"{name}\");"
        )
        .unwrap();
    }
    for (_, name) in STATUS_NAMES {
        writeln!(source, "{assert}(KCHAN_{name} == (int32_t){name}, \"{name}\");").unwrap();
    }
    for name in ["FILE_DEVICE_UNKNOWN", "METHOD_BUFFERED", "FILE_ANY_ACCESS", "FILE_READ_ACCESS", "FILE_WRITE_ACCESS"] {
        writeln!(source, "{assert}(KCHAN_{name} == {name}, \"{name}\");").unwrap();
    }
    writeln!(source, "{assert}(KCHAN_MAGIC == ('K' | 'C' << 8 | 'H' << 16 | (uint32_t)'N' << 24), \"magic\");")
        .unwrap();
    // The device path opens with CreateFileA as it is.
    source.push_str("HANDLE open_kchan(void) { return CreateFileA(KCHAN_DEVICE_PATH, GENERIC_READ, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL); }\n");
    source
}

#[test]
fn the_header_compiles_as_c11_and_agrees_with_the_windows_sdk() {
    compile("x86_64-w64-mingw32-gcc", "c11", "sdk", &against_the_sdk("_Static_assert"), &include_dir()).unwrap();
    // On its own, too: it needs nothing but the C library's headers.
    compile("x86_64-w64-mingw32-gcc", "c11", "alone", "#include <kchan.h>\n", &include_dir()).unwrap();
}

#[test]
fn the_header_compiles_as_cpp11_and_agrees_with_the_windows_sdk() {
    let source = format!(
        "{}\nstatic_assert(sizeof(KCHAN_OVERFLOW_POLICY) == 4, \"enums are u32\");\n",
        against_the_sdk("static_assert")
    );
    compile("x86_64-w64-mingw32-g++", "c++11", "sdk", &source, &include_dir()).unwrap();
}

#[test]
fn a_layout_the_crate_does_not_have_stops_the_compiler() {
    // The asserts are live: the same header with one size wrong fails, and
    // the message names the structure.
    let header = generated_header();
    let right = format!("sizeof(KCHAN_RECORD_HEADER) == {RECORD_HEADER_SIZE})");
    assert!(header.contains(&right), "the header asserts {right}");
    let wrong = header.replace(&right, &format!("sizeof(KCHAN_RECORD_HEADER) == {})", RECORD_HEADER_SIZE + 8));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kchan-proto-header-wrong");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("kchan.h"), wrong).unwrap();
    let err = compile("x86_64-w64-mingw32-gcc", "c11", "wrong", "#include <kchan.h>\n", &dir)
        .expect_err("a wrong size must not compile");
    assert!(err.contains("KCHAN_RECORD_HEADER"), "{err}");
}
