//! Opening a device such as `\\.\kchan`.

use crate::Error;
use std::io;
use std::os::windows::io::{FromRawHandle, OwnedHandle, RawHandle};
use windows_sys::Win32::Foundation::{
    GetLastError, ERROR_ACCESS_DENIED, ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND, GENERIC_READ, GENERIC_WRITE,
    INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAGS_AND_ATTRIBUTES, FILE_FLAG_OVERLAPPED, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
};

/// Opens `path`: for overlapped I/O (what the client uses), or synchronous
/// (a second request on the handle then waits for the first on Windows).
///
/// Read and write when allowed (SYSTEM and Administrators), read only
/// otherwise: the device lets every user subscribe and receive, and only
/// publishing and the generator need write access.
pub(crate) fn open(path: &str, overlapped: bool) -> Result<OwnedHandle, Error> {
    match open_with_access(path, GENERIC_READ | GENERIC_WRITE, overlapped) {
        Err(Error::AccessDenied) => open_with_access(path, GENERIC_READ, overlapped),
        other => other,
    }
}

/// Opens `path` with exactly `access` (`GENERIC_READ`, ...).
pub(crate) fn open_with_access(path: &str, access: u32, overlapped: bool) -> Result<OwnedHandle, Error> {
    let wide: Vec<u16> = path.encode_utf16().chain(Some(0)).collect();
    let flags: FILE_FLAGS_AND_ATTRIBUTES = if overlapped { FILE_FLAG_OVERLAPPED } else { 0 };
    // SAFETY: `wide` is NUL-terminated and outlives the call; the security
    // attributes and the template may be null.
    let handle = unsafe {
        CreateFileW(
            wide.as_ptr(),
            access,
            FILE_SHARE_READ | FILE_SHARE_WRITE,
            std::ptr::null(),
            OPEN_EXISTING,
            flags,
            std::ptr::null_mut(),
        )
    };
    if handle == INVALID_HANDLE_VALUE {
        // SAFETY: no precondition.
        let code = unsafe { GetLastError() };
        return Err(match code {
            ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND => Error::DriverNotLoaded,
            ERROR_ACCESS_DENIED => Error::AccessDenied,
            _ => Error::Io(io::Error::from_raw_os_error(code as i32)),
        });
    }
    // SAFETY: CreateFileW returned a valid handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle as RawHandle) })
}
