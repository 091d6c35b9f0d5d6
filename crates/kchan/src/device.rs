//! [`Device`]: an open handle on `\\.\kchan`, which is one subscriber.

use crate::sys::{self, ControlError};
use crate::{Error, Result, SubscribeOptions, Subscription};
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::{
    GenConfig, InjectBuilder, StatsReply, VersionInfo, IOCTL_GEN_START, IOCTL_GEN_STOP, IOCTL_INJECT, IOCTL_STATS,
    IOCTL_SUBSCRIBE, IOCTL_VERSION, MAX_INJECT_BYTES, PROTOCOL_VERSION,
};
use std::os::windows::io::{AsRawHandle, OwnedHandle, RawHandle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The path of the kchan device.
pub const DEVICE_PATH: &str = r"\\.\kchan";

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
        let handle = sys::open_device(path)?;
        let mut out = [0u8; core::mem::size_of::<VersionInfo>()];
        let n = sys::control(&handle, IOCTL_VERSION, &[], &mut out).map_err(|e| request_error("version", e))?;
        let version = VersionInfo::parse(&out[..n]).map_err(|_| Error::VersionMismatch {
            driver: out.get(4..8).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            client: PROTOCOL_VERSION,
        })?;
        Ok(Device { inner: Arc::new(Inner { handle, version, subscribed: AtomicBool::new(false) }) })
    }

    /// What the driver reported when the device was opened.
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
    /// `options.in_flight` receives pending on a completion port.
    ///
    /// A handle can have one subscription in its life (it stays bound to the
    /// subscription's completion port); open another `Device` for another.
    pub fn subscribe(&self, options: SubscribeOptions) -> Result<Subscription> {
        if self.inner.subscribed.swap(true, Ordering::AcqRel) {
            return Err(Error::AlreadySubscribed);
        }
        if let Err(e) = self.control("subscribe", IOCTL_SUBSCRIBE, options.config().as_bytes(), &mut []) {
            // Refused: the handle is not bound to a port yet, so it may try again.
            self.inner.subscribed.store(false, Ordering::Release);
            return Err(e);
        }
        Subscription::start(self.clone(), options)
    }

    /// Sends a raw IOCTL (for tests and tools that check the driver's
    /// handling of malformed requests). Returns the bytes written, or the
    /// driver's NTSTATUS in [`Error::Request`].
    pub fn raw_control(&self, code: u32, input: &[u8], output: &mut [u8]) -> Result<usize> {
        self.control("raw request", code, input, output)
    }

    pub(crate) fn handle(&self) -> &OwnedHandle {
        &self.inner.handle
    }

    fn control(&self, what: &'static str, code: u32, input: &[u8], output: &mut [u8]) -> Result<usize> {
        sys::control(&self.inner.handle, code, input, output).map_err(|e| request_error(what, e))
    }
}

impl AsRawHandle for Device {
    fn as_raw_handle(&self) -> RawHandle {
        self.inner.handle.as_raw_handle()
    }
}

fn request_error(what: &'static str, e: ControlError) -> Error {
    match e {
        ControlError::Status(ntstatus) => Error::Request { what, ntstatus },
        ControlError::Io(io) => Error::Io(io),
    }
}
