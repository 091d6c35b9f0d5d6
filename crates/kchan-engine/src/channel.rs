//! `Channel`: the subscriber table, fan-out, and the entry points the driver
//! calls under its spin lock. Nothing here allocates or frees: memory comes
//! in through [`Prepared`] and leaves through [`Detached`].

use crate::subscriber::{Detached, Prepared, Subscriber};
use crate::{Clock, EngineError, Limits, Request, Sink};
use alloc::boxed::Box;
use alloc::vec::Vec;
use kchan_proto::{ChannelStats, ProtoError, SubscriberStats, MAX_KIND};

/// Handle of an attached subscriber: a table index plus a generation, so a
/// stale id never reaches a later subscriber of the same slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriberId {
    index: u32,
    generation: u32,
}

impl SubscriberId {
    /// Packs the id into a `u64` (e.g. for a file object's `FsContext`).
    pub const fn to_u64(self) -> u64 {
        (self.generation as u64) << 32 | self.index as u64
    }
    /// Unpacks [`SubscriberId::to_u64`]. Any value is safe: unknown ids are refused.
    pub const fn from_u64(v: u64) -> Self {
        SubscriberId { index: v as u32, generation: (v >> 32) as u32 }
    }
}

struct Slot<R> {
    generation: u32,
    sub: Option<Subscriber<R>>,
}

/// The channel: plain state, mutated through `&mut self`. The driver wraps it
/// in its spin lock; every method is callable at IRQL <= DISPATCH_LEVEL and
/// takes bounded time (K requests, 64 subscribers, one ring's bytes at most).
pub struct Channel<R, C> {
    clock: C,
    limits: Limits,
    slots: Box<[Slot<R>]>,
    /// `by_kind[k]`: bit `i` set if slot `i` is open and subscribed to kind `k`.
    by_kind: [u64; MAX_KIND as usize + 1],
    /// Counters of the subscribers whose slots were freed, and channel-wide
    /// ones; [`Channel::channel_stats`] adds the attached subscribers'.
    stats: ChannelStats,
    /// Event records discarded with a closing subscriber's ring, all time
    /// (also in `stats.dropped`).
    dropped_at_close: u64,
    /// Event records delivered by the subscribers whose slots were freed:
    /// only for the channel-wide balance ([`Channel::check_all_invariants`]).
    retired_delivered: u64,
    /// No subscriber's deadline is earlier (`u64::MAX`: none known). A
    /// deadline appears only through publish, post or reconfigure, which
    /// lower this; others only vanish or move later, so it may be early,
    /// never late. `on_timer` makes it exact again.
    deadline_bound: u64,
}

impl<R: Request, C: Clock> Channel<R, C> {
    /// Allocates the subscriber table (`limits.max_subscribers`, at most 64).
    pub fn new(clock: C, limits: Limits) -> Result<Self, EngineError> {
        if limits.max_subscribers == 0 || limits.max_subscribers > 64 || limits.max_in_flight == 0 {
            return Err(EngineError::InvalidConfig(ProtoError::InvalidParameter));
        }
        let mut v = Vec::new();
        v.try_reserve_exact(limits.max_subscribers).map_err(|_| EngineError::OutOfMemory)?;
        v.resize_with(limits.max_subscribers, || Slot { generation: 0, sub: None });
        let stats = ChannelStats { max_subscribers: limits.max_subscribers as u64, ..Default::default() };
        Ok(Channel {
            clock,
            limits,
            slots: v.into_boxed_slice(),
            by_kind: [0; MAX_KIND as usize + 1],
            stats,
            dropped_at_close: 0,
            retired_delivered: 0,
            deadline_bound: u64::MAX,
        })
    }

    /// The limits given at `new`.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The clock given at `new`.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    fn sub_mut(&mut self, id: SubscriberId) -> Option<&mut Subscriber<R>> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.sub.as_mut()
    }

    fn sub(&self, id: SubscriberId) -> Option<&Subscriber<R>> {
        let slot = self.slots.get(id.index as usize)?;
        (slot.generation == id.generation).then_some(slot.sub.as_ref()?)
    }

    fn set_filter(&mut self, index: usize, mask: u64) {
        for (k, bits) in self.by_kind.iter_mut().enumerate() {
            *bits &= !(1 << index);
            if mask & (1 << k) != 0 {
                *bits |= 1 << index;
            }
        }
    }

    /// Moves a prepared subscriber into a free slot. Never allocates. On a
    /// full table the subscriber comes back, to be dropped outside the lock.
    #[allow(clippy::result_large_err)] // hands the prepared memory back, to be freed outside the lock
    pub fn attach(&mut self, prepared: Prepared<R>) -> Result<SubscriberId, (Prepared<R>, EngineError)> {
        let Some(index) = self.slots.iter().position(|s| s.sub.is_none()) else {
            return Err((prepared, EngineError::TooManySubscribers));
        };
        let mask = prepared.0.kind_mask;
        let slot = &mut self.slots[index];
        slot.sub = Some(prepared.0);
        let id = SubscriberId { index: index as u32, generation: slot.generation };
        self.set_filter(index, mask);
        self.stats.subscribers += 1;
        Ok(id)
    }

    /// Replaces subscriber `id`'s config with `prepared`'s, keeping its
    /// records, pending receives, sequence numbers and counters. Never
    /// allocates; the old memory comes back in [`Detached`]. Fails, changing
    /// nothing, if the new ring or K cannot hold what is there now. Receives
    /// the new policy finds ready complete through `sink`.
    #[allow(clippy::result_large_err)] // hands the prepared memory back, to be freed outside the lock
    pub fn reconfigure(
        &mut self,
        id: SubscriberId,
        prepared: Prepared<R>,
        sink: &mut impl Sink<R>,
    ) -> Result<Detached<R>, (Prepared<R>, EngineError)> {
        let Some(old) = self.sub_mut(id) else { return Err((prepared, EngineError::NoSuchSubscriber)) };
        if old.closing {
            return Err((prepared, EngineError::Closing));
        }
        let mut new = prepared.0;
        if let Err(e) = new.take_over(old) {
            return Err((Prepared(new), e));
        }
        let mask = new.kind_mask;
        let now = self.clock.now();
        let old = self.slots[id.index as usize].sub.replace(new);
        self.set_filter(id.index as usize, mask);
        // Records may be deliverable at once under the new policy.
        if let Some(sub) = self.slots[id.index as usize].sub.as_mut() {
            sub.complete_ready(now, sink);
        }
        self.note_deadline(id.index as usize);
        Ok(old.map(|mut o| Detached { ring: o.ring.take(), queue: Some(o.queue) }).unwrap_or_default())
    }

    /// Closes `id`: every pending receive goes to `sink` as `Outcome::Closed`,
    /// except those whose `try_claim` fails (a canceller owns them). If any such
    /// remain, the subscriber stays in a *closing* state — out of every fan-out,
    /// its ring already returned — until `cancel` removed the last of them; then
    /// its slot is freed. Unknown or closing ids: a no-op (CLEANUP and CLOSE may
    /// both call it). Drop the returned memory after releasing the lock.
    ///
    /// The event records still waiting in the ring go with it: they are
    /// counted dropped, in [`Channel::dropped_at_close`] and in the channel's
    /// `dropped`; [`Detached::records`] says how many.
    pub fn close(&mut self, id: SubscriberId, sink: &mut impl Sink<R>) -> Detached<R> {
        let Some(sub) = self.sub_mut(id) else { return Detached::default() };
        if sub.closing {
            return Detached::default();
        }
        let ring = sub.close(sink);
        let discarded = sub.dropped_at_close;
        let done = sub.queue.len() == 0;
        self.dropped_at_close += discarded;
        self.stats.dropped += discarded;
        self.set_filter(id.index as usize, 0);
        let queue = if done { self.free_slot(id.index as usize) } else { None };
        Detached { ring, queue }
    }

    fn free_slot(&mut self, index: usize) -> Option<crate::queue::Queue<R>> {
        let slot = &mut self.slots[index];
        let sub = slot.sub.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.stats.subscribers -= 1;
        self.stats.cancels += sub.counters.cancels;
        self.stats.completions += sub.counters.completions;
        // Its drops at close are in `stats.dropped` since its close.
        self.stats.dropped += sub.counters.dropped();
        self.retired_delivered += sub.counters.delivered;
        Some(sub.queue)
    }

    /// Publishes one event to every open subscriber whose filter has `kind`.
    /// Never allocates or blocks; completes receives through `sink`. Returns
    /// the number of subscribers it was published to (each used a sequence
    /// number; drops are counted per subscriber). Kinds above 63 and payloads
    /// above `Limits::max_payload` are refused (returns 0, counted as `rejected`).
    pub fn publish(&mut self, kind: u16, payload: &[u8], sink: &mut impl Sink<R>) -> usize {
        self.publish_stamped(kind, payload, None, sink)
    }

    /// [`Channel::publish`] with a timestamp the caller read from the
    /// channel's clock: a source publishing many records at once (an inject
    /// message, a generator chunk) stamps them all with one reading. Under
    /// Wine a clock read costs several times a publish.
    pub fn publish_at(&mut self, kind: u16, payload: &[u8], timestamp: u64, sink: &mut impl Sink<R>) -> usize {
        self.publish_stamped(kind, payload, Some(timestamp), sink)
    }

    fn publish_stamped(&mut self, kind: u16, payload: &[u8], stamp: Option<u64>, sink: &mut impl Sink<R>) -> usize {
        if kind > MAX_KIND || payload.len() > self.limits.max_payload {
            self.stats.rejected += 1;
            return 0;
        }
        self.stats.published += 1;
        let mut mask = self.by_kind[kind as usize];
        if mask == 0 {
            return 0;
        }
        let now = stamp.unwrap_or_else(|| self.clock.now());
        let mut n = 0;
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            if let Some(sub) = self.slots[i].sub.as_mut() {
                sub.publish(kind, payload, now, sink);
                if let Some(d) = sub.deadline() {
                    self.deadline_bound = self.deadline_bound.min(d);
                }
                n += 1;
            }
        }
        self.stats.fanout += n as u64;
        n
    }

    /// Whether every consuming subscriber of `kind` can store `bytes` more
    /// record bytes (see [`kchan_proto::record_size`]) without a loss. A
    /// source that can hold its events back checks it before publishing and
    /// waits while it is false; subscribers that never posted a receive do
    /// not count (nothing would ever make room in them).
    pub fn has_room(&self, kind: u16, bytes: usize) -> bool {
        let mut mask = self.by_kind.get(kind as usize).copied().unwrap_or(0);
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            if self.slots[i].sub.as_ref().is_some_and(|sub| sub.room() < bytes) {
                return false;
            }
        }
        true
    }

    /// Posts a receive. If records wait (and the policy agrees) it completes at
    /// once through `sink` with as many whole records as fit; otherwise it is
    /// queued. Refused (and handed back) when the buffer is below
    /// `Limits::min_recv_bytes`, K receives already pend, or `id` is unknown/closing.
    pub fn post(&mut self, id: SubscriberId, req: R, sink: &mut impl Sink<R>) -> Result<(), (R, EngineError)> {
        let now = self.clock.now();
        let min = self.limits.min_recv_bytes();
        let posted = match self.sub_mut(id) {
            Some(sub) => sub.post(req, now, min, sink),
            None => return Err((req, EngineError::NoSuchSubscriber)),
        };
        self.note_deadline(id.index as usize);
        posted
    }

    /// Lowers the deadline bound to subscriber `index`'s deadline.
    fn note_deadline(&mut self, index: usize) {
        if let Some(d) = self.slots.get(index).and_then(|s| s.sub.as_ref()?.deadline()) {
            self.deadline_bound = self.deadline_bound.min(d);
        }
    }

    /// A time no deadline precedes, in O(1): a shell compares it with the
    /// deadline its timer sleeps until, on every operation, to know whether
    /// to wake it. It may be earlier than [`Channel::next_deadline`] (a
    /// deadline that vanished since the last [`Channel::on_timer`]), never
    /// later; `None` when no deadline appeared since.
    pub fn deadline_bound(&self) -> Option<u64> {
        (self.deadline_bound != u64::MAX).then_some(self.deadline_bound)
    }

    /// Removes pending receive `request_id` of `id` (the driver's cancel
    /// routine calls it, then completes the request `STATUS_CANCELLED`).
    /// `None` if it is not pending (already completed or never posted). If
    /// this was the last receive of a closing subscriber, its slot is freed
    /// and its small queue array freed here; use [`Channel::cancel_reap`] to
    /// get that memory back instead.
    pub fn cancel(&mut self, id: SubscriberId, request_id: u64) -> Option<R> {
        self.cancel_reap(id, request_id).0
    }

    /// [`Channel::cancel`], also returning the memory of a subscriber whose
    /// closing finished, to be dropped after the lock is released.
    pub fn cancel_reap(&mut self, id: SubscriberId, request_id: u64) -> (Option<R>, Detached<R>) {
        let Some(sub) = self.sub_mut(id) else { return (None, Detached::default()) };
        let req = sub.cancel(request_id);
        let queue = if sub.closing && sub.queue.len() == 0 { self.free_slot(id.index as usize) } else { None };
        (req, Detached { ring: None, queue })
    }

    /// Pending receive `request_id` of `id`, still queued in the engine
    /// (neither completed nor cancelled), e.g. for a shell to mark it pending.
    pub fn pending_mut(&mut self, id: SubscriberId, request_id: u64) -> Option<&mut R> {
        let sub = self.sub_mut(id)?;
        let i = sub.queue.find(request_id)?;
        sub.queue.get_mut(i)
    }

    /// Ids of the attached subscribers that are not closing (a shell closes
    /// them all at unload).
    pub fn open_subscribers(&self) -> impl Iterator<Item = SubscriberId> + '_ {
        self.slots.iter().enumerate().filter_map(|(index, slot)| {
            let sub = slot.sub.as_ref()?;
            (!sub.closing).then_some(SubscriberId { index: index as u32, generation: slot.generation })
        })
    }

    /// Earliest time (100 ns ticks) at which [`Channel::on_timer`] has work:
    /// a coalescing or adaptive subscriber holds records while a receive pends.
    pub fn next_deadline(&self) -> Option<u64> {
        self.slots.iter().filter_map(|s| s.sub.as_ref()?.deadline()).min()
    }

    /// Completes what the policies say is due at `now` (the shell's timer).
    pub fn on_timer(&mut self, now: u64, sink: &mut impl Sink<R>) {
        for slot in self.slots.iter_mut() {
            if let Some(sub) = slot.sub.as_mut() {
                if !sub.closing {
                    sub.complete_ready(now, sink);
                }
            }
        }
        self.deadline_bound = self.next_deadline().unwrap_or(u64::MAX);
    }

    /// Counters of subscriber `id` (closing ones included).
    pub fn stats(&self, id: SubscriberId) -> Option<SubscriberStats> {
        self.sub(id).map(Subscriber::stats)
    }

    /// Channel-wide counters (generator fields are the driver's to fill).
    /// `dropped` counts every reason: ring full and overwritten for every
    /// subscriber, attached or gone, and [`Channel::dropped_at_close`].
    pub fn channel_stats(&self) -> ChannelStats {
        let mut s = self.stats;
        for sub in self.slots.iter().filter_map(|s| s.sub.as_ref()) {
            let st = sub.stats();
            let (bytes, allocs) = sub.pool();
            s.pending_receives += st.pending_receives;
            s.completions += st.completions;
            s.cancels += st.cancels;
            s.dropped += st.dropped();
            s.pool_bytes += bytes;
            s.pool_allocations += allocs;
        }
        s
    }

    /// Event records that were waiting in a subscriber's ring when it closed
    /// (its handle's CLEANUP or CLOSE, or unload), all time: freed with the
    /// ring, so counted dropped here and in `channel_stats().dropped`. Gap
    /// records are not counted: the losses they report were counted (ring
    /// full, overwritten) when they happened.
    pub fn dropped_at_close(&self) -> u64 {
        self.dropped_at_close
    }

    /// Checks the accounting invariant of `id`: published == delivered + in
    /// ring + dropped (ring full, overwritten, at close). `false` also for an
    /// unknown id.
    pub fn check_invariant(&self, id: SubscriberId) -> bool {
        self.sub(id).is_some_and(Subscriber::balanced)
    }

    /// [`Channel::check_invariant`] for every attached subscriber, and the
    /// same channel-wide, over every subscriber ever attached: `fanout` ==
    /// delivered + in rings + `dropped` (all reasons).
    pub fn check_all_invariants(&self) -> bool {
        let (mut delivered, mut in_rings) = (self.retired_delivered, 0u64);
        for sub in self.slots.iter().filter_map(|s| s.sub.as_ref()) {
            if !sub.balanced() {
                return false;
            }
            let st = sub.stats();
            delivered += st.delivered;
            in_rings += st.in_ring_records;
        }
        let c = self.channel_stats();
        delivered.checked_add(in_rings).and_then(|n| n.checked_add(c.dropped)) == Some(c.fanout)
    }
}
