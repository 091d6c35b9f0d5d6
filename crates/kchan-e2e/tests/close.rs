//! Handles that go away with receives pending.
//!
//! - Closing a handle with pending receives: they complete
//!   `STATUS_CANCELLED` (Wine sends only `IRP_MJ_CLOSE`, no CLEANUP), and
//!   the driver's channel-wide subscriber and pending counts return to what
//!   they were.
//! - `TerminateProcess` of a child holding 16 pending receives: the same
//!   counts return to what they were.
//! - Meanwhile another subscriber loses nothing.
//! - Records left unread in a handle's ring when it closes are counted
//!   dropped at close, exactly, channel-wide.
//!
//! The child is `hold-receives`, a program of this crate.
#![cfg(windows)]

use kchan_e2e::{kchan_command, only_kind, serial, wait_until, Device, RECV_BYTES};
use kchan_proto::{parse_batch, Record, IOCTL_RECV, STATUS_CANCELLED};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

const KIND: u16 = 12;

/// `hold-receives.exe`, built next to this test's `deps/` directory.
fn hold_receives_exe() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent().and_then(|deps| deps.parent()).expect("target dir").join("hold-receives.exe")
}

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
        let len = r.wait().expect("witness RECV");
        for rec in parse_batch(&r.output()[..len]).expect("batch") {
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
    let n = ops[0].wait().expect("victim's first receive gets the event");
    assert!(n > 0);

    victim.close();
    for op in &mut ops[1..] {
        assert!(op.wait_timeout(Duration::from_secs(5)), "CLOSE must complete the handle's pending receives");
        assert_eq!(op.status(), STATUS_CANCELLED);
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

    let mut child = Command::new(hold_receives_exe())
        .args([KIND.to_string(), "16".to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let mut lines = BufReader::new(child.stdout.take().expect("child stdout")).lines();
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

/// A kind only the test below subscribes to.
const UNREAD_KIND: u16 = 13;

/// Handle A subscribes, records are injected for it and left unread, A
/// closes: its ring goes with them, and handle B (which never subscribes)
/// sees in STATS `dropped_at_close` and the channel's `dropped` grown by
/// exactly that many, as does `kchan stats --json`. Wine sends no
/// `IRP_MJ_CLEANUP`: its `IRP_MJ_CLOSE`, which the driver treats as the
/// CLEANUP it never got, is what closes the subscriber here (on Windows
/// CLEANUP would, and the CLOSE after it would count nothing more; the
/// host tests in `kchan-driver` check both orders).
#[test]
fn records_left_unread_when_a_handle_closes_are_counted_dropped_at_close() {
    let _g = serial();
    const UNREAD: u64 = 9;
    let b = Device::must_open();
    let before = b.stats();

    let a = Device::must_open();
    a.subscribe(&only_kind(UNREAD_KIND)).expect("subscribe A");
    let records: Vec<(u16, &[u8])> = (0..UNREAD).map(|_| (UNREAD_KIND, &b"left unread"[..])).collect();
    a.inject(&records);
    let waiting = a.stats();
    assert_eq!((waiting.subscriber.in_ring_records, waiting.subscriber.delivered), (UNREAD, 0));
    assert_eq!(waiting.dropped_at_close, before.dropped_at_close, "nothing counted while A is open");

    a.close();
    // CloseHandle returns before winedevice.exe has run the driver's CLOSE.
    assert!(
        wait_until(Duration::from_secs(5), || b.stats().channel.subscribers == before.channel.subscribers),
        "A's subscriber is gone"
    );
    let after = b.stats();
    assert_eq!(after.dropped_at_close - before.dropped_at_close, UNREAD, "{after:?}");
    assert_eq!(after.channel.dropped - before.channel.dropped, UNREAD, "channel dropped counts them too");
    assert_eq!(after.channel.fanout - before.channel.fanout, UNREAD, "published to A: all {UNREAD} dropped");

    let out = kchan_command().args(["stats", "--json"]).output().expect("kchan stats --json runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["dropped_at_close"].as_u64(), Some(after.dropped_at_close), "kchan stats shows it: {v}");
    assert_eq!(v["dropped"].as_u64(), Some(after.channel.dropped), "{v}");
}
