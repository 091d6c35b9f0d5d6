//! An I/O completion port: where a subscription's receives complete, and
//! where a [`Wakeup`](crate::Wakeup) posts.

use std::io;
use std::os::windows::io::{AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle, RawHandle};
use std::time::Duration;
use windows_sys::Win32::Foundation::{GetLastError, HANDLE, INVALID_HANDLE_VALUE, WAIT_TIMEOUT};
use windows_sys::Win32::Storage::FileSystem::SetFileCompletionNotificationModes;
use windows_sys::Win32::System::Threading::INFINITE;
use windows_sys::Win32::System::WindowsProgramming::FILE_SKIP_COMPLETION_PORT_ON_SUCCESS;
use windows_sys::Win32::System::IO::{
    CreateIoCompletionPort, GetQueuedCompletionStatusEx, PostQueuedCompletionStatus, OVERLAPPED_ENTRY,
};

/// A completion port owning its handle.
pub(crate) struct CompletionPort {
    handle: OwnedHandle,
}

impl CompletionPort {
    /// A new port for one consumer thread.
    pub fn new() -> io::Result<Self> {
        // SAFETY: INVALID_HANDLE_VALUE with no existing port creates a new one.
        let port = unsafe { CreateIoCompletionPort(INVALID_HANDLE_VALUE, std::ptr::null_mut(), 0, 1) };
        if port.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh handle nothing else owns.
        Ok(CompletionPort { handle: unsafe { OwnedHandle::from_raw_handle(port as RawHandle) } })
    }

    /// Binds `file` to this port for good: every overlapped request on it
    /// whose event's low bit is clear completes here with `key`.
    pub fn associate(&self, file: BorrowedHandle<'_>, key: usize) -> io::Result<()> {
        // SAFETY: both handles are valid for the duration of the call.
        let r = unsafe { CreateIoCompletionPort(file.as_raw_handle() as HANDLE, self.raw(), key, 0) };
        if r.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Dequeues up to `out.len()` packets, waiting at most `timeout` (forever
    /// if `None`). Returns how many were written; 0 on time-out.
    pub fn get_many(&self, out: &mut [OVERLAPPED_ENTRY], timeout: Option<Duration>) -> io::Result<usize> {
        let ms = timeout.map_or(INFINITE, |t| t.as_millis().min(u128::from(INFINITE - 1)) as u32);
        let mut n = 0u32;
        // SAFETY: `out` is valid for `out.len()` entries; not alertable.
        let ok = unsafe { GetQueuedCompletionStatusEx(self.raw(), out.as_mut_ptr(), out.len() as u32, &mut n, ms, 0) };
        if ok == 0 {
            // SAFETY: no precondition.
            if unsafe { GetLastError() } == WAIT_TIMEOUT {
                return Ok(0);
            }
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Queues a packet with `key` and no OVERLAPPED: wakes a waiter.
    pub fn post(&self, key: usize) -> io::Result<()> {
        // SAFETY: a valid port; a null OVERLAPPED is allowed.
        if unsafe { PostQueuedCompletionStatus(self.raw(), 0, key, std::ptr::null()) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn raw(&self) -> HANDLE {
        self.handle.as_raw_handle() as HANDLE
    }
}

/// Asks the I/O manager to queue no completion packet for a request on
/// `file` that succeeds inside its call (`FILE_SKIP_COMPLETION_PORT_ON_SUCCESS`):
/// the caller then handles it on the spot. A request that pends, or fails
/// after pending, still completes on the port.
pub(crate) fn skip_port_on_success(file: BorrowedHandle<'_>) -> io::Result<()> {
    // SAFETY: a valid handle for the duration of the call; the flag is a
    // documented mode bit (it fits the u8 the function takes).
    let ok = unsafe {
        SetFileCompletionNotificationModes(file.as_raw_handle() as HANDLE, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS as u8)
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
