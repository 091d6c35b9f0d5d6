//! Model-based property test: random subscribe / publish / post / cancel /
//! close / drain sequences against a plain reference model (a `VecDeque` of
//! records instead of a byte ring), checking after every step the completed
//! requests, their records, order, sequence numbers and gap records, the
//! counters, and the accounting invariant. Independently of the model, each
//! subscriber's delivered stream must cover sequence numbers 0.. without a
//! hole or a repeat.
mod common;
use common::*;
use kchan_engine::proto::{
    record_size, CompletionPolicy, GapReason, OverflowPolicy, SubscribeConfig, ONE_EVENT_PER_COMPLETION,
};
use kchan_engine::{Outcome, SubscriberId};
use proptest::prelude::*;
use std::collections::VecDeque;

const GAP: usize = 48;

#[derive(Debug, Clone)]
enum Op {
    Subscribe { ring: u32, k: u32, oldest: bool, mode: u8, mask: u64 },
    Publish { kind: u16, len: usize },
    Post { sub: usize, buf: usize, claimable: bool },
    Cancel { sub: usize, nth: usize },
    Close { sub: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (prop::sample::select(vec![256u32, 512, 1024]), 1u32..4, any::<bool>(), 0u8..3, prop::sample::select(vec![u64::MAX, 0b11, 0b10]))
            .prop_map(|(ring, k, oldest, mode, mask)| Op::Subscribe { ring, k, oldest, mode, mask }),
        8 => (0u16..3, 0usize..=64).prop_map(|(kind, len)| Op::Publish { kind, len }),
        4 => (0usize..4, prop::sample::select(vec![104usize, 200, 4096]), prop::bool::weighted(0.9))
            .prop_map(|(sub, buf, claimable)| Op::Post { sub, buf, claimable }),
        1 => (0usize..4, 0usize..4).prop_map(|(sub, nth)| Op::Cancel { sub, nth }),
        1 => (0usize..4).prop_map(|sub| Op::Close { sub }),
    ]
}

#[derive(Debug)]
struct MReq {
    id: u64,
    buf: usize,
    claimable: bool,
    doomed: bool,
}

#[derive(Debug)]
struct MSub {
    id: SubscriberId,
    cap: usize,
    k: usize,
    oldest: bool,
    mode: u8, // 0 immediate, 1 adaptive, 2 one event per completion
    mask: u64,
    recs: VecDeque<Rec>,
    tail_gap: Option<(u64, u64)>,
    queue: Vec<MReq>,
    armed: bool,
    high: usize, // most receives pending at once (adaptive re-arm point)
    closing: bool,
    next_seq: u64,
    delivered: u64,
    dropped_full: u64,
    dropped_over: u64,
    expect_seq: u64, // model-independent stream check
}

fn size(r: &Rec) -> usize {
    match r {
        Rec::Ev { payload, .. } => record_size(payload.len()),
        Rec::Gap { .. } => GAP,
    }
}

impl MSub {
    fn used(&self) -> usize {
        self.recs.iter().map(size).sum()
    }
    fn waiting(&self) -> bool {
        !self.recs.is_empty() || self.tail_gap.is_some()
    }
    fn publish(&mut self, kind: u16, payload: &[u8], out: &mut Vec<(u64, Vec<Rec>)>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let rec = Rec::Ev { seq, kind, payload: payload.to_vec() };
        let sz = record_size(payload.len());
        if !self.oldest {
            let need = sz + if self.tail_gap.is_some() { GAP } else { 0 };
            if self.cap - self.used() >= need {
                if let Some((first, count)) = self.tail_gap.take() {
                    self.recs.push_back(Rec::Gap { first, count, reason: GapReason::RingFull });
                }
                self.recs.push_back(rec);
            } else {
                self.dropped_full += 1;
                match &mut self.tail_gap {
                    Some((_, c)) => *c += 1,
                    None => self.tail_gap = Some((seq, 1)),
                }
            }
        } else {
            if self.cap - self.used() < sz {
                let mut gap: Option<(u64, u64)> = None;
                while self.cap - self.used() < sz + GAP {
                    let (f, c) = match self.recs.pop_front().unwrap() {
                        Rec::Gap { first, count, .. } => (first, count),
                        Rec::Ev { seq, .. } => {
                            self.dropped_over += 1;
                            (seq, 1)
                        }
                    };
                    gap = Some(match gap {
                        Some((gf, _)) => (gf, f + c - gf),
                        None => (f, c),
                    });
                }
                let (first, count) = gap.unwrap();
                self.recs.push_front(Rec::Gap { first, count, reason: GapReason::Overwritten });
            }
            self.recs.push_back(rec);
        }
        self.complete_ready(out);
    }
    fn ready(&self, buf: usize) -> bool {
        if !self.waiting() {
            return false;
        }
        if self.mode != 1 {
            return true;
        }
        let wb = self.used() + if self.tail_gap.is_some() { GAP } else { 0 };
        self.armed || 16 + wb >= buf || self.used() >= self.cap / 2
    }
    fn complete_ready(&mut self, out: &mut Vec<(u64, Vec<Rec>)>) {
        while let Some(i) = self.queue.iter().position(|r| !r.doomed) {
            if !self.ready(self.queue[i].buf) {
                break;
            }
            if !self.queue[i].claimable {
                self.queue[i].doomed = true;
                continue;
            }
            let r = self.queue.remove(i);
            let recs = self.fill(r.buf);
            self.armed = false;
            out.push((r.id, recs));
        }
    }
    fn fill(&mut self, buf: usize) -> Vec<Rec> {
        // One-event mode: one event, with the gap records next to it.
        let max_events = if self.mode == 2 { 1 } else { u64::MAX };
        let mut events = 0;
        let mut room = (buf & !7) - 16;
        let mut v = Vec::new();
        while events < max_events && self.recs.front().is_some_and(|r| size(r) <= room) {
            let r = self.recs.pop_front().unwrap();
            room -= size(&r);
            if matches!(r, Rec::Ev { .. }) {
                self.delivered += 1;
                events += 1;
            }
            v.push(r);
        }
        if self.recs.is_empty() && room >= GAP {
            if let Some((first, count)) = self.tail_gap.take() {
                v.push(Rec::Gap { first, count, reason: GapReason::RingFull });
            }
        }
        v
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let (mut ch, _clock) = channel();
    let mut subs: Vec<MSub> = Vec::new();
    let mut next_id = 0u64;
    let mut owner: std::collections::HashMap<u64, SubscriberId> = Default::default();
    for op in ops {
        let mut sink = VecSink::default();
        let mut expect: Vec<(u64, Vec<Rec>)> = Vec::new();
        let mut expect_closed: Vec<u64> = Vec::new();
        match op {
            Op::Subscribe { ring, k, oldest, mode, mask } => {
                let c = SubscribeConfig {
                    ring_bytes: ring,
                    max_in_flight: k,
                    kind_mask: mask,
                    overflow: if oldest { OverflowPolicy::DropOldest } else { OverflowPolicy::DropNewest } as u32,
                    completion: if mode == 1 { CompletionPolicy::Adaptive } else { CompletionPolicy::Immediate } as u32,
                    flags: if mode == 2 { ONE_EVENT_PER_COMPLETION } else { 0 },
                    ..Default::default()
                };
                if subs.iter().filter(|s| !s.closing || !s.queue.is_empty()).count() < 4 {
                    let id = subscribe(&mut ch, c);
                    subs.push(MSub {
                        id,
                        cap: ring as usize,
                        k: k as usize,
                        oldest,
                        mode,
                        mask,
                        recs: VecDeque::new(),
                        tail_gap: None,
                        queue: Vec::new(),
                        armed: true,
                        high: 0,
                        closing: false,
                        next_seq: 0,
                        delivered: 0,
                        dropped_full: 0,
                        dropped_over: 0,
                        expect_seq: 0,
                    });
                }
            }
            Op::Publish { kind, len } => {
                let payload: Vec<u8> = (0..len).map(|i| (i as u8) ^ (kind as u8 * 31)).collect();
                let n = ch.publish(kind, &payload, &mut sink);
                let mut m = 0;
                for s in subs.iter_mut().filter(|s| !s.closing && s.mask & (1 << kind) != 0) {
                    s.publish(kind, &payload, &mut expect);
                    m += 1;
                }
                prop_assert_eq!(n, m);
            }
            Op::Post { sub, buf, claimable } => {
                if let Some(s) = subs.iter_mut().filter(|s| !s.closing).nth(sub) {
                    next_id += 1;
                    let mut r = Req::new(next_id, buf);
                    r.claimable = claimable;
                    owner.insert(next_id, s.id);
                    let res = ch.post(s.id, r, &mut sink);
                    if s.queue.len() == s.k {
                        prop_assert!(res.is_err());
                    } else {
                        prop_assert!(res.is_ok());
                        s.queue.push(MReq { id: next_id, buf, claimable, doomed: false });
                        s.high = s.high.max(s.queue.len());
                        s.armed = s.queue.len() >= s.high;
                        s.complete_ready(&mut expect);
                    }
                }
            }
            Op::Cancel { sub, nth } => {
                if let Some(s) = subs.get_mut(sub) {
                    if let Some(r) = s.queue.get(nth) {
                        let rid = r.id;
                        s.queue.remove(nth);
                        let got = ch.cancel(s.id, rid);
                        prop_assert_eq!(got.map(|r| r.id), Some(rid));
                    } else {
                        prop_assert!(ch.cancel(s.id, u64::MAX).is_none());
                    }
                }
            }
            Op::Close { sub } => {
                if let Some(s) = subs.get_mut(sub).filter(|s| !s.closing) {
                    let _ = ch.close(s.id, &mut sink);
                    s.closing = true;
                    s.queue.retain(|r| {
                        if r.claimable && !r.doomed {
                            expect_closed.push(r.id);
                            false
                        } else {
                            true
                        }
                    });
                }
            }
        }
        // Completions: same requests, same order, same records.
        let mut got_closed = Vec::new();
        let mut got = Vec::new();
        for (req, out) in &sink.0 {
            match out {
                Outcome::Closed => got_closed.push(req.id),
                _ => got.push((req.id, decode(req, *out))),
            }
        }
        prop_assert_eq!(&got_closed, &expect_closed);
        // Fan-out order across subscribers is not a contract (slot order); within one it is.
        got.sort_by_key(|(rid, _)| owner[rid].to_u64());
        expect.sort_by_key(|(rid, _)| owner[rid].to_u64());
        prop_assert_eq!(&got, &expect);
        // Model-independent: the delivered stream is contiguous in seq.
        for (rid, recs) in &got {
            let s = subs.iter_mut().find(|s| Some(&s.id) == owner.get(rid)).unwrap();
            for r in recs {
                match r {
                    Rec::Ev { seq, .. } => {
                        prop_assert_eq!(*seq, s.expect_seq);
                        s.expect_seq += 1;
                    }
                    Rec::Gap { first, count, .. } => {
                        prop_assert_eq!(*first, s.expect_seq);
                        prop_assert!(*count > 0);
                        s.expect_seq += count;
                    }
                }
            }
        }
        // Counters and invariant.
        prop_assert!(ch.check_all_invariants());
        subs.retain(|s| !(s.closing && s.queue.is_empty()));
        for s in &subs {
            let st = ch.stats(s.id).unwrap();
            prop_assert_eq!(st.published, s.next_seq);
            prop_assert_eq!(st.pending_receives, s.queue.len() as u64);
            if !s.closing {
                prop_assert!(st.balanced());
                prop_assert_eq!(st.delivered, s.delivered);
                prop_assert_eq!(st.dropped_ring_full, s.dropped_full);
                prop_assert_eq!(st.dropped_overwritten, s.dropped_over);
                prop_assert_eq!(st.in_ring_bytes as usize, s.used());
            }
        }
        prop_assert_eq!(ch.channel_stats().subscribers, subs.len() as u64);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]
    #[test]
    fn engine_matches_model(ops in prop::collection::vec(op(), 1..120)) {
        run(ops)?;
    }
}
