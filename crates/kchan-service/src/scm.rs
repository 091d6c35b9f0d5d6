//! The Service Control Manager calls (Windows only).

use crate::{Error, Operation, Result, State};
use std::path::Path;
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
    GetLastError, ERROR_SERVICE_ALREADY_RUNNING, ERROR_SERVICE_DOES_NOT_EXIST, ERROR_SERVICE_EXISTS,
    ERROR_SERVICE_NOT_ACTIVE,
};
use windows_sys::Win32::System::Services::{
    CloseServiceHandle, ControlService, CreateServiceW, DeleteService, OpenSCManagerW, OpenServiceW,
    QueryServiceStatus, StartServiceW, SC_HANDLE, SC_MANAGER_ALL_ACCESS, SERVICE_ALL_ACCESS, SERVICE_CONTROL_STOP,
    SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL, SERVICE_KERNEL_DRIVER, SERVICE_RUNNING, SERVICE_START_PENDING,
    SERVICE_STATUS, SERVICE_STOPPED, SERVICE_STOP_PENDING,
};

// `State::from_raw` uses the documented values; these are windows-sys's.
const _: () = assert!(SERVICE_STOPPED == 1 && SERVICE_START_PENDING == 2);
const _: () = assert!(SERVICE_STOP_PENDING == 3 && SERVICE_RUNNING == 4);

/// How often a wait looks at the state: a driver loads or unloads in
/// milliseconds, and the service manager offers no notification for it
/// that Wine implements.
const POLL: Duration = Duration::from_millis(20);

/// A service manager handle, closed on drop.
struct Handle(SC_HANDLE);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a handle this module opened, owned by `self` alone and
        // closed only here.
        unsafe { CloseServiceHandle(self.0) };
    }
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(Some(0)).collect()
}

fn last_error() -> u32 {
    // SAFETY: reads the calling thread's last-error value; no precondition.
    unsafe { GetLastError() }
}

/// The local Service Control Manager, opened with every right (creating
/// and deleting services needs them; loading a driver needs an
/// administrator anyway).
pub struct ServiceManager {
    handle: Handle,
}

/// What [`ServiceManager::install_kernel_driver`] did.
pub struct Installed {
    /// The service, open.
    pub service: Service,
    /// True if it was created now, false if it existed already.
    pub created: bool,
}

impl ServiceManager {
    /// Opens the local service manager.
    pub fn open() -> Result<ServiceManager> {
        // SAFETY: null machine and database names mean the local machine's
        // active database.
        let handle = unsafe { OpenSCManagerW(std::ptr::null(), std::ptr::null(), SC_MANAGER_ALL_ACCESS) };
        if handle.is_null() {
            return Err(Error::Manager(std::io::Error::last_os_error()));
        }
        Ok(ServiceManager { handle: Handle(handle) })
    }

    /// The service `name`, or `None` if no such service is installed.
    pub fn service(&self, name: &str) -> Result<Option<Service>> {
        let wname = wide(name);
        // SAFETY: an open manager handle and a NUL-terminated name that
        // outlives the call.
        let handle = unsafe { OpenServiceW(self.handle.0, wname.as_ptr(), SERVICE_ALL_ACCESS) };
        if handle.is_null() {
            if last_error() == ERROR_SERVICE_DOES_NOT_EXIST {
                return Ok(None);
            }
            return Err(Service::error(name, Operation::Open));
        }
        Ok(Some(Service { handle: Handle(handle), name: name.to_string() }))
    }

    /// The service `name`; [`Error::NotInstalled`] if there is none.
    pub fn existing(&self, name: &str) -> Result<Service> {
        self.service(name)?.ok_or_else(|| Error::NotInstalled { service: name.to_string() })
    }

    /// Opens the service `name`, or creates it as a demand-start kernel
    /// driver whose image is `image` (a full path: the service manager
    /// resolves no relative one). An existing service is opened as it is,
    /// whatever image it names.
    pub fn install_kernel_driver(&self, name: &str, display_name: &str, image: &Path) -> Result<Installed> {
        if let Some(service) = self.service(name)? {
            return Ok(Installed { service, created: false });
        }
        let (wname, display, binary) = (wide(name), wide(display_name), wide(&image.to_string_lossy()));
        // SAFETY: an open manager handle; every string is NUL-terminated
        // and outlives the call; the optional arguments (load order group,
        // tag, dependencies, account, password) are null, which the API
        // allows.
        let handle = unsafe {
            CreateServiceW(
                self.handle.0,
                wname.as_ptr(),
                display.as_ptr(),
                SERVICE_ALL_ACCESS,
                SERVICE_KERNEL_DRIVER,
                SERVICE_DEMAND_START,
                SERVICE_ERROR_NORMAL,
                binary.as_ptr(),
                std::ptr::null(),
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if handle.is_null() {
            // Created by someone else since we looked: open theirs.
            if last_error() == ERROR_SERVICE_EXISTS {
                return Ok(Installed { service: self.existing(name)?, created: false });
            }
            return Err(Service::error(name, Operation::Create));
        }
        Ok(Installed { service: Service { handle: Handle(handle), name: name.to_string() }, created: true })
    }
}

/// An installed service, open with every right; closed on drop. It stays
/// usable after its [`ServiceManager`] is dropped.
pub struct Service {
    handle: Handle,
    name: String,
}

impl Service {
    /// The service's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its current state.
    pub fn state(&self) -> Result<State> {
        // SAFETY: SERVICE_STATUS is plain data; all zeroes is a valid value.
        let mut status: SERVICE_STATUS = unsafe { std::mem::zeroed() };
        // SAFETY: an open service handle and a live, writable status.
        if unsafe { QueryServiceStatus(self.handle.0, &mut status) } == 0 {
            return Err(self.failed(Operation::Query));
        }
        Ok(State::from_raw(status.dwCurrentState))
    }

    /// Starts it: the kernel loads the driver and runs `DriverEntry` before
    /// this returns. Succeeds if it runs already.
    pub fn start(&self) -> Result<()> {
        // SAFETY: an open service handle; no arguments (count 0, null list).
        if unsafe { StartServiceW(self.handle.0, 0, std::ptr::null()) } == 0
            && last_error() != ERROR_SERVICE_ALREADY_RUNNING
        {
            return Err(self.failed(Operation::Start));
        }
        Ok(())
    }

    /// Asks it to stop, without waiting. Succeeds if it is not running.
    /// Windows defers a legacy driver's unload until the last reference to
    /// its devices is gone; Wine calls `DriverUnload` at once.
    pub fn request_stop(&self) -> Result<()> {
        // SAFETY: SERVICE_STATUS is plain data; all zeroes is a valid value.
        let mut status: SERVICE_STATUS = unsafe { std::mem::zeroed() };
        // SAFETY: an open service handle and a live, writable status.
        if unsafe { ControlService(self.handle.0, SERVICE_CONTROL_STOP, &mut status) } == 0
            && last_error() != ERROR_SERVICE_NOT_ACTIVE
        {
            return Err(self.failed(Operation::Stop));
        }
        Ok(())
    }

    /// Waits until it is in `state`, for `timeout` at most.
    pub fn wait_for(&self, state: State, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while self.state()? != state {
            if Instant::now() > deadline {
                return Err(Error::Timeout { service: self.name.clone(), state, timeout });
            }
            std::thread::sleep(POLL);
        }
        Ok(())
    }

    /// Stops it and waits until it has stopped (`timeout` at most).
    /// Succeeds at once if it is not running.
    pub fn stop(&self, timeout: Duration) -> Result<()> {
        self.request_stop()?;
        self.wait_for(State::Stopped, timeout)
    }

    /// Deletes it. The service manager removes it once every handle to it
    /// is closed, this one included (closed here).
    pub fn delete(self) -> Result<()> {
        // SAFETY: an open service handle (opened with DELETE access).
        if unsafe { DeleteService(self.handle.0) } == 0 {
            return Err(self.failed(Operation::Delete));
        }
        Ok(())
    }

    /// The error of `operation` on this service, from the last OS error.
    fn failed(&self, operation: Operation) -> Error {
        Service::error(&self.name, operation)
    }

    fn error(name: &str, operation: Operation) -> Error {
        Error::Service { service: name.to_string(), operation, source: std::io::Error::last_os_error() }
    }
}
