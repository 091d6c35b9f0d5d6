//! The checks every driver image must pass, for what Windows enforces and
//! Wine does not, and for what a driver should not carry.
//!
//! Under Wine a driver runs inside an ordinary process (`winedevice.exe`):
//! unsigned images load, imports Windows lacks may resolve, the stack is
//! megabytes and nothing is checked about the image's layout. Windows'
//! loader and code integrity are stricter, so each `.sys` the build makes is
//! checked here, and a failing check fails the build:
//!
//! - [`imports`]: only `ntoskrnl.exe` and `hal.dll`, only names they
//!   export, none newer than Windows 10 1809;
//! - a native-subsystem image; no section both writable and executable;
//!   section alignment 0x1000; `NX_COMPAT` and `DYNAMIC_BASE`; no TLS
//!   directory (the kernel loader does not run TLS callbacks);
//! - [`checksum`]: present and correct, as Windows requires for drivers;
//! - [`stack`]: no frame over 4 KiB and no stack probe; the deepest chain
//!   from the dispatch routines against the 24 KiB kernel stack;
//! - [`floats`]: none of `core`'s float formatting or parsing.
//!
//! User-mode programs linked with mingw (the C client example) get one
//! check of their own, [`program`]: they import only DLLs of Windows.

pub mod checksum;
pub mod floats;
mod image;
pub mod imports;
pub mod program;
pub mod stack;
#[cfg(test)]
mod tests;

use anyhow::{bail, Context, Result};
pub use image::{image_facts, ImageFacts};
use object::pe::{
    IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE, IMAGE_DLLCHARACTERISTICS_NX_COMPAT, IMAGE_SCN_MEM_EXECUTE,
    IMAGE_SCN_MEM_WRITE, IMAGE_SUBSYSTEM_NATIVE,
};
use std::path::Path;

/// The section alignment Windows requires of kernel images (one page).
pub const SECTION_ALIGNMENT: u32 = 0x1000;

/// What the checks found in one image.
#[derive(Debug, Default)]
pub struct Report {
    /// Each way the image would fail on Windows; empty when it passes.
    pub problems: Vec<String>,
    /// Facts worth showing: stack figures, undated imports.
    pub notes: Vec<String>,
}

/// Runs every check on the image at `path`.
pub fn inspect(path: &Path) -> Result<Report> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let facts = image_facts(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    let mut report = Report { problems: imports::problems(&facts.imports)?, notes: Vec::new() };
    header_problems(&facts, &mut report.problems);
    date_imports(&facts, &mut report)?;
    let code = stack::StackReport::of(path)?;
    if code.functions.is_empty() {
        report.notes.push("no symbols: stack use and float code not analysed".into());
    } else {
        stack_checks(&code, &mut report);
        float_check(&code, &mut report);
    }
    Ok(report)
}

/// Runs every check and fails with all the problems found; returns the
/// report (its notes) when the image passes.
pub fn check_driver_image(path: &Path) -> Result<Report> {
    let report = inspect(path)?;
    if !report.problems.is_empty() {
        bail!("{} fails the driver image checks:\n  - {}", path.display(), report.problems.join("\n  - "));
    }
    Ok(report)
}

fn header_problems(facts: &ImageFacts, problems: &mut Vec<String>) {
    if facts.subsystem != IMAGE_SUBSYSTEM_NATIVE {
        problems.push(format!(
            "subsystem {} instead of native ({IMAGE_SUBSYSTEM_NATIVE}); link with --subsystem,native",
            facts.subsystem
        ));
    }
    let wx = IMAGE_SCN_MEM_WRITE | IMAGE_SCN_MEM_EXECUTE;
    for s in facts.sections.iter().filter(|s| s.characteristics & wx == wx) {
        problems.push(format!("section {} is both writable and executable (HVCI refuses such images)", s.name));
    }
    if facts.section_alignment != SECTION_ALIGNMENT {
        problems.push(format!(
            "section alignment {:#x} instead of {SECTION_ALIGNMENT:#x}; link with --section-alignment,0x1000",
            facts.section_alignment
        ));
    }
    for (flag, name, option) in [
        (IMAGE_DLLCHARACTERISTICS_NX_COMPAT, "NX_COMPAT", "--nxcompat"),
        (IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE, "DYNAMIC_BASE", "--dynamicbase"),
    ] {
        if facts.dll_characteristics & flag == 0 {
            problems.push(format!("{name} is not set; link with {option}"));
        }
    }
    if facts.has_tls {
        problems.push("has a TLS directory; the kernel loader runs no TLS callbacks and sets up no TLS".into());
    }
    if facts.stored_checksum == 0 {
        problems.push(format!(
            "PE checksum is 0 (it should be {:#x}); Windows refuses drivers without one",
            facts.computed_checksum
        ));
    } else if facts.stored_checksum != facts.computed_checksum {
        problems.push(format!(
            "PE checksum {:#x} does not match the file ({:#x})",
            facts.stored_checksum, facts.computed_checksum
        ));
    }
}

fn date_imports(facts: &ImageFacts, report: &mut Report) -> Result<()> {
    let names: Vec<String> = facts
        .imports
        .iter()
        .filter(|(m, _)| imports::allowed_module(m))
        .flat_map(|(_, names)| names.iter().cloned())
        .collect();
    let dating = imports::date(&names, imports::NTDDI_MINIMUM)?;
    if !dating.too_new.is_empty() {
        report.problems.push(format!(
            "imports names newer than Windows 10 1809 (the oldest supported): {}",
            dating.too_new.join(", ")
        ));
    }
    if !dating.undated.is_empty() {
        report.notes.push(format!(
            "imports not declared by mingw's DDK headers, so not dated (look them up): {}",
            dating.undated.join(", ")
        ));
    }
    Ok(())
}

fn float_check(code: &stack::StackReport, report: &mut Report) {
    let found = floats::float_functions(code.functions.keys().map(String::as_str));
    if !found.is_empty() {
        report.problems.push(floats::problem(&found));
    }
}

fn stack_checks(stack: &stack::StackReport, report: &mut Report) {
    for f in stack.probing() {
        report
            .problems
            .push(format!("{} calls a stack probe (___chkstk_ms/__chkstk) or sizes its frame at run time", f.name));
    }
    for f in stack.functions.values().filter(|f| f.frame > stack::MAX_FRAME) {
        report.problems.push(format!("{} has a {} B stack frame (at most {} B)", f.name, f.frame, stack::MAX_FRAME));
    }
    let largest: Vec<String> = stack.largest(5).iter().map(|f| format!("{} B {}", f.frame, f.name)).collect();
    report.notes.push(format!("largest frames: {}", largest.join("; ")));
    let roots = stack.named("dispatch");
    let deepest = roots.iter().map(|r| stack.deepest_from(r)).max_by_key(|c| c.bytes);
    match deepest {
        Some(chain) => {
            let indirect: u32 =
                chain.path.iter().filter_map(|n| stack.functions.get(n)).map(|f| f.indirect_calls).sum();
            report.notes.push(format!(
                "deepest direct call chain from dispatch: {} B of the {} B kernel stack ({} indirect calls on it not \
                 followed): {}",
                chain.bytes,
                stack::KERNEL_STACK,
                indirect,
                chain.path.join(" -> ")
            ));
            if chain.bytes > stack::KERNEL_STACK {
                report.problems.push(format!(
                    "the call chain {} takes {} B, over the {} B kernel stack",
                    chain.path.join(" -> "),
                    chain.bytes,
                    stack::KERNEL_STACK
                ));
            }
        }
        None => report.notes.push("no function named *dispatch*: no call chain measured".into()),
    }
    let recursive = stack.recursive();
    if !recursive.is_empty() {
        report.notes.push(format!("recursive (depth not bounded statically): {}", recursive.join(", ")));
    }
}
