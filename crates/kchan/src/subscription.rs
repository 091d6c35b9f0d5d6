//! [`Subscription`]: K receives in flight on a completion port, handed to the
//! caller one batch at a time, in sequence order.

use crate::event::{seq_span, Item};
use crate::reorder::{Reorder, Span};
use crate::sys::{Completion, CompletionPort, RecvOp};
use crate::{Device, Error, Result, SubscribeOptions};
use kchan_proto::{parse_batch, BatchHeader, BatchReader, Record, IOCTL_RECV, STATUS_CANCELLED};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use windows_sys::Win32::System::IO::OVERLAPPED_ENTRY;

/// Completion key of the subscription's receives.
const KEY_RECV: usize = 1;
/// Completion key of a [`Wakeup`].
const KEY_WAKE: usize = 2;
/// How long `drop` waits for cancelled receives before leaking their buffers
/// (leaking is safe; freeing memory the kernel may still write is not).
const DROP_DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// A subscription: this handle's subscriber in the driver, with K receive
/// requests kept in flight.
///
/// [`next_batch`](Subscription::next_batch) lends out the records of one
/// completed receive; the request is re-posted when the next batch is asked
/// for. [`events`](Subscription::events) is the same as an iterator of owned
/// items. Dropping the subscription at any moment is safe: it cancels every
/// request still in flight and waits for each one's completion before its
/// buffer is freed.
pub struct Subscription {
    device: Device,
    port: Arc<CompletionPort>,
    // Boxed on purpose: the kernel holds each operation's address while it
    // is in flight, so it must never move, whatever happens to the Vec.
    #[allow(clippy::vec_box)]
    ops: Vec<Box<RecvOp>>,
    in_flight: usize,
    /// The batch lent to the caller: op index; re-posted on the next call.
    lent: Option<usize>,
    /// Completed batches in sequence order: (op index, bytes).
    ready: VecDeque<(usize, usize)>,
    reorder: Reorder<(usize, usize)>,
    entries: Vec<OVERLAPPED_ENTRY>,
    stats: ClientStats,
}

// SAFETY: the raw pointers inside (OVERLAPPEDs of the boxed operations and
// the scratch completion entries) point into memory the subscription owns;
// neither completion ports nor overlapped requests are bound to a thread
// (requests on a port are not cancelled when the posting thread exits).
unsafe impl Send for Subscription {}

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
    /// Receives that completed with an error status (not re-posted).
    pub failed_receives: u64,
}

/// Wakes a thread blocked in [`Subscription::next_batch_timeout`] from
/// another thread; that call then returns `Ok(None)`.
#[derive(Clone)]
pub struct Wakeup {
    port: Arc<CompletionPort>,
}

impl Wakeup {
    /// Wakes the waiter (or the next wait, if none waits now).
    pub fn wake(&self) {
        let _ = self.port.post(KEY_WAKE);
    }
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

impl Subscription {
    pub(crate) fn start(device: Device, options: SubscribeOptions) -> Result<Subscription> {
        let port = Arc::new(CompletionPort::new()?);
        port.associate(device.handle(), KEY_RECV)?;
        let k = options.receives_in_flight().max(1);
        let ops = (0..k).map(|i| RecvOp::new(i, options.receive_buffer_bytes())).collect();
        let mut sub = Subscription {
            device,
            port,
            ops,
            in_flight: 0,
            lent: None,
            ready: VecDeque::with_capacity(k),
            reorder: Reorder::new(k),
            entries: vec![empty_entry(); k + 1],
            stats: ClientStats::default(),
        };
        for i in 0..k {
            sub.post(i)?;
        }
        Ok(sub)
    }

    /// The device this subscription receives from (for control calls).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// A handle that interrupts a blocking wait from another thread.
    pub fn wakeup(&self) -> Wakeup {
        Wakeup { port: self.port.clone() }
    }

    /// What this client has received so far.
    pub fn client_stats(&self) -> ClientStats {
        self.stats
    }

    /// Receives now pending in the driver.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Waits for the next batch.
    pub fn next_batch(&mut self) -> Result<Batch<'_>> {
        loop {
            if self.wait(None)? {
                break;
            }
        }
        Ok(self.lend())
    }

    /// Waits at most `timeout` for the next batch; `Ok(None)` on time-out or
    /// when woken by a [`Wakeup`].
    pub fn next_batch_timeout(&mut self, timeout: Duration) -> Result<Option<Batch<'_>>> {
        if self.wait(Some(timeout))? {
            Ok(Some(self.lend()))
        } else {
            Ok(None)
        }
    }

    /// The subscription as an iterator of owned events and gaps.
    pub fn events(&mut self) -> Events<'_> {
        Events { sub: self, pending: VecDeque::new() }
    }

    /// Re-posts the lent batch, then waits until a batch is ready. Returns
    /// false on time-out or wake-up.
    fn wait(&mut self, timeout: Option<Duration>) -> Result<bool> {
        if let Some(index) = self.lent.take() {
            self.post(index)?;
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        while self.ready.is_empty() {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let n = self.port.get_many(&mut self.entries, left)?;
            if n == 0 {
                return Ok(false);
            }
            let mut woken = false;
            let mut first_error = None;
            for i in 0..n {
                let completion = Completion::from(&self.entries[i]);
                if completion.key == KEY_WAKE {
                    woken = true;
                } else if let Err(e) = self.on_completion(completion) {
                    // Account for every dequeued packet before reporting.
                    first_error.get_or_insert(e);
                }
            }
            if let Some(e) = first_error {
                return Err(e);
            }
            if woken && self.ready.is_empty() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn on_completion(&mut self, completion: Completion) -> Result<()> {
        let index = self.op_index(completion)?;
        self.in_flight -= 1;
        let (status, data) = self.ops[index].completed(completion.bytes);
        if status == STATUS_CANCELLED {
            // Nobody asked this request to go (drop waits for its own
            // cancels elsewhere): Wine or another thread cancelled it. Keep K.
            return self.post(index);
        }
        if status < 0 {
            self.stats.failed_receives += 1;
            return Err(Error::Request { what: "receive", ntstatus: status });
        }
        let bytes = data.len();
        parse_batch(data)?;
        match seq_span(data) {
            None => self.post(index),
            Some((first, end)) => {
                let mut due = Vec::new();
                self.reorder.push(Span { first, end, token: (index, bytes) }, self.in_flight, &mut due);
                self.ready.extend(due);
                Ok(())
            }
        }
    }

    /// Hands out the first ready batch and counts it.
    fn lend(&mut self) -> Batch<'_> {
        let (index, bytes) = self.ready.pop_front().expect("wait() returned true, so a batch is ready");
        self.lent = Some(index);
        let data = self.ops[index].data(bytes);
        let reader = parse_batch(data).expect("validated when it completed");
        self.stats.completions += 1;
        self.stats.bytes += bytes as u64;
        for record in reader.clone() {
            match record {
                Record::Event { .. } => self.stats.events += 1,
                Record::Gap { count, .. } => {
                    self.stats.gaps += 1;
                    self.stats.lost += count;
                }
            }
        }
        Batch { data, reader }
    }

    fn op_index(&self, completion: Completion) -> Result<usize> {
        self.ops
            .iter()
            .position(|op| op.overlapped_ptr() == completion.overlapped.cast_const())
            .ok_or_else(|| Error::Io(std::io::Error::other("completion for an unknown request")))
    }

    fn post(&mut self, index: usize) -> Result<()> {
        self.ops[index].post(self.device.handle(), IOCTL_RECV)?;
        self.in_flight += 1;
        Ok(())
    }
}

impl Drop for Subscription {
    /// Cancels every request in flight and waits for each completion; only
    /// then are the buffers freed. If the driver never completes one within
    /// [`DROP_DRAIN_LIMIT`], the buffers are leaked rather than freed under
    /// the kernel's feet.
    fn drop(&mut self) {
        for op in &self.ops {
            op.cancel(self.device.handle());
        }
        let deadline = Instant::now() + DROP_DRAIN_LIMIT;
        while self.in_flight > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            let n = match self.port.get_many(&mut self.entries, Some(left)) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            for i in 0..n {
                let completion = Completion::from(&self.entries[i]);
                if completion.key == KEY_RECV {
                    if let Ok(index) = self.op_index(completion) {
                        self.ops[index].completed(completion.bytes);
                        self.in_flight -= 1;
                    }
                }
            }
        }
        if self.in_flight > 0 {
            eprintln!("kchan: {} receives did not complete after cancel; leaking their buffers", self.in_flight);
            for op in std::mem::take(&mut self.ops) {
                if op.in_flight() {
                    std::mem::forget(op);
                }
            }
        }
    }
}

/// Owned events and gaps of a [`Subscription`], in sequence order.
pub struct Events<'a> {
    sub: &'a mut Subscription,
    pending: VecDeque<Item>,
}

impl Iterator for Events<'_> {
    type Item = Result<Item>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.pending.is_empty() {
            match self.sub.next_batch() {
                Ok(batch) => self.pending.extend(batch.records().map(|r| Item::from_record(&r))),
                Err(e) => return Some(Err(e)),
            }
        }
        self.pending.pop_front().map(Ok)
    }
}

fn empty_entry() -> OVERLAPPED_ENTRY {
    OVERLAPPED_ENTRY {
        lpCompletionKey: 0,
        lpOverlapped: std::ptr::null_mut(),
        Internal: 0,
        dwNumberOfBytesTransferred: 0,
    }
}
