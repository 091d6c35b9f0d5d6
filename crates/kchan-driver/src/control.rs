//! The control IOCTLs: `VERSION`, `STATS`, `SUBSCRIBE`, `INJECT`,
//! `GEN_START`, `GEN_STOP`. Each takes the already length-checked input
//! and output of a METHOD_BUFFERED request and returns `(status, bytes
//! written)`; [`crate::dispatch`] completes the IRP. None of them blocks.
//! IRQL = PASSIVE_LEVEL (dispatch).

use crate::device::Device;
use crate::POOL;
use kchan_engine::{Clock, Detached, Limits, Subscriber, SubscriberId};
use kchan_km::ffi::{status, NTSTATUS};
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::{
    parse_inject, GenConfig, StatsReply, SubscribeConfig, VersionInfo, DEFAULT_MAX_BATCH_BYTES, KCHAN_MAGIC,
    MAX_INJECT_BYTES, PROTOCOL_VERSION,
};

/// Result of a control request: status and bytes written to the output.
pub type Reply = (NTSTATUS, usize);

/// The channel's limits: what `IOCTL_VERSION` advertises and what the
/// engine enforces.
pub fn limits() -> Limits {
    Limits::default()
}

/// Largest receive buffer accepted (and advertised).
pub const MAX_RECV_BYTES: usize = DEFAULT_MAX_BATCH_BYTES as usize;

/// Copies `value` to the start of `out` (whose length the caller checked).
fn write(out: &mut [u8], value: &[u8]) -> Reply {
    out[..value.len()].copy_from_slice(value);
    (status::SUCCESS, value.len())
}

/// `IOCTL_VERSION`: the driver's limits.
pub fn version(out: &mut [u8]) -> Reply {
    let l = limits();
    let v = VersionInfo {
        magic: KCHAN_MAGIC,
        protocol_version: PROTOCOL_VERSION,
        max_record_payload: l.max_payload as u32,
        max_batch_bytes: MAX_RECV_BYTES as u32,
        min_recv_bytes: l.min_recv_bytes() as u32,
        max_ring_bytes: l.max_ring_bytes as u32,
        max_in_flight: l.max_in_flight as u32,
        max_inject_bytes: MAX_INJECT_BYTES as u32,
    };
    write(out, v.as_bytes())
}

/// `IOCTL_STATS`: the engine's channel counters and the caller's subscriber,
/// the generator's counters, and in `pool_bytes`/`pool_allocations` the
/// driver's allocator's live counts (every allocation of kchan.sys, rings
/// and queues included: what unload must bring back to zero).
pub fn stats(dev: &Device, sub: Option<SubscriberId>, out: &mut [u8]) -> Reply {
    let Some(mut reply) = dev.shell.with(|chan, _| StatsReply {
        channel: chan.channel_stats(),
        subscriber: sub.and_then(|id| chan.stats(id)).unwrap_or_default(),
    }) else {
        return (status::DELETE_PENDING, 0);
    };
    dev.generator.fill(&mut reply.channel);
    let pool = POOL.stats();
    reply.channel.pool_bytes = pool.live_bytes as u64;
    reply.channel.pool_allocations = pool.live_allocs as u64;
    write(out, reply.as_bytes())
}

/// `IOCTL_SUBSCRIBE`: configures the handle's subscriber. The new ring and
/// queue are allocated here, at PASSIVE_LEVEL outside the lock; the swap
/// happens under it; the old memory (or the refused new one) is freed after.
///
/// - The first SUBSCRIBE of a handle, before any receive was posted on it,
///   starts the stream afresh: the default subscriber CREATE attached is
///   closed and the new one attached in the same lock hold (sequence
///   numbers from 0, fresh counters). What the default subscriber buffered
///   since CREATE is discarded with it: it never belonged to this
///   subscription, and keeping it could make the subscribe fail
///   (`WouldLoseRecords`) whenever events flow while a client opens and
///   subscribes — which is every client under load.
/// - Later, it reconfigures in place (`Channel::reconfigure`): records,
///   pending receives, sequence numbers and counters are kept, or it fails
///   changing nothing.
///
/// Returns the subscriber now bound to the handle.
#[allow(clippy::result_large_err)] // the engine hands refused memory back, to be freed outside the lock
pub fn subscribe(dev: &Device, sub: SubscriberId, input: &[u8]) -> (Reply, Option<SubscriberId>) {
    let config = match SubscribeConfig::parse(input) {
        Ok(c) => c,
        Err(e) => return ((e.ntstatus(), 0), Some(sub)),
    };
    let prepared = match Subscriber::prepare(&config, &limits()) {
        Ok(p) => p,
        Err(e) => return ((e.ntstatus(), 0), Some(sub)),
    };
    let result = dev.shell.with(|chan, sink| {
        let untouched = chan
            .stats(sub)
            .is_some_and(|s| s.completions == 0 && s.pending_receives == 0 && s.cancels == 0 && s.closed_receives == 0);
        if !untouched {
            return match chan.reconfigure(sub, prepared, sink) {
                Ok(old) => (old, Ok(sub)),
                Err(refused) => (Detached::default(), Err(refused)),
            };
        }
        // Close frees the slot at once (nothing pends), so attach finds one.
        let old = chan.close(sub, sink);
        (old, chan.attach(prepared))
    });
    let Some((old, attached)) = result else { return ((status::DELETE_PENDING, 0), Some(sub)) };
    drop(old); // outside the lock
    match attached {
        Ok(id) => {
            if id != sub {
                dev.shell.forget(sub);
                dev.shell.remember(id);
            }
            ((status::SUCCESS, 0), Some(id))
        }
        Err((refused, e)) => {
            drop(refused); // outside the lock
            let still = dev.shell.with(|chan, _| chan.stats(sub).is_some()).unwrap_or(false);
            if !still {
                dev.shell.forget(sub);
            }
            ((e.ntstatus(), 0), still.then_some(sub))
        }
    }
}

/// `IOCTL_INJECT`: validates the whole message, then publishes its records
/// in order, under one lock hold (bounded: at most `MAX_INJECT_BYTES`).
pub fn inject(dev: &Device, input: &[u8]) -> Reply {
    let records = match parse_inject(input) {
        Ok(r) => r,
        Err(e) => return (e.ntstatus(), 0),
    };
    let max = limits().max_payload;
    if records.clone().any(|(_, payload)| payload.len() > max) {
        return (status::INVALID_PARAMETER, 0);
    }
    let done = dev.shell.with(|chan, sink| {
        // One timestamp for the message: its records are published together.
        let now = chan.clock().now();
        for (kind, payload) in records {
            chan.publish_at(kind, payload, now, sink);
        }
    });
    match done {
        Some(()) => (status::SUCCESS, 0),
        None => (status::DELETE_PENDING, 0),
    }
}

/// `IOCTL_GEN_START`: validates the config and (re)starts the generator.
pub fn gen_start(dev: &Device, input: &[u8]) -> Reply {
    match GenConfig::parse(input) {
        Ok(config) => {
            dev.generator.start(config);
            (status::SUCCESS, 0)
        }
        Err(e) => (e.ntstatus(), 0),
    }
}

/// `IOCTL_GEN_STOP`: stops the generator (no error when stopped).
pub fn gen_stop(dev: &Device) -> Reply {
    dev.generator.stop();
    (status::SUCCESS, 0)
}
