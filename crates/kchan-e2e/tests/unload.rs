//! Unload with open handles and pending receives, then start again
//! (scenario 7 of issue 4).
//!
//! Stops and starts the `kchan` service through the Service Control
//! Manager API (what `sc stop`/`sc start` call), so it must run in the
//! driver's prefix. A guard restarts the service whatever happens, so a
//! failure here does not take the driver away from the tests that follow.
//!
//! The allocator's live counts at the end of `DriverUnload` are read from
//! the registry values the driver writes there (`leak_report` in the
//! driver): they must be zero. (A restarted driver starts with fresh
//! counters, so `IOCTL_STATS` after a restart could not tell; `DbgPrint`
//! logs the same numbers.) After the restart, `IOCTL_STATS` shows a fresh
//! channel whose only allocations are the table and our subscriber.
#![cfg(windows)]

use kchan_e2e::{serial, wait_until, Device, RECV_BYTES};
use kchan_proto::{GenConfig, IOCTL_RECV};
use std::time::Duration;
use windows_sys::Win32::System::Registry::{RegDeleteKeyValueW, RegGetValueW, HKEY_LOCAL_MACHINE, RRF_RT_REG_QWORD};
use windows_sys::Win32::System::Services::{
    CloseServiceHandle, ControlService, OpenSCManagerW, OpenServiceW, QueryServiceStatus, StartServiceW, SC_HANDLE,
    SC_MANAGER_CONNECT, SERVICE_CONTROL_STOP, SERVICE_QUERY_STATUS, SERVICE_RUNNING, SERVICE_START, SERVICE_STATUS,
    SERVICE_STOP, SERVICE_STOPPED,
};

const STATUS_CANCELLED: u32 = 0xC000_0120;
const SERVICE_KEY: &str = r"System\CurrentControlSet\Services\kchan";
const LIVE_ALLOCS: &str = "LastUnloadLiveAllocations";
const LIVE_BYTES: &str = "LastUnloadLiveBytes";

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

/// The `kchan` service, opened for stop, start and query.
struct Service {
    scm: SC_HANDLE,
    svc: SC_HANDLE,
}

impl Service {
    fn open() -> Service {
        // SAFETY: null machine and database names mean the local SCM.
        let scm = unsafe { OpenSCManagerW(std::ptr::null(), std::ptr::null(), SC_MANAGER_CONNECT) };
        assert!(!scm.is_null(), "OpenSCManagerW: {}", std::io::Error::last_os_error());
        let name = wide("kchan");
        // SAFETY: `scm` is open; `name` is NUL-terminated.
        let svc = unsafe { OpenServiceW(scm, name.as_ptr(), SERVICE_STOP | SERVICE_START | SERVICE_QUERY_STATUS) };
        assert!(!svc.is_null(), "OpenServiceW(kchan): {}", std::io::Error::last_os_error());
        Service { scm, svc }
    }

    fn state(&self) -> u32 {
        // SAFETY: plain data.
        let mut st: SERVICE_STATUS = unsafe { std::mem::zeroed() };
        // SAFETY: `svc` is open; `st` is a live local.
        unsafe { QueryServiceStatus(self.svc, &mut st) };
        st.dwCurrentState
    }

    fn stop(&self) {
        // SAFETY: plain data.
        let mut st: SERVICE_STATUS = unsafe { std::mem::zeroed() };
        // SAFETY: `svc` is open with SERVICE_STOP; `st` is a live local.
        let ok = unsafe { ControlService(self.svc, SERVICE_CONTROL_STOP, &mut st) };
        assert!(ok != 0, "ControlService(STOP): {}", std::io::Error::last_os_error());
        assert!(wait_until(Duration::from_secs(10), || self.state() == SERVICE_STOPPED), "service stopped");
    }

    fn start(&self) -> bool {
        if self.state() == SERVICE_RUNNING {
            return true;
        }
        // SAFETY: `svc` is open with SERVICE_START; no arguments.
        unsafe { StartServiceW(self.svc, 0, std::ptr::null()) };
        wait_until(Duration::from_secs(10), || self.state() == SERVICE_RUNNING)
    }
}

impl Drop for Service {
    /// Restores the service whatever happened in the test.
    fn drop(&mut self) {
        if !self.start() {
            eprintln!("unload test: could not restart the kchan service");
        }
        // SAFETY: both handles are open and closed once.
        unsafe { CloseServiceHandle(self.svc) };
        // SAFETY: as above.
        unsafe { CloseServiceHandle(self.scm) };
    }
}

fn read_qword(name: &str) -> Option<u64> {
    let (key, value) = (wide(SERVICE_KEY), wide(name));
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

fn delete_value(name: &str) {
    let (key, value) = (wide(SERVICE_KEY), wide(name));
    // SAFETY: NUL-terminated names; a missing value is not an error here.
    unsafe { RegDeleteKeyValueW(HKEY_LOCAL_MACHINE, key.as_ptr(), value.as_ptr()) };
}

fn wait_open() -> Device {
    let mut dev = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            dev = Device::open().ok();
            dev.is_some()
        }),
        r"\\.\kchan came back"
    );
    dev.expect("opened")
}

#[test]
fn stop_with_open_handles_pending_receives_and_the_generator_then_start_again() {
    let _g = serial();
    let service = Service::open();
    assert_eq!(service.state(), SERVICE_RUNNING, "the driver runs before the test");
    delete_value(LIVE_ALLOCS);
    delete_value(LIVE_BYTES);

    let a = Device::must_open();
    let b = Device::must_open();
    let mut ra: Vec<_> = (0..4).map(|_| a.post(IOCTL_RECV, &[], RECV_BYTES).expect("post RECV a")).collect();
    let mut rb = b.post(IOCTL_RECV, &[], RECV_BYTES).expect("post RECV b");
    // A slow generator: the receives of `a` and `b` may complete with
    // events or be cancelled by the unload; none may be left pending.
    a.gen_start(&GenConfig { kind: 40, rate: 1_000, ..GenConfig::default() });
    let before = a.stats().channel;
    assert!(before.subscribers >= 2 && before.pool_allocations > 0);

    service.stop();
    for op in ra.iter_mut().chain(std::iter::once(&mut rb)) {
        assert!(op.wait_event(5_000), "unload must complete every pending receive");
        let st = op.ntstatus();
        assert!(st == STATUS_CANCELLED || st == 0, "completed cancelled or with events: {st:#x}");
    }
    assert!(Device::open().is_err(), "device must be gone after the stop");
    assert_eq!(read_qword(LIVE_ALLOCS), Some(0), "allocations still live at the end of DriverUnload");
    assert_eq!(read_qword(LIVE_BYTES), Some(0), "bytes still live at the end of DriverUnload");
    drop((a, b));

    assert!(service.start(), "service restarted");
    let dev = wait_open();
    let st = dev.stats();
    assert_eq!(st.channel.subscribers, 0, "a fresh channel: an open handle is no subscriber yet");
    assert_eq!(st.channel.gen_running, 0, "the generator does not survive a restart");
    assert_eq!(st.channel.published, 0);
    // The subscriber table only: opening allocated nothing.
    assert_eq!(st.channel.pool_allocations, 1, "fresh allocator counters: {:?}", st.channel);
    let mut r = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post RECV after restart");
    assert!(r.pending(), "RECV pends again after restart");
    let st = dev.stats().channel;
    // The first receive attached our subscriber: its ring and queue.
    assert_eq!((st.subscribers, st.pool_allocations), (1, 3), "{st:?}");
    dev.cancel(&mut r).expect("CancelIoEx");
    assert!(r.wait_event(5_000));
}
