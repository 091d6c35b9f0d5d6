//! Records still waiting in a ring when its subscriber goes away: CLEANUP
//! (Windows), CLOSE without CLEANUP (Wine), unload with handles open. The
//! subscriber's counters go with it; the channel's `dropped_at_close` and
//! `dropped`, read through another handle's STATS, carry exactly the event
//! records its ring held, and unload reports its own count.

use super::flow::{inject_message, stats, RW};
use crate::fake::{FakeHandle, FakeIo};
use crate::{Closed, Config};
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::*;

/// A handle subscribed to `kind` only, with `config`'s other settings.
fn subscribed(io: &FakeIo, kind: u16, config: SubscribeConfig) -> FakeHandle {
    let (h, st) = io.open(RW);
    assert_eq!(st, STATUS_SUCCESS);
    let config = SubscribeConfig { kind_mask: 1 << kind, ..config };
    assert_eq!(io.ioctl(&h, IOCTL_SUBSCRIBE, config.as_bytes(), 0).status, STATUS_SUCCESS);
    h
}

/// Injects `n` records of `kind` with `payload`.
fn inject(io: &FakeIo, h: &FakeHandle, kind: u16, n: usize, payload: &[u8]) {
    let records: Vec<(u16, &[u8])> = (0..n).map(|_| (kind, payload)).collect();
    assert_eq!(io.ioctl(h, IOCTL_INJECT, &inject_message(&records), 0).status, STATUS_SUCCESS);
}

/// (dropped at close, dropped), channel-wide, through `h`'s STATS.
fn dropped(io: &FakeIo, h: &FakeHandle) -> (u64, u64) {
    let s = stats(io, h);
    (s.dropped_at_close, s.channel.dropped)
}

#[test]
fn cleanup_counts_the_records_left_in_the_ring_once_and_close_after_it_nothing() {
    let io = FakeIo::new(Config::default());
    let (observer, _) = io.open(RW);
    let a = subscribed(&io, 5, SubscribeConfig::default());
    inject(&io, &observer, 5, 7, b"left unread");
    inject(&io, &observer, 6, 3, b"not a's kind");
    assert_eq!(stats(&io, &a).subscriber.in_ring_records, 7);
    assert_eq!(dropped(&io, &observer), (0, 0));

    assert_eq!(io.cleanup(&a), STATUS_SUCCESS);
    assert_eq!(dropped(&io, &observer), (7, 7), "the ring went with its 7 records");
    assert_eq!(io.close(&a), STATUS_SUCCESS);
    assert_eq!(dropped(&io, &observer), (7, 7), "CLOSE after CLEANUP counts nothing more");
    let c = stats(&io, &observer).channel;
    assert_eq!((c.subscribers, c.fanout, c.dropped), (0, 7, 7), "fan-out 7, none delivered: all 7 dropped");
    io.close(&observer);
    assert_eq!(io.unload(), Closed::default(), "nothing left for unload");
}

#[test]
fn close_without_cleanup_as_under_wine_completes_the_receive_and_counts_the_records() {
    let io = FakeIo::new(Config::default());
    let (observer, _) = io.open(RW);
    let a = subscribed(&io, 5, SubscribeConfig::default());
    let first = io.ioctl(&a, IOCTL_RECV, &[], 64 * 1024);
    assert_eq!(first.status, STATUS_PENDING);
    inject(&io, &observer, 5, 4, b"one delivered");
    assert_eq!(first.irp.completion().expect("the first record completes it").status, STATUS_SUCCESS);
    // Coalescing (its records kept): a receive pends while records wait.
    let held = SubscribeConfig {
        kind_mask: 1 << 5,
        completion: CompletionPolicy::Coalesce as u32,
        min_records: 100,
        max_delay_us: MAX_DELAY_US,
        ..SubscribeConfig::default()
    };
    assert_eq!(io.ioctl(&a, IOCTL_SUBSCRIBE, held.as_bytes(), 0).status, STATUS_SUCCESS);
    let pending = io.ioctl(&a, IOCTL_RECV, &[], 64 * 1024);
    assert_eq!(pending.status, STATUS_PENDING);
    inject(&io, &observer, 5, 2, b"held");
    let s = stats(&io, &a).subscriber;
    assert_eq!((s.delivered, s.in_ring_records, s.pending_receives), (1, 3 + 2, 1), "{s:?}");

    assert_eq!(io.close(&a), STATUS_SUCCESS); // no CLEANUP before it
    assert_eq!(pending.irp.completion().expect("CLOSE completes it").status, STATUS_CANCELLED);
    assert_eq!(dropped(&io, &observer), (5, 5), "the 5 waiting; the one delivered is not counted");
    let c = stats(&io, &observer).channel;
    assert_eq!((c.fanout, c.dropped), (6, 5), "channel-wide: 1 delivered + 5 dropped");
    io.close(&observer);
    io.unload();
}

#[test]
fn unload_with_handles_open_reports_the_records_left_in_their_rings() {
    let io = FakeIo::new(Config::default());
    let (observer, _) = io.open(RW);
    let _a = subscribed(&io, 5, SubscribeConfig::default());
    // Drop-newest, room for two 16000-byte records: the third is lost.
    let small = SubscribeConfig { ring_bytes: 32 * 1024, ..SubscribeConfig::default() };
    let b = subscribed(&io, 6, small);
    let (_unbound, _) = io.open(RW);
    inject(&io, &observer, 5, 3, b"a");
    inject(&io, &observer, 6, 3, &[6; 16000]);
    assert_eq!(stats(&io, &b).subscriber.dropped_ring_full, 1);
    // One handle closed before the unload: counted then, not by the unload.
    let gone = subscribed(&io, 5, SubscribeConfig::default());
    inject(&io, &observer, 5, 2, b"gone");
    io.cleanup(&gone);
    assert_eq!(dropped(&io, &observer), (2, 1 + 2), "`gone`'s 2 at close, b's 1 ring full");

    let closed = io.unload();
    assert_eq!(closed, Closed { subscribers: 2, records_dropped: 5 + 2 }, "a: 3 + 2, b: 2 (its gap not counted)");
}

#[test]
fn a_stats_buffer_of_the_budget_layout_gets_that_layout_whole() {
    // A client built before `dropped_at_close` asks for 33 u64s; the
    // driver writes what fits, the same bytes as the start of the reply.
    let io = FakeIo::new(Config::default());
    let (h, _) = io.open(RW);
    let a = subscribed(&io, 5, SubscribeConfig::default());
    inject(&io, &h, 5, 2, b"x");
    io.cleanup(&a);
    let full = io.ioctl(&h, IOCTL_STATS, &[], core::mem::size_of::<StatsReply>());
    let old = io.ioctl(&h, IOCTL_STATS, &[], 33 * 8);
    let (full, old) = (full.irp.completion().unwrap(), old.irp.completion().unwrap());
    assert_eq!((full.status, full.information, old.status, old.information), (0, 34 * 8, 0, 33 * 8));
    assert_eq!(old.output[..33 * 8], full.output[..33 * 8]);
    assert_eq!(StatsReply::parse(&full.output).unwrap().dropped_at_close, 2);
    assert_eq!(StatsReply::parse(&old.output).unwrap().dropped_at_close, 0, "not in that layout");
    io.close(&h);
    io.unload();
}
