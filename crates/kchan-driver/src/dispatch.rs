//! Dispatch routines: CREATE, CLOSE, CLEANUP, DEVICE_CONTROL.
//!
//! IRQL = PASSIVE_LEVEL, in the context of the calling thread (under Wine:
//! the one dispatch thread of `winedevice.exe`). None of them blocks: a
//! receive that cannot be served now is queued and `STATUS_PENDING`
//! returned; everything else completes at once. Every length is checked
//! before the system buffer is touched.

use crate::delivery::now_100ns;
use crate::device::Device;
use crate::mailbox::MAX_PAYLOAD;
use core::mem::size_of;
use kchan_km::ffi::{status, DeviceObject, Irp, NTSTATUS};
use kchan_km::irp;
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::{
    min_recv_bytes, parse_inject, VersionInfo, DEFAULT_MAX_BATCH_BYTES, IOCTL_INJECT, IOCTL_RECV,
    IOCTL_VERSION, KCHAN_MAGIC, MAX_INJECT_BYTES, MAX_RING_BYTES, PROTOCOL_VERSION,
};

/// Smallest `IOCTL_RECV` output buffer: a batch holding one record of
/// [`MAX_PAYLOAD`] bytes (or a gap record).
pub const MIN_RECV_BYTES: usize = min_recv_bytes(MAX_PAYLOAD);

/// Completes `irp` with `st` and `info` bytes, returning `st`.
///
/// # Safety
/// The dispatch routine owns `irp` and does not touch it afterwards.
unsafe fn finish(irp: *mut Irp, st: NTSTATUS, info: usize) -> NTSTATUS {
    // SAFETY: ownership handed over by the caller; PASSIVE_LEVEL.
    unsafe { irp::complete(irp, st, info) };
    st
}

/// The file object (open handle) an IRP was sent on.
///
/// # Safety
/// `irp` is live and owned by the driver.
unsafe fn file_object(irp: *mut Irp) -> *mut core::ffi::c_void {
    // SAFETY: live IRP owned by us (caller).
    let stack = unsafe { irp::current_stack(irp) };
    // SAFETY: its current stack location is valid while we own it.
    unsafe { (*stack).file_object }
}

/// `IRP_MJ_CREATE`: every open succeeds (phase 2 creates the subscriber).
///
/// # Safety
/// Called by the I/O manager only (dispatch table), at PASSIVE_LEVEL, with
/// our device and an IRP it hands over to us.
pub unsafe extern "system" fn create(_device: *mut DeviceObject, irp: *mut Irp) -> NTSTATUS {
    // SAFETY: the I/O manager passes us ownership of `irp`.
    unsafe { finish(irp, status::SUCCESS, 0) }
}

/// `IRP_MJ_CLEANUP` (Windows) and `IRP_MJ_CLOSE` (Windows and Wine, which
/// never sends CLEANUP): completes the file object's pending receives with
/// `STATUS_CANCELLED`, then this IRP. Doing it twice on Windows is harmless:
/// the second pass finds nothing.
///
/// # Safety
/// Called by the I/O manager only (dispatch table), at PASSIVE_LEVEL, with
/// our device and an IRP it hands over to us.
pub unsafe extern "system" fn close_or_cleanup(device: *mut DeviceObject, irp: *mut Irp) -> NTSTATUS {
    // SAFETY: our device, during dispatch (see `Device::from_object`).
    let dev = unsafe { Device::from_object(device) };
    // SAFETY: we own `irp`; its stack location names the closing handle's
    // file object.
    let file = unsafe { file_object(irp) };
    dev.pending.take(
        usize::MAX,
        // SAFETY: queued IRPs are valid while linked (`take` calls this
        // under the queue lock), and ours.
        |p| unsafe { file_object(p) } == file,
        // SAFETY: `take` hands us IRPs we claimed; completed outside the lock.
        |p| unsafe { irp::complete(p, status::CANCELLED, 0) },
    );
    // SAFETY: the I/O manager passed us ownership of `irp`.
    unsafe { finish(irp, status::SUCCESS, 0) }
}

/// `IRP_MJ_DEVICE_CONTROL`.
///
/// # Safety
/// Called by the I/O manager only (dispatch table), at PASSIVE_LEVEL, with
/// our device and an IRP it hands over to us.
pub unsafe extern "system" fn device_control(device: *mut DeviceObject, irp: *mut Irp) -> NTSTATUS {
    // SAFETY: our device, during dispatch.
    let dev = unsafe { Device::from_object(device) };
    // SAFETY: we own the IRP and it is IRP_MJ_DEVICE_CONTROL (dispatch table).
    let p = unsafe { irp::ioctl_parameters(irp) };
    let in_len = p.input_buffer_length as usize;
    let out_len = p.output_buffer_length as usize;
    // SAFETY: we own the IRP; METHOD_BUFFERED: the system buffer holds
    // max(in_len, out_len) bytes, or is null when both are 0.
    let sysbuf = unsafe { (*irp).system_buffer }.cast::<u8>();

    match p.io_control_code {
        IOCTL_VERSION => {
            let reply = version_info();
            let bytes = reply.as_bytes();
            if out_len < bytes.len() || sysbuf.is_null() {
                // SAFETY: we own the IRP.
                return unsafe { finish(irp, status::BUFFER_TOO_SMALL, 0) };
            }
            // SAFETY: the system buffer holds at least out_len >= len bytes.
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), sysbuf, bytes.len()) };
            // SAFETY: we own the IRP.
            unsafe { finish(irp, status::SUCCESS, bytes.len()) }
        }
        IOCTL_RECV => {
            if out_len < MIN_RECV_BYTES || sysbuf.is_null() {
                // SAFETY: we own the IRP.
                return unsafe { finish(irp, status::BUFFER_TOO_SMALL, 0) };
            }
            // SAFETY: we own this device control IRP of our device;
            // PASSIVE_LEVEL. `push` completes or queues it; we return its
            // status without touching the IRP again.
            unsafe { dev.pending.push(irp) }
        }
        IOCTL_INJECT => {
            if in_len == 0 || sysbuf.is_null() {
                // SAFETY: we own the IRP.
                return unsafe { finish(irp, status::BUFFER_TOO_SMALL, 0) };
            }
            // SAFETY: METHOD_BUFFERED input: `in_len` bytes copied from the
            // caller into the system buffer, which we own with the IRP.
            let input = unsafe { core::slice::from_raw_parts(sysbuf, in_len) };
            let st = inject(dev, input);
            // SAFETY: we own the IRP; `input` is not used after this.
            unsafe { finish(irp, st, 0) }
        }
        // SAFETY: we own the IRP.
        _ => unsafe { finish(irp, status::INVALID_DEVICE_REQUEST, 0) },
    }
}

/// What the driver tells clients about its limits.
fn version_info() -> VersionInfo {
    VersionInfo {
        magic: KCHAN_MAGIC,
        protocol_version: PROTOCOL_VERSION,
        max_record_payload: MAX_PAYLOAD as u32,
        max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
        min_recv_bytes: MIN_RECV_BYTES as u32,
        max_ring_bytes: MAX_RING_BYTES,
        max_in_flight: kchan_proto::MAX_IN_FLIGHT,
        max_inject_bytes: MAX_INJECT_BYTES as u32,
    }
}

/// Validates an inject message and queues its records for delivery, all or
/// nothing; wakes the delivery thread.
fn inject(dev: &Device, input: &[u8]) -> NTSTATUS {
    let records = match parse_inject(input) {
        Ok(r) => r,
        Err(e) => return e.ntstatus(),
    };
    let mut count = 0usize;
    for (_, payload) in records.clone() {
        if payload.len() > MAX_PAYLOAD {
            return status::INVALID_PARAMETER;
        }
        count += 1;
    }
    let now = now_100ns();
    {
        let mut mb = dev.mailbox.lock();
        if mb.room() < count {
            return status::INSUFFICIENT_RESOURCES;
        }
        for (kind, payload) in records {
            let queued = mb.push(kind, payload, now);
            debug_assert!(queued);
        }
    }
    // SAFETY: the event was initialized in `Device::init_in_place`;
    // PASSIVE_LEVEL <= DISPATCH_LEVEL.
    unsafe { dev.wake.set() };
    status::SUCCESS
}

const _: () = assert!(size_of::<VersionInfo>() <= MIN_RECV_BYTES);
