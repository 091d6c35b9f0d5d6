//! Control-plane latency: `IOCTL_STATS` round trips on the handle of a
//! kchan-k8 subscription whose consumer thread drains it, in blocks that
//! alternate idle and loaded: idle, the source at half its highest rate,
//! idle, the source flat out, and again, `--cycles` times. Interleaving
//! spreads a slow moment of the machine over every level instead of one.
//! Each level's round trips are pooled into one histogram.

use super::clock::now_ticks;
use super::consumer::kchan_options;
use super::source;
use crate::args::{ControlArgs, Policy, DEFAULT_RING_BYTES};
use crate::report::run::{control_json, histogram, ControlPhase, Tally};
use hdrhistogram::Histogram;
use kchan::Device;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a started source may take to deliver its first events.
const START_LIMIT: Duration = Duration::from_secs(15);
/// How long a stopped source's last events may take to drain.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// A load level.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Idle,
    Half,
    Flat,
}

/// Round trips and delivery of one level, over all its blocks.
struct Phase {
    round_trips: Histogram<u64>,
    delivered: u64,
    seconds: f64,
}

impl Phase {
    fn new() -> Phase {
        Phase { round_trips: histogram(), delivered: 0, seconds: 0.0 }
    }

    fn view(&self) -> ControlPhase<'_> {
        ControlPhase { round_trips: &self.round_trips, events_per_s: self.delivered as f64 / self.seconds.max(1e-9) }
    }
}

/// Runs the interleaved blocks and prints one JSON line.
pub fn run(args: &ControlArgs) -> Result<(), String> {
    let device = Device::open().map_err(|e| e.to_string())?;
    let options = kchan_options(8, args.buffer_bytes, Policy::Adaptive, DEFAULT_RING_BYTES);
    let sub = device.subscribe(options).map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let wakeup = sub.wakeup();
    let consumer = {
        let stop = stop.clone();
        let mut sub = sub;
        std::thread::spawn(move || -> Result<(), String> {
            let mut tally = Tally::new();
            while !stop.load(Ordering::Acquire) {
                if let Some(batch) = sub.next_batch_timeout(Duration::from_millis(100)).map_err(|e| e.to_string())? {
                    tally.batch(batch.records(), batch.bytes().len(), now_ticks());
                }
            }
            Ok(())
        })
    };

    let mut phases = [Phase::new(), Phase::new(), Phase::new()];
    let measured = (|| -> Result<(), String> {
        std::thread::sleep(Duration::from_millis(100)); // let the receives reach the driver
        for _ in 0..args.cycles {
            for level in [Level::Idle, Level::Half, Level::Idle, Level::Flat] {
                let phase = &mut phases[level as usize];
                block(&device, args, level, phase)?;
            }
        }
        Ok(())
    })();
    stop.store(true, Ordering::Release);
    wakeup.wake();
    let consumed = consumer.join().map_err(|_| "the consumer thread panicked".to_string())?;
    measured?;
    consumed?;
    let [idle, half, flat] = &phases;
    println!("{}", control_json(&idle.view(), &half.view(), &flat.view(), args.half_rate, args.cycles));
    Ok(())
}

/// One block: starts the level's source and waits until events flow (or,
/// idle, until the ring is empty), then times `args.samples` round trips.
fn block(device: &Device, args: &ControlArgs, level: Level, phase: &mut Phase) -> Result<(), String> {
    let rate = match level {
        Level::Idle => None,
        Level::Half => Some(args.half_rate),
        Level::Flat => Some(0),
    };
    let running = match rate {
        Some(rate) => {
            let running = source::start(args.source, rate, args.size, None, 60.0)?;
            let published = device.stats().map_err(|e| e.to_string())?.subscriber.published;
            wait_for(device, START_LIMIT, |s| s.published > published)?;
            Some(running)
        }
        None => {
            wait_for(device, DRAIN_LIMIT, |s| s.in_ring_records == 0)?;
            None
        }
    };
    let before = device.stats().map_err(|e| e.to_string())?.subscriber.delivered;
    let start = Instant::now();
    let timed = round_trips(device, args, &mut phase.round_trips);
    phase.seconds += start.elapsed().as_secs_f64();
    phase.delivered += device.stats().map(|s| s.subscriber.delivered.saturating_sub(before)).unwrap_or(0);
    let stopped = running.map_or(Ok(()), source::Running::stop);
    timed?;
    stopped
}

/// Polls this handle's subscriber counters every few milliseconds until
/// `done` holds, for at most `limit`.
fn wait_for(
    device: &Device,
    limit: Duration,
    done: impl Fn(&kchan::proto::SubscriberStats) -> bool,
) -> Result<(), String> {
    let end = Instant::now() + limit;
    loop {
        if done(&device.stats().map_err(|e| e.to_string())?.subscriber) {
            return Ok(());
        }
        if Instant::now() > end {
            return Err(format!("the control run's source did not settle within {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `args.samples` timed `IOCTL_STATS` round trips into `h`, 100 ns ticks.
fn round_trips(device: &Device, args: &ControlArgs, h: &mut Histogram<u64>) -> Result<(), String> {
    for _ in 0..args.samples {
        let t0 = now_ticks();
        device.stats().map_err(|e| e.to_string())?;
        h.saturating_record(now_ticks().saturating_sub(t0));
        std::thread::sleep(Duration::from_micros(args.interval_us));
    }
    Ok(())
}
