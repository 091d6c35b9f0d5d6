//! Handles that go away with receives pending (scenario 4 of issue 4).
//!
//! - Closing a handle with pending receives: they complete
//!   `STATUS_CANCELLED` (Wine sends only `IRP_MJ_CLOSE`, no CLEANUP), and
//!   the driver's channel-wide subscriber and pending counts return to what
//!   they were.
//! - `TerminateProcess` of a child holding 16 pending receives: the same
//!   counts return to what they were.
//! - Meanwhile another subscriber loses nothing.
//!
//! The child is this test binary, re-run with [`CHILD_ENV`] set and only
//! [`child_holds_16_pending_receives`] selected.
#![cfg(windows)]

use kchan_e2e::{only_kind, serial, wait_until, Device, RECV_BYTES};
use kchan_proto::{parse_batch, Record, SubscribeConfig, IOCTL_RECV};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const STATUS_CANCELLED: u32 = kchan_proto::STATUS_CANCELLED as u32;
/// Set in the child's environment.
const CHILD_ENV: &str = "KCHAN_E2E_CHILD";
const KIND: u16 = 12;

/// (subscribers, pending receives), channel-wide.
fn counts(dev: &Device) -> (u64, u64) {
    let c = dev.stats().channel;
    (c.subscribers, c.pending_receives)
}

/// Drains every event waiting for `dev` (a witness subscriber) and checks
/// that they are `0..n`, contiguous, without gaps.
fn check_witness(dev: &Device, n: u64) {
    let mut got = Vec::new();
    while (got.len() as u64) < n {
        let mut r = dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post witness RECV");
        let len = r.wait(dev).expect("witness RECV");
        for rec in parse_batch(&r.output[..len]).expect("batch") {
            match rec {
                Record::Event { seq, .. } => got.push(seq),
                Record::Gap { .. } => panic!("the witness lost events"),
            }
        }
    }
    assert_eq!(got.len() as u64, n);
    assert!(got.windows(2).all(|w| w[1] == w[0] + 1), "witness sequence contiguous");
    let st = dev.stats().subscriber;
    assert_eq!((st.published, st.delivered, st.dropped()), (n, n, 0), "witness counters: {st:?}");
}

#[test]
fn closing_a_handle_completes_its_pending_receives_and_restores_the_counts() {
    let _g = serial();
    let witness = Device::must_open();
    witness.subscribe(&only_kind(KIND)).expect("subscribe witness");
    let base = counts(&witness);

    let victim = Device::must_open();
    victim.subscribe(&only_kind(KIND)).expect("subscribe victim");
    let mut ops: Vec<_> = (0..4).map(|_| victim.post(IOCTL_RECV, &[], RECV_BYTES).expect("post")).collect();
    assert_eq!(counts(&witness), (base.0 + 1, base.1 + 4), "one more subscriber, four more receives");
    witness.inject(&[(KIND, b"before close")]);
    // The injected event completed the victim's oldest receive.
    let n = ops[0].wait(&victim).expect("victim's first receive gets the event");
    assert!(n > 0);

    victim.close();
    for op in &mut ops[1..] {
        assert!(op.wait_event(5_000), "CLOSE must complete the handle's pending receives");
        assert_eq!(op.ntstatus(), STATUS_CANCELLED);
    }
    assert!(wait_until(Duration::from_secs(5), || counts(&witness) == base), "counts back to {base:?}");
    witness.inject(&[(KIND, b"after close")]);
    check_witness(&witness, 2);
}

#[test]
fn terminating_a_child_with_16_pending_receives_restores_the_counts() {
    let _g = serial();
    let witness = Device::must_open();
    witness.subscribe(&only_kind(KIND)).expect("subscribe witness");
    let base = counts(&witness);

    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args(["--exact", "child_holds_16_pending_receives", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let mut lines = BufReader::new(child.stdout.take().expect("child stdout")).lines();
    // libtest prints "test <name> ... " first, on the same line.
    let ready = lines.find_map(|l| l.ok().filter(|l| l.contains("READY")));
    assert!(ready.is_some(), "the child never got ready");
    assert_eq!(counts(&witness), (base.0 + 1, base.1 + 16), "the child's subscriber and 16 receives");
    witness.inject(&[(KIND, b"while the child lives")]);

    child.kill().expect("TerminateProcess"); // std's kill is TerminateProcess
    child.wait().expect("reap the child");
    assert!(
        wait_until(Duration::from_secs(10), || counts(&witness) == base),
        "counts back to {base:?}, now {:?}",
        counts(&witness)
    );
    witness.inject(&[(KIND, b"after the child")]);
    check_witness(&witness, 2);
}

/// The child's part of the test above: a no-op unless [`CHILD_ENV`] is set.
/// Then it subscribes with K = 16, posts 16 receives, says `READY` and
/// waits to be terminated (60 s at most, should the parent die first).
#[test]
fn child_holds_16_pending_receives() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let dev = Device::must_open();
    dev.subscribe(&SubscribeConfig { max_in_flight: 16, ..only_kind(KIND) }).expect("child subscribe");
    let ops: Vec<_> = (0..16).map(|_| dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("child post")).collect();
    assert!(ops.iter().all(|o| o.pending()));
    assert_eq!(dev.stats().subscriber.pending_receives, 16);
    println!("READY");
    std::thread::sleep(Duration::from_secs(60));
    std::process::exit(1);
}
