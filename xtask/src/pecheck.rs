//! The check every built driver image must pass: a native-subsystem PE that
//! imports nothing but `ntoskrnl.exe` and `hal.dll`.
//!
//! rustc's windows-gnu target appends user-mode libraries to every link; if
//! one of them slips through, Wine still loads the driver (its drivers run in
//! a user process) but real Windows refuses it. So the check runs in every
//! build, on every `.sys`, and fails the build.

use anyhow::{bail, Context, Result};
use object::pe::IMAGE_SUBSYSTEM_NATIVE;
use object::read::pe::{ImageNtHeaders as _, PeFile64};
use object::LittleEndian as LE;
use std::path::Path;

/// Modules a kernel driver may import from.
pub const ALLOWED_IMPORTS: &[&str] = &["ntoskrnl.exe", "hal.dll"];

/// What the check found in a PE image.
#[derive(Debug, PartialEq, Eq)]
pub struct ImageFacts {
    /// The optional header's subsystem field.
    pub subsystem: u16,
    /// The DLL names in the import directory, as written in the image.
    pub imports: Vec<String>,
}

/// Reads the subsystem and imported modules of a 64-bit PE image.
pub fn image_facts(bytes: &[u8]) -> Result<ImageFacts> {
    let pe = PeFile64::parse(bytes).context("not a 64-bit PE image")?;
    let subsystem = pe.nt_headers().optional_header().subsystem.get(LE);
    let mut imports = Vec::new();
    if let Some(table) = pe.import_table()? {
        let mut descriptors = table.descriptors()?;
        while let Some(descriptor) = descriptors.next()? {
            let name = table.name(descriptor.name.get(LE))?;
            imports.push(String::from_utf8_lossy(name).into_owned());
        }
    }
    Ok(ImageFacts { subsystem, imports })
}

/// Fails unless `path` is a native-subsystem image importing only
/// [`ALLOWED_IMPORTS`]; the error names every offending module.
pub fn check_driver_image(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let facts = image_facts(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    let bad: Vec<&str> = facts
        .imports
        .iter()
        .map(String::as_str)
        .filter(|name| !ALLOWED_IMPORTS.iter().any(|ok| ok.eq_ignore_ascii_case(name)))
        .collect();
    if !bad.is_empty() {
        bail!(
            "{} imports user-mode modules ({}); a driver may import only {}. \
             Real Windows will not load it.",
            path.display(),
            bad.join(", "),
            ALLOWED_IMPORTS.join(" and ")
        );
    }
    if facts.subsystem != IMAGE_SUBSYSTEM_NATIVE {
        bail!(
            "{} has subsystem {} instead of native ({IMAGE_SUBSYSTEM_NATIVE}); link with --subsystem,native",
            path.display(),
            facts.subsystem
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The check is shown to fail on real images built by mingw: a user-mode
    //! DLL (imports msvcrt/kernel32), a native image that imports a user
    //! module, and a console-subsystem image; and to pass on a minimal
    //! native driver importing only ntoskrnl.exe.
    use super::*;
    use std::process::Command;

    fn compile(name: &str, source: &str, args: &[&str]) -> std::path::PathBuf {
        let dir = crate::target_dir().join("pecheck-tests");
        std::fs::create_dir_all(&dir).unwrap();
        let c = dir.join(format!("{name}.c"));
        let out = dir.join(format!("{name}.sys"));
        std::fs::write(&c, source).unwrap();
        let status = Command::new("x86_64-w64-mingw32-gcc")
            .arg("-o")
            .arg(&out)
            .arg(&c)
            .args(args)
            .status()
            .expect("x86_64-w64-mingw32-gcc runs (cargo xtask setup installs it)");
        assert!(status.success(), "compiling {name}");
        out
    }

    const DRIVER_ARGS: &[&str] =
        &["-nostdlib", "-nostartfiles", "-Wl,--subsystem,native", "-Wl,--entry,DriverEntry", "-shared"];

    #[test]
    fn passes_a_native_driver_that_imports_only_the_kernel() {
        let src = "void* IoGetCurrentProcess(void);\n\
                   long DriverEntry(void* d, void* r) { return IoGetCurrentProcess() == d; }\n";
        let mut args = DRIVER_ARGS.to_vec();
        args.push("-lntoskrnl");
        let sys = compile("good", src, &args);
        check_driver_image(&sys).unwrap();
        let facts = image_facts(&std::fs::read(&sys).unwrap()).unwrap();
        assert_eq!(facts.imports, vec!["ntoskrnl.exe".to_string()]);
    }

    #[test]
    fn fails_a_native_driver_that_imports_msvcrt() {
        // The real failure mode: rustc's appended user-mode libraries come first
        // on the link line and win symbol resolution.
        let src = "int puts(const char*);\n\
                   long DriverEntry(void* d, void* r) { return puts((const char*)d); }\n";
        let mut args = DRIVER_ARGS.to_vec();
        args.extend(["-lmsvcrt", "-lntoskrnl"]);
        let sys = compile("imports_msvcrt", src, &args);
        let err = check_driver_image(&sys).unwrap_err().to_string();
        assert!(err.contains("msvcrt.dll"), "{err}");
    }

    #[test]
    fn fails_a_user_mode_dll() {
        let sys = compile("user_dll", "int f(void) { return 1; }\n", &["-shared"]);
        let err = check_driver_image(&sys).unwrap_err().to_string();
        assert!(err.contains("user-mode modules"), "{err}");
        assert!(err.to_lowercase().contains("kernel32.dll"), "{err}");
    }

    #[test]
    fn fails_a_console_subsystem_image_without_imports() {
        let src = "long DriverEntry(void* d, void* r) { return 0; }\n";
        let sys = compile(
            "console",
            src,
            &["-nostdlib", "-nostartfiles", "-Wl,--subsystem,console", "-Wl,--entry,DriverEntry", "-shared"],
        );
        let err = check_driver_image(&sys).unwrap_err().to_string();
        assert!(err.contains("subsystem"), "{err}");
    }

    #[test]
    fn rejects_what_is_not_a_pe() {
        assert!(image_facts(b"MZ not really").is_err());
    }
}
