//! [`Wdm`]: the core's kernel operations over `kchan-km` (IRPs as owned
//! values, the spin lock, `KEVENT`, the IRQL, `DbgPrint`).

use super::clock::KernelClock;
use crate::kernel::{self, HandleWords, IoctlParams, Irql, NtStatus};
use kchan_km::ffi::{DeviceObject, Irp as RawIrp, NOTIFICATION_EVENT, SYNCHRONIZATION_EVENT};
use kchan_km::irp::{CancelableIrp, Irp};
use kchan_km::sync::{Event, SpinLock};

/// The Windows kernel, as the core sees it.
pub struct Wdm;

impl kernel::Kernel for Wdm {
    type Irp = Irp;
    type Cancelable = CancelableIrp;
    type Lock<T: Send> = SpinLock<T>;
    type Event = Event;
    type Clock = KernelClock;

    /// CR8, read in debug builds only (see `kchan_km::irql`).
    fn current_irql() -> Irql {
        Irql::from_raw(kchan_km::irql::current())
    }

    fn log(args: core::fmt::Arguments<'_>) {
        kchan_km::log::print(format_args!("kchan: {args}"));
    }
}

/// The cancel routine of every receive (`DRIVER_CANCEL`): hands the IRP,
/// now the driver's alone, to the device's core.
///
/// # Safety
/// Called by `IoCancelIrp` only, for an IRP armed by [`Irp::arm`] through
/// this module (a receive of our device), at DISPATCH_LEVEL holding the
/// cancel spin lock.
unsafe extern "system" fn cancel_receive(device: *mut DeviceObject, irp: *mut RawIrp) {
    // SAFETY: first thing in our cancel routine (caller).
    let irp = unsafe { Irp::from_cancel_routine(irp) };
    // SAFETY: a receive of our device: the device lives until unload has
    // waited for every receive, this one included.
    let dev = unsafe { super::KchanDevice::from_object(device) };
    dev.core().cancel_receive(irp);
}

impl kernel::OwnedIrp for Irp {
    type Cancelable = CancelableIrp;

    fn id(&self) -> u64 {
        Irp::id(self)
    }

    fn handle(&self) -> Option<HandleWords<'_>> {
        self.file_context().map(|(binding, access)| HandleWords { binding, access })
    }

    fn granted_access(&self) -> Option<u32> {
        Irp::granted_access(self)
    }

    fn ioctl(&self) -> IoctlParams {
        let p = self.ioctl_parameters().expect("device control IRP");
        IoctlParams {
            code: p.io_control_code,
            input_len: p.input_buffer_length as usize,
            output_len: p.output_buffer_length as usize,
        }
    }

    fn system_buffer(&mut self) -> &mut [u8] {
        Irp::system_buffer(self)
    }

    fn set_context(&mut self, value: u64) {
        Irp::set_context(self, value);
    }

    fn context(&self) -> u64 {
        Irp::context(self)
    }

    fn stage(&mut self, status: NtStatus, information: usize) {
        Irp::stage(self, status, information);
    }

    fn staged_status(&self) -> NtStatus {
        Irp::staged_status(self)
    }

    fn set_next(&mut self, next: Option<Self>) {
        Irp::set_next(self, next);
    }

    fn take_next(&mut self) -> Option<Self> {
        Irp::take_next(self)
    }

    fn complete(self, status: NtStatus, information: usize) {
        Irp::complete(self, status, information);
    }

    fn complete_staged(self) {
        Irp::complete_staged(self);
    }

    fn arm(self) -> CancelableIrp {
        Irp::arm(self, cancel_receive)
    }
}

impl kernel::CancelableIrp for CancelableIrp {
    type Owned = Irp;

    fn id(&self) -> u64 {
        CancelableIrp::id(self)
    }

    fn is_cancelled(&self) -> bool {
        CancelableIrp::is_cancelled(self)
    }

    fn system_buffer(&mut self) -> &mut [u8] {
        CancelableIrp::system_buffer(self)
    }

    fn context(&self) -> u64 {
        CancelableIrp::context(self)
    }

    fn try_claim(&mut self) -> bool {
        CancelableIrp::try_claim(self)
    }

    fn into_owned(self) -> Result<Irp, Self> {
        CancelableIrp::into_owned(self)
    }

    fn mark_pending(&mut self) {
        CancelableIrp::mark_pending(self);
    }

    fn disown(self) {
        CancelableIrp::disown(self);
    }
}

impl<T: Send> kernel::SpinLock<T> for SpinLock<T> {
    fn new(value: T) -> Self {
        SpinLock::new(value)
    }

    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock())
    }
}

impl kernel::Event for Event {
    fn uninit() -> Self {
        Event::uninit()
    }

    unsafe fn init(&self, auto_reset: bool) {
        let kind = if auto_reset { SYNCHRONIZATION_EVENT } else { NOTIFICATION_EVENT };
        // SAFETY: final address, unused so far (caller).
        unsafe { Event::init(self, kind, false) };
    }

    fn set(&self) {
        // SAFETY: the core sets only events its `init` initialized, at
        // IRQL <= DISPATCH_LEVEL.
        unsafe { Event::set(self) };
    }

    fn wait(&self, timeout_100ns: Option<u64>) -> bool {
        let timeout = timeout_100ns.map(|t| t.min(i64::MAX as u64) as i64);
        // SAFETY: initialized (see `set`); the core waits only at
        // PASSIVE_LEVEL (checked in debug builds by its callers).
        let status = unsafe { Event::wait(self, timeout) };
        // STATUS_SUCCESS (0): signalled; STATUS_TIMEOUT (0x102): not.
        status == 0
    }
}
