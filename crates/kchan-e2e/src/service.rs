//! A driver's service through the Service Control Manager API (what
//! `sc stop`/`sc start` call), and the values under its registry key (the
//! unload report, `kchan_proto::LEAK_ALLOCS_VALUE`, `LEAK_BYTES_VALUE` and
//! `UNLOAD_DROPPED_RECORDS_VALUE`; the ring budget parameter). Tests that
//! stop a service must run in the driver's prefix.
//!
//! A [`Service`] restarts the service when dropped, whatever happened in
//! the test, so a failure does not take the driver away from the tests
//! that follow. The free functions act on `kchan.sys`'s key.

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

/// A kernel driver's service, opened for stop, start and query.
pub struct Service {
    name: String,
    scm: SC_HANDLE,
    svc: SC_HANDLE,
}

impl Service {
    /// The `kchan` service (panics when it is not installed).
    pub fn open() -> Service {
        Service::named(SERVICE_NAME)
    }

    /// The service `name` (panics when it is not installed).
    pub fn named(name: &str) -> Service {
        // SAFETY: null machine and database names mean the local SCM.
        let scm = unsafe { OpenSCManagerW(std::ptr::null(), std::ptr::null(), SC_MANAGER_CONNECT) };
        assert!(!scm.is_null(), "OpenSCManagerW: {}", std::io::Error::last_os_error());
        let wname = wide(name);
        // SAFETY: `scm` is open; `wname` is NUL-terminated.
        let svc = unsafe { OpenServiceW(scm, wname.as_ptr(), SERVICE_STOP | SERVICE_START | SERVICE_QUERY_STATUS) };
        assert!(!svc.is_null(), "OpenServiceW({name}): {}", std::io::Error::last_os_error());
        Service { name: name.to_string(), scm, svc }
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

    /// Stops it and waits until stopped: under Wine the driver's
    /// `DriverUnload` runs at once, open handles or not.
    pub fn stop(&self) {
        self.request_stop();
        self.wait_stopped();
    }

    /// Asks it to stop (`NtUnloadDriver`), without waiting: Windows defers a
    /// legacy driver's unload until the last handle to its devices closes.
    pub fn request_stop(&self) {
        // SAFETY: plain data.
        let mut st: SERVICE_STATUS = unsafe { std::mem::zeroed() };
        // SAFETY: `svc` is open with SERVICE_STOP; `st` is a live local.
        let ok = unsafe { ControlService(self.svc, SERVICE_CONTROL_STOP, &mut st) };
        assert!(ok != 0, "ControlService({}, STOP): {}", self.name, std::io::Error::last_os_error());
    }

    /// Waits (20 s at most) until it has stopped.
    pub fn wait_stopped(&self) {
        assert!(wait_until(Duration::from_secs(20), || self.state() == SERVICE_STOPPED), "{} stopped", self.name);
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

    /// A `REG_QWORD` under its key.
    pub fn read_qword(&self, value: &str) -> Option<u64> {
        read_qword_at(&self.name, value)
    }

    /// Deletes a value under its key (a missing one is no error).
    pub fn delete_value(&self, value: &str) {
        delete_value_at(&self.name, value);
    }
}

impl Drop for Service {
    /// Restores the service whatever happened in the test.
    fn drop(&mut self) {
        if !self.start() {
            eprintln!("could not restart the {} service", self.name);
        }
        // SAFETY: both handles are open and closed once.
        unsafe { CloseServiceHandle(self.svc) };
        // SAFETY: the manager's handle is open and closed once, after the
        // service's.
        unsafe { CloseServiceHandle(self.scm) };
    }
}

fn key(service: &str) -> Vec<u16> {
    wide(&service_key_path(service).to_string())
}

/// A `REG_QWORD` under the `kchan` service key.
pub fn read_qword(name: &str) -> Option<u64> {
    read_qword_at(SERVICE_NAME, name)
}

/// Writes a `REG_QWORD` under the `kchan` service key.
pub fn write_qword(name: &str, value: u64) {
    let (key, name) = (key(SERVICE_NAME), wide(name));
    // SAFETY: NUL-terminated names; `value` is 8 live bytes.
    let rc = unsafe {
        RegSetKeyValueW(HKEY_LOCAL_MACHINE, key.as_ptr(), name.as_ptr(), REG_QWORD, (&raw const value).cast(), 8)
    };
    assert_eq!(rc, 0, "RegSetKeyValueW");
}

/// Deletes a value under the `kchan` service key (a missing one is no error).
pub fn delete_value(name: &str) {
    delete_value_at(SERVICE_NAME, name);
}

fn read_qword_at(service: &str, name: &str) -> Option<u64> {
    let (key, value) = (key(service), wide(name));
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

fn delete_value_at(service: &str, name: &str) {
    let (key, value) = (key(service), wide(name));
    // SAFETY: NUL-terminated names.
    unsafe { RegDeleteKeyValueW(HKEY_LOCAL_MACHINE, key.as_ptr(), value.as_ptr()) };
}
