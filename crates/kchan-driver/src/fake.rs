//! A fake kernel for the host tests: IRPs in shared cells, an I/O manager
//! that opens handles, sends requests, cancels (`IoCancelIrp`'s exchange of
//! the cancel routine) and closes, and an IRQL per thread that the fake
//! spin lock raises. With `--cfg loom` its locks, events and the IRPs'
//! cancel fields are loom's, so loom explores the core's real races.
//!
//! Each IRP records how often it was completed and with what; the tests
//! check "exactly once".

use crate::device::{Config, Device, SourceHooks};
use crate::kernel::{self, HandleWords, IoctlParams, Irql, Kernel as _, NtStatus};
use crate::sync::{AtomicBool, AtomicU64, Ordering};
use std::sync::atomic::{AtomicU64 as StdU64, AtomicUsize as StdUsize, Ordering as StdOrdering};
use std::sync::Arc;

#[cfg(loom)]
use loom::sync::{Condvar, Mutex};
#[cfg(not(loom))]
use std::sync::{Condvar, Mutex};

#[cfg(loom)]
loom::thread_local! { static IRQL: std::cell::Cell<Irql> = std::cell::Cell::new(Irql::Passive); }
#[cfg(not(loom))]
std::thread_local! { static IRQL: std::cell::Cell<Irql> = const { std::cell::Cell::new(Irql::Passive) }; }

// Spin locks of the driver this thread holds: completing an IRP or
// taking the lock again while one is held is a bug the fake stops at.
#[cfg(loom)]
loom::thread_local! { static LOCKS_HELD: std::cell::Cell<u32> = std::cell::Cell::new(0); }
#[cfg(not(loom))]
std::thread_local! { static LOCKS_HELD: std::cell::Cell<u32> = const { std::cell::Cell::new(0) }; }

fn locks_held() -> u32 {
    LOCKS_HELD.with(std::cell::Cell::get)
}

fn set_irql(irql: Irql) -> Irql {
    IRQL.with(|c| c.replace(irql))
}

/// The fake kernel.
pub struct Fake;

/// A clock the test sets (100 ns ticks).
#[derive(Clone, Default)]
pub struct FakeClock(pub Arc<StdU64>);

impl kchan_engine::Clock for FakeClock {
    fn now(&self) -> u64 {
        self.0.load(StdOrdering::Relaxed)
    }
}

impl kernel::Kernel for Fake {
    type Irp = FakeIrp;
    type Cancelable = FakeCancelable;
    type Lock<T: Send> = FakeLock<T>;
    type Event = FakeEvent;
    type Clock = FakeClock;

    fn current_irql() -> Irql {
        IRQL.with(|c| c.get())
    }

    fn log(args: core::fmt::Arguments<'_>) {
        eprintln!("fake kernel: {args}");
    }
}

/// A file object: the two driver words.
#[derive(Default)]
pub struct FakeFile {
    binding: AtomicU64,
    access: AtomicU64,
}

/// How an IRP completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// `IoStatus.Status`.
    pub status: NtStatus,
    /// `IoStatus.Information`.
    pub information: usize,
    /// The first `information` bytes of the system buffer (empty when the
    /// completing owner did not hold the buffer: the cancel routine).
    pub output: Vec<u8>,
}

/// What an IRP is, shared by every view of it (like the IRP's memory).
pub struct IrpCell {
    id: u64,
    file: Option<Arc<FakeFile>>,
    params: IoctlParams,
    access: Option<u32>,
    /// `Irp->Cancel`.
    cancel: AtomicBool,
    /// `Irp->CancelRoutine` is set.
    routine: AtomicBool,
    /// `IoMarkIrpPending` ran.
    pending: AtomicBool,
    /// `DriverContext[0]`.
    context: AtomicU64,
    completions: StdUsize,
    completion: std::sync::Mutex<Option<Completion>>,
}

impl IrpCell {
    /// Times it was completed (must end at exactly 1).
    pub fn completions(&self) -> usize {
        self.completions.load(StdOrdering::SeqCst)
    }

    /// Its completion, if any.
    pub fn completion(&self) -> Option<Completion> {
        self.completion.lock().unwrap().clone()
    }

    /// Whether the dispatch routine marked it pending.
    pub fn marked_pending(&self) -> bool {
        self.pending.load(Ordering::SeqCst)
    }
}

/// An owned IRP: the cell plus what travels with ownership (the system
/// buffer, the staged status, the chain link).
pub struct FakeIrp {
    cell: Arc<IrpCell>,
    buffer: Vec<u8>,
    staged: (NtStatus, usize),
    next: Option<Box<FakeIrp>>,
}

static NEXT_ID: StdU64 = StdU64::new(0x1000);

impl FakeIrp {
    fn new(file: Option<Arc<FakeFile>>, params: IoctlParams, input: &[u8], access: Option<u32>) -> FakeIrp {
        let mut buffer = vec![0u8; params.input_len.max(params.output_len)];
        buffer[..input.len()].copy_from_slice(input);
        let cell = Arc::new(IrpCell {
            id: NEXT_ID.fetch_add(0x100, StdOrdering::Relaxed),
            file,
            params,
            access,
            cancel: AtomicBool::new(false),
            routine: AtomicBool::new(false),
            pending: AtomicBool::new(false),
            context: AtomicU64::new(0),
            completions: StdUsize::new(0),
            completion: std::sync::Mutex::new(None),
        });
        FakeIrp { cell, buffer, staged: (0, 0), next: None }
    }

    /// The shared cell (for the test to watch).
    pub fn cell(&self) -> Arc<IrpCell> {
        self.cell.clone()
    }
}

impl kernel::OwnedIrp for FakeIrp {
    type Cancelable = FakeCancelable;

    fn id(&self) -> u64 {
        self.cell.id
    }
    fn handle(&self) -> Option<HandleWords<'_>> {
        self.cell.file.as_ref().map(|f| HandleWords { binding: &f.binding, access: &f.access })
    }
    fn granted_access(&self) -> Option<u32> {
        self.cell.access
    }
    fn ioctl(&self) -> IoctlParams {
        self.cell.params
    }
    fn system_buffer(&mut self) -> &mut [u8] {
        &mut self.buffer
    }
    fn set_context(&mut self, value: u64) {
        self.cell.context.store(value, Ordering::Relaxed);
    }
    fn context(&self) -> u64 {
        self.cell.context.load(Ordering::Relaxed)
    }
    fn stage(&mut self, status: NtStatus, information: usize) {
        self.staged = (status, information);
    }
    fn staged_status(&self) -> NtStatus {
        self.staged.0
    }
    fn set_next(&mut self, next: Option<Self>) {
        self.next = next.map(Box::new);
    }
    fn take_next(&mut self) -> Option<Self> {
        self.next.take().map(|b| *b)
    }
    fn complete(mut self, status: NtStatus, information: usize) {
        self.stage(status, information);
        self.complete_staged();
    }
    fn complete_staged(self) {
        assert!(Fake::current_irql() <= Irql::Dispatch, "completed above DISPATCH_LEVEL");
        assert_eq!(locks_held(), 0, "IRP completed under the driver's spin lock");
        let (status, information) = self.staged;
        let output = self.buffer.get(..information).map(<[u8]>::to_vec).unwrap_or_default();
        *self.cell.completion.lock().unwrap() = Some(Completion { status, information, output });
        let before = self.cell.completions.fetch_add(1, StdOrdering::SeqCst);
        assert_eq!(before, 0, "IRP {:#x} completed twice", self.cell.id);
    }
    fn arm(self) -> FakeCancelable {
        // SeqCst: IoSetCancelRoutine is a full barrier.
        let before = self.cell.routine.swap(true, Ordering::SeqCst);
        assert!(!before, "IRP armed twice");
        FakeCancelable { irp: self, claimed: false }
    }
}

/// An owned IRP with its cancel routine set.
pub struct FakeCancelable {
    irp: FakeIrp,
    claimed: bool,
}

impl kernel::CancelableIrp for FakeCancelable {
    type Owned = FakeIrp;

    fn id(&self) -> u64 {
        self.irp.cell.id
    }
    fn is_cancelled(&self) -> bool {
        self.irp.cell.cancel.load(Ordering::SeqCst)
    }
    fn system_buffer(&mut self) -> &mut [u8] {
        &mut self.irp.buffer
    }
    fn context(&self) -> u64 {
        self.irp.cell.context.load(Ordering::Relaxed)
    }
    fn try_claim(&mut self) -> bool {
        if !self.claimed {
            self.claimed = self.irp.cell.routine.swap(false, Ordering::SeqCst);
        }
        self.claimed
    }
    fn into_owned(self) -> Result<FakeIrp, Self> {
        if self.claimed {
            Ok(self.irp)
        } else {
            Err(self)
        }
    }
    fn mark_pending(&mut self) {
        self.irp.cell.pending.store(true, Ordering::SeqCst);
    }
    fn disown(self) {
        assert!(!self.claimed, "disowned a claimed IRP");
    }
}

/// A mutex standing for the spin lock; holding it raises this thread's
/// IRQL to DISPATCH_LEVEL. Completing an IRP, or taking the lock again,
/// while it is held stops the test.
pub struct FakeLock<T>(Mutex<T>);

impl<T: Send> kernel::SpinLock<T> for FakeLock<T> {
    fn new(value: T) -> Self {
        FakeLock(Mutex::new(value))
    }

    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        assert!(Fake::current_irql() <= Irql::Dispatch, "spin lock taken above DISPATCH_LEVEL");
        assert_eq!(locks_held(), 0, "the driver's spin lock taken while it holds it (a deadlock on Windows)");
        let mut guard = self.0.lock().unwrap();
        let before = set_irql(Irql::Dispatch);
        LOCKS_HELD.with(|c| c.set(1));
        let value = f(&mut guard);
        LOCKS_HELD.with(|c| c.set(0));
        set_irql(before);
        value
    }
}

/// A kernel event over a mutex and a condition variable. (Its flags are
/// scaffolding, not part of what loom explores.)
pub struct FakeEvent {
    signalled: Mutex<bool>,
    cond: Condvar,
    auto_reset: std::sync::atomic::AtomicBool,
    initialized: std::sync::atomic::AtomicBool,
}

impl kernel::Event for FakeEvent {
    fn uninit() -> Self {
        FakeEvent {
            signalled: Mutex::new(false),
            cond: Condvar::new(),
            auto_reset: std::sync::atomic::AtomicBool::new(false),
            initialized: std::sync::atomic::AtomicBool::new(false),
        }
    }

    unsafe fn init(&self, auto_reset: bool) {
        self.auto_reset.store(auto_reset, StdOrdering::Relaxed);
        self.initialized.store(true, StdOrdering::Release);
    }

    fn set(&self) {
        assert!(self.initialized.load(StdOrdering::Acquire), "event set before init");
        *self.signalled.lock().unwrap() = true;
        self.cond.notify_all();
    }

    fn wait(&self, timeout_100ns: Option<u64>) -> bool {
        assert!(self.initialized.load(StdOrdering::Acquire), "event waited on before init");
        assert_eq!(Fake::current_irql(), Irql::Passive, "waited above PASSIVE_LEVEL");
        let mut signalled = self.signalled.lock().unwrap();
        #[cfg(not(loom))]
        if let Some(t) = timeout_100ns {
            let deadline = std::time::Instant::now() + std::time::Duration::from_nanos(t.saturating_mul(100));
            while !*signalled {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return false;
                }
                signalled = self.cond.wait_timeout(signalled, left).unwrap().0;
            }
        }
        // Under loom there is no time: a wait ends when the event is set.
        #[cfg(loom)]
        let _ = timeout_100ns;
        while !*signalled {
            signalled = self.cond.wait(signalled).unwrap();
        }
        if self.auto_reset.load(StdOrdering::Relaxed) {
            *signalled = false;
        }
        true
    }
}

/// A test's device and its I/O manager.
pub struct FakeIo {
    /// The device under test (boxed: it never moves after `init`).
    pub device: Box<Device<Fake>>,
    /// Its clock.
    pub clock: FakeClock,
}

/// An open handle.
#[derive(Clone)]
pub struct FakeHandle {
    file: Arc<FakeFile>,
}

/// A request sent to the device: its dispatch status and its cell.
pub struct Sent {
    /// What the dispatch routine returned.
    pub status: NtStatus,
    /// The IRP, to watch its completion.
    pub irp: Arc<IrpCell>,
}

impl FakeIo {
    /// A device with `config`.
    pub fn new(config: Config) -> FakeIo {
        FakeIo::with_hooks(config, None)
    }

    /// A device with `config` and a driver's own event source.
    pub fn with_hooks(config: Config, hooks: Option<&'static dyn SourceHooks>) -> FakeIo {
        let clock = FakeClock::default();
        let device = Box::new(Device::<Fake>::new(clock.clone(), config, hooks).expect("device"));
        // SAFETY: boxed: at its final address, not yet shared.
        unsafe { device.init() };
        FakeIo { device, clock }
    }

    /// `CreateFile`: CREATE with `access` granted (`None`: not reported,
    /// as under Wine). Returns the handle and CREATE's status.
    pub fn open(&self, access: Option<u32>) -> (FakeHandle, NtStatus) {
        let file = Arc::new(FakeFile::default());
        let irp = FakeIrp::new(Some(file.clone()), IoctlParams { code: 0, input_len: 0, output_len: 0 }, &[], access);
        let status = self.device.create(irp);
        (FakeHandle { file }, status)
    }

    /// `DeviceIoControl` with `input` and an output buffer of `out_len`.
    pub fn ioctl(&self, handle: &FakeHandle, code: u32, input: &[u8], out_len: usize) -> Sent {
        let irp = FakeIo::build(handle, code, input, out_len);
        let cell = irp.cell();
        let status = self.device.device_control(irp);
        Sent { status, irp: cell }
    }

    /// A request that reaches the device without a file object (never
    /// through a handle).
    pub fn ioctl_without_file(&self, code: u32, input: &[u8], out_len: usize) -> Sent {
        let params = IoctlParams { code, input_len: input.len(), output_len: out_len };
        let irp = FakeIrp::new(None, params, input, None);
        let cell = irp.cell();
        let status = self.device.device_control(irp);
        Sent { status, irp: cell }
    }

    /// The IRP `DeviceIoControl` would send (to send it with
    /// [`FakeIo::send`], while another thread may already cancel it).
    pub fn build(handle: &FakeHandle, code: u32, input: &[u8], out_len: usize) -> FakeIrp {
        let params = IoctlParams { code, input_len: input.len(), output_len: out_len };
        FakeIrp::new(Some(handle.file.clone()), params, input, None)
    }

    /// Sends an IRP made by [`FakeIo::build`].
    pub fn send(&self, irp: FakeIrp) -> NtStatus {
        self.device.device_control(irp)
    }

    /// `IoCancelIrp`: sets `Cancel`, and if it swaps the cancel routine
    /// out, calls it with the IRP (the routine then owns it).
    pub fn cancel(&self, irp: &Arc<IrpCell>) {
        if let Some(owned) = self.begin_cancel(irp) {
            self.run_cancel_routine(owned);
        }
    }

    /// The first half of `IoCancelIrp`: sets `Cancel` and swaps the cancel
    /// routine out; the IRP if that won it (its cancel routine is then
    /// about to run: [`FakeIo::run_cancel_routine`]).
    pub fn begin_cancel(&self, irp: &Arc<IrpCell>) -> Option<FakeIrp> {
        irp.cancel.store(true, Ordering::SeqCst);
        irp.routine.swap(false, Ordering::SeqCst).then(|| FakeIrp {
            cell: irp.clone(),
            buffer: Vec::new(),
            staged: (0, 0),
            next: None,
        })
    }

    /// The second half: the cancel routine runs with the IRP it owns.
    pub fn run_cancel_routine(&self, irp: FakeIrp) {
        self.device.cancel_receive(irp);
    }

    /// `IRP_MJ_CLEANUP` (the last handle closed).
    pub fn cleanup(&self, handle: &FakeHandle) -> NtStatus {
        let irp =
            FakeIrp::new(Some(handle.file.clone()), IoctlParams { code: 0, input_len: 0, output_len: 0 }, &[], None);
        self.device.cleanup(irp)
    }

    /// `IRP_MJ_CLOSE` (the last reference gone).
    pub fn close(&self, handle: &FakeHandle) -> NtStatus {
        let irp =
            FakeIrp::new(Some(handle.file.clone()), IoctlParams { code: 0, input_len: 0, output_len: 0 }, &[], None);
        self.device.close(irp)
    }

    /// The whole unload sequence of the device (what `DriverUnload` runs).
    pub fn unload(&self) -> crate::Closed {
        self.device.stop_dispatch();
        self.device.close_all()
    }
}
