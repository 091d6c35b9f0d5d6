//! `kchan monitor`: subscribe and show the stream live.

use crate::view::{Drops, View};
use crate::MonitorArgs;
use kchan::clock::latency_us;
use kchan::proto::Record;
use kchan::{Device, GenConfig, SubscribeOptions, Wakeup};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};
use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;

static STOP: AtomicBool = AtomicBool::new(false);
static WAKEUP: OnceLock<Wakeup> = OnceLock::new();

/// Ctrl-C / Ctrl-Break: ask the monitor loop to finish and wake it.
unsafe extern "system" fn on_ctrl(_kind: u32) -> i32 {
    STOP.store(true, Ordering::SeqCst);
    if let Some(w) = WAKEUP.get() {
        w.wake();
    }
    1
}

/// Runs the monitor until `--seconds` pass or Ctrl-C.
pub fn run(args: MonitorArgs) -> Result<(), String> {
    let device = Device::open().map_err(|e| e.to_string())?;
    let mut options = SubscribeOptions::new().in_flight(args.in_flight);
    if let Some(mask) = args.kinds {
        options = options.kinds(mask);
    }
    let mut sub = device.subscribe(options).map_err(|e| e.to_string())?;
    let _ = WAKEUP.set(sub.wakeup());
    // SAFETY: `on_ctrl` is a valid handler for the life of the process.
    unsafe { SetConsoleCtrlHandler(Some(on_ctrl), 1) };

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
    let (lines, printer) = printer();
    if !args.json {
        let _ = lines.send(format!("kchan monitor: {} receives in flight; Ctrl-C to stop", args.in_flight));
    }
    while !STOP.load(Ordering::SeqCst) && end.is_none_or(|e| Instant::now() < e) {
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
            let line = if args.json {
                view.interval_json(elapsed, interval).to_string()
            } else {
                view.interval_line(elapsed, interval)
            };
            let _ = lines.send(line);
            last = now;
            next_refresh = now + refresh;
        }
    }
    drop(lines);
    let _ = printer.join();
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

/// A thread that writes each line it is sent to stdout and flushes it. The
/// receive loop hands its lines over instead of writing them: a write to a
/// console takes milliseconds under Wine (a round trip to conhost), the
/// first one far longer, and records wait in the driver while the loop is
/// away: the live view's p99 would measure the console.
fn printer() -> (mpsc::Sender<String>, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<String>();
    let handle = std::thread::spawn(move || {
        let out = std::io::stdout();
        for line in rx {
            let mut out = out.lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    });
    (tx, handle)
}
