//! The seed's way of talking to `\\.\kchan`: a raw handle and
//! `DeviceIoControl`, not the client's requests. Used by the two seed
//! consumers.
//!
//! - [`open`] opens the device with or without `FILE_FLAG_OVERLAPPED`
//!   (through the client library);
//! - [`sync_ioctl`] is a blocking call on a handle opened without it;
//! - [`EventIo`] is the seed's fix: one OVERLAPPED with an event, then
//!   `GetOverlappedResult(wait = TRUE)`.
//!
//! The requests resemble the client's control path on purpose but are kept
//! apart: the benchmark measures the seed's code as written (an event per
//! handle, completions that would go to a port if there were one), not
//! kchan's.

use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};
use windows_sys::Win32::Foundation::{GetLastError, ERROR_IO_PENDING, HANDLE};
use windows_sys::Win32::System::Threading::CreateEventW;
use windows_sys::Win32::System::IO::{DeviceIoControl, GetOverlappedResult, OVERLAPPED};

/// Opens `\\.\kchan`, for overlapped I/O or not (as the client opens it:
/// how a handle is opened is not what the benchmark compares).
pub fn open(overlapped: bool) -> Result<OwnedHandle, kchan::Error> {
    kchan::raw::open(kchan::DEVICE_PATH, overlapped)
}

/// A blocking `DeviceIoControl` on a handle opened without
/// `FILE_FLAG_OVERLAPPED`; returns the bytes written to `output`.
pub fn sync_ioctl(handle: &OwnedHandle, code: u32, input: &[u8], output: &mut [u8]) -> io::Result<usize> {
    let mut bytes = 0u32;
    // SAFETY: the handle is synchronous, so the call returns only when the
    // request is complete; the buffers outlive it and their lengths are exact.
    let ok = unsafe {
        DeviceIoControl(
            handle.as_raw_handle() as HANDLE,
            code,
            input.as_ptr().cast(),
            input.len() as u32,
            output.as_mut_ptr().cast(),
            output.len() as u32,
            &mut bytes,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(bytes as usize)
}

/// The seed's fix: requests on an overlapped handle, each with one
/// OVERLAPPED and an event, waited for with `GetOverlappedResult`.
pub struct EventIo {
    handle: OwnedHandle,
    event: OwnedHandle,
}

impl EventIo {
    /// Wraps an overlapped handle and creates its manual-reset event.
    pub fn new(handle: OwnedHandle) -> io::Result<EventIo> {
        // SAFETY: null attributes and name are allowed; manual reset, unsignalled.
        let event = unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) };
        if event.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh event handle that nothing else owns.
        let event = unsafe { OwnedHandle::from_raw_handle(event as RawHandle) };
        Ok(EventIo { handle, event })
    }

    /// Sends one IOCTL and waits for it; returns the bytes written to `output`.
    pub fn call(&self, code: u32, input: &[u8], output: &mut [u8]) -> io::Result<usize> {
        let raw = self.handle.as_raw_handle() as HANDLE;
        // SAFETY: OVERLAPPED is plain data; all-zero is its initial state.
        let mut ov: OVERLAPPED = unsafe { std::mem::zeroed() };
        ov.hEvent = self.event.as_raw_handle() as HANDLE;
        let mut bytes = 0u32;
        // SAFETY: `ov` and the buffers live on this frame until the request
        // has completed: we wait for it below before returning, on every path
        // where it was queued.
        let ok = unsafe {
            DeviceIoControl(
                raw,
                code,
                input.as_ptr().cast(),
                input.len() as u32,
                output.as_mut_ptr().cast(),
                output.len() as u32,
                &mut bytes,
                &mut ov,
            )
        };
        // SAFETY: no precondition.
        if ok == 0 && unsafe { GetLastError() } != ERROR_IO_PENDING {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `ov` belongs to a request on `raw`; wait = TRUE blocks until
        // it is complete, after which nothing refers to `ov` or the buffers.
        let done = unsafe { GetOverlappedResult(raw, &ov, &mut bytes, 1) };
        if done == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(bytes as usize)
    }
}
