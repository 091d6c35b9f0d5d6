//! Synchronization: [`SpinLock`] (a `KSPIN_LOCK` guarding data, released by
//! an RAII guard) and [`Event`] (a `KEVENT`).

use crate::ffi::{
    KEvent, KeAcquireSpinLockRaiseToDpc, KeInitializeEvent, KeReleaseSpinLock, KeSetEvent, KeWaitForSingleObject,
    EXECUTIVE, KERNEL_MODE, KIRQL, KSPIN_LOCK, NTSTATUS,
};
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ops::{Deref, DerefMut};

/// Data guarded by a `KSPIN_LOCK`.
///
/// Must live in nonpaged memory (a device extension, a static, the pool):
/// it is touched at DISPATCH_LEVEL. Holding the guard raises the IRQL to
/// DISPATCH_LEVEL: no waiting, no paged memory, no `IoCompleteRequest` of
/// IRPs whose completion may re-enter this lock, and keep it short (under
/// Wine a spin lock is a user-mode busy-wait whose holder can be
/// descheduled).
pub struct SpinLock<T> {
    lock: UnsafeCell<KSPIN_LOCK>,
    data: UnsafeCell<T>,
}

// SAFETY: the lock serializes all access to `data`, so sharing a
// `SpinLock<T>` between threads only moves `T` values between them.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: moving a `SpinLock<T>` to another thread moves its `T`, which is
// `Send`; the lock word itself has no thread affinity.
unsafe impl<T: Send> Send for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// A released lock holding `value` (`KeInitializeSpinLock` stores 0).
    pub const fn new(value: T) -> Self {
        Self { lock: UnsafeCell::new(0), data: UnsafeCell::new(value) }
    }

    /// `KeAcquireSpinLock`: spins until acquired, at DISPATCH_LEVEL.
    ///
    /// IRQL <= DISPATCH_LEVEL. Not re-entrant: acquiring it twice on one
    /// thread deadlocks.
    #[track_caller]
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        crate::irql::at_most_dispatch();
        // SAFETY: `self.lock` is a valid, nonpaged KSPIN_LOCK (type docs);
        // the caller runs at IRQL <= DISPATCH_LEVEL (method contract).
        let old_irql = unsafe { KeAcquireSpinLockRaiseToDpc(self.lock.get()) };
        SpinLockGuard { lock: self, old_irql, _not_send: PhantomData }
    }

    /// Mutable access without locking, through exclusive ownership.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

/// Holds a [`SpinLock`] at DISPATCH_LEVEL; dropping it releases the lock and
/// restores the previous IRQL.
pub struct SpinLockGuard<'a, T> {
    lock: &'a SpinLock<T>,
    old_irql: KIRQL,
    /// The lock must be released on the thread (and CPU) that took it.
    _not_send: PhantomData<*mut ()>,
}

impl<T> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held, so no other reference
        // to `data` is live.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this reference unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard acquired the lock on this thread at
        // DISPATCH_LEVEL (it is !Send), and `old_irql` is what the acquire
        // returned.
        unsafe { KeReleaseSpinLock(self.lock.lock.get(), self.old_irql) };
    }
}

/// A `KEVENT`. Initialize it in place with [`Event::init`] before use; it
/// must stay in nonpaged memory and not move afterwards.
#[repr(transparent)]
pub struct Event(UnsafeCell<MaybeUninit<KEvent>>);

// SAFETY: a KEVENT is a kernel dispatcher object designed to be signalled
// and waited on from any thread; the kernel synchronizes its state.
unsafe impl Sync for Event {}
// SAFETY: a KEVENT has no thread affinity: any thread may own the
// storage, initialize it, signal it or wait on it.
unsafe impl Send for Event {}

impl Event {
    /// Uninitialized storage; call [`Event::init`] in place.
    pub const fn uninit() -> Self {
        Self(UnsafeCell::new(MaybeUninit::uninit()))
    }

    /// `KeInitializeEvent(event, type, signalled)`; `event_type` is
    /// `NOTIFICATION_EVENT` or `SYNCHRONIZATION_EVENT`. Any IRQL.
    ///
    /// # Safety
    /// The event is at its final address, and nobody waits on it or sets it.
    pub unsafe fn init(&self, event_type: u32, signalled: bool) {
        // SAFETY: the storage is valid for writes and not in use (caller).
        unsafe { KeInitializeEvent(self.raw(), event_type, u8::from(signalled)) };
    }

    /// `KeSetEvent(event, IO_NO_INCREMENT, FALSE)`. IRQL <= DISPATCH_LEVEL.
    ///
    /// # Safety
    /// [`Event::init`] ran.
    #[track_caller]
    pub unsafe fn set(&self) {
        crate::irql::at_most_dispatch();
        // SAFETY: initialized (caller); Wait = FALSE allows <= DISPATCH_LEVEL.
        unsafe { KeSetEvent(self.raw(), 0, 0) };
    }

    /// `KeWaitForSingleObject` with an optional relative timeout in 100 ns
    /// units. IRQL = PASSIVE_LEVEL.
    ///
    /// # Safety
    /// [`Event::init`] ran; the caller runs at PASSIVE_LEVEL.
    #[track_caller]
    pub unsafe fn wait(&self, timeout_100ns: Option<i64>) -> NTSTATUS {
        crate::irql::passive();
        let mut t = timeout_100ns.map(|v| -v.abs());
        let tp = t.as_mut().map_or(core::ptr::null_mut(), |v| v as *mut i64);
        // SAFETY: initialized event (caller), PASSIVE_LEVEL (caller), `tp`
        // null or a live local.
        unsafe { KeWaitForSingleObject(self.raw().cast::<c_void>(), EXECUTIVE, KERNEL_MODE, 0, tp) }
    }

    fn raw(&self) -> *mut KEvent {
        self.0.get().cast()
    }
}
