//! [`Device`]: an open handle on `\\.\kchan`, which is one subscriber.

use crate::sys::windows::{control::control, handle};
use crate::{Error, Result, SubscribeOptions, Subscription};
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::{
    GenConfig, InjectBuilder, StatsReply, VersionInfo, IOCTL_GEN_START, IOCTL_GEN_STOP, IOCTL_INJECT, IOCTL_STATS,
    IOCTL_SUBSCRIBE, IOCTL_VERSION, MAX_INJECT_BYTES, PROTOCOL_VERSION,
};
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, OwnedHandle, RawHandle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The path of the kchan device.
pub const DEVICE_PATH: &str = kchan_proto::DEVICE_PATH;

/// An open handle on the kchan device, opened for overlapped I/O.
///
/// Each open handle is one subscriber in the driver. Control calls
/// ([`stats`](Device::stats), [`inject`](Device::inject), ...) work from any
/// thread, also while this handle's receives are pending. `Device` is cheap
/// to clone; clones share the handle.
#[derive(Clone)]
pub struct Device {
    inner: Arc<Inner>,
}

struct Inner {
    handle: OwnedHandle,
    version: VersionInfo,
    subscribed: AtomicBool,
}

impl Device {
    /// Opens `\\.\kchan` and checks the driver's protocol version.
    pub fn open() -> Result<Device> {
        Device::open_path(DEVICE_PATH)
    }

    /// Opens the device at `path` and checks the driver's protocol version.
    pub fn open_path(path: &str) -> Result<Device> {
        Device::from_handle(handle::open(path, true)?)
    }

    /// Takes an overlapped handle on a kchan device opened by the caller
    /// (e.g. with [`raw::open_with_access`](crate::raw::open_with_access),
    /// for a handle with less access than [`Device::open`] asks for) and
    /// checks the driver's protocol version.
    pub fn from_handle(handle: OwnedHandle) -> Result<Device> {
        let mut out = [0u8; core::mem::size_of::<VersionInfo>()];
        let n = control(handle.as_handle(), IOCTL_VERSION, &[], &mut out).map_err(|e| Error::request("version", e))?;
        let version = VersionInfo::parse(&out[..n]).map_err(|_| Error::VersionMismatch {
            driver: out.get(4..8).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            client: PROTOCOL_VERSION,
        })?;
        Ok(Device { inner: Arc::new(Inner { handle, version, subscribed: AtomicBool::new(false) }) })
    }

    /// What the driver reported when the device was opened: its protocol
    /// version and its limits.
    pub fn version(&self) -> &VersionInfo {
        &self.inner.version
    }

    /// The channel's and this handle's counters.
    pub fn stats(&self) -> Result<StatsReply> {
        let mut out = [0u8; core::mem::size_of::<StatsReply>()];
        let n = self.control("stats", IOCTL_STATS, &[], &mut out)?;
        Ok(StatsReply::parse(&out[..n])?)
    }

    /// Publishes `events` (kind, payload) through the driver, as one request.
    /// Fails with `Protocol(BufferTooSmall)` if they exceed one inject message.
    pub fn inject<'a>(&self, events: impl IntoIterator<Item = (u16, &'a [u8])>) -> Result<()> {
        let mut buf = vec![0u8; MAX_INJECT_BYTES];
        let mut builder = InjectBuilder::new(&mut buf)?;
        for (kind, payload) in events {
            builder.push(kind, payload)?;
        }
        let len = builder.finish();
        self.control("inject", IOCTL_INJECT, &buf[..len], &mut [])?;
        Ok(())
    }

    /// Starts (or restarts) the driver's event generator.
    pub fn start_generator(&self, config: &GenConfig) -> Result<()> {
        self.control("generator start", IOCTL_GEN_START, config.as_bytes(), &mut [])?;
        Ok(())
    }

    /// Stops the driver's event generator (no error if it is not running).
    pub fn stop_generator(&self) -> Result<()> {
        self.control("generator stop", IOCTL_GEN_STOP, &[], &mut [])?;
        Ok(())
    }

    /// Configures this handle's subscriber and starts receiving: keeps
    /// `options`' receives in flight on a completion port.
    ///
    /// Options outside the limits the driver advertised when the device was
    /// opened ([`Device::version`]) are refused with [`Error::OutOfRange`]
    /// before anything is sent. A handle can have one subscription in its
    /// life (it stays bound to the subscription's completion port); open
    /// another `Device` for another.
    pub fn subscribe(&self, options: SubscribeOptions) -> Result<Subscription> {
        options.check(self.version())?;
        if self.inner.subscribed.swap(true, Ordering::AcqRel) {
            return Err(Error::AlreadySubscribed);
        }
        if let Err(e) = self.control("subscribe", IOCTL_SUBSCRIBE, options.config().as_bytes(), &mut []) {
            // Refused: the handle is not bound to a port yet, so it may try again.
            self.inner.subscribed.store(false, Ordering::Release);
            return Err(e);
        }
        // Nothing delivered on this handle yet: the first batch starts at
        // sequence number 0, and waits its turn like any other.
        let s = self.stats()?.subscriber;
        let first_seq = (s.delivered == 0 && s.gaps_delivered == 0 && s.completions == 0).then_some(0);
        Subscription::start(self.clone(), options, first_seq)
    }

    /// Sends a raw IOCTL (for tests and tools that check the driver's
    /// handling of malformed requests). Returns the bytes written, or the
    /// driver's NTSTATUS in [`Error::Request`].
    pub fn raw_control(&self, code: u32, input: &[u8], output: &mut [u8]) -> Result<usize> {
        self.control("raw request", code, input, output)
    }

    fn control(&self, what: &'static str, code: u32, input: &[u8], output: &mut [u8]) -> Result<usize> {
        control(self.as_handle(), code, input, output).map_err(|e| Error::request(what, e))
    }
}

impl AsHandle for Device {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        self.inner.handle.as_handle()
    }
}

impl AsRawHandle for Device {
    fn as_raw_handle(&self) -> RawHandle {
        self.inner.handle.as_raw_handle()
    }
}
