//! One receive operation: an OVERLAPPED and the buffer the driver fills.
//!
//! Ownership moves with the request, as in compio: [`RecvOp::post`] hands
//! the boxed operation to the kernel as a raw pointer, and [`RecvOp::reclaim`]
//! takes it back once its completion has been observed: the completion
//! packet for its OVERLAPPED dequeued (completed or cancelled), or, on a
//! handle that queues no packet for a request that succeeds at once, the
//! post itself returning success. While it is with the kernel no Rust
//! reference to the buffer exists, and the OVERLAPPED, which a cancel points
//! the kernel at, is an `UnsafeCell`.

use super::ioctl::{device_io_control, Started};
use super::overlapped::Overlapped;
use crate::sys::{Failure, RecvBuffer};
use std::cell::UnsafeCell;
use std::ptr::NonNull;
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::IO::{CancelIoEx, OVERLAPPED};

/// A receive operation. `#[repr(C)]` with the OVERLAPPED first, so that the
/// OVERLAPPED pointer a completion hands back is the operation's address
/// (checked below). Keep it first.
#[repr(C)]
pub(crate) struct RecvOp {
    overlapped: Overlapped,
    buffer: UnsafeCell<Box<[u8]>>,
}

const _: () = assert!(std::mem::offset_of!(RecvOp, overlapped) == 0, "a completion's OVERLAPPED is its RecvOp");

/// A receive the kernel accepted.
pub(crate) struct Sent {
    /// The operation, with the kernel until its completion is observed.
    pub op: NonNull<RecvOp>,
    /// The bytes written, if it completed inside the call.
    pub completed: Option<usize>,
}

impl RecvOp {
    /// A new idle operation with a zeroed buffer of `bytes`; its completions
    /// go to the completion port the handle is bound to (no event).
    pub fn new(bytes: usize) -> Box<RecvOp> {
        Box::new(RecvOp {
            overlapped: Overlapped::new(std::ptr::null_mut()),
            buffer: UnsafeCell::new(vec![0u8; bytes].into_boxed_slice()),
        })
    }

    /// Sends the receive IOCTL `code` on `device` (open, bound to a
    /// completion port). On success the operation belongs to the kernel
    /// until its completion is observed: exactly one completion packet
    /// carrying [`RecvOp::overlapped_ptr`] is dequeued, or, if it completed
    /// inside the call on a handle with `FILE_SKIP_COMPLETION_PORT_ON_SUCCESS`,
    /// no packet comes and that return was the completion. On failure
    /// nothing was queued and it comes back at once.
    pub fn post(mut self: Box<Self>, device: HANDLE, code: u32) -> Result<Sent, (Box<RecvOp>, Failure)> {
        self.overlapped.reset();
        let (buffer, len) = {
            let buffer = self.buffer.get_mut();
            (buffer.as_mut_ptr(), buffer.len())
        };
        let op = NonNull::from(Box::leak(self));
        let overlapped = RecvOp::overlapped_ptr(op);
        // SAFETY: the handle is open; the buffer and the OVERLAPPED live in
        // the leaked box, which stays where it is, unfreed and unreferenced
        // (but for its OVERLAPPED cell), until `reclaim` once its completion
        // has been observed, or is taken back below if the call failed.
        let started = unsafe { device_io_control(device, code, std::ptr::null(), 0, buffer, len, overlapped) };
        match started {
            Started::Failed(failure) => {
                // SAFETY: nothing was queued: the kernel keeps no pointer to
                // the operation, and `op` came from `Box::leak` above.
                Err((unsafe { Box::from_raw(op.as_ptr()) }, failure))
            }
            Started::Completed(bytes) => Ok(Sent { op, completed: Some(bytes) }),
            Started::Pending => Ok(Sent { op, completed: None }),
        }
    }

    /// The OVERLAPPED pointer the completion of operation `op` carries.
    pub fn overlapped_ptr(op: NonNull<RecvOp>) -> *mut OVERLAPPED {
        op.as_ptr().cast()
    }

    /// Asks the driver to cancel operation `op`. Cancellation is a request:
    /// the operation stays with the kernel until its completion packet.
    ///
    /// # Safety
    ///
    /// `op` was returned by [`RecvOp::post`] on `device` and not reclaimed.
    pub unsafe fn cancel(op: NonNull<RecvOp>, device: HANDLE) {
        // SAFETY: per the contract the operation is alive, so its OVERLAPPED
        // identifies our own request on `device`. Failure (it completed
        // meanwhile) is harmless.
        unsafe { CancelIoEx(device, RecvOp::overlapped_ptr(op)) };
    }

    /// Takes operation `op` back from the kernel.
    ///
    /// # Safety
    ///
    /// `op` was returned by [`RecvOp::post`], its completion has been
    /// observed (see there), and it is reclaimed once.
    pub unsafe fn reclaim(op: NonNull<RecvOp>) -> Box<RecvOp> {
        // SAFETY: per the contract the kernel is done with it and nothing
        // else owns it; it came from `Box::leak`.
        unsafe { Box::from_raw(op.as_ptr()) }
    }

    /// The NTSTATUS the request completed with.
    pub fn status(&self) -> i32 {
        self.overlapped.status()
    }
}

impl RecvBuffer for RecvOp {
    fn filled(&self, bytes: usize) -> &[u8] {
        // SAFETY: a `RecvOp` is reachable by reference only while it is
        // owned (a `Box` not with the kernel), so nothing writes the buffer
        // while this borrow lives.
        let buffer = unsafe { &*self.buffer.get() };
        &buffer[..bytes.min(buffer.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send<T: Send>() {}

    #[test]
    fn operations_and_requests_move_between_threads() {
        send::<Box<RecvOp>>();
        send::<crate::raw::Request>();
        send::<crate::Subscription>();
    }

    #[test]
    fn a_completions_overlapped_pointer_is_its_operation() {
        let op = NonNull::from(Box::leak(RecvOp::new(64)));
        // SAFETY: `op` is alive (leaked just above) and not with the kernel.
        let field = unsafe { op.as_ref().overlapped.as_ptr() };
        assert_eq!(RecvOp::overlapped_ptr(op), field);
        assert_eq!(field.cast::<RecvOp>(), op.as_ptr());
        // SAFETY: never posted; reclaimed once.
        drop(unsafe { RecvOp::reclaim(op) });
    }
}
