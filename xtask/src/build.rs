//! Builds: the native crates, the driver image and the Windows programs.
//!
//! Windows artifacts are built in release mode (one build shared by `test`,
//! `demo`, `bench` and `package`). Every driver image ([`DRIVER_IMAGES`])
//! gets its PE checksum and is checked by [`crate::pecheck`]; a failing
//! check fails the build. Cargo's own progress is shown: a first build takes
//! minutes.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the Windows release artifacts land.
pub fn windows_release_dir() -> PathBuf {
    crate::target_dir().join(crate::WINDOWS_TARGET).join("release")
}

/// Every driver image the build makes: (the package that builds it, the
/// file cargo writes, the `.sys` it is installed as). The image checks, the
/// package and the harness take the list from here.
pub const DRIVER_IMAGES: &[(&str, &str, &str)] = &[("kchan-sys", "kchan_sys.dll", kchan_proto::DRIVER_FILE)];

/// The driver image, after [`driver_image`] has built it.
pub fn sys_path() -> PathBuf {
    windows_release_dir().join(kchan_proto::DRIVER_FILE)
}

/// The `kchan` command built for Windows.
pub fn cli_exe() -> PathBuf {
    windows_release_dir().join("kchan.exe")
}

/// A `cargo` command (the one running xtask).
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(crate::workspace_root());
    cmd
}

/// Runs a prepared command and fails with its description on a non-zero exit.
pub fn run(mut cmd: Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Builds everything: native default members, the driver (checked), and the
/// Windows programs.
pub fn all() -> Result<PathBuf> {
    eprintln!("xtask: building the native crates, kchan.sys and the Windows programs (the first build takes minutes)");
    let mut native = cargo();
    native.args(["build"]);
    run(native, "native build")?;
    let sys = driver_image()?;
    windows_programs()?;
    Ok(sys)
}

/// Builds every driver image, gives each its `.sys` name and checksum, and
/// checks it; returns the path of `kchan.sys`.
pub fn driver_image() -> Result<PathBuf> {
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--target", crate::WINDOWS_TARGET]);
    for (package, _, _) in DRIVER_IMAGES {
        cmd.args(["-p", package]);
    }
    run(cmd, "driver build")?;
    for (_, built, sys) in DRIVER_IMAGES {
        let (built, sys) = (windows_release_dir().join(built), windows_release_dir().join(sys));
        std::fs::copy(&built, &sys).with_context(|| format!("copying {} to {}", built.display(), sys.display()))?;
        finish_image(&sys)?;
    }
    Ok(sys_path())
}

/// Writes the PE checksum if the linker left it 0 (GNU ld may), then runs
/// the image checks and prints their figures.
pub fn finish_image(sys: &Path) -> Result<()> {
    let bytes = std::fs::read(sys)?;
    if crate::pecheck::image_facts(&bytes)?.stored_checksum == 0 {
        crate::pecheck::checksum::fix(sys)?;
    }
    let report = crate::pecheck::check_driver_image(sys)?;
    eprintln!("xtask: {}: image checks passed", sys.display());
    for note in &report.notes {
        eprintln!("xtask:   {note}");
    }
    Ok(())
}

/// Builds the Windows user-mode programs (the `kchan` command, `kchan-bench`).
pub fn windows_programs() -> Result<()> {
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--target", crate::WINDOWS_TARGET, "-p", "kchan-cli", "-p", "kchan-bench"]);
    run(cmd, "Windows programs build")?;
    // The client library's examples: the e2e tests run them.
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--target", crate::WINDOWS_TARGET, "-p", "kchan", "--examples"]);
    run(cmd, "client examples build")
}
