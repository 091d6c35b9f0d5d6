//! Dispatch routines: CREATE, CLEANUP, CLOSE, DEVICE_CONTROL.
//!
//! IRQL = PASSIVE_LEVEL, in the context of the calling thread (under Wine:
//! the one dispatch thread of `winedevice.exe`). None of them blocks: a
//! receive that cannot be served now pends in the engine and
//! `STATUS_PENDING` is returned; everything else completes at once.
//!
//! # Lengths (METHOD_BUFFERED; checked before the system buffer is touched)
//!
//! | IOCTL | input | output |
//! |---|---|---|
//! | `VERSION` | none | >= `size_of::<VersionInfo>()` |
//! | `STATS` | none | >= `size_of::<StatsReply>()` |
//! | `SUBSCRIBE` | exactly a `SubscribeConfig` | not used |
//! | `RECV` | none | `min_recv_bytes..=max_batch_bytes` |
//! | `INJECT` | an inject message, <= `MAX_INJECT_BYTES` | not used |
//! | `GEN_START` | exactly a `GenConfig` | not used |
//! | `GEN_STOP` | none | not used |
//!
//! "none": a non-empty input is `STATUS_INVALID_PARAMETER` (a client
//! sending a struct to the wrong code); an output too small is
//! `STATUS_BUFFER_TOO_SMALL`; a receive buffer above the maximum is
//! `STATUS_INVALID_PARAMETER`; parse errors map through
//! `ProtoError::ntstatus`, engine refusals through `EngineError::ntstatus`;
//! unknown codes are `STATUS_INVALID_DEVICE_REQUEST`. An output buffer given
//! to a request that writes none is ignored.

use crate::control::{self, Reply, MAX_RECV_BYTES};
use crate::device::Device;
use crate::{file, recv};
use core::mem::size_of;
use kchan_engine::Subscriber;
use kchan_km::ffi::{status, DeviceObject, Irp, NTSTATUS};
use kchan_km::irp;
use kchan_proto::{
    StatsReply, SubscribeConfig, VersionInfo, IOCTL_GEN_START, IOCTL_GEN_STOP, IOCTL_INJECT, IOCTL_RECV, IOCTL_STATS,
    IOCTL_SUBSCRIBE, IOCTL_VERSION,
};

/// Completes `irp` with `st` and `info` bytes, returning `st`.
///
/// # Safety
/// The dispatch routine owns `irp` and does not touch it afterwards.
unsafe fn finish(irp: *mut Irp, (st, info): Reply) -> NTSTATUS {
    // SAFETY: ownership handed over by the caller; PASSIVE_LEVEL.
    unsafe { irp::complete(irp, st, info) };
    st
}

/// `IRP_MJ_CREATE`: creates the handle's subscriber with the default config
/// (allocated here, attached under the lock) and binds it to the file object.
///
/// # Safety
/// Called by the I/O manager only (dispatch table), at PASSIVE_LEVEL, with
/// our device and an IRP it hands over to us.
#[allow(clippy::result_large_err)] // the engine hands refused memory back, to be freed outside the lock
pub unsafe extern "system" fn create(device: *mut DeviceObject, irp: *mut Irp) -> NTSTATUS {
    // SAFETY: our device, during dispatch (see `Device::from_object`).
    let dev = unsafe { Device::from_object(device) };
    let prepared = match Subscriber::prepare(&SubscribeConfig::default(), &control::limits()) {
        Ok(p) => p,
        // SAFETY: we own the IRP.
        Err(e) => return unsafe { finish(irp, (e.ntstatus(), 0)) },
    };
    let reply = match dev.shell.with(|chan, _| chan.attach(prepared)) {
        Some(Ok(id)) => {
            dev.shell.remember(id);
            // SAFETY: we own this CREATE IRP of our device; PASSIVE_LEVEL.
            unsafe { file::bind(irp, Some(id)) };
            (status::SUCCESS, 0)
        }
        Some(Err((refused, e))) => {
            drop(refused); // freed outside the lock
            (e.ntstatus(), 0)
        }
        None => (status::DELETE_PENDING, 0),
    };
    // SAFETY: we own the IRP.
    unsafe { finish(irp, reply) }
}

/// Closes the handle's subscriber: its pending receives complete
/// `STATUS_CANCELLED`, its memory is freed outside the lock. Idempotent.
///
/// # Safety
/// The caller owns the live `irp` (CLEANUP or CLOSE) of our device.
unsafe fn close_subscriber(dev: &Device, irp: *mut Irp, unbind: bool) {
    // SAFETY: caller's contract.
    let Some(id) = (unsafe { file::subscriber(irp) }) else { return };
    let detached = dev.shell.with(|chan, sink| chan.close(id, sink));
    drop(detached); // outside the lock
    if unbind {
        dev.shell.forget(id);
        // SAFETY: caller's contract; CLOSE is the handle's last request.
        unsafe { file::bind(irp, None) };
    }
}

/// `IRP_MJ_CLEANUP` (Windows only: the last handle to the file object was
/// closed): closes the subscriber, completing its pending receives.
///
/// # Safety
/// Called by the I/O manager only, at PASSIVE_LEVEL, with our device and an
/// IRP it hands over to us.
pub unsafe extern "system" fn cleanup(device: *mut DeviceObject, irp: *mut Irp) -> NTSTATUS {
    // SAFETY: our device, during dispatch.
    let dev = unsafe { Device::from_object(device) };
    // SAFETY: we own the IRP.
    unsafe { close_subscriber(dev, irp, false) };
    // SAFETY: we own the IRP.
    unsafe { finish(irp, (status::SUCCESS, 0)) }
}

/// `IRP_MJ_CLOSE` (Windows and Wine, which never sends CLEANUP, even while
/// receives of the handle pend): does what CLEANUP does if it has not been
/// done, then unbinds the subscriber.
///
/// # Safety
/// As [`cleanup`].
pub unsafe extern "system" fn close(device: *mut DeviceObject, irp: *mut Irp) -> NTSTATUS {
    // SAFETY: our device, during dispatch.
    let dev = unsafe { Device::from_object(device) };
    // SAFETY: we own the IRP.
    unsafe { close_subscriber(dev, irp, true) };
    // SAFETY: we own the IRP.
    unsafe { finish(irp, (status::SUCCESS, 0)) }
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
    let (in_len, out_len) = (p.input_buffer_length as usize, p.output_buffer_length as usize);
    // SAFETY: we own the IRP; METHOD_BUFFERED: the system buffer holds
    // max(in_len, out_len) bytes, or is null when both are 0.
    let sysbuf = unsafe { (*irp).system_buffer }.cast::<u8>();
    let code = p.io_control_code;
    let known = matches!(
        code,
        IOCTL_VERSION | IOCTL_STATS | IOCTL_SUBSCRIBE | IOCTL_RECV | IOCTL_INJECT | IOCTL_GEN_START | IOCTL_GEN_STOP
    );
    if !known {
        // SAFETY: we own the IRP.
        return unsafe { finish(irp, (status::INVALID_DEVICE_REQUEST, 0)) };
    }
    if sysbuf.is_null() && (in_len | out_len) != 0 {
        // SAFETY: we own the IRP.
        return unsafe { finish(irp, (status::INVALID_PARAMETER, 0)) };
    }
    // SAFETY: we own the IRP of our device.
    let sub = unsafe { file::subscriber(irp) };
    let no_input = matches!(code, IOCTL_VERSION | IOCTL_STATS | IOCTL_RECV | IOCTL_GEN_STOP);
    if no_input && in_len != 0 {
        // SAFETY: we own the IRP.
        return unsafe { finish(irp, (status::INVALID_PARAMETER, 0)) };
    }
    if code == IOCTL_RECV {
        let reply = match sub {
            _ if out_len < control::limits().min_recv_bytes() => (status::BUFFER_TOO_SMALL, 0),
            _ if out_len > MAX_RECV_BYTES => (status::INVALID_PARAMETER, 0),
            None => (status::INVALID_HANDLE, 0),
            // SAFETY: we own this RECV IRP; its system buffer holds out_len
            // bytes (checked non-null above). `post` completes or queues it.
            Some(id) => return unsafe { recv::post(dev, irp, id, sysbuf, out_len) },
        };
        // SAFETY: we own the IRP.
        return unsafe { finish(irp, reply) };
    }
    let input: &[u8] = if in_len == 0 {
        &[]
    } else {
        // SAFETY: METHOD_BUFFERED input: `in_len` bytes copied from the
        // caller into the system buffer, which we own with the IRP.
        unsafe { core::slice::from_raw_parts(sysbuf, in_len) }
    };
    let out_min = match code {
        IOCTL_VERSION => size_of::<VersionInfo>(),
        IOCTL_STATS => size_of::<StatsReply>(),
        _ => 0,
    };
    let reply = if out_len < out_min {
        (status::BUFFER_TOO_SMALL, 0)
    } else {
        let mut out: &mut [u8] = &mut [];
        if out_min > 0 {
            // SAFETY: the system buffer holds at least out_len bytes; the
            // input slice is not used by the requests that write output.
            out = unsafe { core::slice::from_raw_parts_mut(sysbuf, out_len) };
        }
        match (code, sub) {
            (IOCTL_VERSION, _) => control::version(out),
            (IOCTL_STATS, _) => control::stats(dev, sub, out),
            (IOCTL_SUBSCRIBE, Some(id)) => {
                let (reply, now) = control::subscribe(dev, id, input);
                if now != Some(id) {
                    // SAFETY: we own this IRP of the handle; requests of one
                    // handle that change its subscriber (SUBSCRIBE, CLOSE)
                    // do not overlap under Wine's single dispatch thread.
                    unsafe { file::bind(irp, now) };
                }
                reply
            }
            (IOCTL_SUBSCRIBE, None) => (status::INVALID_HANDLE, 0),
            (IOCTL_INJECT, _) => control::inject(dev, input),
            (IOCTL_GEN_START, _) => control::gen_start(dev, input),
            (IOCTL_GEN_STOP, _) => control::gen_stop(dev),
            _ => (status::INVALID_DEVICE_REQUEST, 0),
        }
    };
    // SAFETY: we own the IRP; `input` and `out` are not used after this.
    unsafe { finish(irp, reply) }
}
