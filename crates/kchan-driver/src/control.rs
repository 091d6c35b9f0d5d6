//! The control requests: `VERSION`, `STATS`, `SUBSCRIBE`, `INJECT`,
//! `GEN_START`, `GEN_STOP`. Each takes the length-checked input or output
//! of a METHOD_BUFFERED request and returns `(status, bytes written)`;
//! [`crate::dispatch`] completes the IRP. None of them blocks.
//! IRQL = PASSIVE_LEVEL (dispatch).

use crate::device::Device;
use crate::handle::{self, Binding};
use crate::kernel::{HandleWords, Kernel, NtStatus};
use crate::sink::Recv;
use kchan_engine::Subscriber;
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::{
    parse_inject, GenConfig, StatsReply, SubscribeConfig, VersionInfo, KCHAN_MAGIC, MAX_INJECT_BYTES, PROTOCOL_VERSION,
    STATUS_DELETE_PENDING, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED,
    STATUS_SUCCESS,
};

/// Result of a control request: status and bytes written to the output.
pub type Reply = (NtStatus, usize);

/// Copies `value` to the start of `out` (the caller checked its length).
fn write(out: &mut [u8], value: &[u8]) -> Reply {
    out[..value.len()].copy_from_slice(value);
    (STATUS_SUCCESS, value.len())
}

impl<K: Kernel> Device<K> {
    /// What `IOCTL_VERSION` advertises.
    pub fn version_info(&self) -> VersionInfo {
        let l = &self.config.limits;
        VersionInfo {
            magic: KCHAN_MAGIC,
            protocol_version: PROTOCOL_VERSION,
            max_record_payload: l.max_payload as u32,
            max_batch_bytes: self.config.max_recv_bytes as u32,
            min_recv_bytes: l.min_recv_bytes() as u32,
            max_ring_bytes: l.max_ring_bytes as u32,
            max_in_flight: l.max_in_flight as u32,
            max_inject_bytes: MAX_INJECT_BYTES as u32,
        }
    }

    /// `IOCTL_VERSION`.
    pub(crate) fn version(&self, out: &mut [u8]) -> Reply {
        write(out, self.version_info().as_bytes())
    }

    /// `IOCTL_STATS`: the channel's counters, the handle's subscriber's
    /// (zero before it subscribed), the driver's own fields (hooks), the
    /// ring budget, and the records dropped at close. Writes as much of the reply as `out` holds (at
    /// least `STATS_REPLY_MIN_BYTES`, checked by the caller).
    pub(crate) fn stats(&self, words: Option<&HandleWords<'_>>, out: &mut [u8]) -> Reply {
        let bound = match words.map(handle::binding) {
            Some(Binding::Bound(id)) => Some(id),
            _ => None,
        };
        let Some(mut reply) = self.channel.with(|chan, _| StatsReply {
            channel: chan.channel_stats(),
            subscriber: bound.and_then(|id| chan.stats(id)).unwrap_or_default(),
            dropped_at_close: chan.dropped_at_close(),
            ..StatsReply::default()
        }) else {
            return (STATUS_DELETE_PENDING, 0);
        };
        if let Some(hooks) = self.hooks {
            hooks.fill_stats(&mut reply.channel);
        }
        reply.ring_budget_bytes = self.budget.limit() as u64;
        reply.ring_budget_used = self.budget.used() as u64;
        let bytes = reply.as_bytes();
        let n = bytes.len().min(out.len());
        write(out, &bytes[..n])
    }

    /// `IOCTL_SUBSCRIBE`: the handle's first subscribe attaches its
    /// subscriber; later ones reconfigure it in place, keeping its records,
    /// pending receives, sequence numbers and counters, or fail changing
    /// nothing. The new ring is reserved in the budget and allocated here,
    /// at PASSIVE_LEVEL outside the lock; the swap happens under it; the
    /// old memory (or the refused new one) is freed after.
    pub(crate) fn subscribe(&self, words: &HandleWords<'_>, input: &[u8]) -> Reply {
        let config = match SubscribeConfig::parse(input) {
            Ok(c) => c,
            Err(e) => return (e.ntstatus(), 0),
        };
        (self.attach_or_reconfigure(words, &config, true), 0)
    }

    /// Attaches a subscriber with `config` to an unbound handle, or (if
    /// `reconfigure`) reconfigures the bound one. A handle already bound
    /// when `reconfigure` is false is left alone (success).
    pub(crate) fn attach_or_reconfigure(
        &self,
        words: &HandleWords<'_>,
        config: &SubscribeConfig,
        reconfigure: bool,
    ) -> NtStatus {
        crate::irql::passive::<K>();
        if let Err(e) = self.config.limits.check(config) {
            return e.ntstatus();
        }
        let ring_bytes = config.ring_bytes as usize;
        if !self.budget.reserve(ring_bytes) {
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        let prepared = match Subscriber::<Recv<K>>::prepare(config, &self.config.limits) {
            Ok(p) => p,
            Err(e) => {
                self.budget.release(ring_bytes);
                return e.ntstatus();
            }
        };
        let outcome = self.channel.with(|chan, sink| match handle::binding(words) {
            Binding::Closed => (Err((prepared, STATUS_DELETE_PENDING)), None),
            Binding::Bound(_) if !reconfigure => (Err((prepared, STATUS_SUCCESS)), None),
            Binding::Bound(id) => match chan.reconfigure(id, prepared, sink) {
                Ok(old) => (Ok(()), Some(old)),
                Err((refused, e)) => (Err((refused, e.ntstatus())), None),
            },
            Binding::Unbound => match chan.attach(prepared) {
                Ok(id) => {
                    handle::set_binding(words, Binding::Bound(id));
                    (Ok(()), None)
                }
                Err((refused, e)) => (Err((refused, e.ntstatus())), None),
            },
        });
        let Some((result, old)) = outcome else { return STATUS_DELETE_PENDING };
        if let Some(old) = old {
            self.free(old);
        }
        match result {
            Ok(()) => STATUS_SUCCESS,
            Err((refused, status)) => {
                self.free_prepared(refused);
                status
            }
        }
    }

    /// `IOCTL_INJECT`: validates the whole message, then publishes its
    /// records in order, under one lock hold and one timestamp (bounded:
    /// at most `MAX_INJECT_BYTES`).
    pub(crate) fn inject(&self, input: &[u8]) -> Reply {
        let records = match parse_inject(input) {
            Ok(r) => r,
            Err(e) => return (e.ntstatus(), 0),
        };
        let max = self.config.limits.max_payload;
        if records.clone().any(|(_, payload)| payload.len() > max) {
            return (STATUS_INVALID_PARAMETER, 0);
        }
        let published = self.publish_batch(|batch| {
            for (kind, payload) in records {
                batch.publish(kind, payload);
            }
        });
        if published {
            (STATUS_SUCCESS, 0)
        } else {
            (STATUS_DELETE_PENDING, 0)
        }
    }

    /// `IOCTL_GEN_START`: validates the config and hands it to the driver's
    /// source.
    pub(crate) fn gen_start(&self, input: &[u8]) -> Reply {
        let Some(hooks) = self.hooks else { return (STATUS_NOT_SUPPORTED, 0) };
        match GenConfig::parse(input) {
            Ok(config) => (hooks.gen_start(&config), 0),
            Err(e) => (e.ntstatus(), 0),
        }
    }

    /// `IOCTL_GEN_STOP`.
    pub(crate) fn gen_stop(&self) -> Reply {
        match self.hooks {
            Some(hooks) => (hooks.gen_stop(), 0),
            None => (STATUS_NOT_SUPPORTED, 0),
        }
    }
}
