//! kchan.sys: the kchan WDM driver (phase 1: the vertical slice).
//!
//! Built as a `cdylib` for `x86_64-pc-windows-gnu`; `build.rs` holds every
//! link setting, so `cargo build -p kchan-driver --target
//! x86_64-pc-windows-gnu --release` yields
//! `target/x86_64-pc-windows-gnu/release/kchan_driver.dll`, a native-subsystem
//! PE importing only `ntoskrnl.exe` and `hal.dll`, installed as `kchan.sys`.
//! On other targets the crate is empty, so a host `cargo build` succeeds.
//!
//! # What the slice does
//!
//! - [`entry`]: `DriverEntry` creates `\Device\kchan` (buffered I/O) and
//!   `\DosDevices\kchan`, the dispatch table and the delivery thread;
//!   `DriverUnload` stops and joins the thread, completes every pending
//!   receive, waits for cancel routines in flight, frees the pool memory and
//!   deletes link and device, so `sc stop` then `sc start` works.
//! - [`dispatch`]: CREATE, CLOSE, CLEANUP, DEVICE_CONTROL. No dispatch
//!   routine blocks (under Wine all dispatch runs on one thread). CLOSE as
//!   well as CLEANUP completes the handle's pending receives: Wine never
//!   sends CLEANUP.
//! - [`pending`]: the queue of pending `IOCTL_RECV` IRPs and its cancel
//!   routine (the `IoSetCancelRoutine(NULL)` claim protocol, completion
//!   outside the spin lock).
//! - [`delivery`]: a system thread that, when signalled by `IOCTL_INJECT`
//!   (and every 1 ms in any case), completes pending receives with the
//!   injected records, one record per batch: the inverted call, completed
//!   from another context than the dispatch routine.
//!
//! The protocol (IOCTL codes, `VersionInfo`, inject messages, batches) is
//! `kchan-proto`'s. Phase 2 replaces the mailbox and the one-record batches
//! with `kchan-engine`'s channel (per-handle subscribers, rings, batching).
#![cfg_attr(all(windows, target_env = "gnu"), no_std)]

#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
extern crate alloc;

#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod delivery;
#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod device;
#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod dispatch;
#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod entry;
#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod mailbox;
#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod pending;

/// The kernel heap: nonpaged pool tagged `kchn`, with live counters
/// (logged at unload; phase 2 reports them in `IOCTL_STATS`).
#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
#[global_allocator]
pub static POOL: kchan_km::pool::PoolAllocator =
    kchan_km::pool::PoolAllocator::new(u32::from_le_bytes(*b"kchn"));
