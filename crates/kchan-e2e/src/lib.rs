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
//! The helpers are raw Win32 overlapped I/O, as a client of the seed's
//! design would write it: one heap-allocated [`Op`] per request owns its
//! `OVERLAPPED`, event and buffers, and must outlive the request (it is
//! only dropped after completion was observed, or it waits for it).
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
use kchan_proto::{
    GenConfig, StatsReply, SubscribeConfig, VersionInfo, IOCTL_GEN_START, IOCTL_GEN_STOP, IOCTL_INJECT, IOCTL_STATS,
    IOCTL_SUBSCRIBE, IOCTL_VERSION,
};
use std::io;
use std::ptr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
    CloseHandle, GetLastError, ERROR_IO_PENDING, GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE,
    WAIT_OBJECT_0,
};
use windows_sys::Win32::Storage::FileSystem::{CreateFileW, FILE_FLAG_OVERLAPPED, OPEN_EXISTING};
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
use windows_sys::Win32::System::Threading::{CreateEventW, WaitForSingleObject};
use windows_sys::Win32::System::IO::{CancelIoEx, DeviceIoControl, GetOverlappedResult, OVERLAPPED};

/// `STATUS_PENDING`, as found in `OVERLAPPED::Internal` while a request pends.
pub const STATUS_PENDING: usize = kchan_proto::STATUS_PENDING as usize;

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

/// An open handle to `\\.\kchan` (overlapped).
pub struct Device(HANDLE);

// SAFETY: a file handle may be used from any thread, and concurrent
// DeviceIoControl calls on one handle are allowed (each has its own
// OVERLAPPED or, on a synchronous handle, is serialized by the system).
unsafe impl Send for Device {}
// SAFETY: as above; `&Device` only issues requests.
unsafe impl Sync for Device {}

impl Device {
    /// Opens `\\.\kchan` for reading and writing with `FILE_FLAG_OVERLAPPED`.
    pub fn open() -> io::Result<Device> {
        Device::open_with(FILE_FLAG_OVERLAPPED)
    }

    /// Opens `\\.\kchan` without `FILE_FLAG_OVERLAPPED`: a synchronous
    /// handle; use [`Device::sync_call`] on it.
    pub fn open_sync() -> io::Result<Device> {
        Device::open_with(0)
    }

    /// Opens `\\.\kchan`, panicking with a hint when the driver is absent.
    pub fn must_open() -> Device {
        Device::open().unwrap_or_else(|e| panic!(r"cannot open \\.\kchan (is kchan.sys loaded in WINEPREFIX?): {e}"))
    }

    /// Opens `\\.\kchan` overlapped with `access` (`GENERIC_READ`, ...).
    pub fn open_with_access(access: u32) -> io::Result<Device> {
        Device::open_raw(kchan_proto::DEVICE_PATH, access, FILE_FLAG_OVERLAPPED)
    }

    /// Opens another kchan device, e.g. `\\.\kchan_example_c`, for reading
    /// and writing with `FILE_FLAG_OVERLAPPED`.
    pub fn open_path(path: &str) -> io::Result<Device> {
        Device::open_raw(path, GENERIC_READ | GENERIC_WRITE, FILE_FLAG_OVERLAPPED)
    }

    fn open_with(flags: u32) -> io::Result<Device> {
        Device::open_raw(kchan_proto::DEVICE_PATH, GENERIC_READ | GENERIC_WRITE, flags)
    }

    fn open_raw(path: &str, access: u32, flags: u32) -> io::Result<Device> {
        let name: Vec<u16> = path.encode_utf16().chain([0]).collect();
        // SAFETY: `name` is NUL-terminated and outlives the call; null
        // security attributes and template are allowed.
        let h = unsafe { CreateFileW(name.as_ptr(), access, 0, ptr::null(), OPEN_EXISTING, flags, ptr::null_mut()) };
        if h == INVALID_HANDLE_VALUE {
            return Err(io::Error::last_os_error());
        }
        Ok(Device(h))
    }

    /// The raw handle.
    pub fn raw(&self) -> HANDLE {
        self.0
    }

    /// Posts an IOCTL. `Ok(op)`: completed at once or pending (see
    /// [`Op::pending`]); `Err`: failed at once.
    pub fn post(&self, code: u32, input: &[u8], out_len: usize) -> io::Result<Box<Op>> {
        let op = self.submit(code, input, out_len)?;
        match op.error_at_submit() {
            0 => Ok(op),
            err => Err(io::Error::from_raw_os_error(err as i32)),
        }
    }

    /// Posts an IOCTL and always returns its operation: pending
    /// ([`Op::pending`]), or completed at once, successfully or not, with
    /// its NTSTATUS in [`Op::ntstatus`].
    pub fn submit(&self, code: u32, input: &[u8], out_len: usize) -> io::Result<Box<Op>> {
        let mut op = Op::new(input, out_len)?;
        let (in_ptr, in_len) = (op.input.as_ptr(), op.input.len() as u32);
        let (out_ptr, out_len) = (op.output.as_mut_ptr(), op.output.len() as u32);
        let ov: *mut OVERLAPPED = &mut op.ov;
        // SAFETY: the handle is open; buffers and OVERLAPPED live in `op`,
        // a heap allocation that is not freed before the request completes
        // (`Op`'s Drop waits for it), and whose buffers are not resized.
        let ok = unsafe {
            DeviceIoControl(self.0, code, in_ptr.cast(), in_len, out_ptr.cast(), out_len, ptr::null_mut(), ov)
        };
        // SAFETY: no preconditions.
        if ok == 0 && unsafe { GetLastError() } == ERROR_IO_PENDING {
            op.posted = true;
            op.pending_at_post = true;
        } else {
            // Completed at once: nothing of the kernel's refers to `op` any
            // more. On failure the status block is not written (NT does not
            // update it for a request that fails synchronously): keep the
            // Win32 error instead.
            op.done = true;
            if ok == 0 {
                // SAFETY: no preconditions.
                op.error = unsafe { GetLastError() };
            }
        }
        Ok(op)
    }

    /// Posts an IOCTL and waits for its result: the output bytes.
    pub fn call(&self, code: u32, input: &[u8], out_len: usize) -> io::Result<Vec<u8>> {
        let mut op = self.post(code, input, out_len)?;
        let n = op.wait(self)?;
        Ok(op.output[..n].to_vec())
    }

    /// A blocking `DeviceIoControl` on a synchronous handle: the output
    /// bytes, or the error.
    pub fn sync_call(&self, code: u32, input: &[u8], out_len: usize) -> io::Result<Vec<u8>> {
        let mut out = vec![0u8; out_len];
        let mut n = 0u32;
        // SAFETY: the handle is synchronous, so the call returns only after
        // the request completed; buffers outlive it.
        let ok = unsafe {
            DeviceIoControl(
                self.0,
                code,
                input.as_ptr().cast(),
                input.len() as u32,
                out.as_mut_ptr().cast(),
                out_len as u32,
                &mut n,
                ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        out.truncate(n as usize);
        Ok(out)
    }

    /// The driver's `VersionInfo`.
    pub fn version(&self) -> VersionInfo {
        let out = self.call(IOCTL_VERSION, &[], 64).expect("IOCTL_VERSION");
        VersionInfo::parse(&out).expect("valid VersionInfo")
    }

    /// The channel's and this handle's counters.
    pub fn stats(&self) -> StatsReply {
        let out = self.call(IOCTL_STATS, &[], std::mem::size_of::<StatsReply>()).expect("IOCTL_STATS");
        StatsReply::parse(&out).expect("valid StatsReply")
    }

    /// Reconfigures this handle's subscriber.
    pub fn subscribe(&self, config: &SubscribeConfig) -> io::Result<()> {
        self.call(IOCTL_SUBSCRIBE, config.as_bytes(), 0).map(drop)
    }

    /// Publishes `records` through `IOCTL_INJECT`.
    pub fn inject(&self, records: &[(u16, &[u8])]) {
        self.call(IOCTL_INJECT, &inject_message(records), 0).expect("IOCTL_INJECT");
    }

    /// Starts the generator.
    pub fn gen_start(&self, config: &GenConfig) {
        self.call(IOCTL_GEN_START, config.as_bytes(), 0).expect("IOCTL_GEN_START");
    }

    /// Stops the generator.
    pub fn gen_stop(&self) {
        self.call(IOCTL_GEN_STOP, &[], 0).expect("IOCTL_GEN_STOP");
    }

    /// `CancelIoEx` of one request.
    pub fn cancel(&self, op: &mut Op) -> io::Result<()> {
        // SAFETY: the handle is open and `op.ov` is the OVERLAPPED of a
        // request posted on it.
        if unsafe { CancelIoEx(self.0, &op.ov) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Closes the handle now (pending requests are then completed by the
    /// driver's CLOSE).
    pub fn close(self) {}
}

impl Drop for Device {
    fn drop(&mut self) {
        // SAFETY: we own the handle and close it once.
        unsafe { CloseHandle(self.0) };
    }
}

/// One overlapped request: OVERLAPPED first, then its event and buffers.
/// Heap-allocated and kept alive until its completion is observed.
#[repr(C)]
pub struct Op {
    ov: OVERLAPPED,
    event: HANDLE,
    input: Vec<u8>,
    /// The output buffer (valid up to the byte count of the completion).
    pub output: Vec<u8>,
    posted: bool,
    pending_at_post: bool,
    done: bool,
    error: u32,
}

impl Op {
    fn new(input: &[u8], out_len: usize) -> io::Result<Box<Op>> {
        // SAFETY: manual-reset, initially unsignalled, unnamed event.
        let event = unsafe { CreateEventW(ptr::null(), 1, 0, ptr::null()) };
        if event.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: OVERLAPPED is plain data; all-zero is its initial state.
        let mut ov: OVERLAPPED = unsafe { std::mem::zeroed() };
        // The low bit keeps the completion off any completion port the
        // handle is bound to (tests that run receives on a port also send
        // control requests on the same handle).
        ov.hEvent = (event as usize | 1) as HANDLE;
        Ok(Box::new(Op {
            ov,
            event,
            input: input.to_vec(),
            output: vec![0; out_len],
            posted: false,
            pending_at_post: false,
            done: false,
            error: 0,
        }))
    }

    /// Whether `DeviceIoControl` returned `ERROR_IO_PENDING`.
    pub fn pending(&self) -> bool {
        self.pending_at_post
    }

    /// Whether the request has not completed yet (`OVERLAPPED::Internal`
    /// still `STATUS_PENDING`).
    pub fn still_pending(&self) -> bool {
        // SAFETY: reads a field the kernel writes on completion; a volatile
        // read of an aligned usize.
        unsafe { ptr::read_volatile(&self.ov.Internal) == STATUS_PENDING }
    }

    /// The Win32 error of a request [`Device::submit`] saw fail at once
    /// (0 otherwise).
    pub fn error_at_submit(&self) -> u32 {
        self.error
    }

    /// Raw NTSTATUS of the completion (`OVERLAPPED::Internal`).
    pub fn ntstatus(&self) -> u32 {
        // SAFETY: as in `still_pending`.
        unsafe { ptr::read_volatile(&self.ov.Internal) as u32 }
    }

    /// Waits up to `ms` for the completion event; true if it completed.
    pub fn wait_event(&mut self, ms: u32) -> bool {
        // SAFETY: our event handle is open.
        let r = unsafe { WaitForSingleObject(self.event, ms) };
        if r == WAIT_OBJECT_0 {
            self.done = true;
        }
        r == WAIT_OBJECT_0
    }

    /// `GetOverlappedResult(wait = TRUE)`: bytes transferred, or the error.
    pub fn wait(&mut self, dev: &Device) -> io::Result<usize> {
        let mut n: u32 = 0;
        // SAFETY: `dev` is the handle the request was posted on; `ov` lives
        // in this heap allocation.
        let ok = unsafe { GetOverlappedResult(dev.raw(), &self.ov, &mut n, 1) };
        self.done = true;
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        if self.posted && !self.done {
            // Never free an OVERLAPPED the kernel may still write: wait.
            // SAFETY: our event handle is open.
            unsafe { WaitForSingleObject(self.event, u32::MAX) };
        }
        // SAFETY: we own the event handle and close it once.
        unsafe { CloseHandle(self.event) };
    }
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
