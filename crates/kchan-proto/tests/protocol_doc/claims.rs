//! The page's numbers that are not a constant's value but a rule ("a
//! multiple of 8", "1 to 100"): each phrase with a check that the crate's
//! parsers enforce it. And the few numbers the crate does not define,
//! each with the reason it is not checked here.

use core::mem::offset_of;
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::*;

/// A check of one claim against the crate.
pub type Check = fn() -> Result<(), String>;

/// Phrases of the page and the check each number in them gets.
pub const CLAIMS: &[(&str, Check)] = &[
    ("`(0x22 << 16) | (access << 14) | (function << 2) | 0`", ctl_code_formula),
    ("a multiple of 8", multiples_of_8),
    ("rounded up to 8", rounded_up_to_8),
    ("next multiple of 8", padded_to_8),
    ("between 1 and `max_in_flight`", receives_in_flight_from_1),
    ("1 to `VersionInfo.max_in_flight`", receives_in_flight_from_1),
    ("0 to `MAX_KIND`", kinds_from_0),
    ("once the input holds 4 bytes", subscribe_version_checked_first),
    ("`record_count` is 0", inject_needs_a_record),
    ("records that follow, at least 1", inject_needs_a_record),
    ("`reserved` not 0", subscribe_and_gen_reserved),
    ("a reserved field is not 0", inject_reserved),
    ("`burst` 0 or above `MAX_GEN_BURST`", gen_burst_range),
    ("1 to `MAX_GEN_BURST`", gen_burst_range),
    ("`ONE_EVENT_PER_COMPLETION` or 0", subscribe_flags),
    ("`GEN_WAIT_FOR_ROOM` or 0", gen_flags),
    ("at least 1 (whatever the policy)", min_records_from_1),
    ("1 to `MAX_DELAY_US` (whatever the policy)", max_delay_range),
    ("in percent: 1 to 100", fill_percent_range),
    ("none defined: 0", record_flags_0),
    ("0 in `RecordHeader.flags`", record_flags_0),
    ("`flags` is 0", record_flags_0),
    ("consecutive sequence numbers are missing, at least 1", gap_count_from_1),
    ("`count` at least 1", gap_count_from_1),
    ("and `reserved` is 0", batch_reserved),
    ("`reserved` 0 and", gap_reserved),
    ("read as 0", stats_fields_not_written_read_as_0),
    ("version 1", version_1),
];

/// Phrases with numbers the crate does not define, and why.
pub const EXEMPT: &[(&str, &str)] = &[
    ("of 2, 4 and 8 bytes", "the sizes of C's and C#'s integer types"),
    ("100 ns", CLOCK),
    ("× 10,000,000 /", CLOCK),
    ("the first 8 bytes of each", GENERATOR),
    ("0: as fast as possible", GENERATOR),
    ("0: run until `IOCTL_GEN_STOP`", GENERATOR),
    ("1 while the generator runs (0 without one)", GENERATOR),
];

const CLOCK: &str = "the unit of the driver's clock (kchan-driver's WDM clock, built for the kernel target only)";
const GENERATOR: &str = "what kchan.sys's generator does (crates/kchan-sys, built for the kernel target only)";

/// The check that a structure's `reserved` fields must be 0, for the page's
/// "0" in their rows; `None` for a structure the crate never reads.
pub fn reserved_check(name: &str) -> Option<Check> {
    Some(match name {
        "SubscribeConfig" | "GenConfig" => subscribe_and_gen_reserved,
        "InjectHeader" | "InjectRecordHeader" => inject_reserved,
        "BatchHeader" => batch_reserved,
        "GapInfo" => gap_reserved,
        _ => return None,
    })
}

fn expect<T: core::fmt::Debug>(what: &str, got: Result<T, ProtoError>, refused: bool) -> Result<(), String> {
    match (&got, refused) {
        (Err(_), true) | (Ok(_), false) => Ok(()),
        _ => Err(format!("{what}: {}, got {got:?}", if refused { "refused" } else { "accepted" })),
    }
}

fn subscribe(f: impl FnOnce(&mut SubscribeConfig)) -> Result<(), ProtoError> {
    let mut c = SubscribeConfig::default();
    f(&mut c);
    SubscribeConfig::parse(c.as_bytes()).map(drop)
}

fn gen(f: impl FnOnce(&mut GenConfig)) -> Result<(), ProtoError> {
    let mut g = GenConfig::default();
    f(&mut g);
    GenConfig::parse(g.as_bytes()).map(drop)
}

/// A batch holding a gap record, then an event of kind `kind` with a
/// 1-byte payload.
fn batch(kind: u16) -> Vec<u8> {
    let mut buf = vec![0u8; 256];
    let mut b = BatchBuilder::new(&mut buf).unwrap();
    b.push_gap(0, 2, GapReason::RingFull, 1).unwrap();
    b.push_event(2, kind, 1, b"x").unwrap();
    let n = b.finish(0);
    buf.truncate(n);
    buf
}

/// `batch` with `bytes` written at `at`.
fn parse_changed(at: usize, bytes: &[u8]) -> Result<(), ProtoError> {
    let mut b = batch(1);
    b[at..at + bytes.len()].copy_from_slice(bytes);
    parse_batch(&b).map(drop)
}

const GAP_INFO: usize = BATCH_HEADER_SIZE + RECORD_HEADER_SIZE;
const EVENT: usize = BATCH_HEADER_SIZE + GAP_RECORD_SIZE;

fn inject(kind: u16) -> Vec<u8> {
    let mut buf = vec![0u8; 64];
    let mut b = InjectBuilder::new(&mut buf).unwrap();
    b.push(kind, b"abc").unwrap();
    let n = b.finish();
    buf.truncate(n);
    buf
}

fn parse_inject_changed(at: usize, bytes: &[u8]) -> Result<(), ProtoError> {
    let mut m = inject(1);
    m[at..at + bytes.len()].copy_from_slice(bytes);
    parse_inject(&m).map(drop)
}

fn ctl_code_formula() -> Result<(), String> {
    for (d, f, m, a) in [(0x22, 0x800, 0, 0), (0x22, 0x806, 0, 2), (0x1, 0xFFF, 3, 3)] {
        if ctl_code(d, f, m, a) != (d << 16) | (a << 14) | (f << 2) | m {
            return Err(format!("ctl_code({d:#x}, {f:#x}, {m}, {a}) is not the formula"));
        }
    }
    if (FILE_DEVICE_UNKNOWN, METHOD_BUFFERED) != (0x22, 0) {
        return Err("the device type is not 0x22 or the method not 0".into());
    }
    Ok(())
}

fn multiples_of_8() -> Result<(), String> {
    if RECORD_ALIGN != 8 {
        return Err(format!("RECORD_ALIGN is {RECORD_ALIGN}"));
    }
    expect("a ring of 8 bytes more than the default", subscribe(|c| c.ring_bytes += 8), false)?;
    expect("a ring of 4 bytes more than the default", subscribe(|c| c.ring_bytes += 4), true)?;
    let mut b = batch(1);
    b[offset_of!(BatchHeader, total_bytes)] -= 4;
    expect("a batch whose total_bytes is not a multiple of 8", parse_batch(&b).map(drop), true)?;
    let mut m = inject(1);
    m.extend([0; 4]);
    m[offset_of!(InjectHeader, total_bytes)] += 4;
    expect("an inject message whose length is not a multiple of 8", parse_inject(&m).map(drop), true)
}

fn rounded_up_to_8() -> Result<(), String> {
    for (len, size) in [(0, 24), (1, 32), (8, 32), (9, 40)] {
        if record_size(len) != size || RECORD_HEADER_SIZE != 24 {
            return Err(format!("a record of {len} payload bytes takes {}, not {size}", record_size(len)));
        }
    }
    Ok(())
}

fn padded_to_8() -> Result<(), String> {
    let mut buf = [0xAAu8; 64];
    let mut b = InjectBuilder::new(&mut buf).unwrap();
    b.push(1, b"abc").unwrap();
    let n = b.finish();
    let record = core::mem::size_of::<InjectHeader>() + core::mem::size_of::<InjectRecordHeader>();
    if n != record + 8 || buf[record + 3..record + 8] != [0; 5] {
        return Err(format!("an injected record of 3 payload bytes is not padded with zeros to 8: {:?}", &buf[..n]));
    }
    let mut out = [0xAAu8; 40];
    let header = RecordHeader { len: 3, kind: 1, flags: 0, seq: 0, timestamp: 0 };
    match write_record(&mut out, &header, b"abc") {
        Ok(32) if out[27..32] == [0; 5] => Ok(()),
        other => Err(format!("a record of 3 payload bytes is written as {other:?}, {:?}", &out[24..32])),
    }
}

fn receives_in_flight_from_1() -> Result<(), String> {
    expect("K = 0", subscribe(|c| c.max_in_flight = 0), true)?;
    expect("K = 1", subscribe(|c| c.max_in_flight = 1), false)
}

fn kinds_from_0() -> Result<(), String> {
    for (kind, refused) in [(0, false), (MAX_KIND, false), (MAX_KIND + 1, true)] {
        expect(
            &format!("injecting kind {kind}"),
            InjectBuilder::new(&mut [0u8; 64]).unwrap().push(kind, b""),
            refused,
        )?;
        expect(&format!("generating kind {kind}"), gen(|g| g.kind = kind), refused)?;
        let mut b = batch(1);
        b[EVENT + offset_of!(RecordHeader, kind)..][..2].copy_from_slice(&kind.to_le_bytes());
        expect(&format!("a record of kind {kind}"), parse_batch(&b).map(drop), refused)?;
    }
    Ok(())
}

fn subscribe_version_checked_first() -> Result<(), String> {
    let first = PROTOCOL_VERSION.to_le_bytes();
    if SubscribeConfig::parse(&first[..3]) != Err(ProtoError::BufferTooSmall) {
        return Err("3 bytes are not BufferTooSmall".into());
    }
    if SubscribeConfig::parse(&(PROTOCOL_VERSION + 1).to_le_bytes()) != Err(ProtoError::UnsupportedVersion) {
        return Err("4 bytes of another version are not UnsupportedVersion".into());
    }
    Ok(())
}

fn inject_needs_a_record() -> Result<(), String> {
    let mut m = vec![0u8; core::mem::size_of::<InjectHeader>()];
    m.copy_from_slice(
        InjectHeader { version: PROTOCOL_VERSION, record_count: 0, total_bytes: 16, reserved: 0 }.as_bytes(),
    );
    expect("an inject message of no record", parse_inject(&m).map(drop), true)?;
    expect("an inject message of one record", parse_inject(&inject(1)).map(drop), false)
}

fn subscribe_and_gen_reserved() -> Result<(), String> {
    expect("SubscribeConfig.reserved = 1", subscribe(|c| c.reserved = 1), true)?;
    expect("GenConfig.reserved = 1", gen(|g| g.reserved = 1), true)
}

fn inject_reserved() -> Result<(), String> {
    expect("InjectHeader.reserved = 1", parse_inject_changed(offset_of!(InjectHeader, reserved), &[1]), true)?;
    let record = core::mem::size_of::<InjectHeader>() + offset_of!(InjectRecordHeader, reserved);
    expect("InjectRecordHeader.reserved = 1", parse_inject_changed(record, &[1]), true)
}

fn gen_burst_range() -> Result<(), String> {
    expect("burst 0", gen(|g| g.burst = 0), true)?;
    expect("burst 1", gen(|g| g.burst = 1), false)?;
    expect("burst MAX_GEN_BURST", gen(|g| g.burst = MAX_GEN_BURST), false)?;
    expect("burst above MAX_GEN_BURST", gen(|g| g.burst = MAX_GEN_BURST + 1), true)
}

fn subscribe_flags() -> Result<(), String> {
    expect("flags 0", subscribe(|c| c.flags = 0), false)?;
    expect("ONE_EVENT_PER_COMPLETION", subscribe(|c| c.flags = ONE_EVENT_PER_COMPLETION), false)?;
    expect("an unknown flag", subscribe(|c| c.flags = SUBSCRIBE_FLAGS_KNOWN + 1), true)
}

fn gen_flags() -> Result<(), String> {
    expect("flags 0", gen(|g| g.flags = 0), false)?;
    expect("GEN_WAIT_FOR_ROOM", gen(|g| g.flags = GEN_WAIT_FOR_ROOM), false)?;
    expect("an unknown flag", gen(|g| g.flags = GEN_FLAGS_KNOWN + 1), true)
}

const POLICIES: [CompletionPolicy; 3] =
    [CompletionPolicy::Immediate, CompletionPolicy::Coalesce, CompletionPolicy::Adaptive];

fn min_records_from_1() -> Result<(), String> {
    for p in POLICIES {
        expect(&format!("{p:?}, min_records 0"), subscribe(|c| (c.completion, c.min_records) = (p as u32, 0)), true)?;
        expect(&format!("{p:?}, min_records 1"), subscribe(|c| (c.completion, c.min_records) = (p as u32, 1)), false)?;
    }
    Ok(())
}

fn max_delay_range() -> Result<(), String> {
    for p in POLICIES {
        for (us, refused) in [(0, true), (1, false), (MAX_DELAY_US, false), (MAX_DELAY_US + 1, true)] {
            let got = subscribe(|c| (c.completion, c.max_delay_us) = (p as u32, us));
            expect(&format!("{p:?}, max_delay_us {us}"), got, refused)?;
        }
    }
    Ok(())
}

fn fill_percent_range() -> Result<(), String> {
    for (percent, refused) in [(0, true), (1, false), (100, false), (101, true)] {
        expect(&format!("fill_percent {percent}"), subscribe(|c| c.fill_percent = percent), refused)?;
    }
    Ok(())
}

fn record_flags_0() -> Result<(), String> {
    expect("a record with flags 1", parse_changed(EVENT + offset_of!(RecordHeader, flags), &[1]), true)?;
    expect("the batch unchanged", parse_batch(&batch(1)).map(drop), false)
}

fn gap_count_from_1() -> Result<(), String> {
    let count = GAP_INFO + offset_of!(GapInfo, count);
    expect("a gap of count 0", parse_changed(count, &0u64.to_le_bytes()), true)?;
    // Count 1 (and the event after it renumbered to follow it).
    let mut b = batch(1);
    b[count..count + 8].copy_from_slice(&1u64.to_le_bytes());
    b[EVENT + offset_of!(RecordHeader, seq)..][..8].copy_from_slice(&1u64.to_le_bytes());
    expect("a gap of count 1", parse_batch(&b).map(drop), false)
}

fn batch_reserved() -> Result<(), String> {
    expect("BatchHeader.reserved = 1", parse_changed(offset_of!(BatchHeader, reserved), &[1]), true)
}

fn gap_reserved() -> Result<(), String> {
    expect("GapInfo.reserved = 1", parse_changed(GAP_INFO + offset_of!(GapInfo, reserved), &[1]), true)
}

fn stats_fields_not_written_read_as_0() -> Result<(), String> {
    let full = StatsReply { ring_budget_bytes: 7, ring_budget_used: 7, dropped_at_close: 7, ..StatsReply::default() };
    let read = StatsReply::parse(&full.as_bytes()[..STATS_REPLY_MIN_BYTES]).map_err(|e| e.to_string())?;
    match (read.ring_budget_bytes, read.ring_budget_used, read.dropped_at_close) {
        (0, 0, 0) => Ok(()),
        other => Err(format!("the fields after a reply's end read as {other:?}")),
    }
}

fn version_1() -> Result<(), String> {
    match PROTOCOL_VERSION {
        1 => Ok(()),
        v => Err(format!("PROTOCOL_VERSION is {v}")),
    }
}
