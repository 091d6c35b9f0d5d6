//! [`Receiver`]: K receives kept in flight on a [`Port`], their batches
//! handed to the caller one at a time, in sequence order.
//!
//! Portable: a [`Subscription`](crate::Subscription) runs it on a completion
//! port; the tests below run it on `sys::fake`'s port, where the test plays
//! the driver.
//!
//! Each operation is owned by exactly one place at a time: the kernel
//! (posted), `returned` (back from the kernel, inside its post or through
//! the port, not yet looked at), the reorder buffer or the ready queue
//! (completed, waiting its turn), the caller (the batch lent out), or `idle`
//! (a post that failed, to be tried again). Each batch is validated once,
//! when its receive is taken back.
//!
//! A receive that finds records waiting completes inside its post, where
//! the port allows it (the Windows port sets
//! `FILE_SKIP_COMPLETION_PORT_ON_SUCCESS`): its batch is taken back at once,
//! with no wait on the port, and goes through the same reordering as one
//! that pended.

use crate::reorder::{Reorder, Span};
use crate::sys::{Completion, Packet, Port, Posted, RecvBuffer};
use crate::{Error, Result};
use kchan_proto::{parse_batch, BatchHeader, BatchReader, ProtoError, Record, STATUS_CANCELLED};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long dropping a receiver waits for its cancelled receives before
/// leaking their buffers (leaking is safe; freeing memory the kernel may
/// still write is not).
const DROP_DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// What the client has seen on a subscription.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ClientStats {
    /// Receives completed with a batch.
    pub completions: u64,
    /// Events received.
    pub events: u64,
    /// Gap records received.
    pub gaps: u64,
    /// Events reported lost by gap records.
    pub lost: u64,
    /// Batch bytes received.
    pub bytes: u64,
    /// Receives that completed with an error status (not posted again).
    pub failed_receives: u64,
    /// Receives that completed inside their post, with no completion-port
    /// round trip (counted among `completions` when they carry a batch).
    pub completed_at_once: u64,
}

/// The records of one completed receive, borrowed from its buffer.
pub struct Batch<'a> {
    data: &'a [u8],
    reader: BatchReader<'a>,
}

impl<'a> Batch<'a> {
    /// The batch header (record count, bytes, flags).
    pub fn header(&self) -> &BatchHeader {
        self.reader.header()
    }

    /// The records, gap records included, in sequence order.
    pub fn records(&self) -> BatchReader<'a> {
        self.reader.clone()
    }

    /// The raw bytes of the batch as the driver wrote them.
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }
}

/// What one validated batch holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Summary {
    /// The first sequence number it accounts for, and the one after its last.
    first: u64,
    end: u64,
    events: u64,
    gaps: u64,
    lost: u64,
}

/// Validates a batch (the one time its bytes are checked) and sums it up;
/// `None` for a batch without records.
fn summarize(data: &[u8]) -> Result<Option<Summary>, ProtoError> {
    let mut span: Option<(u64, u64)> = None;
    let (mut events, mut gaps, mut lost) = (0, 0, 0);
    for record in parse_batch(data)? {
        let (start, stop) = match record {
            Record::Event { seq, .. } => {
                events += 1;
                (seq, seq.saturating_add(1))
            }
            Record::Gap { first_seq, count, .. } => {
                gaps += 1;
                lost += count;
                (first_seq, first_seq.saturating_add(count))
            }
        };
        span = Some((span.map_or(start, |s| s.0), stop));
    }
    Ok(span.map(|(first, end)| Summary { first, end, events, gaps, lost }))
}

/// A completed receive: its operation, the bytes the driver wrote, and
/// what they hold.
struct Completed<Op> {
    op: Box<Op>,
    bytes: usize,
    summary: Summary,
}

/// K receives in flight on a port, their batches in sequence order.
pub(crate) struct Receiver<P: Port> {
    port: P,
    /// Operations whose post failed, posted again before the next wait.
    idle: Vec<Box<P::Op>>,
    /// The batch lent to the caller; its receive is posted again on the
    /// next call.
    lent: Option<Completed<P::Op>>,
    /// Completed batches whose turn has come.
    ready: VecDeque<Completed<P::Op>>,
    reorder: Reorder<Completed<P::Op>>,
    /// Operations back from the kernel, inside their post or dequeued, not
    /// taken back yet.
    returned: VecDeque<Completion<P::Op>>,
    /// Scratch for dequeued packets.
    packets: Vec<Packet<P::Op>>,
    stats: ClientStats,
}

impl<P: Port> Receiver<P> {
    /// Posts `max_in_flight` receives of `buffer_bytes` each. `first_seq`
    /// is the sequence number the stream starts at, if known (then even the
    /// first batch waits for its turn).
    pub fn start(port: P, max_in_flight: usize, buffer_bytes: usize, first_seq: Option<u64>) -> Result<Self> {
        let mut receiver = Receiver {
            port,
            idle: Vec::with_capacity(max_in_flight),
            lent: None,
            ready: VecDeque::with_capacity(max_in_flight),
            reorder: Reorder::new(max_in_flight, first_seq),
            returned: VecDeque::with_capacity(max_in_flight),
            packets: Vec::with_capacity(max_in_flight + 1),
            stats: ClientStats::default(),
        };
        for _ in 0..max_in_flight {
            let op = receiver.port.new_op(buffer_bytes);
            receiver.post(op)?;
        }
        Ok(receiver)
    }

    /// The port (for what the platform adds, e.g. the device handle).
    pub fn port(&self) -> &P {
        &self.port
    }

    /// Receives now with the driver.
    pub fn pending(&self) -> usize {
        self.port.in_flight()
    }

    /// What has been handed to the caller so far.
    pub fn stats(&self) -> ClientStats {
        self.stats
    }

    /// Posts the lent batch's receive again, then waits up to `timeout`
    /// (forever if `None`) for the next batch in turn. `Ok(None)` on time-out
    /// or on a wake-up.
    pub fn next_batch(&mut self, timeout: Option<Duration>) -> Result<Option<Batch<'_>>> {
        if let Some(lent) = self.lent.take() {
            self.idle.push(lent.op);
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let (mut stop, mut dequeued) = (false, Ok(()));
        loop {
            // Every operation back from the kernel is taken back before an
            // error is reported.
            let posted = self.post_idle();
            let taken = self.take_back();
            std::mem::replace(&mut dequeued, Ok(())).map_err(Error::Io).and(posted).and(taken)?;
            if !self.ready.is_empty() {
                break;
            }
            if stop {
                return Ok(None);
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            dequeued = self.port.dequeue(left, &mut self.packets);
            stop = self.packets.is_empty(); // timed out
            for packet in self.packets.drain(..) {
                match packet {
                    Packet::Received(completion) => self.returned.push_back(completion),
                    Packet::Wake => stop = true,
                }
            }
        }
        self.lend();
        Ok(self.lent())
    }

    /// The batch the last [`Receiver::next_batch`] lent, again (`None`
    /// before the first, or after a call that returned none).
    pub fn lent(&self) -> Option<Batch<'_>> {
        let lent = self.lent.as_ref()?;
        let data = lent.op.filled(lent.bytes);
        Some(Batch { data, reader: BatchReader::of_validated(data) })
    }

    /// Posts the operations waiting in `idle`; stops at the first failure
    /// (the others are tried on the next call).
    fn post_idle(&mut self) -> Result<()> {
        while let Some(op) = self.idle.pop() {
            self.post(op)?;
        }
        Ok(())
    }

    /// Takes back every operation in `returned` (and what their re-posts
    /// return at once), then reports the first error.
    fn take_back(&mut self) -> Result<()> {
        let mut first_error = None;
        while let Some(completion) = self.returned.pop_front() {
            if let Err(e) = self.on_received(completion) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Takes back a completed receive: its batch goes to the reorder buffer,
    /// or the receive is posted again (cancelled by someone else, empty,
    /// malformed), or it is dropped (refused by the driver: posting it again
    /// would be refused again).
    fn on_received(&mut self, Completion { op, status, bytes }: Completion<P::Op>) -> Result<()> {
        if status == STATUS_CANCELLED {
            // Only drop cancels on purpose, and it does not come here: Wine
            // or another thread cancelled it. Keep K receives in flight.
            return self.post(op);
        }
        if status < 0 {
            self.stats.failed_receives += 1;
            return Err(Error::Request { what: "receive", ntstatus: status });
        }
        match summarize(op.filled(bytes)) {
            Ok(Some(summary)) => {
                let span = Span { first: summary.first, end: summary.end, token: Completed { op, bytes, summary } };
                // Receives returned but not taken back yet count as in
                // flight: their batches may come before this one.
                let in_flight = self.port.in_flight() + self.returned.len();
                self.reorder.push(span, in_flight, &mut self.ready);
                Ok(())
            }
            Ok(None) => self.post(op),
            Err(e) => {
                self.post(op)?;
                Err(Error::Protocol(e))
            }
        }
    }

    /// Lends out the first batch in turn, and counts it.
    fn lend(&mut self) {
        if let Some(completed) = self.ready.pop_front() {
            let s = completed.summary;
            self.stats.completions += 1;
            self.stats.bytes += completed.bytes as u64;
            self.stats.events += s.events;
            self.stats.gaps += s.gaps;
            self.stats.lost += s.lost;
            self.lent = Some(completed);
        }
    }

    /// Posts a receive; one that completes at once joins `returned`.
    fn post(&mut self, op: Box<P::Op>) -> Result<()> {
        match self.port.post(op) {
            Ok(Posted::InFlight) => Ok(()),
            Ok(Posted::Completed(completion)) => {
                self.stats.completed_at_once += 1;
                self.returned.push_back(completion);
                Ok(())
            }
            Err((op, failure)) => {
                self.idle.push(op);
                Err(Error::request("receive", failure))
            }
        }
    }
}

impl<P: Port> Drop for Receiver<P> {
    /// Cancels every receive in flight and waits for each completion; only
    /// then are the buffers freed. If the driver has not completed them all
    /// within [`DROP_DRAIN_LIMIT`], the rest is leaked rather than freed
    /// under the kernel's feet.
    fn drop(&mut self) {
        self.port.cancel_all();
        let deadline = Instant::now() + DROP_DRAIN_LIMIT;
        while self.port.in_flight() > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            self.packets.clear(); // operations back from the kernel: free to go
            match self.port.dequeue(Some(left), &mut self.packets) {
                Ok(()) if !self.packets.is_empty() => {}
                _ => break,
            }
        }
        if self.port.in_flight() > 0 {
            eprintln!("kchan: {} receives did not complete after cancel; leaking their buffers", self.port.in_flight());
            self.port.abandon();
        }
    }
}

#[cfg(test)]
mod tests;
