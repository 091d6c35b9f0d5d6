//! Cancel races completion: a receive is posted, a record injected and the
//! receive cancelled at once, hundreds of times. Each receive must complete
//! exactly once, either with records or `ERROR_OPERATION_ABORTED`, and no
//! record may be lost or delivered twice: records a cancelled receive did not
//! take are delivered, in order, to later receives. The driver's counters
//! must agree: every posted receive was completed or cancelled.
#![cfg(windows)]

use kchan_e2e::{inject_message, only_kind, serial, Device, RECV_BYTES};
use kchan_proto::{parse_batch, Record, IOCTL_INJECT, IOCTL_RECV};
use std::collections::VecDeque;
use windows_sys::Win32::Foundation::ERROR_OPERATION_ABORTED;

fn payloads_of(buf: &[u8]) -> Vec<Vec<u8>> {
    parse_batch(buf)
        .expect("valid batch")
        .map(|r| match r {
            Record::Event { payload, .. } => payload.to_vec(),
            other => panic!("expected event records, got {other:?}"),
        })
        .collect()
}

#[test]
fn cancel_racing_delivery_completes_each_receive_exactly_once() {
    let _g = serial();
    const ROUNDS: u32 = 300;
    let dev = Device::must_open();
    dev.subscribe(&only_kind(5)).expect("subscribe");
    let mut expected: VecDeque<Vec<u8>> = VecDeque::new();
    let (mut delivered, mut aborted, mut posted) = (0, 0u64, 0u64);
    let mut take = |buf: &[u8], expected: &mut VecDeque<Vec<u8>>, i: u32| {
        for got in payloads_of(buf) {
            assert_eq!(Some(got), expected.pop_front(), "iteration {i}: FIFO, exactly once");
            delivered += 1;
        }
    };
    for i in 0..ROUNDS {
        let mut recv = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post RECV");
        posted += 1;
        let payload = format!("race {i}").into_bytes();
        let msg = inject_message(&[(5, &payload)]);
        // Alternate the order: cancellation is asynchronous under Wine, so
        // both orders race the completion. A cancel may fail with
        // ERROR_NOT_FOUND when the receive already completed.
        if i % 2 == 0 {
            dev.call(IOCTL_INJECT, &msg, 0).expect("inject");
            let _ = dev.cancel(&mut recv);
        } else {
            let _ = dev.cancel(&mut recv);
            dev.call(IOCTL_INJECT, &msg, 0).expect("inject");
        }
        expected.push_back(payload);
        match recv.wait(&dev) {
            Ok(n) => take(&recv.output[..n], &mut expected, i),
            Err(e) if e.raw_os_error() == Some(ERROR_OPERATION_ABORTED as i32) => aborted += 1,
            Err(e) => panic!("iteration {i}: unexpected error {e}"),
        }
        while expected.len() > 8 {
            let mut r = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post drain RECV");
            posted += 1;
            let n = r.wait(&dev).expect("drain RECV");
            take(&r.output[..n], &mut expected, i);
        }
    }
    while !expected.is_empty() {
        let mut r = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post drain RECV");
        posted += 1;
        let n = r.wait(&dev).expect("drain RECV");
        take(&r.output[..n], &mut expected, ROUNDS);
    }
    assert_eq!(delivered, ROUNDS, "every injected record delivered exactly once");
    let st = dev.stats().subscriber;
    assert_eq!(st.delivered, u64::from(ROUNDS));
    assert_eq!(st.pending_receives, 0);
    assert_eq!(st.completions + st.cancels, posted, "each receive completed or cancelled, once: {st:?}");
    assert_eq!(st.cancels, aborted);
    eprintln!("race: {aborted} receives cancelled, {delivered} records delivered");
}
