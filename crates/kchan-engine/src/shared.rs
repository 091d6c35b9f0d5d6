//! `SharedChannel`: a channel behind a lock, for callers on several threads.
//!
//! The driver does not use it (it holds `Channel` inside its own spin lock and
//! completes IRPs after releasing it); it exists so that the concurrent
//! protocol — publish, post, cancel and close racing, with `Request::try_claim`
//! deciding who completes a request — can be model-checked with loom and used
//! by user-mode tools. No `unsafe`: the lock hands out `&mut Channel`.

use crate::{Channel, Clock, Detached, EngineError, Prepared, Request, Sink, SubscriberId};

/// A lock protecting a `T` (a spin lock in a driver, `std`/`loom` mutex in tests).
pub trait Lock<T> {
    /// Runs `f` with exclusive access to the protected value.
    fn with<U>(&self, f: impl FnOnce(&mut T) -> U) -> U;
}

/// A [`Channel`] behind a lock `L`. Each method takes the lock once; sinks are
/// called under it and should only collect (complete after the call returns).
pub struct SharedChannel<L> {
    lock: L,
}

impl<L> SharedChannel<L> {
    /// Wraps a lock that protects a channel.
    pub const fn new(lock: L) -> Self {
        SharedChannel { lock }
    }

    /// The lock, for operations not wrapped here.
    pub fn lock(&self) -> &L {
        &self.lock
    }
}

impl<L> SharedChannel<L> {
    /// [`Channel::attach`] under the lock.
    #[allow(clippy::result_large_err)] // see Channel::attach
    pub fn attach<R: Request, C: Clock>(&self, p: Prepared<R>) -> Result<SubscriberId, (Prepared<R>, EngineError)>
    where
        L: Lock<Channel<R, C>>,
    {
        self.lock.with(|c| c.attach(p))
    }

    /// [`Channel::publish`] under the lock.
    pub fn publish<R: Request, C: Clock>(&self, kind: u16, payload: &[u8], sink: &mut impl Sink<R>) -> usize
    where
        L: Lock<Channel<R, C>>,
    {
        self.lock.with(|c| c.publish(kind, payload, sink))
    }

    /// [`Channel::post`] under the lock.
    pub fn post<R: Request, C: Clock>(
        &self,
        id: SubscriberId,
        req: R,
        sink: &mut impl Sink<R>,
    ) -> Result<(), (R, EngineError)>
    where
        L: Lock<Channel<R, C>>,
    {
        self.lock.with(|c| c.post(id, req, sink))
    }

    /// [`Channel::cancel_reap`] under the lock; the memory is freed after it is released.
    pub fn cancel<R: Request, C: Clock>(&self, id: SubscriberId, request_id: u64) -> Option<R>
    where
        L: Lock<Channel<R, C>>,
    {
        let (req, detached) = self.lock.with(|c| c.cancel_reap(id, request_id));
        drop(detached);
        req
    }

    /// [`Channel::close`] under the lock; the memory is freed after it is released.
    pub fn close<R: Request, C: Clock>(&self, id: SubscriberId, sink: &mut impl Sink<R>)
    where
        L: Lock<Channel<R, C>>,
    {
        let detached: Detached<R> = self.lock.with(|c| c.close(id, sink));
        drop(detached);
    }
}
