//! Prints the engine's two headline figures as one JSON line, for bench harnesses:
//! `cargo run --release -p kchan-engine --example figures -- [--quick]`
//! `{"publish_ns":..,"publish4_ns":..,"drain_gb_s":..}`
//!
//! publish_ns: one `publish` of a 32-byte payload to one subscriber (no drops,
//! warm ring), median of rounds; publish4_ns: the same with 4 subscribers.
//! drain_gb_s: bytes of batches written per second when 1 MiB receives drain
//! a full ring of 32-byte-payload records. The clock is a counter (the
//! driver's clock read is not included).
use kchan_engine::proto::SubscribeConfig;
use kchan_engine::{Channel, Limits, Outcome, Request, Sink, Subscriber, SubscriberId};
use std::cell::Cell;
use std::hint::black_box;
use std::time::Instant;

struct Buf(Vec<u8>);
impl Request for Buf {
    fn buffer(&mut self) -> &mut [u8] {
        &mut self.0
    }
    fn id(&self) -> u64 {
        0
    }
}

#[derive(Default)]
struct Keep(Option<Buf>, usize);
impl Sink<Buf> for Keep {
    fn complete(&mut self, req: Buf, outcome: Outcome) {
        if let Outcome::Delivered { bytes, .. } = outcome {
            self.1 += bytes;
        }
        self.0 = Some(req);
    }
}

type Chan = Channel<Buf, Box<dyn Fn() -> u64>>;

fn setup(subs: usize, ring: u32) -> (Chan, Vec<SubscriberId>) {
    let tick = Cell::new(0u64);
    let clock: Box<dyn Fn() -> u64> = Box::new(move || {
        tick.set(tick.get() + 1);
        tick.get()
    });
    let mut ch = Channel::new(clock, Limits { max_ring_bytes: 1 << 30, ..Limits::default() }).unwrap();
    let cfg = SubscribeConfig { ring_bytes: ring, ..Default::default() };
    let ids = (0..subs).map(|_| ch.attach(Subscriber::prepare(&cfg, ch.limits()).unwrap()).ok().unwrap()).collect();
    (ch, ids)
}

fn drain(ch: &mut Chan, id: SubscriberId, sink: &mut Keep) -> usize {
    sink.1 = 0;
    let mut buf = sink.0.take().unwrap_or_else(|| Buf(vec![0; 1 << 20]));
    loop {
        let before = sink.1;
        ch.post(id, buf, sink).ok().unwrap();
        match sink.0.take() {
            Some(b) if sink.1 > before => buf = b,
            Some(b) => {
                sink.0 = Some(b);
                break;
            }
            None => {
                // Pending: nothing left. Take it back.
                sink.0 = ch.cancel(id, 0);
                break;
            }
        }
    }
    sink.1
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// (publish ns, drain GB/s) for `subs` subscribers.
fn measure(subs: usize, events: usize, rounds: usize) -> (f64, f64) {
    let ring = (events * 56 + 4096).next_multiple_of(8) as u32;
    let (mut ch, ids) = setup(subs, ring);
    let payload = [0x5Au8; 32];
    let mut sink = Keep::default();
    let (mut pubs, mut drains) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        let t = Instant::now();
        for _ in 0..events {
            black_box(ch.publish(1, black_box(&payload), &mut sink));
        }
        let p = t.elapsed().as_secs_f64() * 1e9 / events as f64;
        let t = Instant::now();
        let bytes = drain(&mut ch, ids[0], &mut sink);
        let d = bytes as f64 / t.elapsed().as_secs_f64() / 1e9;
        for &id in &ids[1..] {
            drain(&mut ch, id, &mut sink);
        }
        assert!(ch.check_all_invariants());
        assert_eq!(ch.channel_stats().dropped, 0);
        if round > 0 {
            pubs.push(p);
            drains.push(d); // round 0 warms the pages
        }
    }
    (median(pubs), median(drains))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (events, rounds) = if quick { (200_000, 5) } else { (1_000_000, 11) };
    let (p1, d) = measure(1, events, rounds);
    let (p4, _) = measure(4, events / 2, rounds);
    println!("{{\"publish_ns\":{p1:.1},\"publish4_ns\":{p4:.1},\"drain_gb_s\":{d:.2}}}");
}
