//! The `kchan` service through the Service Control Manager API (what
//! `sc stop`/`sc start` call), and the values under its registry key.
//!
//! A [`Service`] restarts the service when dropped, whatever happened in
//! the test, so a failure does not take the driver away from the tests
//! that follow.

use crate::wait_until;
use kchan_proto::{service_key_path, SERVICE_NAME};
use std::time::Duration;
use windows_sys::Win32::System::Registry::{
    RegDeleteKeyValueW, RegGetValueW, RegSetKeyValueW, HKEY_LOCAL_MACHINE, REG_QWORD, RRF_RT_REG_QWORD,
};
use windows_sys::Win32::System::Services::{
    CloseServiceHandle, ControlService, OpenSCManagerW, OpenServiceW, QueryServiceStatus, StartServiceW, SC_HANDLE,
    SC_MANAGER_CONNECT, SERVICE_CONTROL_STOP, SERVICE_QUERY_STATUS, SERVICE_RUNNING, SERVICE_START, SERVICE_STATUS,
    SERVICE_STOP, SERVICE_STOPPED,
};

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

/// The `kchan` service, opened for stop, start and query.
pub struct Service {
    scm: SC_HANDLE,
    svc: SC_HANDLE,
}

impl Service {
    /// Opens the service (panics when it is not installed).
    pub fn open() -> Service {
        // SAFETY: null machine and database names mean the local SCM.
        let scm = unsafe { OpenSCManagerW(std::ptr::null(), std::ptr::null(), SC_MANAGER_CONNECT) };
        assert!(!scm.is_null(), "OpenSCManagerW: {}", std::io::Error::last_os_error());
        let name = wide(SERVICE_NAME);
        // SAFETY: `scm` is open; `name` is NUL-terminated.
        let svc = unsafe { OpenServiceW(scm, name.as_ptr(), SERVICE_STOP | SERVICE_START | SERVICE_QUERY_STATUS) };
        assert!(!svc.is_null(), "OpenServiceW(kchan): {}", std::io::Error::last_os_error());
        Service { scm, svc }
    }

    /// `SERVICE_RUNNING`, `SERVICE_STOPPED`, ...
    pub fn state(&self) -> u32 {
        // SAFETY: plain data.
        let mut st: SERVICE_STATUS = unsafe { std::mem::zeroed() };
        // SAFETY: `svc` is open; `st` is a live local.
        unsafe { QueryServiceStatus(self.svc, &mut st) };
        st.dwCurrentState
    }

    /// Whether it runs.
    pub fn running(&self) -> bool {
        self.state() == SERVICE_RUNNING
    }

    /// Stops it (the driver's `DriverUnload` runs) and waits until stopped.
    pub fn stop(&self) {
        // SAFETY: plain data.
        let mut st: SERVICE_STATUS = unsafe { std::mem::zeroed() };
        // SAFETY: `svc` is open with SERVICE_STOP; `st` is a live local.
        let ok = unsafe { ControlService(self.svc, SERVICE_CONTROL_STOP, &mut st) };
        assert!(ok != 0, "ControlService(STOP): {}", std::io::Error::last_os_error());
        assert!(wait_until(Duration::from_secs(20), || self.state() == SERVICE_STOPPED), "service stopped");
    }

    /// Starts it and waits until it runs; true if it does.
    pub fn start(&self) -> bool {
        if self.running() {
            return true;
        }
        // SAFETY: `svc` is open with SERVICE_START; no arguments.
        unsafe { StartServiceW(self.svc, 0, std::ptr::null()) };
        wait_until(Duration::from_secs(10), || self.running())
    }
}

impl Drop for Service {
    /// Restores the service whatever happened in the test.
    fn drop(&mut self) {
        if !self.start() {
            eprintln!("could not restart the kchan service");
        }
        // SAFETY: both handles are open and closed once.
        unsafe { CloseServiceHandle(self.svc) };
        // SAFETY: as above.
        unsafe { CloseServiceHandle(self.scm) };
    }
}

fn key() -> Vec<u16> {
    wide(&service_key_path(SERVICE_NAME).to_string())
}

/// A `REG_QWORD` under the service key.
pub fn read_qword(name: &str) -> Option<u64> {
    let (key, value) = (key(), wide(name));
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

/// Writes a `REG_QWORD` under the service key.
pub fn write_qword(name: &str, value: u64) {
    let (key, name) = (key(), wide(name));
    // SAFETY: NUL-terminated names; `value` is 8 live bytes.
    let rc = unsafe {
        RegSetKeyValueW(HKEY_LOCAL_MACHINE, key.as_ptr(), name.as_ptr(), REG_QWORD, (&raw const value).cast(), 8)
    };
    assert_eq!(rc, 0, "RegSetKeyValueW");
}

/// Deletes a value under the service key (a missing one is no error).
pub fn delete_value(name: &str) {
    let (key, value) = (key(), wide(name));
    // SAFETY: NUL-terminated names.
    unsafe { RegDeleteKeyValueW(HKEY_LOCAL_MACHINE, key.as_ptr(), value.as_ptr()) };
}
