//! loom: publish vs post vs cancel vs close on 2-3 threads; every request
//! completes exactly once. Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p kchan-engine --release --test loom`.
//!
//! A request's `state` models an IRP's cancel routine: 0 = cancelable,
//! 1 = claimed by the engine (`IoSetCancelRoutine(NULL)` returned the
//! routine), 2 = the cancel routine runs. The canceller does what the
//! driver's cancel routine does: take the channel lock and `cancel`. The
//! poster does what the dispatch routine does: under the lock, if the IRP was
//! cancelled before it was queued, complete it itself instead of posting.
#![cfg(loom)]

use kchan_engine::proto::SubscribeConfig;
use kchan_engine::{Channel, Limits, Lock, Outcome, Request, SharedChannel, Sink, Subscriber, SubscriberId};
use loom::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};

struct LoomLock<T>(Mutex<T>);
impl<T> Lock<T> for LoomLock<T> {
    fn with<U>(&self, f: impl FnOnce(&mut T) -> U) -> U {
        f(&mut self.0.lock().unwrap())
    }
}

#[derive(Clone)]
struct Tracker {
    state: Arc<AtomicU8>,
    completions: Arc<AtomicUsize>,
}

impl Tracker {
    fn new() -> Self {
        Tracker { state: Arc::new(AtomicU8::new(0)), completions: Arc::new(AtomicUsize::new(0)) }
    }
    fn completed(&self) -> usize {
        self.completions.load(Ordering::SeqCst)
    }
}

struct LReq {
    id: u64,
    buf: Vec<u8>,
    t: Tracker,
}

impl Request for LReq {
    fn buffer(&mut self) -> &mut [u8] {
        &mut self.buf
    }
    fn id(&self) -> u64 {
        self.id
    }
    fn try_claim(&mut self) -> bool {
        // SeqCst: the claim and the canceller's CAS must be totally ordered.
        self.t.state.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }
}

/// Collects under the lock; completes (counts) after it is released.
#[derive(Default)]
struct Collect(Vec<LReq>);
impl Sink<LReq> for Collect {
    fn complete(&mut self, req: LReq, _: Outcome) {
        self.0.push(req);
    }
}
impl Collect {
    fn finish(self) {
        for r in self.0 {
            // The engine may complete only what it claimed: completing an IRP
            // whose cancel routine runs is a use-after-free in the kernel.
            assert_eq!(r.t.state.load(Ordering::SeqCst), 1, "completed a request it did not claim");
            r.t.completions.fetch_add(1, Ordering::SeqCst);
        }
    }
}

type Chan = Channel<LReq, fn() -> u64>;
type Shared = SharedChannel<LoomLock<Chan>>;

fn zero() -> u64 {
    0
}

fn setup(k: u32) -> (Arc<Shared>, SubscriberId) {
    let limits = Limits { max_subscribers: 2, max_payload: 16, max_ring_bytes: 4096, max_in_flight: 4 };
    let ch: Chan = Channel::new(zero as fn() -> u64, limits).unwrap();
    let cfg = SubscribeConfig { ring_bytes: 256, max_in_flight: k, ..Default::default() };
    let p = Subscriber::prepare(&cfg, &limits).unwrap();
    let shared = Arc::new(SharedChannel::new(LoomLock(Mutex::new(ch))));
    let id = shared.attach::<LReq, fn() -> u64>(p).ok().unwrap();
    (shared, id)
}

fn req(id: u64, t: &Tracker) -> LReq {
    LReq { id, buf: vec![0; 128], t: t.clone() }
}

/// The driver's post path: refuse (complete) an IRP cancelled before queueing.
fn post(ch: &Shared, id: SubscriberId, r: LReq) {
    let mut sink = Collect::default();
    let refused = ch.lock().with(|c| {
        if r.t.state.load(Ordering::SeqCst) == 2 {
            return Some(r);
        }
        c.post(id, r, &mut sink).err().map(|(r, _)| r)
    });
    sink.finish();
    if let Some(r) = refused {
        r.t.completions.fetch_add(1, Ordering::SeqCst);
    }
}

/// The driver's cancel routine.
fn cancel(ch: &Shared, id: SubscriberId, rid: u64, t: &Tracker) {
    if t.state.compare_exchange(0, 2, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
        if let Some(r) = ch.cancel::<LReq, fn() -> u64>(id, rid) {
            r.t.completions.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn publish(ch: &Shared) {
    let mut sink = Collect::default();
    ch.publish::<LReq, fn() -> u64>(1, b"ev", &mut sink);
    sink.finish();
}

fn close(ch: &Shared, id: SubscriberId) {
    let mut sink = Collect::default();
    ch.close(id, &mut sink);
    sink.finish();
}

#[test]
fn publish_cancel_close_complete_each_request_once() {
    loom::model(|| {
        let (ch, id) = setup(2);
        let (a, b) = (Tracker::new(), Tracker::new());
        post(&ch, id, req(1, &a));
        post(&ch, id, req(2, &b));
        let t1 = {
            let ch = ch.clone();
            loom::thread::spawn(move || publish(&ch))
        };
        let t2 = {
            let (ch, a) = (ch.clone(), a.clone());
            loom::thread::spawn(move || cancel(&ch, id, 1, &a))
        };
        close(&ch, id);
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(a.completed(), 1);
        assert_eq!(b.completed(), 1);
        // The subscriber is gone (closing finished) once all are completed.
        assert!(ch.lock().with(|c| c.stats(id).is_none()));
    });
}

#[test]
fn post_publish_cancel_complete_each_request_once() {
    loom::model(|| {
        let (ch, id) = setup(2);
        let (a, b) = (Tracker::new(), Tracker::new());
        post(&ch, id, req(1, &a));
        let t1 = {
            let (ch, b) = (ch.clone(), b.clone());
            loom::thread::spawn(move || {
                post(&ch, id, req(2, &b));
                publish(&ch);
            })
        };
        let t2 = {
            let (ch, b) = (ch.clone(), b.clone());
            loom::thread::spawn(move || cancel(&ch, id, 2, &b))
        };
        publish(&ch);
        t1.join().unwrap();
        t2.join().unwrap();
        // Whatever still pends leaves at close.
        close(&ch, id);
        assert_eq!(a.completed(), 1);
        assert_eq!(b.completed(), 1);
        assert!(ch.lock().with(|c| c.check_all_invariants()));
    });
}

#[test]
fn close_and_cancel_race_on_every_pending_request() {
    loom::model(|| {
        let (ch, id) = setup(2);
        let (a, b) = (Tracker::new(), Tracker::new());
        post(&ch, id, req(1, &a));
        post(&ch, id, req(2, &b));
        let t1 = {
            let (ch, a) = (ch.clone(), a.clone());
            loom::thread::spawn(move || cancel(&ch, id, 1, &a))
        };
        let t2 = {
            let (ch, b) = (ch.clone(), b.clone());
            loom::thread::spawn(move || cancel(&ch, id, 2, &b))
        };
        close(&ch, id);
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(a.completed(), 1);
        assert_eq!(b.completed(), 1);
        assert!(ch.lock().with(|c| c.stats(id).is_none() && c.channel_stats().subscribers == 0));
    });
}
