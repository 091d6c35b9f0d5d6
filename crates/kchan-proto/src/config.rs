//! `SubscribeConfig`: what a handle asks of its subscriber.

use crate::{ProtoError, PROTOCOL_VERSION, RECORD_ALIGN};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// What happens when a record does not fit in a subscriber's ring.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OverflowPolicy {
    /// Keep what is in the ring, drop the new record (counted as `RingFull`). Default.
    #[default]
    DropNewest = 0,
    /// Overwrite the oldest records (counted as `Overwritten`).
    DropOldest = 1,
}

impl OverflowPolicy {
    /// Decodes a wire value.
    pub const fn from_raw(v: u32) -> Option<Self> {
        match v {
            0 => Some(OverflowPolicy::DropNewest),
            1 => Some(OverflowPolicy::DropOldest),
            _ => None,
        }
    }
}

/// When a waiting receive is completed. Every policy also completes at once
/// when the waiting records fill the receive buffer or the ring reaches
/// `fill_percent`, so no policy can stall or cause avoidable drops.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CompletionPolicy {
    /// Complete as soon as one record waits (lowest latency at low rates). Default.
    #[default]
    Immediate = 0,
    /// Complete once `min_records` records wait, or the oldest waited `max_delay_us`.
    Coalesce = 1,
    /// After a completion, hold further completions of this subscriber until
    /// the consumer has posted back every receive it had out (as many as it
    /// ever had pending at once), or the oldest record waited `max_delay_us`.
    /// Keeps K receives in flight without paying one completion per event
    /// while the consumer is busy.
    Adaptive = 2,
}

impl CompletionPolicy {
    /// Decodes a wire value.
    pub const fn from_raw(v: u32) -> Option<Self> {
        match v {
            0 => Some(CompletionPolicy::Immediate),
            1 => Some(CompletionPolicy::Coalesce),
            2 => Some(CompletionPolicy::Adaptive),
            _ => None,
        }
    }
}

/// Flag: deliver exactly one record per completed receive (emulates the seed's
/// one-event-per-IOCTL design, for comparisons).
pub const ONE_EVENT_PER_COMPLETION: u32 = 1;
/// All subscribe flags defined by this version.
pub const SUBSCRIBE_FLAGS_KNOWN: u32 = ONE_EVENT_PER_COMPLETION;

/// Largest `max_delay_us`: one second.
pub const MAX_DELAY_US: u32 = 1_000_000;
/// Largest ring a config may name; a driver's limit may be lower.
pub const MAX_RING_BYTES: u32 = 1 << 30;
/// Largest receives-in-flight limit a config may name.
pub const MAX_IN_FLIGHT: u32 = 1024;

/// Input of `IOCTL_SUBSCRIBE`. Fields are public for building; the enum-valued
/// ones are raw `u32`s on the wire: use the accessors after [`SubscribeConfig::validate`].
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct SubscribeConfig {
    /// Must be [`PROTOCOL_VERSION`].
    pub version: u32,
    /// `ONE_EVENT_PER_COMPLETION` and future flags; unknown bits are refused.
    pub flags: u32,
    /// Bit `k` set: receive events of kind `k` (`0..=63`).
    pub kind_mask: u64,
    /// Ring capacity in bytes, a multiple of 8 (the driver bounds it further).
    pub ring_bytes: u32,
    /// Receives in flight limit K, at least 1.
    pub max_in_flight: u32,
    /// An [`OverflowPolicy`] as `u32`.
    pub overflow: u32,
    /// A [`CompletionPolicy`] as `u32`.
    pub completion: u32,
    /// `Coalesce`: complete once this many records wait (at least 1).
    pub min_records: u32,
    /// `Coalesce` / `Adaptive`: longest time a record waits while a receive
    /// is pending, in microseconds (`1..=MAX_DELAY_US`).
    pub max_delay_us: u32,
    /// Complete regardless of policy once the ring is this full, in percent
    /// (`1..=100`).
    pub fill_percent: u32,
    /// Zero.
    pub reserved: u32,
}
const _: () = assert!(core::mem::size_of::<SubscribeConfig>() == 48);
const _: () = assert!(core::mem::align_of::<SubscribeConfig>() == 8);

impl Default for SubscribeConfig {
    /// All kinds, 1 MiB ring, K = 8, drop-newest, immediate completion.
    fn default() -> Self {
        SubscribeConfig {
            version: PROTOCOL_VERSION,
            flags: 0,
            kind_mask: u64::MAX,
            ring_bytes: 1 << 20,
            max_in_flight: 8,
            overflow: OverflowPolicy::DropNewest as u32,
            completion: CompletionPolicy::Immediate as u32,
            min_records: 1,
            max_delay_us: 1000,
            fill_percent: 50,
            reserved: 0,
        }
    }
}

impl SubscribeConfig {
    /// Reads and validates a config from an untrusted buffer. The buffer must
    /// be exactly `size_of::<SubscribeConfig>()` bytes (shorter:
    /// `BufferTooSmall`, longer: `LengthMismatch`); the version is checked first.
    pub fn parse(buf: &[u8]) -> Result<SubscribeConfig, ProtoError> {
        let version = buf.get(..4).ok_or(ProtoError::BufferTooSmall)?;
        if u32::from_le_bytes([version[0], version[1], version[2], version[3]]) != PROTOCOL_VERSION {
            return Err(ProtoError::UnsupportedVersion);
        }
        let cfg = SubscribeConfig::read_from_bytes(buf).map_err(|_| {
            if buf.len() < core::mem::size_of::<SubscribeConfig>() {
                ProtoError::BufferTooSmall
            } else {
                ProtoError::LengthMismatch
            }
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every field against this protocol's bounds (not a driver's
    /// tighter limits, which the engine checks).
    pub fn validate(&self) -> Result<(), ProtoError> {
        if self.version != PROTOCOL_VERSION {
            return Err(ProtoError::UnsupportedVersion);
        }
        if self.flags & !SUBSCRIBE_FLAGS_KNOWN != 0 || self.reserved != 0 {
            return Err(ProtoError::InvalidParameter);
        }
        if self.ring_bytes as usize % RECORD_ALIGN != 0 {
            return Err(ProtoError::Misaligned);
        }
        if self.ring_bytes == 0 || self.ring_bytes > MAX_RING_BYTES {
            return Err(ProtoError::InvalidParameter);
        }
        if self.max_in_flight == 0 || self.max_in_flight > MAX_IN_FLIGHT {
            return Err(ProtoError::InvalidParameter);
        }
        if OverflowPolicy::from_raw(self.overflow).is_none() || CompletionPolicy::from_raw(self.completion).is_none() {
            return Err(ProtoError::InvalidParameter);
        }
        if self.min_records == 0 || self.max_delay_us == 0 || self.max_delay_us > MAX_DELAY_US {
            return Err(ProtoError::InvalidParameter);
        }
        if self.fill_percent == 0 || self.fill_percent > 100 {
            return Err(ProtoError::InvalidParameter);
        }
        Ok(())
    }

    /// The overflow policy (the default for an invalid raw value; validate first).
    pub fn overflow_policy(&self) -> OverflowPolicy {
        OverflowPolicy::from_raw(self.overflow).unwrap_or_default()
    }

    /// The completion policy (the default for an invalid raw value; validate first).
    pub fn completion_policy(&self) -> CompletionPolicy {
        CompletionPolicy::from_raw(self.completion).unwrap_or_default()
    }

    /// Whether `ONE_EVENT_PER_COMPLETION` is set.
    pub fn one_event_per_completion(&self) -> bool {
        self.flags & ONE_EVENT_PER_COMPLETION != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::IntoBytes;

    #[test]
    fn default_is_valid_and_roundtrips() {
        let c = SubscribeConfig::default();
        assert_eq!(SubscribeConfig::parse(c.as_bytes()), Ok(c));
        assert_eq!(c.overflow_policy(), OverflowPolicy::DropNewest);
        assert_eq!(c.completion_policy(), CompletionPolicy::Immediate);
    }

    #[test]
    fn parse_reports_precise_errors() {
        let c = SubscribeConfig::default();
        let b = c.as_bytes();
        assert_eq!(SubscribeConfig::parse(&b[..3]), Err(ProtoError::BufferTooSmall));
        assert_eq!(SubscribeConfig::parse(&b[..47]), Err(ProtoError::BufferTooSmall));
        let mut long = [0u8; 49];
        long[..48].copy_from_slice(b);
        assert_eq!(SubscribeConfig::parse(&long), Err(ProtoError::LengthMismatch));
        let bad = |f: fn(&mut SubscribeConfig)| {
            let mut c = SubscribeConfig::default();
            f(&mut c);
            SubscribeConfig::parse(c.as_bytes())
        };
        assert_eq!(bad(|c| c.version = 2), Err(ProtoError::UnsupportedVersion));
        assert_eq!(bad(|c| c.ring_bytes = 1001), Err(ProtoError::Misaligned));
        assert_eq!(bad(|c| c.ring_bytes = 0), Err(ProtoError::InvalidParameter));
        assert_eq!(bad(|c| c.max_in_flight = 0), Err(ProtoError::InvalidParameter));
        assert_eq!(bad(|c| c.overflow = 2), Err(ProtoError::InvalidParameter));
        assert_eq!(bad(|c| c.completion = 3), Err(ProtoError::InvalidParameter));
        assert_eq!(bad(|c| c.flags = 2), Err(ProtoError::InvalidParameter));
        assert_eq!(bad(|c| c.max_delay_us = 0), Err(ProtoError::InvalidParameter));
        assert_eq!(bad(|c| c.fill_percent = 101), Err(ProtoError::InvalidParameter));
        assert_eq!(bad(|c| c.min_records = 0), Err(ProtoError::InvalidParameter));
        assert_eq!(bad(|c| c.reserved = 1), Err(ProtoError::InvalidParameter));
    }
}
