//! One request at a time: what each request does to a handle and the
//! channel.

use crate::dispatch::{FILE_READ_DATA, FILE_WRITE_DATA};
use crate::fake::FakeIo;
use crate::Config;
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::*;

pub(super) const RW: Option<u32> = Some(FILE_READ_DATA | FILE_WRITE_DATA);

pub(super) fn inject_message(records: &[(u16, &[u8])]) -> Vec<u8> {
    let mut buf = vec![0u8; MAX_INJECT_BYTES];
    let mut b = InjectBuilder::new(&mut buf).unwrap();
    for (kind, payload) in records {
        b.push(*kind, payload).unwrap();
    }
    let n = b.finish();
    buf.truncate(n);
    buf
}

pub(super) fn stats(io: &FakeIo, h: &crate::fake::FakeHandle) -> StatsReply {
    let sent = io.ioctl(h, IOCTL_STATS, &[], core::mem::size_of::<StatsReply>());
    assert_eq!(sent.status, STATUS_SUCCESS);
    StatsReply::parse(&sent.irp.completion().unwrap().output).unwrap()
}

#[test]
fn subscribe_inject_receive() {
    let io = FakeIo::new(Config::default());
    let (h, st) = io.open(RW);
    assert_eq!(st, STATUS_SUCCESS);
    let cfg = SubscribeConfig { kind_mask: 1 << 5, ..SubscribeConfig::default() };
    assert_eq!(io.ioctl(&h, IOCTL_SUBSCRIBE, cfg.as_bytes(), 0).status, STATUS_SUCCESS);
    let recv = io.ioctl(&h, IOCTL_RECV, &[], 64 * 1024);
    assert_eq!(recv.status, STATUS_PENDING);
    assert!(recv.irp.marked_pending());
    assert_eq!(io.ioctl(&h, IOCTL_INJECT, &inject_message(&[(5, b"hello")]), 0).status, STATUS_SUCCESS);
    let done = recv.irp.completion().expect("completed by the publish");
    assert_eq!(done.status, STATUS_SUCCESS);
    let records: Vec<_> = parse_batch(&done.output).unwrap().collect();
    assert_eq!(records.len(), 1);
    let s = stats(&io, &h);
    assert_eq!((s.subscriber.published, s.subscriber.delivered), (1, 1));
    assert_eq!(io.close(&h), STATUS_SUCCESS);
    assert_eq!(io.unload().subscribers, 0);
}

#[test]
fn cancel_completes_a_pending_receive_once() {
    let io = FakeIo::new(Config::default());
    let (h, _) = io.open(RW);
    let recv = io.ioctl(&h, IOCTL_RECV, &[], 64 * 1024);
    assert_eq!(recv.status, STATUS_PENDING);
    io.cancel(&recv.irp);
    assert_eq!(recv.irp.completions(), 1);
    assert_eq!(recv.irp.completion().unwrap().status, STATUS_CANCELLED);
    io.cancel(&recv.irp); // a second IoCancelIrp finds no routine
    assert_eq!(recv.irp.completions(), 1);
    assert_eq!(stats(&io, &h).subscriber.cancels, 1);
    io.close(&h);
    assert_eq!(io.unload().subscribers, 0);
}

#[test]
fn cleanup_completes_the_handles_receives_and_close_after_it_is_harmless() {
    let io = FakeIo::new(Config::default());
    let (h, _) = io.open(RW);
    let recvs: Vec<_> = (0..3).map(|_| io.ioctl(&h, IOCTL_RECV, &[], 64 * 1024)).collect();
    assert!(recvs.iter().all(|r| r.status == STATUS_PENDING));
    assert_eq!(io.cleanup(&h), STATUS_SUCCESS);
    for r in &recvs {
        assert_eq!((r.irp.completions(), r.irp.completion().unwrap().status), (1, STATUS_CANCELLED));
    }
    // A request dispatched after CLEANUP (it raced the handle's close)
    // finds the handle closed.
    assert_eq!(io.ioctl(&h, IOCTL_RECV, &[], 64 * 1024).status, STATUS_DELETE_PENDING);
    assert_eq!(io.close(&h), STATUS_SUCCESS);
    assert_eq!(io.unload().subscribers, 0, "CLEANUP closed the subscriber already");
}

#[test]
fn coalesced_receives_complete_on_the_timer() {
    let io = FakeIo::new(Config::default());
    let (h, _) = io.open(RW);
    let cfg = SubscribeConfig {
        completion: CompletionPolicy::Coalesce as u32,
        min_records: 10,
        max_delay_us: 1000,
        ..SubscribeConfig::default()
    };
    assert_eq!(io.ioctl(&h, IOCTL_SUBSCRIBE, cfg.as_bytes(), 0).status, STATUS_SUCCESS);
    let recv = io.ioctl(&h, IOCTL_RECV, &[], 64 * 1024);
    io.ioctl(&h, IOCTL_INJECT, &inject_message(&[(1, b"x")]), 0);
    assert_eq!(recv.irp.completions(), 0, "held: fewer than min_records");
    let woken = || crate::kernel::Event::wait(io.device.timer_wake(), Some(0));
    assert!(woken(), "the first deadline wakes the timer");
    assert_eq!(io.device.on_timer(), crate::TimerSleep::For(10_000));
    io.ioctl(&h, IOCTL_INJECT, &inject_message(&[(1, b"y")]), 0);
    assert!(!woken(), "a publish that makes no nearer deadline leaves the timer asleep");
    io.clock.0.store(10_000, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(io.device.on_timer(), crate::TimerSleep::UntilWoken);
    assert_eq!(recv.irp.completion().unwrap().status, STATUS_SUCCESS);
    io.close(&h);
    io.unload();
}

#[test]
fn a_receive_cancelled_before_it_is_dispatched_completes_cancelled_at_once() {
    let io = FakeIo::new(Config::default());
    let (h, _) = io.open(RW);
    let irp = FakeIo::build(&h, IOCTL_RECV, &[], 64 * 1024);
    let cell = irp.cell();
    io.cancel(&cell); // IoCancelIrp before the driver set a cancel routine: only `Cancel`
    assert_eq!(io.send(irp), STATUS_CANCELLED);
    assert_eq!((cell.completions(), cell.marked_pending()), (1, false));
    io.close(&h);
    io.unload();
}

#[test]
fn cleanup_while_a_cancel_routine_owns_a_receive_returns_the_ring_and_leaves_the_receive_to_it() {
    let io = FakeIo::new(Config::default());
    let (h, _) = io.open(RW);
    let kept = io.ioctl(&h, IOCTL_RECV, &[], 64 * 1024);
    let owned_by_canceller = io.ioctl(&h, IOCTL_RECV, &[], 64 * 1024);
    assert_eq!((kept.status, owned_by_canceller.status), (STATUS_PENDING, STATUS_PENDING));
    let ring = io.device.budget.used();
    assert!(ring > 0);
    // IoCancelIrp swapped the routine out; the routine has not run yet.
    let owned = io.begin_cancel(&owned_by_canceller.irp).expect("the I/O manager wins the routine");
    assert_eq!(io.cleanup(&h), STATUS_SUCCESS);
    assert_eq!((kept.irp.completions(), kept.irp.completion().unwrap().status), (1, STATUS_CANCELLED));
    assert_eq!(owned_by_canceller.irp.completions(), 0, "CLEANUP left it to its cancel routine");
    assert_eq!(io.device.budget.used(), 0, "the ring returned at CLEANUP");
    let channel = || io.device.channel.with(|chan, _| chan.channel_stats()).unwrap();
    assert_eq!((channel().subscribers, channel().pending_receives), (1, 1), "closing until the routine ran");
    io.run_cancel_routine(owned);
    assert_eq!(owned_by_canceller.irp.completions(), 1);
    assert_eq!(owned_by_canceller.irp.completion().unwrap().status, STATUS_CANCELLED);
    assert_eq!((channel().subscribers, channel().pending_receives, channel().pool_bytes), (0, 0, 0));
    assert_eq!(io.close(&h), STATUS_SUCCESS);
    assert_eq!(io.unload().subscribers, 0, "nothing left to close");
}
