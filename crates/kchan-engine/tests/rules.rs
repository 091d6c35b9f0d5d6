//! One test per rule of the channel.
mod common;
use common::*;
use kchan_engine::proto::{CompletionPolicy, GapReason, OverflowPolicy, ProtoError, ONE_EVENT_PER_COMPLETION};
use kchan_engine::{EngineError, Outcome, Subscriber};

fn ev(seq: u64, p: &[u8]) -> Rec {
    Rec::Ev { seq, kind: 1, payload: p.to_vec() }
}

#[test]
fn post_then_publish_completes_at_first_record() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(4096, 4));
    let mut sink = VecSink::default();
    ch.post(id, Req::new(1, 1024), &mut sink).unwrap();
    ch.post(id, Req::new(2, 1024), &mut sink).unwrap();
    assert!(sink.0.is_empty());
    assert_eq!(ch.publish(1, b"hello", &mut sink), 1);
    assert_eq!(sink.0.len(), 1);
    let (req, out) = sink.0.pop().unwrap();
    assert_eq!(req.id, 1, "FIFO");
    assert_eq!(decode(&req, out), vec![ev(0, b"hello")]);
    assert_eq!(ch.stats(id).unwrap().pending_receives, 1);
    assert!(ch.check_invariant(id));
}

#[test]
fn post_with_waiting_records_completes_at_once_with_whole_records_that_fit() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(4096, 4));
    let mut sink = VecSink::default();
    for i in 0..10u8 {
        ch.publish(1, &[i; 32], &mut sink); // 56 bytes each
    }
    let min = ch.limits().min_recv_bytes(); // 16 + 88
    ch.post(id, Req::new(1, min + 60), &mut sink).unwrap(); // room for 164-16 = 148 bytes: 2 records
    let (req, out) = sink.0.pop().unwrap();
    assert_eq!(decode(&req, out), vec![ev(0, &[0; 32]), ev(1, &[1; 32])]);
    assert_eq!(req.buf[8] & 1, 1, "BATCH_MORE set");
    ch.post(id, Req::new(2, 4096), &mut sink).unwrap();
    let (req, out) = sink.0.pop().unwrap();
    assert_eq!(decode(&req, out).len(), 8);
    let s = ch.stats(id).unwrap();
    assert_eq!((s.published, s.delivered, s.in_ring_records), (10, 10, 0));
}

#[test]
fn filter_selects_kinds_and_bad_publishes_are_refused() {
    let (mut ch, _) = channel();
    let a = subscribe(&mut ch, kchan_engine::proto::SubscribeConfig { kind_mask: 1 << 3, ..cfg(4096, 4) });
    let b = subscribe(&mut ch, cfg(4096, 4));
    let mut sink = VecSink::default();
    assert_eq!(ch.publish(3, b"x", &mut sink), 2);
    assert_eq!(ch.publish(4, b"x", &mut sink), 1);
    assert_eq!(ch.publish(64, b"x", &mut sink), 0);
    assert_eq!(ch.publish(1, &[0; 65], &mut sink), 0);
    assert_eq!(ch.stats(a).unwrap().published, 1);
    assert_eq!(ch.stats(b).unwrap().published, 2);
    assert_eq!(ch.channel_stats().rejected, 2);
}

#[test]
fn drop_newest_counts_and_reports_gap_in_place() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(256, 4)); // 4 records of 56 bytes fit (224)
    let mut sink = VecSink::default();
    for i in 0..10u8 {
        ch.publish(1, &[i; 32], &mut sink);
        assert!(ch.check_invariant(id));
    }
    let s = ch.stats(id).unwrap();
    assert_eq!((s.in_ring_records, s.dropped_ring_full), (4, 6));
    // Drain 2, then publish again: gap (seq 4..10) goes before the new record.
    ch.post(id, Req::new(1, 104 + 56), &mut sink).unwrap();
    let (r, o) = sink.0.pop().unwrap();
    assert_eq!(decode(&r, o), vec![ev(0, &[0; 32]), ev(1, &[1; 32])]);
    ch.publish(1, b"new", &mut sink);
    ch.post(id, Req::new(2, 4096), &mut sink).unwrap();
    let (r, o) = sink.0.pop().unwrap();
    assert_eq!(
        decode(&r, o),
        vec![
            ev(2, &[2; 32]),
            ev(3, &[3; 32]),
            Rec::Gap { first: 4, count: 6, reason: GapReason::RingFull },
            ev(10, b"new")
        ]
    );
    assert!(ch.check_invariant(id));
}

#[test]
fn drop_newest_tail_gap_is_delivered_when_ring_drains() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(256, 4));
    let mut sink = VecSink::default();
    for i in 0..6u8 {
        ch.publish(1, &[i; 32], &mut sink);
    }
    ch.post(id, Req::new(1, 4096), &mut sink).unwrap();
    let (r, o) = sink.0.pop().unwrap();
    let recs = decode(&r, o);
    assert_eq!(recs.len(), 5);
    assert_eq!(recs[4], Rec::Gap { first: 4, count: 2, reason: GapReason::RingFull });
    assert_eq!(ch.stats(id).unwrap().gaps_delivered, 1);
}

#[test]
fn drop_oldest_overwrites_and_puts_gap_at_front() {
    let (mut ch, _) = channel();
    let c = kchan_engine::proto::SubscribeConfig { overflow: OverflowPolicy::DropOldest as u32, ..cfg(256, 4) };
    let id = subscribe(&mut ch, c);
    let mut sink = VecSink::default();
    for i in 0..10u8 {
        ch.publish(1, &[i; 32], &mut sink);
        assert!(ch.check_invariant(id));
    }
    let s = ch.stats(id).unwrap();
    assert_eq!(s.dropped_overwritten + s.in_ring_records, 10);
    ch.post(id, Req::new(1, 4096), &mut sink).unwrap();
    let (r, o) = sink.0.pop().unwrap();
    let recs = decode(&r, o);
    let Rec::Gap { first: 0, count, reason: GapReason::Overwritten } = recs[0] else { panic!("{recs:?}") };
    assert_eq!(count, s.dropped_overwritten);
    let seqs: Vec<u64> = recs[1..].iter().map(|r| if let Rec::Ev { seq, .. } = r { *seq } else { 99 }).collect();
    assert_eq!(seqs, (count..10).collect::<Vec<_>>(), "newest kept, in order");
}

#[test]
fn one_event_per_completion() {
    let (mut ch, _) = channel();
    let c = kchan_engine::proto::SubscribeConfig { flags: ONE_EVENT_PER_COMPLETION, ..cfg(4096, 8) };
    let id = subscribe(&mut ch, c);
    let mut sink = VecSink::default();
    for i in 0..3u8 {
        ch.publish(1, &[i], &mut sink);
    }
    post_receives(&mut ch, id, 3, &mut sink);
    assert_eq!(sink.0.len(), 3);
    for (i, (r, o)) in sink.0.iter().enumerate() {
        assert_eq!(decode(r, *o), vec![ev(i as u64, &[i as u8])]);
    }
}

/// A one-event consumer that falls behind gets every event it can take one
/// per receive, and the loss report on top: the gap goes with the event
/// after it (or, at the end of the ring, the one before it), never alone.
#[test]
fn one_event_gap_travels_with_the_next_event() {
    let (mut ch, _) = channel();
    let c = kchan_engine::proto::SubscribeConfig { flags: ONE_EVENT_PER_COMPLETION, ..cfg(256, 4) };
    let id = subscribe(&mut ch, c);
    let mut sink = VecSink::default();
    for i in 0..10u8 {
        ch.publish(1, &[i; 32], &mut sink); // 4 fit, 6 dropped: a tail gap
    }
    post_receives(&mut ch, id, 2, &mut sink);
    ch.publish(1, b"new", &mut sink); // the gap is written in front of it
    for k in 2..6 {
        ch.post(id, Req::new(k, 4096), &mut sink).unwrap();
    }
    let got: Vec<Vec<Rec>> = sink.0.iter().map(|(r, o)| decode(r, *o)).collect();
    let gap = Rec::Gap { first: 4, count: 6, reason: GapReason::RingFull };
    assert_eq!(
        got,
        vec![
            vec![ev(0, &[0; 32])],
            vec![ev(1, &[1; 32])],
            vec![ev(2, &[2; 32])],
            vec![ev(3, &[3; 32])],
            vec![gap, ev(10, b"new")],
        ]
    );
    let s = ch.stats(id).unwrap();
    assert_eq!((s.completions, s.delivered, s.gaps_delivered, s.pending_receives), (5, 5, 1, 1));
    assert!(ch.check_invariant(id));
}

#[test]
fn one_event_tail_gap_goes_with_the_last_event() {
    let (mut ch, _) = channel();
    let c = kchan_engine::proto::SubscribeConfig { flags: ONE_EVENT_PER_COMPLETION, ..cfg(256, 4) };
    let id = subscribe(&mut ch, c);
    let mut sink = VecSink::default();
    for i in 0..6u8 {
        ch.publish(1, &[i; 32], &mut sink);
    }
    post_receives(&mut ch, id, 4, &mut sink);
    let last = decode(&sink.0[3].0, sink.0[3].1);
    assert_eq!(last, vec![ev(3, &[3; 32]), Rec::Gap { first: 4, count: 2, reason: GapReason::RingFull }]);
    assert!(sink.0.iter().all(|(r, o)| decode(r, *o).iter().filter(|r| matches!(r, Rec::Ev { .. })).count() == 1));
    ch.post(id, Req::new(9, 4096), &mut sink).unwrap();
    assert_eq!(sink.0.len(), 4, "nothing waits: the receive pends");
}

#[test]
fn one_event_drop_oldest_gap_goes_with_the_event_after_it() {
    let (mut ch, _) = channel();
    let c = kchan_engine::proto::SubscribeConfig {
        flags: ONE_EVENT_PER_COMPLETION,
        overflow: OverflowPolicy::DropOldest as u32,
        ..cfg(256, 4)
    };
    let id = subscribe(&mut ch, c);
    let mut sink = VecSink::default();
    for i in 0..10u8 {
        ch.publish(1, &[i; 32], &mut sink);
    }
    ch.post(id, Req::new(1, 4096), &mut sink).unwrap();
    let first = decode(&sink.0[0].0, sink.0[0].1);
    let [Rec::Gap { first: 0, count, reason: GapReason::Overwritten }, Rec::Ev { seq, .. }] = first[..] else {
        panic!("{first:?}")
    };
    assert_eq!(seq, count, "the first event kept follows the gap");
    assert!(ch.check_invariant(id));
}

/// A source that can hold its events back asks before publishing.
#[test]
fn has_room_counts_consuming_subscribers_only() {
    let (mut ch, _) = channel();
    let a = subscribe(&mut ch, kchan_engine::proto::SubscribeConfig { kind_mask: 1 << 1, ..cfg(256, 4) });
    let idle = subscribe(&mut ch, kchan_engine::proto::SubscribeConfig { kind_mask: 1 << 1, ..cfg(256, 4) });
    let mut sink = VecSink::default();
    assert!(ch.has_room(1, 256), "nobody consumes yet: nothing to wait for");
    ch.post(a, Req::new(1, 104), &mut sink).unwrap(); // a is consuming now
    for i in 0..4u8 {
        ch.publish(1, &[i; 32], &mut sink); // the first completes the receive; 3 stay (168 bytes)
    }
    assert!(ch.has_room(1, 88) && !ch.has_room(1, 89), "256 - 168 bytes left in a");
    assert!(ch.has_room(2, 4096), "no subscriber of kind 2");
    ch.publish(1, &[9; 64], &mut sink); // 88 bytes: fills a, and the idle one drops
    assert!(!ch.has_room(1, 8));
    ch.publish(1, &[9; 8], &mut sink); // dropped in a: a tail gap takes its room first
    ch.post(a, Req::new(2, 104), &mut sink).unwrap(); // drains one record of 56 bytes
    assert!(!ch.has_room(1, 56) && ch.has_room(1, 8), "56 free, 48 of them for the gap record");
    assert!(ch.stats(idle).unwrap().dropped_ring_full > 0, "the idle subscriber dropped, and did not count");
}

#[test]
fn post_refusals_hand_the_request_back() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(4096, 1));
    let mut sink = VecSink::default();
    let small = ch.limits().min_recv_bytes() - 1;
    let (r, e) = ch.post(id, Req::new(1, small), &mut sink).unwrap_err();
    assert_eq!((r.id, e), (1, EngineError::BufferTooSmall));
    ch.post(id, Req::new(2, 4096), &mut sink).unwrap();
    let (r, e) = ch.post(id, Req::new(3, 4096), &mut sink).unwrap_err();
    assert_eq!((r.id, e), (3, EngineError::TooManyPending));
    let bogus = kchan_engine::SubscriberId::from_u64(0xdead_0000_0007);
    assert_eq!(ch.post(bogus, Req::new(4, 4096), &mut sink).unwrap_err().1, EngineError::NoSuchSubscriber);
    assert_eq!(ch.stats(id).unwrap().rejected_posts, 2);
}

#[test]
fn prepare_checks_limits() {
    let l = small_limits();
    let e = |c| Subscriber::<Req>::prepare(&c, &l).err();
    assert_eq!(e(cfg(64, 1)), Some(EngineError::InvalidConfig(ProtoError::InvalidParameter)));
    assert_eq!(e(cfg(2 << 20, 1)), Some(EngineError::InvalidConfig(ProtoError::TooLarge)));
    assert_eq!(e(cfg(4096, 17)), Some(EngineError::InvalidConfig(ProtoError::TooLarge)));
    assert_eq!(e(cfg(4095, 1)), Some(EngineError::InvalidConfig(ProtoError::Misaligned)));
}

#[test]
fn table_full_returns_prepared() {
    let (mut ch, _) = channel();
    for _ in 0..8 {
        subscribe(&mut ch, cfg(4096, 1));
    }
    let p = Subscriber::prepare(&cfg(4096, 1), ch.limits()).unwrap();
    assert_eq!(ch.attach(p).err().map(|e| e.1), Some(EngineError::TooManySubscribers));
}

#[test]
fn cancel_removes_exactly_once() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(4096, 4));
    let mut sink = VecSink::default();
    ch.post(id, Req::new(1, 4096), &mut sink).unwrap();
    ch.post(id, Req::new(2, 4096), &mut sink).unwrap();
    assert_eq!(ch.cancel(id, 1).map(|r| r.id), Some(1));
    assert!(ch.cancel(id, 1).is_none());
    ch.publish(1, b"a", &mut sink);
    assert_eq!(sink.0[0].0.id, 2);
    assert!(ch.cancel(id, 2).is_none(), "already completed");
    assert_eq!(ch.stats(id).unwrap().cancels, 1);
}

#[test]
fn unclaimable_request_is_left_for_its_canceller() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(4096, 4));
    let mut sink = VecSink::default();
    let mut r = Req::new(1, 4096);
    r.claimable = false;
    ch.post(id, r, &mut sink).unwrap();
    ch.post(id, Req::new(2, 4096), &mut sink).unwrap();
    ch.publish(1, b"a", &mut sink);
    assert_eq!(sink.0.len(), 1);
    assert_eq!(sink.0[0].0.id, 2, "skipped the one its canceller owns");
    assert_eq!(ch.cancel(id, 1).map(|r| r.id), Some(1));
}

#[test]
fn close_hands_back_pending_and_frees_slot() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(4096, 4));
    let mut sink = VecSink::default();
    ch.post(id, Req::new(1, 4096), &mut sink).unwrap();
    ch.post(id, Req::new(2, 4096), &mut sink).unwrap();
    let d = ch.close(id, &mut sink);
    assert!(!d.is_empty());
    assert_eq!(
        sink.0.iter().map(|(r, o)| (r.id, *o)).collect::<Vec<_>>(),
        vec![(1, Outcome::Closed), (2, Outcome::Closed)]
    );
    assert!(ch.stats(id).is_none());
    assert!(ch.close(id, &mut sink).is_empty(), "second close is a no-op");
    assert_eq!(ch.publish(1, b"x", &mut sink), 0);
    let id2 = subscribe(&mut ch, cfg(4096, 4));
    assert_ne!(id, id2, "generation changed");
}

#[test]
fn close_with_racing_canceller_stays_closing_until_cancel() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(4096, 4));
    let mut sink = VecSink::default();
    let mut r = Req::new(1, 4096);
    r.claimable = false;
    ch.post(id, r, &mut sink).unwrap();
    ch.post(id, Req::new(2, 4096), &mut sink).unwrap();
    let d = ch.close(id, &mut sink);
    assert_eq!(sink.0.len(), 1);
    assert!(!d.is_empty(), "ring returned at once");
    assert!(ch.stats(id).is_some(), "closing");
    assert_eq!(ch.publish(1, b"x", &mut sink), 0, "out of fan-out");
    assert_eq!(ch.post(id, Req::new(3, 4096), &mut sink).unwrap_err().1, EngineError::Closing);
    let (r, d) = ch.cancel_reap(id, 1);
    assert_eq!(r.map(|r| r.id), Some(1));
    assert!(!d.is_empty(), "queue memory returned");
    assert!(ch.stats(id).is_none(), "slot freed");
    assert_eq!(ch.channel_stats().subscribers, 0);
}

fn policy_cfg(p: CompletionPolicy) -> kchan_engine::proto::SubscribeConfig {
    kchan_engine::proto::SubscribeConfig { completion: p as u32, max_delay_us: 100, min_records: 3, ..cfg(4096, 8) }
}

#[test]
fn coalesce_waits_for_min_records_or_deadline() {
    let (mut ch, clock) = channel();
    let id = subscribe(&mut ch, policy_cfg(CompletionPolicy::Coalesce));
    let mut sink = VecSink::default();
    ch.post(id, Req::new(1, 4096), &mut sink).unwrap();
    ch.post(id, Req::new(2, 4096), &mut sink).unwrap();
    ch.publish(1, b"a", &mut sink);
    ch.publish(1, b"b", &mut sink);
    assert!(sink.0.is_empty());
    ch.publish(1, b"c", &mut sink);
    assert_eq!(decode(&sink.0[0].0, sink.0[0].1).len(), 3);
    clock.set(10);
    ch.publish(1, b"d", &mut sink);
    assert_eq!(ch.next_deadline(), Some(10 + 1000));
    ch.on_timer(1009, &mut sink);
    assert_eq!(sink.0.len(), 1);
    ch.on_timer(1010, &mut sink);
    assert_eq!(sink.0.len(), 2);
    assert_eq!(ch.next_deadline(), None);
}

#[test]
fn adaptive_holds_after_completion_until_a_post() {
    let (mut ch, clock) = channel();
    let id = subscribe(&mut ch, policy_cfg(CompletionPolicy::Adaptive));
    let mut sink = VecSink::default();
    post_receives(&mut ch, id, 8, &mut sink);
    ch.publish(1, b"a", &mut sink);
    assert_eq!(sink.0.len(), 1, "armed: first record completes at once");
    for p in [b"b", b"c", b"d"] {
        ch.publish(1, p, &mut sink);
    }
    assert_eq!(sink.0.len(), 1, "disarmed: held while 7 receives pend");
    ch.post(id, Req::new(100, 4096), &mut sink).unwrap();
    assert_eq!(sink.0.len(), 2, "re-armed by the post");
    assert_eq!(decode(&sink.0[1].0, sink.0[1].1).len(), 3, "one batch");
    // Max delay fallback.
    clock.set(50);
    ch.publish(1, b"e", &mut sink);
    assert_eq!(sink.0.len(), 2);
    assert_eq!(ch.next_deadline(), Some(1050));
    clock.set(1050);
    ch.publish(1, b"f", &mut sink);
    assert_eq!(sink.0.len(), 3, "deadline checked on publish too");
    assert_eq!(decode(&sink.0[2].0, sink.0[2].1).len(), 2);
    assert!(ch.check_invariant(id));
}

/// A post that finds records ready takes them itself, completed in its own
/// post, rather than an older pending receive: the client then handles it
/// without a trip through its completion port.
#[test]
fn a_post_that_finds_records_ready_completes_itself_first() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, policy_cfg(CompletionPolicy::Adaptive));
    let mut sink = VecSink::default();
    post_receives(&mut ch, id, 4, &mut sink);
    ch.publish(1, b"a", &mut sink);
    assert_eq!(sink.0.last().map(|(r, _)| r.id), Some(0), "a publish completes the oldest");
    ch.publish(1, b"b", &mut sink);
    ch.publish(1, b"c", &mut sink);
    ch.post(id, Req::new(10, 4096), &mut sink).unwrap();
    assert_eq!(sink.0.len(), 2);
    let (req, out) = &sink.0[1];
    assert_eq!(req.id, 10, "the receive just posted, not receive 1");
    assert_eq!(decode(req, *out), vec![ev(1, b"b"), ev(2, b"c")]);
    assert_eq!(ch.stats(id).unwrap().pending_receives, 3, "1, 2 and 3 still pend");
    assert!(ch.check_invariant(id));
}

/// Re-arming waits for the consumer's whole working K to be back. Were any
/// post to re-arm, each max-delay completion would leave one more completion
/// in transit for good, until all K were, and latency would grow K-fold.
#[test]
fn adaptive_rearms_only_when_the_consumer_has_all_its_receives_back() {
    let (mut ch, clock) = channel();
    let id = subscribe(&mut ch, policy_cfg(CompletionPolicy::Adaptive));
    let mut sink = VecSink::default();
    post_receives(&mut ch, id, 3, &mut sink);
    ch.publish(1, b"a", &mut sink);
    assert_eq!(sink.0.len(), 1, "armed: the first record completes at once");
    ch.publish(1, b"b", &mut sink);
    clock.set(1000);
    ch.on_timer(1000, &mut sink);
    assert_eq!(sink.0.len(), 2, "the max delay completes a second receive: two in transit");
    ch.post(id, Req::new(10, 4096), &mut sink).unwrap(); // the consumer returns one
    ch.publish(1, b"c", &mut sink);
    assert_eq!(sink.0.len(), 2, "one completion still in transit: hold");
    ch.post(id, Req::new(11, 4096), &mut sink).unwrap(); // and the other
    assert_eq!(sink.0.len(), 3, "all receives back: re-armed, the post completes the waiting record");
    assert_eq!(decode(&sink.0[2].0, sink.0[2].1).len(), 1);
    assert!(ch.check_invariant(id));
}

/// A consumer that takes `turnaround` ticks to give a receive back, for
/// `cycles` cycles of one event each; returns the time after the last.
fn consume_cycles(ch: &mut Chan, clock: &ManualClock, id: kchan_engine::SubscriberId, turnaround: u64) -> u64 {
    let mut sink = VecSink::default();
    let mut t = 100;
    for cycle in 0..16 {
        clock.set(t);
        ch.publish(1, b"e", &mut sink);
        let (req, _) = sink.0.pop().expect("armed: the event completes at once");
        t += turnaround;
        clock.set(t);
        ch.post(id, Req::new(1000 + cycle, req.buf.len()), &mut sink).unwrap();
        assert!(sink.0.is_empty(), "nothing waited");
        t += 10;
    }
    t
}

/// Records held for a consumer busy with a completion wait for its re-post
/// as long as it is on its usual schedule: twice its measured turnaround,
/// when that is longer than `max_delay` (1000 ticks here).
#[test]
fn adaptive_holds_for_the_consumers_measured_turnaround() {
    let (mut ch, clock) = channel();
    let id = subscribe(&mut ch, policy_cfg(CompletionPolicy::Adaptive));
    let mut sink = VecSink::default();
    post_receives(&mut ch, id, 2, &mut sink);
    let t = consume_cycles(&mut ch, &clock, id, 5000); // 500 us to come back
    clock.set(t);
    ch.publish(1, b"a", &mut sink);
    assert_eq!(sink.0.len(), 1, "armed: at once");
    ch.publish(1, b"b", &mut sink);
    ch.on_timer(t + 1000, &mut sink);
    assert_eq!(sink.0.len(), 1, "max_delay passed, but the consumer is not late yet: hold");
    assert_eq!(ch.next_deadline(), Some(t + 10_000), "twice its turnaround");
    ch.on_timer(t + 10_000, &mut sink);
    assert_eq!(sink.0.len(), 2, "late: the spare receive takes the record");
    assert_eq!(decode(&sink.0[1].0, sink.0[1].1), vec![ev(17, b"b")]);
    assert!(ch.check_invariant(id));
}

#[test]
fn adaptive_fast_consumer_keeps_max_delay() {
    let (mut ch, clock) = channel();
    let id = subscribe(&mut ch, policy_cfg(CompletionPolicy::Adaptive));
    let mut sink = VecSink::default();
    post_receives(&mut ch, id, 2, &mut sink);
    let t = consume_cycles(&mut ch, &clock, id, 100); // 10 us
    clock.set(t);
    ch.publish(1, b"a", &mut sink);
    ch.publish(1, b"b", &mut sink);
    assert_eq!(ch.next_deadline(), Some(t + 1000), "max_delay bounds the wait");
    ch.on_timer(t + 1000, &mut sink);
    assert_eq!(sink.0.len(), 2);
}

#[test]
fn adaptive_completes_when_buffer_or_ring_fill_is_reached() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, policy_cfg(CompletionPolicy::Adaptive));
    let mut sink = VecSink::default();
    let min = ch.limits().min_recv_bytes();
    ch.post(id, Req::new(1, min), &mut sink).unwrap();
    ch.post(id, Req::new(2, min), &mut sink).unwrap();
    ch.publish(1, &[0; 32], &mut sink);
    assert_eq!(sink.0.len(), 1);
    ch.publish(1, &[1; 32], &mut sink);
    assert_eq!(sink.0.len(), 1, "held: 72 bytes wait, the buffer holds 104");
    ch.publish(1, &[2; 32], &mut sink);
    assert_eq!(sink.0.len(), 2, "a full buffer's worth waits: holding gains nothing");
    assert_eq!(decode(&sink.0[1].0, sink.0[1].1).len(), 1, "only whole records that fit");
    ch.post(id, Req::new(9, 4096), &mut sink).unwrap();
    assert_eq!(sink.0.len(), 2, "one of the consumer's two receives is still out: hold");
    // Fill threshold: 50% of 4096 with big buffers.
    ch.post(id, Req::new(3, 1 << 16), &mut sink).unwrap();
    assert_eq!(sink.0.len(), 3, "both back: 9 takes the record left behind");
    ch.post(id, Req::new(4, 1 << 16), &mut sink).unwrap();
    ch.publish(1, &[2; 32], &mut sink); // armed: completes 3, disarms
    assert_eq!(sink.0.len(), 4);
    let n = sink.0.len();
    let mut published = 0;
    while sink.0.len() == n {
        ch.publish(1, &[3; 32], &mut sink);
        published += 1;
        assert!(published < 100);
    }
    assert!(published * 56 >= 2048 && published * 56 < 2048 + 56 * 2, "completed at the fill threshold: {published}");
}

#[test]
fn reconfigure_keeps_records_and_receives() {
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(256, 4));
    let mut sink = VecSink::default();
    for i in 0..6u8 {
        ch.publish(1, &[i; 32], &mut sink);
    }
    let too_small = Subscriber::prepare(&cfg(200, 4), ch.limits()).unwrap();
    assert_eq!(ch.reconfigure(id, too_small, &mut sink).err().map(|e| e.1), Some(EngineError::WouldLoseRecords));
    let bigger = Subscriber::prepare(&cfg(8192, 8), ch.limits()).unwrap();
    let d = ch.reconfigure(id, bigger, &mut sink).map_err(|e| e.1).unwrap();
    drop(d);
    ch.publish(1, b"after", &mut sink);
    ch.post(id, Req::new(1, 4096), &mut sink).unwrap();
    let recs = decode(&sink.0[0].0, sink.0[0].1);
    assert_eq!(recs[4], Rec::Gap { first: 4, count: 2, reason: GapReason::RingFull });
    assert_eq!(recs[5], ev(6, b"after"));
    let s = ch.stats(id).unwrap();
    assert_eq!((s.ring_capacity, s.published, s.delivered, s.dropped_ring_full), (8192, 7, 5, 2));
    assert!(ch.check_invariant(id));
}

#[test]
fn reconfigure_keeps_a_consumer_counted_as_consuming() {
    // A waiting source waits for a subscriber that has had receives
    // pending: a reconfigure does not make it look idle.
    let (mut ch, _) = channel();
    let id = subscribe(&mut ch, cfg(256, 4));
    let mut sink = VecSink::default();
    ch.post(id, Req::new(1, 104), &mut sink).unwrap();
    for i in 0..4u8 {
        ch.publish(1, &[i; 32], &mut sink); // the first completes the receive; 3 stay (168 bytes)
    }
    assert!(ch.has_room(1, 88) && !ch.has_room(1, 89), "256 - 168 bytes left");
    reconfigure(&mut ch, id, &cfg(256, 4), &mut sink).unwrap();
    assert!(ch.has_room(1, 88) && !ch.has_room(1, 89), "still consuming, still 88 bytes left");
}

#[test]
fn reconfigure_keeps_an_adaptive_consumers_working_k() {
    // Re-armed only once all the consumer's receives are back, before and
    // after a reconfigure alike.
    let (mut ch, clock) = channel();
    let id = subscribe(&mut ch, policy_cfg(CompletionPolicy::Adaptive));
    let mut sink = VecSink::default();
    post_receives(&mut ch, id, 3, &mut sink);
    ch.publish(1, b"a", &mut sink);
    ch.publish(1, b"b", &mut sink);
    clock.set(1000);
    ch.on_timer(1000, &mut sink);
    assert_eq!(sink.0.len(), 2, "two completions in transit, one receive pending");
    reconfigure(&mut ch, id, &policy_cfg(CompletionPolicy::Adaptive), &mut sink).unwrap();
    ch.post(id, Req::new(10, 4096), &mut sink).unwrap(); // the consumer returns one
    ch.publish(1, b"c", &mut sink);
    assert_eq!(sink.0.len(), 2, "one completion still in transit: hold");
    ch.post(id, Req::new(11, 4096), &mut sink).unwrap(); // and the other
    assert_eq!(sink.0.len(), 3, "all receives back: re-armed");
    assert!(ch.check_invariant(id));
}

#[test]
fn channel_stats_sum_subscribers() {
    let (mut ch, _) = channel();
    let a = subscribe(&mut ch, cfg(4096, 4));
    let _b = subscribe(&mut ch, cfg(8192, 2));
    let mut sink = VecSink::default();
    ch.post(a, Req::new(1, 4096), &mut sink).unwrap();
    ch.post(a, Req::new(2, 4096), &mut sink).unwrap();
    ch.publish(0, b"z", &mut sink);
    let s = ch.channel_stats();
    assert_eq!((s.subscribers, s.published, s.fanout, s.pending_receives, s.completions), (2, 1, 2, 1, 1));
    assert!(s.pool_bytes >= 4096 + 8192);
    assert_eq!(s.pool_allocations, 4);
}

#[test]
fn publish_at_stamps_records_with_the_callers_reading() {
    let (mut ch, clock) = channel();
    let id = subscribe(&mut ch, cfg(4096, 2));
    let mut sink = VecSink::default();
    clock.set(7);
    ch.publish(1, b"now", &mut sink);
    ch.publish_at(1, b"then", 5, &mut sink);
    ch.post(id, Req::new(1, 4096), &mut sink).unwrap();
    let (req, outcome) = &sink.0[0];
    let Outcome::Delivered { bytes, .. } = *outcome else { panic!("{outcome:?}") };
    let stamps: Vec<u64> = kchan_proto::parse_batch(&req.buf[..bytes])
        .unwrap()
        .map(|r| match r {
            kchan_proto::Record::Event { timestamp, .. } => timestamp,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(stamps, [7, 5], "publish reads the clock; publish_at uses the given stamp");
    assert!(ch.check_invariant(id));
}

#[test]
fn coalesce_deadline_counts_from_the_oldest_record_behind_an_overwrite_gap() {
    // A drop-oldest gap carries the time of its loss, later than the records
    // left behind it: the deadline must still run from the oldest of those.
    let (mut ch, clock) = channel();
    let c = kchan_engine::proto::SubscribeConfig {
        overflow: OverflowPolicy::DropOldest as u32,
        completion: CompletionPolicy::Coalesce as u32,
        min_records: 5,
        max_delay_us: 5,
        fill_percent: 100,
        ..cfg(256, 1)
    };
    let id = subscribe(&mut ch, c);
    let mut sink = VecSink::default();
    ch.post(id, Req::new(1, 4096), &mut sink).unwrap();
    for _ in 0..3 {
        ch.publish(1, &[0; 9], &mut sink); // 40-byte records at t=0
    }
    clock.set(10);
    for _ in 0..2 {
        ch.publish(1, &[1; 41], &mut sink); // 72 bytes: the second overwrites seq 0 and 1
    }
    assert!(sink.0.is_empty(), "4 records, min_records 5: held");
    assert_eq!(ch.stats(id).unwrap().dropped_overwritten, 2);
    assert_eq!(ch.next_deadline(), Some(50), "seq 2 was published at 0");
    ch.on_timer(50, &mut sink);
    let (r, o) = sink.0.pop().expect("completed at seq 2's deadline");
    let recs = decode(&r, o);
    assert_eq!(recs[0], Rec::Gap { first: 0, count: 2, reason: GapReason::Overwritten });
    assert_eq!(recs[1..], [ev(2, &[0; 9]), ev(3, &[1; 41]), ev(4, &[1; 41])]);
    assert_eq!(ch.next_deadline(), None);
}
