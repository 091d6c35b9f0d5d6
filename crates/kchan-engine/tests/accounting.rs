//! Channel-wide accounting when a subscriber goes away: the event records
//! still waiting in its ring are freed with it and counted dropped *at
//! close*; the losses its gap records report were counted when they
//! happened and are not counted again; the channel's counters carry the
//! subscriber's own, which die with it. Throughout, `fanout == delivered +
//! in rings + dropped` over every subscriber ever attached
//! (`check_all_invariants`).
mod common;
use common::*;
use kchan_engine::proto::{OverflowPolicy, SubscribeConfig};
use kchan_engine::SubscriberId;

/// Publishes `n` records of 56 bytes (a 32-byte payload) of kind 1.
fn publish(ch: &mut Chan, n: u8) {
    let mut sink = VecSink::default();
    for i in 0..n {
        ch.publish(1, &[i; 32], &mut sink);
    }
    assert!(sink.0.is_empty(), "no receive pends");
    assert!(ch.check_all_invariants());
}

/// Closes `id` with no receive pending; returns the records its ring held.
fn close(ch: &mut Chan, id: SubscriberId) -> u64 {
    let mut sink = VecSink::default();
    let records = ch.close(id, &mut sink).records();
    assert!(ch.check_all_invariants(), "balanced after the close");
    records
}

#[test]
fn a_close_counts_the_events_left_in_the_ring_but_not_the_pending_tail_gap() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(256, 4)); // drop-newest; 4 records of 56 bytes fit
    publish(&mut ch, 10);
    let s = ch.stats(id).unwrap();
    assert_eq!((s.in_ring_records, s.dropped_ring_full), (4, 6), "6 lost behind a tail gap");
    assert_eq!((ch.channel_stats().dropped, ch.dropped_at_close()), (6, 0));

    assert_eq!(close(&mut ch, id), 4, "the ring went with its 4 events");
    assert_eq!(ch.dropped_at_close(), 4);
    assert_eq!(ch.channel_stats().dropped, 10, "6 ring full + 4 at close");
    assert!(ch.stats(id).is_none(), "the subscriber and its counters are gone");
    assert_eq!(ch.channel_stats().fanout, 10);

    let mut sink = VecSink::default();
    assert!(ch.close(id, &mut sink).is_empty(), "a second close (CLOSE after CLEANUP) is a no-op");
    assert_eq!((ch.dropped_at_close(), ch.channel_stats().dropped), (4, 10), "counted once");
}

#[test]
fn a_gap_record_in_the_ring_is_not_counted_again_at_close() {
    let (mut ch, _) = channel();
    let oldest = SubscribeConfig { overflow: OverflowPolicy::DropOldest as u32, ..cfg(256, 4) };
    let id = subscribe(&mut ch, oldest);
    publish(&mut ch, 10);
    let s = ch.stats(id).unwrap();
    // A 48-byte gap record at the front, then 3 events: 208 of 256 bytes.
    assert_eq!((s.in_ring_records, s.in_ring_bytes, s.dropped_overwritten), (3, 48 + 3 * 56, 7));

    assert_eq!(close(&mut ch, id), 3, "events only: the gap record's 7 were counted when overwritten");
    assert_eq!((ch.dropped_at_close(), ch.channel_stats().dropped), (3, 10));
}

#[test]
fn records_delivered_before_the_close_are_not_counted() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(4096, 4));
    publish(&mut ch, 5);
    let mut sink = VecSink::default();
    let two = ch.limits().min_recv_bytes() + 60; // room for 2 records of 56 bytes
    ch.post(id, Req::new(1, two), &mut sink).unwrap();
    assert_eq!(ch.stats(id).unwrap().delivered, 2);

    assert_eq!(close(&mut ch, id), 3);
    assert_eq!((ch.dropped_at_close(), ch.channel_stats().dropped), (3, 3));
    let empty = subscribe(&mut ch, cfg(4096, 4));
    assert_eq!(close(&mut ch, empty), 0, "an empty ring discards nothing");
    assert_eq!(ch.dropped_at_close(), 3);
}

#[test]
fn a_subscriber_left_closing_by_a_canceller_is_counted_at_its_close_once() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(256, 4));
    let mut sink = VecSink::default();
    let mut owned = Req::new(1, 4096);
    owned.claimable = false; // its cancel routine has won
    ch.post(id, owned, &mut sink).unwrap();
    publish(&mut ch, 6); // the receive is the canceller's: 4 wait, 2 ring full

    let d = ch.close(id, &mut sink);
    assert_eq!(d.records(), 4);
    drop(d);
    assert!(ch.stats(id).is_some(), "closing until the canceller runs");
    assert!(ch.check_invariant(id), "a closing subscriber balances with its drops at close");
    assert!(ch.check_all_invariants());
    assert_eq!((ch.dropped_at_close(), ch.channel_stats().dropped), (4, 6));

    let (req, d) = ch.cancel_reap(id, 1);
    assert_eq!((req.map(|r| r.id), d.records()), (Some(1), 0), "the slot's queue, no ring: nothing more");
    assert!(ch.stats(id).is_none(), "slot freed; its counters now the channel's");
    assert_eq!((ch.dropped_at_close(), ch.channel_stats().dropped), (4, 6), "not counted twice");
    assert!(ch.check_all_invariants());
}

#[test]
fn a_reconfigure_keeps_the_records_and_counts_nothing() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(4096, 4));
    publish(&mut ch, 5);
    let prepared = kchan_engine::Subscriber::prepare(&cfg(8192, 4), ch.limits()).unwrap();
    let old = ch.reconfigure(id, prepared, &mut VecSink::default()).map_err(|(_, e)| e).unwrap();
    assert_eq!(old.records(), 0, "the old ring was emptied into the new one");
    assert_eq!((ch.stats(id).unwrap().in_ring_records, ch.dropped_at_close()), (5, 0));
    assert!(ch.check_all_invariants());
}

#[test]
fn closing_every_subscriber_at_unload_counts_each_ring() {
    let (mut ch, _) = channel();
    let all = subscribe(&mut ch, cfg(4096, 4));
    let _one = subscribe(&mut ch, SubscribeConfig { kind_mask: 1 << 2, ..cfg(4096, 4) });
    let full = subscribe(&mut ch, cfg(256, 4));
    publish(&mut ch, 7); // kind 1: `all` keeps 7, `full` 4 (3 ring full)
    let mut sink = VecSink::default();
    ch.publish(2, b"two", &mut sink); // all three: `full` ring full
    ch.post(all, Req::new(1, 4096), &mut sink).unwrap(); // `all` delivers its 8
    assert_eq!(ch.stats(all).unwrap().delivered, 8);
    ch.publish(1, b"late", &mut sink); // `all` 1, `full` ring full
    assert!(ch.check_all_invariants());

    // What a driver's unload does: close whatever is open.
    let mut discarded = 0;
    let open: Vec<SubscriberId> = ch.open_subscribers().collect();
    for id in open {
        discarded += close(&mut ch, id);
    }
    assert_eq!(discarded, 1 + 1 + 4, "`all` 1, `_one` 1, `full` 4");
    assert_eq!(ch.dropped_at_close(), discarded);
    let c = ch.channel_stats();
    assert_eq!((c.subscribers, c.fanout, c.dropped), (0, 9 + 1 + 9, 5 + discarded), "`full`: 5 ring full");
    assert_eq!(c.fanout, 8 + c.dropped, "every record: delivered (8) or dropped");
    assert!(ch.check_all_invariants());
    assert!(ch.stats(full).is_none());
}
