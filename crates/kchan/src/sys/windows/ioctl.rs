//! The one place the client calls `DeviceIoControl`, and how the answer is
//! read.
//!
//! On an overlapped handle a call ends one of three ways, and only its
//! return value tells them apart:
//!
//! - `TRUE`: the request completed at once. Its completion is signalled all
//!   the same (the OVERLAPPED's event, or a packet on the handle's
//!   completion port), exactly as for a request that pended, unless the
//!   handle asked for no packet on success
//!   (`FILE_SKIP_COMPLETION_PORT_ON_SUCCESS`): then this return is the
//!   completion. The last error is left as it was.
//! - `FALSE` and `ERROR_IO_PENDING`: the request is in flight.
//! - `FALSE` and another error: it failed at once. Nothing is signalled and
//!   the OVERLAPPED is not written; the driver's NTSTATUS is the thread's
//!   last status.
//!
//! A loop that looks at the last error without the return value (the
//! seed's) takes a receive that completed at once for a failure, and loses
//! the event in it.

use crate::sys::Failure;
use std::io;
use windows_sys::Win32::Foundation::{GetLastError, RtlNtStatusToDosError, ERROR_IO_PENDING, HANDLE, NTSTATUS};
use windows_sys::Win32::System::IO::{DeviceIoControl, OVERLAPPED};

// Not in windows-sys: the NTSTATUS the last failed call was mapped from
// (ntdll keeps it next to the last error; Wine too).
#[link(name = "ntdll")]
extern "system" {
    fn RtlGetLastNtStatus() -> NTSTATUS;
}

/// How a `DeviceIoControl` call ended.
#[derive(Debug)]
pub(crate) enum Started {
    /// Completed at once (`TRUE`), with the byte count the call returned.
    /// On an overlapped handle its completion is still signalled.
    Completed(usize),
    /// In flight: its completion will be signalled.
    Pending,
    /// Failed at once: nothing will be signalled.
    Failed(Failure),
}

/// Sends one IOCTL.
///
/// # Safety
///
/// `handle` is an open handle; `input` is valid for reads of `input_len`
/// bytes and `output` for writes of `output_len` bytes; `overlapped` is null
/// (a synchronous handle) or points to an OVERLAPPED for this request only.
/// Unless the result is [`Started::Failed`], all of them stay valid and in
/// place until the request's completion has been observed.
pub(crate) unsafe fn device_io_control(
    handle: HANDLE,
    code: u32,
    input: *const u8,
    input_len: usize,
    output: *mut u8,
    output_len: usize,
    overlapped: *mut OVERLAPPED,
) -> Started {
    let clamp = |len: usize| len.min(u32::MAX as usize) as u32;
    let mut bytes = 0u32;
    // SAFETY: the caller's contract above; `bytes` is a live local.
    let ok = unsafe {
        DeviceIoControl(
            handle,
            code,
            input.cast(),
            clamp(input_len),
            output.cast(),
            clamp(output_len),
            &mut bytes,
            overlapped,
        )
    };
    if ok != 0 {
        return Started::Completed(bytes as usize);
    }
    // SAFETY: no precondition.
    let error = unsafe { GetLastError() };
    if error == ERROR_IO_PENDING {
        return Started::Pending;
    }
    Started::Failed(failure_of(error))
}

/// What a call that just failed with Win32 `error` failed with: the
/// driver's NTSTATUS when the thread's last status maps to that very error
/// (so it belongs to this failure, not to an earlier one), else the error.
pub(crate) fn failure_of(error: u32) -> Failure {
    // SAFETY: no precondition; reads the calling thread's last status.
    let status = unsafe { RtlGetLastNtStatus() };
    // SAFETY: a pure mapping (it also records `status` as the last status,
    // which it already is).
    if status < 0 && unsafe { RtlNtStatusToDosError(status) } == error {
        Failure::Status(status)
    } else {
        Failure::Os(io::Error::from_raw_os_error(error as i32))
    }
}
