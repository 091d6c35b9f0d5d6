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
//!
//! Wine and Windows differ here ([`under_wine`]): Wine calls DriverUnload
//! as soon as the service stops, open handles or not, so the pending
//! receives complete then. Windows defers a legacy driver's unload until
//! the last reference to its device is gone (no new handle opens
//! meanwhile): the handles must close, their CLEANUP completes the pending
//! receives, and only then does DriverUnload run and the service stop.
#![cfg(windows)]

use kchan_e2e::service::{Service, RUNNING};
use kchan_e2e::{serial, under_wine, wait_until, Device, RECV_BYTES};
use kchan_proto::{GenConfig, IOCTL_RECV, LEAK_ALLOCS_VALUE, LEAK_BYTES_VALUE, SERVICE_NAME};
use std::time::Duration;

const STATUS_CANCELLED: u32 = 0xC000_0120;

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
    let service = Service::open(SERVICE_NAME);
    assert_eq!(service.state(), RUNNING, "the driver runs before the test");
    service.delete_value(LEAK_ALLOCS_VALUE);
    service.delete_value(LEAK_BYTES_VALUE);

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
    service.request_stop();
    let wine = under_wine();
    if wine {
        // Wine: DriverUnload runs now and completes the pending receives.
        service.wait_stopped();
    } else {
        // Windows: the unload waits for our handles; no new one opens.
        assert!(Device::open().is_err(), "no new handle once the unload is pending");
        drop(handles.take());
    }
    for op in ra.iter_mut().chain(std::iter::once(&mut rb)) {
        assert!(op.wait_event(5_000), "unload (Wine) or CLEANUP (Windows) must complete every pending receive");
        let st = op.ntstatus();
        assert!(st == STATUS_CANCELLED || st == 0, "completed cancelled or with events: {st:#x}");
    }
    if !wine {
        service.wait_stopped();
    }
    assert!(Device::open().is_err(), "device must be gone after the stop");
    // Written at the end of DriverUnload, which the service state may not wait for.
    wait_until(Duration::from_secs(10), || service.read_qword(LEAK_BYTES_VALUE).is_some());
    assert_eq!(service.read_qword(LEAK_ALLOCS_VALUE), Some(0), "allocations still live at the end of DriverUnload");
    assert_eq!(service.read_qword(LEAK_BYTES_VALUE), Some(0), "bytes still live at the end of DriverUnload");
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
    assert!(r.pending(), "RECV pends again after restart");
    dev.cancel(&mut r).expect("CancelIoEx");
    assert!(r.wait_event(5_000));
}
