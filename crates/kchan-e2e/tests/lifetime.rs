//! A handle's life under Wine: what opening costs, what a second SUBSCRIBE
//! keeps, what the ring budget refuses, and what a handle opened for
//! reading only may do.
#![cfg(windows)]

use kchan_e2e::service::{delete_value, write_qword, Service};
use kchan_e2e::{only_kind, serial, wait_until, Device, RECV_BYTES};
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::{
    parse_batch, GenConfig, Record, SubscribeConfig, IOCTL_GEN_START, IOCTL_GEN_STOP, IOCTL_INJECT, IOCTL_RECV,
    IOCTL_SUBSCRIBE, IOCTL_SUBSCRIBE_WRITE_ACCESS, RING_BUDGET_VALUE,
};
use std::time::Duration;
use windows_sys::Win32::Foundation::{ERROR_ACCESS_DENIED, GENERIC_READ};

/// Receives until `n` records came; returns their sequence numbers
/// (events) and fails on a gap.
fn receive_seqs(dev: &Device, n: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    while seqs.len() < n {
        let mut op = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post RECV");
        let len = op.wait().expect("RECV");
        for rec in parse_batch(&op.output()[..len]).expect("batch") {
            match rec {
                Record::Event { seq, .. } => seqs.push(seq),
                Record::Gap { first_seq, count, reason, .. } => panic!("lost {count} from #{first_seq}: {reason:?}"),
            }
        }
    }
    seqs
}

#[test]
fn a_second_subscribe_keeps_the_waiting_records_and_the_sequence() {
    let _g = serial();
    let dev = Device::must_open();
    dev.subscribe(&only_kind(5)).expect("SUBSCRIBE {5}");
    let ten: Vec<(u16, &[u8])> = (0..10).map(|_| (5u16, &b"waiting"[..])).collect();
    dev.inject(&ten);
    assert_eq!(dev.stats().subscriber.in_ring_records, 10);

    let both = SubscribeConfig { kind_mask: (1 << 5) | (1 << 6), ..SubscribeConfig::default() };
    dev.subscribe(&both).expect("SUBSCRIBE {5, 6}");
    let s = dev.stats().subscriber;
    assert_eq!((s.published, s.in_ring_records, s.next_seq, s.dropped()), (10, 10, 10, 0), "kept: {s:?}");

    dev.inject(&[(6, b"new kind")]);
    let seqs = receive_seqs(&dev, 11);
    assert_eq!(seqs, (0..11).collect::<Vec<u64>>(), "every record delivered, in order, no restart at 0");
    assert!(dev.stats().subscriber.balanced());
}

#[test]
fn opening_5000_handles_costs_no_ring_memory() {
    let _g = serial();
    let first = Device::must_open();
    let before = first.stats();
    let handles: Vec<Device> = (0..5000).map(|_| Device::must_open()).collect();
    let during = first.stats();
    assert_eq!(during.channel.subscribers, before.channel.subscribers, "an open is no subscriber");
    assert_eq!(during.ring_budget_used, before.ring_budget_used, "no ring reserved");
    assert_eq!(
        (during.channel.pool_allocations, during.channel.pool_bytes),
        (before.channel.pool_allocations, before.channel.pool_bytes),
        "no allocation per open"
    );
    drop(handles);
    // A handle that receives gets its subscriber (and ring) then.
    let mut r = first.post(IOCTL_RECV, &[], RECV_BYTES).expect("post RECV");
    assert!(r.pended());
    let after = first.stats();
    assert_eq!(after.channel.subscribers, before.channel.subscribers + 1);
    assert_eq!(after.ring_budget_used, before.ring_budget_used + u64::from(SubscribeConfig::default().ring_bytes));
    first.cancel(&mut r).expect("CancelIoEx");
    assert!(r.wait_timeout(Duration::from_millis(5_000)));
}

/// Sets `RingBudgetBytes` and restarts the driver so it reads it; the
/// guard removes the value and restarts again.
struct Budget {
    service: Service,
}

impl Budget {
    fn set(bytes: u64) -> Budget {
        let service = Service::open();
        write_qword(RING_BUDGET_VALUE, bytes);
        service.stop();
        assert!(service.start(), "restarted with the budget");
        Budget { service }
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        delete_value(RING_BUDGET_VALUE);
        if self.service.running() {
            self.service.stop();
        }
        // Service's drop starts it again, with the default budget.
    }
}

#[test]
fn the_ring_budget_refuses_a_subscribe_and_changes_nothing() {
    let _g = serial();
    const MIB: u32 = 1 << 20;
    let _budget = Budget::set(u64::from(5 * MIB / 2));
    let mut probe = None;
    assert!(wait_until(Duration::from_secs(10), || {
        probe = Device::open().ok();
        probe.is_some()
    }));
    let probe = probe.expect("opened");
    let base = probe.stats();
    assert_eq!(base.ring_budget_bytes, u64::from(5 * MIB / 2), "the service key's value is the budget");

    let ring = |bytes: u32| SubscribeConfig { ring_bytes: bytes, ..only_kind(20) };
    let a = Device::must_open();
    a.subscribe(&ring(MIB)).expect("1 MiB fits");
    let b = Device::must_open();
    b.subscribe(&ring(MIB)).expect("2 MiB fit");
    let before = probe.stats();
    assert_eq!(before.ring_budget_used, base.ring_budget_used + u64::from(2 * MIB));

    // A third 1 MiB ring does not fit: refused, and nothing changed.
    let c = Device::must_open();
    let err = c.subscribe(&ring(MIB)).expect_err("over the budget");
    let insufficient = |e: &kchan::Error| matches!(e, kchan::Error::Request { ntstatus, .. } if *ntstatus == kchan_proto::STATUS_INSUFFICIENT_RESOURCES);
    assert!(insufficient(&err), "STATUS_INSUFFICIENT_RESOURCES: {err}");
    let after = probe.stats();
    assert_eq!(after.ring_budget_used, before.ring_budget_used);
    assert_eq!(after.channel.subscribers, before.channel.subscribers);
    assert_eq!(
        (after.channel.pool_allocations, after.channel.pool_bytes),
        (before.channel.pool_allocations, before.channel.pool_bytes)
    );
    assert_eq!(c.stats().subscriber.ring_capacity, 0, "the refused handle has no subscriber");

    // Growing a subscriber past the budget is refused too, keeping its ring.
    a.inject(&[(20, b"kept")]);
    let err = a.subscribe(&ring(2 * MIB)).expect_err("growing over the budget");
    assert!(insufficient(&err), "STATUS_INSUFFICIENT_RESOURCES: {err}");
    let s = a.stats().subscriber;
    assert_eq!((s.ring_capacity, s.in_ring_records), (u64::from(MIB), 1), "unchanged: {s:?}");

    // Closing a handle gives its ring back.
    drop(b);
    assert!(
        wait_until(Duration::from_secs(5), || probe.stats().ring_budget_used == base.ring_budget_used + u64::from(MIB))
    );
    c.subscribe(&ring(MIB)).expect("fits again");
}

#[test]
fn a_read_only_handle_subscribes_and_receives_but_cannot_publish() {
    let _g = serial();
    let reader = Device::open_with_access(GENERIC_READ).expect("open for reading");
    reader.subscribe(&only_kind(21)).expect("SUBSCRIBE needs read access only");
    let writer = Device::must_open();
    writer.inject(&[(21, b"for the reader")]);
    assert_eq!(receive_seqs(&reader, 1), vec![0]);

    // Publishing and the generator need write access. Under Wine this
    // refusal comes from the I/O manager, which checks the IOCTL code's
    // access bits against the handle (Wine gives the driver no security
    // context at CREATE, so the driver's own check, shown by the
    // kchan-driver host tests, has nothing to compare with here).
    let message = kchan_e2e::inject_message(&[(21, b"forged")]);
    for (code, input) in [
        (IOCTL_INJECT, message.clone()),
        (IOCTL_GEN_START, GenConfig { kind: 21, rate: 1, count: 1, ..GenConfig::default() }.as_bytes().to_vec()),
        (IOCTL_GEN_STOP, Vec::new()),
        (IOCTL_SUBSCRIBE_WRITE_ACCESS, only_kind(21).as_bytes().to_vec()),
    ] {
        let err = reader.call(code, &input, 0).expect_err("needs write access");
        assert_eq!(err.raw_os_error(), Some(ERROR_ACCESS_DENIED as i32), "code {code:#x}: {err}");
    }
    assert_eq!(reader.stats().subscriber.published, 1, "nothing forged reached the reader");
    // The new SUBSCRIBE code is the one that asks for read access only.
    assert_eq!((IOCTL_SUBSCRIBE >> 14) & 3, kchan_proto::FILE_READ_ACCESS);
}
