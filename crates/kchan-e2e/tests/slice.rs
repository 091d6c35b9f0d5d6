//! The vertical slice, end to end: overlapped receive pends, a control
//! request on the same handle is served meanwhile, and the driver's system
//! thread completes the receive with the injected bytes.
#![cfg(windows)]

use kchan_e2e::{inject_message, serial, Device};
use kchan_proto::{parse_batch, Record, VersionInfo, IOCTL_INJECT, IOCTL_RECV, IOCTL_VERSION};
use windows_sys::Win32::Foundation::{ERROR_INSUFFICIENT_BUFFER, ERROR_INVALID_FUNCTION, ERROR_OPERATION_ABORTED};

const RECV_BYTES: usize = 4096;
const STATUS_CANCELLED: u32 = 0xC000_0120;

fn open() -> Device {
    Device::open().unwrap_or_else(|e| panic!(r"cannot open \\.\kchan (is kchan.sys loaded in WINEPREFIX?): {e}"))
}

fn version(dev: &Device) -> VersionInfo {
    let out = dev.call(IOCTL_VERSION, &[], 64).expect("IOCTL_VERSION");
    VersionInfo::parse(&out).expect("valid VersionInfo")
}

#[test]
fn recv_pends_version_is_served_meanwhile_inject_completes_it() {
    let _g = serial();
    let dev = open();
    let mut recv = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post RECV");
    assert!(recv.pending(), "RECV must pend (ERROR_IO_PENDING) when nothing waits");

    // A control request on the same handle completes while RECV pends.
    let v = version(&dev);
    assert!(v.min_recv_bytes as usize <= RECV_BYTES);
    assert!(recv.still_pending(), "RECV must still pend: nothing was injected");

    let payload = b"hello from the e2e test";
    let msg = inject_message(&[(7, payload)]);
    dev.call(IOCTL_INJECT, &msg, 0).expect("IOCTL_INJECT");

    let n = recv.wait(&dev).expect("RECV completes");
    let batch = parse_batch(&recv.output[..n]).expect("valid batch");
    assert_eq!(batch.header().record_count, 1);
    let records: Vec<Record<'_>> = batch.collect();
    match &records[0] {
        Record::Event { kind, payload: p, .. } => {
            assert_eq!(*kind, 7);
            assert_eq!(*p, &payload[..]);
        }
        other => panic!("unexpected record {other:?}"),
    }
}

#[test]
fn pending_receives_complete_in_order_from_the_driver_thread() {
    let _g = serial();
    let dev = open();
    let mut ops: Vec<_> = (0..3).map(|_| dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post")).collect();
    assert!(ops.iter().all(|o| o.pending()));
    let msg = inject_message(&[(1, b"one"), (2, b"two"), (3, b"three")]);
    dev.call(IOCTL_INJECT, &msg, 0).expect("IOCTL_INJECT");
    let mut seqs = Vec::new();
    for (i, op) in ops.iter_mut().enumerate() {
        let n = op.wait(&dev).expect("RECV completes");
        let records: Vec<Record<'_>> = parse_batch(&op.output[..n]).expect("batch").collect();
        match &records[..] {
            [Record::Event { kind, seq, .. }] => {
                assert_eq!(*kind as usize, i + 1, "oldest receive gets the oldest record");
                seqs.push(*seq);
            }
            other => panic!("unexpected records {other:?}"),
        }
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "sequence numbers contiguous: {seqs:?}");
}

#[test]
fn cancel_io_ex_aborts_a_pending_receive() {
    let _g = serial();
    let dev = open();
    let mut recv = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post RECV");
    assert!(recv.pending());
    dev.cancel(&mut recv).expect("CancelIoEx");
    let err = recv.wait(&dev).expect_err("a cancelled RECV fails");
    assert_eq!(err.raw_os_error(), Some(ERROR_OPERATION_ABORTED as i32), "{err}");
    // The handle still works afterwards.
    version(&dev);
}

#[test]
fn close_completes_pending_receives() {
    let _g = serial();
    let dev = open();
    let mut recv = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post RECV");
    assert!(recv.pending());
    dev.close();
    assert!(recv.wait_event(5_000), "CLOSE must complete the handle's pending RECV");
    assert_eq!(recv.ntstatus(), STATUS_CANCELLED);
}

#[test]
fn bad_requests_get_the_right_status() {
    let _g = serial();
    let dev = open();
    let unknown = kchan_proto::ctl_code(kchan_proto::FILE_DEVICE_UNKNOWN, 0xfff, 0, 0);
    let e = dev.call(unknown, &[], 16).expect_err("unknown IOCTL");
    assert_eq!(e.raw_os_error(), Some(ERROR_INVALID_FUNCTION as i32), "{e}");
    let e = dev.call(IOCTL_VERSION, &[], 31).expect_err("VERSION into 31 bytes");
    assert_eq!(e.raw_os_error(), Some(ERROR_INSUFFICIENT_BUFFER as i32), "{e}");
    let e = dev.call(IOCTL_RECV, &[], 16).expect_err("RECV into 16 bytes");
    assert_eq!(e.raw_os_error(), Some(ERROR_INSUFFICIENT_BUFFER as i32), "{e}");
    // Still serving.
    version(&dev);
}
