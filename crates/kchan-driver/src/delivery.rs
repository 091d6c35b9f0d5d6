//! The delivery thread: completes pending receives from another context
//! than the dispatch routine that queued them (the inverted call).
//!
//! It wakes when `IOCTL_INJECT` signals [`Device::wake`], and every
//! [`POLL_100NS`] in any case, and hands each waiting record to the oldest
//! pending receive as a one-record batch. It exits when `DriverUnload` sets
//! [`Device::stop`] and signals it; `DriverUnload` joins it before deleting
//! the device. Runs at PASSIVE_LEVEL.

use crate::device::Device;
use core::ffi::c_void;
use core::sync::atomic::Ordering;
use kchan_km::ffi::{status, Irp, KeQueryPerformanceCounter, PsTerminateSystemThread};
use kchan_km::irp;
use kchan_proto::BatchBuilder;

/// Poll period: 1 ms, in 100 ns units.
pub const POLL_100NS: i64 = 10_000;

/// `KeQueryPerformanceCounter` converted to 100 ns units (the record
/// timestamp unit). Under Wine the counter already runs at 10 MHz.
pub fn now_100ns() -> u64 {
    let mut freq: i64 = 0;
    // SAFETY: any IRQL; `freq` is a live local.
    let ticks = unsafe { KeQueryPerformanceCounter(&mut freq) };
    let (ticks, freq) = (ticks.max(0) as u128, freq.max(1) as u128);
    if freq == 10_000_000 {
        ticks as u64
    } else {
        (ticks * 10_000_000 / freq) as u64
    }
}

/// Thread body (`KSTART_ROUTINE`); `context` is the `Device`.
///
/// # Safety
/// `context` points to the initialized `Device`, which outlives the thread
/// (`DriverUnload` joins it before deleting the device).
pub unsafe extern "system" fn run(context: *mut c_void) {
    // SAFETY: see the function's contract.
    let dev = unsafe { &*context.cast::<Device>() };
    kchan_km::kprintln!("delivery thread started");
    loop {
        // SAFETY: the event is initialized; system threads run at
        // PASSIVE_LEVEL. Timeout or signal: both mean "look again".
        unsafe { dev.wake.wait(Some(POLL_100NS)) };
        // Acquire: pairs with the Release store in `DriverUnload`.
        if dev.stop.load(Ordering::Acquire) {
            break;
        }
        deliver(dev);
    }
    kchan_km::kprintln!("delivery thread exiting");
    // SAFETY: called by the system thread itself, at PASSIVE_LEVEL; does
    // not return.
    unsafe { PsTerminateSystemThread(status::SUCCESS) };
}

/// Hands waiting records to pending receives, one record per receive, until
/// either runs out. Only this thread pops the mailbox.
pub fn deliver(dev: &Device) {
    while !dev.mailbox.lock().is_empty() {
        let claimed = dev.pending.take(1, |_| true, |irp| {
            // The mailbox is not empty and only this thread pops it.
            match dev.mailbox.lock().pop() {
                // SAFETY: `take` gives us ownership of a claimed receive.
                Some(mail) => unsafe { complete_recv(dev, irp, mail.kind, mail.payload(), mail.timestamp) },
                // SAFETY: as above (unreachable; never leave an IRP behind).
                None => unsafe { irp::complete(irp, status::CANCELLED, 0) },
            }
        });
        if claimed == 0 {
            break;
        }
    }
}

/// Writes a one-record batch into the receive's output buffer and
/// completes it.
///
/// # Safety
/// The caller owns `irp`, a queued `IOCTL_RECV` whose output length was
/// checked against `MIN_RECV_BYTES` when queued. IRQL <= DISPATCH_LEVEL.
unsafe fn complete_recv(dev: &Device, irp: *mut Irp, kind: u16, payload: &[u8], timestamp: u64) {
    // SAFETY: we own the IRP, a device control request.
    let out_len = unsafe { irp::ioctl_parameters(irp) }.output_buffer_length as usize;
    // SAFETY: we own the IRP.
    let sysbuf = unsafe { (*irp).system_buffer }.cast::<u8>();
    // SAFETY: METHOD_BUFFERED: the system buffer holds at least `out_len`
    // bytes and is ours with the IRP (non-null: checked at queue time).
    let buf = unsafe { core::slice::from_raw_parts_mut(sysbuf, out_len) };
    // Relaxed: a counter, no data published through it.
    let seq = dev.next_seq.fetch_add(1, Ordering::Relaxed);
    let result = BatchBuilder::new(buf).and_then(|mut b| {
        b.push_event(seq, kind, timestamp, payload)?;
        Ok(b.finish(0))
    });
    let (st, info) = match result {
        Ok(n) => (status::SUCCESS, n),
        Err(e) => (e.ntstatus(), 0),
    };
    // SAFETY: we own the IRP and do not touch it afterwards.
    unsafe { irp::complete(irp, st, info) };
}
