//! The seed's problem, shown where the system shows it: a handle opened
//! without `FILE_FLAG_OVERLAPPED` serializes its requests.
//!
//! With a blocking receive pending on a synchronous handle, `IOCTL_STATS`
//! on the same handle from another thread must wait on Windows until the
//! receive completes (the I/O manager holds the file object's lock for the
//! whole call). Wine does not serialize synchronous handles: there the
//! STATS is answered at once. The test detects which system it runs on
//! ([`under_wine`]) and checks that system's behaviour; either way an
//! injected event then completes the receive, and nothing is left pending.
#![cfg(windows)]

use kchan_e2e::{only_kind, serial, under_wine, wait_until, Device, SyncDevice, RECV_BYTES};
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::{parse_batch, Record, StatsReply, IOCTL_RECV, IOCTL_STATS, IOCTL_SUBSCRIBE};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const KIND: u16 = 61;

#[test]
fn stats_on_a_sync_handle_waits_for_its_blocking_receive_on_windows_only() {
    let _g = serial();
    let sync = SyncDevice::open().expect(r"open \\.\kchan synchronously");
    let control = Device::must_open();
    control.subscribe(&only_kind(63)).expect("subscribe the control handle to a kind nobody publishes");
    sync.call(IOCTL_SUBSCRIBE, only_kind(KIND).as_bytes(), 0).expect("subscribe the sync handle");
    let pending_before = control.stats().channel.pending_receives;

    let stats_done = AtomicBool::new(false);
    let (stats_before_event, received) = std::thread::scope(|s| {
        let receiver = s.spawn(|| sync.call(IOCTL_RECV, &[], RECV_BYTES).expect("blocking RECV"));
        assert!(
            wait_until(Duration::from_secs(5), || control.stats().channel.pending_receives == pending_before + 1),
            "the blocking receive pends in the driver"
        );
        let stats = s.spawn(|| {
            let out = sync.call(IOCTL_STATS, &[], std::mem::size_of::<StatsReply>()).expect("STATS on the sync handle");
            stats_done.store(true, Ordering::Release);
            StatsReply::parse(&out).expect("valid stats").subscriber.pending_receives
        });
        // Under Wine the answer comes at once; on Windows it must not come
        // while the receive blocks the handle. Half a second is far longer
        // than a STATS takes on either system.
        wait_until(Duration::from_millis(500), || stats_done.load(Ordering::Acquire));
        let stats_before_event = stats_done.load(Ordering::Acquire);
        control.inject(&[(KIND, b"unblocks the receive")]);
        let received = receiver.join().expect("receiver thread");
        let pending_seen_by_stats = stats.join().expect("stats thread");
        if stats_before_event {
            assert_eq!(pending_seen_by_stats, 1, "STATS ran while the receive pended");
        }
        (stats_before_event, received)
    });

    let records: Vec<Record<'_>> = parse_batch(&received).expect("batch").collect();
    assert!(
        matches!(&records[..], [Record::Event { payload, .. }] if *payload == b"unblocks the receive"),
        "{records:?}"
    );
    if under_wine() {
        assert!(stats_before_event, "Wine answers STATS on a sync handle while its receive blocks");
    } else {
        assert!(!stats_before_event, "Windows must hold STATS until the sync handle's receive completes");
    }
    assert!(wait_until(Duration::from_secs(5), || control.stats().channel.pending_receives == pending_before));
}
