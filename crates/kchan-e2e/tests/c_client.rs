//! The C client example (`examples/c-client`, `kchan_tail.exe`, built by
//! xtask with mingw against `kchan.h`) against `kchan.sys`: its output is
//! checked line by line against what the test published, including the
//! gap record of a ring that overflowed, and its summary against the
//! counts.
//!
//! What no driver can show here: a malformed batch (the driver never
//! writes one). The C code's batch reader is held to the Rust parser on
//! malformed batches by `crates/kchan-proto/tests/c_batch.rs`.
#![cfg(windows)]

use kchan_e2e::{only_kind, serial, wait_until, Device};
use kchan_proto::{record_size, GenConfig, SubscribeConfig, GAP_RECORD_SIZE, GEN_WAIT_FOR_ROOM};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::time::Duration;

/// `examples/kchan_tail.exe`, one directory above this test's own (as
/// under cargo and in the Windows package).
fn kchan_tail() -> Command {
    let exe = std::env::current_exe().expect("test path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("release dir");
    Command::new(dir.join("examples").join("kchan_tail.exe"))
}

/// Ends a run that waits for events that never come, so that a failure
/// shows in the counts instead of a test that never ends.
const BACKSTOP: &[&str] = &["--seconds", "60"];

/// `kchan_tail ARGS`, its three standard streams piped.
fn spawn(args: &[&str]) -> (Child, BufReader<ChildStdout>, BufReader<ChildStderr>) {
    let mut child = kchan_tail()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kchan_tail.exe (cargo xtask build makes it)");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let stderr = BufReader::new(child.stderr.take().unwrap());
    (child, stdout, stderr)
}

/// Reads lines from `from` until one starts with `prefix`; returns it.
/// Panics, with what was read, if the stream ends first.
fn line_starting(from: &mut impl BufRead, prefix: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if from.read_line(&mut line).expect("read a line") == 0 {
            panic!("no line starting with {prefix:?}; read:\n{seen}");
        }
        if line.starts_with(prefix) {
            return line.trim_end().to_string();
        }
        seen.push_str(&line);
    }
}

/// The rest of a stream.
fn rest(mut from: impl Read) -> String {
    let mut text = String::new();
    from.read_to_string(&mut text).expect("read the stream");
    text
}

/// An event line: `#SEQ kind KIND t TICKS LEN B text|hex PAYLOAD`.
#[derive(Debug, PartialEq)]
struct EventLine {
    seq: u64,
    kind: u16,
    ticks: u64,
    len: usize,
    payload: String,
}

fn event_line(line: &str) -> EventLine {
    let parse = || -> Option<EventLine> {
        let w: Vec<&str> = line.splitn(9, ' ').collect();
        if w.len() != 9 || w[1] != "kind" || w[3] != "t" || w[6] != "B" || !matches!(w[7], "text" | "hex") {
            return None;
        }
        Some(EventLine {
            seq: w[0].strip_prefix('#')?.parse().ok()?,
            kind: w[2].parse().ok()?,
            ticks: w[4].parse().ok()?,
            len: w[5].parse().ok()?,
            payload: format!("{} {}", w[7], w[8]),
        })
    };
    parse().unwrap_or_else(|| panic!("not an event line: {line:?}"))
}

/// The summary line's counts: events, gaps, lost, completions, at once,
/// receives cancelled.
fn summary(stderr: &str) -> [u64; 6] {
    let line = stderr.lines().rev().find(|l| l.contains(" events, ")).unwrap_or_else(|| panic!("no summary: {stderr}"));
    let numbers: Vec<u64> =
        line.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()).map(|w| w.parse().unwrap()).collect();
    numbers.try_into().unwrap_or_else(|_| panic!("six counts: {line}"))
}

/// The smallest ring the driver accepts: its largest record and a gap
/// record.
fn smallest_ring(device: &Device) -> u32 {
    (record_size(device.version().max_record_payload as usize) + GAP_RECORD_SIZE) as u32
}

#[test]
fn the_c_client_prints_the_events_and_the_gap_where_its_tiny_ring_overflowed() {
    let _g = serial();
    const KIND: u16 = 46;
    const FIRST: u64 = 600;
    const MORE: u64 = 10;
    let payload = |i: u64| format!("c-client {i}");
    let events = |range: std::ops::Range<u64>| -> Vec<(u16, Vec<u8>)> {
        range.map(|i| (KIND, payload(i).into_bytes())).collect()
    };
    let injector = Device::must_open();
    let ring = smallest_ring(&injector);
    let inject = |batch: &[(u16, Vec<u8>)]| {
        let records: Vec<(u16, &[u8])> = batch.iter().map(|(k, p)| (*k, &p[..])).collect();
        injector.inject(&records);
    };

    // How many of FIRST events such a ring keeps, nothing read meanwhile:
    // the engine decides the same way for the same ring and the same
    // records, so a subscriber of its own shows it first.
    let probe = Device::must_open();
    probe.subscribe(&SubscribeConfig { ring_bytes: ring, ..only_kind(KIND) }).expect("subscribe the probe");
    inject(&events(0..FIRST));
    let dropped = probe.stats().subscriber.dropped_ring_full;
    let kept = FIRST - dropped;
    assert!(dropped > 0 && kept > 0, "the ring of {ring} bytes overflows: {dropped} of {FIRST} dropped");
    drop(probe);

    // The C client subscribes (the same ring), then waits for Enter.
    let count = (kept + MORE).to_string();
    let ring_arg = ring.to_string();
    let args = ["--kind", "46", "--ring-bytes", &ring_arg, "--in-flight", "4", "--count", &count, "--pause"];
    let (mut child, mut stdout, mut stderr) = spawn(&[&args[..], BACKSTOP].concat());
    let subscribed = line_starting(&mut stderr, "kchan_tail: subscribed to \\\\.\\kchan: kinds 0x0000400000000000");
    assert!(subscribed.ends_with(&format!("ring {ring} bytes, 4 receives")), "{subscribed}");
    line_starting(&mut stderr, "kchan_tail: paused");
    inject(&events(0..FIRST));
    child.stdin.take().unwrap().write_all(b"\n").expect("press Enter");

    // Every event the ring kept, then the gap; once the gap is printed the
    // ring is empty, so the next events all fit.
    let mut lines = Vec::new();
    for _ in 0..kept {
        lines.push(line_starting(&mut stdout, "#"));
    }
    let gap = line_starting(&mut stdout, "#");
    inject(&events(FIRST..FIRST + MORE));
    let tail = rest(stdout);
    let status = child.wait().expect("kchan_tail exits");
    let stderr = rest(stderr);
    assert!(status.success(), "kchan_tail: {status}\n{stderr}");

    lines.extend(tail.lines().map(str::to_string));
    let parsed: Vec<EventLine> = lines.iter().map(|l| event_line(l)).collect();
    let expected: Vec<u64> = (0..kept).chain(FIRST..FIRST + MORE).collect();
    assert_eq!(parsed.iter().map(|e| e.seq).collect::<Vec<_>>(), expected, "sequence numbers");
    for e in &parsed {
        assert_eq!((e.kind, e.len), (KIND, payload(e.seq).len()), "{e:?}");
        assert_eq!(e.payload, format!("text {}", payload(e.seq)), "{e:?}");
    }
    assert!(parsed.windows(2).all(|w| w[0].ticks <= w[1].ticks), "timestamps in order");
    let gap_words: Vec<&str> = gap.split(' ').collect();
    assert_eq!(
        gap_words[..7],
        [&format!("#{kept}..#{}", FIRST - 1)[..], "lost", &dropped.to_string(), "events", "(ring", "full)", "t"],
        "{gap}"
    );
    assert!(gap_words[7].parse::<u64>().is_ok_and(|t| t >= parsed[kept as usize - 1].ticks), "{gap}");

    let [events, gaps, lost, completions, at_once, cancelled] = summary(&stderr);
    assert_eq!((events, gaps, lost), (kept + MORE, 1, dropped), "{stderr}");
    assert!((2..=kept + MORE).contains(&completions) && at_once <= completions, "{stderr}");
    // The receives still with the driver when the last event was printed:
    // all four but those whose batches ended the run.
    assert!((1..=3).contains(&cancelled), "{stderr}");
    eprintln!(
        "c-client: {kept} kept, {dropped} lost, {completions} completions ({at_once} at once), {cancelled} cancelled"
    );
}

#[test]
fn the_c_client_reads_a_generated_stream_whole_and_in_order_with_eight_receives() {
    let _g = serial();
    const KIND: u16 = 47;
    const EVENTS: u64 = 3000;
    let (mut child, stdout, mut stderr) =
        spawn(&[&["--kind", "47", "--count", &EVENTS.to_string()][..], BACKSTOP].concat());
    line_starting(&mut stderr, "kchan_tail: subscribed to");
    // Lossless: the generator waits for room in the client's ring.
    Device::must_open().gen_start(&GenConfig {
        kind: KIND,
        rate: 0,
        burst: 64,
        payload_bytes: 32,
        flags: GEN_WAIT_FOR_ROOM,
        count: EVENTS,
        ..GenConfig::default()
    });
    let out = rest(stdout);
    let status = child.wait().expect("kchan_tail exits");
    let stderr = rest(stderr);
    assert!(status.success(), "kchan_tail: {status}\n{stderr}");

    let parsed: Vec<EventLine> = out.lines().map(event_line).collect();
    assert_eq!(parsed.len() as u64, EVENTS, "{stderr}");
    for (i, e) in parsed.iter().enumerate() {
        // The payload: the generator's event number (u64, LE), then 0xA5.
        let hex = format!("hex {}{}", hex_le(i as u64), "a5".repeat(24));
        assert_eq!((e.seq, e.kind, e.len, &e.payload), (i as u64, KIND, 32, &hex), "line {i}");
    }
    let [events, gaps, lost, completions, at_once, cancelled] = summary(&stderr);
    assert_eq!((events, gaps, lost), (EVENTS, 0, 0), "{stderr}");
    assert!(completions >= 1 && at_once <= completions && (1..=8).contains(&cancelled), "{stderr}");
    eprintln!(
        "c-client: {EVENTS} events in {completions} completions ({at_once} at once, {:.1} events each), {cancelled} cancelled",
        EVENTS as f64 / completions as f64
    );
}

/// `n` as 8 little-endian bytes, in hex.
fn hex_le(n: u64) -> String {
    n.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_c_client_stops_after_its_time_and_waits_for_every_cancelled_receive() {
    let _g = serial();
    let out = kchan_tail().args(["--kind", "48", "--seconds", "1"]).output().expect("run kchan_tail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kchan_tail: {}\n{stderr}", out.status);
    assert!(out.stdout.is_empty(), "no event of kind 48");
    // All eight receives pended; each was cancelled and its completion seen.
    assert_eq!(summary(&stderr), [0, 0, 0, 0, 0, 8], "{stderr}");
    // And the driver holds none of them any more.
    let device = Device::must_open();
    assert!(wait_until(Duration::from_secs(5), || device.stats().channel.pending_receives == 0));
}

#[test]
fn the_c_client_refuses_what_the_driver_would_and_names_a_missing_device() {
    let _g = serial();
    let run = |args: &[&str]| {
        let out = kchan_tail().args(args).output().expect("run kchan_tail");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = run(&["--device", "kchan_no_such_device", "--seconds", "1"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.trim_end(), "kchan_tail: \\\\.\\kchan_no_such_device does not exist (is the driver loaded?)");

    // Past the limits the driver advertises: refused before subscribing.
    let device = Device::must_open();
    let too_big = (device.version().max_ring_bytes + 8).to_string();
    let (code, err) = run(&["--ring-bytes", &too_big, "--seconds", "1"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("rings up to {} bytes", device.version().max_ring_bytes)), "{err}");

    // A ring the driver refuses (not a multiple of 8): its status, mapped
    // by Windows to ERROR_INVALID_PARAMETER (87).
    let (code, err) = run(&["--ring-bytes", "1000001", "--seconds", "1"]);
    assert_eq!((code, err.trim_end()), (Some(1), "kchan_tail: IOCTL_SUBSCRIBE failed: Windows error 87"));

    // Options it does not know, or out of its own range: usage.
    for args in [&["--in-flight", "65"][..], &["--kind", "64"], &["--count"], &["--frobnicate", "1"]] {
        let (code, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains("usage: kchan_tail"), "{args:?}: {err}");
    }
    // The same ring rounded to a multiple of 8 is accepted: it was the
    // ring the driver refused.
    let ring = SubscribeConfig { ring_bytes: 1_000_000, ..only_kind(48) };
    device.subscribe(&ring).expect("a ring that is a multiple of 8");
}
