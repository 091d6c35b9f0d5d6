//! A system thread that `DriverUnload` can join.
//!
//! `PsCreateSystemThread` gives a handle; the thread object is referenced
//! through it (`ObReferenceObjectByHandle`) and the handle closed at once.
//! [`SystemThread::join`] waits on the thread object, which is signalled
//! only after the thread has left the driver's code (`PsTerminateSystemThread`
//! or return), so the image can be unloaded safely afterwards.

use crate::ffi::{
    status, KStartRoutine, KeWaitForSingleObject, ObReferenceObjectByHandle, ObfDereferenceObject,
    PsCreateSystemThread, PsThreadType, ZwClose, EXECUTIVE, HANDLE, KERNEL_MODE, NTSTATUS, SYNCHRONIZE,
    THREAD_ALL_ACCESS,
};
use core::ffi::c_void;
use core::ptr;

/// A referenced kernel thread object. Dropping it without [`join`] leaks
/// the reference; `join` consumes it.
///
/// [`join`]: SystemThread::join
pub struct SystemThread {
    object: *mut c_void,
}

// SAFETY: the thread object is a kernel object; its reference may be
// released from any thread.
unsafe impl Send for SystemThread {}
// SAFETY: `&SystemThread` offers no operation.
unsafe impl Sync for SystemThread {}

impl SystemThread {
    /// Starts `routine(context)` in a new system thread. IRQL = PASSIVE_LEVEL.
    /// `Err` means no thread was created (so `context` is not in use).
    ///
    /// # Safety
    /// `context` stays valid until the thread ends, the caller runs at
    /// PASSIVE_LEVEL, and `routine` ends with `PsTerminateSystemThread` or
    /// returns.
    pub unsafe fn spawn(routine: KStartRoutine, context: *mut c_void) -> Result<Self, NTSTATUS> {
        crate::irql::passive();
        let mut handle: HANDLE = ptr::null_mut();
        // SAFETY: PASSIVE_LEVEL (caller); `handle` is a live local; null
        // attributes, process and client id are allowed for a kernel thread
        // in the system process; `context` outlives the thread (caller).
        let st = unsafe {
            PsCreateSystemThread(
                &mut handle,
                THREAD_ALL_ACCESS,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                routine,
                context,
            )
        };
        if !status::nt_success(st) {
            return Err(st);
        }
        let mut object: *mut c_void = ptr::null_mut();
        // SAFETY: reads the imported variable `PsThreadType` (set by the
        // kernel before drivers load, never changed afterwards).
        let thread_type = unsafe { PsThreadType };
        // SAFETY: `handle` is a kernel handle to the new thread, valid until
        // closed below; PASSIVE_LEVEL (caller).
        let st = unsafe {
            ObReferenceObjectByHandle(handle, SYNCHRONIZE, thread_type, KERNEL_MODE, &mut object, ptr::null_mut())
        };
        // SAFETY: we own `handle` and close it exactly once; the object
        // reference (if taken) keeps the thread object alive.
        unsafe { ZwClose(handle) };
        // Referencing a thread handle we were just given cannot fail unless
        // the kernel's state is corrupt; the thread already runs with
        // `context`, so returning an error would let the caller free it.
        assert!(status::nt_success(st), "ObReferenceObjectByHandle(new thread): {st:#x}");
        Ok(Self { object })
    }

    /// Waits until the thread has ended, then drops the reference.
    /// IRQL = PASSIVE_LEVEL, not from the thread itself.
    pub fn join(self) -> NTSTATUS {
        crate::irql::passive();
        // SAFETY: `object` is a referenced thread object (from `spawn`), a
        // dispatcher object signalled when the thread ends; the caller runs
        // at PASSIVE_LEVEL (method contract); no timeout.
        let st = unsafe { KeWaitForSingleObject(self.object, EXECUTIVE, KERNEL_MODE, 0, ptr::null_mut()) };
        // SAFETY: releases the one reference taken in `spawn`.
        unsafe { ObfDereferenceObject(self.object) };
        st
    }
}
