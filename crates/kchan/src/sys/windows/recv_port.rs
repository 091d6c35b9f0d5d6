//! [`IocpPort`]: the [`Port`] a subscription's receives run on: posted on
//! the device handle, completed on a completion port of their own.
//!
//! The handle queues no packet for a receive that completes inside its
//! post (`FILE_SKIP_COMPLETION_PORT_ON_SUCCESS`): such a receive (the
//! usual case when events arrive faster than the consumer's cycle) is taken
//! back at once, saving the port's round trip. Packets are dequeued one at
//! a time: under Wine each entry `GetQueuedCompletionStatusEx` returns costs
//! a server request of its own, plus one more to find the queue empty, and
//! the receiver posts each batch's receive again before it needs the next
//! completion anyway.

use super::iocp::CompletionPort;
use super::recv_op::{RecvOp, Sent};
use crate::sys::{Completion, Packet, Port, PostResult, Posted};
use kchan_proto::IOCTL_RECV;
use std::io;
use std::os::windows::io::{AsHandle, AsRawHandle};
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::IO::OVERLAPPED_ENTRY;

/// Completion key of the device's requests.
const KEY_RECV: usize = 1;
/// Completion key of a wake-up.
pub(crate) const KEY_WAKE: usize = 2;

/// Receives on `device`, completing on a port bound to it.
pub(crate) struct IocpPort<H> {
    device: H,
    completion: Arc<CompletionPort>,
    /// The handle queues no packet for a request that succeeds at once.
    skip_on_success: bool,
    /// The operations with the kernel, by address.
    in_flight: Vec<NonNull<RecvOp>>,
    /// Scratch for dequeued packets.
    entries: Vec<OVERLAPPED_ENTRY>,
}

// SAFETY: the pointers in `in_flight` are boxed operations this port alone
// owns while the kernel has them; neither they nor their requests are tied
// to a thread (requests that complete on a port are not cancelled when the
// posting thread exits). `entries` holds pointers only from a dequeue to the
// end of its processing.
unsafe impl<H: Send> Send for IocpPort<H> {}

impl<H: AsHandle> IocpPort<H> {
    /// A new completion port, bound to `device` for good, for up to
    /// `max_in_flight` receives.
    pub fn new(device: H, max_in_flight: usize) -> io::Result<Self> {
        let completion = CompletionPort::new()?;
        completion.associate(device.as_handle(), KEY_RECV)?;
        // Without it (a system that refuses it) every receive completes
        // through the port, as one that pends does: slower, still correct.
        let skip_on_success = super::iocp::skip_port_on_success(device.as_handle()).is_ok();
        let empty = OVERLAPPED_ENTRY {
            lpCompletionKey: 0,
            lpOverlapped: std::ptr::null_mut(),
            Internal: 0,
            dwNumberOfBytesTransferred: 0,
        };
        Ok(IocpPort {
            device,
            completion: Arc::new(completion),
            skip_on_success,
            in_flight: Vec::with_capacity(max_in_flight),
            entries: vec![empty; 1],
        })
    }

    /// The device the receives are posted on.
    pub fn device(&self) -> &H {
        &self.device
    }

    /// The completion port, for wake-ups.
    pub fn completion_port(&self) -> &Arc<CompletionPort> {
        &self.completion
    }

    fn raw_device(&self) -> HANDLE {
        self.device.as_handle().as_raw_handle() as HANDLE
    }
}

impl<H: AsHandle> Port for IocpPort<H> {
    type Op = RecvOp;

    fn new_op(&self, bytes: usize) -> Box<RecvOp> {
        RecvOp::new(bytes)
    }

    fn post(&mut self, op: Box<RecvOp>) -> PostResult<RecvOp> {
        match op.post(self.raw_device(), IOCTL_RECV)? {
            Sent { op, completed: Some(bytes) } if self.skip_on_success => {
                // SAFETY: it succeeded inside the call on a handle that
                // queues no packet for that: this return was its completion,
                // and it never entered `in_flight`, so it is reclaimed once.
                let op = unsafe { RecvOp::reclaim(op) };
                Ok(Posted::Completed(Completion { status: op.status(), op, bytes }))
            }
            Sent { op, .. } => {
                self.in_flight.push(op);
                Ok(Posted::InFlight)
            }
        }
    }

    fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    fn cancel_all(&mut self) {
        for &op in &self.in_flight {
            // SAFETY: posted on this device and not reclaimed (still in `in_flight`).
            unsafe { RecvOp::cancel(op, self.raw_device()) };
        }
    }

    fn dequeue(&mut self, timeout: Option<Duration>, out: &mut Vec<Packet<RecvOp>>) -> io::Result<()> {
        let n = self.completion.get_many(&mut self.entries, timeout)?;
        let mut strangers = 0;
        for entry in &self.entries[..n] {
            if entry.lpCompletionKey == KEY_WAKE {
                out.push(Packet::Wake);
                continue;
            }
            let Some(i) = self.in_flight.iter().position(|&op| RecvOp::overlapped_ptr(op) == entry.lpOverlapped) else {
                strangers += 1;
                continue;
            };
            let op = self.in_flight.swap_remove(i);
            // SAFETY: this is its completion packet, and it left `in_flight`
            // just now, so it is reclaimed once.
            let op = unsafe { RecvOp::reclaim(op) };
            let status = op.status();
            out.push(Packet::Received(Completion { op, status, bytes: entry.dwNumberOfBytesTransferred as usize }));
        }
        if strangers > 0 {
            return Err(io::Error::other(format!(
                "{strangers} completion(s) of requests this subscription never posted"
            )));
        }
        Ok(())
    }

    fn abandon(&mut self) {
        // The kernel may still write them: leak rather than free.
        self.in_flight.clear();
    }
}
