//! Opening `\\.\kchan` and synchronous control requests on an overlapped handle.

use std::cell::Cell;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};
use windows_sys::Win32::Foundation::{
    GetLastError, ERROR_ACCESS_DENIED, ERROR_BAD_COMMAND, ERROR_FILE_NOT_FOUND, ERROR_INSUFFICIENT_BUFFER,
    ERROR_INVALID_FUNCTION, ERROR_INVALID_PARAMETER, ERROR_IO_PENDING, ERROR_NOT_SUPPORTED, ERROR_NO_SYSTEM_RESOURCES,
    ERROR_OPERATION_ABORTED, ERROR_PATH_NOT_FOUND, ERROR_REVISION_MISMATCH, GENERIC_READ, GENERIC_WRITE, HANDLE,
    INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_OVERLAPPED, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
};
use windows_sys::Win32::System::Threading::CreateEventW;
use windows_sys::Win32::System::IO::{DeviceIoControl, GetOverlappedResult, OVERLAPPED};

/// Opens `path` (e.g. `\\.\kchan`) for overlapped I/O.
pub fn open_device(path: &str) -> Result<OwnedHandle, crate::Error> {
    let wide: Vec<u16> = path.encode_utf16().chain(Some(0)).collect();
    // Read and write when allowed (SYSTEM and Administrators); read only
    // otherwise: the device lets every user subscribe and receive, and
    // only publishing and the generator need write access.
    let mut last = 0;
    for access in [GENERIC_READ | GENERIC_WRITE, GENERIC_READ] {
        // SAFETY: `wide` is NUL-terminated and outlives the call; the other
        // pointer arguments may be null.
        let handle = unsafe {
            CreateFileW(
                wide.as_ptr(),
                access,
                FILE_SHARE_READ | FILE_SHARE_WRITE,
                std::ptr::null(),
                OPEN_EXISTING,
                FILE_FLAG_OVERLAPPED,
                std::ptr::null_mut(),
            )
        };
        if handle != INVALID_HANDLE_VALUE {
            // SAFETY: CreateFileW returned a valid handle that nothing else owns.
            return Ok(unsafe { OwnedHandle::from_raw_handle(handle as RawHandle) });
        }
        // SAFETY: no precondition.
        last = unsafe { GetLastError() };
        if last != ERROR_ACCESS_DENIED {
            break;
        }
    }
    Err(match last {
        ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND => crate::Error::DriverNotLoaded,
        ERROR_ACCESS_DENIED => crate::Error::AccessDenied,
        _ => crate::Error::Io(io::Error::from_raw_os_error(last as i32)),
    })
}

/// A control request the driver completed with an error status.
#[derive(Debug)]
pub enum ControlError {
    /// The driver's NTSTATUS (from `OVERLAPPED.Internal`).
    Status(i32),
    /// The call itself failed.
    Io(io::Error),
}

thread_local! {
    /// One auto-reset event per thread for control requests: creating an
    /// event per call costs a wineserver round trip under Wine.
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

/// Sends a control IOCTL on an overlapped handle and waits for it.
///
/// The event's low bit is set so that the completion is not queued to a
/// completion port the handle may be bound to (the subscription's): control
/// requests never mix with receives. The OVERLAPPED lives on this stack
/// frame, which is sound because the call does not return before the
/// request has completed.
pub fn control(handle: &OwnedHandle, code: u32, input: &[u8], output: &mut [u8]) -> Result<usize, ControlError> {
    let event = control_event().map_err(ControlError::Io)?;
    // SAFETY: OVERLAPPED is plain data; all-zero is its initial state.
    let mut ov: OVERLAPPED = unsafe { std::mem::zeroed() };
    ov.hEvent = (event as usize | 1) as HANDLE;
    let raw = handle.as_raw_handle() as HANDLE;
    let mut bytes = 0u32;
    // SAFETY: the buffers and `ov` outlive the request: we wait below until
    // it has completed before any of them goes away.
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
    let error = unsafe { GetLastError() };
    if ok == 0 && error != ERROR_IO_PENDING {
        // Failed at once. Wine (like NT) leaves OVERLAPPED.Internal at
        // STATUS_PENDING then, so the status is recovered from the Win32 error.
        return Err(match ntstatus_of(error) {
            Some(status) => ControlError::Status(status),
            None => ControlError::Io(io::Error::from_raw_os_error(error as i32)),
        });
    }
    // SAFETY: `ov` belongs to a request on `raw`; wait = TRUE blocks until it
    // is complete, after which nothing refers to `ov` or the buffers.
    let done = unsafe { GetOverlappedResult(raw, &ov, &mut bytes, 1) };
    let status = ov.Internal as i32;
    if done == 0 {
        return Err(if status < 0 {
            ControlError::Status(status)
        } else {
            ControlError::Io(io::Error::last_os_error())
        });
    }
    Ok(bytes as usize)
}

/// The NTSTATUS behind a Win32 error, for the statuses kchan's driver
/// completes requests with (`RtlNtStatusToDosError` in reverse).
fn ntstatus_of(error: u32) -> Option<i32> {
    use kchan_proto::*;
    Some(match error {
        ERROR_INSUFFICIENT_BUFFER => STATUS_BUFFER_TOO_SMALL,
        ERROR_INVALID_PARAMETER => STATUS_INVALID_PARAMETER,
        ERROR_INVALID_FUNCTION => STATUS_INVALID_DEVICE_REQUEST,
        ERROR_REVISION_MISMATCH => STATUS_REVISION_MISMATCH,
        ERROR_NOT_SUPPORTED => STATUS_NOT_SUPPORTED,
        ERROR_NO_SYSTEM_RESOURCES => STATUS_INSUFFICIENT_RESOURCES,
        ERROR_BAD_COMMAND => STATUS_INVALID_DEVICE_STATE,
        ERROR_OPERATION_ABORTED => STATUS_CANCELLED,
        _ => return None,
    })
}
