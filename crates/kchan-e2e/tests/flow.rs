//! Throughput and loss accounting (scenario 5 of issue 4).
//!
//! - 8 receives in flight on an I/O completion port while the driver's
//!   generator runs: after reordering completions by sequence number, the
//!   sequence is contiguous with no gap, and the driver's counters agree.
//! - A tiny ring and no receive posted: exactly the dropped events appear
//!   as gap records (at the place they were lost) and in the counters, and
//!   published == delivered + dropped.
#![cfg(windows)]

use kchan_e2e::{only_kind, serial, Device, RECV_BYTES};
use kchan_proto::{parse_batch, GapReason, GenConfig, Record, SubscribeConfig, IOCTL_RECV};
use std::ptr;
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{CloseHandle, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::IO::{CreateIoCompletionPort, GetQueuedCompletionStatus, OVERLAPPED};

/// One receive on the port: OVERLAPPED first, so the completion's
/// OVERLAPPED pointer is the operation's address. Never moved while posted.
#[repr(C)]
struct PortOp {
    ov: OVERLAPPED,
    buf: Vec<u8>,
}

fn post(dev: &Device, op: &mut PortOp) {
    // SAFETY: plain data; zero is the initial state (hEvent null: the
    // completion goes to the port).
    op.ov = unsafe { std::mem::zeroed() };
    let (out, len) = (op.buf.as_mut_ptr(), op.buf.len() as u32);
    // SAFETY: the handle is open and bound to the port; `op` is boxed and
    // kept alive (and unmoved) until its completion is dequeued.
    let ok = unsafe {
        windows_sys::Win32::System::IO::DeviceIoControl(
            dev.raw(),
            IOCTL_RECV,
            ptr::null(),
            0,
            out.cast(),
            len,
            ptr::null_mut(),
            &mut op.ov,
        )
    };
    if ok == 0 {
        let e = std::io::Error::last_os_error();
        assert_eq!(e.raw_os_error(), Some(997), "RECV post: {e}"); // ERROR_IO_PENDING
    }
}

#[test]
fn eight_receives_on_a_completion_port_see_every_generated_event() {
    let _g = serial();
    const KIND: u16 = 20;
    const K: usize = 8;
    const EVENTS: u64 = 50_000;
    let dev = Device::must_open();
    dev.subscribe(&SubscribeConfig { ring_bytes: 8 << 20, ..only_kind(KIND) }).expect("subscribe");
    // SAFETY: a new port for our open handle, key 1.
    let port = unsafe { CreateIoCompletionPort(dev.raw(), ptr::null_mut(), 1, 1) };
    assert!(!port.is_null() && !ptr::eq(port, INVALID_HANDLE_VALUE), "CreateIoCompletionPort");
    let mut ops: Vec<Box<PortOp>> = (0..K)
        .map(|_| {
            // SAFETY: OVERLAPPED is plain data; zero is its initial state.
            let ov = unsafe { std::mem::zeroed() };
            Box::new(PortOp { ov, buf: vec![0; RECV_BYTES] })
        })
        .collect();
    for op in &mut ops {
        post(&dev, op);
    }
    let gen_before = dev.stats().channel.gen_produced;
    let start = Instant::now();
    dev.gen_start(&GenConfig {
        kind: KIND,
        rate: 0,
        burst: 64,
        payload_bytes: 32,
        count: EVENTS,
        ..GenConfig::default()
    });

    // (first seq, event seqs) per completed batch, in completion order.
    let mut batches: Vec<(u64, Vec<u64>)> = Vec::new();
    let mut events = 0u64;
    let mut out_of_order = 0;
    let mut last_first = None;
    while events < EVENTS {
        let (mut n, mut key, mut ovp) = (0u32, 0usize, ptr::null_mut());
        // SAFETY: our port; out-pointers are live locals; 10 s timeout.
        let ok = unsafe { GetQueuedCompletionStatus(port, &mut n, &mut key, &mut ovp, 10_000) };
        assert!(ok != 0, "a receive completed in time ({events} events so far)");
        let i = ops.iter().position(|o| ptr::eq(&o.ov, ovp)).expect("one of our receives");
        let mut seqs = Vec::new();
        for r in parse_batch(&ops[i].buf[..n as usize]).expect("valid batch") {
            match r {
                Record::Event { seq, .. } => seqs.push(seq),
                Record::Gap { first_seq, count, .. } => panic!("gap of {count} at {first_seq}: nothing may be lost"),
            }
        }
        let first = seqs[0];
        if last_first.is_some_and(|l| first < l) {
            out_of_order += 1;
        }
        last_first = Some(first);
        events += seqs.len() as u64;
        batches.push((first, seqs));
        post(&dev, &mut ops[i]);
    }
    let elapsed = start.elapsed();
    // Reorder by sequence number: completions of K receives may be dequeued
    // out of order.
    batches.sort_by_key(|b| b.0);
    let all: Vec<u64> = batches.into_iter().flat_map(|b| b.1).collect();
    let base = all[0];
    assert!(all.iter().enumerate().all(|(i, &s)| s == base + i as u64), "contiguous sequence, no gap");
    assert_eq!(all.len() as u64, EVENTS);

    let st = dev.stats();
    assert_eq!(st.channel.gen_produced, EVENTS, "generator counter (was {gen_before} before)");
    let sub = st.subscriber;
    assert_eq!(sub.published, EVENTS);
    assert_eq!(sub.delivered, EVENTS);
    assert_eq!(sub.dropped(), 0);
    assert_eq!(sub.pending_receives, K as u64, "all K receives posted again");
    eprintln!(
        "flow: {EVENTS} events in {:?} ({:.0} ev/s), {} completions ({:.1} events/completion), {out_of_order} out of order",
        elapsed,
        EVENTS as f64 / elapsed.as_secs_f64(),
        sub.completions,
        EVENTS as f64 / sub.completions as f64
    );
    // Closing the handle completes the K receives; drain them before the
    // buffers go away.
    dev.close();
    for _ in 0..K {
        let (mut n, mut key, mut ovp) = (0u32, 0usize, ptr::null_mut());
        // SAFETY: as above.
        unsafe { GetQueuedCompletionStatus(port, &mut n, &mut key, &mut ovp, 5_000) };
    }
    // SAFETY: our port handle, closed once.
    unsafe { CloseHandle(port) };
}

#[test]
fn a_tiny_ring_reports_exactly_its_losses_as_gap_records_and_counters() {
    let _g = serial();
    const KIND: u16 = 21;
    const EVENTS: u64 = 2_000;
    let dev = Device::must_open();
    let min_ring = dev.version().min_recv_bytes + 64; // about the smallest ring accepted
    let ring = (min_ring + 7) & !7;
    dev.subscribe(&SubscribeConfig { ring_bytes: ring, ..only_kind(KIND) }).expect("subscribe tiny ring");
    // No receive posted: publish far more than the ring holds.
    let payload = [0x5au8; 32];
    for chunk in 0..EVENTS / 500 {
        let records: Vec<(u16, &[u8])> = (0..500).map(|_| (KIND, &payload[..])).collect();
        dev.inject(&records);
        let _ = chunk;
    }
    let st = dev.stats().subscriber;
    assert_eq!(st.published, EVENTS);
    assert!(st.dropped_ring_full > 0, "the tiny ring overflowed: {st:?}");
    assert_eq!(st.published, st.delivered + st.in_ring_records + st.dropped());

    // Drain: events and gap records must account for every sequence number.
    let (mut events, mut lost, mut gaps) = (Vec::new(), 0u64, 0u64);
    let mut covered = Vec::new(); // (first seq, count) of every record
    let deadline = Instant::now() + Duration::from_secs(10);
    while covered.iter().map(|c: &(u64, u64)| c.1).sum::<u64>() < EVENTS {
        assert!(Instant::now() < deadline, "drain finished in time");
        let mut r = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post drain");
        let n = r.wait(&dev).expect("drain RECV");
        for rec in parse_batch(&r.output[..n]).expect("batch") {
            match rec {
                Record::Event { seq, .. } => {
                    events.push(seq);
                    covered.push((seq, 1));
                }
                Record::Gap { first_seq, count, reason, .. } => {
                    assert_eq!(reason, GapReason::RingFull);
                    lost += count;
                    gaps += 1;
                    covered.push((first_seq, count));
                }
            }
        }
    }
    let mut next = covered[0].0;
    for (first, count) in &covered {
        assert_eq!(*first, next, "records and gaps cover the sequence in order, without overlap");
        next = first + count;
    }
    let st = dev.stats().subscriber;
    assert_eq!(lost, st.dropped_ring_full, "the gap records carry exactly the dropped events");
    assert_eq!(gaps, st.gaps_delivered);
    assert_eq!(events.len() as u64, st.delivered);
    assert_eq!(st.published, st.delivered + st.dropped(), "published == delivered + dropped");
    assert_eq!(st.in_ring_records, 0);
    eprintln!("tiny ring ({ring} B): {} delivered, {lost} lost in {gaps} gap records", events.len());
}
