//! The generator: a system thread publishing synthetic events at a
//! requested rate, burst and payload size (`IOCTL_GEN_START`/`_STOP`).
//!
//! - Pacing is by schedule, not by interval: event `n` is due at
//!   `start + n / rate`, so rounding never accumulates and a late wake-up is
//!   caught up by the next bursts. `rate == 0` publishes as fast as it can.
//! - Sleeps are `KeDelayExecutionThread` (under Wine a `select()` in the
//!   thread, no wineserver round trip, which a `KEVENT` wait would cost) in
//!   slices of at most [`SLEEP_SLICE`], so a stop, restart or unload is
//!   seen within that time. When stopped, the thread waits on its event.
//! - A burst is published in chunks of at most [`CHUNK_EVENTS`] events or
//!   [`CHUNK_BYTES`] payload bytes per spin-lock hold, so receives complete
//!   between chunks and the lock is never held long.
//! - The payload buffer is allocated at start (PASSIVE_LEVEL), never per
//!   event; its first 8 bytes carry the generator's own event number.
//! - Counters: running, events produced since the last start, rate
//!   (reported in `ChannelStats::gen_*`).
//!
//! It reaches the library's device through [`SourceHooks`]: `GEN_START`,
//! `GEN_STOP`, the `STATS` fields (its counters and the allocator's), and
//! the unload step that stops and joins its thread.

use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use kchan_driver::wdm::{KchanDevice, KernelClock};
use kchan_driver::{NtStatus, SourceHooks};
use kchan_engine::Clock;
use kchan_km::ffi::{
    status, KeDelayExecutionThread, PsTerminateSystemThread, KERNEL_MODE, NTSTATUS, SYNCHRONIZATION_EVENT,
};
use kchan_km::sync::{Event, SpinLock};
use kchan_km::thread::SystemThread;
use kchan_proto::{ChannelStats, GenConfig};

/// Longest single sleep, in 100 ns ticks (10 ms).
pub const SLEEP_SLICE: u64 = 100_000;
/// Most events published per spin-lock hold.
pub const CHUNK_EVENTS: u64 = 64;
/// Most payload bytes published per spin-lock hold.
pub const CHUNK_BYTES: u64 = 64 * 1024;
const TICKS_PER_S: u128 = 10_000_000;

struct Control {
    config: Option<GenConfig>,
    /// Bumped by every start and stop, under this lock.
    epoch: u64,
}

/// The generator's configuration, counters and thread.
pub struct Generator {
    control: SpinLock<Control>,
    /// Mirror of `Control::epoch`, read by the thread without the lock.
    epoch: AtomicU64,
    wake: Event,
    running: AtomicBool,
    produced: AtomicU64,
    rate: AtomicU64,
    /// Set by unload: the thread exits.
    stop: AtomicBool,
    /// The device it publishes to (set before the thread starts).
    device: AtomicPtr<KchanDevice>,
    /// The thread, joined at unload.
    thread: SpinLock<Option<SystemThread>>,
}

impl Generator {
    /// A stopped generator; call [`Generator::init`] in place.
    pub const fn new() -> Self {
        Generator {
            control: SpinLock::new(Control { config: None, epoch: 0 }),
            epoch: AtomicU64::new(0),
            wake: Event::uninit(),
            running: AtomicBool::new(false),
            produced: AtomicU64::new(0),
            rate: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            device: AtomicPtr::new(ptr::null_mut()),
            thread: SpinLock::new(None),
        }
    }

    /// Initializes the event.
    ///
    /// # Safety
    /// `self` is at its final address and not yet shared.
    pub unsafe fn init(&self) {
        // SAFETY: final address, nobody waits or sets yet (caller).
        unsafe { self.wake.init(SYNCHRONIZATION_EVENT, false) };
    }

    /// Starts the thread, publishing to `device`. IRQL = PASSIVE_LEVEL.
    ///
    /// # Safety
    /// `self` is initialized and outlives the thread (a static); `device`
    /// lives until [`SourceHooks::shutdown`] joined the thread.
    pub unsafe fn spawn(&'static self, device: &KchanDevice) -> Result<(), NTSTATUS> {
        // Release: the thread's Acquire load sees the device.
        self.device.store(ptr::from_ref(device).cast_mut(), Ordering::Release);
        // SAFETY: `self` is static and initialized; PASSIVE_LEVEL (caller);
        // the body ends with PsTerminateSystemThread.
        let thread = unsafe { SystemThread::spawn(run, ptr::from_ref(self).cast_mut().cast()) }?;
        *self.thread.lock() = Some(thread);
        Ok(())
    }

    fn set(&self, config: Option<GenConfig>) {
        {
            let mut c = self.control.lock();
            c.config = config;
            c.epoch += 1;
            // Release: the thread's Acquire load of the epoch sees the config.
            self.epoch.store(c.epoch, Ordering::Release);
        }
        // SAFETY: initialized in `init`; IRQL <= DISPATCH_LEVEL.
        unsafe { self.wake.set() };
    }

    /// Starts or restarts with a validated `config`. IRQL <= DISPATCH_LEVEL.
    pub fn start(&self, config: GenConfig) {
        self.set(Some(config));
    }

    /// Stops (no-op when stopped). IRQL <= DISPATCH_LEVEL.
    pub fn stop(&self) {
        self.set(None);
    }

    fn changed(&self, epoch: u64) -> bool {
        // Acquire: pairs with the Release stores of `set` and `shutdown`.
        self.stop.load(Ordering::Acquire) || self.epoch.load(Ordering::Acquire) != epoch
    }
}

impl SourceHooks for Generator {
    fn gen_start(&self, config: &GenConfig) -> NtStatus {
        self.start(*config);
        status::SUCCESS
    }

    fn gen_stop(&self) -> NtStatus {
        self.stop();
        status::SUCCESS
    }

    /// The generator's counters, and in `pool_bytes`/`pool_allocations`
    /// the driver allocator's live counts (every allocation of kchan.sys,
    /// rings and queues included: what unload must bring back to zero).
    fn fill_stats(&self, stats: &mut ChannelStats) {
        // Relaxed: independent statistics.
        stats.gen_running = u64::from(self.running.load(Ordering::Relaxed));
        stats.gen_produced = self.produced.load(Ordering::Relaxed);
        stats.gen_rate = self.rate.load(Ordering::Relaxed);
        let pool = crate::POOL.stats();
        stats.pool_bytes = pool.live_bytes as u64;
        stats.pool_allocations = pool.live_allocs as u64;
    }

    /// Stops the thread and waits until it has left the driver's code.
    fn shutdown(&self) {
        // Release: pairs with the thread's Acquire loads.
        self.stop.store(true, Ordering::Release);
        // SAFETY: initialized in `init`; PASSIVE_LEVEL (unload).
        unsafe { self.wake.set() };
        let thread = self.thread.lock().take();
        if let Some(thread) = thread {
            thread.join();
        }
    }
}

impl Default for Generator {
    fn default() -> Self {
        Self::new()
    }
}

/// Thread body (`KSTART_ROUTINE`); `context` is the [`Generator`].
///
/// # Safety
/// `context` points to the initialized static `Generator`, whose device
/// was set by `spawn` and outlives the thread (unload joins it first).
/// PASSIVE_LEVEL.
unsafe extern "system" fn run(context: *mut c_void) {
    // SAFETY: see the function's contract.
    let gen = unsafe { &*context.cast::<Generator>() };
    // Acquire: pairs with the Release store in `spawn`.
    // SAFETY: set by `spawn` before the thread started; lives until the
    // thread is joined (see the function's contract).
    let dev = unsafe { &*gen.device.load(Ordering::Acquire) };
    // Acquire: pairs with the Release store in `shutdown`.
    while !gen.stop.load(Ordering::Acquire) {
        let (config, epoch) = {
            let c = gen.control.lock();
            (c.config, c.epoch)
        };
        match config {
            // SAFETY: initialized event; system threads run at PASSIVE_LEVEL.
            None => drop(unsafe { gen.wake.wait(None) }),
            Some(config) => produce(gen, dev, &config, epoch),
        }
    }
    // SAFETY: called by the system thread itself, at PASSIVE_LEVEL; does
    // not return.
    unsafe { PsTerminateSystemThread(status::SUCCESS) };
}

/// Publishes `config`'s events until done, stopped, restarted or unloaded.
fn produce(gen: &Generator, dev: &KchanDevice, config: &GenConfig, epoch: u64) {
    let len = config.payload_bytes as usize;
    let mut payload = Vec::new();
    if payload.try_reserve_exact(len).is_err() {
        kchan_km::kprintln!("generator: no memory for a {} byte payload", len);
        clear_if_current(gen, epoch);
        return;
    }
    payload.resize(len, 0xA5u8);
    // Relaxed: statistics.
    gen.produced.store(0, Ordering::Relaxed);
    gen.rate.store(u64::from(config.rate), Ordering::Relaxed);
    gen.running.store(true, Ordering::Relaxed);
    let clock = KernelClock::new();
    let start = clock.now();
    let per_chunk = CHUNK_EVENTS.min((CHUNK_BYTES / len.max(1) as u64).max(1));
    let mut n: u64 = 0;
    'run: while !gen.changed(epoch) {
        let mut left = u64::from(config.burst);
        if config.count > 0 {
            left = left.min(config.count - n);
        }
        while left > 0 {
            let chunk = left.min(per_chunk);
            // One lock hold and one timestamp per chunk (at most 64
            // events, a few us).
            let published = dev.core().publish_batch(|batch| {
                for i in n..n + chunk {
                    let tag = i.to_le_bytes();
                    let k = len.min(8);
                    payload[..k].copy_from_slice(&tag[..k]);
                    batch.publish(config.kind, &payload);
                }
            });
            if !published {
                break 'run; // the channel is gone: unloading
            }
            n += chunk;
            left -= chunk;
            // Relaxed: statistics.
            gen.produced.store(n, Ordering::Relaxed);
            if config.rate == 0 {
                // Flat out, yield between chunks so dispatch routines get the
                // channel lock: Wine's spin locks are unfair busy-waits, and
                // without this the thread re-takes the lock at once and
                // starves every IOCTL.
                let mut now = 0i64;
                // SAFETY: PASSIVE_LEVEL (system thread); a zero relative
                // interval in a live local only yields the processor.
                unsafe { KeDelayExecutionThread(KERNEL_MODE, 0, &mut now) };
            }
        }
        if config.count > 0 && n >= config.count {
            clear_if_current(gen, epoch);
            break;
        }
        if config.rate > 0 {
            let due = start.saturating_add((u128::from(n) * TICKS_PER_S / u128::from(config.rate)) as u64);
            loop {
                let now = clock.now();
                if now >= due {
                    break;
                }
                if gen.changed(epoch) {
                    break 'run;
                }
                let mut interval = -((due - now).min(SLEEP_SLICE) as i64);
                // SAFETY: PASSIVE_LEVEL (system thread); relative interval,
                // a live local.
                unsafe { KeDelayExecutionThread(KERNEL_MODE, 0, &mut interval) };
            }
        }
    }
    // Relaxed: statistics.
    gen.running.store(false, Ordering::Relaxed);
}

/// Clears the configuration if no start or stop came in since `epoch`.
fn clear_if_current(gen: &Generator, epoch: u64) {
    let mut c = gen.control.lock();
    if c.epoch == epoch {
        c.config = None;
    }
    // Relaxed: statistics.
    gen.running.store(false, Ordering::Relaxed);
}
