//! The seed's way of talking to `\\.\kchan`: a raw handle and
//! `DeviceIoControl`, no client library. Used by the two seed consumers.
//!
//! - [`open`] opens the device with or without `FILE_FLAG_OVERLAPPED`;
//! - [`sync_ioctl`] is a blocking call on a handle opened without it;
//! - [`EventIo`] is the seed's fix: one OVERLAPPED with an event, then
//!   `GetOverlappedResult(wait = TRUE)`.
//!
//! It resembles `kchan::sys`'s control path on purpose but is kept apart:
//! the benchmark measures the seed's code as written (an event per handle,
//! completions that would go to a port if there were one), not kchan's.

use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};
use windows_sys::Win32::Foundation::{
    GetLastError, ERROR_IO_PENDING, GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAGS_AND_ATTRIBUTES, FILE_FLAG_OVERLAPPED, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
};
use windows_sys::Win32::System::Threading::CreateEventW;
use windows_sys::Win32::System::IO::{DeviceIoControl, GetOverlappedResult, OVERLAPPED};

/// Opens `\\.\kchan`, for overlapped I/O or not.
pub fn open(overlapped: bool) -> io::Result<OwnedHandle> {
    let wide: Vec<u16> = kchan::DEVICE_PATH.encode_utf16().chain(Some(0)).collect();
    let flags: FILE_FLAGS_AND_ATTRIBUTES = if overlapped { FILE_FLAG_OVERLAPPED } else { 0 };
    // SAFETY: `wide` is NUL-terminated and outlives the call; the security
    // attributes and template may be null.
    let handle = unsafe {
        CreateFileW(
            wide.as_ptr(),
            GENERIC_READ | GENERIC_WRITE,
            FILE_SHARE_READ | FILE_SHARE_WRITE,
            std::ptr::null(),
            OPEN_EXISTING,
            flags,
            std::ptr::null_mut(),
        )
    };
    if handle == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: CreateFileW returned a valid handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle as RawHandle) })
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
