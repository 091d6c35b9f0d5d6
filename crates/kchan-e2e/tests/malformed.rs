//! Malformed requests: every IOCTL with input and output sizes 0, 1,
//! size-1, size+1 and very large, and unknown codes. Each must be answered
//! with the right NTSTATUS (from `OVERLAPPED::Internal`, or for a request
//! that fails at once the status the client recovers), and the driver must
//! serve the next request.
//!
//! The expected status of each case is derived from the contract in the
//! driver's `dispatch` module docs: inputs that have a format are judged by
//! `kchan-proto`'s parsers (whose own tests pin their error for each
//! malformation) mapped through `ProtoError::ntstatus`; requests without
//! input refuse any (`STATUS_INVALID_PARAMETER`); too small an output is
//! `STATUS_BUFFER_TOO_SMALL`; a receive buffer above `max_batch_bytes` is
//! `STATUS_INVALID_PARAMETER`; unknown codes `STATUS_INVALID_DEVICE_REQUEST`.
#![cfg(windows)]

use kchan_e2e::{inject_message, serial, Device, Op};
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::*;

const VERY_LARGE: usize = 8 << 20;

/// A `kchan-proto` parser, reduced to its verdict.
type Parser = fn(&[u8]) -> Option<ProtoError>;

fn sizes(size: usize) -> Vec<usize> {
    let mut v = vec![0, 1, size.saturating_sub(1), size, size + 1, VERY_LARGE];
    v.sort_unstable();
    v.dedup();
    v
}

/// `valid` extended with zeros or truncated to `len`.
fn resized(valid: &[u8], len: usize) -> Vec<u8> {
    let mut v = valid.to_vec();
    v.resize(len, 0);
    v
}

/// How a request ended: its exact NTSTATUS. A request that fails at once
/// leaves its status block unwritten and reaches the caller as a Win32
/// error; the client recovers the driver's NTSTATUS from the thread's last
/// status, so that is checked too.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Completed (at once or later) with this NTSTATUS.
    Done(i32),
    /// A receive that pended (it is cancelled by the test).
    Pended,
}

fn expect(status: i32) -> Verdict {
    if status == STATUS_PENDING {
        Verdict::Pended
    } else {
        Verdict::Done(status)
    }
}

/// Posts one request and returns how it ended; a receive that pends is
/// cancelled.
fn status_of(dev: &Device, code: u32, input: &[u8], out_len: usize) -> Verdict {
    let mut op: Box<Op> = dev.submit(code, input, out_len).expect("DeviceIoControl");
    if code == IOCTL_RECV && op.is_pending() {
        dev.cancel(&mut op).expect("cancel the pending receive");
        let _ = op.wait();
        assert_eq!(op.status(), STATUS_CANCELLED);
        return Verdict::Pended;
    }
    let _ = op.wait();
    Verdict::Done(op.status())
}

fn still_serves(dev: &Device) {
    let v = dev.version();
    assert_eq!(v.magic, KCHAN_MAGIC);
}

#[test]
fn every_ioctl_with_every_bad_size_gets_the_right_status() {
    let _g = serial();
    let dev = Device::must_open();
    let v = dev.version();
    let (min_recv, max_batch) = (v.min_recv_bytes as usize, v.max_batch_bytes as usize);
    let sub = SubscribeConfig::default();
    let gen = GenConfig { kind: 62, rate: 1, count: 1, ..GenConfig::default() };
    let inject = inject_message(&[(62, b"malformed test")]);
    let mut cases = 0;

    // Requests without input: any input is refused; output per request.
    let no_input: [(u32, usize); 4] = [
        (IOCTL_VERSION, core::mem::size_of::<VersionInfo>()),
        (IOCTL_STATS, kchan_proto::STATS_REPLY_MIN_BYTES),
        (IOCTL_RECV, min_recv),
        (IOCTL_GEN_STOP, 0),
    ];
    for (code, out_size) in no_input {
        for in_len in sizes(8) {
            for out_len in sizes(out_size.max(1)) {
                let want = if in_len != 0 {
                    STATUS_INVALID_PARAMETER
                } else if out_len < out_size {
                    STATUS_BUFFER_TOO_SMALL
                } else if code == IOCTL_RECV && out_len > max_batch {
                    STATUS_INVALID_PARAMETER
                } else if code == IOCTL_RECV {
                    STATUS_PENDING
                } else {
                    STATUS_SUCCESS
                };
                let got = status_of(&dev, code, &vec![0u8; in_len], out_len);
                assert_eq!(got, expect(want), "code {code:#x}, input {in_len}, output {out_len}: want {want:#x}");
                still_serves(&dev);
                cases += 1;
            }
        }
    }

    // Requests with a formatted input (and no output: any output is ignored).
    let with_input: [(u32, &[u8], Parser); 3] = [
        (IOCTL_SUBSCRIBE, sub.as_bytes(), |b| SubscribeConfig::parse(b).err()),
        (IOCTL_GEN_START, gen.as_bytes(), |b| GenConfig::parse(b).err()),
        (IOCTL_INJECT, &inject[..], |b| parse_inject(b).err()),
    ];
    for (code, valid, parse) in with_input {
        for in_len in sizes(valid.len()) {
            let input = resized(valid, in_len);
            let want = parse(&input).map_or(STATUS_SUCCESS, ProtoError::ntstatus);
            if in_len != valid.len() {
                assert_ne!(want, STATUS_SUCCESS, "code {code:#x}: a wrong size must not parse");
            }
            for out_len in [0, 1, 4096] {
                let got = status_of(&dev, code, &input, out_len);
                assert_eq!(got, expect(want), "code {code:#x}, input {in_len}, output {out_len}: want {want:#x}");
                still_serves(&dev);
                cases += 1;
            }
        }
    }
    dev.gen_stop();

    // Unknown codes: other functions, another method or access, another device type.
    let unknown = [
        ctl_code(FILE_DEVICE_UNKNOWN, 0xfff, METHOD_BUFFERED, FILE_ANY_ACCESS),
        ctl_code(FILE_DEVICE_UNKNOWN, 0x807, METHOD_BUFFERED, FILE_ANY_ACCESS),
        ctl_code(FILE_DEVICE_UNKNOWN, 0x800, 3, FILE_ANY_ACCESS), // VERSION's function, METHOD_NEITHER
        ctl_code(FILE_DEVICE_UNKNOWN, 0x802, METHOD_BUFFERED, FILE_ANY_ACCESS), // RECV's function, other access
        ctl_code(0x9, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS),
        0,
    ];
    for code in unknown {
        for (in_len, out_len) in [(0, 0), (1, 1), (64, 64), (VERY_LARGE, 0), (0, VERY_LARGE)] {
            let got = status_of(&dev, code, &vec![0u8; in_len], out_len);
            assert_eq!(
                got,
                expect(STATUS_INVALID_DEVICE_REQUEST),
                "unknown code {code:#x}, input {in_len}, output {out_len}"
            );
            still_serves(&dev);
            cases += 1;
        }
    }
    let st = dev.stats().subscriber;
    assert_eq!(st.pending_receives, 0, "no receive left behind");
    eprintln!("malformed: {cases} cases answered correctly");
}
