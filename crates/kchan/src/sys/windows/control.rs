//! A control request on an overlapped handle, waited for on the caller's
//! thread.

use super::ioctl::{device_io_control, Started};
use super::overlapped::Overlapped;
use crate::sys::Failure;
use std::cell::Cell;
use std::io;
use std::os::windows::io::{AsRawHandle, BorrowedHandle};
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::Threading::CreateEventW;
use windows_sys::Win32::System::IO::GetOverlappedResult;

thread_local! {
    /// One auto-reset event per thread for control requests: creating an
    /// event per call costs a wineserver round trip under Wine. (Never
    /// closed: it lives as long as the thread.)
    static CONTROL_EVENT: Cell<HANDLE> = const { Cell::new(std::ptr::null_mut()) };
}

fn control_event() -> io::Result<HANDLE> {
    CONTROL_EVENT.with(|cell| {
        if cell.get().is_null() {
            // SAFETY: null attributes and name are allowed; auto-reset, unsignalled.
            let event = unsafe { CreateEventW(std::ptr::null(), 0, 0, std::ptr::null()) };
            if event.is_null() {
                return Err(io::Error::last_os_error());
            }
            cell.set(event);
        }
        Ok(cell.get())
    })
}

/// Sends a control IOCTL on an overlapped handle and waits for it; returns
/// the bytes written to `output`.
///
/// The event's low bit is set so that the completion is not queued to a
/// completion port the handle may be bound to (a subscription's): control
/// requests never mix with receives. The OVERLAPPED lives on this stack
/// frame, which is sound because nothing returns before the request has
/// completed, whether at once or later.
pub(crate) fn control(
    handle: BorrowedHandle<'_>,
    code: u32,
    input: &[u8],
    output: &mut [u8],
) -> Result<usize, Failure> {
    let overlapped = Overlapped::new((control_event()? as usize | 1) as HANDLE);
    let raw = handle.as_raw_handle() as HANDLE;
    // SAFETY: the handle is open (borrowed); the buffers and `overlapped`
    // outlive the request: unless it failed at once, we wait below for its
    // completion before any of them goes away.
    let started = unsafe {
        device_io_control(
            raw,
            code,
            input.as_ptr(),
            input.len(),
            output.as_mut_ptr(),
            output.len(),
            overlapped.as_ptr(),
        )
    };
    if let Started::Failed(failure) = started {
        return Err(failure);
    }
    let mut bytes = 0u32;
    // SAFETY: `overlapped` belongs to a request on `raw`; wait = TRUE returns
    // only once it has completed, after which nothing refers to it.
    let done = unsafe { GetOverlappedResult(raw, overlapped.as_ptr(), &mut bytes, 1) };
    if done == 0 {
        let status = overlapped.status();
        return Err(if status < 0 { Failure::Status(status) } else { Failure::Os(io::Error::last_os_error()) });
    }
    Ok(bytes as usize)
}
