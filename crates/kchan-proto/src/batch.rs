//! Validating batch reader (client side) and a batch builder (tests, tools).

use crate::record::{
    gap_record_bytes, write_record, BatchHeader, GapInfo, GapReason, RecordHeader, BATCH_FLAGS_KNOWN, BATCH_HAS_GAP,
    BATCH_HEADER_SIZE, GAP_RECORD_SIZE, KIND_GAP, MAX_KIND, RECORD_ALIGN, RECORD_HEADER_SIZE,
};
use crate::ProtoError;
use zerocopy::{FromBytes, FromZeros, IntoBytes};

/// One record of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// A published event.
    Event {
        /// Per-subscriber sequence number.
        seq: u64,
        /// Event kind, `0..=MAX_KIND`.
        kind: u16,
        /// Publish time, 100 ns ticks.
        timestamp: u64,
        /// The payload, without padding.
        payload: &'a [u8],
    },
    /// Records `first_seq .. first_seq + count` were lost for `reason`.
    Gap {
        /// First missing sequence number.
        first_seq: u64,
        /// Number of missing records, at least 1.
        count: u64,
        /// Why they are missing.
        reason: GapReason,
        /// Time of the first loss, 100 ns ticks.
        timestamp: u64,
    },
}

/// Iterator over the records of a batch that [`parse_batch`] fully validated.
#[derive(Debug, Clone)]
pub struct BatchReader<'a> {
    header: BatchHeader,
    rest: &'a [u8],
    left: u32,
}

impl<'a> BatchReader<'a> {
    /// The batch header.
    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// A reader over bytes that [`parse_batch`] accepted before (kept, then
    /// read again), without walking the whole batch a second time. Each
    /// record is still decoded with every check as it is reached: bytes that
    /// were never validated end the iteration at their first bad record (or
    /// yield nothing if the header does not hold), never panic.
    pub fn of_validated(buf: &'a [u8]) -> BatchReader<'a> {
        let Ok((header, _)) = BatchHeader::read_from_prefix(buf) else {
            return BatchReader { header: BatchHeader::new_zeroed(), rest: &[], left: 0 };
        };
        let total = (header.total_bytes as usize).clamp(BATCH_HEADER_SIZE, buf.len());
        let rest = buf.get(BATCH_HEADER_SIZE..total).unwrap_or(&[]);
        BatchReader { header, rest, left: header.record_count }
    }
}

/// Decodes the record at the start of `buf`, checking everything.
/// Returns the record and its whole size (padding included).
fn decode(buf: &[u8]) -> Result<(Record<'_>, usize), ProtoError> {
    let (h, body) = RecordHeader::read_from_prefix(buf).map_err(|_| ProtoError::LengthMismatch)?;
    let len = h.len as usize;
    let size = crate::record_size(len);
    if size > buf.len() || len > body.len() {
        return Err(ProtoError::LengthMismatch);
    }
    if h.flags != 0 {
        return Err(ProtoError::InvalidParameter);
    }
    let payload = &body[..len];
    let rec = if h.kind == KIND_GAP {
        let g = GapInfo::read_from_bytes(payload).map_err(|_| ProtoError::LengthMismatch)?;
        let reason = GapReason::from_raw(g.reason).ok_or(ProtoError::InvalidParameter)?;
        if g.count == 0 || g.reserved != 0 || g.first_seq != h.seq || g.first_seq.checked_add(g.count).is_none() {
            return Err(ProtoError::InvalidParameter);
        }
        Record::Gap { first_seq: g.first_seq, count: g.count, reason, timestamp: h.timestamp }
    } else if h.kind <= MAX_KIND {
        Record::Event { seq: h.seq, kind: h.kind, timestamp: h.timestamp, payload }
    } else {
        return Err(ProtoError::InvalidParameter);
    };
    Ok((rec, size))
}

/// Validates a whole batch (header, every record's size, alignment, kind and
/// gap payload, the record count and the total) and returns an iterator over
/// its records. `buf` may be longer than the batch (`total_bytes` bounds it).
pub fn parse_batch(buf: &[u8]) -> Result<BatchReader<'_>, ProtoError> {
    let (header, _) = BatchHeader::read_from_prefix(buf).map_err(|_| ProtoError::BufferTooSmall)?;
    let total = header.total_bytes as usize;
    if total < BATCH_HEADER_SIZE {
        return Err(ProtoError::LengthMismatch);
    }
    if total > buf.len() {
        return Err(ProtoError::BufferTooSmall);
    }
    if total % RECORD_ALIGN != 0 {
        return Err(ProtoError::Misaligned);
    }
    if header.flags & !BATCH_FLAGS_KNOWN != 0 || header.reserved != 0 {
        return Err(ProtoError::InvalidParameter);
    }
    let body = &buf[BATCH_HEADER_SIZE..total];
    let mut off = 0;
    for _ in 0..header.record_count {
        let (_, size) = decode(&body[off..])?;
        off += size;
    }
    if off != body.len() {
        return Err(ProtoError::LengthMismatch);
    }
    Ok(BatchReader { header, rest: body, left: header.record_count })
}

impl<'a> Iterator for BatchReader<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.left == 0 {
            return None;
        }
        // parse_batch validated every record; a failure here is impossible,
        // and ending the iteration is the safe answer anyway.
        let (rec, size) = decode(self.rest).ok()?;
        self.rest = &self.rest[size..];
        self.left -= 1;
        Some(rec)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

/// Writes a batch into a caller buffer (tests, fuzz seeds, user-mode tools).
#[derive(Debug)]
pub struct BatchBuilder<'a> {
    buf: &'a mut [u8],
    off: usize,
    count: u32,
    flags: u32,
}

impl<'a> BatchBuilder<'a> {
    /// Starts a batch in `buf`.
    pub fn new(buf: &'a mut [u8]) -> Result<Self, ProtoError> {
        if buf.len() < BATCH_HEADER_SIZE {
            return Err(ProtoError::BufferTooSmall);
        }
        Ok(BatchBuilder { buf, off: BATCH_HEADER_SIZE, count: 0, flags: 0 })
    }

    /// Appends an event record.
    pub fn push_event(&mut self, seq: u64, kind: u16, timestamp: u64, payload: &[u8]) -> Result<(), ProtoError> {
        if kind > MAX_KIND {
            return Err(ProtoError::InvalidParameter);
        }
        let len = u32::try_from(payload.len()).map_err(|_| ProtoError::TooLarge)?;
        let h = RecordHeader { len, kind, flags: 0, seq, timestamp };
        self.off += write_record(&mut self.buf[self.off..], &h, payload)?;
        self.count += 1;
        Ok(())
    }

    /// Appends a gap record.
    pub fn push_gap(
        &mut self,
        first_seq: u64,
        count: u64,
        reason: GapReason,
        timestamp: u64,
    ) -> Result<(), ProtoError> {
        let bytes = gap_record_bytes(&GapInfo { first_seq, count, reason: reason as u32, reserved: 0 }, timestamp);
        let out = self.buf.get_mut(self.off..self.off + GAP_RECORD_SIZE).ok_or(ProtoError::BufferTooSmall)?;
        out.copy_from_slice(&bytes);
        self.off += GAP_RECORD_SIZE;
        self.count += 1;
        self.flags |= BATCH_HAS_GAP;
        Ok(())
    }

    /// Writes the header (with `extra_flags`) and returns the batch length.
    pub fn finish(self, extra_flags: u32) -> usize {
        let h = BatchHeader {
            record_count: self.count,
            total_bytes: self.off as u32,
            flags: self.flags | extra_flags,
            reserved: 0,
        };
        self.buf[..BATCH_HEADER_SIZE].copy_from_slice(h.as_bytes());
        self.off
    }
}

const _: () = assert!(RECORD_HEADER_SIZE % RECORD_ALIGN == 0 && BATCH_HEADER_SIZE % RECORD_ALIGN == 0);

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(buf: &mut [u8]) -> usize {
        let mut b = BatchBuilder::new(buf).unwrap();
        b.push_event(1, 3, 100, b"hello").unwrap();
        b.push_gap(2, 5, GapReason::RingFull, 101).unwrap();
        b.push_event(7, 63, 102, &[]).unwrap();
        b.finish(0)
    }

    #[test]
    fn roundtrip() {
        let mut buf = [0u8; 256];
        let n = sample(&mut buf);
        assert_eq!(n, 16 + 32 + 48 + 24);
        let r = parse_batch(&buf[..n]).unwrap();
        assert_eq!(r.header().flags, BATCH_HAS_GAP);
        let v: [Record; 3] = {
            let mut it = r;
            [it.next().unwrap(), it.next().unwrap(), it.next().unwrap()]
        };
        assert_eq!(v[0], Record::Event { seq: 1, kind: 3, timestamp: 100, payload: b"hello" });
        assert_eq!(v[1], Record::Gap { first_seq: 2, count: 5, reason: GapReason::RingFull, timestamp: 101 });
        assert_eq!(v[2], Record::Event { seq: 7, kind: 63, timestamp: 102, payload: b"" });
    }

    #[test]
    fn a_validated_batch_reads_the_same_again() {
        let mut buf = [0u8; 256];
        let n = sample(&mut buf);
        let first = parse_batch(&buf[..n]).unwrap();
        let again = BatchReader::of_validated(&buf[..n]);
        assert_eq!(again.header(), first.header());
        assert!(again.eq(first), "the same records");
    }

    #[test]
    fn unvalidated_bytes_read_again_stop_at_the_first_bad_record() {
        let mut buf = [0u8; 256];
        let n = sample(&mut buf);
        assert_eq!(BatchReader::of_validated(&buf[..8]).count(), 0, "no header");
        let mut b = buf;
        b[16 + 32 + 24 + 16] = 9; // the gap's reason
        assert_eq!(BatchReader::of_validated(&b[..n]).count(), 1, "the event before the bad gap");
        let mut b = buf;
        b[4] = 255; // total_bytes beyond the buffer
        assert_eq!(BatchReader::of_validated(&b[..n]).count(), 3);
        assert_eq!(BatchReader::of_validated(&[0xff; 64]).count(), 0);
    }

    #[test]
    fn rejects_bad_batches() {
        let mut buf = [0u8; 256];
        let n = sample(&mut buf);
        assert_eq!(parse_batch(&buf[..15]).err(), Some(ProtoError::BufferTooSmall));
        assert_eq!(parse_batch(&buf[..n - 8]).err(), Some(ProtoError::BufferTooSmall));
        let mut b = buf;
        b[4] = (n - 4) as u8; // total not aligned
        assert_eq!(parse_batch(&b).err(), Some(ProtoError::Misaligned));
        let mut b = buf;
        b[0] = 4; // one record too many
        assert_eq!(parse_batch(&b).err(), Some(ProtoError::LengthMismatch));
        let mut b = buf;
        b[0] = 2; // one record too few
        assert_eq!(parse_batch(&b).err(), Some(ProtoError::LengthMismatch));
        let mut b = buf;
        b[16 + 4] = 64; // kind 64 is not publishable
        assert_eq!(parse_batch(&b).err(), Some(ProtoError::InvalidParameter));
        let mut b = buf;
        b[16 + 32 + 24 + 8] = 0; // gap count 0
        assert_eq!(parse_batch(&b).err(), Some(ProtoError::InvalidParameter));
        let mut b = buf;
        b[16] = 200; // payload length beyond the batch
        assert_eq!(parse_batch(&b).err(), Some(ProtoError::LengthMismatch));
        let mut b = buf;
        b[8] = 0x80; // unknown flag
        assert_eq!(parse_batch(&b).err(), Some(ProtoError::InvalidParameter));
    }
}
