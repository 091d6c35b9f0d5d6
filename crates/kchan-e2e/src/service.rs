//! A driver's service, through the Service Control Manager API (what
//! `sc stop`/`sc start` call), and the values its driver writes under the
//! service key (the unload report: `kchan_proto::LEAK_ALLOCS_VALUE`,
//! `LEAK_BYTES_VALUE`). Tests that stop a service must run in the driver's
//! prefix.

use crate::wait_until;
use std::time::Duration;
use windows_sys::Win32::System::Registry::{RegDeleteKeyValueW, RegGetValueW, HKEY_LOCAL_MACHINE, RRF_RT_REG_QWORD};
use windows_sys::Win32::System::Services::{
    CloseServiceHandle, ControlService, OpenSCManagerW, OpenServiceW, QueryServiceStatus, StartServiceW, SC_HANDLE,
    SC_MANAGER_CONNECT, SERVICE_CONTROL_STOP, SERVICE_QUERY_STATUS, SERVICE_RUNNING, SERVICE_START, SERVICE_STATUS,
    SERVICE_STOP, SERVICE_STOPPED,
};

pub use windows_sys::Win32::System::Services::{SERVICE_RUNNING as RUNNING, SERVICE_STOPPED as STOPPED};

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

/// A kernel driver's service, opened for stop, start and query. Dropping it
/// starts the service again if it is stopped, so a failing test does not
/// take the driver away from the tests that follow.
pub struct Service {
    name: String,
    scm: SC_HANDLE,
    svc: SC_HANDLE,
}

impl Service {
    /// Opens the service `name`; panics if it does not exist.
    pub fn open(name: &str) -> Service {
        // SAFETY: null machine and database names mean the local SCM.
        let scm = unsafe { OpenSCManagerW(std::ptr::null(), std::ptr::null(), SC_MANAGER_CONNECT) };
        assert!(!scm.is_null(), "OpenSCManagerW: {}", std::io::Error::last_os_error());
        let wname = wide(name);
        // SAFETY: `scm` is open; `wname` is NUL-terminated.
        let svc = unsafe { OpenServiceW(scm, wname.as_ptr(), SERVICE_STOP | SERVICE_START | SERVICE_QUERY_STATUS) };
        assert!(!svc.is_null(), "OpenServiceW({name}): {}", std::io::Error::last_os_error());
        Service { name: name.to_string(), scm, svc }
    }

    /// The service's state (`RUNNING`, `STOPPED`, ...).
    pub fn state(&self) -> u32 {
        // SAFETY: plain data.
        let mut st: SERVICE_STATUS = unsafe { std::mem::zeroed() };
        // SAFETY: `svc` is open; `st` is a live local.
        unsafe { QueryServiceStatus(self.svc, &mut st) };
        st.dwCurrentState
    }

    /// Stops the service and waits until it has stopped: under Wine the
    /// driver's `DriverUnload` runs at once, open handles or not.
    pub fn stop(&self) {
        self.request_stop();
        self.wait_stopped();
    }

    /// Asks the service to stop (`NtUnloadDriver`), without waiting: Windows
    /// defers a legacy driver's unload until the last handle to its devices
    /// is closed.
    pub fn request_stop(&self) {
        // SAFETY: plain data.
        let mut st: SERVICE_STATUS = unsafe { std::mem::zeroed() };
        // SAFETY: `svc` is open with SERVICE_STOP; `st` is a live local.
        let ok = unsafe { ControlService(self.svc, SERVICE_CONTROL_STOP, &mut st) };
        assert!(ok != 0, "ControlService({}, STOP): {}", self.name, std::io::Error::last_os_error());
    }

    /// Waits (10 s at most) until the service has stopped.
    pub fn wait_stopped(&self) {
        assert!(wait_until(Duration::from_secs(10), || self.state() == SERVICE_STOPPED), "{} stopped", self.name);
    }

    /// Starts the service if it is not running; true once it runs.
    pub fn start(&self) -> bool {
        if self.state() == SERVICE_RUNNING {
            return true;
        }
        // SAFETY: `svc` is open with SERVICE_START; no arguments.
        unsafe { StartServiceW(self.svc, 0, std::ptr::null()) };
        wait_until(Duration::from_secs(10), || self.state() == SERVICE_RUNNING)
    }

    /// A `REG_QWORD` value under the service's key, if present.
    pub fn read_qword(&self, value: &str) -> Option<u64> {
        let (key, value) = (wide(&self.key()), wide(value));
        let mut data = 0u64;
        let mut len = 8u32;
        // SAFETY: NUL-terminated names; `data` holds `len` bytes.
        let rc = unsafe {
            RegGetValueW(
                HKEY_LOCAL_MACHINE,
                key.as_ptr(),
                value.as_ptr(),
                RRF_RT_REG_QWORD,
                std::ptr::null_mut(),
                (&raw mut data).cast(),
                &mut len,
            )
        };
        (rc == 0).then_some(data)
    }

    /// Deletes a value under the service's key (absent is fine).
    pub fn delete_value(&self, value: &str) {
        let (key, value) = (wide(&self.key()), wide(value));
        // SAFETY: NUL-terminated names; a missing value is not an error here.
        unsafe { RegDeleteKeyValueW(HKEY_LOCAL_MACHINE, key.as_ptr(), value.as_ptr()) };
    }

    /// The service key, under `HKEY_LOCAL_MACHINE`.
    fn key(&self) -> String {
        kchan_proto::service_key_path(&self.name).to_string()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if !self.start() {
            eprintln!("could not restart the {} service", self.name);
        }
        // SAFETY: both handles are open and closed once.
        unsafe { CloseServiceHandle(self.svc) };
        // SAFETY: as above.
        unsafe { CloseServiceHandle(self.scm) };
    }
}
