//! `Limits`: the channel-wide bounds a driver imposes on subscribers.

use crate::EngineError;
use kchan_proto::{min_recv_bytes, record_size, ProtoError, SubscribeConfig, GAP_RECORD_SIZE, MAX_RECORD_PAYLOAD};

/// Channel-wide bounds, fixed at [`crate::Channel::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Size of the subscriber table, `1..=64` (publish walks a `u64` bitmask).
    pub max_subscribers: usize,
    /// Largest payload `publish` accepts; larger ones are rejected and counted.
    pub max_payload: usize,
    /// Largest ring a subscriber may ask for.
    pub max_ring_bytes: usize,
    /// Largest receives-in-flight limit K.
    pub max_in_flight: usize,
}

impl Default for Limits {
    /// 64 subscribers, 16 KiB payloads, 64 MiB rings, K <= 64.
    fn default() -> Self {
        Limits {
            max_subscribers: 64,
            max_payload: MAX_RECORD_PAYLOAD as usize,
            max_ring_bytes: 64 << 20,
            max_in_flight: 64,
        }
    }
}

impl Limits {
    /// Smallest ring accepted: the largest record plus one gap record, so any
    /// record fits an empty ring even when a gap must be written before it.
    pub const fn min_ring_bytes(&self) -> usize {
        record_size(self.max_payload).saturating_add(GAP_RECORD_SIZE)
    }

    /// Smallest receive buffer accepted: a batch header plus the largest record.
    pub const fn min_recv_bytes(&self) -> usize {
        min_recv_bytes(self.max_payload)
    }

    /// Validates `cfg` against the protocol and these limits, without
    /// allocating (what [`crate::Subscriber::prepare`] checks first).
    pub fn check(&self, cfg: &SubscribeConfig) -> Result<(), EngineError> {
        cfg.validate()?;
        let ring_bytes = cfg.ring_bytes as usize;
        if ring_bytes < self.min_ring_bytes() {
            return Err(EngineError::InvalidConfig(ProtoError::InvalidParameter));
        }
        if ring_bytes > self.max_ring_bytes || cfg.max_in_flight as usize > self.max_in_flight {
            return Err(EngineError::InvalidConfig(ProtoError::TooLarge));
        }
        Ok(())
    }
}
