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
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use std::time::{Duration, Instant};

/// Service name, device and file name are fixed by the design (`kchan-proto`).
pub const SERVICE: &str = kchan_proto::SERVICE_NAME;

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
    service_state(prefix, SERVICE)
}

/// [`state`] of any service.
pub fn service_state(prefix: &Prefix, service: &str) -> Result<Option<String>> {
    let out = prefix.wine_output(&["sc", "query", service])?;
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

/// Polls until `service` reaches `want` (10 s at most).
fn wait_for(prefix: &Prefix, service: &str, want: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = service_state(prefix, service)?;
        if now.as_deref() == Some(want) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("service {service} is {} after 10 s, not {want}", now.as_deref().unwrap_or("missing"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Copies `kchan.sys` into the prefix and creates the `kchan` service if it is new.
pub fn install(prefix: &Prefix, sys: &std::path::Path) -> Result<()> {
    install_service(prefix, sys, SERVICE)
}

/// Copies the image `sys` into the prefix's `drivers` folder (same file
/// name) and creates the demand-start kernel service `service` for it if
/// it is new. A running service is stopped first (its image is replaced).
pub fn install_service(prefix: &Prefix, sys: &std::path::Path, service: &str) -> Result<()> {
    let file = sys.file_name().and_then(|f| f.to_str()).context("driver image file name")?;
    let dest = prefix.system32().join("drivers").join(file);
    std::fs::create_dir_all(dest.parent().expect("drivers dir"))?;
    if service_state(prefix, service)?.as_deref() == Some("RUNNING") {
        // Replacing the image of a loaded driver: unload it first.
        stop_service(prefix, service)?;
    }
    std::fs::copy(sys, &dest)?;
    if service_state(prefix, service)?.is_none() {
        let image_path = format!(r"C:\windows\system32\drivers\{file}");
        let out = prefix.wine_output(&[
            "sc",
            "create",
            service,
            "type=",
            "kernel",
            "start=",
            "demand",
            "binPath=",
            &image_path,
        ])?;
        if !out.status.success() {
            bail!("sc create {service} failed: {}", text(&out));
        }
    }
    Ok(())
}

/// Starts the `kchan` service and waits until it runs.
pub fn start(prefix: &Prefix) -> Result<()> {
    start_service(prefix, SERVICE)
}

/// Starts `service` and waits until it runs; succeeds if it already runs.
pub fn start_service(prefix: &Prefix, service: &str) -> Result<()> {
    match service_state(prefix, service)?.as_deref() {
        None => bail!("the {service} service is not installed; run `cargo xtask driver install`"),
        Some("RUNNING") => return Ok(()),
        Some(_) => {}
    }
    // Wine's `sc` prints no error codes, and `sc start` of a service that
    // another program is starting at this moment fails: the state that
    // follows decides.
    let out = prefix.wine_output(&["sc", "start", service])?;
    wait_for(prefix, service, "RUNNING").map_err(|e| anyhow::anyhow!("{e}; sc start said: {}", text(&out)))
}

/// Stops the `kchan` service and waits until it has stopped.
pub fn stop(prefix: &Prefix) -> Result<()> {
    stop_service(prefix, SERVICE)
}

/// Stops `service` (DriverUnload) and waits until it has stopped;
/// succeeds if it is not running or not installed.
pub fn stop_service(prefix: &Prefix, service: &str) -> Result<()> {
    match service_state(prefix, service)?.as_deref() {
        None | Some("STOPPED") => return Ok(()),
        Some(_) => {}
    }
    let out = prefix.wine_output(&["sc", "stop", service])?;
    wait_for(prefix, service, "STOPPED").map_err(|e| anyhow::anyhow!("{e}; sc stop said: {}", text(&out)))
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
