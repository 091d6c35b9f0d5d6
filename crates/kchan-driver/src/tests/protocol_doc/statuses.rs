//! Every status the driver completes each request with, provoked through
//! the fake I/O manager: bad sizes and fields, missing access, a request
//! without a file object, an unknown code, too many receives, a full
//! budget and table, a reconfigure that would lose receives, a driver
//! without a generator, requests racing a close, and the unload. Each
//! status is noted under the table of `docs/protocol.md` that must list
//! it: the request's own, or [`COMMON`] for the checks every request goes
//! through first.

use crate::dispatch::{FILE_READ_DATA, FILE_WRITE_DATA};
use crate::fake::{FakeHandle, FakeIo, Sent};
use crate::tests::flow::{inject_message, RW};
use crate::{Config, Limits, NtStatus, SourceHooks};
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::*;
use std::collections::{BTreeMap, BTreeSet};

/// The heading of the table of statuses every request can get.
pub const COMMON: &str = "What each IOCTL completes with";

/// Every IOCTL and its code.
pub const IOCTLS: [(&str, u32); 8] = [
    ("IOCTL_VERSION", IOCTL_VERSION),
    ("IOCTL_SUBSCRIBE", IOCTL_SUBSCRIBE),
    ("IOCTL_SUBSCRIBE_WRITE_ACCESS", IOCTL_SUBSCRIBE_WRITE_ACCESS),
    ("IOCTL_RECV", IOCTL_RECV),
    ("IOCTL_STATS", IOCTL_STATS),
    ("IOCTL_INJECT", IOCTL_INJECT),
    ("IOCTL_GEN_START", IOCTL_GEN_START),
    ("IOCTL_GEN_STOP", IOCTL_GEN_STOP),
];

/// A driver's event source that accepts every start and stop.
struct Generator;

impl SourceHooks for Generator {
    fn gen_start(&self, _: &GenConfig) -> NtStatus {
        STATUS_SUCCESS
    }
    fn gen_stop(&self) -> NtStatus {
        STATUS_SUCCESS
    }
    fn fill_stats(&self, _: &mut ChannelStats) {}
    fn shutdown(&self) {}
}

static GENERATOR: Generator = Generator;

/// Statuses seen, by the heading of the table that must list them.
#[derive(Default)]
pub struct Seen(pub BTreeMap<&'static str, BTreeSet<NtStatus>>);

impl Seen {
    fn note(&mut self, table: &'static str, status: NtStatus) {
        self.0.entry(table).or_default().insert(status);
    }

    /// Sends a request, notes its dispatch status under `table`, and, if it
    /// completed, its completion status.
    fn send(&mut self, io: &FakeIo, h: &FakeHandle, table: &'static str, code: u32, input: &[u8], out: usize) -> Sent {
        let sent = io.ioctl(h, code, input, out);
        self.note(table, sent.status);
        self.finished(table, &sent);
        sent
    }

    /// Notes the completion status of `sent`, if it completed.
    fn finished(&mut self, table: &'static str, sent: &Sent) {
        if let Some(c) = sent.irp.completion() {
            self.note(table, c.status);
        }
    }
}

fn resized(bytes: &[u8], len: usize) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v.resize(len, 0);
    v
}

fn subscribe_with(f: impl FnOnce(&mut SubscribeConfig)) -> Vec<u8> {
    let mut c = SubscribeConfig::default();
    f(&mut c);
    c.as_bytes().to_vec()
}

fn gen_with(f: impl FnOnce(&mut GenConfig)) -> Vec<u8> {
    let mut g = GenConfig::default();
    f(&mut g);
    g.as_bytes().to_vec()
}

/// Provokes every status this module knows how to, and returns them.
pub fn provoke_every_status() -> Seen {
    let mut seen = Seen::default();
    sizes_and_fields(&mut seen);
    access_and_file_objects(&mut seen);
    receives(&mut seen);
    subscribes(&mut seen);
    a_driver_without_a_generator(&mut seen);
    the_drivers_own_limits(&mut seen);
    seen
}

fn sizes_and_fields(seen: &mut Seen) {
    let io = FakeIo::with_hooks(Config::default(), Some(&GENERATOR));
    let (h, _) = io.open(RW);
    let version = core::mem::size_of::<VersionInfo>();
    for out in [0, version - 1, version, 1000] {
        seen.send(&io, &h, "IOCTL_VERSION", IOCTL_VERSION, &[], out);
    }
    let stats = core::mem::size_of::<StatsReply>();
    for out in [0, STATS_REPLY_MIN_BYTES - 1, STATS_REPLY_MIN_BYTES, stats, stats + 100] {
        seen.send(&io, &h, "IOCTL_STATS", IOCTL_STATS, &[], out);
    }
    let limits = io.device.config().limits;
    let valid = subscribe_with(|_| {});
    let mut inputs: Vec<Vec<u8>> =
        [0, 3, 4, valid.len() - 1, valid.len(), valid.len() + 1].into_iter().map(|len| resized(&valid, len)).collect();
    inputs.push(subscribe_with(|c| c.version = PROTOCOL_VERSION + 1));
    inputs.push(subscribe_with(|c| c.reserved = 1));
    inputs.push(subscribe_with(|c| c.ring_bytes = limits.min_ring_bytes() as u32 - 8));
    inputs.push(subscribe_with(|c| c.ring_bytes = limits.max_ring_bytes as u32 + 8));
    inputs.push(subscribe_with(|c| c.max_in_flight = limits.max_in_flight as u32 + 1));
    for code in [IOCTL_SUBSCRIBE, IOCTL_SUBSCRIBE_WRITE_ACCESS] {
        for input in &inputs {
            seen.send(&io, &h, "IOCTL_SUBSCRIBE", code, input, 0);
        }
    }
    let min = limits.min_recv_bytes();
    for out in [0, min - 1, io.device.config().max_recv_bytes + 8] {
        seen.send(&io, &h, "IOCTL_RECV", IOCTL_RECV, &[], out);
    }
    let pending = seen.send(&io, &h, "IOCTL_RECV", IOCTL_RECV, &[], min);
    io.cancel(&pending.irp);
    seen.finished("IOCTL_RECV", &pending);
    let message = inject_message(&[(1, b"abc")]);
    // Longer than its records, or than any message, with `total_bytes` saying so.
    let with_total = |len: usize| {
        let mut m = resized(&message, len);
        m[8..12].copy_from_slice(&(len as u32).to_le_bytes());
        m
    };
    let (long, too_long) = (with_total(message.len() + 8), with_total(MAX_INJECT_BYTES + 8));
    let mut other_version = message.clone();
    other_version[0] += 1;
    for input in [vec![], message[..15].to_vec(), message.clone(), resized(&message, message.len() + 8), long, too_long]
        .into_iter()
        .chain([other_version])
    {
        seen.send(&io, &h, "IOCTL_INJECT", IOCTL_INJECT, &input, 0);
    }
    let gen = gen_with(|_| {});
    for input in [
        vec![],
        gen[..gen.len() - 1].to_vec(),
        gen.clone(),
        resized(&gen, gen.len() + 1),
        gen_with(|g| g.version = PROTOCOL_VERSION + 1),
        gen_with(|g| g.burst = 0),
    ] {
        seen.send(&io, &h, "IOCTL_GEN_START", IOCTL_GEN_START, &input, 0);
    }
    seen.send(&io, &h, "IOCTL_GEN_STOP", IOCTL_GEN_STOP, &[], 0);
    // Input to a code that takes none.
    for code in [IOCTL_VERSION, IOCTL_STATS, IOCTL_RECV, IOCTL_GEN_STOP] {
        seen.send(&io, &h, COMMON, code, &[1], STATS_REPLY_MIN_BYTES.max(min));
    }
    seen.send(&io, &h, COMMON, ctl_code(FILE_DEVICE_UNKNOWN, 0x807, METHOD_BUFFERED, FILE_ANY_ACCESS), &[], 0);
    io.unload();
    for (_, code) in IOCTLS {
        seen.send(&io, &h, COMMON, code, &[], 0);
    }
}

fn access_and_file_objects(seen: &mut Seen) {
    let io = FakeIo::with_hooks(Config::default(), Some(&GENERATOR));
    let (reader, _) = io.open(Some(FILE_READ_DATA));
    let (writer, _) = io.open(Some(FILE_WRITE_DATA));
    let (nothing, _) = io.open(Some(0));
    for (name, code) in IOCTLS {
        let needs_write =
            matches!(code, IOCTL_INJECT | IOCTL_GEN_START | IOCTL_GEN_STOP | IOCTL_SUBSCRIBE_WRITE_ACCESS);
        let denied = if needs_write { &reader } else { &writer };
        if code != IOCTL_VERSION {
            seen.send(&io, denied, COMMON, code, &[], 0);
            seen.send(&io, &nothing, COMMON, code, &[], 0);
        } else {
            seen.send(&io, &nothing, name, code, &[], core::mem::size_of::<VersionInfo>());
        }
        let sent = io.ioctl_without_file(code, &[], 0);
        seen.note(COMMON, sent.status);
    }
    io.unload();
}

fn receives(seen: &mut Seen) {
    let io = FakeIo::new(Config::default());
    let min = io.device.config().limits.min_recv_bytes();
    let (h, _) = io.open(RW);
    seen.send(&io, &h, "IOCTL_SUBSCRIBE", IOCTL_SUBSCRIBE, &subscribe_with(|c| c.max_in_flight = 1), 0);
    let first = seen.send(&io, &h, "IOCTL_RECV", IOCTL_RECV, &[], min);
    seen.send(&io, &h, "IOCTL_RECV", IOCTL_RECV, &[], min); // one more than K
    seen.send(&io, &h, "IOCTL_INJECT", IOCTL_INJECT, &inject_message(&[(1, b"a")]), 0);
    seen.finished("IOCTL_RECV", &first);
    seen.send(&io, &h, "IOCTL_INJECT", IOCTL_INJECT, &inject_message(&[(1, b"b")]), 0);
    seen.send(&io, &h, "IOCTL_RECV", IOCTL_RECV, &[], min); // completes inside its post
                                                            // Cancelled before the driver got it.
    let irp = FakeIo::build(&h, IOCTL_RECV, &[], min);
    let cell = irp.cell();
    assert!(io.begin_cancel(&cell).is_none(), "no cancel routine yet");
    seen.note("IOCTL_RECV", io.send(irp));
    // Pending when its handle closes; then the handle is closing.
    let pending = seen.send(&io, &h, "IOCTL_RECV", IOCTL_RECV, &[], min);
    io.cleanup(&h);
    seen.finished("IOCTL_RECV", &pending);
    seen.send(&io, &h, "IOCTL_RECV", IOCTL_RECV, &[], min);
    seen.send(&io, &h, "IOCTL_SUBSCRIBE", IOCTL_SUBSCRIBE, &subscribe_with(|_| {}), 0);
    io.close(&h);
    // Pending when the driver unloads.
    let (other, _) = io.open(RW);
    let pending = seen.send(&io, &other, "IOCTL_RECV", IOCTL_RECV, &[], min);
    io.unload();
    seen.finished("IOCTL_RECV", &pending);
}

fn subscribes(seen: &mut Seen) {
    let io = FakeIo::new(Config { ring_budget_bytes: 1 << 20, ..Config::default() });
    let (h, _) = io.open(RW);
    seen.send(&io, &h, "IOCTL_SUBSCRIBE", IOCTL_SUBSCRIBE, &subscribe_with(|c| c.ring_bytes = 2 << 20), 0);
    io.unload();

    let io = FakeIo::new(Config { limits: Limits { max_subscribers: 1, ..Limits::default() }, ..Config::default() });
    let (a, _) = io.open(RW);
    let (b, _) = io.open(RW);
    let two = subscribe_with(|c| c.max_in_flight = 2);
    seen.send(&io, &a, "IOCTL_SUBSCRIBE", IOCTL_SUBSCRIBE, &two, 0);
    seen.send(&io, &b, "IOCTL_SUBSCRIBE", IOCTL_SUBSCRIBE, &two, 0); // the table is full
    let min = io.device.config().limits.min_recv_bytes();
    let receives = [io.ioctl(&a, IOCTL_RECV, &[], min), io.ioctl(&a, IOCTL_RECV, &[], min)];
    let one = subscribe_with(|c| c.max_in_flight = 1);
    seen.send(&io, &a, "IOCTL_SUBSCRIBE", IOCTL_SUBSCRIBE, &one, 0); // below the receives pending
    io.unload();
    for r in &receives {
        seen.finished("IOCTL_RECV", r);
    }
}

fn a_driver_without_a_generator(seen: &mut Seen) {
    let io = FakeIo::new(Config::default());
    let (h, _) = io.open(RW);
    for input in [gen_with(|_| {}), vec![]] {
        seen.send(&io, &h, "IOCTL_GEN_START", IOCTL_GEN_START, &input, 0);
    }
    seen.send(&io, &h, "IOCTL_GEN_STOP", IOCTL_GEN_STOP, &[], 0);
    io.unload();
}

fn the_drivers_own_limits(seen: &mut Seen) {
    // A payload within the protocol's bound but above the driver's.
    let io = FakeIo::new(Config { limits: Limits { max_payload: 8, ..Limits::default() }, ..Config::default() });
    let (h, _) = io.open(RW);
    seen.send(&io, &h, "IOCTL_INJECT", IOCTL_INJECT, &inject_message(&[(1, &[0; 16])]), 0);
    io.unload();
    // The default subscription of a handle that receives first, outside
    // the driver's limits, then beyond its ring budget.
    let min = Limits::default().min_recv_bytes();
    for config in [
        Config { limits: Limits { max_ring_bytes: 512 << 10, ..Limits::default() }, ..Config::default() },
        Config { ring_budget_bytes: 512 << 10, ..Config::default() },
    ] {
        let io = FakeIo::new(config);
        let (h, _) = io.open(RW);
        seen.send(&io, &h, "IOCTL_RECV", IOCTL_RECV, &[], min);
        io.unload();
    }
}
