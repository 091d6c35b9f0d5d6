//! Throughput and loss accounting.
//!
//! - The client's 8 receives in flight on an I/O completion port while the
//!   driver's generator runs: its batches come in sequence order, contiguous
//!   with no gap, and the driver's counters agree.
//! - A tiny ring and no receive posted: exactly the dropped events appear
//!   as gap records (at the place they were lost) and in the counters, and
//!   published == delivered + dropped.
#![cfg(windows)]

use kchan::SubscribeOptions;
use kchan_e2e::{only_kind, serial, Device, RECV_BYTES};
use kchan_proto::{parse_batch, GapReason, GenConfig, Record, SubscribeConfig, IOCTL_RECV};
use std::time::{Duration, Instant};

#[test]
fn eight_receives_on_a_completion_port_see_every_generated_event() {
    let _g = serial();
    const KIND: u16 = 20;
    const K: u32 = 8;
    const EVENTS: u64 = 50_000;
    let device = kchan::Device::open().expect(r"open \\.\kchan");
    let options = SubscribeOptions::new().kinds(1 << KIND).ring_bytes(8 << 20).max_in_flight(K);
    let mut sub = device.subscribe(options).expect("subscribe");
    let start = Instant::now();
    device
        .start_generator(&GenConfig {
            kind: KIND,
            rate: 0,
            burst: 64,
            payload_bytes: 32,
            count: EVENTS,
            ..GenConfig::default()
        })
        .expect("start the generator");

    // The client hands batches over in sequence order, whatever order the
    // port delivers their completions in.
    let (mut seqs, mut lost) = (Vec::with_capacity(EVENTS as usize), 0);
    while (seqs.len() as u64) + lost < EVENTS {
        let Some(batch) = sub.next_batch_timeout(Duration::from_secs(10)).expect("receive") else {
            panic!("no receive completed within 10 s ({} events so far)", seqs.len());
        };
        for r in batch.records() {
            match r {
                Record::Event { seq, .. } => seqs.push(seq),
                Record::Gap { count, .. } => lost += count,
            }
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(lost, 0, "nothing lost with an 8 MiB ring");
    let base = seqs[0];
    assert!(seqs.iter().enumerate().all(|(i, &s)| s == base + i as u64), "contiguous sequence, in order");
    assert!(sub.next_batch_timeout(Duration::ZERO).expect("nothing more").is_none()); // posts the last receive again

    let st = device.stats().expect("stats");
    assert_eq!(st.channel.gen_produced, EVENTS, "generator counter");
    let s = st.subscriber;
    assert_eq!((s.published, s.delivered, s.dropped()), (EVENTS, EVENTS, 0));
    assert_eq!(s.pending_receives, u64::from(K), "all K receives posted again");
    eprintln!(
        "flow: {EVENTS} events in {elapsed:?} ({:.0} ev/s), {} completions ({:.1} events/completion)",
        EVENTS as f64 / elapsed.as_secs_f64(),
        s.completions,
        EVENTS as f64 / s.completions as f64
    );
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
        let n = r.wait().expect("drain RECV");
        for rec in parse_batch(&r.output()[..n]).expect("batch") {
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
