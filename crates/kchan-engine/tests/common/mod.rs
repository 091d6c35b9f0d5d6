//! Test doubles: a plain request, a collecting sink, a manual clock, and a batch decoder.
#![allow(dead_code)]

use kchan_engine::proto::{parse_batch, GapReason, Record, SubscribeConfig};
use kchan_engine::{Channel, Clock, EngineError, Limits, Outcome, Request, Sink, Subscriber, SubscriberId};
use std::cell::Cell;
use std::rc::Rc;

/// A receive: a buffer and an id; `claimable = false` emulates a cancel routine that won.
#[derive(Debug)]
pub struct Req {
    pub id: u64,
    pub buf: Vec<u8>,
    pub claimable: bool,
}

impl Req {
    pub fn new(id: u64, len: usize) -> Req {
        Req { id, buf: vec![0; len], claimable: true }
    }
}

impl Request for Req {
    fn buffer(&mut self) -> &mut [u8] {
        &mut self.buf
    }
    fn id(&self) -> u64 {
        self.id
    }
    fn try_claim(&mut self) -> bool {
        self.claimable
    }
}

/// Collects completions.
#[derive(Default)]
pub struct VecSink(pub Vec<(Req, Outcome)>);

impl Sink<Req> for VecSink {
    fn complete(&mut self, req: Req, outcome: Outcome) {
        self.0.push((req, outcome));
    }
}

/// A clock the test moves by hand.
#[derive(Clone, Default)]
pub struct ManualClock(pub Rc<Cell<u64>>);

impl ManualClock {
    pub fn set(&self, t: u64) {
        self.0.set(t)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.get()
    }
}

/// A decoded record, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rec {
    Ev { seq: u64, kind: u16, payload: Vec<u8> },
    Gap { first: u64, count: u64, reason: GapReason },
}

/// Decodes a delivered request, checking the batch is valid and matches the outcome.
pub fn decode(req: &Req, outcome: Outcome) -> Vec<Rec> {
    let Outcome::Delivered { bytes, records } = outcome else { panic!("not delivered: {outcome:?}") };
    let reader = parse_batch(&req.buf[..bytes]).expect("valid batch");
    assert_eq!(reader.header().total_bytes as usize, bytes);
    assert_eq!(reader.header().record_count, records);
    assert!(records >= 1, "empty batch");
    reader
        .map(|r| match r {
            Record::Event { seq, kind, payload, .. } => Rec::Ev { seq, kind, payload: payload.to_vec() },
            Record::Gap { first_seq, count, reason, .. } => Rec::Gap { first: first_seq, count, reason },
        })
        .collect()
}

/// Small limits so rings fill quickly: payloads up to 64 bytes.
pub fn small_limits() -> Limits {
    Limits { max_subscribers: 8, max_payload: 64, max_ring_bytes: 1 << 20, max_in_flight: 16 }
}

pub type Chan = Channel<Req, ManualClock>;

pub fn channel() -> (Chan, ManualClock) {
    let clock = ManualClock::default();
    (Channel::new(clock.clone(), small_limits()).unwrap(), clock)
}

pub fn subscribe(ch: &mut Chan, cfg: SubscribeConfig) -> SubscriberId {
    let p = Subscriber::prepare(&cfg, ch.limits()).unwrap();
    ch.attach(p).map_err(|(_, e)| e).unwrap()
}

pub fn cfg(ring: u32, k: u32) -> SubscribeConfig {
    SubscribeConfig { ring_bytes: ring, max_in_flight: k, ..Default::default() }
}

/// Posts `n` receives of 4 KiB to `id`, with request ids `0..n`.
pub fn post_receives(ch: &mut Chan, id: SubscriberId, n: u64, sink: &mut VecSink) {
    for k in 0..n {
        ch.post(id, Req::new(k, 4096), sink).unwrap();
    }
}

/// Reconfigures `id` to `cfg`; the old memory is dropped at once.
pub fn reconfigure(
    ch: &mut Chan,
    id: SubscriberId,
    cfg: &SubscribeConfig,
    sink: &mut VecSink,
) -> Result<(), EngineError> {
    let prepared = Subscriber::prepare(cfg, ch.limits()).unwrap();
    ch.reconfigure(id, prepared, sink).map(drop).map_err(|(_, e)| e)
}
