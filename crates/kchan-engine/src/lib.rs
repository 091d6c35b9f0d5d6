//! The kchan channel: per-subscriber rings, pending receives, batching,
//! overflow policies and counters — with no OS calls, so it is tested to
//! exhaustion natively and used unchanged by the driver.
//!
//! # Shape
//!
//! [`Channel`] is plain state mutated through `&mut self`; the driver wraps it
//! in its spin lock (IRQL <= DISPATCH_LEVEL). It is generic over the request
//! handle ([`Request`]: an IRP wrapper in the driver, a plain value in tests),
//! the completion [`Sink`] (the driver queues IRPs and completes them after
//! releasing the lock) and the [`Clock`].
//!
//! # Memory: allocate only outside the lock
//!
//! - [`Channel::new`] allocates a fixed table of `Limits::max_subscribers`
//!   (<= 64) slots once. [`Subscriber::prepare`] allocates a subscriber's ring
//!   and its K-entry request queue, outside the lock; [`Channel::attach`] and
//!   [`Channel::reconfigure`] only move them in (`attach` returns the prepared
//!   subscriber if the table is full). Memory leaves as [`Detached`], to be
//!   dropped after the lock is released. Allocation failures are errors,
//!   never aborts (`try_reserve_exact`).
//! - `publish`, `post`, `cancel`, `close` and `on_timer` never allocate, never
//!   block, and take bounded time: at most 64 subscribers, K requests each,
//!   and one ring's worth of bytes copied.
//!
//! # The ring
//!
//! Each subscriber owns a byte ring holding records in wire format (24-byte
//! header, payload, padding to 8), possibly wrapping at the end. A drain
//! copies the longest run of whole records that fits the receive buffer with
//! one or two `memcpy`s (when everything fits no header is even read). A
//! publish to one subscriber is a header and a payload copy.
//!
//! # Losses are counted and in-band
//!
//! Every published record gets the subscriber's next sequence number, stored
//! or not. Drop-newest: a record that does not fit is counted `RingFull` and
//! joins a pending *tail gap*, which is written into the ring just before the
//! next record that fits (a record is then stored only if it fits together
//! with the 48-byte gap record), or delivered after the last record when the
//! ring drains. Drop-oldest: records are removed from the front until the new
//! one fits plus a gap record, and a gap record (`Overwritten`, merged with a
//! gap already at the front) takes their place. Either way the gap sits
//! exactly where the missing sequence numbers were. Rings are at least
//! `Limits::min_ring_bytes` (largest record + one gap record), so any record
//! fits an empty ring and nothing can stall.
//!
//! A subscriber that closes (its handle's CLEANUP or CLOSE, or unload) frees
//! its ring with the records still in it: its event records are counted
//! dropped *at close* ([`Channel::dropped_at_close`], and in the channel's
//! `dropped`), at the close itself, under the lock. Its gap records and a
//! pending tail gap are not counted again: the losses they report were
//! counted when they happened.
//!
//! Invariant at every moment, per subscriber: `published == delivered +
//! in_ring + dropped_ring_full + dropped_overwritten` (+ its drops at close
//! once closing: [`Channel::check_invariant`]); and channel-wide, over every
//! subscriber ever attached: `fanout == delivered + in rings + dropped`,
//! `dropped` counting ring full, overwritten and at close
//! ([`Channel::check_all_invariants`]).
//!
//! # Completion policies ([`kchan_proto::CompletionPolicy`])
//!
//! All policies complete a receive with as many whole records as fit: a
//! post that finds records ready fills the receive just posted (so it
//! completes inside its own post), later records go FIFO over the pending
//! receives (records carry their sequence numbers, so which receive carries
//! a batch does not matter to a reader). All complete at once when the waiting
//! records already fill the receive's buffer or the ring reaches
//! `fill_percent`: holding could then only cause drops.
//!
//! - `Immediate` (default): complete as soon as a record waits.
//! - `Coalesce`: complete when `min_records` wait or the oldest waited
//!   `max_delay_us` (the shell's timer: [`Channel::next_deadline`],
//!   [`Channel::on_timer`]; publishes also check the deadline).
//! - `Adaptive`: solves "K receives in flight each completed with one event"
//!   (each completion costs the consumer ~100 us under Wine, and queued
//!   completions add up to ~6x the latency of one receive in flight). After a
//!   completion the subscriber is *disarmed*: further records wait until the
//!   consumer has posted its receives back (as many as it ever had pending:
//!   its working K; the post that re-arms completes at once with everything
//!   that waits, as one batch), or the max delay passes (or twice the
//!   consumer's measured turnaround, completion to next post, if longer: a
//!   spare receive completed while the consumer is still busy with one it
//!   holds only adds a completion), or the buffer/fill thresholds trigger. The consumer thus sees about one
//!   completion in flight at moderate rates (latency of K=1) while K receives
//!   stay posted for bursts.
//! - `ONE_EVENT_PER_COMPLETION` delivers exactly one event per completion
//!   (the seed's design, for comparison), with the gap records next to it:
//!   a gap is not an event and never takes a receive of its own.
//!
//! # Cancel, complete, close race
//!
//! Before completing a request the engine calls [`Request::try_claim`]
//! (driver: `IoSetCancelRoutine(irp, NULL) != NULL`). If it fails, the
//! cancel routine owns the request: it stays queued, marked, and the
//! canceller's [`Channel::cancel`] removes it. `close` hands every claimable
//! request back as `Outcome::Closed`; if some were not claimable the
//! subscriber stays *closing* (no fan-out, ring returned at once) until the
//! last one is cancelled, then its slot is freed (`cancel_reap` returns that
//! memory). Hence exactly one of publish/post, cancel and close completes each
//! request, exactly once — checked by the loom test.
//!
//! # Contracts worth knowing
//!
//! - `attach` returns `Result<SubscriberId, (Prepared, EngineError)>`: the
//!   table is fixed, and a refused subscriber comes back to be freed outside
//!   the lock.
//! - `reconfigure` takes a sink (the new policy may complete receives at
//!   once) and keeps records, receives, sequence numbers and counters, or
//!   fails unchanged with `WouldLoseRecords`.
//! - `close` returns `Detached` for unknown or closing ids too (empty), so
//!   CLEANUP and CLOSE may both call it; the records counted dropped at a
//!   close are the `Detached::records` it returns.
//! - `publish` refuses kinds > 63 and payloads > `Limits::max_payload`
//!   (counted as `rejected`).
//! - A gap record merged by drop-oldest eviction reports `Overwritten` even
//!   if it swallowed an older `RingFull` gap (possible only after a
//!   reconfigure from drop-newest); the per-reason counters stay exact.
#![no_std]

extern crate alloc;

mod api;
mod channel;
mod error;
mod limits;
mod queue;
mod ring;
mod shared;
mod subscriber;

pub use api::{Clock, Outcome, Request, Sink};
pub use channel::{Channel, SubscriberId};
pub use error::EngineError;
pub use limits::Limits;
pub use shared::{Lock, SharedChannel};
pub use subscriber::{Detached, Prepared, Subscriber};

pub use kchan_proto as proto;
