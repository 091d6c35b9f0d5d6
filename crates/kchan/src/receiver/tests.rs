//! The receiver's state machine on the fake port: K receives in flight,
//! order, errors, wake-ups, and cancel-then-wait on drop.

use super::*;
use crate::sys::fake::{Driver, FakePort};
use kchan_proto::{STATUS_DELETE_PENDING, STATUS_INVALID_HANDLE};
use std::cell::RefCell;
use std::rc::Rc;

const K: usize = 4;
const NOW: Option<Duration> = Some(Duration::ZERO);

fn start(first_seq: Option<u64>) -> (Receiver<FakePort>, Rc<RefCell<Driver>>) {
    let driver = Rc::new(RefCell::new(Driver::default()));
    let receiver = Receiver::start(FakePort(driver.clone()), K, 4096, first_seq).unwrap();
    (receiver, driver)
}

/// The sequence numbers (events and gaps) of the next batch, or `None`.
fn next_seqs(r: &mut Receiver<FakePort>) -> Option<Vec<u64>> {
    let batch = r.next_batch(NOW).unwrap()?;
    Some(
        batch
            .records()
            .map(|rec| match rec {
                Record::Event { seq, .. } => seq,
                Record::Gap { first_seq, .. } => first_seq,
            })
            .collect(),
    )
}

#[test]
fn keeps_k_receives_in_flight_and_posts_each_again_after_its_batch() {
    let (mut r, driver) = start(Some(0));
    assert_eq!((r.pending(), driver.borrow().posts), (K, K));
    driver.borrow_mut().complete(0, 0..3, None);
    assert_eq!(next_seqs(&mut r), Some(vec![0, 1, 2]));
    assert_eq!(driver.borrow().pending.len(), K - 1, "the lent batch's receive is not posted yet");
    assert_eq!(next_seqs(&mut r), None, "nothing else completed");
    assert_eq!(driver.borrow().pending.len(), K, "posted again by the next call");
}

#[test]
fn batches_come_out_in_sequence_order_whatever_the_completion_order() {
    let (mut r, driver) = start(Some(0));
    {
        let mut d = driver.borrow_mut();
        // The driver filled the four receives in order (0..2, 2..5, 5..6,
        // 6..9) and the port hands them over as 3rd, 1st, 4th, 2nd.
        d.complete(2, 5..6, None);
        d.complete(0, 0..2, None);
        d.complete(1, 6..9, None);
        d.complete(0, 2..5, None);
    }
    let mut seen = Vec::new();
    while let Some(seqs) = next_seqs(&mut r) {
        seen.extend(seqs);
    }
    assert_eq!(seen, (0..9).collect::<Vec<_>>());
}

#[test]
fn with_an_unknown_start_the_first_batch_to_arrive_sets_the_order() {
    let (mut r, driver) = start(None);
    driver.borrow_mut().complete(0, 10..12, None);
    assert_eq!(next_seqs(&mut r), Some(vec![10, 11]));
}

#[test]
fn a_batch_held_for_its_turn_is_not_lent_early() {
    let (mut r, driver) = start(Some(0));
    driver.borrow_mut().complete(1, 4..6, None);
    assert_eq!(next_seqs(&mut r), None, "0..4 is still in flight");
    driver.borrow_mut().complete(0, 0..4, None);
    assert_eq!(next_seqs(&mut r), Some(vec![0, 1, 2, 3]));
    assert_eq!(next_seqs(&mut r), Some(vec![4, 5]));
}

#[test]
fn gaps_and_events_are_counted_when_lent() {
    let (mut r, driver) = start(Some(0));
    driver.borrow_mut().complete(0, 0..3, Some((3, 7)));
    assert_eq!(next_seqs(&mut r), Some(vec![0, 1, 2, 3]));
    let s = r.stats();
    assert_eq!((s.completions, s.events, s.gaps, s.lost, s.failed_receives), (1, 3, 1, 7, 0));
    assert_eq!(s.bytes, 16 + 3 * 32 + 48);
}

#[test]
fn a_receive_cancelled_by_someone_else_is_posted_again() {
    let (mut r, driver) = start(Some(0));
    driver.borrow_mut().complete_raw(2, STATUS_CANCELLED, &[]);
    assert_eq!(next_seqs(&mut r), None);
    assert_eq!((r.pending(), driver.borrow().posts), (K, K + 1));
    assert_eq!(r.stats().failed_receives, 0);
}

#[test]
fn an_empty_batch_is_posted_again_without_being_lent() {
    let (mut r, driver) = start(Some(0));
    let mut empty = [0u8; 16];
    empty[4] = 16; // total_bytes: a header and no record
    driver.borrow_mut().complete_raw(0, 0, &empty);
    assert_eq!(next_seqs(&mut r), None);
    assert_eq!(r.pending(), K);
}

#[test]
fn a_receive_the_driver_refuses_is_reported_and_not_posted_again() {
    let (mut r, driver) = start(Some(0));
    driver.borrow_mut().complete_raw(0, STATUS_DELETE_PENDING, &[]);
    let err = r.next_batch(NOW).err().expect("the refusal is reported");
    assert!(matches!(err, Error::Request { ntstatus: STATUS_DELETE_PENDING, .. }), "{err:?}");
    assert!(err.to_string().contains("STATUS_DELETE_PENDING"), "{err}");
    assert_eq!((r.pending(), r.stats().failed_receives), (K - 1, 1));
    driver.borrow_mut().complete(0, 0..1, None);
    assert_eq!(next_seqs(&mut r), Some(vec![0]), "the others still deliver");
}

#[test]
fn a_malformed_batch_is_an_error_and_its_receive_goes_back() {
    let (mut r, driver) = start(Some(0));
    driver.borrow_mut().complete_raw(0, 0, &[0xAB; 40]);
    let err = r.next_batch(NOW).err().expect("malformed");
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    assert_eq!(r.pending(), K);
}

#[test]
fn every_packet_dequeued_together_is_accounted_for_before_an_error() {
    let (mut r, driver) = start(Some(0));
    {
        let mut d = driver.borrow_mut();
        d.complete_raw(0, STATUS_INVALID_HANDLE, &[]);
        d.complete(0, 0..2, None);
    }
    assert!(r.next_batch(NOW).is_err());
    assert_eq!(next_seqs(&mut r), Some(vec![0, 1]), "the batch dequeued with the error is kept");
}

#[test]
fn a_failed_post_is_reported_and_tried_again_on_the_next_call() {
    let (mut r, driver) = start(Some(0));
    driver.borrow_mut().complete(0, 0..1, None);
    assert!(next_seqs(&mut r).is_some());
    driver.borrow_mut().refuse_posts = Some(STATUS_INVALID_HANDLE);
    let err = r.next_batch(NOW).err().expect("the post of the lent receive fails");
    assert!(matches!(err, Error::Request { what: "receive", ntstatus: STATUS_INVALID_HANDLE }), "{err:?}");
    assert_eq!(r.pending(), K - 1);
    driver.borrow_mut().refuse_posts = None;
    assert_eq!(next_seqs(&mut r), None);
    assert_eq!(r.pending(), K, "posted on the next call");
}

#[test]
fn a_wake_up_ends_the_wait_with_nothing() {
    let (mut r, driver) = start(Some(0));
    driver.borrow_mut().queued.push_back(Packet::Wake);
    assert!(r.next_batch(None).unwrap().is_none());
}

#[test]
fn drop_cancels_every_receive_and_takes_each_back_before_freeing() {
    let (mut r, driver) = start(Some(0));
    driver.borrow_mut().complete(1, 0..2, None);
    assert!(next_seqs(&mut r).is_some()); // one batch lent, three receives in flight
    drop(r);
    let d = driver.borrow();
    assert_eq!(d.cancel_requests, 1);
    assert!(d.pending.is_empty() && d.queued.is_empty(), "every completion was dequeued");
    assert_eq!(d.abandoned, 0);
}

#[test]
fn drop_leaks_the_receives_the_driver_never_completes() {
    let (r, driver) = start(Some(0));
    driver.borrow_mut().ignore_cancels = true;
    drop(r);
    let d = driver.borrow();
    assert_eq!((d.cancel_requests, d.abandoned), (1, K));
}

#[test]
fn a_start_that_cannot_post_fails_and_leaves_nothing_in_flight() {
    let driver = Rc::new(RefCell::new(Driver { refuse_posts: Some(STATUS_INVALID_HANDLE), ..Driver::default() }));
    let err = Receiver::start(FakePort(driver.clone()), K, 4096, None).err().expect("refused");
    assert!(matches!(err, Error::Request { ntstatus: STATUS_INVALID_HANDLE, .. }), "{err:?}");
    assert!(driver.borrow().pending.is_empty());
}

// Receives that complete inside their post: no packet follows, the batch
// is taken back at once.

#[test]
fn a_receive_that_completes_inside_its_post_is_lent_without_a_dequeue() {
    let (mut r, driver) = start(Some(0));
    driver.borrow_mut().complete(0, 0..2, None);
    assert_eq!(next_seqs(&mut r), Some(vec![0, 1]));
    let dequeues = driver.borrow().dequeues;
    driver.borrow_mut().at_once.push_back(2..5);
    assert_eq!(next_seqs(&mut r), Some(vec![2, 3, 4]), "the lent receive's post brought the next batch");
    assert_eq!(driver.borrow().dequeues, dequeues, "no wait on the port");
    assert_eq!(r.pending(), K - 1, "the batch in hand is not in flight");
    let s = r.stats();
    assert_eq!((s.completions, s.events, s.completed_at_once), (2, 5, 1));
    assert_eq!(next_seqs(&mut r), None);
    assert_eq!(r.pending(), K, "and its receive is posted again");
}

#[test]
fn receives_that_complete_at_start_are_handed_over_first() {
    let driver = Rc::new(RefCell::new(Driver::default()));
    driver.borrow_mut().at_once.extend([0..2, 2..3]);
    let mut r = Receiver::start(FakePort(driver.clone()), K, 4096, Some(0)).unwrap();
    assert_eq!(r.pending(), K - 2);
    assert_eq!(next_seqs(&mut r), Some(vec![0, 1]));
    assert_eq!(next_seqs(&mut r), Some(vec![2]));
    assert_eq!(driver.borrow().dequeues, 0);
}

#[test]
fn a_batch_completed_at_once_waits_for_an_earlier_one_still_queued() {
    let (mut r, driver) = start(Some(0));
    driver.borrow_mut().complete(0, 0..1, None);
    assert_eq!(next_seqs(&mut r), Some(vec![0]));
    {
        let mut d = driver.borrow_mut();
        // The driver filled a pending receive with 1..3 (its packet waits
        // in the queue), then the re-post of the lent one with 3..5,
        // inside the call.
        d.complete(0, 1..3, None);
        d.at_once.push_back(3..5);
    }
    assert_eq!(next_seqs(&mut r), Some(vec![1, 2]));
    assert_eq!(next_seqs(&mut r), Some(vec![3, 4]));
}

#[test]
fn an_empty_batch_completed_at_once_is_posted_again() {
    let (mut r, driver) = start(Some(0));
    driver.borrow_mut().complete(0, 0..1, None);
    assert!(next_seqs(&mut r).is_some());
    driver.borrow_mut().at_once.extend([1..1, 1..2]);
    assert_eq!(next_seqs(&mut r), Some(vec![1]), "posted again, it completed at once with the next batch");
    assert_eq!(driver.borrow().posts, K + 2);
}

#[test]
fn drop_frees_a_batch_completed_at_once_and_cancels_only_what_is_in_flight() {
    let (mut r, driver) = start(Some(0));
    driver.borrow_mut().complete(0, 0..1, None);
    assert!(next_seqs(&mut r).is_some());
    // 1..5 is still with the driver: the batch 5..6 waits for its turn.
    driver.borrow_mut().at_once.push_back(5..6);
    assert_eq!(next_seqs(&mut r), None);
    assert_eq!(r.pending(), K - 1, "the held batch is not in flight");
    drop(r);
    let d = driver.borrow();
    assert_eq!(d.cancel_requests, 1);
    assert!(d.pending.is_empty() && d.queued.is_empty(), "every receive in flight came back");
    assert_eq!(d.abandoned, 0);
}
