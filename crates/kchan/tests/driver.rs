//! The client library against the real driver, under Wine.
//!
//! Run by `cargo xtask test` (layer `e2e`) with `kchan.sys` loaded and one
//! test at a time. Each test opens its own handles (its own subscribers) and
//! checks what it receives against the driver's own counters.
#![cfg(windows)]

use futures_util::StreamExt;
use kchan::proto::zerocopy::IntoBytes;
use kchan::proto::Record;
use kchan::{Device, Error, EventStream, GapReason, GenConfig, Item, OverflowPolicy, SubscribeOptions};
use std::time::Duration;

fn payload(i: u32) -> [u8; 32] {
    let mut p = [0u8; 32];
    p[..4].copy_from_slice(&i.to_le_bytes());
    p
}

/// Receives owned items until `n` events arrived (or fails after 10 s).
fn receive_events(sub: &mut kchan::Subscription, n: usize) -> Vec<Item> {
    let mut items = Vec::new();
    let mut events = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while events < n {
        assert!(std::time::Instant::now() < deadline, "only {events} of {n} events arrived");
        if let Some(batch) = sub.next_batch_timeout(Duration::from_millis(500)).unwrap() {
            for r in batch.records() {
                if matches!(r, Record::Event { .. }) {
                    events += 1;
                }
                items.push(Item::from_record(&r));
            }
        }
    }
    items
}

#[test]
fn a_missing_driver_gets_an_error_that_says_how_to_install_it() {
    let err = Device::open_path(r"\\.\kchan-not-there").err().expect("no such device");
    assert!(matches!(err, Error::DriverNotLoaded), "{err:?}");
    assert!(err.to_string().contains("kchan driver install"), "{err}");
}

#[test]
fn control_calls_go_through_while_receives_pend() {
    let device = Device::open().unwrap();
    let sub = device.subscribe(SubscribeOptions::new().max_in_flight(8)).unwrap();
    let stats = device.stats().unwrap();
    assert_eq!(stats.subscriber.pending_receives, 8, "{stats:?}");
    assert_eq!(sub.pending_receives(), 8);
}

#[test]
fn injected_events_arrive_in_order_with_their_bytes() {
    let device = Device::open().unwrap();
    let mut sub = device.subscribe(SubscribeOptions::new().max_in_flight(8)).unwrap();
    let n = 3000u32;
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let payloads: Vec<[u8; 32]> = chunk.iter().map(|&i| payload(i)).collect();
        device.inject(payloads.iter().map(|p| (7u16, &p[..]))).unwrap();
    }
    let items = receive_events(&mut sub, n as usize);
    let events: Vec<_> = items
        .iter()
        .map(|i| match i {
            Item::Event(e) => e,
            Item::Gap(g) => panic!("unexpected gap {g:?}"),
        })
        .collect();
    let first = events[0].seq;
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, first + i as u64, "sequence numbers are contiguous");
        assert_eq!(e.kind, 7);
        assert_eq!(e.payload, payload(i as u32));
    }
    let s = device.stats().unwrap().subscriber;
    assert_eq!(s.delivered, n as u64);
    assert_eq!(s.dropped_ring_full + s.dropped_overwritten, 0);
    let c = sub.client_stats();
    assert_eq!(c.events, n as u64);
    assert!(c.completions < n as u64, "batched: {} completions for {n} events", c.completions);
}

/// A receive posted while records wait completes inside its post, and the
/// client takes its batch at once (the handle queues no completion packet
/// for it): without that, `completed_at_once` stays 0.
#[test]
fn a_receive_posted_while_records_wait_completes_inside_its_post() {
    let device = Device::open().unwrap();
    let mut sub = device.subscribe(SubscribeOptions::new().max_in_flight(1)).unwrap();
    device.inject([(3u16, &payload(0)[..])]).unwrap();
    let first = sub.next_batch_timeout(Duration::from_secs(5)).unwrap().expect("the pending receive completed");
    assert_eq!(first.records().count(), 1);
    // The batch is in hand, so no receive pends while these are published.
    let payloads: Vec<[u8; 32]> = (1..4).map(payload).collect();
    device.inject(payloads.iter().map(|p| (3u16, &p[..]))).unwrap();
    let items = receive_events(&mut sub, 3);
    assert!(
        matches!(&items[..], [Item::Event(a), _, Item::Event(c)] if a.payload == payload(1) && c.payload == payload(3))
    );
    let c = sub.client_stats();
    assert_eq!((c.events, c.completions), (4, 2), "{c:?}");
    assert_eq!(c.completed_at_once, 1, "{c:?}");
}

#[test]
fn losses_reach_the_caller_as_gap_values_matching_the_driver_counters() {
    let device = Device::open().unwrap();
    // One receive in flight and a ring of ~360 records: one inject of 1500
    // overflows it while the receive is busy.
    let options = SubscribeOptions::new().max_in_flight(1).ring_bytes(20 * 1024).overflow(OverflowPolicy::DropNewest);
    let mut sub = device.subscribe(options).unwrap();
    let payloads: Vec<[u8; 32]> = (0..1500).map(payload).collect();
    device.inject(payloads.iter().map(|p| (1u16, &p[..]))).unwrap();
    let driver = device.stats().unwrap().subscriber;
    assert!(driver.dropped_ring_full > 0, "the ring overflowed: {driver:?}");
    let delivered_expected = 1500 - driver.dropped_ring_full;
    let items = receive_events(&mut sub, delivered_expected as usize);
    let mut next = None;
    let mut lost = 0;
    for item in &items {
        let (start, end) = match item {
            Item::Event(e) => (e.seq, e.seq + 1),
            Item::Gap(g) => {
                assert_eq!(g.reason, GapReason::RingFull);
                lost += g.count;
                (g.first_seq, g.first_seq + g.count)
            }
        };
        if let Some(n) = next {
            assert_eq!(start, n, "events and gaps together cover every sequence number");
        }
        next = Some(end);
    }
    assert_eq!(lost, driver.dropped_ring_full, "gap records report exactly the dropped events");
    assert_eq!(sub.client_stats().lost, lost);
    let after = device.stats().unwrap().subscriber;
    assert_eq!(after.published, after.delivered + after.dropped_ring_full + after.in_ring_records);
}

/// Dropping a subscription cancels every receive it has in flight and
/// waits for each: afterwards none pends in the driver, and each one that
/// pended at the drop left the driver exactly once, completed with a batch
/// (under load) or cancelled. With nothing published, all are cancelled.
#[test]
fn dropping_subscriptions_mid_stream_cancels_each_receive_once() {
    let watcher = Device::open().unwrap();
    let before = watcher.stats().unwrap().channel;
    let drop_one = |max_in_flight: u32, batches: u32| {
        let device = Device::open().unwrap();
        let mut sub = device.subscribe(SubscribeOptions::new().max_in_flight(max_in_flight)).unwrap();
        for _ in 0..batches {
            let _ = sub.next_batch_timeout(Duration::from_millis(200)).unwrap();
        }
        let at_drop = device.stats().unwrap().subscriber;
        drop(sub); // with receives in flight, and a batch possibly lent out
        let after = device.stats().unwrap().subscriber;
        assert_eq!(after.pending_receives, 0, "no receive left pending");
        let left = (after.cancels + after.completions) - (at_drop.cancels + at_drop.completions);
        assert_eq!(left, at_drop.pending_receives, "each pending receive left once: {at_drop:?} -> {after:?}");
        (at_drop.pending_receives, after.cancels - at_drop.cancels)
    };
    watcher.start_generator(&GenConfig { rate: 0, ..GenConfig::default() }).unwrap();
    for round in 0..20u32 {
        drop_one(1 + round % 8, round % 4);
    }
    watcher.stop_generator().unwrap();
    for max_in_flight in [1, 4, 8] {
        let (pending, cancelled) = drop_one(max_in_flight, 0);
        assert_eq!((pending, cancelled), (u64::from(max_in_flight), u64::from(max_in_flight)), "idle: all cancelled");
    }
    let after = watcher.stats().unwrap().channel;
    assert_eq!(after.pending_receives, before.pending_receives, "no receive left pending");
    assert_eq!(after.subscribers, before.subscribers, "every subscriber closed");
}

#[test]
fn the_stream_works_on_a_plain_executor_and_drops_cleanly() {
    let device = Device::open().unwrap();
    let before = device.stats().unwrap().channel.pending_receives;
    let mut stream = EventStream::subscribe(&device, SubscribeOptions::new().max_in_flight(4)).unwrap();
    let payloads: Vec<[u8; 32]> = (0..200).map(payload).collect();
    device.inject(payloads.iter().map(|p| (3u16, &p[..]))).unwrap();
    let received = futures_executor::block_on(async {
        let mut n = 0;
        while n < 200 {
            let batch = stream.next().await.expect("stream open").expect("batch");
            n += batch.items().filter(|i| matches!(i, Item::Event(_))).count();
        }
        n
    });
    assert_eq!(received, 200);
    drop(stream);
    let after = device.stats().unwrap().channel.pending_receives;
    assert_eq!(after, before, "the stream's receives were all completed before drop returned");
}

#[test]
fn refused_requests_carry_the_drivers_ntstatus() {
    let device = Device::open().unwrap();
    let unknown = kchan::proto::ctl_code(0x22, 0x8FF, 0, 0);
    match device.raw_control(unknown, &[], &mut []) {
        Err(Error::Request { ntstatus, .. }) => assert_eq!(ntstatus, kchan::proto::STATUS_INVALID_DEVICE_REQUEST),
        other => panic!("unknown IOCTL: {other:?}"),
    }
    let mut small = [0u8; 8];
    match device.raw_control(kchan::proto::IOCTL_STATS, &[], &mut small) {
        Err(Error::Request { ntstatus, .. }) => assert_eq!(ntstatus, kchan::proto::STATUS_BUFFER_TOO_SMALL),
        other => panic!("small output: {other:?}"),
    }
    // A config the driver refuses (K = 0), sent as it is.
    let config = kchan::proto::SubscribeConfig { max_in_flight: 0, ..Default::default() };
    let err = device.raw_control(kchan::proto::IOCTL_SUBSCRIBE, config.as_bytes(), &mut []).expect_err("K = 0");
    assert!(
        matches!(err, Error::Request { ntstatus, .. } if ntstatus == kchan::proto::STATUS_INVALID_PARAMETER),
        "{err:?}"
    );
    assert!(err.to_string().contains("STATUS_INVALID_PARAMETER"), "{err}");
    device.stats().expect("the driver keeps serving");
}

#[test]
fn options_beyond_the_drivers_limits_are_refused_before_anything_is_sent() {
    let device = Device::open().unwrap();
    let limit = device.version().max_in_flight;
    let err = device.subscribe(SubscribeOptions::new().max_in_flight(limit + 36)).err().expect("above the limit");
    assert!(
        matches!(err, Error::OutOfRange { what: "receives in flight", max, .. } if max == u64::from(limit)),
        "{err:?}"
    );
    assert!(err.to_string().contains(&format!("1 to {limit}")), "{err}");
    // The refusal left the handle free: the limit itself is accepted.
    let sub = device.subscribe(SubscribeOptions::new().max_in_flight(limit)).expect("the limit itself");
    assert_eq!(sub.pending_receives(), limit as usize);
}
