//! The `kchan` driver service in the project's Wine prefix.
//!
//! Install copies `kchan.sys` into `C:\windows\system32\drivers`, creates the
//! kernel service (`start= auto`, so a new Wine session loads it again) and
//! starts it in `winedevice.exe`. Wine's `sc` is used because it talks to the
//! Service Control Manager exactly as Windows' does.

use crate::wine::Prefix;
use anyhow::{bail, Result};
use clap::Subcommand;

/// Service name, device and file name are fixed by the design.
pub const SERVICE: &str = "kchan";
const IMAGE_PATH: &str = r"C:\windows\system32\drivers\kchan.sys";

/// What `cargo xtask driver` can do.
#[derive(Subcommand, Clone, Copy)]
pub enum Action {
    /// Build, copy kchan.sys into the prefix, create the service and start it.
    Install,
    /// Start the installed service.
    Start,
    /// Stop the service (calls DriverUnload).
    Stop,
    /// Stop and delete the service and remove kchan.sys from the prefix.
    Uninstall,
    /// Check that the service runs and that \\.\kchan opens.
    Check,
}

/// Runs one lifecycle action in a standalone Wine session.
///
/// Without a persistent wineserver, Wine stops the session (and the driver)
/// a few seconds after the last program exits; the `start= auto` service is
/// loaded again when the next session starts.
pub fn run(action: Action) -> Result<()> {
    crate::setup::run()?;
    let prefix = Prefix::ensure()?;
    match action {
        Action::Install => {
            let sys = crate::build::driver_image()?;
            install(&prefix, &sys)?;
            start(&prefix)
        }
        Action::Start => start(&prefix),
        Action::Stop => stop(&prefix),
        Action::Uninstall => uninstall(&prefix),
        Action::Check => {
            crate::build::windows_programs()?;
            check(&prefix)
        }
    }
}

/// Copies the image into the prefix and creates the service if it is new.
pub fn install(prefix: &Prefix, sys: &std::path::Path) -> Result<()> {
    let dest = prefix.system32().join("drivers/kchan.sys");
    std::fs::create_dir_all(dest.parent().expect("drivers dir"))?;
    std::fs::copy(sys, &dest)?;
    let out = prefix.wine_output(&["sc", "create", SERVICE, "type=", "kernel", "start=", "auto", "binPath=", IMAGE_PATH])?;
    // 1073 = ERROR_SERVICE_EXISTS: the service is already there, which is fine.
    if !out.status.success() && !mentions(&out, "1073") {
        bail!("sc create {SERVICE} failed: {}", text(&out));
    }
    Ok(())
}

/// Starts the service; succeeds if it is already running.
pub fn start(prefix: &Prefix) -> Result<()> {
    let out = prefix.wine_output(&["sc", "start", SERVICE])?;
    // 1056 = ERROR_SERVICE_ALREADY_RUNNING.
    if !out.status.success() && !mentions(&out, "1056") {
        bail!("sc start {SERVICE} failed: {}\n(is it installed? `cargo xtask driver install`)", text(&out));
    }
    Ok(())
}

/// Stops the service; succeeds if it is not running.
pub fn stop(prefix: &Prefix) -> Result<()> {
    let out = prefix.wine_output(&["sc", "stop", SERVICE])?;
    // 1062 = ERROR_SERVICE_NOT_ACTIVE, 1060 = ERROR_SERVICE_DOES_NOT_EXIST.
    if !out.status.success() && !mentions(&out, "1062") && !mentions(&out, "1060") {
        bail!("sc stop {SERVICE} failed: {}", text(&out));
    }
    Ok(())
}

/// Stops and deletes the service and removes the image from the prefix.
pub fn uninstall(prefix: &Prefix) -> Result<()> {
    stop(prefix)?;
    let out = prefix.wine_output(&["sc", "delete", SERVICE])?;
    if !out.status.success() && !mentions(&out, "1060") {
        bail!("sc delete {SERVICE} failed: {}", text(&out));
    }
    let _ = std::fs::remove_file(prefix.system32().join("drivers/kchan.sys"));
    Ok(())
}

/// Opens `\\.\kchan` through the `kchan` command and prints its status.
pub fn check(prefix: &Prefix) -> Result<()> {
    let exe = crate::build::cli_exe();
    let exe = exe.to_string_lossy();
    let out = prefix.wine_output(&[&exe, "driver", "status"])?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        bail!("\\\\.\\kchan does not open: {}", text(&out));
    }
    Ok(())
}

fn mentions(out: &std::process::Output, needle: &str) -> bool {
    text(out).contains(needle)
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)).trim().to_string()
}
