//! An OVERLAPPED: the kernel writes it (status, byte count) while its
//! request is in flight, so it lives in an `UnsafeCell` (as in mio): a
//! shared reference to its owner never claims it is unchanging, and the
//! kernel's fields are read through raw pointers only.

use std::cell::UnsafeCell;
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::IO::OVERLAPPED;

/// `STATUS_PENDING`, which `Internal` holds until the request completes.
const STATUS_PENDING: i32 = kchan_proto::STATUS_PENDING;

const _: () = assert!(std::mem::offset_of!(OVERLAPPED, Internal) == 0);
const _: () = assert!(std::mem::offset_of!(OVERLAPPED, InternalHigh) == std::mem::size_of::<usize>());

/// An OVERLAPPED shared with the kernel.
#[repr(transparent)]
pub(crate) struct Overlapped(UnsafeCell<OVERLAPPED>);

// SAFETY: an OVERLAPPED is plain data plus an event handle, and neither is
// tied to a thread: a request may be waited for, cancelled or reaped from
// any thread. (It is `!Send` only because `hEvent` is a raw pointer type.)
unsafe impl Send for Overlapped {}

impl Overlapped {
    /// A zeroed OVERLAPPED whose completion sets `event`; with a null event
    /// (and a handle bound to a completion port) it queues a packet there.
    pub fn new(event: HANDLE) -> Overlapped {
        // SAFETY: OVERLAPPED is plain data; all-zero is its initial state.
        let mut overlapped: OVERLAPPED = unsafe { std::mem::zeroed() };
        overlapped.hEvent = event;
        Overlapped(UnsafeCell::new(overlapped))
    }

    /// The pointer the kernel is given and a completion hands back.
    pub fn as_ptr(&self) -> *mut OVERLAPPED {
        self.0.get()
    }

    /// Zeroes it for a new request, keeping its event. `&mut`: no request
    /// may be using it.
    pub fn reset(&mut self) {
        *self = Overlapped::new(self.0.get_mut().hEvent);
    }

    /// The request's NTSTATUS: `STATUS_PENDING` until it has completed.
    pub fn status(&self) -> i32 {
        let internal = self.0.get().cast::<usize>(); // `Internal` is the first field (checked below)
                                                     // SAFETY: the pointer is valid and aligned for as long as `self`; the
                                                     // kernel may store to `Internal` concurrently, so it is read once,
                                                     // volatile, as the machine word it is.
        unsafe { std::ptr::read_volatile(internal) as i32 }
    }

    /// The request's `Information` (bytes written), once it has completed.
    pub fn information(&self) -> usize {
        // SAFETY: `InternalHigh` is the machine word after `Internal`
        // (checked below); valid and aligned for as long as `self`; read
        // volatile, as the kernel writes it.
        unsafe { std::ptr::read_volatile(self.0.get().cast::<usize>().wrapping_add(1)) }
    }

    /// Whether the request is still in flight (its status is still pending).
    pub fn is_pending(&self) -> bool {
        self.status() == STATUS_PENDING
    }
}
