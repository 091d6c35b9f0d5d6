//! Cancellation: `CancelIoEx` of one pending
//! receive completes it with `ERROR_OPERATION_ABORTED` and the driver's
//! pending count drops by exactly one; `CancelIo` cancels every receive the
//! thread posted on the handle.
#![cfg(windows)]

use kchan_e2e::{only_kind, serial, wait_until, Device, RECV_BYTES};
use kchan_proto::IOCTL_RECV;
use std::time::Duration;
use windows_sys::Win32::Foundation::ERROR_OPERATION_ABORTED;
use windows_sys::Win32::System::IO::CancelIo;

fn aborted(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(ERROR_OPERATION_ABORTED as i32)
}

#[test]
fn cancel_io_ex_aborts_one_receive_and_the_pending_count_drops_by_one() {
    let _g = serial();
    let dev = Device::must_open();
    dev.subscribe(&only_kind(10)).expect("subscribe");
    let mut ops: Vec<_> = (0..3).map(|_| dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post")).collect();
    assert!(ops.iter().all(|o| o.pended()));
    let before = dev.stats().subscriber;
    assert_eq!(before.pending_receives, 3);

    dev.cancel(&mut ops[1]).expect("CancelIoEx");
    let err = ops[1].wait().expect_err("a cancelled RECV fails");
    assert!(aborted(&err), "{err}");
    // Cancellation is asynchronous under Wine: the completion was observed,
    // so the driver's count is already down.
    let after = dev.stats().subscriber;
    assert_eq!(after.pending_receives, 2, "exactly one receive left the driver");
    assert_eq!(after.cancels, before.cancels + 1);
    assert!(ops[0].is_pending() && ops[2].is_pending(), "the others still pend");

    // The others still work: one event completes the oldest.
    dev.inject(&[(10, b"after cancel")]);
    let n = ops[0].wait().expect("oldest receive gets the event");
    assert!(n > 0);
    dev.cancel(&mut ops[2]).expect("CancelIoEx");
    assert!(aborted(&ops[2].wait().expect_err("cancelled")));
    let end = dev.stats().subscriber;
    assert_eq!(end.pending_receives, 0);
    assert_eq!(end.delivered, before.delivered + 1);
}

#[test]
fn cancel_io_aborts_every_receive_of_the_thread() {
    let _g = serial();
    const N: usize = 8;
    let dev = Device::must_open();
    dev.subscribe(&only_kind(11)).expect("subscribe");
    let mut ops: Vec<_> = (0..N).map(|_| dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post")).collect();
    assert_eq!(dev.stats().subscriber.pending_receives, N as u64);
    // SAFETY: the handle is open; CancelIo cancels this thread's requests on it.
    assert_ne!(unsafe { CancelIo(dev.raw()) }, 0, "CancelIo");
    for op in &mut ops {
        let err = op.wait().expect_err("every receive is cancelled");
        assert!(aborted(&err), "{err}");
    }
    assert!(wait_until(Duration::from_secs(5), || dev.stats().subscriber.pending_receives == 0));
    let st = dev.stats().subscriber;
    assert_eq!(st.cancels, N as u64);
    assert_eq!(st.completions, 0);
    // The handle still serves receives.
    let mut r = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post after CancelIo");
    dev.inject(&[(11, b"still here")]);
    r.wait().expect("receive after CancelIo completes");
}
