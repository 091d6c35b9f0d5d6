//! The `kchan` driver service in the project's Wine prefix.
//!
//! Install copies `kchan.sys` into `C:\windows\system32\drivers` and creates
//! a demand-start kernel service; start loads it into `winedevice.exe`.
//! Wine's `sc` is used because it talks to the Service Control Manager
//! exactly as Windows' does.
//!
//! A loaded driver lives as long as the prefix's wineserver. `test` and
//! `demo` run a persistent server and stop it when they end; the
//! `cargo xtask driver` commands leave it running for the programs you start
//! next (`cargo xtask wine-stop` ends it).

use crate::wine::Prefix;
use anyhow::{bail, Result};
use clap::Subcommand;
use std::time::{Duration, Instant};

/// Service name, device and file name are fixed by the design (`kchan-proto`).
pub const SERVICE: &str = kchan_proto::SERVICE_NAME;

/// Where the service's image lives in the prefix, as Windows sees it.
fn image_path() -> String {
    format!(r"C:\windows\system32\drivers\{}", kchan_proto::DRIVER_FILE)
}

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

/// Runs one lifecycle action, keeping the prefix's wineserver (and so the
/// driver) up afterwards.
pub fn run(action: Action) -> Result<()> {
    crate::setup::run()?;
    let prefix = Prefix::ensure()?;
    prefix.keep_server()?;
    eprintln!("xtask: the prefix's wineserver stays up with the driver; `cargo xtask wine-stop` ends it");
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

/// The service's state as `sc query` reports it (`RUNNING`, `STOPPED`, ...),
/// or `None` when the service does not exist. Wine's `sc` prints no error
/// codes, so every lifecycle step is decided by the state, not by messages.
pub fn state(prefix: &Prefix) -> Result<Option<String>> {
    let out = prefix.wine_output(&["sc", "query", SERVICE])?;
    if !out.status.success() {
        return Ok(None);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let state = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("STATE"))
        .and_then(|l| l.split_whitespace().last())
        .map(str::to_string);
    Ok(state)
}

/// Polls until the service reaches `want` (10 s at most).
fn wait_for(prefix: &Prefix, want: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = state(prefix)?;
        if now.as_deref() == Some(want) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("service {SERVICE} is {} after 10 s, not {want}", now.as_deref().unwrap_or("missing"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Copies the image into the prefix and creates the service if it is new.
pub fn install(prefix: &Prefix, sys: &std::path::Path) -> Result<()> {
    let dest = prefix.system32().join("drivers").join(kchan_proto::DRIVER_FILE);
    std::fs::create_dir_all(dest.parent().expect("drivers dir"))?;
    if state(prefix)?.as_deref() == Some("RUNNING") {
        // Replacing the image of a loaded driver: unload it first.
        stop(prefix)?;
    }
    std::fs::copy(sys, &dest)?;
    if state(prefix)?.is_none() {
        let out = prefix.wine_output(&[
            "sc",
            "create",
            SERVICE,
            "type=",
            "kernel",
            "start=",
            "demand",
            "binPath=",
            &image_path(),
        ])?;
        if !out.status.success() {
            bail!("sc create {SERVICE} failed: {}", text(&out));
        }
    }
    Ok(())
}

/// Starts the service and waits until it runs; succeeds if it already runs.
pub fn start(prefix: &Prefix) -> Result<()> {
    match state(prefix)?.as_deref() {
        None => bail!("the {SERVICE} service is not installed; run `cargo xtask driver install`"),
        Some("RUNNING") => return Ok(()),
        Some(_) => {}
    }
    // Wine's `sc` prints no error codes, and `sc start` of a service that
    // another program is starting at this moment fails: the state that
    // follows decides.
    let out = prefix.wine_output(&["sc", "start", SERVICE])?;
    wait_for(prefix, "RUNNING").map_err(|e| anyhow::anyhow!("{e}; sc start said: {}", text(&out)))
}

/// Stops the service (DriverUnload) and waits until it has stopped;
/// succeeds if it is not running or not installed.
pub fn stop(prefix: &Prefix) -> Result<()> {
    match state(prefix)?.as_deref() {
        None | Some("STOPPED") => return Ok(()),
        Some(_) => {}
    }
    let out = prefix.wine_output(&["sc", "stop", SERVICE])?;
    wait_for(prefix, "STOPPED").map_err(|e| anyhow::anyhow!("{e}; sc stop said: {}", text(&out)))
}

/// Stops and deletes the service and removes the image from the prefix.
pub fn uninstall(prefix: &Prefix) -> Result<()> {
    stop(prefix)?;
    if state(prefix)?.is_some() {
        let out = prefix.wine_output(&["sc", "delete", SERVICE])?;
        if !out.status.success() {
            bail!("sc delete {SERVICE} failed: {}", text(&out));
        }
    }
    let _ = std::fs::remove_file(prefix.system32().join("drivers").join(kchan_proto::DRIVER_FILE));
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

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)).trim().to_string()
}
