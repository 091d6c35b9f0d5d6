//! `kchan driver ...`: a kchan driver's service through the Service Control
//! Manager ([`kchan_service`]). The service is `kchan` for kchan.sys unless
//! `--service` names another (any driver built on kchan has its own).
//! This module decides which image and which name; the calls and their
//! messages are `kchan_service`'s.

use crate::names::{DeviceName, DEFAULT_SERVICE};
use crate::{DriverAction, InstallArgs};
use kchan_service::{Error, Service, ServiceManager, State};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long `stop` and `uninstall` wait for the driver to unload.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The service `name`, or a message with the command that installs it.
fn require_service(scm: &ServiceManager, name: &str) -> Result<Service, String> {
    scm.existing(name).map_err(|e| match e {
        Error::NotInstalled { .. } => {
            let install =
                if name == DEFAULT_SERVICE { String::new() } else { format!(" --sys FILE.sys --service {name}") };
            format!("{e}; run `kchan driver install{install}`")
        }
        e => e.to_string(),
    })
}

/// The image to install: `--sys` made absolute (the service manager needs a
/// full path), else kchan.sys next to this program, else in system32\drivers.
fn image_path(sys: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(sys) = sys {
        let path = std::path::absolute(sys).map_err(|e| format!("{}: {e}", sys.display()))?;
        if !path.is_file() {
            return Err(format!("no driver image at {}", path.display()));
        }
        return Ok(path);
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let beside = exe.with_file_name(kchan::proto::DRIVER_FILE);
    if beside.exists() {
        return Ok(beside);
    }
    let windir = std::env::var("SystemRoot").unwrap_or_else(|_| r"C:\windows".into());
    let installed = PathBuf::from(format!(r"{windir}\system32\drivers\kchan.sys"));
    if installed.exists() {
        return Ok(installed);
    }
    Err(format!(
        "kchan.sys is neither next to {} nor in {windir}\\system32\\drivers; copy it there or give --sys FILE.sys",
        exe.display()
    ))
}

/// The service name for an image: `--service`, else the file name without
/// its extension.
fn service_name(args: &InstallArgs, image: &Path) -> Result<String, String> {
    if let Some(name) = &args.service {
        return Ok(name.clone());
    }
    let stem = image.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    crate::names::parse_service(stem)
        .map_err(|_| format!("cannot name a service after {}; give --service NAME", image.display()))
}

/// Runs one `kchan driver` action; `status` also opens `device`.
pub fn run(action: DriverAction, device: &DeviceName) -> Result<(), String> {
    let scm = ServiceManager::open().map_err(|e| e.to_string())?;
    match action {
        DriverAction::Install(args) => {
            let image = image_path(args.sys.as_deref())?;
            let name = service_name(&args, &image)?;
            let installed =
                scm.install_kernel_driver(&name, &format!("kchan driver {name}"), &image).map_err(|e| e.to_string())?;
            if installed.created {
                println!("service {name} created for {}", image.to_string_lossy());
            } else {
                println!("service {name} exists; starting it");
            }
            installed.service.start().map_err(|e| e.to_string())?;
            println!("{name} driver running");
        }
        DriverAction::Start(args) => {
            require_service(&scm, &args.service)?.start().map_err(|e| e.to_string())?;
            println!("{} driver running", args.service);
        }
        DriverAction::Stop(args) => {
            require_service(&scm, &args.service)?.stop(STOP_TIMEOUT).map_err(|e| e.to_string())?;
            println!("{} driver stopped", args.service);
        }
        DriverAction::Uninstall(args) => {
            let Some(svc) = scm.service(&args.service).map_err(|e| e.to_string())? else {
                println!("{} service not installed", args.service);
                return Ok(());
            };
            svc.stop(STOP_TIMEOUT).map_err(|e| e.to_string())?;
            svc.delete().map_err(|e| e.to_string())?;
            println!("{} service deleted", args.service);
        }
        DriverAction::Status(args) => {
            let svc = require_service(&scm, &args.service)?;
            let running = svc.state().map_err(|e| e.to_string())? == State::Running;
            println!("service {}: {}", svc.name(), if running { "running" } else { "stopped" });
            match crate::commands::open(device) {
                Ok(dev) => println!("device: {device} opens, protocol {}", dev.version().protocol_version),
                Err(e) => return Err(format!("device: {e}")),
            }
        }
    }
    Ok(())
}
