//! One subscriber: its ring, pending receives, overflow and gap bookkeeping,
//! completion policy and counters. Plain state; the channel calls it under
//! its lock and never lets it allocate.

use crate::ring::{Drained, Ring};
use crate::{queue::Queue, EngineError, Limits, Outcome, Request, Sink};
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::{
    gap_record_bytes, record_size, BatchHeader, CompletionPolicy, GapInfo, GapReason, OverflowPolicy, RecordHeader,
    SubscribeConfig, SubscriberStats, BATCH_HAS_GAP, BATCH_HEADER_SIZE, BATCH_MORE, GAP_RECORD_SIZE, MAX_DELAY_US,
};

/// Weight of a new sample in the consumer's turnaround average: 1/8.
const TURNAROUND_WEIGHT: u64 = 8;

/// How [`Subscriber::try_complete`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    Completed,
    /// Not ready (or no such request): nothing changed.
    NotReady,
    /// Its canceller owns it: marked, left queued.
    CancelOwned,
}

/// A subscriber's state. Created only through [`Subscriber::prepare`], which
/// does every allocation, then moved into a channel by `attach`/`reconfigure`.
pub struct Subscriber<R> {
    pub(crate) kind_mask: u64,
    overflow: OverflowPolicy,
    policy: CompletionPolicy,
    one_event: bool,
    min_records: u32,
    max_delay_ticks: u64,
    fill_bytes: usize,
    pub(crate) ring: Option<Ring>,
    pub(crate) queue: Queue<R>,
    /// Drop-newest losses not yet written: they sit logically after the ring's last record.
    tail_gap: Option<(GapInfo, u64)>,
    /// Adaptive policy: the consumer has its receives back since the last completion.
    armed: bool,
    /// Adaptive policy: the most receives ever pending at once (the
    /// consumer's working K, which may be below the configured limit).
    pending_high_water: usize,
    /// Adaptive policy: when the last completion left, until the next post.
    completed_at: Option<u64>,
    /// Adaptive policy: the consumer's turnaround, a moving average of the
    /// time from a completion to its next post (100 ns ticks; 0 = unknown).
    turnaround_ticks: u64,
    pub(crate) closing: bool,
    pub(crate) counters: SubscriberStats,
    /// Event records still in the ring when the subscriber closed, freed
    /// with it: counted dropped (at close), so that a closing subscriber
    /// balances too. Not a wire counter: the channel carries it on.
    pub(crate) dropped_at_close: u64,
}

/// A subscriber allocated outside the lock, ready for `Channel::attach` or
/// `Channel::reconfigure`. Dropping it frees its memory.
pub struct Prepared<R>(pub(crate) Subscriber<R>);

/// Memory a subscriber gave up (its ring, its queue). Drop it after releasing
/// the channel's lock, so the free does not happen under it.
pub struct Detached<R> {
    pub(crate) ring: Option<Ring>,
    pub(crate) queue: Option<Queue<R>>,
}

impl<R> Default for Detached<R> {
    fn default() -> Self {
        Detached { ring: None, queue: None }
    }
}

impl<R> Detached<R> {
    /// Whether it holds no memory.
    pub fn is_empty(&self) -> bool {
        self.ring.is_none() && self.queue.is_none()
    }

    /// Capacity of the ring it holds (0 without one): what a shell that
    /// budgets ring memory gets back when this is dropped.
    pub fn ring_bytes(&self) -> usize {
        self.ring.as_ref().map_or(0, Ring::capacity)
    }

    /// Event records in the ring it holds, freed with it: those a closed
    /// subscriber left unread, which `Channel::close` counted dropped at
    /// close (a reconfigure hands back an emptied ring: 0).
    pub fn records(&self) -> u64 {
        self.ring.as_ref().map_or(0, Ring::events)
    }
}

impl<R> Prepared<R> {
    /// Capacity of its ring, in bytes.
    pub fn ring_bytes(&self) -> usize {
        self.0.ring.as_ref().map_or(0, Ring::capacity)
    }
}

impl<R: Request> Subscriber<R> {
    /// Validates `cfg` against the protocol and `limits`, then allocates the
    /// ring (`cfg.ring_bytes`) and the pending queue (K = `cfg.max_in_flight`).
    /// Call at PASSIVE/APC level, outside the channel's lock.
    pub fn prepare(cfg: &SubscribeConfig, limits: &Limits) -> Result<Prepared<R>, EngineError> {
        limits.check(cfg)?;
        let ring_bytes = cfg.ring_bytes as usize;
        let ring = Ring::try_new(ring_bytes).ok_or(EngineError::OutOfMemory)?;
        let queue = Queue::try_new(cfg.max_in_flight as usize).ok_or(EngineError::OutOfMemory)?;
        let counters = SubscriberStats {
            ring_capacity: ring_bytes as u64,
            max_in_flight: u64::from(cfg.max_in_flight),
            ..Default::default()
        };
        Ok(Prepared(Subscriber {
            kind_mask: cfg.kind_mask,
            overflow: cfg.overflow_policy(),
            policy: cfg.completion_policy(),
            one_event: cfg.one_event_per_completion(),
            min_records: cfg.min_records,
            max_delay_ticks: u64::from(cfg.max_delay_us) * 10,
            fill_bytes: (ring_bytes as u64 * u64::from(cfg.fill_percent) / 100).max(1) as usize,
            ring: Some(ring),
            queue,
            tail_gap: None,
            armed: true,
            pending_high_water: 0,
            completed_at: None,
            turnaround_ticks: 0,
            closing: false,
            counters,
            dropped_at_close: 0,
        }))
    }

    fn waiting(&self) -> bool {
        self.ring.as_ref().is_some_and(|r| !r.is_empty()) || self.tail_gap.is_some()
    }

    /// Publish time of the oldest undelivered record (or loss).
    fn oldest(&self) -> Option<u64> {
        self.ring.as_ref().and_then(Ring::oldest_timestamp).or_else(|| self.tail_gap.map(|(_, ts)| ts))
    }

    /// Record bytes a publish can store now without a loss (a pending tail
    /// gap needs its record's room first). A subscriber that never had a
    /// receive pending is not consuming: it reports unlimited room, so a
    /// source waiting for room is not held back by a handle that only
    /// sends control requests.
    pub(crate) fn room(&self) -> usize {
        match self.ring.as_ref() {
            Some(ring) if self.pending_high_water > 0 => {
                ring.free().saturating_sub(if self.tail_gap.is_some() { GAP_RECORD_SIZE } else { 0 })
            }
            _ => usize::MAX,
        }
    }

    /// When the policy will complete without further events, if it waits for time.
    pub(crate) fn deadline(&self) -> Option<u64> {
        if self.policy == CompletionPolicy::Immediate || self.queue.live() == 0 {
            return None;
        }
        self.oldest().map(|t| t.saturating_add(self.hold_ticks()))
    }

    /// How long the oldest record may wait while a receive is pending.
    ///
    /// Coalesce: `max_delay`. Adaptive: while the consumer has a completion
    /// in hand, records wait for its re-post, which takes them all in one
    /// batch; a spare receive completed meanwhile only adds a completion
    /// the consumer handles after the one in hand. So the wait is bounded by
    /// twice the consumer's measured turnaround (it is late, not busy,
    /// beyond that), never less than `max_delay`, never more than
    /// [`MAX_DELAY_US`]: a fixed delay shorter than a slow machine's
    /// turnaround fired on every cycle and doubled the completions.
    fn hold_ticks(&self) -> u64 {
        let max = u64::from(MAX_DELAY_US) * 10;
        match self.policy {
            CompletionPolicy::Adaptive => self.max_delay_ticks.max(self.turnaround_ticks.saturating_mul(2)).min(max),
            _ => self.max_delay_ticks,
        }
    }

    /// Stores one published record (or accounts its loss), then completes
    /// whatever the policy says is ready.
    pub(crate) fn publish(&mut self, kind: u16, payload: &[u8], now: u64, sink: &mut impl Sink<R>) {
        let Some(ring) = self.ring.as_mut() else { return };
        let seq = self.counters.next_seq;
        self.counters.next_seq += 1;
        self.counters.published += 1;
        let size = record_size(payload.len());
        let header = RecordHeader { len: payload.len() as u32, kind, flags: 0, seq, timestamp: now };
        match self.overflow {
            OverflowPolicy::DropNewest => {
                let need = size + if self.tail_gap.is_some() { GAP_RECORD_SIZE } else { 0 };
                if ring.free() >= need {
                    if let Some((g, ts)) = self.tail_gap.take() {
                        ring.push_gap(&g, ts);
                    }
                    ring.push_event(&header, payload);
                } else {
                    self.counters.dropped_ring_full += 1;
                    match &mut self.tail_gap {
                        Some((g, _)) => g.count += 1,
                        None => {
                            let g =
                                GapInfo { first_seq: seq, count: 1, reason: GapReason::RingFull as u32, reserved: 0 };
                            self.tail_gap = Some((g, now));
                        }
                    }
                }
            }
            OverflowPolicy::DropOldest => {
                if ring.free() < size {
                    self.counters.dropped_overwritten += ring.evict_for(size, now);
                }
                ring.push_event(&header, payload);
            }
        }
        self.counters.ring_high_water = self.counters.ring_high_water.max(ring.used() as u64);
        if self.queue.live() > 0 {
            self.complete_ready(now, sink);
        }
    }

    /// Whether the policy completes a receive of `buf_len` bytes now.
    fn ready(&self, now: u64, buf_len: usize) -> bool {
        if !self.waiting() {
            return false;
        }
        if self.policy == CompletionPolicy::Immediate || self.one_event {
            return true;
        }
        let used = self.ring.as_ref().map_or(0, Ring::used);
        let waiting_bytes = used + if self.tail_gap.is_some() { GAP_RECORD_SIZE } else { 0 };
        if BATCH_HEADER_SIZE + waiting_bytes >= buf_len || used >= self.fill_bytes {
            return true; // holding cannot make the batch bigger, or would risk drops
        }
        if self.oldest().is_some_and(|t| now >= t.saturating_add(self.hold_ticks())) {
            return true;
        }
        match self.policy {
            CompletionPolicy::Coalesce => {
                let records = self.ring.as_ref().map_or(0, Ring::records) + u32::from(self.tail_gap.is_some());
                records >= self.min_records
            }
            _ => self.armed,
        }
    }

    /// Completes pending receives, oldest first, while the policy says ready.
    /// Bounded: each turn removes one of at most K requests or leaves it to
    /// its canceller.
    pub(crate) fn complete_ready(&mut self, now: u64, sink: &mut impl Sink<R>) {
        while let Some(i) = self.queue.first_live() {
            if self.try_complete(i, now, sink) == Attempt::NotReady {
                break;
            }
        }
    }

    /// Completes the pending receive at `i` if the policy says ready and
    /// its canceller has not taken it (then it is marked theirs).
    fn try_complete(&mut self, i: usize, now: u64, sink: &mut impl Sink<R>) -> Attempt {
        let buf_len = match self.queue.get_mut(i) {
            Some(req) => req.buffer().len(),
            None => return Attempt::NotReady,
        };
        if !self.ready(now, buf_len) {
            return Attempt::NotReady;
        }
        if !self.queue.get_mut(i).is_some_and(|r| r.try_claim()) {
            self.queue.mark_cancel_owned(i);
            return Attempt::CancelOwned;
        }
        let Some(mut req) = self.queue.remove(i) else { return Attempt::NotReady };
        let (bytes, records) = self.fill(req.buffer());
        self.counters.completions += 1;
        self.armed = false;
        self.completed_at = Some(now);
        sink.complete(req, Outcome::Delivered { bytes, records });
        Attempt::Completed
    }

    /// Writes a batch of whole records into `buf` (at least `min_recv_bytes`).
    fn fill(&mut self, buf: &mut [u8]) -> (usize, u32) {
        let cap = buf.len().min(u32::MAX as usize) & !7;
        let (head, body) = buf[..cap].split_at_mut(BATCH_HEADER_SIZE);
        let mut d = match self.ring.as_mut() {
            None => Drained::default(),
            Some(ring) if self.one_event => ring.drain_one_event(body),
            Some(ring) => ring.drain_into(body, u32::MAX),
        };
        // A tail gap follows the last record: it goes out with it.
        let ring_empty = self.ring.as_ref().is_none_or(Ring::is_empty);
        if ring_empty && body.len() - d.bytes >= GAP_RECORD_SIZE {
            if let Some((g, ts)) = self.tail_gap.take() {
                body[d.bytes..d.bytes + GAP_RECORD_SIZE].copy_from_slice(&gap_record_bytes(&g, ts));
                d.bytes += GAP_RECORD_SIZE;
                d.records += 1;
            }
        }
        let gaps = d.records - d.events;
        let mut flags = if self.waiting() { BATCH_MORE } else { 0 };
        if gaps > 0 {
            flags |= BATCH_HAS_GAP;
        }
        let total = BATCH_HEADER_SIZE + d.bytes;
        let h = BatchHeader { record_count: d.records, total_bytes: total as u32, flags, reserved: 0 };
        head.copy_from_slice(h.as_bytes());
        self.counters.delivered += u64::from(d.events);
        self.counters.gaps_delivered += u64::from(gaps);
        self.counters.bytes_delivered += total as u64;
        (total, d.records)
    }

    /// Queues a receive (re-arming the adaptive policy once the consumer's
    /// receives are all back) and completes what is ready. Errors hand the
    /// request back.
    pub(crate) fn post(
        &mut self,
        mut req: R,
        now: u64,
        min_recv: usize,
        sink: &mut impl Sink<R>,
    ) -> Result<(), (R, EngineError)> {
        if self.closing {
            return Err((req, EngineError::Closing));
        }
        let err = if req.buffer().len() < min_recv {
            Some(EngineError::BufferTooSmall)
        } else if self.queue.is_full() {
            Some(EngineError::TooManyPending)
        } else {
            None
        };
        if let Some(e) = err {
            self.counters.rejected_posts += 1;
            return Err((req, e));
        }
        self.queue.push(req);
        // Re-arm only once the consumer has all its receives back: a post
        // while other completions are still being consumed must not complete
        // yet another receive, or completions in transit ratchet up to K (one
        // timer completion at a time) and so does latency.
        self.pending_high_water = self.pending_high_water.max(self.queue.len());
        self.armed = self.queue.len() >= self.pending_high_water;
        if let Some(at) = self.completed_at.take() {
            let sample = now.saturating_sub(at);
            self.turnaround_ticks = match self.turnaround_ticks {
                0 => sample.max(1),
                avg => (avg - avg / TURNAROUND_WEIGHT + sample / TURNAROUND_WEIGHT).max(1),
            };
        }
        // The receive just posted takes what is ready first: completed in
        // its own post (the driver's dispatch routine), it reaches a client
        // that asks for no completion packet on success at once, where an
        // older receive completed instead costs it a trip through its
        // completion port. Which receive carries a batch does not matter
        // otherwise: records carry their sequence numbers.
        self.try_complete(self.queue.len() - 1, now, sink);
        self.complete_ready(now, sink);
        Ok(())
    }

    /// Hands back every claimable pending request as `Closed`; requests whose
    /// canceller won stay queued. Returns the ring for freeing; the event
    /// records still in it are counted in `dropped_at_close`. Gap records
    /// in it and a pending tail gap are not: the losses they report were
    /// counted when they happened.
    pub(crate) fn close(&mut self, sink: &mut impl Sink<R>) -> Option<Ring> {
        let mut i = 0;
        while let Some(req) = self.queue.get_mut(i) {
            if req.try_claim() {
                if let Some(req) = self.queue.remove(i) {
                    self.counters.closed_receives += 1;
                    sink.complete(req, Outcome::Closed);
                }
            } else {
                self.queue.mark_cancel_owned(i);
                i += 1;
            }
        }
        self.closing = true;
        self.tail_gap = None;
        let ring = self.ring.take();
        self.dropped_at_close += ring.as_ref().map_or(0, Ring::events);
        ring
    }

    /// Removes the pending request `request_id`.
    pub(crate) fn cancel(&mut self, request_id: u64) -> Option<R> {
        let i = self.queue.find(request_id)?;
        self.counters.cancels += 1;
        self.queue.remove(i)
    }

    /// Counters plus the values read from the ring and queue.
    pub(crate) fn stats(&self) -> SubscriberStats {
        let mut s = self.counters;
        if let Some(r) = &self.ring {
            s.in_ring_records = r.events();
            s.in_ring_bytes = r.used() as u64;
        }
        s.pending_receives = self.queue.len() as u64;
        s
    }

    /// Pool bytes and allocations this subscriber holds.
    pub(crate) fn pool(&self) -> (u64, u64) {
        let ring = self.ring.as_ref().map_or(0, Ring::capacity) as u64;
        (ring + self.queue.bytes() as u64, 1 + u64::from(self.ring.is_some()))
    }

    /// Takes over `old`'s records, pending receives and counters (the new
    /// config applies from now on). Fails, changing nothing, if they do not fit.
    pub(crate) fn take_over(&mut self, old: &mut Subscriber<R>) -> Result<(), EngineError> {
        let (Some(new_ring), Some(old_ring)) = (self.ring.as_mut(), old.ring.as_mut()) else {
            return Err(EngineError::Closing);
        };
        let gap = if old.tail_gap.is_some() { GAP_RECORD_SIZE } else { 0 };
        if new_ring.free() < old_ring.used() + gap || self.queue.capacity() < old.queue.len() {
            return Err(EngineError::WouldLoseRecords);
        }
        old_ring.move_into(new_ring);
        old.queue.move_into(&mut self.queue);
        // Written now so that it stays in place whatever the new overflow policy.
        if let Some((g, ts)) = old.tail_gap.take() {
            new_ring.push_gap(&g, ts);
        }
        let (cap, k) = (self.counters.ring_capacity, self.counters.max_in_flight);
        self.counters = SubscriberStats { ring_capacity: cap, max_in_flight: k, ..old.counters };
        self.counters.ring_high_water = new_ring.used() as u64;
        self.armed = old.armed;
        // The consumer's working K (it still counts as consuming, and an
        // adaptive policy re-arms only once that many are back), within the
        // new K.
        self.pending_high_water = old.pending_high_water.min(self.queue.capacity());
        self.completed_at = old.completed_at;
        self.turnaround_ticks = old.turnaround_ticks;
        Ok(())
    }

    /// The accounting invariant: published == delivered + in ring + dropped
    /// (ring full, overwritten, and at close once closing: its ring is gone).
    pub(crate) fn balanced(&self) -> bool {
        let s = self.stats();
        let accounted = s.delivered.checked_add(s.in_ring_records).and_then(|n| n.checked_add(s.dropped()));
        accounted.and_then(|n| n.checked_add(self.dropped_at_close)) == Some(s.published)
    }
}
