//! `kchan stats`, `kchan inject`, `kchan gen`.

use crate::names::{DeviceName, DEFAULT_DEVICE};
use crate::{GenArgs, InjectArgs};
use kchan::{Device, Error, GenConfig};
use serde_json::json;
use std::time::Duration;

/// Opens the kchan device `name`; the errors that name a device name this one.
pub fn open(name: &DeviceName) -> Result<Device, String> {
    Device::open_path(&name.path()).map_err(|e| match e {
        Error::DriverNotLoaded if name.name() == DEFAULT_DEVICE => e.to_string(),
        Error::DriverNotLoaded => {
            format!("no device {name}: its driver is not running; install and start it with `kchan driver install --sys FILE.sys`")
        }
        Error::AccessDenied => format!("access to {name} denied; run as an administrator"),
        e => e.to_string(),
    })
}

/// Prints the channel's counters (and this handle's, which has just opened).
pub fn stats(name: &DeviceName, as_json: bool) -> Result<(), String> {
    let device = open(name)?;
    let s = device.stats().map_err(|e| e.to_string())?;
    let c = s.channel;
    let v = device.version();
    if as_json {
        let value = json!({
            "protocol_version": v.protocol_version,
            "published": c.published,
            "rejected": c.rejected,
            "fanout": c.fanout,
            "dropped": c.dropped,
            "dropped_at_close": s.dropped_at_close,
            "subscribers": c.subscribers,
            "pending_receives": c.pending_receives,
            "completions": c.completions,
            "cancels": c.cancels,
            "pool_bytes": c.pool_bytes,
            "pool_allocations": c.pool_allocations,
            "gen_running": c.gen_running != 0,
            "gen_produced": c.gen_produced,
            "gen_rate": c.gen_rate,
        });
        println!("{value}");
    } else {
        println!("kchan driver at {}, protocol {}", name, v.protocol_version);
        println!("published      {:>12}   (rejected {})", c.published, c.rejected);
        println!("fan-out        {:>12}   (records stored for subscribers)", c.fanout);
        println!("dropped        {:>12}   ({} left unread by handles that closed)", c.dropped, s.dropped_at_close);
        println!("subscribers    {:>12}", c.subscribers);
        println!("pending recvs  {:>12}", c.pending_receives);
        println!("completions    {:>12}   cancels {}", c.completions, c.cancels);
        println!("pool           {:>12} B in {} allocations", c.pool_bytes, c.pool_allocations);
        let state = if c.gen_running != 0 { "running" } else { "stopped" };
        println!("generator      {state:>12}   {} events produced, rate {}/s", c.gen_produced, c.gen_rate);
    }
    Ok(())
}

/// Publishes `--count` copies of the payload.
pub fn inject(device: &DeviceName, args: InjectArgs) -> Result<(), String> {
    let payload = match (&args.data, &args.file) {
        (Some(d), _) => d.0.clone(),
        (None, Some(f)) => std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?,
        (None, None) => unreachable!("clap requires --data or --file"),
    };
    let max = kchan::proto::MAX_RECORD_PAYLOAD as usize;
    if payload.len() > max {
        return Err(format!("payload is {} bytes; the most one event carries is {max}", payload.len()));
    }
    let device = open(device)?;
    let mut left = args.count as usize;
    // As many copies per request as fit in one inject message.
    let per_request = (kchan::proto::MAX_INJECT_BYTES / (kchan::proto::record_size(payload.len()) + 8)).max(1);
    while left > 0 {
        let n = left.min(per_request);
        device.inject((0..n).map(|_| (args.kind, &payload[..]))).map_err(|e| e.to_string())?;
        left -= n;
    }
    println!("injected {} event(s) of kind {}, {} bytes each", args.count, args.kind, payload.len());
    Ok(())
}

/// Starts (optionally for a while) or stops the generator.
pub fn gen(device: &DeviceName, args: GenArgs) -> Result<(), String> {
    let device = open(device)?;
    if args.stop {
        device.stop_generator().map_err(|e| e.to_string())?;
        println!("generator stopped");
        return Ok(());
    }
    let config = GenConfig {
        rate: args.rate.unwrap_or(10_000),
        payload_bytes: args.size,
        burst: args.burst,
        kind: args.kind,
        ..GenConfig::default()
    };
    device.start_generator(&config).map_err(|e| e.to_string())?;
    println!(
        "generator started: {} events/s, {} bytes, burst {}, kind {}",
        config.rate, args.size, args.burst, args.kind
    );
    if let Some(seconds) = args.seconds {
        std::thread::sleep(Duration::from_secs_f64(seconds.max(0.0)));
        let produced = device.stats().map(|s| s.channel.gen_produced).unwrap_or(0);
        device.stop_generator().map_err(|e| e.to_string())?;
        println!("generator stopped after {seconds} s: {produced} events produced");
    }
    Ok(())
}
