//! Unload with open handles and pending receives, then start again.
//!
//! Stops and starts the `kchan` service through the Service Control
//! Manager API ([`kchan_e2e::service`]), so it must run in the driver's
//! prefix.
//!
//! The allocator's live counts at the end of `DriverUnload` are read from
//! the registry values the driver writes under its service key (the
//! library's unload report, `kchan_driver::wdm::Options::unload_report`):
//! they must be zero. (A restarted driver starts with fresh
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

use kchan_e2e::service::{delete_value, read_qword, Service};
use kchan_e2e::{only_kind, serial, under_wine, wait_until, Device, RECV_BYTES};
use kchan_proto::{
    GenConfig, IOCTL_RECV, LEAK_ALLOCS_VALUE as LIVE_ALLOCS, LEAK_BYTES_VALUE as LIVE_BYTES, STATUS_CANCELLED,
    STATUS_SUCCESS, UNLOAD_DROPPED_RECORDS_VALUE as UNLOAD_DROPPED,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
    assert!(service.running(), "the driver runs before the test");
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
        assert!(
            op.wait_timeout(Duration::from_millis(5_000)),
            "unload (Wine) or CLEANUP (Windows) must complete every pending receive"
        );
        let st = op.status();
        assert!(st == STATUS_CANCELLED || st == STATUS_SUCCESS, "completed cancelled or with events: {st:#x}");
    }
    if !wine {
        service.wait_stopped();
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
    assert_eq!(st.channel.subscribers, 0, "a fresh channel: an open handle is no subscriber yet");
    assert_eq!(st.channel.gen_running, 0, "the generator does not survive a restart");
    assert_eq!(st.channel.published, 0);
    // The subscriber table only: opening allocated nothing.
    assert_eq!(st.channel.pool_allocations, 1, "fresh allocator counters: {:?}", st.channel);
    let mut r = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post RECV after restart");
    assert!(r.pended(), "RECV pends again after restart");
    let st = dev.stats().channel;
    // The first receive attached our subscriber: its ring and queue.
    assert_eq!((st.subscribers, st.pool_allocations), (1, 3), "{st:?}");
    dev.cancel(&mut r).expect("CancelIoEx");
    assert!(r.wait_timeout(Duration::from_millis(5_000)));
}

/// Two handles hold records injected for them, unread, when the service
/// stops: under Wine, DriverUnload closes their subscribers and its report
/// (`LastUnloadDroppedRecords`) counts exactly those records. On Windows
/// the unload waits for the handles, whose CLEANUP counts them instead
/// (in the channel's counters, gone with the driver), so the unload finds
/// none: 0 (written from Windows' documented order, never run there).
#[test]
fn unload_reports_the_records_left_unread_in_open_handles_rings() {
    let _g = serial();
    let service = Service::open();
    assert!(service.running(), "the driver runs before the test");
    delete_value(UNLOAD_DROPPED);
    let a = Device::must_open();
    a.subscribe(&only_kind(43)).expect("subscribe a");
    let b = Device::must_open();
    b.subscribe(&only_kind(44)).expect("subscribe b");
    a.inject(&[(43, b"a1"), (43, b"a2"), (43, b"a3"), (44, b"b1"), (44, b"b2")]);
    assert_eq!((a.stats().subscriber.in_ring_records, b.stats().subscriber.in_ring_records), (3, 2));

    let mut handles = Some((a, b));
    service.request_stop();
    let wine = under_wine();
    if !wine {
        drop(handles.take());
    }
    service.wait_stopped();
    // Written at the end of DriverUnload, which the service state may not wait for.
    wait_until(Duration::from_secs(10), || read_qword(UNLOAD_DROPPED).is_some());
    let expected = if wine { 3 + 2 } else { 0 };
    assert_eq!(read_qword(UNLOAD_DROPPED), Some(expected), "records the unload found in rings");
    drop(handles);
    assert!(service.start(), "service restarted");
    wait_open();
}

/// Lines of winedevice.exe's stderr (the session log xtask captures with
/// `WINEDEBUG=+seh`) that report an unhandled page fault.
fn page_faults() -> usize {
    let path = std::env::var("KCHAN_E2E_SESSION_LOG")
        .expect("KCHAN_E2E_SESSION_LOG names the Wine session's log (run through `cargo xtask test`)");
    let log = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    String::from_utf8_lossy(&log).lines().filter(|l| l.contains("Unhandled page fault")).count()
}

/// What a client thread does while the driver comes and goes: open, send
/// every kind of request, keep receives pending, cancel some, close.
/// Errors are expected (the device vanishes under it); a receive that is
/// never completed is not (counted in `stuck`).
fn churn(stop: &AtomicBool, stuck: &AtomicUsize, kind: u16) {
    let mut round = 0u32;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let Ok(dev) = Device::open() else {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        };
        let _ = dev.call(kchan_proto::IOCTL_STATS, &[], core::mem::size_of::<kchan_proto::StatsReply>());
        if round.is_multiple_of(2) {
            let _ = dev.subscribe(&kchan_e2e::only_kind(kind));
        }
        let mut ops: Vec<_> = (0..3).filter_map(|_| dev.post(IOCTL_RECV, &[], RECV_BYTES).ok()).collect();
        let _ = dev.call(kchan_proto::IOCTL_INJECT, &kchan_e2e::inject_message(&[(kind, b"churn")]), 0);
        if let Some(op) = ops.first_mut() {
            let _ = dev.cancel(op);
        }
        if round.is_multiple_of(3) {
            drop(dev); // close with receives pending
            for mut op in ops {
                if !op.wait_timeout(Duration::from_millis(10_000)) {
                    stuck.fetch_add(1, Ordering::Relaxed);
                    std::mem::forget(op); // never free what the kernel may still write
                }
            }
        } else {
            for op in &mut ops {
                let _ = dev.cancel(op);
            }
            for mut op in ops {
                if !op.wait_timeout(Duration::from_millis(10_000)) {
                    stuck.fetch_add(1, Ordering::Relaxed);
                    std::mem::forget(op);
                }
            }
        }
    }
}

#[test]
fn twenty_stop_start_cycles_while_threads_open_close_and_send_requests() {
    let _g = serial();
    let service = Service::open();
    assert!(service.start(), "the driver runs before the test");
    let faults_before = page_faults();
    let stop = Arc::new(AtomicBool::new(false));
    let stuck = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..4u16)
        .map(|i| {
            let (stop, stuck) = (stop.clone(), stuck.clone());
            std::thread::spawn(move || churn(&stop, &stuck, 30 + i))
        })
        .collect();
    for cycle in 0..20 {
        std::thread::sleep(Duration::from_millis(50 + 10 * cycle));
        delete_value(LIVE_ALLOCS);
        delete_value(LIVE_BYTES);
        service.stop();
        assert_eq!(
            (read_qword(LIVE_ALLOCS), read_qword(LIVE_BYTES)),
            (Some(0), Some(0)),
            "cycle {cycle}: allocations still live at the end of DriverUnload"
        );
        assert!(service.start(), "cycle {cycle}: the driver starts again");
        assert_eq!(page_faults(), faults_before, "cycle {cycle}: winedevice.exe took an unhandled page fault");
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("client thread");
    }
    assert_eq!(stuck.load(Ordering::Relaxed), 0, "receives never completed");
    let dev = wait_open();
    assert!(dev.stats().subscriber.balanced(), "the driver serves after the cycles");
}
