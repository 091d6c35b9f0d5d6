//! Counters, as returned by `IOCTL_STATS`. All fields are `u64` so the
//! structs have no padding and never need a layout change to grow a counter.

use crate::ProtoError;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Counters of one subscriber. At every moment
/// `published == delivered + in_ring_records + dropped_ring_full + dropped_overwritten`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct SubscriberStats {
    /// Records published to this subscriber (matched its filter), i.e. sequence numbers used.
    pub published: u64,
    /// Event records handed to completed receives.
    pub delivered: u64,
    /// Records lost because the ring was full (drop-newest).
    pub dropped_ring_full: u64,
    /// Records lost because they were overwritten (drop-oldest).
    pub dropped_overwritten: u64,
    /// Event records waiting in the ring.
    pub in_ring_records: u64,
    /// Bytes used in the ring (event and gap records).
    pub in_ring_bytes: u64,
    /// Ring capacity in bytes.
    pub ring_capacity: u64,
    /// Highest `in_ring_bytes` seen.
    pub ring_high_water: u64,
    /// Gap records delivered.
    pub gaps_delivered: u64,
    /// Bytes of completed batches (headers included).
    pub bytes_delivered: u64,
    /// Receives waiting in the driver.
    pub pending_receives: u64,
    /// Receives-in-flight limit K.
    pub max_in_flight: u64,
    /// Receives completed with records.
    pub completions: u64,
    /// Receives cancelled.
    pub cancels: u64,
    /// Receives handed back because the subscriber closed.
    pub closed_receives: u64,
    /// Posts refused (too many pending, buffer too small).
    pub rejected_posts: u64,
    /// Next sequence number to be assigned.
    pub next_seq: u64,
}
const _: () = assert!(core::mem::size_of::<SubscriberStats>() == 17 * 8);

/// Counters of the whole channel.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct ChannelStats {
    /// Publish calls accepted.
    pub published: u64,
    /// Publish calls refused (payload too large, kind out of range).
    pub rejected: u64,
    /// Records stored for subscribers (sum over subscribers of accepted fan-out).
    pub fanout: u64,
    /// Records dropped, all subscribers (attached or gone) and reasons: ring
    /// full, overwritten, and discarded at close
    /// ([`StatsReply::dropped_at_close`]; a driver whose reply ends before
    /// that field counts the first two only).
    pub dropped: u64,
    /// Attached subscribers (closing ones included).
    pub subscribers: u64,
    /// Size of the subscriber table.
    pub max_subscribers: u64,
    /// Receives waiting, all subscribers.
    pub pending_receives: u64,
    /// Receives completed with records, all time.
    pub completions: u64,
    /// Receives cancelled, all time.
    pub cancels: u64,
    /// Bytes of pool memory live. The engine reports what its subscribers
    /// hold (rings and queues); the driver replaces it with its allocator's
    /// live bytes (everything kchan.sys holds), so a leak shows here.
    pub pool_bytes: u64,
    /// Pool allocations live (same sources as `pool_bytes`).
    pub pool_allocations: u64,
    /// Generator: 1 while running (filled by the driver, 0 from the engine).
    pub gen_running: u64,
    /// Generator: events produced since start (driver).
    pub gen_produced: u64,
    /// Generator: configured rate in events/s (driver).
    pub gen_rate: u64,
}
const _: () = assert!(core::mem::size_of::<ChannelStats>() == 14 * 8);

/// Output of `IOCTL_STATS`: the channel and the calling handle's subscriber
/// (all zero when the handle has not subscribed), then the ring budget, then
/// the records dropped at close.
///
/// The reply grows only at its end. A driver writes as much of it as the
/// output buffer holds, from [`STATS_REPLY_MIN_BYTES`] (the reply's first
/// layout: `channel` and `subscriber`) up to `size_of::<StatsReply>()`, and
/// [`StatsReply::parse`] reads any such prefix, with the missing fields 0.
/// So clients and drivers of either layout understand each other.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct StatsReply {
    /// Channel-wide counters.
    pub channel: ChannelStats,
    /// The caller's subscriber.
    pub subscriber: SubscriberStats,
    /// The driver's budget for all subscribers' rings together, in bytes
    /// (a subscribe that would exceed it is refused).
    pub ring_budget_bytes: u64,
    /// Ring bytes of the budget in use (attached subscribers' rings, and
    /// rings being allocated by a subscribe).
    pub ring_budget_used: u64,
    /// Event records that were still waiting in a subscriber's ring when it
    /// closed (its handle's CLEANUP or CLOSE, or the driver's unload),
    /// freed with the ring: all subscribers, all time. Also counted in
    /// `channel.dropped`, so that channel-wide, over every subscriber ever
    /// attached, published == delivered + in rings + dropped. Gap records
    /// are not counted here: the losses they report were counted (ring
    /// full, overwritten) when they happened. 0 from a driver whose reply
    /// ends before this field.
    pub dropped_at_close: u64,
}
const _: () = assert!(core::mem::size_of::<StatsReply>() == 34 * 8);

/// Smallest `IOCTL_STATS` output buffer a driver accepts: `channel` and
/// `subscriber`, the reply's first layout.
pub const STATS_REPLY_MIN_BYTES: usize = core::mem::size_of::<ChannelStats>() + core::mem::size_of::<SubscriberStats>();
const _: () = assert!(STATS_REPLY_MIN_BYTES == 31 * 8);

impl StatsReply {
    /// Reads a reply (client side): at least [`STATS_REPLY_MIN_BYTES`];
    /// fields beyond what the driver wrote are 0.
    pub fn parse(buf: &[u8]) -> Result<StatsReply, ProtoError> {
        if buf.len() < STATS_REPLY_MIN_BYTES {
            return Err(ProtoError::BufferTooSmall);
        }
        let mut reply = StatsReply::default();
        let n = buf.len().min(core::mem::size_of::<StatsReply>());
        reply.as_mut_bytes()[..n].copy_from_slice(&buf[..n]);
        Ok(reply)
    }
}

impl SubscriberStats {
    /// Total records lost, all reasons (saturating: values may come from an untrusted reply).
    pub fn dropped(&self) -> u64 {
        self.dropped_ring_full.saturating_add(self.dropped_overwritten)
    }

    /// The accounting invariant: every published record is delivered, waiting
    /// or dropped. Overflowing sums (corrupt replies) are unbalanced.
    pub fn balanced(&self) -> bool {
        let sum = self
            .delivered
            .checked_add(self.in_ring_records)
            .and_then(|s| s.checked_add(self.dropped_ring_full))
            .and_then(|s| s.checked_add(self.dropped_overwritten));
        sum == Some(self.published)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_reply() -> StatsReply {
        StatsReply {
            channel: ChannelStats { published: 7, dropped: 5, ..Default::default() },
            subscriber: SubscriberStats { next_seq: 9, ..Default::default() },
            ring_budget_bytes: 100,
            ring_budget_used: 40,
            dropped_at_close: 3,
        }
    }

    #[test]
    fn parse_reads_the_first_layout_and_the_whole_reply() {
        let full = full_reply();
        assert_eq!(StatsReply::parse(full.as_bytes()), Ok(full));
        let first = StatsReply::parse(&full.as_bytes()[..STATS_REPLY_MIN_BYTES]).unwrap();
        assert_eq!((first.channel, first.subscriber), (full.channel, full.subscriber));
        assert_eq!((first.ring_budget_bytes, first.ring_budget_used, first.dropped_at_close), (0, 0, 0));
        assert_eq!(StatsReply::parse(&full.as_bytes()[..STATS_REPLY_MIN_BYTES - 1]), Err(ProtoError::BufferTooSmall));
    }

    #[test]
    fn a_reply_of_the_budget_layout_reads_as_none_dropped_at_close() {
        // A driver of the layout before `dropped_at_close` (33 u64s) writes
        // that much: every field it has reads intact, the new one as 0.
        let full = full_reply();
        let read = StatsReply::parse(&full.as_bytes()[..33 * 8]).unwrap();
        assert_eq!(read, StatsReply { dropped_at_close: 0, ..full });
        // A reply longer than this layout (a later driver): this layout's
        // fields, whole.
        let mut longer = [0u8; core::mem::size_of::<StatsReply>() + 16];
        longer[..core::mem::size_of::<StatsReply>()].copy_from_slice(full.as_bytes());
        longer[core::mem::size_of::<StatsReply>()..].fill(0xff);
        assert_eq!(StatsReply::parse(&longer), Ok(full));
    }

    #[test]
    fn balanced_never_overflows() {
        // A reply with huge counters (the parse_configs fuzz target makes them).
        let s = SubscriberStats { delivered: u64::MAX, dropped_ring_full: 1, ..Default::default() };
        assert!(!s.balanced());
        assert_eq!(s.dropped(), 1);
        let s = SubscriberStats {
            published: 5,
            delivered: 2,
            in_ring_records: 1,
            dropped_overwritten: 2,
            ..Default::default()
        };
        assert!(s.balanced());
    }
}
