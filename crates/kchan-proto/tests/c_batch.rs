//! The C client's batch reader (`examples/c-client/batch.c`) against this
//! crate's parser: on every batch, well-formed or not, the C code must
//! accept exactly what [`parse_batch`] accepts and read the same records
//! from it, and it must never read outside the bytes it is given.
//!
//! The C code is compiled on the host with AddressSanitizer and
//! UndefinedBehaviorSanitizer, and each batch is handed to it in a heap
//! block of exactly its length, so a read one byte too far, a misaligned
//! access or an overflow stops the program. The batches: well-formed ones
//! built with [`BatchBuilder`] (events and gaps, empty payloads, sequence
//! numbers at the top of the range), each with every byte changed in
//! several ways, cut at every length and followed by spare bytes, and
//! random bytes.
#![cfg(not(windows))]

use kchan_proto::{parse_batch, BatchBuilder, GapReason, Record};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Reads batches from stdin (each a little-endian u32 length, then the
/// bytes, copied into a block of exactly that size) and prints one line
/// per batch: `bad`, or `ok` with the summary and every record.
const HARNESS: &str = r#"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "batch.h"

int main(void)
{
    unsigned char prefix[4];
    while (fread(prefix, 1, 4, stdin) == 4) {
        size_t len = (size_t)prefix[0] | (size_t)prefix[1] << 8 | (size_t)prefix[2] << 16 | (size_t)prefix[3] << 24;
        unsigned char *buf = malloc(len ? len : 1);
        batch_reader reader;
        batch_summary s;
        batch_record r;
        if (buf == NULL || fread(buf, 1, len, stdin) != len)
            return 2;
        if (batch_open(buf, len, &reader, &s) != NULL) {
            puts("bad");
            free(buf);
            continue;
        }
        printf("ok %" PRIu32 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, s.records, s.first_seq,
               s.end_seq, s.events, s.gaps, s.lost);
        while (batch_read(&reader, &r)) {
            if (r.is_gap) {
                printf("|g %" PRIu64 " %" PRIu64 " %" PRIu32 " %" PRIu64, r.seq, r.count, r.reason, r.timestamp);
            } else {
                printf("|e %" PRIu64 " %u %" PRIu64 " %" PRIu32 " ", r.seq, (unsigned)r.kind, r.timestamp, r.len);
                for (uint32_t i = 0; i < r.len; i++)
                    printf("%02x", r.payload[i]);
            }
        }
        putchar('\n');
        free(buf);
    }
    return 0;
}
"#;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the harness with the C client's `batch.c`, sanitizers on.
fn build_harness() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kchan-c-batch");
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("harness.c");
    std::fs::write(&source, HARNESS).unwrap();
    let exe = dir.join("harness");
    let client = workspace().join("examples/c-client");
    let out = Command::new("cc")
        .args(["-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Wpedantic", "-Werror"])
        .args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"])
        .arg(format!("-I{}", client.display()))
        .arg(format!("-I{}", workspace().join("crates/kchan-proto/include").display()))
        .arg(&source)
        .arg(client.join("batch.c"))
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("the host C compiler (cc) runs");
    assert!(out.status.success(), "compiling batch.c:\n{}", String::from_utf8_lossy(&out.stderr));
    exe
}

/// What the harness must print for `bytes`, from `parse_batch`.
fn expected(bytes: &[u8]) -> String {
    let Ok(reader) = parse_batch(bytes) else { return "bad".into() };
    let records: Vec<Record> = reader.clone().collect();
    let (mut events, mut gaps, mut lost, mut first, mut end) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut line = String::new();
    for (i, record) in records.iter().enumerate() {
        let (start, stop) = match *record {
            Record::Event { seq, kind, timestamp, payload } => {
                events += 1;
                write!(line, "|e {seq} {kind} {timestamp} {} ", payload.len()).unwrap();
                for b in payload {
                    write!(line, "{b:02x}").unwrap();
                }
                (seq, seq.saturating_add(1))
            }
            Record::Gap { first_seq, count, reason, timestamp } => {
                gaps += 1;
                lost += count;
                write!(line, "|g {first_seq} {count} {} {timestamp}", reason as u32).unwrap();
                (first_seq, first_seq + count)
            }
        };
        if i == 0 {
            first = start;
        }
        end = stop;
    }
    format!("ok {} {first} {end} {events} {gaps} {lost}{line}", records.len())
}

/// A small deterministic generator (xorshift64*), so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Well-formed batches: random events and gaps, and the edges.
fn well_formed(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut batches = Vec::new();
    let mut build = |push: &mut dyn FnMut(&mut BatchBuilder<'_>)| {
        let mut buf = vec![0u8; 4096];
        let mut builder = BatchBuilder::new(&mut buf).unwrap();
        push(&mut builder);
        let n = builder.finish(0);
        buf.truncate(n);
        batches.push(buf);
    };
    build(&mut |_| {}); // no records
    build(&mut |b| b.push_event(u64::MAX, 63, 1, b"last").unwrap());
    build(&mut |b| b.push_gap(u64::MAX - 9, 9, GapReason::Overwritten, 2).unwrap());
    for _ in 0..24 {
        let mut seq = rng.below(1 << 40);
        let records = 1 + rng.below(6);
        let choices: Vec<(bool, u64, u64)> =
            (0..records).map(|_| (rng.below(3) == 0, rng.next(), rng.next())).collect();
        build(&mut |b| {
            for &(gap, a, c) in &choices {
                if gap {
                    let count = 1 + a % 1000;
                    let reason = if c % 2 == 0 { GapReason::RingFull } else { GapReason::Overwritten };
                    b.push_gap(seq, count, reason, c >> 8).unwrap();
                    seq += count;
                } else {
                    let payload: Vec<u8> = (0..a % 41).map(|i| (c >> (i % 8 * 8)) as u8).collect();
                    b.push_event(seq, (c % 64) as u16, a >> 8, &payload).unwrap();
                    seq += 1;
                }
            }
        });
    }
    batches
}

/// Every batch to try: the well-formed ones, each byte of them changed
/// five ways, every prefix, spare bytes after, and random bytes.
fn cases() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x6b63_6861_6e21_0001);
    let mut cases = Vec::new();
    for batch in well_formed(&mut rng) {
        for i in 0..batch.len() {
            let b = batch[i];
            for v in [0x00, 0xff, b ^ 0x01, b ^ 0x80, b.wrapping_add(8)] {
                if v != b {
                    let mut changed = batch.clone();
                    changed[i] = v;
                    cases.push(changed);
                }
            }
        }
        for n in 0..batch.len() {
            cases.push(batch[..n].to_vec());
        }
        let mut longer = batch.clone();
        longer.extend_from_slice(&[0xAB; 24]);
        cases.push(longer);
        cases.push(batch);
    }
    for _ in 0..2000 {
        let n = rng.below(200) as usize;
        cases.push((0..n).map(|_| rng.next() as u8).collect());
    }
    cases
}

#[test]
fn the_c_batch_reader_accepts_and_reads_exactly_what_the_rust_parser_does() {
    let harness = build_harness();
    let cases = cases();
    let mut input = Vec::new();
    for case in &cases {
        input.extend_from_slice(&(case.len() as u32).to_le_bytes());
        input.extend_from_slice(case);
    }
    let mut child = Command::new(&harness)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the harness");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    let fed = writer.join().unwrap();
    assert!(
        out.status.success(),
        "the harness failed (a sanitizer report?):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fed.expect("feed the harness");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), cases.len(), "one line per batch");
    let mut accepted = 0;
    for (case, line) in cases.iter().zip(&lines) {
        assert_eq!(*line, expected(case), "batch {case:02x?}");
        accepted += usize::from(line.starts_with("ok"));
    }
    // Both verdicts are exercised, many times each.
    assert!(accepted > 100 && cases.len() - accepted > 1000, "{accepted} of {} accepted", cases.len());
}
