//! `kchan tail` against the driver, under Wine (layer `e2e`): the lines it
//! prints are parsed and checked against what was published.
#![cfg(windows)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use kchan::{Device, GenConfig};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant, SystemTime};

/// Kind of the events these tests inject; kind of the generated ones.
const INJECTED: u16 = 6;
const GENERATED: u16 = 7;

fn kchan_exe() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|deps| deps.parent()).unwrap().join("kchan.exe")
}

/// A running `kchan tail`: its stdout lines arrive on a channel as they
/// are printed; stderr is collected.
struct Tail {
    child: Child,
    lines: Option<Receiver<String>>,
    stderr: std::thread::JoinHandle<String>,
}

impl Tail {
    /// Starts `kchan tail ARGS` and waits until it has subscribed: its
    /// receives pend in the driver (nobody else here keeps any pending).
    fn start(device: &Device, args: &[&str]) -> Tail {
        let before = device.stats().unwrap().channel.pending_receives;
        let mut child = Command::new(kchan_exe())
            .arg("tail")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kchan.exe starts");
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break; // the test dropped the receiver: stop reading, like `head`
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let deadline = Instant::now() + Duration::from_secs(15);
        while device.stats().unwrap().channel.pending_receives <= before {
            assert!(Instant::now() < deadline, "kchan tail did not subscribe within 15 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        Tail { child, lines: Some(rx), stderr }
    }

    /// Waits for the command to end (30 s at most) and returns its stdout
    /// lines and stderr; asserts exit code 0.
    fn finish(mut self) -> (Vec<String>, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("kchan tail did not end within 30 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let lines: Vec<String> = self.lines.take().map(|rx| rx.iter().collect()).unwrap_or_default();
        let stderr = self.stderr.join().unwrap();
        assert!(status.success(), "kchan tail exited with {status}: {stderr}");
        (lines, stderr)
    }
}

/// The summary's counts: (events, gaps, lost).
fn summary(stderr: &str) -> (u64, u64, u64) {
    let line = stderr.trim();
    assert_eq!(line.lines().count(), 1, "stderr is the summary line alone: {stderr:?}");
    let words: Vec<&str> = line.split_whitespace().collect();
    let n = |i: usize| words[i].parse::<u64>().unwrap_or_else(|_| panic!("a number at word {i}: {line}"));
    assert!(line.starts_with("kchan tail: ") && words[3] == "events," && words[5] == "gaps,", "{line}");
    (n(2), n(4), n(6))
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

/// The payloads the exactness tests publish: text, binary, empty.
fn known_payloads() -> Vec<Vec<u8>> {
    vec![b"hello, kchan \"tail\"".to_vec(), vec![0x00, 0xff, 0x10, 0x80, b'\n', 0xc3], Vec::new()]
}

fn inject_known(device: &Device) {
    let payloads = known_payloads();
    device.inject(payloads.iter().map(|p| (INJECTED, &p[..]))).unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn json_lines_carry_text_binary_and_empty_payloads_exactly() {
    let device = Device::open().unwrap();
    let tail = Tail::start(&device, &["--json", "--kinds", "6", "--count", "3"]);
    let before = SystemTime::now();
    inject_known(&device);
    let after = SystemTime::now();
    let (lines, stderr) = tail.finish();
    assert_eq!(summary(&stderr), (3, 0, 0));
    assert_eq!(lines.len(), 3, "{lines:?}");
    let first_seq = json(&lines[0])["seq"].as_u64().unwrap();
    for (i, (line, want)) in lines.iter().zip(known_payloads()).enumerate() {
        let v = json(line);
        assert_eq!(v["v"], 1, "{line}");
        assert_eq!(v["seq"].as_u64(), Some(first_seq + i as u64), "contiguous: {line}");
        assert_eq!(v["kind"], INJECTED, "{line}");
        assert_eq!(v["len"].as_u64(), Some(want.len() as u64), "{line}");
        assert!(v["qpc"].as_u64().unwrap() > 0, "{line}");
        let got = match (v.get("payload"), v.get("payload_b64")) {
            (Some(text), None) => text.as_str().unwrap().as_bytes().to_vec(),
            (None, Some(b64)) => STANDARD.decode(b64.as_str().unwrap()).unwrap(),
            _ => panic!("exactly one of payload and payload_b64: {line}"),
        };
        assert_eq!(got, want, "{line}");
        let time = humantime::parse_rfc3339(v["time"].as_str().unwrap()).unwrap();
        assert!(time + Duration::from_secs(1) >= before && time <= after + Duration::from_secs(1), "{line}");
    }
    assert!(json(&lines[1]).get("payload_b64").is_some(), "binary goes as base64");
}

#[test]
fn text_lines_carry_text_binary_and_empty_payloads_exactly() {
    let device = Device::open().unwrap();
    let tail = Tail::start(&device, &["--kinds", "6", "--count", "3", "--max-bytes", "16384"]);
    inject_known(&device);
    let (lines, stderr) = tail.finish();
    assert_eq!(summary(&stderr), (3, 0, 0));
    assert_eq!(lines.len(), 3, "{lines:?}");
    let mut seqs = Vec::new();
    for (line, want) in lines.iter().zip(known_payloads()) {
        // `#SEQ  kind K  TIME  LEN B  text ...|hex ...`
        let words: Vec<&str> = line.split_whitespace().collect();
        seqs.push(words[0].strip_prefix('#').unwrap().parse::<u64>().unwrap());
        assert_eq!((words[1], words[2]), ("kind", "6"), "{line}");
        assert!(words[3].ends_with('Z') && humantime::parse_rfc3339(words[3]).is_ok(), "{line}");
        assert_eq!(words[4].parse::<usize>().unwrap(), want.len(), "{line}");
        let shown = line.split_once(" B").unwrap().1;
        let expected = match std::str::from_utf8(&want) {
            _ if want.is_empty() => String::new(),
            Ok(text) => format!("  text {text}"),
            Err(_) => format!("  hex {}", hex(&want)),
        };
        assert_eq!(shown, expected, "{line}");
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "contiguous: {seqs:?}");
}

#[test]
fn tail_starts_from_now_with_sequence_numbers_from_zero() {
    let device = Device::open().unwrap();
    device.inject((0..5).map(|_| (INJECTED, &b"before"[..]))).unwrap();
    let tail = Tail::start(&device, &["--json", "--kinds", "6", "--count", "2"]);
    device.inject([(INJECTED, &b"after 1"[..]), (INJECTED, &b"after 2"[..])]).unwrap();
    let (lines, _) = tail.finish();
    let got: Vec<(u64, String)> = lines
        .iter()
        .map(|l| json(l))
        .map(|v| (v["seq"].as_u64().unwrap(), v["payload"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(got, [(0, "after 1".to_string()), (1, "after 2".to_string())]);
}

#[test]
fn times_are_monotonic_and_within_a_second_of_the_clock() {
    let device = Device::open().unwrap();
    let tail = Tail::start(&device, &["--json", "--kinds", "6", "--count", "300"]);
    let before = SystemTime::now();
    for round in 0..30u32 {
        let payload = round.to_le_bytes();
        device.inject((0..10).map(|_| (INJECTED, &payload[..]))).unwrap();
        std::thread::sleep(Duration::from_millis(20)); // events over more than one clock refresh
    }
    let after = SystemTime::now();
    let (lines, _) = tail.finish();
    assert_eq!(lines.len(), 300);
    let (mut last_time, mut last_qpc) = (SystemTime::UNIX_EPOCH, 0);
    for line in &lines {
        let v = json(line);
        let time = humantime::parse_rfc3339(v["time"].as_str().unwrap()).unwrap();
        let qpc = v["qpc"].as_u64().unwrap();
        assert!(time >= last_time && qpc >= last_qpc, "monotonic: {line}");
        assert!(time + Duration::from_secs(1) >= before && time <= after + Duration::from_secs(1), "{line}");
        (last_time, last_qpc) = (time, qpc);
    }
}

/// Starts the driver's generator for kind 7; stops it when dropped.
struct Generator(Device);

impl Generator {
    fn start(rate: u32) -> Generator {
        let device = Device::open().unwrap();
        let config = GenConfig { rate, payload_bytes: 32, burst: 64, kind: GENERATED, ..GenConfig::default() };
        device.start_generator(&config).unwrap();
        Generator(device)
    }
}

impl Drop for Generator {
    fn drop(&mut self) {
        let _ = self.0.stop_generator();
    }
}

#[test]
fn a_tiny_ring_under_a_flat_out_generator_gives_gap_lines_covering_every_sequence_number() {
    let device = Device::open().unwrap();
    let tail = Tail::start(&device, &["--json", "--kinds", "7", "--ring-bytes", "20K", "--seconds", "2"]);
    let generator = Generator::start(0);
    let (lines, stderr) = tail.finish();
    drop(generator);
    let (events, gaps, lost) = summary(&stderr);
    let mut next = 0u64;
    let (mut seen_events, mut seen_gaps, mut seen_lost) = (0, 0, 0);
    for line in &lines {
        let v = json(line);
        assert_eq!(v["v"], 1, "{line}");
        if let Some(gap) = v.get("gap") {
            assert_eq!(gap["first_seq"].as_u64(), Some(next), "a gap starts where the stream stopped: {line}");
            assert_eq!(gap["reason"], "ring_full", "{line}");
            let count = gap["count"].as_u64().unwrap();
            assert!(count > 0, "{line}");
            next += count;
            seen_gaps += 1;
            seen_lost += count;
        } else {
            assert_eq!(v["seq"].as_u64(), Some(next), "events and gaps cover every number: {line}");
            next += 1;
            seen_events += 1;
        }
    }
    assert!(seen_gaps > 0, "a 20 KiB ring cannot hold a flat-out generator: {stderr}");
    assert!(seen_events > 0, "{stderr}");
    assert_eq!((seen_events, seen_gaps, seen_lost), (events, gaps, lost), "the summary counts what was printed");
}

#[test]
fn a_reader_that_goes_away_ends_tail_with_exit_0_and_only_the_summary() {
    let device = Device::open().unwrap();
    let _generator = Generator::start(20_000);
    let mut tail = Tail::start(&device, &["--json", "--kinds", "7"]);
    let rx = tail.lines.take().unwrap();
    for _ in 0..5 {
        let line = rx.recv_timeout(Duration::from_secs(10)).expect("a line within 10 s");
        assert!(json(&line).get("seq").is_some() || json(&line).get("gap").is_some());
    }
    drop(rx); // like `head -5`: the reader stops and closes its end
    let (_, stderr) = tail.finish();
    assert!(!stderr.contains("panic"), "{stderr}");
    summary(&stderr);
    assert!(stderr.contains("output closed"), "{stderr}");
}
