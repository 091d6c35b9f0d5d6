//! Event sources: the driver's generator (dropping when a ring is full, or
//! waiting for room), or a separate injector process.
//!
//! [`start`] starts one for a measurement and [`Running::stop`] ends it. The
//! injector is this same program run as `kchan-bench inject`
//! ([`inject_loop`]): a process of its own, so that the CPU time it spends
//! on `IOCTL_INJECT` is not charged to the consumer.

use crate::args::{InjectArgs, Source};
use kchan::{Device, GenConfig};
use kchan_proto::{InjectBuilder, GEN_WAIT_FOR_ROOM, IOCTL_INJECT, MAX_INJECT_BYTES};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running source.
pub enum Running {
    /// The driver's generator, started on this control handle.
    Gen(Device),
    /// The injector process.
    Inject(Child),
}

/// Events per generator wake-up: the driver paces each burst, so bursts of
/// one at moderate rates (the latency runs), larger ones flat out.
pub fn gen_burst(rate: u32) -> u32 {
    if rate == 0 {
        256
    } else {
        (rate / 10_000).max(1)
    }
}

/// Starts `source` at `rate` events/s (0 = flat out) with `size`-byte
/// payloads, for at most `seconds` (the injector ends itself then).
pub fn start(source: Source, rate: u32, size: u32, burst: Option<u32>, seconds: f64) -> Result<Running, String> {
    match source {
        Source::Gen | Source::GenWait => {
            let device = Device::open().map_err(|e| e.to_string())?;
            let config = GenConfig {
                rate,
                payload_bytes: size,
                burst: burst.unwrap_or(gen_burst(rate)),
                flags: if source == Source::GenWait { GEN_WAIT_FOR_ROOM } else { 0 },
                ..GenConfig::default()
            };
            device.start_generator(&config).map_err(|e| e.to_string())?;
            Ok(Running::Gen(device))
        }
        Source::Inject => {
            let exe = std::env::current_exe().map_err(|e| format!("finding kchan-bench.exe: {e}"))?;
            let child = Command::new(exe)
                .args(["inject", "--rate", &rate.to_string(), "--size", &size.to_string()])
                .args(["--seconds", &format!("{seconds:.1}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| format!("starting the injector: {e}"))?;
            Ok(Running::Inject(child))
        }
    }
}

impl Running {
    /// Stops the source and reports how the injector ended (an injector that
    /// failed on its own is an error; one we ended is not).
    pub fn stop(self) -> Result<(), String> {
        match self {
            Running::Gen(device) => device.stop_generator().map_err(|e| e.to_string()),
            Running::Inject(mut child) => {
                if let Ok(Some(status)) = child.try_wait() {
                    if !status.success() {
                        return Err(format!("the injector failed ({status})"));
                    }
                    return Ok(());
                }
                let _ = child.kill();
                let _ = child.wait();
                Ok(())
            }
        }
    }
}

/// The injector: publishes `size`-byte events of `kind` through
/// `IOCTL_INJECT` at `rate` (0 = flat out, in full 64 KiB messages) for
/// `seconds`. Paced runs wake every half millisecond and send what is due,
/// as one message.
pub fn inject_loop(args: &InjectArgs) -> Result<(), String> {
    let device = Device::open().map_err(|e| e.to_string())?;
    let payload = vec![0x5Au8; args.size as usize];
    let mut buf = vec![0u8; MAX_INJECT_BYTES];
    let per_message = {
        let mut b = InjectBuilder::new(&mut buf).map_err(|e| format!("{e:?}"))?;
        while b.push(args.kind, &payload).is_ok() {}
        u64::from(b.len())
    };
    if per_message == 0 {
        return Err(format!("a {}-byte payload does not fit an inject message", args.size));
    }
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(args.seconds.max(0.0));
    let mut sent = 0u64;
    let mut built = (0u64, 0usize); // (records, bytes) of the message in `buf`
    while Instant::now() < end {
        let due = if args.rate == 0 {
            per_message
        } else {
            let target = (start.elapsed().as_secs_f64() * f64::from(args.rate)) as u64;
            target.saturating_sub(sent).min(per_message)
        };
        if due == 0 {
            std::thread::sleep(Duration::from_micros(500));
            continue;
        }
        if built.0 != due {
            let mut b = InjectBuilder::new(&mut buf).map_err(|e| format!("{e:?}"))?;
            for _ in 0..due {
                b.push(args.kind, &payload).map_err(|e| format!("{e:?}"))?;
            }
            built = (due, b.finish());
        }
        device.raw_control(IOCTL_INJECT, &buf[..built.1], &mut []).map_err(|e| e.to_string())?;
        sent += due;
    }
    Ok(())
}
