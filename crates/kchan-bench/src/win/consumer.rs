//! The four consumer designs behind one trait, so that one measurement loop
//! serves them all.
//!
//! - `seed-sync`: a handle without `FILE_FLAG_OVERLAPPED`, a blocking
//!   `DeviceIoControl(IOCTL_RECV)` loop, one event per IOCTL (the seed's
//!   first code);
//! - `seed-overlapped`: an overlapped handle, one OVERLAPPED with an event,
//!   `GetOverlappedResult(wait)`, one event per IOCTL (the seed's fix);
//! - `kchan-k1` / `kchan-k8`: a [`kchan::Subscription`] with 1 or 8 batch
//!   receives in flight on a completion port.
//!
//! The seeds subscribe with `ONE_EVENT_PER_COMPLETION` so that the driver
//! emulates their one-event-per-IOCTL protocol.

use super::clock::now_ticks;
use super::raw::{self, EventIo};
use crate::args::{Mode, Policy, RunArgs};
use crate::report::Tally;
use kchan::{CompletionPolicy, Device, StatsReply, SubscribeOptions, Subscription};
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::{
    parse_batch, SubscribeConfig, VersionInfo, IOCTL_RECV, IOCTL_STATS, IOCTL_SUBSCRIBE, IOCTL_VERSION,
    ONE_EVENT_PER_COMPLETION,
};
use std::os::windows::io::OwnedHandle;
use std::time::Duration;

/// One consumer, subscribed and receiving.
pub trait Consumer {
    /// Waits for the next completed receive (at most about `timeout` for the
    /// kchan modes; the seeds block like the seed did) and counts it.
    /// Returns false when nothing arrived.
    fn next(&mut self, tally: &mut Tally, timeout: Duration) -> Result<bool, String>;
    /// The driver's counters, asked on the consumer's own handle.
    fn stats(&mut self) -> Result<StatsReply, String>;
}

/// Opens and subscribes the consumer `args.mode` describes.
pub fn open(args: &RunArgs) -> Result<Box<dyn Consumer>, String> {
    Ok(match args.mode {
        Mode::SeedSync => Box::new(Seed::open(false, args.ring_bytes)?),
        Mode::SeedOverlapped => Box::new(Seed::open(true, args.ring_bytes)?),
        Mode::KchanK1 | Mode::KchanK8 => Box::new(Kchan::open(args)?),
    })
}

/// How a seed sends its IOCTLs.
enum SeedIo {
    Sync(OwnedHandle),
    Event(EventIo),
}

/// Both seed designs: one receive at a time, one event per IOCTL.
struct Seed {
    io: SeedIo,
    buffer: Vec<u8>,
}

impl Seed {
    fn open(overlapped: bool, ring_bytes: Option<u32>) -> Result<Seed, String> {
        let handle = raw::open(overlapped).map_err(|e| format!("opening \\\\.\\kchan: {e}"))?;
        let io = if overlapped {
            SeedIo::Event(EventIo::new(handle).map_err(|e| e.to_string())?)
        } else {
            SeedIo::Sync(handle)
        };
        let mut seed = Seed { io, buffer: vec![0u8; 64] };
        let mut version = [0u8; core::mem::size_of::<VersionInfo>()];
        let n = seed.call(IOCTL_VERSION, &[], &mut version).map_err(|e| format!("version: {e}"))?;
        let version = VersionInfo::parse(&version[..n]).map_err(|e| format!("version: {e:?}"))?;
        // The smallest buffer the driver takes: room for one largest record.
        seed.buffer = vec![0u8; version.min_recv_bytes as usize];
        let mut config =
            SubscribeConfig { flags: ONE_EVENT_PER_COMPLETION, max_in_flight: 1, ..SubscribeConfig::default() };
        if let Some(bytes) = ring_bytes {
            config.ring_bytes = bytes;
        }
        seed.call(IOCTL_SUBSCRIBE, config.as_bytes(), &mut []).map_err(|e| format!("subscribe: {e}"))?;
        Ok(seed)
    }

    fn call(&self, code: u32, input: &[u8], output: &mut [u8]) -> std::io::Result<usize> {
        match &self.io {
            SeedIo::Sync(h) => raw::sync_ioctl(h, code, input, output),
            SeedIo::Event(io) => io.call(code, input, output),
        }
    }
}

impl Consumer for Seed {
    fn next(&mut self, tally: &mut Tally, _timeout: Duration) -> Result<bool, String> {
        let mut buffer = std::mem::take(&mut self.buffer);
        let result = self.call(IOCTL_RECV, &[], &mut buffer);
        let now = now_ticks();
        let counted = match result {
            Ok(n) => {
                parse_batch(&buffer[..n]).map(|batch| tally.batch(batch, now)).map_err(|e| format!("batch: {e:?}"))
            }
            Err(e) => Err(format!("receive: {e}")),
        };
        self.buffer = buffer;
        counted.map(|()| true)
    }

    fn stats(&mut self) -> Result<StatsReply, String> {
        let mut out = [0u8; core::mem::size_of::<StatsReply>()];
        let n = self.call(IOCTL_STATS, &[], &mut out).map_err(|e| format!("stats: {e}"))?;
        StatsReply::parse(&out[..n]).map_err(|e| format!("stats: {e:?}"))
    }
}

/// kchan's client: K batch receives in flight on a completion port.
struct Kchan {
    sub: Subscription,
}

/// The subscribe options of a kchan mode.
pub fn kchan_options(
    max_in_flight: u32,
    buffer_bytes: usize,
    policy: Policy,
    ring_bytes: Option<u32>,
) -> SubscribeOptions {
    let policy = match policy {
        Policy::Immediate => CompletionPolicy::Immediate,
        Policy::Adaptive => CompletionPolicy::Adaptive,
    };
    let mut options =
        SubscribeOptions::new().max_in_flight(max_in_flight).buffer_bytes(buffer_bytes).completion(policy);
    if let Some(bytes) = ring_bytes {
        options = options.ring_bytes(bytes);
    }
    options
}

impl Kchan {
    fn open(args: &RunArgs) -> Result<Kchan, String> {
        let device = Device::open().map_err(|e| e.to_string())?;
        let options = kchan_options(args.max_in_flight(), args.buffer_bytes, args.policy, args.ring_bytes);
        let sub = device.subscribe(options).map_err(|e| e.to_string())?;
        Ok(Kchan { sub })
    }
}

impl Consumer for Kchan {
    fn next(&mut self, tally: &mut Tally, timeout: Duration) -> Result<bool, String> {
        match self.sub.next_batch_timeout(timeout).map_err(|e| e.to_string())? {
            Some(batch) => {
                tally.batch(batch.records(), now_ticks());
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn stats(&mut self) -> Result<StatsReply, String> {
        self.sub.device().stats().map_err(|e| e.to_string())
    }
}
