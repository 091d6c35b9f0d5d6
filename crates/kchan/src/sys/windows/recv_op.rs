//! One receive request: an OVERLAPPED and the buffer the driver fills.
//!
//! The operation owns its buffer and is heap-allocated at a fixed address.
//! While the request is with the driver, the kernel owns both; the client
//! takes them back only when the completion packet for this OVERLAPPED has
//! been dequeued (completed or cancelled). Never free a `RecvOp` in flight.

use std::io;
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use windows_sys::Win32::Foundation::{GetLastError, ERROR_IO_PENDING, HANDLE};
use windows_sys::Win32::System::IO::{CancelIoEx, DeviceIoControl, OVERLAPPED};

/// A receive operation. `#[repr(C)]` with the OVERLAPPED first, so the
/// OVERLAPPED pointer a completion hands back is the operation's address.
/// Do not reorder the fields.
#[repr(C)]
pub struct RecvOp {
    overlapped: OVERLAPPED,
    buffer: Box<[u8]>,
    index: usize,
    in_flight: bool,
}

impl RecvOp {
    /// A new idle operation with a zeroed buffer of `bytes`.
    pub fn new(index: usize, bytes: usize) -> Box<RecvOp> {
        Box::new(RecvOp {
            // SAFETY: OVERLAPPED is plain data; all-zero is its initial state.
            overlapped: unsafe { std::mem::zeroed() },
            buffer: vec![0u8; bytes].into_boxed_slice(),
            index,
            in_flight: false,
        })
    }

    /// Its index in the subscription's table.
    pub fn index(&self) -> usize {
        self.index
    }

    /// True between a successful [`RecvOp::post`] and [`RecvOp::completed`].
    pub fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// The OVERLAPPED pointer completions of this operation carry.
    pub fn overlapped_ptr(&self) -> *const OVERLAPPED {
        &self.overlapped
    }

    /// Sends the receive IOCTL. On success the request is in flight and will
    /// produce exactly one completion packet on the handle's port.
    pub fn post(&mut self, device: &OwnedHandle, code: u32) -> io::Result<()> {
        assert!(!self.in_flight, "RecvOp posted twice");
        // SAFETY: OVERLAPPED is plain data; all-zero is its initial state.
        self.overlapped = unsafe { std::mem::zeroed() };
        // SAFETY: `self` is boxed (fixed address) and the subscription keeps
        // it, untouched, until the completion packet is dequeued; the buffer
        // lives as long as `self`.
        let ok = unsafe {
            DeviceIoControl(
                device.as_raw_handle() as HANDLE,
                code,
                std::ptr::null(),
                0,
                self.buffer.as_mut_ptr().cast(),
                self.buffer.len() as u32,
                std::ptr::null_mut(),
                &mut self.overlapped,
            )
        };
        // SAFETY: no precondition.
        if ok == 0 && unsafe { GetLastError() } != ERROR_IO_PENDING {
            return Err(io::Error::last_os_error());
        }
        self.in_flight = true;
        Ok(())
    }

    /// Asks the driver to cancel this request. Cancellation is a request:
    /// the operation stays in flight until its completion packet arrives.
    pub fn cancel(&self, device: &OwnedHandle) {
        if self.in_flight {
            // SAFETY: the OVERLAPPED identifies our own request on `device`;
            // failure (already completed) is harmless.
            unsafe { CancelIoEx(device.as_raw_handle() as HANDLE, &self.overlapped) };
        }
    }

    /// Records that the completion packet arrived; returns the NTSTATUS and
    /// the bytes the driver wrote.
    pub fn completed(&mut self, bytes: u32) -> (i32, &[u8]) {
        self.in_flight = false;
        let status = self.overlapped.Internal as i32;
        let len = (bytes as usize).min(self.buffer.len());
        (status, &self.buffer[..len])
    }

    /// The bytes of the last completion (valid until the next post).
    pub fn data(&self, bytes: usize) -> &[u8] {
        &self.buffer[..bytes.min(self.buffer.len())]
    }
}
