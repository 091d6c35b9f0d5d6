//! Builds: the native crates, the driver image and the Windows programs.
//!
//! Windows artifacts are built in release mode (one build shared by `test`,
//! `demo` and `bench`). Every `.sys` produced is checked by
//! [`crate::pecheck`]; a failing check fails the build.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;

/// Where the Windows release artifacts land.
pub fn windows_release_dir() -> PathBuf {
    crate::target_dir().join(crate::WINDOWS_TARGET).join("release")
}

/// The driver image, after [`driver_image`] has built it.
pub fn sys_path() -> PathBuf {
    windows_release_dir().join("kchan.sys")
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
    let mut native = cargo();
    native.args(["build", "--quiet"]);
    run(native, "native build")?;
    let sys = driver_image()?;
    windows_programs()?;
    Ok(sys)
}

/// Builds `kchan.sys` and checks every driver image in the release dir.
pub fn driver_image() -> Result<PathBuf> {
    let mut cmd = cargo();
    cmd.args(["build", "--quiet", "--release", "--target", crate::WINDOWS_TARGET, "-p", "kchan-sys"]);
    run(cmd, "driver build")?;
    let dll = windows_release_dir().join("kchan_sys.dll");
    let sys = sys_path();
    std::fs::copy(&dll, &sys).with_context(|| format!("copying {} to {}", dll.display(), sys.display()))?;
    check_all_sys()?;
    Ok(sys)
}

/// Builds the Windows user-mode programs (the `kchan` command, `kchan-bench`).
pub fn windows_programs() -> Result<()> {
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--quiet",
        "--release",
        "--target",
        crate::WINDOWS_TARGET,
        "-p",
        "kchan-cli",
        "-p",
        "kchan-bench",
    ]);
    run(cmd, "Windows programs build")?;
    // The client library's examples: the e2e tests run them.
    let mut cmd = cargo();
    cmd.args(["build", "--quiet", "--release", "--target", crate::WINDOWS_TARGET, "-p", "kchan", "--examples"]);
    run(cmd, "client examples build")
}

/// Runs the image check on every `.sys` in the Windows release directory.
fn check_all_sys() -> Result<()> {
    for entry in std::fs::read_dir(windows_release_dir())? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "sys") {
            crate::pecheck::check_driver_image(&path)?;
        }
    }
    Ok(())
}
