//! Fixed-capacity FIFO of pending receives (capacity K, allocated at prepare).
//! Removal from the middle (cancel) shifts at most K entries: K is small and
//! bounded by `Limits::max_in_flight`, so every operation is bounded.

use crate::Request;
use alloc::boxed::Box;
use alloc::vec::Vec;

struct Entry<R> {
    req: R,
    /// `try_claim` failed: a canceller owns it; never offered again.
    cancel_owned: bool,
}

/// Pending receives, oldest first.
pub(crate) struct Queue<R> {
    slots: Box<[Option<Entry<R>>]>,
    len: usize,
    /// How many entries are `cancel_owned`.
    cancel_owned: usize,
}

impl<R: Request> Queue<R> {
    /// Allocates room for `k` requests without aborting on failure.
    pub fn try_new(k: usize) -> Option<Queue<R>> {
        let mut v = Vec::new();
        v.try_reserve_exact(k).ok()?;
        v.resize_with(k, || None);
        Some(Queue { slots: v.into_boxed_slice(), len: 0, cancel_owned: 0 })
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
    pub fn len(&self) -> usize {
        self.len
    }
    /// Requests the engine may still complete (not owned by a canceller).
    pub fn live(&self) -> usize {
        self.len - self.cancel_owned
    }
    /// Bytes of the slot array.
    pub fn bytes(&self) -> usize {
        core::mem::size_of_val(&*self.slots)
    }
    pub fn is_full(&self) -> bool {
        self.len == self.slots.len()
    }

    /// Appends; the caller checked `!is_full()`.
    pub fn push(&mut self, req: R) {
        self.slots[self.len] = Some(Entry { req, cancel_owned: false });
        self.len += 1;
    }

    /// Index of the oldest request not owned by a canceller.
    pub fn first_live(&self) -> Option<usize> {
        self.slots[..self.len].iter().position(|e| matches!(e, Some(e) if !e.cancel_owned))
    }

    /// Mutable access to the request at `i`.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut R> {
        self.slots.get_mut(i)?.as_mut().map(|e| &mut e.req)
    }

    /// Marks the request at `i` as owned by its canceller.
    pub fn mark_cancel_owned(&mut self, i: usize) {
        if let Some(Some(e)) = self.slots.get_mut(i) {
            if !e.cancel_owned {
                e.cancel_owned = true;
                self.cancel_owned += 1;
            }
        }
    }

    /// Removes and returns the request at `i`, keeping the order of the others.
    pub fn remove(&mut self, i: usize) -> Option<R> {
        if i >= self.len {
            return None;
        }
        self.slots[i..self.len].rotate_left(1);
        self.len -= 1;
        let e = self.slots[self.len].take()?;
        if e.cancel_owned {
            self.cancel_owned -= 1;
        }
        Some(e.req)
    }

    /// Index of the request whose `id()` is `id`.
    pub fn find(&self, id: u64) -> Option<usize> {
        self.slots[..self.len].iter().position(|e| matches!(e, Some(e) if e.req.id() == id))
    }

    /// Moves every request into `other` (which must have room), in order.
    pub fn move_into(&mut self, other: &mut Queue<R>) {
        for i in 0..self.len {
            if let Some(e) = self.slots[i].take() {
                other.slots[other.len] = Some(e);
                other.len += 1;
            }
        }
        other.cancel_owned += self.cancel_owned;
        self.len = 0;
        self.cancel_owned = 0;
    }
}
