//! Cancel races delivery: the driver's generator thread publishes (and so
//! completes pending receives) while another client thread cancels them.
//! Each receive must complete exactly once, either with records or with
//! `ERROR_OPERATION_ABORTED`, both outcomes must occur, and no record may be
//! lost or delivered twice: records a cancelled receive did not take go to
//! later receives, in order. The driver's counters must agree: every posted
//! receive was completed or cancelled.
//!
//! Under Wine the cancel routine runs on the dispatch thread and the
//! generator on a system thread of its own, so the two really race (as on
//! Windows). The generator publishes an event every millisecond and the
//! canceller waits 0 to 0.7 ms before each cancel, so that a receive that
//! pends is sometimes cancelled first and sometimes completed first by the
//! generator; both must happen.
#![cfg(windows)]

use kchan_e2e::{only_kind, serial, Device, RECV_BYTES};
use kchan_proto::{parse_batch, GenConfig, Record, IOCTL_RECV};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::ERROR_OPERATION_ABORTED;
use windows_sys::Win32::System::IO::CancelIoEx;

const KIND: u16 = 5;

/// Accounts for a batch's records: each must continue the sequence.
/// Returns the records seen, or why the batch is wrong.
fn take(buf: &[u8], next_seq: &mut u64) -> Result<u64, String> {
    let mut n = 0;
    for record in parse_batch(buf).map_err(|e| format!("invalid batch: {e:?}"))? {
        let (first, count) = match record {
            Record::Event { seq, .. } => (seq, 1),
            Record::Gap { first_seq, count, .. } => (first_seq, count),
        };
        if first != *next_seq {
            return Err(format!("record {first} where {} was due: lost or repeated", *next_seq));
        }
        *next_seq += count;
        n += 1;
    }
    Ok(n)
}

#[test]
fn cancel_racing_generator_delivery_completes_each_receive_exactly_once() {
    let _g = serial();
    const ROUNDS: u32 = 400;
    // Receives of this handle only: a cancel of all its requests
    // (`CancelIoEx` with no OVERLAPPED) hits exactly the one receive out.
    let dev = Device::must_open();
    dev.subscribe(&only_kind(KIND)).expect("subscribe");
    let control = Device::must_open();
    control.gen_start(&GenConfig { kind: KIND, rate: 1_000, burst: 1, payload_bytes: 8, ..GenConfig::default() });

    let (mut next_seq, mut posted) = (0u64, 0u64);
    // Receives that pended, then were completed by the generator or cancelled.
    let (mut raced_delivered, mut aborted) = (0u64, 0u64);
    let mut failure = None;
    std::thread::scope(|s| {
        let (go, cancel_now) = mpsc::channel::<u32>();
        let (done, cancelled) = mpsc::channel::<()>();
        let raw = dev.raw() as usize;
        s.spawn(move || {
            for round in cancel_now {
                // A busy wait: sleeps are too coarse under Wine.
                let at = Instant::now() + Duration::from_micros(u64::from(round % 8) * 100);
                while Instant::now() < at {
                    std::hint::spin_loop();
                }
                // SAFETY: the handle stays open for the whole scope; a null
                // OVERLAPPED cancels every request of this handle, which is
                // the one receive the main thread has out (or none, if it
                // completed already: the call then fails harmlessly).
                unsafe { CancelIoEx(raw as _, std::ptr::null()) };
                if done.send(()).is_err() {
                    return;
                }
            }
        });
        for round in 0..ROUNDS {
            let mut recv = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post RECV");
            posted += 1;
            go.send(round).expect("canceller alive");
            let outcome = recv.wait();
            // The cancel must have landed before the next receive is posted.
            cancelled.recv().expect("canceller alive");
            match outcome {
                Ok(n) => match take(&recv.output()[..n], &mut next_seq) {
                    Ok(_) => raced_delivered += u64::from(recv.pended()),
                    Err(e) => failure = Some(format!("round {round}: {e}")),
                },
                Err(e) if e.raw_os_error() == Some(ERROR_OPERATION_ABORTED as i32) => aborted += 1,
                Err(e) => failure = Some(format!("round {round}: unexpected error {e}")),
            }
            if failure.is_some() {
                break;
            }
        }
    });
    control.gen_stop();
    assert_eq!(failure, None);
    // Every record published to this subscriber is delivered, in order, to
    // the receives that follow.
    let published = dev.stats().subscriber.published;
    while next_seq < published {
        let mut r = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post drain RECV");
        posted += 1;
        let n = r.wait().expect("drain RECV");
        take(&r.output()[..n], &mut next_seq).expect("drained records continue the sequence");
    }
    assert_eq!(next_seq, published, "every record delivered exactly once");
    assert!(
        raced_delivered > 0 && aborted > 0,
        "both outcomes occur: {raced_delivered} pending receives completed by the generator, {aborted} cancelled"
    );
    let st = dev.stats().subscriber;
    assert_eq!((st.pending_receives, st.dropped()), (0, 0));
    assert_eq!(st.completions + st.cancels, posted, "each receive completed or cancelled, once: {st:?}");
    assert_eq!(st.cancels, aborted);
    eprintln!("race: {ROUNDS} rounds: of the receives that pended, {raced_delivered} completed by the generator, {aborted} cancelled");
}
