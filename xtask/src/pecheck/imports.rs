//! Imports a kernel driver may have: modules, names, and how old the names are.
//!
//! - Modules: only `ntoskrnl.exe` and `hal.dll` are loaded into the kernel
//!   for a driver to link against. rustc's windows-gnu target appends
//!   user-mode libraries to every link; if one slips through, Wine still
//!   loads the driver (its drivers run in a user process) but Windows
//!   refuses it.
//! - Names: each imported name must be one the module exports. The source
//!   of truth here is mingw's import libraries (`libntoskrnl.a`,
//!   `libhal.a`): the names in them are the modules' export lists.
//! - Age: kchan supports Windows 10 1809 and later. A name is dated by
//!   mingw's DDK headers, which declare functions under
//!   `NTDDI_VERSION >= ...` guards: declared with `NTDDI_VERSION` at 1809
//!   is old enough; declared only at a later version is too new (an error);
//!   not declared at all is *undated* and listed for a person to look up.
//!   mingw's headers carry guards up to Windows 8.1, so a name newer than
//!   that shows up as undated, never silently as old enough.

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Modules a kernel driver may import from, with mingw's import library of each.
pub const ALLOWED_MODULES: &[(&str, &str)] = &[("ntoskrnl.exe", "libntoskrnl.a"), ("hal.dll", "libhal.a")];

/// `NTDDI_WIN10_RS5`: Windows 10 1809, the oldest Windows kchan supports.
pub const NTDDI_MINIMUM: u32 = 0x0A00_0006;
/// `NTDDI_WIN10_CO` (Windows 11 21H2): the newest version mingw's
/// `sdkddkver.h` names.
const NTDDI_NEWEST: u32 = 0x0A00_000B;

/// The mingw C compiler (also the linker driver and the header source).
pub const MINGW_CC: &str = "x86_64-w64-mingw32-gcc";

/// Whether `module` is one a driver may import from.
pub fn allowed_module(module: &str) -> bool {
    ALLOWED_MODULES.iter().any(|(ok, _)| ok.eq_ignore_ascii_case(module))
}

/// The names `module` exports, read from mingw's import library for it.
pub fn exports_of(module: &str) -> Result<BTreeSet<String>> {
    let (_, lib) = ALLOWED_MODULES
        .iter()
        .find(|(m, _)| m.eq_ignore_ascii_case(module))
        .with_context(|| format!("{module} is not a kernel module"))?;
    let path = mingw_file(lib)?;
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let archive = object::read::archive::ArchiveFile::parse(&*bytes)
        .with_context(|| format!("{} is not an ar archive", path.display()))?;
    let mut names = BTreeSet::new();
    // Each imported function or variable has an `__imp_<name>` pointer.
    for symbol in archive.symbols()?.context("import library without a symbol index")? {
        let symbol = symbol?;
        if let Some(name) = symbol.name().strip_prefix(b"__imp_") {
            names.insert(String::from_utf8_lossy(name).into_owned());
        }
    }
    if names.is_empty() {
        bail!("no exports found in {}", path.display());
    }
    Ok(names)
}

/// A file of mingw's, as its compiler finds it (`-print-file-name`).
fn mingw_file(name: &str) -> Result<PathBuf> {
    let out = Command::new(MINGW_CC)
        .arg(format!("-print-file-name={name}"))
        .output()
        .with_context(|| format!("running {MINGW_CC} (run `cargo xtask setup`)"))?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !path.is_absolute() || !path.exists() {
        bail!("{MINGW_CC} does not know {name}");
    }
    Ok(path.canonicalize()?)
}

/// How old imported names are, as far as mingw's DDK headers tell.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Dating {
    /// Declared only for a Windows newer than the minimum.
    pub too_new: Vec<String>,
    /// Declared for no Windows version the headers know.
    pub undated: Vec<String>,
}

/// Dates `names` against `minimum` (an `NTDDI_VERSION` value).
pub fn date(names: &[String], minimum: u32) -> Result<Dating> {
    let missing_at_minimum = undeclared(names, minimum)?;
    let missing_at_newest = undeclared(&missing_at_minimum, NTDDI_NEWEST)?;
    let too_new = missing_at_minimum.iter().filter(|n| !missing_at_newest.contains(n)).cloned().collect();
    Ok(Dating { too_new, undated: missing_at_newest })
}

/// The names of `names` that mingw's DDK headers do not declare when
/// compiled for `ntddi`. One probe compilation; gcc names every
/// undeclared identifier in its errors.
fn undeclared(names: &[String], ntddi: u32) -> Result<Vec<String>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let dir = crate::target_dir().join("pecheck-probe");
    std::fs::create_dir_all(&dir)?;
    // One file per probe: tests probe from several threads of one process.
    static PROBES: AtomicUsize = AtomicUsize::new(0);
    let probe = PROBES.fetch_add(1, Ordering::Relaxed);
    let src = dir.join(format!("date-{ntddi:08x}-{}-{probe}.c", std::process::id()));
    // Inside a function: the address of an imported variable is no constant.
    let mut c = String::from("#include <ntddk.h>\n#include <string.h>\nvoid kchan_probe(void **out) {\n");
    for (i, name) in names.iter().enumerate() {
        // Names that are not C identifiers (ordinals) cannot be dated.
        if name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            c.push_str(&format!("    out[{i}] = (void *)&{name};\n"));
        }
    }
    c.push_str("}\n");
    std::fs::write(&src, c)?;
    let out = Command::new(MINGW_CC)
        .args(["-fsyntax-only", "-w", "-fmax-errors=0"])
        .arg(format!("-D_WIN32_WINNT=0x{:04X}", ntddi >> 16))
        .arg(format!("-DNTDDI_VERSION=0x{ntddi:08X}"))
        .args(["-I/usr/x86_64-w64-mingw32/include/ddk", "-I/usr/share/mingw-w64/include/ddk"])
        .arg(&src)
        .output()
        .with_context(|| format!("running {MINGW_CC}"))?;
    let _ = std::fs::remove_file(&src);
    let errors = String::from_utf8_lossy(&out.stderr);
    let missing: BTreeSet<&str> =
        errors.lines().filter(|l| l.contains("undeclared")).filter_map(|l| l.split(['\'', '‘', '’']).nth(1)).collect();
    if !out.status.success() && missing.is_empty() {
        bail!("the header probe failed for another reason:\n{errors}");
    }
    Ok(names.iter().filter(|n| missing.contains(n.as_str()) || n.starts_with('#')).cloned().collect())
}

/// What is wrong with an image's imports: user-mode modules, and names the
/// kernel modules do not export. Empty when all is well.
pub fn problems(imports: &[(String, Vec<String>)]) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let bad: Vec<&str> = imports.iter().map(|(m, _)| m.as_str()).filter(|m| !allowed_module(m)).collect();
    if !bad.is_empty() {
        problems.push(format!(
            "imports user-mode modules ({}); a driver may import only {}",
            bad.join(", "),
            ALLOWED_MODULES.iter().map(|(m, _)| *m).collect::<Vec<_>>().join(" and ")
        ));
    }
    let mut exports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, names) in imports.iter().filter(|(m, _)| allowed_module(m)) {
        let key = module.to_ascii_lowercase();
        if !exports.contains_key(&key) {
            exports.insert(key.clone(), exports_of(module)?);
        }
        let unknown: Vec<&str> = names.iter().map(String::as_str).filter(|n| !exports[&key].contains(*n)).collect();
        if !unknown.is_empty() {
            problems.push(format!("imports names {module} does not export: {}", unknown.join(", ")));
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_import_libraries_list_what_ntoskrnl_and_hal_export() {
        let nt = exports_of("ntoskrnl.exe").unwrap();
        for name in ["IoCreateDevice", "IofCompleteRequest", "ExAllocatePoolWithTag", "KeDelayExecutionThread"] {
            assert!(nt.contains(name), "{name}");
        }
        assert!(!nt.contains("CreateFileW"));
        let hal = exports_of("HAL.dll").unwrap();
        assert!(hal.contains("KeQueryPerformanceCounter") && hal.contains("KeStallExecutionProcessor"));
    }

    #[test]
    fn names_are_dated_by_the_headers_version_guards() {
        // KeQueryActiveProcessorCountEx is declared from Windows 7 on.
        let names = vec!["KeQueryActiveProcessorCountEx".to_string(), "IoCreateDevice".to_string()];
        const NTDDI_VISTA: u32 = 0x0600_0000;
        let vista = date(&names, NTDDI_VISTA).unwrap();
        assert_eq!(vista.too_new, vec!["KeQueryActiveProcessorCountEx".to_string()]);
        assert!(vista.undated.is_empty());
        assert_eq!(date(&names, NTDDI_MINIMUM).unwrap(), Dating::default());
        let unknown = date(&["KchanNoSuchFunction".to_string()], NTDDI_MINIMUM).unwrap();
        assert_eq!(unknown.undated, vec!["KchanNoSuchFunction".to_string()]);
    }

    #[test]
    fn images_are_dated_from_several_threads_at_once() {
        // `cargo test` checks several images at once in one process.
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| date(&["IoCreateDevice".to_string()], NTDDI_MINIMUM).map_err(|e| e.to_string()))
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), Ok(Dating::default()));
        }
    }
}
