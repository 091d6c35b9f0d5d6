//! Record and batch framing: the bytes a completed receive carries.
//!
//! A batch is a [`BatchHeader`] followed by `record_count` records. A record is
//! a [`RecordHeader`] followed by its payload, padded with zeros to
//! [`RECORD_ALIGN`] bytes, so every record starts 8-byte aligned relative to
//! the start of the batch. The same bytes are what the engine keeps in its
//! rings, so a drain is a plain copy.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Alignment of every record (relative to the start of a batch).
pub const RECORD_ALIGN: usize = 8;
/// Kind of a gap record; its payload is a [`GapInfo`]. Not publishable.
pub const KIND_GAP: u16 = 0xFFFF;
/// Largest publishable kind: filter masks are `u64` over kinds `0..=MAX_KIND`.
pub const MAX_KIND: u16 = 63;

/// Header of one record, 24 bytes as in the reference C design.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RecordHeader {
    /// Payload length in bytes, without padding.
    pub len: u32,
    /// Event kind (`0..=MAX_KIND`), or [`KIND_GAP`].
    pub kind: u16,
    /// Record flags; none defined yet, always 0.
    pub flags: u16,
    /// Per-subscriber sequence number. For a gap record: its `first_seq`.
    pub seq: u64,
    /// Publish time in 100 ns ticks (for a gap: time of the first loss).
    pub timestamp: u64,
}
const _: () = assert!(core::mem::size_of::<RecordHeader>() == 24);

/// Size of a [`RecordHeader`].
pub const RECORD_HEADER_SIZE: usize = core::mem::size_of::<RecordHeader>();

/// Why records went missing.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GapReason {
    /// Drop-newest: the ring was full when these records were published.
    RingFull = 1,
    /// Drop-oldest: these records were overwritten before anyone read them.
    Overwritten = 2,
}

impl GapReason {
    /// Decodes a wire value.
    pub const fn from_raw(v: u32) -> Option<GapReason> {
        match v {
            1 => Some(GapReason::RingFull),
            2 => Some(GapReason::Overwritten),
            _ => None,
        }
    }
}

/// Payload of a gap record: sequence numbers `first_seq .. first_seq + count`
/// are missing for `reason`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct GapInfo {
    /// First missing sequence number.
    pub first_seq: u64,
    /// How many consecutive sequence numbers are missing (at least 1).
    pub count: u64,
    /// A [`GapReason`] as `u32`.
    pub reason: u32,
    /// Zero.
    pub reserved: u32,
}
const _: () = assert!(core::mem::size_of::<GapInfo>() == 24);

/// Size of a whole gap record (header + [`GapInfo`]).
pub const GAP_RECORD_SIZE: usize = RECORD_HEADER_SIZE + core::mem::size_of::<GapInfo>();

/// Header of a batch, at the start of every completed receive.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct BatchHeader {
    /// Number of records that follow (gap records included).
    pub record_count: u32,
    /// Bytes of the whole batch, this header included (the IOCTL's
    /// `IoStatus.Information`). Multiple of [`RECORD_ALIGN`].
    pub total_bytes: u32,
    /// `BATCH_*` flags.
    pub flags: u32,
    /// Zero.
    pub reserved: u32,
}
const _: () = assert!(core::mem::size_of::<BatchHeader>() == 16);

/// Size of a [`BatchHeader`].
pub const BATCH_HEADER_SIZE: usize = core::mem::size_of::<BatchHeader>();
/// Batch flag: more records were waiting when this batch was completed.
pub const BATCH_MORE: u32 = 1;
/// Batch flag: the batch contains at least one gap record.
pub const BATCH_HAS_GAP: u32 = 2;
/// All batch flags defined by this version.
pub const BATCH_FLAGS_KNOWN: u32 = BATCH_MORE | BATCH_HAS_GAP;

/// Bytes a record with `payload_len` bytes of payload occupies, header and padding
/// included. Saturates instead of overflowing, so oversized lengths stay oversized.
pub const fn record_size(payload_len: usize) -> usize {
    let padded = match payload_len.checked_add(RECORD_ALIGN - 1) {
        Some(v) => v & !(RECORD_ALIGN - 1),
        None => return usize::MAX,
    };
    RECORD_HEADER_SIZE.saturating_add(padded)
}

/// Smallest receive output buffer able to hold any record of up to `max_payload`
/// bytes (and any gap record).
pub const fn min_recv_bytes(max_payload: usize) -> usize {
    let r = record_size(max_payload);
    BATCH_HEADER_SIZE + if r > GAP_RECORD_SIZE { r } else { GAP_RECORD_SIZE }
}

/// Writes one whole record (header, payload, zero padding) at the start of
/// `out`. Returns the bytes written, or `BufferTooSmall`.
pub fn write_record(out: &mut [u8], header: &RecordHeader, payload: &[u8]) -> Result<usize, crate::ProtoError> {
    let size = record_size(payload.len());
    let out = out.get_mut(..size).ok_or(crate::ProtoError::BufferTooSmall)?;
    let (h, rest) = out.split_at_mut(RECORD_HEADER_SIZE);
    h.copy_from_slice(header.as_bytes());
    let (p, pad) = rest.split_at_mut(payload.len());
    p.copy_from_slice(payload);
    pad.fill(0);
    Ok(size)
}

/// The 48 bytes of a gap record for `gap`, stamped `timestamp`.
pub fn gap_record_bytes(gap: &GapInfo, timestamp: u64) -> [u8; GAP_RECORD_SIZE] {
    let mut out = [0u8; GAP_RECORD_SIZE];
    let header = RecordHeader {
        len: core::mem::size_of::<GapInfo>() as u32,
        kind: KIND_GAP,
        flags: 0,
        seq: gap.first_seq,
        timestamp,
    };
    out[..RECORD_HEADER_SIZE].copy_from_slice(header.as_bytes());
    out[RECORD_HEADER_SIZE..].copy_from_slice(gap.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_sizes_are_aligned() {
        assert_eq!(record_size(0), 24);
        assert_eq!(record_size(1), 32);
        assert_eq!(record_size(8), 32);
        assert_eq!(record_size(32), 56);
        assert_eq!(record_size(usize::MAX), usize::MAX);
        assert_eq!(record_size(usize::MAX - 3), usize::MAX);
        for n in 0..100 {
            assert_eq!(record_size(n) % RECORD_ALIGN, 0);
            assert!(record_size(n) >= RECORD_HEADER_SIZE + n);
        }
    }

    #[test]
    fn write_record_pads_with_zeros() {
        let mut buf = [0xAAu8; 40];
        let h = RecordHeader { len: 3, kind: 7, flags: 0, seq: 9, timestamp: 11 };
        assert_eq!(write_record(&mut buf, &h, b"abc"), Ok(32));
        assert_eq!(&buf[24..27], b"abc");
        assert_eq!(&buf[27..32], &[0; 5]);
        assert_eq!(buf[32], 0xAA);
        assert_eq!(write_record(&mut buf[..31], &h, b"abc"), Err(crate::ProtoError::BufferTooSmall));
    }
}
