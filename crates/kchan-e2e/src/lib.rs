//! End-to-end tests of `kchan.sys` under Wine: helpers for the tests in
//! `tests/`.
//!
//! The tests assume the driver is installed and running in the Wine prefix
//! the test binary runs in (`WINEPREFIX`): `cargo xtask test --only e2e`
//! builds it, loads it under a persistent wineserver and runs them with
//! `--test-threads=1` (one driver, shared by every test). They fail (never
//! skip) when `\\.\kchan` cannot be opened.
//!
//! Each test asserts both what the client sees and the driver's own
//! counters (`IOCTL_STATS`), preferring the per-subscriber counters of its
//! own handles, which no other test can disturb.
//!
//! The helpers speak to the driver request by request, as a client of the
//! seed's design would, through the client library's pieces: control calls
//! through [`kchan::Device`], single requests left in flight at will through
//! [`kchan::raw::Request`] ([`Op`]: it owns its `OVERLAPPED`, event and
//! buffers, and waits for its completion before it is freed), and a
//! synchronous handle ([`SyncDevice`]) for the seed's first design.
//!
//! The same programs run on Windows (`cargo xtask package` ships them).
//! Where Wine and Windows differ in a way a test can see, the test asks
//! [`under_wine`] and checks each system's own behaviour; such tests say
//! so in their docs.
//!
//! On non-Windows targets this crate is empty.
#![cfg(windows)]

pub mod service;

use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::{GenConfig, StatsReply, SubscribeConfig, VersionInfo, IOCTL_SUBSCRIBE};
use std::io;
use std::os::windows::io::{AsHandle, AsRawHandle, OwnedHandle};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};

/// One request in flight: [`kchan::raw::Request`].
pub use kchan::raw::Request as Op;

/// Whether this program runs under Wine rather than Windows: Wine's
/// `ntdll.dll` exports `wine_get_version`, Windows' does not.
pub fn under_wine() -> bool {
    let ntdll: Vec<u16> = "ntdll.dll".encode_utf16().chain([0]).collect();
    // SAFETY: a NUL-terminated name; ntdll is mapped into every process, and
    // the handle is not reference-counted (nothing to release).
    let module = unsafe { GetModuleHandleW(ntdll.as_ptr()) };
    if module.is_null() {
        return false;
    }
    // SAFETY: a valid module handle and a NUL-terminated ANSI name.
    unsafe { GetProcAddress(module, c"wine_get_version".as_ptr().cast()) }.is_some()
}

/// The driver is one shared resource (channel-wide counters, the
/// generator, the service itself): tests in one binary take this lock so
/// they never overlap, even if run without `--test-threads=1`.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// An open handle to `\\.\kchan` (overlapped), one subscriber.
pub struct Device {
    device: kchan::Device,
}

impl Device {
    /// Opens `\\.\kchan` with `FILE_FLAG_OVERLAPPED`, checking the version.
    pub fn open() -> kchan::Result<Device> {
        kchan::Device::open().map(|device| Device { device })
    }

    /// Opens `\\.\kchan`, panicking with a hint when the driver is absent.
    pub fn must_open() -> Device {
        Device::open().unwrap_or_else(|e| panic!(r"cannot open \\.\kchan (is kchan.sys loaded in WINEPREFIX?): {e}"))
    }

    /// Opens `\\.\kchan` overlapped with exactly `access` (`GENERIC_READ`, ...).
    pub fn open_with_access(access: u32) -> kchan::Result<Device> {
        let handle = kchan::raw::open_with_access(kchan::DEVICE_PATH, access, true)?;
        kchan::Device::from_handle(handle).map(|device| Device { device })
    }

    /// Opens another kchan device by path, e.g. `\\.\kchan_example_c`
    /// (overlapped, version checked).
    pub fn open_path(path: &str) -> kchan::Result<Device> {
        kchan::Device::open_path(path).map(|device| Device { device })
    }

    /// The raw handle.
    pub fn raw(&self) -> HANDLE {
        self.device.as_raw_handle() as HANDLE
    }

    /// Posts an IOCTL. `Ok(op)`: completed at once or pending (see
    /// [`Op::pended`]); `Err`: failed at once.
    pub fn post(&self, code: u32, input: &[u8], out_len: usize) -> io::Result<Box<Op>> {
        let op = self.submit(code, input, out_len)?;
        match op.error_at_submit() {
            None => Ok(op),
            Some(err) => Err(io::Error::from_raw_os_error(err as i32)),
        }
    }

    /// Posts an IOCTL and always returns its operation: pending
    /// ([`Op::pended`]), or completed at once, successfully or not.
    pub fn submit(&self, code: u32, input: &[u8], out_len: usize) -> io::Result<Box<Op>> {
        Op::submit(self.device.as_handle(), code, input, out_len)
    }

    /// Posts an IOCTL and waits for its result: the output bytes.
    pub fn call(&self, code: u32, input: &[u8], out_len: usize) -> io::Result<Vec<u8>> {
        let mut op = self.post(code, input, out_len)?;
        let n = op.wait()?;
        Ok(op.output()[..n].to_vec())
    }

    /// The driver's `VersionInfo` (read when the handle was opened).
    pub fn version(&self) -> VersionInfo {
        *self.device.version()
    }

    /// The channel's and this handle's counters.
    pub fn stats(&self) -> StatsReply {
        self.device.stats().expect("IOCTL_STATS")
    }

    /// Configures this handle's subscriber (no receive is posted).
    pub fn subscribe(&self, config: &SubscribeConfig) -> kchan::Result<()> {
        self.device.raw_control(IOCTL_SUBSCRIBE, config.as_bytes(), &mut []).map(drop)
    }

    /// Publishes `records` through `IOCTL_INJECT`.
    pub fn inject(&self, records: &[(u16, &[u8])]) {
        self.device.inject(records.iter().copied()).expect("IOCTL_INJECT");
    }

    /// Starts the generator.
    pub fn gen_start(&self, config: &GenConfig) {
        self.device.start_generator(config).expect("IOCTL_GEN_START");
    }

    /// Stops the generator.
    pub fn gen_stop(&self) {
        self.device.stop_generator().expect("IOCTL_GEN_STOP");
    }

    /// `CancelIoEx` of one request.
    pub fn cancel(&self, op: &mut Op) -> io::Result<()> {
        op.cancel(self.device.as_handle())
    }

    /// Closes the handle now (pending requests are then completed by the
    /// driver's CLOSE).
    pub fn close(self) {}
}

/// A handle to `\\.\kchan` opened without `FILE_FLAG_OVERLAPPED`: the
/// seed's first design. Each call returns only once its request completed.
pub struct SyncDevice(OwnedHandle);

impl SyncDevice {
    /// Opens `\\.\kchan` synchronously.
    pub fn open() -> kchan::Result<SyncDevice> {
        kchan::raw::open(kchan::DEVICE_PATH, false).map(SyncDevice)
    }

    /// A blocking `DeviceIoControl`: the output bytes, or the error.
    pub fn call(&self, code: u32, input: &[u8], out_len: usize) -> io::Result<Vec<u8>> {
        let mut out = vec![0u8; out_len];
        let n = kchan::raw::call_synchronous(self.0.as_handle(), code, input, &mut out)?;
        out.truncate(n);
        Ok(out)
    }
}

/// The `kchan` command (`kchan.exe`, built next to the test programs'
/// `deps/` directory).
pub fn kchan_command() -> std::process::Command {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target dir");
    std::process::Command::new(dir.join("kchan.exe"))
}

/// A receive buffer size every test can use (at least the driver's
/// `min_recv_bytes`: a batch header plus the largest record).
pub const RECV_BYTES: usize = 64 * 1024;

/// A subscribe config for only `kind`, otherwise the defaults.
pub fn only_kind(kind: u16) -> SubscribeConfig {
    SubscribeConfig { kind_mask: 1 << kind, ..SubscribeConfig::default() }
}

/// Polls `cond` every 10 ms until it holds or `timeout` passes; returns
/// whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Builds an inject message with the given records.
pub fn inject_message(records: &[(u16, &[u8])]) -> Vec<u8> {
    let mut buf = vec![0u8; kchan_proto::MAX_INJECT_BYTES];
    let mut b = kchan_proto::InjectBuilder::new(&mut buf).expect("inject builder");
    for (kind, payload) in records {
        b.push(*kind, payload).expect("inject push");
    }
    let n = b.finish();
    buf.truncate(n);
    buf
}
