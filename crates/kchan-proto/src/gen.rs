//! `GenConfig`: parameters of the driver's built-in event generator.

use crate::{record::MAX_KIND, ProtoError, MAX_RECORD_PAYLOAD, PROTOCOL_VERSION};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Largest events-per-wakeup burst.
pub const MAX_GEN_BURST: u32 = 65_536;

/// Flag: wait for room instead of dropping. Before each chunk the generator
/// checks that every subscriber of its kind has room for the chunk, and
/// yields until they do: a lossless source, as a real source that can
/// hold its events back (a queue, a device with flow control) is.
pub const GEN_WAIT_FOR_ROOM: u32 = 1;
/// All generator flags defined by this version.
pub const GEN_FLAGS_KNOWN: u32 = GEN_WAIT_FOR_ROOM;

/// Input of `IOCTL_GEN_START`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct GenConfig {
    /// Must be [`PROTOCOL_VERSION`].
    pub version: u32,
    /// Kind of the generated events, `0..=MAX_KIND`.
    pub kind: u16,
    /// Zero.
    pub reserved: u16,
    /// Events per second; 0 = as fast as possible.
    pub rate: u32,
    /// Events published per wakeup (at least 1).
    pub burst: u32,
    /// Payload bytes per event, at most [`MAX_RECORD_PAYLOAD`].
    pub payload_bytes: u32,
    /// [`GEN_WAIT_FOR_ROOM`] or 0; unknown bits are refused.
    pub flags: u32,
    /// Stop after this many events; 0 = until `IOCTL_GEN_STOP`.
    pub count: u64,
}
const _: () = assert!(core::mem::size_of::<GenConfig>() == 32);

impl Default for GenConfig {
    /// 10k events/s of kind 0, 32-byte payloads, bursts of 1, unbounded.
    fn default() -> Self {
        GenConfig {
            version: PROTOCOL_VERSION,
            kind: 0,
            reserved: 0,
            rate: 10_000,
            burst: 1,
            payload_bytes: 32,
            flags: 0,
            count: 0,
        }
    }
}

impl GenConfig {
    /// Reads and validates a config from an untrusted buffer of exactly 32 bytes.
    pub fn parse(buf: &[u8]) -> Result<GenConfig, ProtoError> {
        let g = GenConfig::read_from_bytes(buf).map_err(|_| {
            if buf.len() < core::mem::size_of::<GenConfig>() {
                ProtoError::BufferTooSmall
            } else {
                ProtoError::LengthMismatch
            }
        })?;
        g.validate()?;
        Ok(g)
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), ProtoError> {
        if self.version != PROTOCOL_VERSION {
            return Err(ProtoError::UnsupportedVersion);
        }
        if self.kind > MAX_KIND
            || self.reserved != 0
            || self.flags & !GEN_FLAGS_KNOWN != 0
            || self.burst == 0
            || self.burst > MAX_GEN_BURST
        {
            return Err(ProtoError::InvalidParameter);
        }
        if self.payload_bytes > MAX_RECORD_PAYLOAD {
            return Err(ProtoError::TooLarge);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_checks() {
        let g = GenConfig::default();
        assert_eq!(GenConfig::parse(g.as_bytes()), Ok(g));
        assert_eq!(GenConfig::parse(&g.as_bytes()[..31]), Err(ProtoError::BufferTooSmall));
        let mut b = g;
        b.burst = 0;
        assert_eq!(GenConfig::parse(b.as_bytes()), Err(ProtoError::InvalidParameter));
        let mut b = g;
        b.payload_bytes = MAX_RECORD_PAYLOAD + 1;
        assert_eq!(GenConfig::parse(b.as_bytes()), Err(ProtoError::TooLarge));
        let mut b = g;
        b.flags = GEN_WAIT_FOR_ROOM;
        assert_eq!(GenConfig::parse(b.as_bytes()), Ok(b));
        b.flags = 2;
        assert_eq!(GenConfig::parse(b.as_bytes()), Err(ProtoError::InvalidParameter));
        let mut b = g;
        b.version = 0;
        assert_eq!(GenConfig::parse(b.as_bytes()), Err(ProtoError::UnsupportedVersion));
    }
}
