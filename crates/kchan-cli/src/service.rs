//! `kchan driver ...`: the kchan service through the Service Control Manager.

use crate::DriverAction;
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

const SERVICE: &str = "kchan";

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

fn open_service(scm: &Handle) -> Result<Option<Handle>, String> {
    let name = wide(SERVICE);
    // SAFETY: valid manager handle and NUL-terminated name.
    let svc = unsafe { OpenServiceW(scm.0, name.as_ptr(), SERVICE_ALL_ACCESS) };
    if svc.is_null() {
        if last_error() == ERROR_SERVICE_DOES_NOT_EXIST {
            return Ok(None);
        }
        return Err(os_error("cannot open the kchan service"));
    }
    Ok(Some(Handle(svc)))
}

fn require_service(scm: &Handle) -> Result<Handle, String> {
    open_service(scm)?.ok_or_else(|| "the kchan service is not installed; run `kchan driver install`".to_string())
}

fn state(svc: &Handle) -> Result<u32, String> {
    // SAFETY: SERVICE_STATUS is plain data.
    let mut status: SERVICE_STATUS = unsafe { std::mem::zeroed() };
    // SAFETY: valid service handle and output location.
    if unsafe { QueryServiceStatus(svc.0, &mut status) } == 0 {
        return Err(os_error("cannot query the kchan service"));
    }
    Ok(status.dwCurrentState)
}

/// Where kchan.sys is: next to this program, else in system32\drivers.
fn image_path() -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let beside = exe.with_file_name("kchan.sys");
    if beside.exists() {
        return Ok(beside.to_string_lossy().into_owned());
    }
    let windir = std::env::var("SystemRoot").unwrap_or_else(|_| r"C:\windows".into());
    let installed = format!(r"{windir}\system32\drivers\kchan.sys");
    if std::path::Path::new(&installed).exists() {
        return Ok(installed);
    }
    Err(format!("kchan.sys is neither next to {} nor in {windir}\\system32\\drivers; copy it there", exe.display()))
}

fn start(svc: &Handle) -> Result<(), String> {
    // SAFETY: valid service handle; no arguments.
    if unsafe { StartServiceW(svc.0, 0, std::ptr::null()) } == 0 && last_error() != ERROR_SERVICE_ALREADY_RUNNING {
        return Err(os_error("cannot start the kchan service"));
    }
    Ok(())
}

fn stop(svc: &Handle) -> Result<(), String> {
    // SAFETY: SERVICE_STATUS is plain data.
    let mut status: SERVICE_STATUS = unsafe { std::mem::zeroed() };
    // SAFETY: valid service handle and output location.
    if unsafe { ControlService(svc.0, SERVICE_CONTROL_STOP, &mut status) } == 0 {
        if last_error() == ERROR_SERVICE_NOT_ACTIVE {
            return Ok(());
        }
        return Err(os_error("cannot stop the kchan service"));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while state(svc)? != SERVICE_STOPPED {
        if Instant::now() > deadline {
            return Err("the kchan service did not stop within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Runs one `kchan driver` action.
pub fn run(action: DriverAction) -> Result<(), String> {
    let scm = manager()?;
    match action {
        DriverAction::Install => {
            let svc = match open_service(&scm)? {
                Some(svc) => svc,
                None => {
                    let path = image_path()?;
                    let (name, display, bin) = (wide(SERVICE), wide("kchan event channel"), wide(&path));
                    // SAFETY: valid manager handle; every string is NUL-terminated
                    // and outlives the call; the optional pointers are null.
                    let svc = unsafe {
                        CreateServiceW(
                            scm.0,
                            name.as_ptr(),
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
                    if svc.is_null() && last_error() != ERROR_SERVICE_EXISTS {
                        return Err(os_error("cannot create the kchan service"));
                    }
                    println!("service kchan created for {path}");
                    Handle(svc)
                }
            };
            start(&svc)?;
            println!("kchan driver running");
        }
        DriverAction::Start => {
            start(&require_service(&scm)?)?;
            println!("kchan driver running");
        }
        DriverAction::Stop => {
            stop(&require_service(&scm)?)?;
            println!("kchan driver stopped");
        }
        DriverAction::Uninstall => {
            let Some(svc) = open_service(&scm)? else {
                println!("kchan service not installed");
                return Ok(());
            };
            stop(&svc)?;
            // SAFETY: valid service handle.
            if unsafe { DeleteService(svc.0) } == 0 {
                return Err(os_error("cannot delete the kchan service"));
            }
            println!("kchan service deleted");
        }
        DriverAction::Status => {
            let svc = require_service(&scm)?;
            let running = state(&svc)? == SERVICE_RUNNING;
            println!("service: {}", if running { "running" } else { "stopped" });
            match kchan::Device::open() {
                Ok(dev) => println!("device: \\\\.\\kchan opens, protocol {}", dev.version().protocol_version),
                Err(e) => return Err(format!("device: {e}")),
            }
        }
    }
    Ok(())
}
