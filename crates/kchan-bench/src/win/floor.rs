//! The machine's floors, measured in the same benchmark as the figures
//! they divide:
//!
//! - `rtt`: `IOCTL_VERSION` round trips, back to back, on an idle
//!   overlapped handle (the driver completes it at once: all of it is the
//!   I/O path, under Wine through wineserver);
//! - `delivery`: publish to receive with exactly one receive pending and
//!   one event at a time. A consumer thread waits on its completion port
//!   with one receive in flight (immediate completion); this thread injects
//!   one event, the consumer takes it, re-posts its receive and says so,
//!   and only then is the next one injected. No event can reach a consumer
//!   faster than this on the machine.

use super::clock::now_ticks;
use crate::args::{FloorArgs, DEFAULT_RING_BYTES};
use crate::report::run::{floor_json, histogram, Tally};
use kchan::{CompletionPolicy, Device, SubscribeOptions};
use kchan_proto::{VersionInfo, IOCTL_VERSION};
use std::sync::mpsc;
use std::time::Duration;

/// Longest one injected event may take to arrive before the run fails.
const EVENT_LIMIT: Duration = Duration::from_secs(5);

/// Measures both floors and prints one JSON line.
pub fn run(args: &FloorArgs) -> Result<(), String> {
    let control = Device::open().map_err(|e| e.to_string())?;
    let mut rtt = histogram();
    let mut out = [0u8; core::mem::size_of::<VersionInfo>()];
    for _ in 0..args.samples {
        let t0 = now_ticks();
        control.raw_control(IOCTL_VERSION, &[], &mut out).map_err(|e| e.to_string())?;
        rtt.saturating_record(now_ticks().saturating_sub(t0));
    }

    let device = Device::open().map_err(|e| e.to_string())?;
    let options =
        SubscribeOptions::new().max_in_flight(1).completion(CompletionPolicy::Immediate).ring_bytes(DEFAULT_RING_BYTES);
    let mut sub = device.subscribe(options).map_err(|e| e.to_string())?;
    let (taken_tx, taken_rx) = mpsc::channel::<()>();
    let samples = args.samples;
    let consumer = std::thread::spawn(move || -> Result<Tally, String> {
        let mut tally = Tally::new();
        while tally.events < u64::from(samples) {
            let batch = sub
                .next_batch_timeout(EVENT_LIMIT)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("an injected event did not arrive within {EVENT_LIMIT:?}"))?;
            tally.batch(batch.records(), batch.bytes().len(), now_ticks());
            // Re-post the receive before the next event is injected (the
            // call returns at once: nothing else is in flight).
            if sub.next_batch_timeout(Duration::ZERO).map_err(|e| e.to_string())?.is_some() {
                return Err("a second batch arrived for one injected event".into());
            }
            if taken_tx.send(()).is_err() {
                break;
            }
        }
        Ok(tally)
    });
    let payload = vec![0x5Au8; args.size as usize];
    let injected = (|| -> Result<(), String> {
        std::thread::sleep(Duration::from_millis(50)); // let the receive reach the driver
        for _ in 0..samples {
            control.inject([(0u16, &payload[..])]).map_err(|e| e.to_string())?;
            if taken_rx.recv_timeout(EVENT_LIMIT * 2).is_err() {
                break; // the consumer failed: its error is reported below
            }
        }
        Ok(())
    })();
    drop(taken_rx);
    let delivery = consumer.join().map_err(|_| "the consumer thread panicked".to_string())??;
    injected?;
    println!("{}", floor_json(&rtt, &delivery.latency));
    Ok(())
}
