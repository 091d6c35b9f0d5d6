//! What `libkchan_c.a` asks of the driver that links it, and what a panic
//! inside it does, read from the archive itself (this crate built for
//! `x86_64-pc-windows-gnu`; the test builds it if needed):
//!
//! - every symbol it leaves undefined is exported by `ntoskrnl.exe` or
//!   `hal.dll` (mingw's import libraries): a C driver supplies nothing;
//! - its panic handler is `kchan-km`'s (which calls `KeBugCheckEx`), and the
//!   unwinding entry points prebuilt `core` refers to are kchan's own stubs,
//!   so no unwinder can be linked in and nothing unwinds into C.
//!
//! The archive is built with LTO, as xtask builds it: the Rust code is one
//! object whose internal functions are local symbols, so who calls whom is
//! read from the relocations in each function's code.
#![cfg(not(windows))]

use object::read::archive::ArchiveFile;
use object::read::coff::ImportFile;
use object::{Object, ObjectSymbol};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "x86_64-pc-windows-gnu";
const MINGW_LIB: &str = "/usr/x86_64-w64-mingw32/lib";

/// The archive, built (the `kernel` profile xtask builds it with, Windows
/// target) if it is not up to date.
fn archive() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(&root)
        .args(["build", "--quiet", "--profile", "kernel", "--target", TARGET, "-p", "kchan-c"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building kchan-c for {TARGET}");
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target_dir.join(TARGET).join("kernel/libkchan_c.a")
}

/// One symbol of an archive member.
struct Symbol {
    member: String,
    name: String,
    defined: bool,
    /// Visible only inside its member (LTO makes internal functions so).
    local: bool,
}

/// Every symbol of every object (and short import) member of `path`.
fn symbols(path: &Path) -> Vec<Symbol> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let archive = ArchiveFile::parse(&*bytes).expect("an ar archive");
    let mut out = Vec::new();
    for member in archive.members() {
        let member = member.expect("archive member");
        let name = String::from_utf8_lossy(member.name()).into_owned();
        // A copy: members sit at 2-byte offsets, COFF headers are read aligned.
        let data = member.data(&*bytes).expect("member data").to_vec();
        let data = &data[..];
        if let Ok(file) = object::File::parse(data) {
            for sym in file.symbols() {
                let Ok(sym_name) = sym.name() else { continue };
                out.push(Symbol {
                    member: name.clone(),
                    name: sym_name.to_string(),
                    defined: sym.is_definition(),
                    local: sym.is_local(),
                });
            }
        } else if let Ok(import) = ImportFile::parse(data) {
            let sym_name = String::from_utf8_lossy(import.symbol()).into_owned();
            out.push(Symbol { member: name.clone(), name: sym_name, defined: true, local: false });
        }
    }
    out
}

/// The DLL an import-library member imports from (dlltool names them
/// `hal.dlls00001.o`, `hal.dllt.o`, ...), if it is one: rustc bundles the
/// import members of the libraries kchan-km links (`hal`) into the archive.
fn import_module(member: &str) -> Option<String> {
    let lower = member.to_ascii_lowercase();
    [".dll", ".exe"].iter().find_map(|ext| lower.find(ext).map(|at| lower[..at + ext.len()].to_string()))
}

/// Whether the code of a function whose name contains `function`, defined
/// in the archive at `path`, has a relocation to a symbol whose name
/// contains `callee` (a call or jump to it). A function's code runs from
/// its symbol to the next symbol defined in its section.
fn calls(path: &Path, function: &str, callee: &str) -> bool {
    use object::{ObjectSection, RelocationTarget};
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let archive = ArchiveFile::parse(&*bytes).expect("an ar archive");
    for member in archive.members() {
        let data = member.expect("archive member").data(&*bytes).expect("member data").to_vec();
        let Ok(file) = object::File::parse(&data[..]) else { continue };
        for sym in file.symbols().filter(|s| s.is_definition() && s.name().is_ok_and(|n| n.contains(function))) {
            let Some(section_index) = sym.section_index() else { continue };
            let section = file.section_by_index(section_index).expect("the symbol's section");
            let start = sym.address();
            let end = file
                .symbols()
                .filter(|s| s.section_index() == Some(section_index) && s.is_definition() && s.address() > start)
                .map(|s| s.address())
                .min()
                .unwrap_or(section.address() + section.size());
            let hit = section.relocations().any(|(offset, reloc)| {
                let RelocationTarget::Symbol(target) = reloc.target() else { return false };
                (start..end).contains(&offset)
                    && file.symbol_by_index(target).is_ok_and(|t| t.name().is_ok_and(|n| n.contains(callee)))
            });
            if hit {
                return true;
            }
        }
    }
    false
}

/// Symbols the archive's own code defines (import members left out), with
/// their member.
fn defined(symbols: &[Symbol]) -> HashMap<&str, &str> {
    symbols
        .iter()
        .filter(|s| s.defined && import_module(&s.member).is_none())
        .map(|s| (s.name.as_str(), s.member.as_str()))
        .collect()
}

#[test]
fn everything_it_needs_comes_from_ntoskrnl_or_hal() {
    let lib = symbols(&archive());
    let kernel: BTreeSet<String> = ["libntoskrnl.a", "libhal.a"]
        .iter()
        .flat_map(|import_lib| symbols(&Path::new(MINGW_LIB).join(import_lib)))
        .filter(|s| s.defined)
        .map(|s| s.name.trim_start_matches("__imp_").to_string())
        .collect();
    let anywhere: BTreeSet<&str> = lib.iter().filter(|s| s.defined && !s.local).map(|s| s.name.as_str()).collect();
    // What the linking driver must resolve, and what the bundled import
    // members import (their `__imp_` pointers).
    let needed: BTreeSet<&str> = lib
        .iter()
        .filter(|s| !s.defined && !s.local && !anywhere.contains(s.name.as_str()))
        .map(|s| s.name.trim_start_matches("__imp_"))
        .chain(
            lib.iter()
                .filter(|s| s.defined && import_module(&s.member).is_some())
                .filter_map(|s| s.name.strip_prefix("__imp_")),
        )
        .collect();
    let missing: Vec<&&str> = needed.iter().filter(|s| !kernel.contains(**s)).collect();
    assert!(missing.is_empty(), "libkchan_c.a needs symbols neither ntoskrnl.exe nor hal.dll exports: {missing:?}");
    let bundled: BTreeSet<String> = lib.iter().filter_map(|s| import_module(&s.member)).collect();
    assert!(
        bundled.iter().all(|m| m == "hal.dll" || m == "ntoskrnl.exe"),
        "import members for other modules in the archive: {bundled:?}"
    );
    for name in ["IoCreateDevice", "IofCompleteRequest", "KeBugCheckEx", "KeQueryPerformanceCounter", "memcpy"] {
        assert!(needed.contains(name), "{name} is among what it needs: {needed:?}");
    }
}

#[test]
fn a_panic_ends_in_the_kchan_bug_check_and_nothing_can_unwind() {
    let path = archive();
    let lib = symbols(&path);
    let ours = defined(&lib);

    let handlers: Vec<(&&str, &&str)> = ours.iter().filter(|(s, _)| s.ends_with("rust_begin_unwind")).collect();
    assert_eq!(handlers.len(), 1, "one #[panic_handler]: {handlers:?}");
    assert!(
        calls(&path, "rust_begin_unwind", "8kchan_km5panic8bugcheck"),
        "the panic handler calls kchan_km::panic::bugcheck"
    );
    assert!(calls(&path, "8kchan_km5panic8bugcheck", "KeBugCheckEx"), "kchan_km::panic::bugcheck calls KeBugCheckEx");

    // Prebuilt `core` refers to these; kchan's stubs define them (the first
    // bug checks), so libgcc_eh's unwinder is never pulled in.
    for stub in ["_Unwind_Resume", "rust_eh_personality"] {
        assert!(ours.contains_key(stub), "{stub} is defined by the library itself");
    }
    let unwinders = ["_Unwind_RaiseException", "_Unwind_Backtrace", "__gcc_personality_v0", "__gxx_personality"];
    let wanted: Vec<&str> = lib
        .iter()
        .filter(|s| !s.defined && unwinders.iter().any(|u| s.name.contains(u)))
        .map(|s| s.name.as_str())
        .collect();
    assert!(wanted.is_empty(), "the library refers to an unwinder: {wanted:?}");
}
