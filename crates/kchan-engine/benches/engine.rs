//! Criterion benchmarks: publish (32-byte payload, 1 and 4 subscribers) and
//! drain throughput. Read the figures; nothing here asserts a time.
#![allow(missing_docs)] // criterion_group! generates undocumented items
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kchan_engine::proto::SubscribeConfig;
use kchan_engine::{Channel, Limits, Outcome, Request, Sink, Subscriber, SubscriberId};
use std::hint::black_box;

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
struct Keep(Option<Buf>);
impl Sink<Buf> for Keep {
    fn complete(&mut self, req: Buf, _: Outcome) {
        self.0 = Some(req);
    }
}

type Chan = Channel<Buf, fn() -> u64>;

fn clock() -> u64 {
    0
}

fn setup(subs: usize, ring: u32) -> (Chan, Vec<SubscriberId>) {
    let mut ch: Chan =
        Channel::new(clock as fn() -> u64, Limits { max_ring_bytes: 1 << 30, ..Limits::default() }).unwrap();
    let cfg = SubscribeConfig { ring_bytes: ring, ..Default::default() };
    let ids = (0..subs).map(|_| ch.attach(Subscriber::prepare(&cfg, ch.limits()).unwrap()).ok().unwrap()).collect();
    (ch, ids)
}

/// Drains every subscriber with 1 MiB receives.
fn drain_all(ch: &mut Chan, ids: &[SubscriberId], sink: &mut Keep) {
    for &id in ids {
        loop {
            let buf = sink.0.take().unwrap_or_else(|| Buf(vec![0; 1 << 20]));
            ch.post(id, buf, sink).ok().unwrap();
            if sink.0.is_none() {
                sink.0 = ch.cancel(id, 0);
                break;
            }
        }
    }
}

fn publish(c: &mut Criterion) {
    let payload = [0x5Au8; 32];
    for subs in [1usize, 4] {
        let (mut ch, ids) = setup(subs, 8 << 20);
        let mut sink = Keep::default();
        let mut n = 0u32;
        let mut g = c.benchmark_group("publish_32B");
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("{subs}_subscriber"), |b| {
            b.iter(|| {
                // Drain (rarely) before the ring fills, so no publish takes the drop path.
                n += 1;
                if n == 100_000 {
                    n = 0;
                    drain_all(&mut ch, &ids, &mut sink);
                }
                black_box(ch.publish(1, black_box(&payload), &mut sink))
            })
        });
        g.finish();
    }
}

fn drain(c: &mut Criterion) {
    let payload = [0x5Au8; 32];
    let events = 100_000u64;
    let (mut ch, ids) = setup(1, 8 << 20);
    let mut sink = Keep::default();
    let mut g = c.benchmark_group("drain");
    g.throughput(Throughput::Bytes(events * 56));
    g.bench_function("1MiB_receives_32B_records", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                for _ in 0..events {
                    ch.publish(1, &payload, &mut sink);
                }
                let t = std::time::Instant::now();
                drain_all(&mut ch, &ids, &mut sink);
                total += t.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, publish, drain);
criterion_main!(benches);
