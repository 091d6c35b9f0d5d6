//! kchan.sys: the kchan WDM driver, a thin kernel shell around
//! `kchan-engine`'s channel.
//!
//! Built as a `cdylib` for `x86_64-pc-windows-gnu`; `build.rs` holds every
//! link setting, so `cargo build -p kchan-driver --target
//! x86_64-pc-windows-gnu --release` yields
//! `target/x86_64-pc-windows-gnu/release/kchan_driver.dll`, a native-subsystem
//! PE importing only `ntoskrnl.exe` and `hal.dll`, installed as `kchan.sys`.
//! On other targets the crate is empty, so a host `cargo build` succeeds.
//!
//! # Shape
//!
//! The engine owns every policy (rings, filters, batching, gaps,
//! completion policies, counters) and makes no OS call; this crate supplies
//! what it abstracts: a spin lock around it, IRPs as requests, completion
//! outside the lock, a clock, a timer and event sources.
//!
//! - [`entry`]: `DriverEntry` (device, link, dispatch table, the timer and
//!   generator threads) and `DriverUnload` (joins the threads, closes every
//!   subscriber completing its receives, waits for cancel routines, frees
//!   every allocation, reports the allocator's live counts: [`leak_report`]).
//! - [`dispatch`]: CREATE (one subscriber per handle, default config, bound
//!   to `FsContext`: [`file`]), CLEANUP and CLOSE (both close it: Wine sends
//!   only CLOSE), DEVICE_CONTROL (lengths checked, then [`control`] or
//!   [`recv`]).
//! - [`recv`]: posting a receive and its cancel routine (the
//!   `IoSetCancelRoutine(NULL)` claim protocol, set under the channel lock).
//! - [`shell`]: the channel behind the spin lock; every operation collects
//!   finished IRPs in an [`request::IrpSink`] and completes them after
//!   releasing the lock, and wakes the [`timer`] thread when a nearer
//!   deadline appears.
//! - [`generator`]: synthetic events at a rate, burst and size.
//! - [`clock`]: `KeQueryPerformanceCounter` in 100 ns ticks.
//!
//! # Why this design
//!
//! - A hand-rolled claim protocol rather than IoCsq: the engine, not a
//!   list, holds the pending receives (it must choose which to complete
//!   with which records, under its lock), so the claim (`try_claim`) is the
//!   engine's hook and the cancel routine is a dozen lines.
//! - Completion never under the spin lock: `IoCompleteRequest` runs other
//!   code and, under Wine, talks to wineserver.
//! - Memory: rings and queues are allocated at CREATE/SUBSCRIBE at
//!   PASSIVE_LEVEL outside the lock and freed outside it; publish (any IRQL
//!   <= DISPATCH_LEVEL) never allocates or blocks.
//! - No dispatch routine blocks (under Wine all dispatch runs on one
//!   thread): time-based completion runs on the timer thread.
// The driver exists only for the Windows kernel target; elsewhere (the
// Linux host's `cargo build`) the crate is empty.
#![cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
#![no_std]

extern crate alloc;

pub mod clock;
pub mod control;
pub mod device;
pub mod dispatch;
pub mod entry;
pub mod file;
pub mod generator;
pub mod leak_report;
pub mod recv;
pub mod request;
pub mod shell;
pub mod timer;

/// The kernel heap: nonpaged pool tagged `kchn`, with live counters
/// (reported by `IOCTL_STATS` and at unload).
#[global_allocator]
pub static POOL: kchan_km::pool::PoolAllocator = kchan_km::pool::PoolAllocator::new(u32::from_le_bytes(*b"kchn"));
