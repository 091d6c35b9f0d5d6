//! Property test of the channel's promises, under random sequences of
//! subscribe, reconfigure, publish, post, consume, cancel, close and the
//! passing of time (the shell's timer firing at every deadline on the way),
//! with every completion policy, both overflow policies and requests whose
//! cancel routine wins the claim.
//!
//! It does not restate how the engine decides; it checks what the engine
//! promises, after every step:
//!
//! - **Latency**: no record waits longer than its policy's maximum delay
//!   while a receive is pending (`Immediate` and one-event-per-completion:
//!   not at all), counted from its publication or from when a receive became
//!   available, whichever is later; a fired timer leaves nothing overdue.
//! - **Completions**: a request completes at most once, only if it was
//!   posted and its claim succeeded; a post is refused exactly when K
//!   receives pend; a consumer holding K buffers never has more than K
//!   completions in transit; `close` hands back exactly the claimable ones.
//! - **Delivery**: each subscriber's records arrive in sequence order, every
//!   sequence number once, as the event published with it or inside a gap
//!   record; at the end, after a drain, every published record was delivered
//!   or reported lost. The counters agree throughout.
//! - **Accounting, channel-wide**: over every subscriber ever attached,
//!   closed ones included, what was published to them (the test's count)
//!   is delivered (the test's count), waiting in a ring or counted dropped
//!   (ring full, overwritten, or at close); a close counts as dropped at
//!   close exactly the event records its ring held.
mod common;
use common::*;
use kchan_engine::proto::{
    parse_batch, CompletionPolicy, OverflowPolicy, Record, SubscribeConfig, MAX_DELAY_US, ONE_EVENT_PER_COMPLETION,
};
use kchan_engine::{EngineError, Outcome, Subscriber, SubscriberId};
use proptest::prelude::*;
use std::collections::{HashMap, VecDeque};

/// Most subscribers the test keeps open at once.
const SUBS: usize = 4;
/// A receive buffer big enough to drain any ring of the test at once.
const BIG: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Immediate,
    Coalesce,
    Adaptive,
    OneEvent,
}

#[derive(Debug, Clone)]
struct Config {
    ring: u32,
    k: u32,
    oldest: bool,
    policy: Policy,
    min_records: u32,
    max_delay_us: u32,
    fill_percent: u32,
    mask: u64,
}

impl Config {
    fn wire(&self) -> SubscribeConfig {
        let completion = match self.policy {
            Policy::Coalesce => CompletionPolicy::Coalesce,
            Policy::Adaptive => CompletionPolicy::Adaptive,
            Policy::Immediate | Policy::OneEvent => CompletionPolicy::Immediate,
        };
        SubscribeConfig {
            ring_bytes: self.ring,
            max_in_flight: self.k,
            kind_mask: self.mask,
            overflow: if self.oldest { OverflowPolicy::DropOldest } else { OverflowPolicy::DropNewest } as u32,
            completion: completion as u32,
            flags: if self.policy == Policy::OneEvent { ONE_EVENT_PER_COMPLETION } else { 0 },
            min_records: self.min_records,
            max_delay_us: self.max_delay_us,
            fill_percent: self.fill_percent,
            ..Default::default()
        }
    }

    /// The longest a record may wait while a receive pends, in ticks.
    fn delay_bound(&self) -> u64 {
        match self.policy {
            Policy::Immediate | Policy::OneEvent => 0,
            Policy::Coalesce | Policy::Adaptive => u64::from(self.max_delay_us) * 10,
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Subscribe(Config),
    Reconfigure { sub: usize, config: Config },
    Publish { kind: u16, len: usize },
    Post { sub: usize, buf: usize, claimable: bool },
    Consume { sub: usize },
    Cancel { sub: usize, nth: usize },
    Close { sub: usize },
    Advance { us: u64 },
}

fn config() -> impl Strategy<Value = Config> {
    let policy = prop::sample::select(vec![Policy::Immediate, Policy::Coalesce, Policy::Adaptive, Policy::OneEvent]);
    (
        prop::sample::select(vec![256u32, 512, 1024]),
        1u32..5,
        any::<bool>(),
        policy,
        1u32..6,
        prop::sample::select(vec![1u32, 5, 50]),
        prop::sample::select(vec![50u32, 100]),
        prop::sample::select(vec![u64::MAX, 0b11, 0b10]),
    )
        .prop_map(|(ring, k, oldest, policy, min_records, max_delay_us, fill_percent, mask)| Config {
            ring,
            k,
            oldest,
            policy,
            min_records,
            max_delay_us,
            fill_percent,
            mask,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => config().prop_map(Op::Subscribe),
        1 => (0..SUBS, config()).prop_map(|(sub, config)| Op::Reconfigure { sub, config }),
        8 => (0u16..3, 0usize..=64).prop_map(|(kind, len)| Op::Publish { kind, len }),
        4 => (0..SUBS, prop::sample::select(vec![104usize, 200, BIG]), prop::bool::weighted(0.9))
            .prop_map(|(sub, buf, claimable)| Op::Post { sub, buf, claimable }),
        4 => (0..SUBS).prop_map(|sub| Op::Consume { sub }),
        1 => (0..SUBS, 0usize..4).prop_map(|(sub, nth)| Op::Cancel { sub, nth }),
        1 => (0..SUBS).prop_map(|sub| Op::Close { sub }),
        3 => prop::sample::select(vec![0u64, 1, 3, 20, 60]).prop_map(|us| Op::Advance { us }),
    ]
}

/// A published record not yet delivered or reported: what was published
/// with its sequence number, when, and the longest it may wait.
#[derive(Debug)]
struct Published {
    seq: u64,
    kind: u16,
    payload: Vec<u8>,
    timestamp: u64,
    bound: u64,
}

/// The test's view of one subscriber: what the consumer did and what it may
/// expect, never how the engine decides.
#[derive(Debug)]
struct Sub {
    id: SubscriberId,
    config: Config,
    /// The most buffers the consumer ever had (K over the subscriber's life).
    buffers: usize,
    /// Posted requests (id, claimable), oldest first, not yet returned.
    pending: Vec<(u64, bool)>,
    /// Completed requests the consumer has not consumed yet.
    in_transit: VecDeque<u64>,
    /// Since when at least one claimable receive has pended.
    live_since: Option<u64>,
    /// Published, not yet delivered or reported.
    waiting: VecDeque<Published>,
    next_seq: u64,
    delivered: u64,
    closing: bool,
    /// When the last completion was delivered, until the next post.
    completed_at: Option<u64>,
    /// The consumer's slowest turnaround seen: completion to next post.
    slowest_turnaround: u64,
}

impl Sub {
    /// The longest a record may wait while a receive pends, in ticks. An
    /// adaptive subscriber waits for a consumer busy with a completion up
    /// to twice its turnaround when that is longer than its max delay (the
    /// engine averages the turnarounds; no average exceeds the slowest), and
    /// never more than `MAX_DELAY_US`.
    fn delay_bound(&self) -> u64 {
        match self.config.policy {
            Policy::Adaptive => self
                .config
                .delay_bound()
                .max(self.slowest_turnaround.saturating_mul(2))
                .min(u64::from(MAX_DELAY_US) * 10),
            _ => self.config.delay_bound(),
        }
    }

    fn live(&self) -> usize {
        self.pending.iter().filter(|(_, claimable)| *claimable).count()
    }
}

struct Harness {
    ch: Chan,
    clock: ManualClock,
    now: u64,
    subs: Vec<Sub>,
    owner: HashMap<u64, SubscriberId>,
    next_id: u64,
    /// Records published to subscribers, all subscribers ever attached.
    published: u64,
    /// Event records delivered, all subscribers ever attached.
    delivered: u64,
}

impl Harness {
    fn new() -> Harness {
        let (ch, clock) = channel();
        Harness { ch, clock, now: 0, subs: Vec::new(), owner: HashMap::new(), next_id: 0, published: 0, delivered: 0 }
    }

    fn open(&mut self, i: usize) -> Option<usize> {
        self.subs.iter().enumerate().filter(|(_, s)| !s.closing).map(|(j, _)| j).nth(i)
    }

    /// Checks and accounts for the completions of one call made at `self.now`.
    fn complete(&mut self, sink: VecSink, closed_expected: &mut Vec<u64>) -> Result<(), TestCaseError> {
        for (req, outcome) in sink.0 {
            let owner = self.owner[&req.id];
            let Some(s) = self.subs.iter_mut().find(|s| s.id == owner) else {
                return Err(TestCaseError::fail(format!("request {} completed after its subscriber went", req.id)));
            };
            let Some(at) = s.pending.iter().position(|(id, _)| *id == req.id) else {
                return Err(TestCaseError::fail(format!("request {} completed but not pending", req.id)));
            };
            let (_, claimable) = s.pending.remove(at);
            prop_assert!(claimable, "request {} completed though its canceller owns it", req.id);
            match outcome {
                Outcome::Closed => {
                    prop_assert!(s.closing, "Closed outcome for an open subscriber");
                    prop_assert_eq!(closed_expected.first().copied(), Some(req.id), "close hands back in order");
                    closed_expected.remove(0);
                }
                Outcome::Delivered { bytes, records } => {
                    let live_since = s.live_since.unwrap_or(self.now);
                    let sub_bound = s.delay_bound();
                    s.completed_at = Some(self.now);
                    let batch = parse_batch(&req.buf[..bytes]).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    prop_assert_eq!(batch.header().record_count, records);
                    prop_assert!(records > 0, "an empty batch");
                    if s.config.policy == Policy::OneEvent {
                        // One event with the gap records next to it; a gap goes
                        // alone only when the event after it does not fit beside
                        // it in the buffer (rules.rs pins when it travels along).
                        let events = batch.clone().filter(|r| matches!(r, Record::Event { .. })).count();
                        prop_assert!(events <= 1, "{} events in one completion", events);
                    }
                    for record in batch {
                        let (first, count, timestamp) = match record {
                            Record::Event { seq, kind, timestamp, payload } => {
                                let p = s.waiting.front().filter(|p| p.seq == seq);
                                let Some(p) = p else {
                                    return Err(TestCaseError::fail(format!("event {seq} out of order")));
                                };
                                prop_assert_eq!((kind, payload, timestamp), (p.kind, &p.payload[..], p.timestamp));
                                s.delivered += 1;
                                self.delivered += 1;
                                (seq, 1, timestamp)
                            }
                            Record::Gap { first_seq, count, timestamp, .. } => (first_seq, count, timestamp),
                        };
                        prop_assert_eq!(Some(first), s.waiting.front().map(|p| p.seq), "in order, each once");
                        for _ in 0..count {
                            let p = s.waiting.pop_front().expect("a gap covers published records only");
                            let waited = self.now.saturating_sub(timestamp.max(p.timestamp).max(live_since));
                            prop_assert!(
                                waited <= p.bound.max(sub_bound),
                                "record {} waited {} ticks with a receive pending; its bound is {}",
                                p.seq,
                                waited,
                                p.bound.max(sub_bound)
                            );
                        }
                    }
                    s.in_transit.push_back(req.id);
                    prop_assert!(s.in_transit.len() <= s.buffers, "more completions in transit than buffers");
                }
            }
        }
        for s in &mut self.subs {
            s.live_since = if s.live() == 0 { None } else { s.live_since.or(Some(self.now)) };
        }
        Ok(())
    }

    /// Moves the clock to `to`, firing the timer at every deadline on the way.
    fn advance(&mut self, to: u64) -> Result<(), TestCaseError> {
        while let Some(deadline) = self.ch.next_deadline().filter(|d| *d <= to) {
            self.now = self.now.max(deadline);
            self.clock.set(self.now);
            let mut sink = VecSink::default();
            self.ch.on_timer(self.now, &mut sink);
            self.complete(sink, &mut Vec::new())?;
            prop_assert!(self.ch.next_deadline().is_none_or(|d| d > self.now), "the timer left a deadline due");
        }
        self.now = to;
        self.clock.set(to);
        Ok(())
    }

    fn post(&mut self, sub: usize, buf: usize, claimable: bool) -> Result<(), TestCaseError> {
        let s = &self.subs[sub];
        if s.pending.len() + s.in_transit.len() >= s.buffers {
            return Ok(()); // the consumer has no buffer free
        }
        self.next_id += 1;
        let id = self.next_id;
        let mut req = Req::new(id, buf);
        req.claimable = claimable;
        self.owner.insert(id, s.id);
        let mut sink = VecSink::default();
        let full = s.pending.len() >= s.config.k as usize;
        match self.ch.post(s.id, req, &mut sink) {
            Err((_, e)) => prop_assert!(full && e == EngineError::TooManyPending, "post refused: {:?}", e),
            Ok(()) => {
                prop_assert!(!full, "a post beyond K accepted");
                let s = &mut self.subs[sub];
                s.pending.push((id, claimable));
                if let Some(at) = s.completed_at.take() {
                    s.slowest_turnaround = s.slowest_turnaround.max(self.now - at);
                }
                s.live_since = s.live_since.or(claimable.then_some(self.now));
            }
        }
        self.complete(sink, &mut Vec::new())
    }

    /// The canceller of the `nth` pending request of `sub` removes it.
    fn cancel(&mut self, sub: usize, nth: usize) -> Result<(), TestCaseError> {
        let Some(s) = self.subs.get_mut(sub) else { return Ok(()) };
        match s.pending.get(nth).copied() {
            Some((rid, _)) => {
                s.pending.remove(nth);
                prop_assert_eq!(self.ch.cancel(s.id, rid).map(|r| r.id), Some(rid));
                s.live_since = if s.live() == 0 { None } else { s.live_since };
            }
            None => prop_assert!(self.ch.cancel(s.id, u64::MAX).is_none()),
        }
        Ok(())
    }

    fn step(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Subscribe(config) => {
                if self.subs.len() < SUBS {
                    let id = subscribe(&mut self.ch, config.wire());
                    let buffers = config.k as usize;
                    self.subs.push(Sub {
                        id,
                        config,
                        buffers,
                        pending: Vec::new(),
                        in_transit: VecDeque::new(),
                        live_since: None,
                        waiting: VecDeque::new(),
                        next_seq: 0,
                        delivered: 0,
                        closing: false,
                        completed_at: None,
                        slowest_turnaround: 0,
                    });
                }
            }
            Op::Reconfigure { sub, config } => {
                let Some(i) = self.open(sub) else { return Ok(()) };
                let prepared = Subscriber::prepare(&config.wire(), self.ch.limits()).expect("a valid config");
                let mut sink = VecSink::default();
                match self.ch.reconfigure(self.subs[i].id, prepared, &mut sink) {
                    Ok(_) => {
                        let s = &mut self.subs[i];
                        // The waiting records were held under the old policy
                        // (an adaptive one: up to twice the consumer's
                        // turnaround) until now, and the new one may hold them on.
                        let bound = config.delay_bound().max(s.delay_bound());
                        for p in &mut s.waiting {
                            p.bound = p.bound.max(bound);
                        }
                        s.buffers = s.buffers.max(config.k as usize);
                        s.config = config;
                    }
                    Err((_, e)) => prop_assert_eq!(e, EngineError::WouldLoseRecords),
                }
                self.complete(sink, &mut Vec::new())?;
            }
            Op::Publish { kind, len } => {
                let payload: Vec<u8> = (0..len).map(|i| (i as u8) ^ (kind as u8 * 31)).collect();
                let mut sink = VecSink::default();
                let n = self.ch.publish(kind, &payload, &mut sink);
                let mut reached = 0;
                for s in self.subs.iter_mut().filter(|s| !s.closing && s.config.mask & (1 << kind) != 0) {
                    let bound = s.config.delay_bound();
                    s.waiting.push_back(Published {
                        seq: s.next_seq,
                        kind,
                        payload: payload.clone(),
                        timestamp: self.now,
                        bound,
                    });
                    s.next_seq += 1;
                    reached += 1;
                }
                prop_assert_eq!(n, reached, "fan-out to every open subscriber of the kind");
                self.published += reached as u64;
                self.complete(sink, &mut Vec::new())?;
            }
            Op::Post { sub, buf, claimable } => {
                let Some(i) = self.open(sub) else { return Ok(()) };
                self.post(i, buf, claimable)?;
            }
            Op::Consume { sub } => {
                if let Some(s) = self.subs.get_mut(sub) {
                    s.in_transit.pop_front();
                }
            }
            Op::Cancel { sub, nth } => self.cancel(sub, nth)?,
            Op::Close { sub } => {
                let Some(i) = self.open(sub) else { return Ok(()) };
                let s = &mut self.subs[i];
                s.closing = true;
                let mut expected: Vec<u64> = s.pending.iter().filter(|(_, c)| *c).map(|(id, _)| *id).collect();
                let in_ring = self.ch.stats(s.id).expect("attached").in_ring_records;
                let before = (self.ch.dropped_at_close(), self.ch.channel_stats().dropped);
                let mut sink = VecSink::default();
                let detached = self.ch.close(s.id, &mut sink);
                prop_assert_eq!(detached.records(), in_ring, "the ring goes with what waited in it");
                let after = (self.ch.dropped_at_close(), self.ch.channel_stats().dropped);
                prop_assert_eq!(after, (before.0 + in_ring, before.1 + in_ring), "counted dropped at close");
                self.complete(sink, &mut expected)?;
                prop_assert!(expected.is_empty(), "close left claimable requests {:?}", expected);
            }
            Op::Advance { us } => self.advance(self.now + us * 10)?,
        }
        self.check_counters()
    }

    fn check_counters(&mut self) -> Result<(), TestCaseError> {
        prop_assert!(self.ch.check_all_invariants());
        self.subs.retain(|s| !(s.closing && s.pending.is_empty()));
        for s in &self.subs {
            let st = self.ch.stats(s.id).expect("an attached subscriber");
            prop_assert_eq!(st.pending_receives, s.pending.len() as u64);
            if !s.closing {
                prop_assert_eq!(st.published, s.next_seq);
                prop_assert_eq!(st.delivered, s.delivered);
                prop_assert!(st.balanced());
            }
        }
        let channel = self.ch.channel_stats();
        prop_assert_eq!(channel.subscribers, self.subs.len() as u64);
        // Channel-wide, closed subscribers included: their in-ring records
        // went with them, into `dropped`.
        let mut in_rings = 0;
        for s in &self.subs {
            in_rings += self.ch.stats(s.id).expect("attached").in_ring_records;
        }
        prop_assert_eq!(channel.fanout, self.published, "fan-out counts every record published to a subscriber");
        prop_assert_eq!(
            self.published,
            self.delivered + in_rings + channel.dropped,
            "published == delivered + in rings + dropped, channel-wide"
        );
        Ok(())
    }

    /// Returns what the canceller owns, then keeps a big receive posted and
    /// lets time pass until every subscriber has had everything published
    /// to it delivered or reported.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        for i in 0..self.subs.len() {
            while let Some(nth) = self.subs[i].pending.iter().position(|(_, claimable)| !claimable) {
                self.cancel(i, nth)?;
            }
        }
        self.check_counters()?;
        let longest = self.subs.iter().map(Sub::delay_bound).max().unwrap_or(0);
        for _ in 0..500 {
            if self.subs.iter().all(|s| s.closing || s.waiting.is_empty()) {
                break;
            }
            for i in 0..self.subs.len() {
                self.subs[i].in_transit.clear();
                if !self.subs[i].closing {
                    self.post(i, BIG, true)?;
                }
            }
            self.advance(self.now + longest + 1)?;
            self.check_counters()?;
        }
        for s in self.subs.iter().filter(|s| !s.closing) {
            prop_assert!(s.waiting.is_empty(), "{} records neither delivered nor reported", s.waiting.len());
            let st = self.ch.stats(s.id).expect("attached");
            prop_assert_eq!(st.published, st.delivered + st.dropped());
            prop_assert_eq!(st.in_ring_records, 0);
        }
        Ok(())
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut h = Harness::new();
    for op in ops {
        h.step(op)?;
    }
    h.drain()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]
    #[test]
    fn the_channel_keeps_its_promises(ops in prop::collection::vec(op(), 1..150)) {
        run(ops)?;
    }
}

/// The generator reaches every kind of operation and every policy (a test
/// of the test: a property nobody exercises proves nothing).
#[test]
fn the_operations_cover_every_policy_and_step() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..2000 {
        let op = op().new_tree(&mut runner).unwrap().current();
        if let Op::Subscribe(c) | Op::Reconfigure { config: c, .. } = &op {
            seen.insert(format!("{:?}", c.policy));
        }
        seen.insert(format!("{op:?}").split([' ', '{', '(']).next().unwrap_or_default().to_string());
    }
    let all = ["Immediate", "Coalesce", "Adaptive", "OneEvent", "Subscribe", "Reconfigure", "Publish", "Post"];
    for name in all.into_iter().chain(["Consume", "Cancel", "Close", "Advance"]) {
        assert!(seen.contains(name), "{name} never generated: {seen:?}");
    }
}
