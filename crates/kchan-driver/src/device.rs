//! [`Device`]: all state of one kchan device, whatever kernel runs it, and
//! its lifetime: creation, event publishing, the timer's work, and the
//! unload sequence.
//!
//! # Unload, in order ([`Device::stop_dispatch`], [`Device::close_all`],
//! then dropping the device)
//!
//! 1. Refuse new dispatch routines (`STATUS_DELETE_PENDING`) and wait, with
//!    no time limit, until every one in progress has left: none is then
//!    attaching a subscriber or posting a receive.
//! 2. (The embedder stops its event sources, the WDM layer the timer.)
//! 3. Close every subscriber: receives that can be claimed complete
//!    `STATUS_CANCELLED` now; the others belong to cancel routines already
//!    running; the event records still in the rings are counted dropped at
//!    close (and reported: [`Closed`]). Wait, with no time limit, until
//!    every receive IRP the driver held is completed, by whichever path.
//! 4. Free the channel. Nothing of the device can run any more.

use crate::budget::RingBudget;
use crate::channel::{EngineChannel, LockedChannel};
use crate::kernel::{Kernel, NtStatus};
use crate::rundown::Rundown;
use crate::sink::Recv;
use kchan_engine::{Channel, Detached, Limits, Prepared};
use kchan_proto::{ChannelStats, GenConfig, SubscribeConfig, DEFAULT_MAX_BATCH_BYTES};

/// What the timer does after [`Device::on_timer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerSleep {
    /// Sleep this long (100 ns units), or until woken.
    For(u64),
    /// Sleep until woken: no deadline.
    UntilWoken,
    /// The channel is gone (unload): stop.
    Exit,
}

/// What unload closed ([`Device::close_all`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Closed {
    /// Subscribers closed (handles still open at unload).
    pub subscribers: usize,
    /// Event records still waiting in their rings, freed with them and
    /// counted dropped at close.
    pub records_dropped: u64,
}

/// How a device is set up.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The channel's bounds (subscribers, payload, ring, receives in flight).
    pub limits: Limits,
    /// Largest receive buffer accepted (and advertised).
    pub max_recv_bytes: usize,
    /// Budget for all subscribers' rings together, in bytes.
    pub ring_budget_bytes: usize,
    /// The subscription a handle gets when it receives without having
    /// subscribed.
    pub default_subscription: SubscribeConfig,
}

impl Default for Config {
    /// The engine's default limits, 4 MiB receives, the default ring budget
    /// and subscription.
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            max_recv_bytes: DEFAULT_MAX_BATCH_BYTES as usize,
            ring_budget_bytes: crate::budget::DEFAULT_RING_BUDGET_BYTES,
            default_subscription: SubscribeConfig::default(),
        }
    }
}

/// What a driver may add to the library's device: an event source that
/// `IOCTL_GEN_START`/`IOCTL_GEN_STOP` control, and counters for
/// `IOCTL_STATS`. A driver without one answers those two requests
/// `STATUS_NOT_SUPPORTED`.
pub trait SourceHooks: Sync {
    /// `IOCTL_GEN_START` with a validated config. PASSIVE_LEVEL.
    fn gen_start(&self, config: &GenConfig) -> NtStatus;
    /// `IOCTL_GEN_STOP`. PASSIVE_LEVEL.
    fn gen_stop(&self) -> NtStatus;
    /// Fills the driver's fields of `IOCTL_STATS` (`gen_*`, and the pool
    /// counters if the driver counts its allocations). PASSIVE_LEVEL.
    fn fill_stats(&self, stats: &mut ChannelStats);
    /// Unload: called once no dispatch routine runs any more (so no
    /// `GEN_START` can come), before the subscribers are closed and the
    /// channel freed. Stop and join the source here. PASSIVE_LEVEL.
    fn shutdown(&self);
}

/// One kchan device: the channel, the handles' requests, the unload.
pub struct Device<K: Kernel> {
    pub(crate) channel: LockedChannel<K>,
    /// Dispatch routines in progress.
    pub(crate) dispatch: Rundown<K>,
    pub(crate) budget: RingBudget,
    pub(crate) config: Config,
    pub(crate) hooks: Option<&'static dyn SourceHooks>,
}

impl<K: Kernel> Device<K> {
    /// A device with an empty channel (its subscriber table allocated
    /// here); call [`Device::init`] once it is at its final address.
    /// IRQL = PASSIVE_LEVEL.
    pub fn new(clock: K::Clock, config: Config, hooks: Option<&'static dyn SourceHooks>) -> Result<Self, NtStatus> {
        crate::irql::passive::<K>();
        let chan: EngineChannel<K> = Channel::new(clock, config.limits).map_err(|e| e.ntstatus())?;
        Ok(Device {
            channel: LockedChannel::new(chan),
            dispatch: Rundown::new(),
            budget: RingBudget::new(config.ring_budget_bytes),
            config,
            hooks,
        })
    }

    /// Initializes the kernel events in place.
    ///
    /// # Safety
    /// `self` is at its final address (it never moves again) and not yet
    /// shared.
    pub unsafe fn init(&self) {
        // SAFETY: final address, not shared (caller).
        unsafe { self.channel.init() };
        // SAFETY: `dispatch` is a field of `self`: at its final address,
        // not yet shared (caller).
        unsafe { self.dispatch.init() };
    }

    /// The device's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Publishes one event to every subscriber whose filter has `kind`.
    /// Callable at IRQL <= DISPATCH_LEVEL from any event source: it neither
    /// allocates nor blocks (the payload is copied into the rings under the
    /// spin lock; receives it finishes are completed after the lock is
    /// released). Returns how many subscribers got it (0 for a kind above
    /// 63 or a payload above the payload limit, which are counted as
    /// rejected, and once unload took the channel).
    pub fn publish(&self, kind: u16, payload: &[u8]) -> usize {
        self.channel.with(|chan, sink| chan.publish(kind, payload, sink)).unwrap_or(0)
    }

    /// Publishes several events under one lock hold and with one
    /// timestamp (an inject message, a generator's chunk): `f` calls
    /// [`Batch::publish`] for each. Cheaper than one [`Device::publish`]
    /// each; keep batches short, the lock is held throughout. False once
    /// unload took the channel (then `f` did not run). IRQL <= DISPATCH_LEVEL.
    pub fn publish_batch(&self, f: impl FnOnce(&mut Batch<'_, K>)) -> bool {
        self.channel
            .with(|chan, sink| {
                let now = kchan_engine::Clock::now(chan.clock());
                f(&mut Batch { chan, sink, now });
            })
            .is_some()
    }

    /// For the timer: completes what the completion policies say is due and
    /// says how long to sleep.
    pub fn on_timer(&self) -> TimerSleep {
        match self.channel.on_timer() {
            Some((now, Some(deadline))) => TimerSleep::For(deadline.saturating_sub(now)),
            Some((_, None)) => TimerSleep::UntilWoken,
            None => TimerSleep::Exit,
        }
    }

    /// The event that wakes the timer when a nearer deadline appears (and
    /// that unload sets to stop it).
    pub fn timer_wake(&self) -> &K::Event {
        self.channel.timer_wake()
    }

    /// Unload, step 1: refuses new dispatch routines and waits, without a
    /// time limit, until those in progress have left; then stops the
    /// driver's source ([`SourceHooks::shutdown`]). IRQL = PASSIVE_LEVEL.
    pub fn stop_dispatch(&self) {
        self.dispatch.drain("dispatch routines");
        if let Some(hooks) = self.hooks {
            hooks.shutdown();
        }
    }

    /// Unload, step 3 (after [`Device::stop_dispatch`] and after the timer
    /// and every event source stopped): closes every subscriber, completing
    /// its receives and counting the records left in its ring dropped at
    /// close, then waits without a time limit until every receive IRP is
    /// completed (cancel routines already running complete theirs).
    /// Returns what it closed. IRQL = PASSIVE_LEVEL.
    pub fn close_all(&self) -> Closed {
        crate::irql::passive::<K>();
        let mut closed = Closed::default();
        while let Some(Some(id)) = self.channel.with(|chan, _| chan.open_subscribers().next()) {
            let detached = self.channel.with(|chan, sink| chan.close(id, sink)).unwrap_or_default();
            closed.records_dropped += detached.records();
            self.free(detached);
            closed.subscribers += 1;
        }
        self.channel.receives.drain("receives");
        if let Some(chan) = self.channel.take() {
            drop(chan); // outside the lock
        }
        closed
    }

    /// Frees memory a subscriber gave up, returning its ring to the budget.
    /// Outside the lock, IRQL <= DISPATCH_LEVEL: dispatch routines and
    /// unload call it at PASSIVE_LEVEL; a cancel routine, at the IRQL of
    /// `IoCancelIrp`'s caller, frees the queue of a subscriber whose close
    /// it finished (its ring went at the close; nonpaged pool may be freed
    /// up to DISPATCH_LEVEL).
    pub(crate) fn free(&self, detached: Detached<Recv<K>>) {
        let bytes = detached.ring_bytes();
        drop(detached);
        self.budget.release(bytes);
    }

    /// Frees a prepared subscriber that was not attached.
    pub(crate) fn free_prepared(&self, prepared: Prepared<Recv<K>>) {
        let bytes = prepared.ring_bytes();
        drop(prepared);
        self.budget.release(bytes);
    }
}

/// Events published under one lock hold ([`Device::publish_batch`]).
pub struct Batch<'a, K: Kernel> {
    chan: &'a mut EngineChannel<K>,
    sink: &'a mut crate::sink::CompletionSink<K>,
    now: u64,
}

impl<K: Kernel> Batch<'_, K> {
    /// Publishes one event (see [`Device::publish`]), stamped with the
    /// batch's timestamp. Returns how many subscribers got it.
    pub fn publish(&mut self, kind: u16, payload: &[u8]) -> usize {
        self.chan.publish_at(kind, payload, self.now, self.sink)
    }

    /// Whether every consuming subscriber of `kind` can store `bytes` more
    /// record bytes without a loss ([`kchan_engine::Channel::has_room`]): a
    /// source that can hold its events back asks before publishing them.
    pub fn has_room(&self, kind: u16, bytes: usize) -> bool {
        self.chan.has_room(kind, bytes)
    }
}
