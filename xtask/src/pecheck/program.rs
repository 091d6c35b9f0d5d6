//! The check for a user-mode program the build makes (the C client
//! example, which the build checks; every program the Windows package
//! ships, which the package checks): it must start on a Windows with
//! nothing installed, so it may import only DLLs that are part of Windows,
//! never mingw's runtime DLLs (`libgcc_s_seh-1.dll`,
//! `libwinpthread-1.dll`, ...), which exist only where mingw is.

use super::image_facts;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// DLLs of Windows (10 and later) that the project's programs import:
/// mingw's C runtime (`msvcrt.dll`) and what Rust's std and windows-sys
/// link. Compared without regard to case, as the loader does; a program
/// that needs another one adds it here.
pub const SYSTEM_DLLS: &[&str] = &[
    "kernel32.dll",
    "ntdll.dll",
    "msvcrt.dll",
    "advapi32.dll",
    "userenv.dll",
    "ws2_32.dll",
    "bcryptprimitives.dll",
    "api-ms-win-core-synch-l1-2-0.dll",
];

/// The imported modules of the program at `path` that Windows lacks.
pub fn foreign_imports(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let facts = image_facts(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    Ok(facts
        .modules()
        .into_iter()
        .filter(|m| !SYSTEM_DLLS.iter().any(|s| s.eq_ignore_ascii_case(m)))
        .map(str::to_string)
        .collect())
}

/// Fails if the program at `path` imports a DLL that is not part of Windows.
pub fn check_user_program(path: &Path) -> Result<()> {
    let foreign = foreign_imports(path)?;
    if !foreign.is_empty() {
        bail!("{} imports DLLs that are not part of Windows: {}", path.display(), foreign.join(", "));
    }
    Ok(())
}
