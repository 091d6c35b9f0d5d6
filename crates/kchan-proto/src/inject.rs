//! Inject messages: a client hands the driver records to publish.
//!
//! Layout: an [`InjectHeader`], then `record_count` records, each an
//! [`InjectRecordHeader`] followed by its payload padded to 8 bytes. The whole
//! message is at most [`MAX_INJECT_BYTES`].

use crate::{record::MAX_KIND, ProtoError, MAX_RECORD_PAYLOAD, PROTOCOL_VERSION, RECORD_ALIGN};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Largest inject message, header included.
pub const MAX_INJECT_BYTES: usize = 64 * 1024;

/// Header of an inject message.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct InjectHeader {
    /// Must be [`PROTOCOL_VERSION`].
    pub version: u32,
    /// Records that follow (at least 1).
    pub record_count: u32,
    /// Bytes of the message, this header included; equal to the input length.
    pub total_bytes: u32,
    /// Zero.
    pub reserved: u32,
}
const _: () = assert!(core::mem::size_of::<InjectHeader>() == 16);

/// Header of one injected record.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct InjectRecordHeader {
    /// Event kind, `0..=MAX_KIND`.
    pub kind: u16,
    /// Zero.
    pub reserved: u16,
    /// Payload length, at most [`MAX_RECORD_PAYLOAD`].
    pub len: u32,
}
const _: () = assert!(core::mem::size_of::<InjectRecordHeader>() == 8);

const HDR: usize = core::mem::size_of::<InjectHeader>();
const REC: usize = core::mem::size_of::<InjectRecordHeader>();

const fn padded(len: usize) -> usize {
    (len + RECORD_ALIGN - 1) & !(RECORD_ALIGN - 1)
}

/// Iterator of `(kind, payload)` over a message [`parse_inject`] validated.
#[derive(Debug, Clone)]
pub struct InjectReader<'a> {
    rest: &'a [u8],
    left: u32,
}

fn decode(buf: &[u8]) -> Result<(u16, &[u8], usize), ProtoError> {
    let (h, body) = InjectRecordHeader::read_from_prefix(buf).map_err(|_| ProtoError::LengthMismatch)?;
    if h.kind > MAX_KIND || h.reserved != 0 {
        return Err(ProtoError::InvalidParameter);
    }
    if h.len > MAX_RECORD_PAYLOAD {
        return Err(ProtoError::TooLarge);
    }
    let len = h.len as usize;
    let size = REC + padded(len);
    if size > buf.len() {
        return Err(ProtoError::LengthMismatch);
    }
    Ok((h.kind, &body[..len], size))
}

/// Validates a whole inject message (version, sizes, alignment, kinds, the
/// count and total) and returns an iterator over its `(kind, payload)` pairs.
pub fn parse_inject(buf: &[u8]) -> Result<InjectReader<'_>, ProtoError> {
    let (h, _) = InjectHeader::read_from_prefix(buf).map_err(|_| ProtoError::BufferTooSmall)?;
    if h.version != PROTOCOL_VERSION {
        return Err(ProtoError::UnsupportedVersion);
    }
    if buf.len() > MAX_INJECT_BYTES {
        return Err(ProtoError::TooLarge);
    }
    if h.total_bytes as usize != buf.len() {
        return Err(ProtoError::LengthMismatch);
    }
    if buf.len() % RECORD_ALIGN != 0 {
        return Err(ProtoError::Misaligned);
    }
    if h.reserved != 0 || h.record_count == 0 {
        return Err(ProtoError::InvalidParameter);
    }
    let body = &buf[HDR..];
    let mut off = 0;
    for _ in 0..h.record_count {
        off += decode(&body[off..])?.2;
    }
    if off != body.len() {
        return Err(ProtoError::LengthMismatch);
    }
    Ok(InjectReader { rest: body, left: h.record_count })
}

impl<'a> Iterator for InjectReader<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        if self.left == 0 {
            return None;
        }
        let (kind, payload, size) = decode(self.rest).ok()?;
        self.rest = &self.rest[size..];
        self.left -= 1;
        Some((kind, payload))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

/// Builds an inject message in a caller buffer (no allocation).
#[derive(Debug)]
pub struct InjectBuilder<'a> {
    buf: &'a mut [u8],
    off: usize,
    count: u32,
}

impl<'a> InjectBuilder<'a> {
    /// Starts a message in `buf` (only its first [`MAX_INJECT_BYTES`] are used).
    pub fn new(buf: &'a mut [u8]) -> Result<Self, ProtoError> {
        if buf.len() < HDR {
            return Err(ProtoError::BufferTooSmall);
        }
        let cap = buf.len().min(MAX_INJECT_BYTES);
        Ok(InjectBuilder { buf: &mut buf[..cap], off: HDR, count: 0 })
    }

    /// Appends one record; `BufferTooSmall` when it does not fit.
    pub fn push(&mut self, kind: u16, payload: &[u8]) -> Result<(), ProtoError> {
        if kind > MAX_KIND {
            return Err(ProtoError::InvalidParameter);
        }
        if payload.len() > MAX_RECORD_PAYLOAD as usize {
            return Err(ProtoError::TooLarge);
        }
        let size = REC + padded(payload.len());
        let out = self.buf.get_mut(self.off..self.off + size).ok_or(ProtoError::BufferTooSmall)?;
        let h = InjectRecordHeader { kind, reserved: 0, len: payload.len() as u32 };
        out[..REC].copy_from_slice(h.as_bytes());
        out[REC..REC + payload.len()].copy_from_slice(payload);
        out[REC + payload.len()..].fill(0);
        self.off += size;
        self.count += 1;
        Ok(())
    }

    /// Number of records pushed so far.
    pub fn len(&self) -> u32 {
        self.count
    }

    /// Whether no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Writes the header and returns the message length.
    pub fn finish(self) -> usize {
        let h = InjectHeader {
            version: PROTOCOL_VERSION,
            record_count: self.count,
            total_bytes: self.off as u32,
            reserved: 0,
        };
        self.buf[..HDR].copy_from_slice(h.as_bytes());
        self.off
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_errors() {
        let mut buf = [0u8; 128];
        let mut b = InjectBuilder::new(&mut buf).unwrap();
        b.push(1, b"abc").unwrap();
        b.push(63, &[7; 8]).unwrap();
        assert_eq!(b.push(64, b""), Err(ProtoError::InvalidParameter));
        let n = b.finish();
        assert_eq!(n, 16 + 16 + 16);
        let v: [(u16, &[u8]); 2] = {
            let mut it = parse_inject(&buf[..n]).unwrap();
            [it.next().unwrap(), it.next().unwrap()]
        };
        assert_eq!(v, [(1, &b"abc"[..]), (63, &[7u8; 8][..])]);
        assert_eq!(parse_inject(&buf[..8]).err(), Some(ProtoError::BufferTooSmall));
        assert_eq!(parse_inject(&buf[..n - 8]).err(), Some(ProtoError::LengthMismatch));
        let mut bad = buf;
        bad[0] = 9;
        assert_eq!(parse_inject(&bad[..n]).err(), Some(ProtoError::UnsupportedVersion));
        let mut bad = buf;
        bad[4] = 3;
        assert_eq!(parse_inject(&bad[..n]).err(), Some(ProtoError::LengthMismatch));
        let mut bad = buf;
        bad[4] = 1;
        assert_eq!(parse_inject(&bad[..n]).err(), Some(ProtoError::LengthMismatch));
        let mut bad = buf;
        bad[16 + 4] = 200;
        assert_eq!(parse_inject(&bad[..n]).err(), Some(ProtoError::LengthMismatch));
        let mut bad = buf;
        bad[16 + 6] = 1; // len 65536+3 > max payload
        assert_eq!(parse_inject(&bad[..n]).err(), Some(ProtoError::TooLarge));
    }
}
