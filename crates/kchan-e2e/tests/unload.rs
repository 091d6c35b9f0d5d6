//! `sc stop` with open handles and pending receives, then `sc start`:
//! DriverUnload completes the receives, the driver loads again and serves.
//!
//! Runs `sc.exe` of the prefix (Wine's builtin), so it must run in the same
//! prefix as the driver. A separate test binary: it takes the device away
//! from every other test while it runs.
#![cfg(windows)]

use kchan_e2e::{serial, Device};
use kchan_proto::{VersionInfo, IOCTL_RECV, IOCTL_VERSION};
use std::process::Command;
use std::time::{Duration, Instant};

const STATUS_CANCELLED: u32 = 0xC000_0120;

fn sc(args: &[&str]) -> String {
    let out = Command::new("sc").args(args).output().expect("run sc.exe");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_open() -> Device {
    let start = Instant::now();
    loop {
        match Device::open() {
            Ok(d) => return d,
            Err(e) if start.elapsed() > Duration::from_secs(10) => panic!(r"\\.\kchan did not come back: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

#[test]
fn stop_with_pending_receives_then_start_again() {
    let _g = serial();
    let a = wait_open();
    let b = wait_open();
    let mut ra = a.post(IOCTL_RECV, &[], 4096).expect("post RECV a");
    let mut rb = b.post(IOCTL_RECV, &[], 4096).expect("post RECV b");
    assert!(ra.pending() && rb.pending());

    let out = sc(&["stop", "kchan"]);
    assert!(out.contains("STOPPED"), "sc stop: {out}");
    assert!(ra.wait_event(5_000), "unload must complete pending RECV a");
    assert!(rb.wait_event(5_000), "unload must complete pending RECV b");
    assert_eq!(ra.ntstatus(), STATUS_CANCELLED);
    assert_eq!(rb.ntstatus(), STATUS_CANCELLED);
    assert!(Device::open().is_err(), "device must be gone after sc stop");
    drop((a, b));

    let out = sc(&["start", "kchan"]);
    assert!(out.contains("RUNNING"), "sc start: {out}");
    let dev = wait_open();
    let v = dev.call(IOCTL_VERSION, &[], 64).expect("VERSION after restart");
    VersionInfo::parse(&v).expect("valid VersionInfo");
    let mut r = dev.post(IOCTL_RECV, &[], 4096).expect("post RECV after restart");
    assert!(r.pending(), "RECV pends again after restart");
    dev.cancel(&mut r).expect("CancelIoEx");
    assert!(r.wait_event(5_000));
}
