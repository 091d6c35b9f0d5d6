//! Cancel races completion: a receive is posted, a record injected and the
//! receive cancelled at once, hundreds of times. Each receive must complete
//! exactly once, either with the record or `ERROR_OPERATION_ABORTED`, and no
//! record may be lost or delivered twice: records a cancelled receive did not
//! take are delivered, in order, to later receives.
#![cfg(windows)]

use kchan_e2e::{inject_message, serial, Device};
use kchan_proto::{parse_batch, Record, IOCTL_INJECT, IOCTL_RECV};
use std::collections::VecDeque;
use windows_sys::Win32::Foundation::ERROR_OPERATION_ABORTED;

fn payload_of(buf: &[u8]) -> Vec<u8> {
    let records: Vec<Record<'_>> = parse_batch(buf).expect("valid batch").collect();
    match &records[..] {
        [Record::Event { payload, .. }] => payload.to_vec(),
        other => panic!("expected one event record, got {other:?}"),
    }
}

#[test]
fn cancel_racing_delivery_completes_each_receive_exactly_once() {
    let _g = serial();
    let dev = Device::open().expect(r"open \\.\kchan");
    let mut expected: VecDeque<Vec<u8>> = VecDeque::new();
    let (mut delivered, mut aborted) = (0, 0);
    for i in 0..300u32 {
        let mut recv = dev.post(IOCTL_RECV, &[], 4096).expect("post RECV");
        let payload = format!("race {i}").into_bytes();
        let msg = inject_message(&[(5, &payload)]);
        // Alternate the order: cancellation is asynchronous under Wine, so
        // both orders race the driver's delivery thread. A cancel may fail
        // with ERROR_NOT_FOUND when the receive already completed.
        if i % 2 == 0 {
            dev.call(IOCTL_INJECT, &msg, 0).expect("inject");
            let _ = dev.cancel(&mut recv);
        } else {
            let _ = dev.cancel(&mut recv);
            dev.call(IOCTL_INJECT, &msg, 0).expect("inject");
        }
        expected.push_back(payload);
        match recv.wait(&dev) {
            Ok(n) => {
                let got = payload_of(&recv.output[..n]);
                assert_eq!(Some(got), expected.pop_front(), "iteration {i}: FIFO, exactly once");
                delivered += 1;
            }
            Err(e) if e.raw_os_error() == Some(ERROR_OPERATION_ABORTED as i32) => aborted += 1,
            Err(e) => panic!("iteration {i}: unexpected error {e}"),
        }
        // Keep the driver's mailbox (32 records) from filling up.
        while expected.len() > 8 {
            let mut r = dev.post(IOCTL_RECV, &[], 4096).expect("post drain RECV");
            let n = r.wait(&dev).expect("drain RECV");
            assert_eq!(Some(payload_of(&r.output[..n])), expected.pop_front());
            delivered += 1;
        }
    }
    while let Some(want) = expected.pop_front() {
        let mut r = dev.post(IOCTL_RECV, &[], 4096).expect("post drain RECV");
        let n = r.wait(&dev).expect("drain RECV");
        assert_eq!(payload_of(&r.output[..n]), want);
        delivered += 1;
    }
    assert_eq!(delivered, 300, "every injected record delivered exactly once");
    eprintln!("race: {aborted} receives cancelled, {delivered} records delivered");
}
