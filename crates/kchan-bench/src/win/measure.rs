//! One `run`: a consumer design against a source at a rate.
//!
//! Order: subscribe (so nothing published is missed), start the source, wait
//! for the first event, warm up for `--warmup` seconds, then measure for
//! `--seconds`: the events and completions the consumer counts, the
//! latency of every event, the driver's counters of this subscriber
//! (published, dropped) and this process's CPU time, each as the difference
//! between the window's two ends. A watchdog ends the process if the
//! consumer blocks for good (a seed's receive waits forever when no event
//! comes).

use super::clock::process_cpu_ticks;
use super::{consumer, source};
use crate::args::{Policy, RunArgs};
use crate::report::{run_json, RunMeasure, RunSetup, Tally};
use std::time::{Duration, Instant};

/// How long the first event may take to arrive (the injector process starts).
const FIRST_EVENT_LIMIT: Duration = Duration::from_secs(15);
/// Longest a kchan consumer waits in one call before checking the clock.
const POLL: Duration = Duration::from_millis(100);

/// Runs one measurement and prints its JSON line.
pub fn run(args: &RunArgs) -> Result<(), String> {
    let mut consumer = consumer::open(args)?;
    let total = args.warmup.max(0.0) + args.seconds.max(0.0);
    start_watchdog(Duration::from_secs_f64(total) + FIRST_EVENT_LIMIT + Duration::from_secs(10));
    let running =
        source::start(args.source, args.rate, args.size, args.burst, total + FIRST_EVENT_LIMIT.as_secs_f64())?;
    let measured = measure(&mut *consumer, args);
    let stopped = running.stop();
    let m = measured?;
    stopped?;
    let setup = RunSetup {
        mode: args.mode.name(),
        source: args.source.name(),
        rate: args.rate,
        payload_bytes: args.size,
        in_flight: args.max_in_flight(),
        // The seeds use the driver's smallest receive buffer.
        buffer_bytes: if args.mode.is_seed() { 0 } else { args.buffer_bytes },
        policy: match (args.mode.is_seed(), args.policy) {
            (true, _) => "one-event",
            (false, Policy::Adaptive) => "adaptive",
            (false, Policy::Immediate) => "immediate",
        },
    };
    println!("{}", run_json(&setup, &m));
    Ok(())
}

fn measure(consumer: &mut dyn consumer::Consumer, args: &RunArgs) -> Result<RunMeasure, String> {
    let mut scratch = Tally::new();
    let limit = Instant::now() + FIRST_EVENT_LIMIT;
    while scratch.events == 0 {
        if Instant::now() > limit {
            return Err(format!("no event arrived within {FIRST_EVENT_LIMIT:?}"));
        }
        consumer.next(&mut scratch, POLL)?;
    }
    let warm_end = Instant::now() + Duration::from_secs_f64(args.warmup.max(0.0));
    while Instant::now() < warm_end {
        consumer.next(&mut scratch, POLL)?;
    }

    let before = consumer.stats()?.subscriber;
    let cpu_before = process_cpu_ticks();
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(args.seconds.max(0.0));
    let mut tally = Tally::new();
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        consumer.next(&mut tally, (end - now).min(POLL))?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu_ticks = process_cpu_ticks().saturating_sub(cpu_before);
    let after = consumer.stats()?.subscriber;
    Ok(RunMeasure {
        seconds,
        tally,
        dropped: after.dropped().saturating_sub(before.dropped()),
        published: after.published.saturating_sub(before.published),
        cpu_ticks,
    })
}

/// Ends the process with an error if the run has not finished after `limit`.
fn start_watchdog(limit: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        if let Ok(device) = kchan::Device::open() {
            let _ = device.stop_generator();
        }
        eprintln!("kchan-bench: the run did not finish within {limit:?} (a receive that never completes?)");
        std::process::exit(3);
    });
}
