//! Control-plane latency: `IOCTL_STATS` round trips on the handle of a
//! kchan-k8 subscription, first idle (8 receives pending, no events), then
//! while the generator runs flat out and a consumer thread drains the
//! subscription (or the injector process, `--source inject`). One round trip every `--interval-us`, timed with the
//! performance counter.

use super::clock::now_ticks;
use super::consumer::kchan_options;
use crate::args::{ControlArgs, Policy};
use crate::report::{control_json, Tally};
use hdrhistogram::Histogram;
use kchan::Device;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs both phases and prints one JSON line.
pub fn run(args: &ControlArgs) -> Result<(), String> {
    let device = Device::open().map_err(|e| e.to_string())?;
    let sub =
        device.subscribe(kchan_options(8, args.buffer_bytes, Policy::Adaptive, None)).map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let wakeup = sub.wakeup();
    let consumer = {
        let stop = stop.clone();
        let mut sub = sub;
        std::thread::spawn(move || -> Result<(u64, f64), String> {
            let mut tally = Tally::new();
            let start = Instant::now();
            while !stop.load(Ordering::Acquire) {
                if let Some(batch) = sub.next_batch_timeout(Duration::from_millis(100)).map_err(|e| e.to_string())? {
                    tally.batch(batch.records(), now_ticks());
                }
            }
            Ok((tally.events, start.elapsed().as_secs_f64()))
        })
    };

    std::thread::sleep(Duration::from_millis(100)); // let the receives reach the driver
    let idle = round_trips(&device, args)?;
    let running = super::source::start(args.source, 0, args.size, None, 60.0)?;
    std::thread::sleep(Duration::from_millis(300)); // warm up
    let loaded_start = Instant::now();
    let before = device.stats().map_err(|e| e.to_string())?.subscriber.delivered;
    let loaded = round_trips(&device, args);
    let delivered = device.stats().map(|s| s.subscriber.delivered.saturating_sub(before)).unwrap_or(0);
    let loaded_secs = loaded_start.elapsed().as_secs_f64();
    let stopped = running.stop();
    stop.store(true, Ordering::Release);
    wakeup.wake();
    let consumed = consumer.join().map_err(|_| "the consumer thread panicked".to_string())?;
    let loaded = loaded?;
    consumed?;
    stopped?;
    println!("{}", control_json(&idle, &loaded, delivered as f64 / loaded_secs.max(1e-9)));
    Ok(())
}

/// `args.samples` timed `IOCTL_STATS` round trips, in 100 ns ticks.
fn round_trips(device: &Device, args: &ControlArgs) -> Result<Histogram<u64>, String> {
    let mut h = Tally::new().latency;
    for _ in 0..args.samples {
        let t0 = now_ticks();
        device.stats().map_err(|e| e.to_string())?;
        h.saturating_record(now_ticks().saturating_sub(t0));
        std::thread::sleep(Duration::from_micros(args.interval_us));
    }
    Ok(h)
}
