//! Unload with open handles and pending receives, then start again.
//!
//! Stops and starts the `kchan` service with `kchan driver stop|start`
//! (the Service Control Manager underneath), so it must run in the
//! driver's prefix. A guard restarts the service whatever happens, so a
//! failure here does not take the driver away from the tests that follow.
//!
//! The allocator's live counts at the end of `DriverUnload` are read from
//! the registry values the driver writes there (`leak_report` in the
//! driver): they must be zero. (A restarted driver starts with fresh
//! counters, so `IOCTL_STATS` after a restart could not tell; `DbgPrint`
//! logs the same numbers.) After the restart, `IOCTL_STATS` shows a fresh
//! channel whose only allocations are the table and our subscriber.
//!
//! Wine and Windows differ here ([`under_wine`]): Wine calls DriverUnload
//! as soon as the service stops, open handles or not, so the pending
//! receives complete then. Windows defers a legacy driver's unload until
//! the last reference to its device is gone (no new handle opens
//! meanwhile): the handles must close, their CLEANUP completes the pending
//! receives, and only then does DriverUnload run and the service stop.
#![cfg(windows)]

use kchan_e2e::{kchan_command, serial, under_wine, wait_until, Device, RECV_BYTES};
use kchan_proto::{GenConfig, IOCTL_RECV, STATUS_CANCELLED, STATUS_SUCCESS};
use std::process::{Child, Stdio};
use std::time::Duration;
use windows_sys::Win32::System::Registry::{RegDeleteKeyValueW, RegGetValueW, HKEY_LOCAL_MACHINE, RRF_RT_REG_QWORD};
const SERVICE_KEY: &str = r"System\CurrentControlSet\Services\kchan";
const LIVE_ALLOCS: &str = "LastUnloadLiveAllocations";
const LIVE_BYTES: &str = "LastUnloadLiveBytes";

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

/// The `kchan` service, driven through the `kchan` command (`kchan driver
/// stop|start`, the Service Control Manager underneath). Dropping it starts
/// the service again whatever happened in the test.
struct Service;

impl Service {
    fn driver(&self, action: &str) -> std::process::Output {
        kchan_command().args(["driver", action]).output().expect("run kchan.exe")
    }

    /// Asks the service to stop (`kchan driver stop`, which returns once
    /// DriverUnload ran), without waiting for it: on Windows the unload
    /// waits for our handles.
    fn request_stop(&self) -> Child {
        let mut cmd = kchan_command();
        cmd.args(["driver", "stop"]).stdout(Stdio::null()).stderr(Stdio::piped());
        cmd.spawn().expect("run kchan.exe")
    }

    /// Waits for a [`Service::request_stop`] to finish: the service stopped.
    fn wait_stopped(stop: Child) {
        let out = stop.wait_with_output().expect("kchan driver stop");
        assert!(out.status.success(), "kchan driver stop: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn start(&self) -> bool {
        self.driver("start").status.success()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if !self.start() {
            eprintln!("unload test: could not restart the kchan service");
        }
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
    let service = Service;
    let status = service.driver("status");
    assert!(status.status.success(), "the driver runs before the test: {}", String::from_utf8_lossy(&status.stdout));
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

    let mut handles = Some((a, b));
    let mut stop = Some(service.request_stop());
    if under_wine() {
        // Wine: DriverUnload runs now and completes the pending receives.
        if let Some(stop) = stop.take() {
            Service::wait_stopped(stop);
        }
    } else {
        // Windows: the unload waits for our handles; no new one opens.
        let refused = wait_until(Duration::from_secs(10), || Device::open().is_err());
        assert!(refused, "no new handle once the unload is pending");
        drop(handles.take());
    }
    for op in ra.iter_mut().chain(std::iter::once(&mut rb)) {
        assert!(
            op.wait_timeout(Duration::from_secs(5)),
            "unload (Wine) or CLEANUP (Windows) must complete every pending receive"
        );
        let st = op.status();
        assert!(st == STATUS_CANCELLED || st == STATUS_SUCCESS, "completed cancelled or with events: {st:#x}");
    }
    if let Some(stop) = stop {
        Service::wait_stopped(stop);
    }
    assert!(Device::open().is_err(), "device must be gone after the stop");
    // Written at the end of DriverUnload, which the service state may not wait for.
    wait_until(Duration::from_secs(10), || read_qword(LIVE_BYTES).is_some());
    assert_eq!(read_qword(LIVE_ALLOCS), Some(0), "allocations still live at the end of DriverUnload");
    assert_eq!(read_qword(LIVE_BYTES), Some(0), "bytes still live at the end of DriverUnload");
    drop(handles);

    assert!(service.start(), "service restarted");
    let dev = wait_open();
    let st = dev.stats();
    assert_eq!(st.channel.subscribers, 1, "a fresh channel with our subscriber only");
    assert_eq!(st.channel.gen_running, 0, "the generator does not survive a restart");
    assert_eq!(st.channel.published, 0);
    // The table and our subscriber's ring and queue.
    assert_eq!(st.channel.pool_allocations, 3, "fresh allocator counters: {:?}", st.channel);
    let mut r = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post RECV after restart");
    assert!(r.pended(), "RECV pends again after restart");
    dev.cancel(&mut r).expect("CancelIoEx");
    assert!(r.wait_timeout(Duration::from_secs(5)));
}
