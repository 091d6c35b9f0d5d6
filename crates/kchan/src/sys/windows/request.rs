//! [`Request`]: one request on an overlapped handle, left in flight for as
//! long as its owner wants, and [`call_synchronous`] for a handle opened
//! without `FILE_FLAG_OVERLAPPED`. For tools and tests that need what
//! [`Device`](crate::Device) and [`Subscription`](crate::Subscription) hide:
//! a receive that pends while the driver's counters are read, a cancel of
//! exactly one request, the precise status of a malformed one.

use super::ioctl::{device_io_control, Started};
use super::overlapped::Overlapped;
use crate::sys::Failure;
use std::cell::UnsafeCell;
use std::io;
use std::os::windows::io::{AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle, RawHandle};
use std::time::Duration;
use windows_sys::Win32::Foundation::{RtlNtStatusToDosError, HANDLE, WAIT_OBJECT_0};
use windows_sys::Win32::System::Threading::{CreateEventW, WaitForSingleObject, INFINITE};
use windows_sys::Win32::System::IO::CancelIoEx;

/// One request: its OVERLAPPED, event and buffers, heap-allocated so they
/// stay in place while the kernel has them. Dropping a request that is
/// still in flight waits for its completion first.
pub struct Request {
    overlapped: Overlapped,
    /// Manual-reset; set by the completion.
    event: OwnedHandle,
    input: Box<[u8]>,
    output: UnsafeCell<Box<[u8]>>,
    output_len: usize,
    /// `DeviceIoControl` returned `ERROR_IO_PENDING`.
    pended: bool,
    /// How it failed at once, if it did (then nothing is in flight).
    failed_at_once: Option<(u32, Option<i32>)>,
    /// Its completion has been observed: the kernel is done with it.
    done: bool,
}

impl Request {
    /// Sends IOCTL `code` with `input` and an output buffer of
    /// `output_len` bytes on `device`, an overlapped handle. The request's
    /// event has its low bit set, so it never completes on a completion port
    /// the handle may be bound to.
    pub fn submit(device: BorrowedHandle<'_>, code: u32, input: &[u8], output_len: usize) -> io::Result<Box<Request>> {
        // SAFETY: null attributes and name are allowed; manual reset, unsignalled.
        let event = unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) };
        if event.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh event handle that nothing else owns.
        let event = unsafe { OwnedHandle::from_raw_handle(event as RawHandle) };
        let mut request = Box::new(Request {
            overlapped: Overlapped::new((event.as_raw_handle() as usize | 1) as HANDLE),
            event,
            input: input.into(),
            output: UnsafeCell::new(vec![0; output_len].into_boxed_slice()),
            output_len,
            pended: false,
            failed_at_once: None,
            done: false,
        });
        let (input, input_len) = (request.input.as_ptr(), request.input.len());
        let (output, output_len) = {
            let output = request.output.get_mut();
            (output.as_mut_ptr(), output.len())
        };
        // SAFETY: the handle is open (borrowed); the buffers and the
        // OVERLAPPED live in the box, which is neither freed nor touched
        // (but through the OVERLAPPED cell) before the completion has been
        // observed: `Drop` waits for it.
        let started = unsafe {
            device_io_control(
                device.as_raw_handle() as HANDLE,
                code,
                input,
                input_len,
                output,
                output_len,
                request.overlapped.as_ptr(),
            )
        };
        match started {
            Started::Pending => request.pended = true,
            Started::Completed(_) => {}
            Started::Failed(Failure::Status(status)) => {
                // SAFETY: a pure mapping.
                request.failed_at_once = Some((unsafe { RtlNtStatusToDosError(status) }, Some(status)));
                request.done = true;
            }
            Started::Failed(Failure::Os(e)) => {
                request.failed_at_once = Some((e.raw_os_error().unwrap_or(0) as u32, None));
                request.done = true;
            }
        }
        Ok(request)
    }

    /// Whether `DeviceIoControl` returned `ERROR_IO_PENDING` (the driver
    /// queued it) rather than completing or failing it at once.
    pub fn pended(&self) -> bool {
        self.pended
    }

    /// The Win32 error of a request that failed at once (nothing was then
    /// queued, and the OVERLAPPED was not written).
    pub fn error_at_submit(&self) -> Option<u32> {
        self.failed_at_once.map(|(error, _)| error)
    }

    /// Whether the request is still in flight.
    pub fn is_pending(&self) -> bool {
        self.failed_at_once.is_none() && self.overlapped.is_pending()
    }

    /// Its NTSTATUS: `STATUS_PENDING` while in flight, then what the driver
    /// completed it with (also when it failed at once, if known).
    pub fn status(&self) -> i32 {
        match self.failed_at_once {
            Some((_, Some(status))) => status,
            _ => self.overlapped.status(),
        }
    }

    /// Waits up to `timeout` for the completion; whether it has completed.
    pub fn wait_timeout(&mut self, timeout: Duration) -> bool {
        if self.done {
            return true;
        }
        let ms = timeout.as_millis().min(u128::from(INFINITE - 1)) as u32;
        // SAFETY: our event handle is open.
        self.done = unsafe { WaitForSingleObject(self.event.as_raw_handle() as HANDLE, ms) } == WAIT_OBJECT_0;
        self.done
    }

    /// Waits for the completion (as `GetOverlappedResult` does): the bytes
    /// written to the output, or the error the status maps to (e.g.
    /// `ERROR_OPERATION_ABORTED` for a cancelled request).
    pub fn wait(&mut self) -> io::Result<usize> {
        if let Some((error, _)) = self.failed_at_once {
            return Err(io::Error::from_raw_os_error(error as i32));
        }
        if !self.done {
            // SAFETY: our event handle is open.
            unsafe { WaitForSingleObject(self.event.as_raw_handle() as HANDLE, INFINITE) };
            self.done = true;
        }
        let status = self.overlapped.status();
        if status < 0 {
            return Err(os_error_of(status));
        }
        let bytes = self.overlapped.information();
        Ok(bytes.min(self.output_len))
    }

    /// Asks the driver to cancel the request (`CancelIoEx`); it completes
    /// later, usually with `STATUS_CANCELLED`.
    pub fn cancel(&self, device: BorrowedHandle<'_>) -> io::Result<()> {
        // SAFETY: the handle is open and the OVERLAPPED identifies a request
        // of ours on it (or none any more, which only makes the call fail).
        if unsafe { CancelIoEx(device.as_raw_handle() as HANDLE, self.overlapped.as_ptr()) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The output buffer, whole (the driver wrote the first [`Request::wait`]
    /// bytes). Panics if the completion has not been observed yet: the
    /// kernel may still be writing it.
    pub fn output(&self) -> &[u8] {
        assert!(self.done, "Request::output before the request completed");
        // SAFETY: completed and observed: nothing writes the buffer any more.
        unsafe { &*self.output.get() }
    }
}

/// The Win32 error an NTSTATUS stands for, as `GetOverlappedResult` reports it.
fn os_error_of(status: i32) -> io::Error {
    // SAFETY: a pure mapping.
    io::Error::from_raw_os_error(unsafe { RtlNtStatusToDosError(status) } as i32)
}

impl Drop for Request {
    /// Never frees an OVERLAPPED or a buffer the kernel may still write:
    /// waits for the completion if it was not observed.
    fn drop(&mut self) {
        if !self.done {
            // SAFETY: our event handle is open.
            unsafe { WaitForSingleObject(self.event.as_raw_handle() as HANDLE, INFINITE) };
        }
    }
}

/// A `DeviceIoControl` on `device`, a handle opened without
/// `FILE_FLAG_OVERLAPPED`: it returns only when the request has completed.
/// The bytes written to `output`, or the error.
pub fn call_synchronous(device: BorrowedHandle<'_>, code: u32, input: &[u8], output: &mut [u8]) -> io::Result<usize> {
    // SAFETY: a synchronous handle: the call returns only once the request
    // has completed, and the buffers outlive it.
    let started = unsafe {
        device_io_control(
            device.as_raw_handle() as HANDLE,
            code,
            input.as_ptr(),
            input.len(),
            output.as_mut_ptr(),
            output.len(),
            std::ptr::null_mut(),
        )
    };
    match started {
        Started::Completed(bytes) => Ok(bytes),
        Started::Failed(Failure::Os(e)) => Err(e),
        Started::Failed(Failure::Status(status)) => Err(os_error_of(status)),
        Started::Pending => Err(io::Error::other("ERROR_IO_PENDING: the handle was opened for overlapped I/O")),
    }
}
