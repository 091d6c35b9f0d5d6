//! The per-subscriber byte ring. Records are stored in wire format (header,
//! payload, padding to 8 bytes) and may wrap around the end of the buffer, so
//! the space used is exactly the sum of the record sizes and a drain is one or
//! two `memcpy`s. Capacity is a multiple of 8, so every record (and every
//! header) starts 8-aligned and a wrap splits a record only at an 8-byte
//! boundary.

use alloc::boxed::Box;
use alloc::vec::Vec;
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::{
    gap_record_bytes, record_size, GapInfo, GapReason, RecordHeader, GAP_RECORD_SIZE, KIND_GAP, RECORD_HEADER_SIZE,
};

/// What a drain copied out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Drained {
    /// Bytes copied.
    pub bytes: usize,
    /// Records copied (events and gaps).
    pub records: u32,
    /// Of which event records.
    pub events: u32,
}

/// Fixed-capacity byte ring of wire-format records.
pub(crate) struct Ring {
    buf: Box<[u8]>,
    head: usize,
    used: usize,
    records: u32,
    events: u64,
}

impl Ring {
    /// Allocates a zeroed ring of `capacity` bytes (a multiple of 8) without
    /// aborting on allocation failure.
    pub fn try_new(capacity: usize) -> Option<Ring> {
        let mut v: Vec<u8> = Vec::new();
        v.try_reserve_exact(capacity).ok()?;
        v.resize(capacity, 0);
        Some(Ring { buf: v.into_boxed_slice(), head: 0, used: 0, records: 0, events: 0 })
    }

    pub fn capacity(&self) -> usize {
        self.buf.len()
    }
    pub fn used(&self) -> usize {
        self.used
    }
    pub fn free(&self) -> usize {
        self.buf.len() - self.used
    }
    pub fn records(&self) -> u32 {
        self.records
    }
    pub fn events(&self) -> u64 {
        self.events
    }
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    fn wrap(&self, pos: usize) -> usize {
        if pos >= self.buf.len() {
            pos - self.buf.len()
        } else {
            pos
        }
    }

    /// Copies `src` into the ring at `pos`, wrapping at the end.
    fn write_at(&mut self, pos: usize, src: &[u8]) {
        let first = src.len().min(self.buf.len() - pos);
        self.buf[pos..pos + first].copy_from_slice(&src[..first]);
        self.buf[..src.len() - first].copy_from_slice(&src[first..]);
    }

    /// Copies `dst.len()` bytes from the ring at `pos`, wrapping at the end.
    fn read_at(&self, pos: usize, dst: &mut [u8]) {
        let first = dst.len().min(self.buf.len() - pos);
        dst[..first].copy_from_slice(&self.buf[pos..pos + first]);
        let rest = dst.len() - first;
        dst[first..].copy_from_slice(&self.buf[..rest]);
    }

    fn header_at(&self, pos: usize) -> RecordHeader {
        let mut b = [0u8; RECORD_HEADER_SIZE];
        self.read_at(pos, &mut b);
        kchan_proto::zerocopy::transmute!(b)
    }

    /// Appends one event record. The caller checked `free() >= record_size(payload.len())`.
    pub fn push_event(&mut self, header: &RecordHeader, payload: &[u8]) {
        let size = record_size(payload.len());
        debug_assert!(size <= self.free());
        let tail = self.wrap(self.head + self.used);
        if tail + size <= self.buf.len() {
            // Fast path: contiguous.
            let dst = &mut self.buf[tail..tail + size];
            dst[..RECORD_HEADER_SIZE].copy_from_slice(header.as_bytes());
            dst[RECORD_HEADER_SIZE..RECORD_HEADER_SIZE + payload.len()].copy_from_slice(payload);
            dst[RECORD_HEADER_SIZE + payload.len()..].fill(0);
        } else {
            self.write_at(tail, header.as_bytes());
            let p = self.wrap(tail + RECORD_HEADER_SIZE);
            self.write_at(p, payload);
            let pad = [0u8; 8];
            let q = self.wrap(p + payload.len());
            self.write_at(q, &pad[..size - RECORD_HEADER_SIZE - payload.len()]);
        }
        self.used += size;
        self.records += 1;
        self.events += 1;
    }

    /// Appends a gap record. The caller checked there is room.
    pub fn push_gap(&mut self, gap: &GapInfo, timestamp: u64) {
        let bytes = gap_record_bytes(gap, timestamp);
        debug_assert!(bytes.len() <= self.free());
        let tail = self.wrap(self.head + self.used);
        self.write_at(tail, &bytes);
        self.used += bytes.len();
        self.records += 1;
    }

    /// Puts a gap record in front of the oldest record. The caller checked there is room.
    pub fn push_front_gap(&mut self, gap: &GapInfo, timestamp: u64) {
        let bytes = gap_record_bytes(gap, timestamp);
        debug_assert!(bytes.len() <= self.free());
        self.head = self.wrap(self.head + self.buf.len() - bytes.len());
        let head = self.head;
        self.write_at(head, &bytes);
        self.used += bytes.len();
        self.records += 1;
    }

    /// Header of the oldest record.
    pub fn front(&self) -> Option<RecordHeader> {
        (!self.is_empty()).then(|| self.header_at(self.head))
    }

    /// Publish time of the oldest record still waiting. Records sit in time
    /// order except a drop-oldest gap at the front: it carries the time of
    /// its loss, later than the records left behind it. So the oldest is the
    /// front record or, behind such a gap, the one after it.
    pub fn oldest_timestamp(&self) -> Option<u64> {
        let front = self.front()?;
        if front.kind != KIND_GAP || self.records < 2 {
            return Some(front.timestamp);
        }
        let next = self.header_at(self.wrap(self.head + record_size(front.len as usize)));
        Some(front.timestamp.min(next.timestamp))
    }

    /// Removes the oldest record; returns its header and, for a gap record, its payload.
    pub fn pop_front(&mut self) -> Option<(RecordHeader, Option<GapInfo>)> {
        let h = self.front()?;
        let gap = (h.kind == KIND_GAP).then(|| {
            let mut b = [0u8; core::mem::size_of::<GapInfo>()];
            self.read_at(self.wrap(self.head + RECORD_HEADER_SIZE), &mut b);
            kchan_proto::zerocopy::transmute!(b)
        });
        let size = record_size(h.len as usize);
        self.head = self.wrap(self.head + size);
        self.used -= size;
        self.records -= 1;
        if gap.is_none() {
            self.events -= 1;
        }
        if self.records == 0 {
            self.head = 0; // keep later records contiguous (fast path)
        }
        Some((h, gap))
    }

    /// Copies the longest run of whole records from the front that fits in
    /// `out` (at most `max_records`) and removes them from the ring.
    pub fn drain_into(&mut self, out: &mut [u8], max_records: u32) -> Drained {
        let (bytes, records, events) = if self.used <= out.len() && self.records <= max_records {
            (self.used, self.records, self.events as u32)
        } else {
            // Walk the headers (no payload copy) to find the last whole record that fits.
            let (mut bytes, mut records, mut events) = (0usize, 0u32, 0u32);
            while records < self.records.min(max_records) {
                let h = self.header_at(self.wrap(self.head + bytes));
                let size = record_size(h.len as usize);
                if bytes + size > out.len() {
                    break;
                }
                bytes += size;
                records += 1;
                events += u32::from(h.kind != KIND_GAP);
            }
            (bytes, records, events)
        };
        self.read_at(self.head, &mut out[..bytes]);
        self.head = self.wrap(self.head + bytes);
        self.used -= bytes;
        self.records -= records;
        self.events -= u64::from(events);
        if self.records == 0 {
            self.head = 0;
        }
        Drained { bytes, records, events }
    }

    /// One-event mode (the seed's one event per receive): the next event and the
    /// gap records in front of it, which say what was lost before it. A gap is
    /// not an event: taking a receive of its own would halve the events a
    /// one-event consumer gets exactly when it falls behind. Stops early only
    /// when the ring is empty or the next record does not fit `out`.
    pub fn drain_one_event(&mut self, out: &mut [u8]) -> Drained {
        let mut d = Drained::default();
        while d.events == 0 {
            let step = self.drain_into(&mut out[d.bytes..], 1);
            if step.records == 0 {
                break;
            }
            d.bytes += step.bytes;
            d.records += step.records;
            d.events += step.events;
        }
        d
    }

    /// Drop-oldest: removes records from the front until `need` bytes plus one gap
    /// record fit, then puts a gap record (merged with a gap already at the front)
    /// where they were. Returns the event records overwritten.
    pub fn evict_for(&mut self, need: usize, now: u64) -> u64 {
        let mut gap: Option<(GapInfo, u64)> = None;
        let mut lost = 0;
        while self.free() < need + GAP_RECORD_SIZE {
            let Some((h, g)) = self.pop_front() else { break };
            let (first, count) = match g {
                Some(g) => (g.first_seq, g.count),
                None => {
                    lost += 1;
                    (h.seq, 1)
                }
            };
            match &mut gap {
                Some((acc, _)) => acc.count = first + count - acc.first_seq,
                None => {
                    let ts = if g.is_some() { h.timestamp } else { now };
                    let reason = GapReason::Overwritten as u32;
                    gap = Some((GapInfo { first_seq: first, count, reason, reserved: 0 }, ts));
                }
            }
        }
        if let Some((g, ts)) = gap {
            self.push_front_gap(&g, ts);
        }
        lost
    }

    /// Copies the whole content into `other` (which must have room), in order.
    pub fn move_into(&mut self, other: &mut Ring) {
        debug_assert!(other.free() >= self.used);
        let tail = other.wrap(other.head + other.used);
        let mut pos = self.head;
        let mut left = self.used;
        let mut at = tail;
        while left > 0 {
            let n = left.min(self.buf.len() - pos).min(other.buf.len() - at);
            other.buf[at..at + n].copy_from_slice(&self.buf[pos..pos + n]);
            pos = self.wrap(pos + n);
            at = other.wrap(at + n);
            left -= n;
        }
        other.used += self.used;
        other.records += self.records;
        other.events += self.events;
        self.head = 0;
        self.used = 0;
        self.records = 0;
        self.events = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kchan_proto::zerocopy::FromBytes;

    fn hdr(seq: u64, len: usize) -> RecordHeader {
        RecordHeader { len: len as u32, kind: 1, flags: 0, seq, timestamp: seq * 10 }
    }

    /// Checks `out` holds record `seq` of [`records_split_across_the_end_drain_whole_and_in_order`].
    fn check_record(out: &[u8], seq: u64) {
        let (h, _) = RecordHeader::read_from_prefix(out).unwrap();
        assert_eq!((h.seq, h.len), (seq, 16));
        assert_eq!(&out[RECORD_HEADER_SIZE..RECORD_HEADER_SIZE + 16], &[seq as u8; 16]);
    }

    #[test]
    fn records_split_across_the_end_drain_whole_and_in_order() {
        // 40-byte records in a 128-byte ring: 128 is not a multiple of 40, so
        // as the head moves records land across the end. The ring is never
        // let empty (an empty ring starts again at offset 0).
        let mut r = Ring::try_new(128).unwrap();
        let mut out = [0u8; 256];
        let (mut next_in, mut next_out, mut split) = (0u64, 0u64, 0);
        for round in 0..60 {
            while r.free() >= 40 {
                let tail = (r.head + r.used) % r.capacity();
                split += usize::from(tail + 40 > r.capacity());
                r.push_event(&hdr(next_in, 16), &[next_in as u8; 16]);
                next_in += 1;
            }
            // Mostly one record per drain; every fifth round two at once.
            let take = if round % 5 == 4 { 2 } else { 1 };
            let d = r.drain_into(&mut out, take);
            assert_eq!(d, Drained { bytes: 40 * take as usize, records: take, events: take });
            for i in 0..take as usize {
                check_record(&out[i * 40..], next_out);
                next_out += 1;
            }
            assert!(!r.is_empty(), "the head keeps moving");
        }
        assert!(split >= 10, "records were written across the end {split} times");
        // What is left comes out whole, in order.
        while let Some((h, None)) = r.pop_front() {
            assert_eq!(h.seq, next_out);
            next_out += 1;
        }
        assert_eq!(next_out, next_in);
    }

    #[test]
    fn front_gap_and_move() {
        let mut r = Ring::try_new(128).unwrap();
        r.push_event(&hdr(5, 8), &[1; 8]);
        let g = GapInfo { first_seq: 3, count: 2, reason: 2, reserved: 0 };
        r.push_front_gap(&g, 70);
        assert_eq!(r.front().unwrap().kind, KIND_GAP);
        assert_eq!(r.oldest_timestamp(), Some(50), "the event behind the gap is older");
        let mut other = Ring::try_new(256).unwrap();
        r.move_into(&mut other);
        assert!(r.is_empty());
        assert_eq!((other.records(), other.events(), other.used()), (2, 1, 80));
        let (h, gap) = other.pop_front().unwrap();
        assert_eq!((h.seq, gap), (3, Some(g)));
        assert_eq!(other.pop_front().unwrap().0.seq, 5);
    }
}
