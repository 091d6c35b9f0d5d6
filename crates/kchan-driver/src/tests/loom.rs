//! loom drives the driver's own code (dispatch, receive posting, the
//! cancel routine, CLEANUP, unload) through every interleaving of each
//! racing pair, on 2-3 threads: post vs cancel, post vs close, publish vs
//! cancel, subscribe vs receive on one handle, requests vs unload; and
//! three at once: post vs cancel vs CLEANUP, reconfigure vs cancel vs
//! publish, CLEANUP vs cancel vs unload. The
//! locks, events, rundown counters, handle words and the IRPs' cancel
//! fields are loom's. Every IRP must complete exactly once, and the
//! channel's accounting must balance.
//!
//! `RUSTFLAGS="--cfg loom" cargo test --release -p kchan-driver --lib loom`
//! (the `loom` layer of `cargo xtask test`).

use crate::dispatch::{FILE_READ_DATA, FILE_WRITE_DATA};
use crate::fake::{FakeHandle, FakeIo};
use crate::Config;
use kchan_engine::Limits;
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::*;
use loom::thread;
use std::sync::Arc;

const RW: Option<u32> = Some(FILE_READ_DATA | FILE_WRITE_DATA);
const RECV: usize = 128;

/// A small channel: loom explores every step of it.
fn small() -> Config {
    let limits = Limits { max_subscribers: 2, max_payload: 16, max_ring_bytes: 4096, max_in_flight: 2 };
    Config {
        limits,
        max_recv_bytes: 4096,
        ring_budget_bytes: 4096,
        default_subscription: SubscribeConfig { ring_bytes: 256, max_in_flight: 2, ..SubscribeConfig::default() },
    }
}

fn io() -> Arc<FakeIo> {
    Arc::new(FakeIo::new(small()))
}

fn subscribed(io: &FakeIo) -> FakeHandle {
    let (h, _) = io.open(RW);
    let cfg = SubscribeConfig { ring_bytes: 256, max_in_flight: 2, ..SubscribeConfig::default() };
    assert_eq!(io.ioctl(&h, IOCTL_SUBSCRIBE, cfg.as_bytes(), 0).status, STATUS_SUCCESS);
    h
}

/// Closes the handle, unloads, and checks that nothing is left.
fn close_and_unload(io: &FakeIo, h: &FakeHandle) {
    io.close(h);
    io.unload();
    assert_eq!(io.device.budget.used(), 0, "every ring returned");
}

#[test]
fn post_vs_cancel() {
    loom::model(|| {
        let io = io();
        let h = subscribed(&io);
        let irp = FakeIo::build(&h, IOCTL_RECV, &[], RECV);
        let cell = irp.cell();
        let canceller = {
            let (io, cell) = (io.clone(), cell.clone());
            thread::spawn(move || io.cancel(&cell))
        };
        let status = io.send(irp);
        canceller.join().unwrap();
        // Cancel ran before the post (the post saw `Cancel`), during it
        // (the routine waits for the lock) or after: cancelled, once.
        assert_eq!(cell.completions(), 1);
        assert_eq!(cell.completion().unwrap().status, STATUS_CANCELLED);
        assert!(status == STATUS_CANCELLED || (status == STATUS_PENDING && cell.marked_pending()), "{status:#x}");
        close_and_unload(&io, &h);
    });
}

#[test]
fn post_vs_close() {
    loom::model(|| {
        let io = io();
        let h = subscribed(&io);
        let irp = FakeIo::build(&h, IOCTL_RECV, &[], RECV);
        let cell = irp.cell();
        let closer = {
            let (io, h) = (io.clone(), h.clone());
            thread::spawn(move || io.cleanup(&h))
        };
        let status = io.send(irp);
        closer.join().unwrap();
        assert_eq!(cell.completions(), 1);
        let done = cell.completion().unwrap().status;
        // Posted first: CLEANUP cancels it. CLEANUP first: refused.
        assert!(done == STATUS_CANCELLED || done == STATUS_DELETE_PENDING, "{done:#x}");
        assert!(status == done || status == STATUS_PENDING);
        let stats = io.device.channel.with(|chan, _| chan.channel_stats()).unwrap();
        assert_eq!((stats.subscribers, stats.pending_receives), (0, 0));
        close_and_unload(&io, &h);
    });
}

#[test]
fn publish_vs_cancel() {
    loom::model(|| {
        let io = io();
        let h = subscribed(&io);
        let r = io.ioctl(&h, IOCTL_RECV, &[], RECV);
        assert_eq!(r.status, STATUS_PENDING);
        let canceller = {
            let (io, cell) = (io.clone(), r.irp.clone());
            thread::spawn(move || io.cancel(&cell))
        };
        let got = io.device.publish(1, b"event");
        canceller.join().unwrap();
        assert_eq!(got, 1);
        assert_eq!(r.irp.completions(), 1);
        let done = r.irp.completion().unwrap();
        let s = io.device.channel.with(|chan, _| chan.channel_stats()).unwrap();
        let sub = io
            .device
            .channel
            .with(|chan, _| chan.open_subscribers().next().and_then(|id| chan.stats(id)))
            .unwrap()
            .unwrap();
        match done.status {
            // The publish completed it first: delivered.
            STATUS_SUCCESS => assert_eq!((sub.delivered, sub.in_ring_records), (1, 0)),
            // Cancelled first: the event waits in the ring.
            STATUS_CANCELLED => assert_eq!((sub.delivered, sub.in_ring_records), (0, 1)),
            other => panic!("{other:#x}"),
        }
        assert!(sub.balanced(), "published == delivered + in ring + dropped: {sub:?}");
        assert_eq!(s.pending_receives, 0);
        close_and_unload(&io, &h);
    });
}

#[test]
fn subscribe_vs_receive_on_one_handle() {
    loom::model(|| {
        let io = io();
        let (h, _) = io.open(RW);
        let irp = FakeIo::build(&h, IOCTL_RECV, &[], RECV);
        let cell = irp.cell();
        let subscriber = {
            let (io, h) = (io.clone(), h.clone());
            thread::spawn(move || {
                let cfg = SubscribeConfig { ring_bytes: 256, max_in_flight: 2, ..SubscribeConfig::default() };
                io.ioctl(&h, IOCTL_SUBSCRIBE, cfg.as_bytes(), 0).status
            })
        };
        let status = io.send(irp);
        assert_eq!(subscriber.join().unwrap(), STATUS_SUCCESS);
        assert_eq!(status, STATUS_PENDING);
        let stats = io.device.channel.with(|chan, _| chan.channel_stats()).unwrap();
        assert_eq!((stats.subscribers, stats.pending_receives), (1, 1), "one subscriber, the receive kept");
        assert_eq!(io.device.budget.used(), 256, "one ring");
        close_and_unload(&io, &h);
        assert_eq!((cell.completions(), cell.completion().unwrap().status), (1, STATUS_CANCELLED));
    });
}

#[test]
fn receive_vs_unload() {
    loom::model(|| {
        let io = io();
        let (h, _) = io.open(RW);
        let irp = FakeIo::build(&h, IOCTL_RECV, &[], RECV);
        let cell = irp.cell();
        let unloader = {
            let io = io.clone();
            thread::spawn(move || io.unload())
        };
        let status = io.send(irp);
        unloader.join().unwrap();
        // Refused once unload started, or attached, posted and then
        // cancelled by the unload: completed once either way, and
        // nothing is left (the first receive allocated a ring).
        assert_eq!(cell.completions(), 1);
        let done = cell.completion().unwrap().status;
        assert!(done == STATUS_DELETE_PENDING || done == STATUS_CANCELLED, "{done:#x}");
        assert!(status == done || status == STATUS_PENDING);
        assert_eq!(io.device.budget.used(), 0);
        assert!(io.device.channel.with(|_, _| ()).is_none(), "the channel is freed");
    });
}

#[test]
fn cancel_vs_unload() {
    loom::model(|| {
        let io = io();
        let h = subscribed(&io);
        let r = io.ioctl(&h, IOCTL_RECV, &[], RECV);
        let canceller = {
            let (io, cell) = (io.clone(), r.irp.clone());
            thread::spawn(move || io.cancel(&cell))
        };
        io.unload();
        canceller.join().unwrap();
        // Unload returned only after the receive was completed, by the
        // cancel routine or by the close of its subscriber.
        assert_eq!((r.irp.completions(), r.irp.completion().unwrap().status), (1, STATUS_CANCELLED));
        assert_eq!(io.device.budget.used(), 0);
    });
}

#[test]
fn post_vs_cancel_vs_cleanup() {
    loom::model(|| {
        let io = io();
        let h = subscribed(&io);
        let irp = FakeIo::build(&h, IOCTL_RECV, &[], RECV);
        let cell = irp.cell();
        let canceller = {
            let (io, cell) = (io.clone(), cell.clone());
            thread::spawn(move || io.cancel(&cell))
        };
        let closer = {
            let (io, h) = (io.clone(), h.clone());
            thread::spawn(move || io.cleanup(&h))
        };
        let status = io.send(irp);
        canceller.join().unwrap();
        assert_eq!(closer.join().unwrap(), STATUS_SUCCESS);
        // Whoever got it (cancel routine, CLEANUP, the post's refusal):
        // completed once, and nothing of the handle is left.
        assert_eq!(cell.completions(), 1);
        let done = cell.completion().unwrap().status;
        assert!(done == STATUS_CANCELLED || done == STATUS_DELETE_PENDING, "{done:#x}");
        assert!(status == done || (status == STATUS_PENDING && cell.marked_pending()), "{status:#x}");
        let stats = io.device.channel.with(|chan, _| chan.channel_stats()).unwrap();
        assert_eq!((stats.subscribers, stats.pending_receives), (0, 0));
        assert_eq!(io.device.budget.used(), 0, "CLEANUP returned the ring");
        close_and_unload(&io, &h);
    });
}

#[test]
fn reconfigure_vs_cancel_vs_publish() {
    loom::model(|| {
        let io = io();
        let h = subscribed(&io);
        let r = io.ioctl(&h, IOCTL_RECV, &[], RECV);
        assert_eq!(r.status, STATUS_PENDING);
        let canceller = {
            let (io, cell) = (io.clone(), r.irp.clone());
            thread::spawn(move || io.cancel(&cell))
        };
        let resubscriber = {
            let (io, h) = (io.clone(), h.clone());
            thread::spawn(move || {
                let cfg = SubscribeConfig { ring_bytes: 512, max_in_flight: 2, ..SubscribeConfig::default() };
                io.ioctl(&h, IOCTL_SUBSCRIBE, cfg.as_bytes(), 0).status
            })
        };
        assert_eq!(io.device.publish(1, b"event"), 1);
        canceller.join().unwrap();
        assert_eq!(resubscriber.join().unwrap(), STATUS_SUCCESS);
        assert_eq!(r.irp.completions(), 1);
        let sub = io
            .device
            .channel
            .with(|chan, _| chan.open_subscribers().next().and_then(|id| chan.stats(id)))
            .unwrap()
            .unwrap();
        match r.irp.completion().unwrap().status {
            STATUS_SUCCESS => assert_eq!((sub.delivered, sub.in_ring_records), (1, 0)),
            STATUS_CANCELLED => assert_eq!((sub.delivered, sub.in_ring_records), (0, 1)),
            other => panic!("{other:#x}"),
        }
        assert!(sub.balanced(), "published == delivered + in ring + dropped: {sub:?}");
        assert_eq!((sub.pending_receives, sub.ring_capacity), (0, 512));
        assert_eq!(io.device.budget.used(), 512, "the old ring returned, the new one counted");
        close_and_unload(&io, &h);
    });
}

#[test]
fn cleanup_vs_cancel_vs_unload() {
    loom::model(|| {
        let io = io();
        let h = subscribed(&io);
        let r = io.ioctl(&h, IOCTL_RECV, &[], RECV);
        let canceller = {
            let (io, cell) = (io.clone(), r.irp.clone());
            thread::spawn(move || io.cancel(&cell))
        };
        let closer = {
            let (io, h) = (io.clone(), h.clone());
            thread::spawn(move || io.cleanup(&h))
        };
        io.unload();
        canceller.join().unwrap();
        let cleaned = closer.join().unwrap();
        assert!(cleaned == STATUS_SUCCESS || cleaned == STATUS_DELETE_PENDING, "{cleaned:#x}");
        // Unload returned only once the receive was completed and every
        // ring returned, whichever of the three got there first.
        assert_eq!((r.irp.completions(), r.irp.completion().unwrap().status), (1, STATUS_CANCELLED));
        assert_eq!(io.device.budget.used(), 0);
        assert!(io.device.channel.with(|_, _| ()).is_none(), "the channel is freed");
    });
}
