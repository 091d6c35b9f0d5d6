//! What a subscription yields: events and gaps, decoded from batches.

use kchan_proto::{GapReason, Record};

/// One published event, as this subscriber received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// This subscriber's sequence number for the event.
    pub seq: u64,
    /// The event's kind, `0..=63`.
    pub kind: u16,
    /// When the driver published it, in 100 ns ticks of the performance
    /// counter (`QueryPerformanceCounter` at 10 MHz).
    pub timestamp: u64,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Events this subscriber lost, reported at the position where the loss
/// happened: sequence numbers `first_seq .. first_seq + count` are missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// The first missing sequence number.
    pub first_seq: u64,
    /// How many consecutive sequence numbers are missing.
    pub count: u64,
    /// Why they are missing.
    pub reason: GapReason,
    /// When the first of them was lost (100 ns ticks).
    pub timestamp: u64,
}

/// An item of a subscription: an event, or a gap where events were lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A delivered event.
    Event(Event),
    /// Lost events.
    Gap(Gap),
}

impl Item {
    /// The owned form of a borrowed record.
    pub fn from_record(record: &Record<'_>) -> Item {
        match *record {
            Record::Event { seq, kind, timestamp, payload } => {
                Item::Event(Event { seq, kind, timestamp, payload: payload.to_vec() })
            }
            Record::Gap { first_seq, count, reason, timestamp } => {
                Item::Gap(Gap { first_seq, count, reason, timestamp })
            }
        }
    }

    /// The first sequence number this item accounts for.
    pub fn first_seq(&self) -> u64 {
        match self {
            Item::Event(e) => e.seq,
            Item::Gap(g) => g.first_seq,
        }
    }
}
