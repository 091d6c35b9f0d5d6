//! `kchan driver ...`: a kchan driver's service through the Service Control
//! Manager. The service is `kchan` for kchan.sys unless `--service` names
//! another (any driver built on kchan has its own).

use crate::names::{DeviceName, DEFAULT_SERVICE};
use crate::{DriverAction, InstallArgs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
    GetLastError, ERROR_SERVICE_ALREADY_RUNNING, ERROR_SERVICE_DOES_NOT_EXIST, ERROR_SERVICE_EXISTS,
    ERROR_SERVICE_NOT_ACTIVE,
};
use windows_sys::Win32::System::Services::{
    CloseServiceHandle, ControlService, CreateServiceW, DeleteService, OpenSCManagerW, OpenServiceW,
    QueryServiceStatus, StartServiceW, SC_HANDLE, SC_MANAGER_ALL_ACCESS, SERVICE_ALL_ACCESS, SERVICE_CONTROL_STOP,
    SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL, SERVICE_KERNEL_DRIVER, SERVICE_RUNNING, SERVICE_STATUS,
    SERVICE_STOPPED,
};

/// A service-manager handle, closed on drop.
struct Handle(SC_HANDLE);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a handle we opened and nobody else closes.
        unsafe { CloseServiceHandle(self.0) };
    }
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(Some(0)).collect()
}

fn last_error() -> u32 {
    // SAFETY: no precondition.
    unsafe { GetLastError() }
}

fn os_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

fn manager() -> Result<Handle, String> {
    // SAFETY: null machine and database names mean the local defaults.
    let scm = unsafe { OpenSCManagerW(std::ptr::null(), std::ptr::null(), SC_MANAGER_ALL_ACCESS) };
    if scm.is_null() {
        return Err(os_error("cannot open the service manager (run as an administrator)"));
    }
    Ok(Handle(scm))
}

/// An open service, closed on drop, with its name for messages.
struct Service {
    handle: Handle,
    name: String,
}

fn open_service(scm: &Handle, name: &str) -> Result<Option<Service>, String> {
    let wname = wide(name);
    // SAFETY: valid manager handle and NUL-terminated name.
    let svc = unsafe { OpenServiceW(scm.0, wname.as_ptr(), SERVICE_ALL_ACCESS) };
    if svc.is_null() {
        if last_error() == ERROR_SERVICE_DOES_NOT_EXIST {
            return Ok(None);
        }
        return Err(os_error(&format!("cannot open the {name} service")));
    }
    Ok(Some(Service { handle: Handle(svc), name: name.to_string() }))
}

fn require_service(scm: &Handle, name: &str) -> Result<Service, String> {
    let install = if name == DEFAULT_SERVICE { String::new() } else { format!(" --sys FILE.sys --service {name}") };
    open_service(scm, name)?
        .ok_or_else(|| format!("the {name} service is not installed; run `kchan driver install{install}`"))
}

fn state(svc: &Service) -> Result<u32, String> {
    // SAFETY: SERVICE_STATUS is plain data.
    let mut status: SERVICE_STATUS = unsafe { std::mem::zeroed() };
    // SAFETY: valid service handle and output location.
    if unsafe { QueryServiceStatus(svc.handle.0, &mut status) } == 0 {
        return Err(os_error(&format!("cannot query the {} service", svc.name)));
    }
    Ok(status.dwCurrentState)
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

fn start(svc: &Service) -> Result<(), String> {
    // SAFETY: valid service handle; no arguments.
    if unsafe { StartServiceW(svc.handle.0, 0, std::ptr::null()) } == 0 && last_error() != ERROR_SERVICE_ALREADY_RUNNING
    {
        return Err(os_error(&format!("cannot start the {} service", svc.name)));
    }
    Ok(())
}

fn stop(svc: &Service) -> Result<(), String> {
    // SAFETY: SERVICE_STATUS is plain data.
    let mut status: SERVICE_STATUS = unsafe { std::mem::zeroed() };
    // SAFETY: valid service handle and output location.
    if unsafe { ControlService(svc.handle.0, SERVICE_CONTROL_STOP, &mut status) } == 0 {
        if last_error() == ERROR_SERVICE_NOT_ACTIVE {
            return Ok(());
        }
        return Err(os_error(&format!("cannot stop the {} service", svc.name)));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while state(svc)? != SERVICE_STOPPED {
        if Instant::now() > deadline {
            return Err(format!("the {} service did not stop within 10 s", svc.name));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Creates a demand-start kernel-driver service for `image`.
fn create(scm: &Handle, name: &str, image: &Path) -> Result<Service, String> {
    let path = image.to_string_lossy();
    let (wname, display, bin) = (wide(name), wide(&format!("kchan driver {name}")), wide(&path));
    // SAFETY: valid manager handle; every string is NUL-terminated and
    // outlives the call; the optional pointers are null.
    let svc = unsafe {
        CreateServiceW(
            scm.0,
            wname.as_ptr(),
            display.as_ptr(),
            SERVICE_ALL_ACCESS,
            SERVICE_KERNEL_DRIVER,
            SERVICE_DEMAND_START,
            SERVICE_ERROR_NORMAL,
            bin.as_ptr(),
            std::ptr::null(),
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if svc.is_null() {
        if last_error() == ERROR_SERVICE_EXISTS {
            return require_service(scm, name);
        }
        return Err(os_error(&format!("cannot create the {name} service")));
    }
    println!("service {name} created for {path}");
    Ok(Service { handle: Handle(svc), name: name.to_string() })
}

/// Runs one `kchan driver` action; `status` also opens `device`.
pub fn run(action: DriverAction, device: &DeviceName) -> Result<(), String> {
    let scm = manager()?;
    match action {
        DriverAction::Install(args) => {
            let image = image_path(args.sys.as_deref())?;
            let name = service_name(&args, &image)?;
            let svc = match open_service(&scm, &name)? {
                Some(svc) => {
                    println!("service {name} exists; starting it");
                    svc
                }
                None => create(&scm, &name, &image)?,
            };
            start(&svc)?;
            println!("{name} driver running");
        }
        DriverAction::Start(args) => {
            start(&require_service(&scm, &args.service)?)?;
            println!("{} driver running", args.service);
        }
        DriverAction::Stop(args) => {
            stop(&require_service(&scm, &args.service)?)?;
            println!("{} driver stopped", args.service);
        }
        DriverAction::Uninstall(args) => {
            let Some(svc) = open_service(&scm, &args.service)? else {
                println!("{} service not installed", args.service);
                return Ok(());
            };
            stop(&svc)?;
            // SAFETY: valid service handle.
            if unsafe { DeleteService(svc.handle.0) } == 0 {
                return Err(os_error(&format!("cannot delete the {} service", svc.name)));
            }
            println!("{} service deleted", svc.name);
        }
        DriverAction::Status(args) => {
            let svc = require_service(&scm, &args.service)?;
            let running = state(&svc)? == SERVICE_RUNNING;
            println!("service {}: {}", svc.name, if running { "running" } else { "stopped" });
            match crate::commands::open(device) {
                Ok(dev) => println!("device: {device} opens, protocol {}", dev.version().protocol_version),
                Err(e) => return Err(format!("device: {e}")),
            }
        }
    }
    Ok(())
}
