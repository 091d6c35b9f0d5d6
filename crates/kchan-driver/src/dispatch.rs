//! The dispatch routines: CREATE, CLEANUP, CLOSE, DEVICE_CONTROL.
//!
//! IRQL = PASSIVE_LEVEL, in the caller's thread. Written for Windows'
//! rules: requests of one handle may run at once, CLEANUP comes before
//! CLOSE, and requests dispatched before a CLEANUP may still be running.
//! Each routine enters the device's dispatch rundown first (refused with
//! `STATUS_DELETE_PENDING` once unload started) and leaves it last. None
//! blocks: a receive that cannot be served now pends in the engine and
//! `STATUS_PENDING` is returned; everything else completes at once.
//!
//! # Lengths (METHOD_BUFFERED; checked before the system buffer is used)
//!
//! | IOCTL | access | input | output |
//! |---|---|---|---|
//! | `VERSION` | any | none | >= `size_of::<VersionInfo>()` |
//! | `STATS` | read | none | >= `STATS_REPLY_MIN_BYTES` (as much of the reply as fits) |
//! | `SUBSCRIBE` | read | exactly a `SubscribeConfig` | not used |
//! | `RECV` | read | none | `min_recv_bytes..=max_batch_bytes` |
//! | `INJECT` | write | an inject message, <= `MAX_INJECT_BYTES` | not used |
//! | `GEN_START` | write | exactly a `GenConfig` | not used |
//! | `GEN_STOP` | write | none | not used |
//!
//! Unknown codes: `STATUS_INVALID_DEVICE_REQUEST`. A handle without the
//! access a request needs (recorded at CREATE, when the I/O manager says
//! it): `STATUS_ACCESS_DENIED`. "none": a non-empty input is
//! `STATUS_INVALID_PARAMETER` (a struct sent to the wrong code); an output
//! too small is `STATUS_BUFFER_TOO_SMALL`; a receive buffer above the
//! maximum is `STATUS_INVALID_PARAMETER`; parse errors map through
//! `ProtoError::ntstatus`, engine refusals through `EngineError::ntstatus`.
//! An output buffer given to a request that writes none is ignored.

use crate::device::Device;
use crate::handle::{self, Access, Binding};
use crate::kernel::{Kernel, NtStatus, OwnedIrp};
use kchan_proto::{
    StatsReply, SubscribeConfig, VersionInfo, IOCTL_GEN_START, IOCTL_GEN_STOP, IOCTL_INJECT, IOCTL_RECV, IOCTL_STATS,
    IOCTL_SUBSCRIBE, IOCTL_SUBSCRIBE_WRITE_ACCESS, IOCTL_VERSION, STATS_REPLY_MIN_BYTES, STATUS_ACCESS_DENIED,
    STATUS_BUFFER_TOO_SMALL, STATUS_DELETE_PENDING, STATUS_INVALID_DEVICE_REQUEST, STATUS_INVALID_HANDLE,
    STATUS_INVALID_PARAMETER, STATUS_SUCCESS,
};

/// `FILE_READ_DATA`.
pub const FILE_READ_DATA: u32 = 0x0001;
/// `FILE_WRITE_DATA`.
pub const FILE_WRITE_DATA: u32 = 0x0002;

/// A request the driver serves: which one, and the access it needs (the
/// driver's own table, checked against each code's `CTL_CODE` access bits
/// in the tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `IOCTL_VERSION`.
    Version,
    /// `IOCTL_STATS`.
    Stats,
    /// `IOCTL_SUBSCRIBE`.
    Subscribe,
    /// `IOCTL_SUBSCRIBE_WRITE_ACCESS`: the first code of SUBSCRIBE, served
    /// alike, with the write access its code asks for.
    SubscribeWriteAccess,
    /// `IOCTL_RECV`.
    Recv,
    /// `IOCTL_INJECT`.
    Inject,
    /// `IOCTL_GEN_START`.
    GenStart,
    /// `IOCTL_GEN_STOP`.
    GenStop,
}

impl Request {
    /// The request of an IOCTL code; `None` for codes the driver does not know.
    pub fn of(code: u32) -> Option<Request> {
        Some(match code {
            IOCTL_VERSION => Request::Version,
            IOCTL_STATS => Request::Stats,
            IOCTL_SUBSCRIBE => Request::Subscribe,
            IOCTL_SUBSCRIBE_WRITE_ACCESS => Request::SubscribeWriteAccess,
            IOCTL_RECV => Request::Recv,
            IOCTL_INJECT => Request::Inject,
            IOCTL_GEN_START => Request::GenStart,
            IOCTL_GEN_STOP => Request::GenStop,
            _ => return None,
        })
    }

    /// The access a handle needs for it: publishing and driving the
    /// generator need write access; reading the stream, read access.
    pub fn required_access(self) -> u32 {
        match self {
            Request::Version => 0,
            Request::Stats | Request::Subscribe | Request::Recv => FILE_READ_DATA,
            Request::Inject | Request::GenStart | Request::GenStop | Request::SubscribeWriteAccess => FILE_WRITE_DATA,
        }
    }

    /// Whether it takes no input.
    fn takes_no_input(self) -> bool {
        matches!(self, Request::Version | Request::Stats | Request::Recv | Request::GenStop)
    }

    /// The smallest output buffer it accepts (`Recv`: see the limits).
    fn min_output(self) -> usize {
        match self {
            Request::Version => core::mem::size_of::<VersionInfo>(),
            Request::Stats => STATS_REPLY_MIN_BYTES,
            _ => 0,
        }
    }
}

/// Completes `irp` with `(status, information)` and returns the status.
fn complete<K: Kernel>(irp: K::Irp, (status, information): (NtStatus, usize)) -> NtStatus {
    irp.complete(status, information);
    status
}

impl<K: Kernel> Device<K> {
    /// `IRP_MJ_CREATE`: records the access the handle was granted and
    /// starts it unbound. Allocates nothing: a handle costs no memory until
    /// it subscribes or receives.
    pub fn create(&self, irp: K::Irp) -> NtStatus {
        crate::irql::passive::<K>();
        let Some(_entered) = self.dispatch.guard() else { return complete::<K>(irp, (STATUS_DELETE_PENDING, 0)) };
        let access = irp.granted_access().map_or(Access::Unknown, Access::Granted);
        match irp.handle() {
            Some(words) => handle::init(&words, access),
            None => return complete::<K>(irp, (STATUS_INVALID_PARAMETER, 0)),
        }
        complete::<K>(irp, (STATUS_SUCCESS, 0))
    }

    /// `IRP_MJ_CLEANUP` (the last handle to the file object was closed;
    /// Windows only): closes the handle's subscriber, completing its
    /// pending receives.
    pub fn cleanup(&self, irp: K::Irp) -> NtStatus {
        crate::irql::passive::<K>();
        let Some(_entered) = self.dispatch.guard() else { return complete::<K>(irp, (STATUS_DELETE_PENDING, 0)) };
        self.close_handle(&irp);
        complete::<K>(irp, (STATUS_SUCCESS, 0))
    }

    /// `IRP_MJ_CLOSE` (Windows, after CLEANUP and every request of the
    /// handle completed; Wine, without CLEANUP, even while receives of the
    /// handle pend): does what CLEANUP does if it has not been done.
    pub fn close(&self, irp: K::Irp) -> NtStatus {
        self.cleanup(irp)
    }

    /// Closes the handle's subscriber (if it has one) and marks the handle
    /// closed, in one lock hold; frees the memory after. Idempotent.
    fn close_handle(&self, irp: &K::Irp) {
        let Some(words) = irp.handle() else { return };
        let detached = self.channel.with(|chan, sink| {
            let binding = handle::binding(&words);
            handle::set_binding(&words, Binding::Closed);
            match binding {
                Binding::Bound(id) => Some(chan.close(id, sink)),
                Binding::Unbound | Binding::Closed => None,
            }
        });
        if let Some(Some(detached)) = detached {
            self.free(detached);
        }
    }

    /// `IRP_MJ_DEVICE_CONTROL`.
    pub fn device_control(&self, mut irp: K::Irp) -> NtStatus {
        crate::irql::passive::<K>();
        let Some(_entered) = self.dispatch.guard() else { return complete::<K>(irp, (STATUS_DELETE_PENDING, 0)) };
        let params = irp.ioctl();
        let (in_len, out_len) = (params.input_len, params.output_len);
        let Some(request) = Request::of(params.code) else {
            return complete::<K>(irp, (STATUS_INVALID_DEVICE_REQUEST, 0));
        };
        let allowed = irp.handle().map(|words| handle::access(&words).allows(request.required_access()));
        match allowed {
            None => return complete::<K>(irp, (STATUS_INVALID_HANDLE, 0)),
            Some(false) => return complete::<K>(irp, (STATUS_ACCESS_DENIED, 0)),
            Some(true) => {}
        }
        if irp.system_buffer().len() < in_len.max(out_len) {
            return complete::<K>(irp, (STATUS_INVALID_PARAMETER, 0));
        }
        if request.takes_no_input() && in_len != 0 {
            return complete::<K>(irp, (STATUS_INVALID_PARAMETER, 0));
        }
        if request == Request::Recv {
            let reply = if out_len < self.config.limits.min_recv_bytes() {
                STATUS_BUFFER_TOO_SMALL
            } else if out_len > self.config.max_recv_bytes {
                STATUS_INVALID_PARAMETER
            } else {
                return self.post_receive(irp, out_len);
            };
            return complete::<K>(irp, (reply, 0));
        }
        if out_len < request.min_output() {
            return complete::<K>(irp, (STATUS_BUFFER_TOO_SMALL, 0));
        }
        let reply = self.control(&mut irp, request, in_len, out_len);
        complete::<K>(irp, reply)
    }

    /// The control requests, on a length-checked system buffer. The
    /// handle's words and the system buffer are both borrowed from the IRP,
    /// so requests that need both copy the small input or output through
    /// the stack.
    fn control(&self, irp: &mut K::Irp, request: Request, in_len: usize, out_len: usize) -> (NtStatus, usize) {
        match request {
            Request::Version => self.version(&mut irp.system_buffer()[..out_len]),
            Request::Inject => self.inject(&irp.system_buffer()[..in_len]),
            Request::GenStart => self.gen_start(&irp.system_buffer()[..in_len]),
            Request::GenStop => self.gen_stop(),
            Request::Stats => {
                let mut out = [0u8; core::mem::size_of::<StatsReply>()];
                let fits = out.len().min(out_len);
                let (status, written) = self.stats(irp.handle().as_ref(), &mut out[..fits]);
                irp.system_buffer()[..written].copy_from_slice(&out[..written]);
                (status, written)
            }
            Request::Subscribe | Request::SubscribeWriteAccess => {
                // One byte more than a config: a longer input stays longer.
                let mut input = [0u8; core::mem::size_of::<SubscribeConfig>() + 1];
                let n = in_len.min(input.len());
                input[..n].copy_from_slice(&irp.system_buffer()[..n]);
                match irp.handle() {
                    Some(words) => self.subscribe(&words, &input[..n]),
                    None => (STATUS_INVALID_HANDLE, 0),
                }
            }
            Request::Recv => unreachable!("receives are posted, not controlled"),
        }
    }
}
