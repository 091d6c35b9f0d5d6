//! The traits the shell implements: a pending receive, a completion sink, a clock.

/// A pending receive (the driver: an IRP wrapper; tests: a plain value).
pub trait Request {
    /// The output buffer the batch is written into (it starts with a `BatchHeader`).
    /// Must return the same buffer (same length) on every call.
    fn buffer(&mut self) -> &mut [u8];
    /// Identity used by [`crate::Channel::cancel`].
    fn id(&self) -> u64;
    /// Take the request away from a possibly racing canceller before completing it.
    /// Driver: `IoSetCancelRoutine(irp, NULL) != NULL`. If `false`, a cancel
    /// routine owns the cancellation: the engine leaves the request queued
    /// (marked, never tried again) and the canceller calls `cancel`.
    fn try_claim(&mut self) -> bool {
        true
    }
}

/// How a request left the engine through a [`Sink`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Completed with a batch of `bytes` bytes (header included) holding `records` records.
    /// Driver: `STATUS_SUCCESS`, `Information = bytes`.
    Delivered {
        /// Bytes written, batch header included.
        bytes: usize,
        /// Records in the batch, gap records included (at least 1).
        records: u32,
    },
    /// The subscriber closed. Driver: `STATUS_CANCELLED` (or `STATUS_DELETE_PENDING`).
    Closed,
}

/// Receives completed requests. Called under the channel's lock: the driver
/// pushes the IRP on an intrusive list and completes it after releasing its
/// spin lock. Must not call back into the channel.
pub trait Sink<R> {
    /// Takes ownership of a finished request.
    fn complete(&mut self, req: R, outcome: Outcome);
}

/// Time source in 100 ns ticks (driver: `KeQueryPerformanceCounter` scaled).
/// Read once by a `publish` that reaches a subscriber (never by `publish_at`,
/// whose caller passes its own reading), and once by `post` and `reconfigure`.
pub trait Clock {
    /// Now, in 100 ns ticks.
    fn now(&self) -> u64;
}

impl<F: Fn() -> u64> Clock for F {
    fn now(&self) -> u64 {
        self()
    }
}
