//! A native stress test under Windows' rules, with real threads: several
//! threads send requests on the same handles at once (subscribe, receive,
//! inject, stats), cancel any outstanding receive from any thread at any
//! time, a source publishes throughout; then CLEANUP (while the source
//! still publishes), CLOSE once every request of the handle completed, and
//! unload after the last reference. After every run: every IRP completed
//! exactly once, and `published == delivered + in_ring + dropped` for
//! every subscriber. And under Wine's rules: unload while threads still
//! send requests and cancel them.

use super::flow::inject_message;
use crate::dispatch::{FILE_READ_DATA, FILE_WRITE_DATA};
use crate::fake::{FakeHandle, FakeIo, IrpCell};
use crate::Config;
use kchan_engine::Limits;
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const RW: Option<u32> = Some(FILE_READ_DATA | FILE_WRITE_DATA);

/// xorshift64: reproducible choices without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Cancels one outstanding receive, chosen at random, if there is one
/// (`IoCancelIrp` from this thread).
fn cancel_one(io: &FakeIo, outstanding: &Mutex<Vec<Arc<IrpCell>>>, rng: &mut Rng) {
    let victim = {
        let mut list = outstanding.lock().unwrap();
        let n = list.len() as u64;
        (n > 0).then(|| list.swap_remove(rng.below(n) as usize))
    };
    if let Some(cell) = victim {
        io.cancel(&cell);
    }
}

fn config() -> Config {
    let limits = Limits { max_subscribers: 8, max_payload: 64, max_ring_bytes: 1 << 16, max_in_flight: 4 };
    Config {
        limits,
        max_recv_bytes: 1 << 16,
        ring_budget_bytes: 3 << 12,
        default_subscription: SubscribeConfig { ring_bytes: 4096, max_in_flight: 4, ..SubscribeConfig::default() },
    }
}

/// One client thread: `rounds` random requests on random handles.
fn client(io: &FakeIo, handles: &[FakeHandle], outstanding: &Mutex<Vec<Arc<IrpCell>>>, seed: u64, rounds: u32) {
    let mut rng = Rng(seed);
    let mut all = Vec::new();
    for _ in 0..rounds {
        let h = &handles[rng.below(handles.len() as u64) as usize];
        match rng.below(10) {
            0 => {
                let ring = [1024u32, 2048, 4096, 8192][rng.below(4) as usize];
                let k = 1 + rng.below(4) as u32;
                let policy = [CompletionPolicy::Immediate, CompletionPolicy::Adaptive][rng.below(2) as usize];
                let cfg = SubscribeConfig {
                    ring_bytes: ring,
                    max_in_flight: k,
                    kind_mask: if rng.below(2) == 0 { u64::MAX } else { 0b1111 },
                    completion: policy as u32,
                    ..SubscribeConfig::default()
                };
                let st = io.ioctl(h, IOCTL_SUBSCRIBE, cfg.as_bytes(), 0).status;
                assert!(
                    [STATUS_SUCCESS, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_DEVICE_STATE, STATUS_DELETE_PENDING]
                        .contains(&st),
                    "subscribe: {st:#x}"
                );
            }
            1..=4 => {
                let sent = io.ioctl(h, IOCTL_RECV, &[], 1024);
                all.push(sent.irp.clone());
                if sent.status == STATUS_PENDING {
                    outstanding.lock().unwrap().push(sent.irp);
                }
            }
            5 | 6 => cancel_one(io, outstanding, &mut rng),
            7 | 8 => {
                let kind = rng.below(6) as u16;
                io.ioctl(h, IOCTL_INJECT, &inject_message(&[(kind, b"stress"), (kind, b"more")]), 0);
            }
            _ => {
                assert_eq!(io.ioctl(h, IOCTL_STATS, &[], STATS_REPLY_MIN_BYTES).status, STATUS_SUCCESS);
            }
        }
    }
    for cell in &all {
        assert!(cell.completions() <= 1, "completed twice");
    }
}

/// Checks the accounting of every open subscriber.
fn balanced(io: &FakeIo) {
    io.device.channel.with(|chan, _| {
        let ids: Vec<_> = chan.open_subscribers().collect();
        for id in ids {
            let s = chan.stats(id).unwrap();
            assert!(s.balanced(), "published != delivered + in ring + dropped: {s:?}");
        }
    });
}

#[test]
fn requests_cancels_cleanup_close_and_unload_on_many_threads() {
    for run in 0..40u64 {
        let io = Arc::new(FakeIo::new(config()));
        let handles: Vec<FakeHandle> = (0..3).map(|_| io.open(RW).0).collect();
        let outstanding = Arc::new(Mutex::new(Vec::new()));
        let cells = Arc::new(Mutex::new(Vec::<Arc<IrpCell>>::new()));
        let publishing = Arc::new(AtomicBool::new(true));
        let source = {
            let (io, publishing) = (io.clone(), publishing.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while publishing.load(Ordering::Relaxed) {
                    io.device.publish((n % 6) as u16, &n.to_le_bytes());
                    n += 1;
                    if n.is_multiple_of(64) {
                        std::thread::yield_now();
                    }
                }
            })
        };
        let clients: Vec<_> = (0..4u64)
            .map(|t| {
                let (io, handles, outstanding) = (io.clone(), handles.clone(), outstanding.clone());
                std::thread::spawn(move || client(&io, &handles, &outstanding, run * 31 + t * 7 + 1, 200))
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        balanced(&io);
        // The last handles close: CLEANUP while the source still publishes
        // and a canceller still races it; then CLOSE.
        cells.lock().unwrap().extend(outstanding.lock().unwrap().iter().cloned());
        let canceller = {
            let (io, outstanding) = (io.clone(), outstanding.clone());
            std::thread::spawn(move || {
                let list: Vec<_> = outstanding.lock().unwrap().drain(..).collect();
                for cell in list.iter().rev() {
                    io.cancel(cell);
                }
            })
        };
        for h in &handles {
            assert_eq!(io.cleanup(h), STATUS_SUCCESS);
        }
        canceller.join().unwrap();
        for cell in cells.lock().unwrap().iter() {
            assert_eq!(cell.completions(), 1, "a receive outlived CLEANUP, or completed twice");
        }
        for h in &handles {
            assert_eq!(io.close(h), STATUS_SUCCESS);
        }
        publishing.store(false, Ordering::Relaxed);
        source.join().unwrap();
        let stats = io.device.channel.with(|chan, _| chan.channel_stats()).unwrap();
        assert_eq!((stats.subscribers, stats.pending_receives), (0, 0));
        assert_eq!(io.device.budget.used(), 0, "every ring returned");
        assert_eq!(io.unload().subscribers, 0);
    }
}

/// Wine's rules: `DriverUnload` runs while handles are open, requests are
/// in the driver on other threads, receives pend and a canceller races
/// them. Unload returns only once every receive the driver accepted is
/// completed and every ring is back; requests after it are refused; every
/// request completes exactly once.
#[test]
fn unload_while_threads_send_requests_and_cancel() {
    let mut served = 0;
    for run in 0..40u64 {
        let io = Arc::new(FakeIo::new(config()));
        let handles: Vec<FakeHandle> = (0..3).map(|_| io.open(RW).0).collect();
        let outstanding = Arc::new(Mutex::new(Vec::<Arc<IrpCell>>::new()));
        let sent = Arc::new(Mutex::new(Vec::<Arc<IrpCell>>::new()));
        let running = Arc::new(AtomicBool::new(true));
        let clients: Vec<_> = (0..4u64)
            .map(|t| {
                let (io, handles, outstanding, sent, running) =
                    (io.clone(), handles.clone(), outstanding.clone(), sent.clone(), running.clone());
                std::thread::spawn(move || {
                    let mut rng = Rng(run * 131 + t * 17 + 3);
                    while running.load(Ordering::Relaxed) {
                        let h = &handles[rng.below(handles.len() as u64) as usize];
                        match rng.below(8) {
                            0 => {
                                let cfg = SubscribeConfig { ring_bytes: 2048, max_in_flight: 4, ..Default::default() };
                                io.ioctl(h, IOCTL_SUBSCRIBE, cfg.as_bytes(), 0);
                            }
                            1..=3 => {
                                let r = io.ioctl(h, IOCTL_RECV, &[], 1024);
                                if r.status == STATUS_PENDING {
                                    outstanding.lock().unwrap().push(r.irp.clone());
                                }
                                sent.lock().unwrap().push(r.irp);
                            }
                            4 | 5 => cancel_one(&io, &outstanding, &mut rng),
                            _ => {
                                io.ioctl(h, IOCTL_INJECT, &inject_message(&[(rng.below(6) as u16, b"x")]), 0);
                            }
                        }
                    }
                })
            })
            .collect();
        // Let the clients get going, then unload under them.
        let mut rng = Rng(run + 1);
        std::thread::sleep(std::time::Duration::from_micros(200 + rng.below(2000)));
        io.unload();
        // Every receive the driver returned STATUS_PENDING for so far was
        // dispatched before unload refused new requests: it is complete.
        for cell in outstanding.lock().unwrap().iter() {
            assert_eq!(cell.completions(), 1, "a receive pending after unload returned");
        }
        assert_eq!(io.device.budget.used(), 0, "every ring returned");
        assert!(io.device.channel.with(|_, _| ()).is_none(), "the channel is freed");
        running.store(false, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        for cell in sent.lock().unwrap().iter() {
            assert_eq!(cell.completions(), 1, "a receive completed {} times", cell.completions());
        }
        served +=
            sent.lock().unwrap().iter().filter(|c| c.completion().unwrap().status != STATUS_DELETE_PENDING).count();
    }
    assert!(served > 0, "no receive reached the driver before an unload: the test raced nothing");
}
