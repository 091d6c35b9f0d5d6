//! Drivers of their own built on the kchan library, loaded next to
//! `kchan.sys`, each with its own service and device: the C example
//! (`examples/c-driver`, through `libkchan_c.a`, publishing from a periodic
//! timer DPC) and the Rust example (`examples/rust-driver`, publishing from
//! a system thread). `cargo xtask test --only e2e` builds and loads all
//! three; every image passed the build's image checks (native subsystem,
//! imports from `ntoskrnl.exe` and `hal.dll` only) before it was loaded.
//!
//! The client side is the kchan client library, opened by device path, and
//! the `kchan` command with `--device`.
#![cfg(windows)]

use kchan::{Item, SubscribeOptions};
use kchan_e2e::service::Service;
use kchan_e2e::{serial, under_wine, wait_until, RECV_BYTES};
use kchan_proto::{
    GenConfig, StatsReply, IOCTL_RECV, LEAK_ALLOCS_VALUE, LEAK_BYTES_VALUE, PROTOCOL_VERSION, STATUS_CANCELLED,
    STATUS_NOT_SUPPORTED, STATUS_SUCCESS, UNLOAD_DROPPED_RECORDS_VALUE,
};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// One driver under test: its service, device and the events it publishes.
struct Example {
    service: &'static str,
    path: &'static str,
    /// The kind of the events its source publishes.
    kind: u16,
}

/// `examples/c-driver`: one `TICK_EVENT` (i64 tick, u32 period, u32 0) per
/// 10 ms timer DPC.
const C_EXAMPLE: Example = Example { service: "kchan_example_c", path: r"\\.\kchan_example_c", kind: 1 };
/// `examples/rust-driver`: one event (u64 count, LE) per 10 ms from its thread.
const RUST_EXAMPLE: Example = Example { service: "kchan_example_rust", path: r"\\.\kchan_example_rust", kind: 2 };

/// Subscribes to `example`'s own events and reads `n` of them (10 s at
/// most); returns them and the device's STATS taken right after.
fn read_events(example: &Example, n: usize) -> (Vec<kchan::Event>, StatsReply) {
    let device = kchan::Device::open_path(example.path)
        .unwrap_or_else(|e| panic!("open {} (is {} loaded?): {e}", example.path, example.service));
    let mut sub =
        device.subscribe(SubscribeOptions::new().kinds(1 << example.kind).max_in_flight(2)).expect("subscribe");
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while events.len() < n && Instant::now() < deadline {
        let Some(batch) = sub.next_batch_timeout(Duration::from_millis(500)).expect("receive") else { continue };
        for record in batch.records() {
            match Item::from_record(&record) {
                Item::Event(e) => events.push(e),
                Item::Gap(g) => panic!("{}: a gap at 100 events/s: {g:?}", example.service),
            }
        }
    }
    assert!(events.len() >= n, "{}: {} events in 10 s, expected {n}", example.service, events.len());
    let stats = device.stats().expect("stats");
    (events, stats)
}

/// What every example's stream must show: its kind only, contiguous
/// sequence numbers and source counters, timestamps in order and paced by
/// the source's 10 ms period, balanced counters.
fn check_stream(example: &Example, events: &[kchan::Event], stats: &StatsReply) {
    let first = events[0].seq;
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.kind, example.kind, "{}: only the subscribed kind", example.service);
        assert_eq!(e.seq, first + i as u64, "{}: contiguous sequence numbers", example.service);
    }
    assert!(events.windows(2).all(|w| w[0].timestamp <= w[1].timestamp), "{}: timestamps in order", example.service);
    // The source's own counter (payload bytes 0..8): one event per timer
    // expiry or loop turn, none lost between the source and the ring.
    let first_count = counter(&events[0]);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(counter(e), first_count + i as u64, "{}: the source's counter follows itself", example.service);
    }
    // Both sources publish every 10 ms: the events are paced, not a burst
    // (half the periods as the bound: a loaded machine delays some ticks).
    let span = events[events.len() - 1].timestamp - events[0].timestamp;
    let periods = events.len() as u64 / 2;
    assert!(span >= periods * 100_000, "{}: {} events span {span} x 100 ns", example.service, events.len());
    let sub = &stats.subscriber;
    assert!(sub.balanced(), "{}: published = delivered + in ring + dropped: {sub:?}", example.service);
    assert_eq!(sub.dropped(), 0, "{}: nothing dropped", example.service);
    assert!(sub.delivered >= events.len() as u64, "{}: {sub:?}", example.service);
    assert!(stats.channel.published >= sub.published, "{}: {:?}", example.service, stats.channel);
}

/// The first 8 bytes of a payload, little-endian.
fn counter(e: &kchan::Event) -> u64 {
    u64::from_le_bytes(e.payload[..8].try_into().expect("payload of at least 8 bytes"))
}

#[test]
fn the_three_drivers_run_side_by_side_each_under_its_own_name() {
    let _g = serial();
    for (service, path) in
        [("kchan", r"\\.\kchan"), (C_EXAMPLE.service, C_EXAMPLE.path), (RUST_EXAMPLE.service, RUST_EXAMPLE.path)]
    {
        assert!(Service::named(service).running(), "{service} runs");
        let device = kchan::Device::open_path(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        assert_eq!(device.version().protocol_version, PROTOCOL_VERSION, "{path} speaks the same protocol");
    }

    // The same IOCTL surface: an embedding driver without a generator
    // answers GEN_START with a precise status (and keeps serving).
    let refused = kchan::Device::open_path(C_EXAMPLE.path).expect("open").start_generator(&GenConfig::default());
    assert!(
        matches!(refused, Err(kchan::Error::Request { ntstatus: STATUS_NOT_SUPPORTED, .. })),
        "GEN_START on a driver without a generator: {refused:?}"
    );

    // Each device is a channel of its own: an event injected into kchan.sys
    // reaches no subscriber of the C example, one injected there does.
    let kind = 9;
    let example = kchan::Device::open_path(C_EXAMPLE.path).expect("open the C example");
    let mut sub = example.subscribe(SubscribeOptions::new().kinds(1 << kind)).expect("subscribe");
    kchan::Device::open().expect("open kchan").inject([(kind, &b"to kchan.sys"[..])]).expect("inject into kchan");
    kchan::Device::open_path(C_EXAMPLE.path)
        .expect("open the C example")
        .inject([(kind, &b"to the C example"[..])])
        .expect("inject into the C example");
    let batch = sub.next_batch_timeout(Duration::from_secs(5)).expect("receive").expect("an event within 5 s");
    let items: Vec<Item> = batch.records().map(|r| Item::from_record(&r)).collect();
    assert!(
        matches!(&items[..], [Item::Event(e)] if e.payload == b"to the C example"),
        "only the C example's own event: {items:?}"
    );
}

#[test]
fn the_c_driver_streams_the_events_of_its_timer_dpc() {
    let _g = serial();
    let (events, stats) = read_events(&C_EXAMPLE, 50);
    check_stream(&C_EXAMPLE, &events, &stats);
    for e in &events {
        assert_eq!(e.payload.len(), 16, "TICK_EVENT is 16 bytes");
        assert_eq!(u32::from_le_bytes(e.payload[8..12].try_into().unwrap()), 10, "PeriodMs");
    }
}

#[test]
fn the_rust_driver_streams_its_own_events() {
    let _g = serial();
    let (events, stats) = read_events(&RUST_EXAMPLE, 50);
    check_stream(&RUST_EXAMPLE, &events, &stats);
    assert!(events.iter().all(|e| e.payload.len() == 8), "an 8-byte counter");
}

/// Stops `example`'s service with a subscriber and receives pending, and
/// another holding records injected for it, unread, and checks the unload
/// report its driver wrote under its own service key. Under Wine the
/// unload runs at once, completes the receives and counts the unread
/// records: at least the injected ones (the example's own events may be
/// waiting in the first subscriber's ring too; `unload.rs` checks the exact
/// count on `kchan.sys`). Windows defers the unload until the handles
/// close, whose CLEANUP completes the receives and counts the records: the
/// unload finds none.
fn unload_with_a_client_attached(example: &Example) {
    const UNREAD_KIND: u16 = 50;
    let service = Service::named(example.service);
    let kchan_service = Service::open();
    for s in [&service, &kchan_service] {
        s.delete_value(LEAK_ALLOCS_VALUE);
        s.delete_value(LEAK_BYTES_VALUE);
        s.delete_value(UNLOAD_DROPPED_RECORDS_VALUE);
    }

    let device = kchan_e2e::Device::open_path(example.path).expect("open the example");
    device.subscribe(&kchan_e2e::only_kind(example.kind)).expect("subscribe");
    let mut receives: Vec<_> = (0..4).map(|_| device.post(IOCTL_RECV, &[], RECV_BYTES).expect("post RECV")).collect();
    let unread = kchan_e2e::Device::open_path(example.path).expect("open the example again");
    unread.subscribe(&kchan_e2e::only_kind(UNREAD_KIND)).expect("subscribe");
    unread.inject(&[(UNREAD_KIND, b"one"), (UNREAD_KIND, b"two"), (UNREAD_KIND, b"three")]);
    let mut handle = Some((device, unread));
    service.request_stop();
    let wine = under_wine();
    if wine {
        service.wait_stopped();
    } else {
        drop(handle.take());
    }
    for op in &mut receives {
        assert!(op.wait_timeout(Duration::from_secs(5)), "{}: every pending receive completes", example.service);
        let st = op.status();
        assert!(
            st == STATUS_SUCCESS || st == STATUS_CANCELLED,
            "{}: completed with events or cancelled: {st:#x}",
            example.service
        );
    }
    if !wine {
        service.wait_stopped();
    }
    assert!(kchan_e2e::Device::open_path(example.path).is_err(), "{} is gone after the stop", example.path);
    // Written at the end of the unload, which the service state may not wait for.
    wait_until(Duration::from_secs(10), || service.read_qword(LEAK_BYTES_VALUE).is_some());
    assert_eq!(service.read_qword(LEAK_ALLOCS_VALUE), Some(0), "{}: allocations live after unload", example.service);
    assert_eq!(service.read_qword(LEAK_BYTES_VALUE), Some(0), "{}: bytes live after unload", example.service);
    let dropped = service.read_qword(UNLOAD_DROPPED_RECORDS_VALUE);
    if wine {
        assert!(dropped >= Some(3), "{}: the 3 unread records counted at unload: {dropped:?}", example.service);
    } else {
        assert_eq!(dropped, Some(0), "{}: the handles' CLEANUP counted them", example.service);
    }
    assert_eq!(kchan_service.read_qword(LEAK_ALLOCS_VALUE), None, "{} wrote into kchan's key", example.service);
    drop(handle);

    assert!(service.start(), "{} restarted", example.service);
    assert!(
        wait_until(Duration::from_secs(10), || kchan::Device::open_path(example.path).is_ok()),
        "{} opens again",
        example.path
    );
}

#[test]
fn unloading_the_c_driver_with_a_client_attached_leaves_its_report_at_zero() {
    let _g = serial();
    unload_with_a_client_attached(&C_EXAMPLE);
}

#[test]
fn unloading_the_rust_driver_with_a_client_attached_leaves_its_report_at_zero() {
    let _g = serial();
    unload_with_a_client_attached(&RUST_EXAMPLE);
}

/// `kchan.exe ARGS` (built next to this test's `deps/` directory): its
/// standard output, which must come with exit code 0.
fn kchan_command(args: &[&str]) -> String {
    let exe = std::env::current_exe().expect("test path");
    let kchan: PathBuf = exe.parent().and_then(|deps| deps.parent()).expect("release dir").join("kchan.exe");
    let out = Command::new(&kchan).args(args).output().expect("kchan.exe runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "kchan {args:?} failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn the_kchan_command_reads_each_example_by_name() {
    let _g = serial();
    for example in [&C_EXAMPLE, &RUST_EXAMPLE] {
        let kind = example.kind.to_string();
        let device = example.service;
        // monitor: two seconds of the source's events (100/s), nothing lost.
        let out = kchan_command(&["monitor", "--device", device, "--kinds", &kind, "--json", "--seconds", "2"]);
        let summary: serde_json::Value =
            serde_json::from_str(out.lines().last().expect("a summary line")).expect("JSON summary");
        assert_eq!(summary["summary"], true, "{device}: {out}");
        let events = summary["events"].as_u64().expect("events");
        assert!((50..=400).contains(&events), "{device}: about 200 events in 2 s at 100/s: {summary}");
        assert_eq!((summary["gaps"].as_u64(), summary["lost"].as_u64()), (Some(0), Some(0)), "{device}: {summary}");

        // tail: the next 20 events, one JSON line each, contiguous.
        let out = kchan_command(&[
            "tail",
            "--device",
            device,
            "--kinds",
            &kind,
            "--json",
            "--count",
            "20",
            "--seconds",
            "10",
        ]);
        let lines: Vec<serde_json::Value> =
            out.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
        assert_eq!(lines.len(), 20, "{device}: {out}");
        let first = lines[0]["seq"].as_u64().expect("seq");
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(line["seq"].as_u64(), Some(first + i as u64), "{device}: contiguous: {line}");
            assert_eq!(line["kind"].as_u64(), Some(u64::from(example.kind)), "{device}: {line}");
        }

        // stats: the counters of the example's own channel.
        let stats: serde_json::Value =
            serde_json::from_str(kchan_command(&["stats", "--device", device, "--json"]).trim()).expect("JSON stats");
        assert!(stats["published"].as_u64().unwrap_or(0) > 0, "{device}: {stats}");
    }
}
