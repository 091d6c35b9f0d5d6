//! The lifetime defects the driver must not have, each as a test of the
//! real code: a second SUBSCRIBE that loses records, unload racing a
//! dispatch routine, unload giving up on a receive, requests of one handle
//! racing for its subscriber, opens that cost memory, an unbounded ring
//! total, and access that only the I/O manager checks.

use super::flow::{inject_message, stats, RW};
use crate::dispatch::{Request, FILE_READ_DATA, FILE_WRITE_DATA};
use crate::fake::FakeIo;
use crate::Config;
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;

#[test]
fn a_second_subscribe_keeps_the_waiting_records_and_the_sequence() {
    let io = FakeIo::new(Config::default());
    let (h, _) = io.open(RW);
    let five = SubscribeConfig { kind_mask: 1 << 5, ..SubscribeConfig::default() };
    assert_eq!(io.ioctl(&h, IOCTL_SUBSCRIBE, five.as_bytes(), 0).status, STATUS_SUCCESS);
    let ten: Vec<(u16, &[u8])> = (0..10).map(|_| (5, &b"waiting"[..])).collect();
    io.ioctl(&h, IOCTL_INJECT, &inject_message(&ten), 0);
    let both = SubscribeConfig { kind_mask: (1 << 5) | (1 << 6), ..SubscribeConfig::default() };
    assert_eq!(io.ioctl(&h, IOCTL_SUBSCRIBE, both.as_bytes(), 0).status, STATUS_SUCCESS);
    let s = stats(&io, &h).subscriber;
    assert_eq!((s.published, s.in_ring_records, s.next_seq), (10, 10, 10), "{s:?}");
    // A reconfigure that cannot keep them refuses and changes nothing.
    let tiny = SubscribeConfig { ring_bytes: 32 * 1024, ..both };
    let big = [0u8; 16 * 1024];
    io.ioctl(&h, IOCTL_INJECT, &inject_message(&[(6, &big), (6, &big)]), 0);
    assert_eq!(io.ioctl(&h, IOCTL_SUBSCRIBE, tiny.as_bytes(), 0).status, STATUS_INVALID_DEVICE_STATE);
    let s = stats(&io, &h).subscriber;
    assert_eq!((s.in_ring_records, s.ring_capacity), (12, 1 << 20));
    io.close(&h);
    io.unload();
}

#[test]
fn a_first_receive_gets_the_default_subscription_and_a_later_subscribe_keeps_its_records() {
    let io = FakeIo::new(Config::default());
    let (h, _) = io.open(RW);
    let r = io.ioctl(&h, IOCTL_RECV, &[], 64 * 1024);
    assert_eq!(r.status, STATUS_PENDING);
    io.cancel(&r.irp);
    io.ioctl(&h, IOCTL_INJECT, &inject_message(&[(9, b"x")]), 0);
    let only9 = SubscribeConfig { kind_mask: 1 << 9, ..SubscribeConfig::default() };
    assert_eq!(io.ioctl(&h, IOCTL_SUBSCRIBE, only9.as_bytes(), 0).status, STATUS_SUCCESS);
    assert_eq!(stats(&io, &h).subscriber.in_ring_records, 1);
    io.close(&h);
    io.unload();
}

#[test]
fn unload_waits_for_a_dispatch_routine_in_progress_and_refuses_new_ones() {
    let io = Arc::new(FakeIo::new(Config::default()));
    let (h, _) = io.open(RW);
    // Hold the channel lock, so a SUBSCRIBE is stuck inside its dispatch
    // routine (after entering the rundown and allocating its ring).
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = {
        let io = io.clone();
        std::thread::spawn(move || {
            io.device.channel.with(|_, _| {
                locked_tx.send(()).unwrap();
                release_rx.recv().unwrap();
            });
        })
    };
    locked_rx.recv().unwrap();
    let subscriber = {
        let (io, h) = (io.clone(), h.clone());
        std::thread::spawn(move || io.ioctl(&h, IOCTL_SUBSCRIBE, SubscribeConfig::default().as_bytes(), 0).status)
    };
    assert!(crate::tests::wait_until(|| io.device.dispatch.active() == 1), "SUBSCRIBE entered");
    let unloaded = Arc::new(AtomicBool::new(false));
    let unloader = {
        let (io, unloaded) = (io.clone(), unloaded.clone());
        std::thread::spawn(move || {
            let closed = io.unload();
            unloaded.store(true, Ordering::SeqCst);
            closed
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(!unloaded.load(Ordering::SeqCst), "unload must wait for the dispatch routine");
    assert_eq!(io.open(RW).1, STATUS_DELETE_PENDING, "no new dispatch once unload started");
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(subscriber.join().unwrap(), STATUS_SUCCESS, "the request in progress finished");
    assert_eq!(unloader.join().unwrap().subscribers, 1, "unload closed the subscriber it attached");
    assert_eq!(io.device.budget.used(), 0, "its ring went back");
}

#[test]
fn unload_waits_without_a_time_limit_for_a_cancel_routine_about_to_run() {
    let io = Arc::new(FakeIo::new(Config::default()));
    let (h, _) = io.open(RW);
    let r = io.ioctl(&h, IOCTL_RECV, &[], 64 * 1024);
    // IoCancelIrp took the routine; the routine itself has not run yet.
    let owned = io.begin_cancel(&r.irp).expect("the I/O manager wins the routine");
    let unloaded = Arc::new(AtomicBool::new(false));
    let unloader = {
        let (io, unloaded) = (io.clone(), unloaded.clone());
        std::thread::spawn(move || {
            io.unload();
            unloaded.store(true, Ordering::SeqCst);
        })
    };
    // Longer than any time limit an unload might have given up after
    // (the driver's earlier limit was 5 s).
    std::thread::sleep(Duration::from_millis(5_500));
    assert!(!unloaded.load(Ordering::SeqCst), "unload returned while a cancel routine had yet to run");
    io.run_cancel_routine(owned);
    unloader.join().unwrap();
    assert_eq!(r.irp.completion().unwrap().status, STATUS_CANCELLED);
    assert_eq!(r.irp.completions(), 1);
}

#[test]
fn requests_of_one_handle_at_once_bind_one_subscriber() {
    for _ in 0..50 {
        let io = Arc::new(FakeIo::new(Config::default()));
        let (h, _) = io.open(RW);
        let go = Arc::new(Barrier::new(3));
        let threads: Vec<_> = (0..3)
            .map(|i| {
                let (io, h, go) = (io.clone(), h.clone(), go.clone());
                std::thread::spawn(move || {
                    go.wait();
                    if i == 0 {
                        io.ioctl(&h, IOCTL_SUBSCRIBE, SubscribeConfig::default().as_bytes(), 0).status
                    } else {
                        let r = io.ioctl(&h, IOCTL_RECV, &[], 64 * 1024);
                        io.cancel(&r.irp);
                        r.irp.completion().map_or(STATUS_PENDING, |c| c.status)
                    }
                })
            })
            .collect();
        for t in threads {
            let status = t.join().unwrap();
            assert!(status == STATUS_SUCCESS || status == STATUS_CANCELLED, "{status:#x}");
        }
        let s = stats(&io, &h);
        assert_eq!(s.channel.subscribers, 1, "one subscriber per handle");
        assert_eq!(s.ring_budget_used, 1 << 20, "one ring per handle");
        io.close(&h);
        assert_eq!(io.unload().subscribers, 0);
        assert_eq!(io.device.budget.used(), 0);
    }
}

#[test]
fn opens_allocate_nothing_until_a_handle_subscribes() {
    let io = FakeIo::new(Config::default());
    let handles: Vec<_> = (0..5000).map(|_| io.open(RW).0).collect();
    let s = stats(&io, &handles[0]);
    assert_eq!((s.channel.subscribers, s.channel.pool_bytes, s.ring_budget_used), (0, 0, 0));
    // More handles than the subscriber table, all fine while they only
    // look; the table refuses the 65th subscriber, changing nothing.
    for h in &handles[..64] {
        assert_eq!(io.ioctl(h, IOCTL_SUBSCRIBE, SubscribeConfig::default().as_bytes(), 0).status, STATUS_SUCCESS);
    }
    let before = stats(&io, &handles[0]);
    let refused = io.ioctl(&handles[64], IOCTL_SUBSCRIBE, SubscribeConfig::default().as_bytes(), 0);
    assert_eq!(refused.status, STATUS_INSUFFICIENT_RESOURCES);
    let after = stats(&io, &handles[0]);
    assert_eq!(
        (after.channel.subscribers, after.ring_budget_used),
        (before.channel.subscribers, before.ring_budget_used)
    );
    for h in &handles {
        io.close(h);
    }
    assert_eq!(io.device.budget.used(), 0);
    assert_eq!(io.unload().subscribers, 0);
}

#[test]
fn the_ring_budget_refuses_and_changes_nothing() {
    let io = FakeIo::new(Config { ring_budget_bytes: 3 << 20, ..Config::default() });
    let ring = |mib: u32| SubscribeConfig { ring_bytes: mib << 20, ..SubscribeConfig::default() };
    let (a, _) = io.open(RW);
    let (b, _) = io.open(RW);
    assert_eq!(io.ioctl(&a, IOCTL_SUBSCRIBE, ring(2).as_bytes(), 0).status, STATUS_SUCCESS);
    let before = stats(&io, &a);
    assert_eq!((before.ring_budget_bytes, before.ring_budget_used), (3 << 20, 2 << 20));
    assert_eq!(io.ioctl(&b, IOCTL_SUBSCRIBE, ring(2).as_bytes(), 0).status, STATUS_INSUFFICIENT_RESOURCES);
    // A receive on the refused handle would attach the default 1 MiB ring,
    // which fits: the refusal left the handle unbound.
    assert_eq!(stats(&io, &b).subscriber, SubscriberStats::default());
    // Growing `a` beyond the budget: refused, `a` keeps its ring.
    assert_eq!(io.ioctl(&a, IOCTL_SUBSCRIBE, ring(3).as_bytes(), 0).status, STATUS_INSUFFICIENT_RESOURCES);
    let after = stats(&io, &a);
    assert_eq!(after.subscriber.ring_capacity, 2 << 20);
    assert_eq!((after.ring_budget_used, after.channel.subscribers), (2 << 20, 1));
    // Shrinking fits (the new ring is reserved while the old one exists).
    assert_eq!(io.ioctl(&a, IOCTL_SUBSCRIBE, ring(1).as_bytes(), 0).status, STATUS_SUCCESS);
    assert_eq!(stats(&io, &a).ring_budget_used, 1 << 20);
    io.close(&a);
    io.close(&b);
    assert_eq!(io.device.budget.used(), 0);
    io.unload();
}

#[test]
fn the_driver_refuses_publishing_on_a_handle_granted_only_read_access() {
    let io = FakeIo::new(Config::default());
    let (reader, _) = io.open(Some(FILE_READ_DATA));
    let cfg = SubscribeConfig::default();
    assert_eq!(io.ioctl(&reader, IOCTL_SUBSCRIBE, cfg.as_bytes(), 0).status, STATUS_SUCCESS);
    let r = io.ioctl(&reader, IOCTL_RECV, &[], 64 * 1024);
    assert_eq!(r.status, STATUS_PENDING);
    let gen = GenConfig { kind: 1, rate: 1, count: 1, ..GenConfig::default() };
    let message = inject_message(&[(1, b"forged")]);
    for (code, input) in [
        (IOCTL_INJECT, &message[..]),
        (IOCTL_GEN_START, gen.as_bytes()),
        (IOCTL_GEN_STOP, &[][..]),
        (IOCTL_SUBSCRIBE_WRITE_ACCESS, cfg.as_bytes()),
    ] {
        assert_eq!(io.ioctl(&reader, code, input, 0).status, STATUS_ACCESS_DENIED, "code {code:#x}");
    }
    assert_eq!(r.irp.completions(), 0, "nothing was published");
    // A handle opened with no access at all may only ask the version.
    let (nothing, _) = io.open(Some(0));
    assert_eq!(io.ioctl(&nothing, IOCTL_STATS, &[], STATS_REPLY_MIN_BYTES).status, STATUS_ACCESS_DENIED);
    assert_eq!(io.ioctl(&nothing, IOCTL_VERSION, &[], 32).status, STATUS_SUCCESS);
    // Write access publishes; an unreported access (Wine) is left to the
    // I/O manager's check of the code's access bits.
    for access in [Some(FILE_READ_DATA | FILE_WRITE_DATA), None] {
        let (writer, _) = io.open(access);
        assert_eq!(io.ioctl(&writer, IOCTL_INJECT, &message, 0).status, STATUS_SUCCESS);
        io.close(&writer);
    }
    assert_eq!(r.irp.completion().unwrap().status, STATUS_SUCCESS);
    io.close(&reader);
    io.unload();
}

#[test]
fn the_access_table_agrees_with_each_codes_access_bits() {
    for code in [
        IOCTL_VERSION,
        IOCTL_STATS,
        IOCTL_SUBSCRIBE,
        IOCTL_SUBSCRIBE_WRITE_ACCESS,
        IOCTL_RECV,
        IOCTL_INJECT,
        IOCTL_GEN_START,
        IOCTL_GEN_STOP,
    ] {
        let bits = (code >> 14) & 3;
        let from_bits = (if bits & FILE_READ_ACCESS != 0 { FILE_READ_DATA } else { 0 })
            | (if bits & FILE_WRITE_ACCESS != 0 { FILE_WRITE_DATA } else { 0 });
        assert_eq!(Request::of(code).unwrap().required_access(), from_bits, "code {code:#x}");
    }
}
