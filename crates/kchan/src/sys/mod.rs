//! The operating-system layer, one file per OS object (the shape of mio's
//! `sys`), behind the one interface the portable code needs: a [`Port`]
//! where receives are posted and their completions dequeued.
//!
//! - `windows/`: the real objects: the device handle, control requests, the
//!   completion port, the receive operation and the port that drives it;
//! - `fake` (tests only): an in-memory port whose "driver" the test plays, so
//!   that [`Receiver`](crate::receiver::Receiver) (K receives in flight,
//!   reordering, cancel and wait on drop) is tested on any OS.

use std::io;
use std::time::Duration;

#[cfg(test)]
pub(crate) mod fake;
#[cfg(windows)]
pub(crate) mod windows;

/// How a request failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The driver completed it with this NTSTATUS.
    Status(i32),
    /// The OS call itself failed.
    Os(io::Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Os(e)
    }
}

/// A receive back from the kernel: the operation is the caller's again,
/// with the NTSTATUS and the bytes the driver wrote into its buffer.
pub(crate) struct Completion<Op> {
    /// The operation.
    pub op: Box<Op>,
    /// Its NTSTATUS.
    pub status: i32,
    /// Bytes written.
    pub bytes: usize,
}

/// What a port's queue hands back.
pub(crate) enum Packet<Op> {
    /// A receive that was in flight completed.
    Received(Completion<Op>),
    /// A wake-up posted to the port.
    Wake,
}

/// How a post went.
pub(crate) enum Posted<Op> {
    /// The receive is with the kernel; [`Port::dequeue`] returns it.
    InFlight,
    /// It completed inside the call, and no packet will follow: the
    /// operation is back at once (a receive that found records waiting).
    Completed(Completion<Op>),
}

/// What [`Port::post`] returns: how the post went, or, if it failed at
/// once, the operation back with the failure.
pub(crate) type PostResult<Op> = Result<Posted<Op>, (Box<Op>, Failure)>;

/// A receive operation's buffer.
pub(crate) trait RecvBuffer {
    /// The first `bytes` bytes (at most the whole buffer), valid once the
    /// operation is back from the kernel.
    fn filled(&self, bytes: usize) -> &[u8];
}

/// Where receives are posted and their completions come back.
///
/// An operation given to [`Port::post`] belongs to the kernel until the
/// post itself ([`Posted::Completed`]) or a [`Packet::Received`] returns it;
/// [`Port::cancel_all`] only asks for the completions. A port never frees an
/// operation the kernel may still write.
pub(crate) trait Port {
    /// The receive operation: a buffer the driver fills.
    type Op: RecvBuffer;

    /// A new operation with a buffer of `bytes`.
    fn new_op(&self, bytes: usize) -> Box<Self::Op>;
    /// Sends a receive. On failure the operation comes back at once.
    fn post(&mut self, op: Box<Self::Op>) -> PostResult<Self::Op>;
    /// Operations with the kernel now.
    fn in_flight(&self) -> usize;
    /// Asks the driver to cancel every receive in flight.
    fn cancel_all(&mut self);
    /// Dequeues what has completed (one packet or more), waiting up to
    /// `timeout` (forever if `None`) for the first; appends nothing on
    /// time-out.
    fn dequeue(&mut self, timeout: Option<Duration>, out: &mut Vec<Packet<Self::Op>>) -> io::Result<()>;
    /// Gives up on the operations still in flight: their memory is leaked,
    /// never freed, since the kernel may still write it.
    fn abandon(&mut self);
}
