//! `kchan monitor`: subscribe and show the stream live.

use crate::names::DeviceName;
use crate::view::{Drops, View};
use crate::{ctrl_c, MonitorArgs};
use kchan::clock::latency_us;
use kchan::proto::Record;
use kchan::{Device, GenConfig, SubscribeOptions};
use std::io::Write;
use std::time::{Duration, Instant};

/// Runs the monitor until `--seconds` pass or Ctrl-C.
pub fn run(args: MonitorArgs, device: &DeviceName) -> Result<(), String> {
    let device = crate::commands::open(device)?;
    let mut options = SubscribeOptions::new().max_in_flight(args.max_in_flight);
    if let Some(mask) = args.kinds {
        options = options.kinds(mask);
    }
    let mut sub = device.subscribe(options).map_err(|e| e.to_string())?;
    ctrl_c::install(sub.wakeup());

    if let Some(rate) = args.gen_rate {
        let config = GenConfig { rate, payload_bytes: args.gen_size, ..GenConfig::default() };
        device.start_generator(&config).map_err(|e| e.to_string())?;
    }
    let result = watch(&mut sub, &device, &args);
    if args.gen_rate.is_some() {
        let _ = device.stop_generator();
    }
    result
}

fn watch(sub: &mut kchan::Subscription, device: &Device, args: &MonitorArgs) -> Result<(), String> {
    let start = Instant::now();
    let end = args.seconds.map(|s| start + Duration::from_secs_f64(s.max(0.0)));
    let refresh = Duration::from_secs(1) / args.refresh;
    let mut view = View::new();
    let mut last = start;
    let mut next_refresh = start + refresh;
    let out = std::io::stdout();
    if !args.json {
        println!("kchan monitor: {} receives in flight; Ctrl-C to stop", args.max_in_flight);
    }
    while !ctrl_c::stopped() && end.is_none_or(|e| Instant::now() < e) {
        let wake_at = end.map_or(next_refresh, |e| e.min(next_refresh));
        let timeout = wake_at.saturating_duration_since(Instant::now());
        if let Some(batch) = sub.next_batch_timeout(timeout).map_err(|e| e.to_string())? {
            view.completion();
            for record in batch.records() {
                match record {
                    Record::Event { timestamp, .. } => view.event(latency_us(timestamp)),
                    Record::Gap { count, .. } => view.gap(count),
                }
            }
        }
        let now = Instant::now();
        if now >= next_refresh {
            if let Ok(stats) = device.stats() {
                let s = stats.subscriber;
                view.set_drops(Drops { ring_full: s.dropped_ring_full, overwritten: s.dropped_overwritten });
            }
            let elapsed = (now - start).as_secs_f64();
            let interval = (now - last).as_secs_f64();
            let mut out = out.lock();
            let _ = if args.json {
                writeln!(out, "{}", view.interval_json(elapsed, interval))
            } else {
                writeln!(out, "{}", view.interval_line(elapsed, interval))
            };
            let _ = out.flush();
            last = now;
            next_refresh = now + refresh;
        }
    }
    if let Ok(stats) = device.stats() {
        let s = stats.subscriber;
        view.set_drops(Drops { ring_full: s.dropped_ring_full, overwritten: s.dropped_overwritten });
    }
    let elapsed = start.elapsed().as_secs_f64();
    if args.json {
        println!("{}", view.summary_json(elapsed));
    } else {
        println!("{}", view.summary_text(elapsed));
    }
    Ok(())
}
