//! An in-memory [`Port`] whose driver the test plays: it holds the posted
//! receives in order, completes them when and how the test says (in any
//! order, with batches or error statuses, through the queue or inside the
//! post), and answers cancels.

use super::{Completion, Failure, Packet, Port, PostResult, Posted, RecvBuffer};
use kchan_proto::{BatchBuilder, GapReason, STATUS_CANCELLED};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;
use std::time::Duration;

/// A receive operation: only a buffer.
pub(crate) struct FakeOp {
    buffer: Vec<u8>,
}

impl RecvBuffer for FakeOp {
    fn filled(&self, bytes: usize) -> &[u8] {
        &self.buffer[..bytes.min(self.buffer.len())]
    }
}

/// The test's side: what the "driver" holds and what the port has queued.
#[derive(Default)]
pub(crate) struct Driver {
    /// Posted receives, oldest first.
    pub pending: VecDeque<Box<FakeOp>>,
    /// Completions not yet dequeued.
    pub queued: VecDeque<Packet<FakeOp>>,
    /// The next posts fail at once with this NTSTATUS.
    pub refuse_posts: Option<i32>,
    /// Events for the next posts to complete with inside the call (as in
    /// [`Driver::complete`], without a gap), first in line first.
    pub at_once: VecDeque<std::ops::Range<u64>>,
    /// Cancels are ignored (a driver that never completes them).
    pub ignore_cancels: bool,
    /// How many times every receive was asked to cancel.
    pub cancel_requests: usize,
    /// Receives the port gave up on (leaked).
    pub abandoned: usize,
    /// Receives posted so far.
    pub posts: usize,
    /// Calls to `dequeue` so far.
    pub dequeues: usize,
}

impl Driver {
    /// Completes the `nth` pending receive with events `seqs` (kind 1,
    /// payload = the sequence number's low byte) and a gap record
    /// `(first, count)` after them if given.
    pub fn complete(&mut self, nth: usize, seqs: std::ops::Range<u64>, gap: Option<(u64, u64)>) {
        let op = self.pending.remove(nth).expect("no such pending receive");
        self.queued.push_back(Packet::Received(fill(op, seqs, gap)));
    }

    /// Completes the `nth` pending receive with `status` and these bytes.
    pub fn complete_raw(&mut self, nth: usize, status: i32, bytes: &[u8]) {
        let mut op = self.pending.remove(nth).expect("no such pending receive");
        op.buffer[..bytes.len()].copy_from_slice(bytes);
        self.queued.push_back(Packet::Received(Completion { op, status, bytes: bytes.len() }));
    }
}

/// `op` completed with a batch of events `seqs` and a gap (see [`Driver::complete`]).
fn fill(mut op: Box<FakeOp>, seqs: std::ops::Range<u64>, gap: Option<(u64, u64)>) -> Completion<FakeOp> {
    let mut batch = BatchBuilder::new(&mut op.buffer).unwrap();
    for seq in seqs {
        batch.push_event(seq, 1, seq * 10, &[seq as u8]).unwrap();
    }
    if let Some((first, count)) = gap {
        batch.push_gap(first, count, GapReason::RingFull, 0).unwrap();
    }
    let bytes = batch.finish(0);
    Completion { op, status: 0, bytes }
}

/// The port, sharing [`Driver`] with the test.
pub(crate) struct FakePort(pub Rc<RefCell<Driver>>);

impl Port for FakePort {
    type Op = FakeOp;

    fn new_op(&self, bytes: usize) -> Box<FakeOp> {
        Box::new(FakeOp { buffer: vec![0; bytes] })
    }

    fn post(&mut self, op: Box<FakeOp>) -> PostResult<FakeOp> {
        let mut driver = self.0.borrow_mut();
        if let Some(status) = driver.refuse_posts {
            return Err((op, Failure::Status(status)));
        }
        driver.posts += 1;
        if let Some(seqs) = driver.at_once.pop_front() {
            return Ok(Posted::Completed(fill(op, seqs, None)));
        }
        driver.pending.push_back(op);
        Ok(Posted::InFlight)
    }

    fn in_flight(&self) -> usize {
        let driver = self.0.borrow();
        driver.pending.len() + driver.queued.iter().filter(|p| matches!(p, Packet::Received(_))).count()
    }

    fn cancel_all(&mut self) {
        let mut driver = self.0.borrow_mut();
        driver.cancel_requests += 1;
        if !driver.ignore_cancels {
            while let Some(op) = driver.pending.pop_front() {
                driver.queued.push_back(Packet::Received(Completion { op, status: STATUS_CANCELLED, bytes: 0 }));
            }
        }
    }

    fn dequeue(&mut self, timeout: Option<Duration>, out: &mut Vec<Packet<FakeOp>>) -> io::Result<()> {
        let mut driver = self.0.borrow_mut();
        assert!(timeout.is_some() || !driver.queued.is_empty(), "the test would wait forever");
        driver.dequeues += 1;
        out.extend(driver.queued.drain(..));
        Ok(())
    }

    fn abandon(&mut self) {
        let mut driver = self.0.borrow_mut();
        driver.abandoned += driver.pending.len();
        // Leaked, as the real port leaks what the kernel still holds.
        for op in driver.pending.drain(..) {
            std::mem::forget(op);
        }
    }
}
