//! Puts completed batches back in sequence order.
//!
//! With K receives in flight, the driver fills them in order under its lock
//! but completes them after releasing it, possibly on two threads (the
//! publisher and the dispatch routine of a new receive), so the completion
//! port can hand them over out of order. Every record carries its sequence
//! number, so the client holds a batch that arrives early until the batches
//! before it have arrived. A missing span is always in flight (the engine
//! delivers its ring in order), so a held batch never waits long; still, when
//! every receive is held the lowest is released, so nothing can stall.

/// A completed batch waiting for its turn: its first sequence number, the one
/// after its last, and what the caller needs to hand it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span<T> {
    /// First sequence number in the batch.
    pub first: u64,
    /// One past the last sequence number in the batch.
    pub end: u64,
    /// The caller's token for the batch.
    pub token: T,
}

/// The reorder buffer. Holds at most as many batches as receives in flight.
#[derive(Debug)]
pub(crate) struct Reorder<T> {
    /// The sequence number the next batch in turn starts at (`None` until
    /// known: then the first batch to arrive is in turn).
    next: Option<u64>,
    held: Vec<Span<T>>,
}

impl<T> Reorder<T> {
    /// An empty buffer for up to `max_in_flight` batches whose first batch
    /// starts at `first` (if known).
    pub fn new(max_in_flight: usize, first: Option<u64>) -> Self {
        Reorder { next: first, held: Vec::with_capacity(max_in_flight) }
    }

    /// Accepts a completed batch; appends the batches now due to `due`, in
    /// order. `in_flight` is how many receives are still with the driver:
    /// when it is zero, nothing else can arrive, so everything held is
    /// released.
    pub fn push(&mut self, span: Span<T>, in_flight: usize, due: &mut impl Extend<T>) {
        self.held.push(span);
        self.held.sort_unstable_by_key(|s| s.first);
        while let Some(first) = self.held.first() {
            let in_turn = self.next.is_none_or(|next| first.first <= next);
            if !in_turn && in_flight > 0 {
                break;
            }
            let span = self.held.remove(0);
            self.next = Some(self.next.map_or(span.end, |n| n.max(span.end)));
            due.extend(Some(span.token));
        }
    }

    /// How many batches are held back.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(first: u64, end: u64, token: u32) -> Span<u32> {
        Span { first, end, token }
    }

    #[test]
    fn in_order_batches_pass_straight_through() {
        let mut r = Reorder::new(4, None);
        let mut due = Vec::new();
        r.push(span(0, 5, 1), 3, &mut due);
        r.push(span(5, 9, 2), 3, &mut due);
        assert_eq!(due, [1, 2]);
        assert_eq!(r.held(), 0);
    }

    #[test]
    fn an_early_batch_waits_for_the_one_before_it() {
        let mut r = Reorder::new(4, None);
        let mut due = Vec::new();
        r.push(span(0, 5, 1), 3, &mut due);
        r.push(span(9, 12, 3), 3, &mut due);
        assert_eq!(due, [1]);
        assert_eq!(r.held(), 1);
        r.push(span(5, 9, 2), 3, &mut due);
        assert_eq!(due, [1, 2, 3]);
    }

    #[test]
    fn with_a_known_start_even_the_first_batch_waits_its_turn() {
        let mut r = Reorder::new(4, Some(0));
        let mut due = Vec::new();
        r.push(span(5, 9, 2), 3, &mut due);
        assert!(due.is_empty(), "0..5 is still in flight");
        r.push(span(0, 5, 1), 2, &mut due);
        assert_eq!(due, [1, 2]);
    }

    #[test]
    fn when_nothing_is_in_flight_everything_held_is_released() {
        let mut r = Reorder::new(4, None);
        let mut due = Vec::new();
        r.push(span(0, 5, 1), 2, &mut due);
        r.push(span(20, 22, 3), 1, &mut due);
        assert_eq!(due, [1]);
        r.push(span(30, 31, 4), 0, &mut due);
        assert_eq!(due, [1, 3, 4]);
    }
}
