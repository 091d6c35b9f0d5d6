//! A driver's service for the tests that unload and reload it (the calls
//! are [`kchan_service`]'s, what `sc stop`/`sc start` and `kchan driver`
//! use), and the values under its registry key (the unload report,
//! `kchan_proto::LEAK_ALLOCS_VALUE`, `LEAK_BYTES_VALUE` and
//! `UNLOAD_DROPPED_RECORDS_VALUE`; the ring budget parameter). Tests that
//! stop a service must run in the driver's prefix.
//!
//! A [`Service`] restarts the service when dropped, whatever happened in
//! the test, so a failure does not take the driver away from the tests
//! that follow. Its calls panic with the service manager's one-line
//! message. The free functions act on `kchan.sys`'s key.

use kchan_proto::{service_key_path, SERVICE_NAME};
use kchan_service::{ServiceManager, State};
use std::time::Duration;
use windows_sys::Win32::System::Registry::{
    RegDeleteKeyValueW, RegGetValueW, RegSetKeyValueW, HKEY_LOCAL_MACHINE, REG_QWORD, RRF_RT_REG_QWORD,
};

/// How long a stop may take: the unload waits for every request in
/// progress and every pending receive to complete.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a start may take.
const START_TIMEOUT: Duration = Duration::from_secs(10);

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

/// A kernel driver's service, started again when dropped.
pub struct Service {
    service: kchan_service::Service,
}

impl Service {
    /// The `kchan` service (panics when it is not installed).
    pub fn open() -> Service {
        Service::named(SERVICE_NAME)
    }

    /// The service `name` (panics when it is not installed).
    pub fn named(name: &str) -> Service {
        let service = ServiceManager::open().and_then(|scm| scm.existing(name)).unwrap_or_else(|e| panic!("{e}"));
        Service { service }
    }

    /// Its current state.
    pub fn state(&self) -> State {
        self.service.state().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Whether it runs.
    pub fn running(&self) -> bool {
        self.state() == State::Running
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
        self.service.request_stop().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Waits (20 s at most) until it has stopped.
    pub fn wait_stopped(&self) {
        self.service.wait_for(State::Stopped, STOP_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Starts it and waits until it runs; true if it does. A failed start
    /// is decided by the state that follows (another program may be
    /// starting it at the same moment), and printed if it does not run.
    pub fn start(&self) -> bool {
        let started = self.service.start();
        match self.service.wait_for(State::Running, START_TIMEOUT) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("{e}{}", started.err().map(|s| format!(" ({s})")).unwrap_or_default());
                false
            }
        }
    }

    /// A `REG_QWORD` under its key.
    pub fn read_qword(&self, value: &str) -> Option<u64> {
        read_qword_at(self.service.name(), value)
    }

    /// Deletes a value under its key (a missing one is no error).
    pub fn delete_value(&self, value: &str) {
        delete_value_at(self.service.name(), value);
    }
}

impl Drop for Service {
    /// Restores the service whatever happened in the test.
    fn drop(&mut self) {
        if !self.start() {
            eprintln!("could not restart the {} service", self.service.name());
        }
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
