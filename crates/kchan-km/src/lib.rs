//! Kernel-mode layer of kchan: the only place where the driver touches the
//! Windows kernel's ABI.
//!
//! # Why hand-written bindings
//!
//! `wdk-sys` needs the real WDK and MSVC; windows-sys's `Wdk_*` modules give
//! `IO_STACK_LOCATION` parameters the wrong x64 layout and bind hundreds of
//! kernel functions to `ntdll.dll`, which only Wine tolerates. So this crate
//! declares exactly what the driver uses, and nothing else, and checks it:
//! `build.rs` compiles a probe against mingw's `ddk/ntddk.h`/`ddk/wdm.h` and
//! [`ffi::layout`] compares every struct size and field offset used with the
//! headers' values in `const` assertions. A wrong layout fails the build, not
//! the machine.
//!
//! # What is here
//!
//! - [`ffi`]: raw types, constants and functions (`ntoskrnl.exe`, `hal.dll`).
//! - [`irp`]: IRPs as owned values ([`irp::Irp`] is completed once, by
//!   value; [`irp::CancelableIrp`] is an IRP with its cancel routine set,
//!   which only the winner of the cancel routine gets back), over the
//!   inline helpers of `wdm.h` (`IoGetCurrentIrpStackLocation`,
//!   `IoSetCancelRoutine`, `IoMarkIrpPending`, completion).
//! - [`irql`]: IRQL preconditions asserted in debug builds.
//! - [`sync`]: [`sync::SpinLock`] with an RAII guard, [`sync::Event`].
//! - [`thread`]: a system thread that can be joined from `DriverUnload`.
//! - [`pool`]: [`pool::PoolAllocator`], a `GlobalAlloc` over
//!   `ExAllocatePoolWithTag` that counts live allocations and bytes.
//! - [`log`](mod@log): the [`kprintln!`] macro over `DbgPrint`.
//! - [`panic`]: the panic handler's body (log, bug check) and
//!   [`driver_runtime!`], which the crate linking the final driver image
//!   invokes to install it and the unwinding symbols prebuilt `core`
//!   refers to. Libraries of kernel code leave it out, so that their host
//!   and test builds link std's.
//!
//! # Targets
//!
//! Everything is compiled for `x86_64-pc-windows-gnu` only. On any other
//! target this crate is empty, so `cargo build` on the Linux host succeeds.
//!
//! # IRQL conventions
//!
//! Each function says the IRQL it may be called at. Every `unsafe` block says
//! which invariant holds, who upholds it and at which IRQL it runs.
#![no_std]

#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod ffi;
#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod irp;
#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod irql;
#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod log;
#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod panic;
#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod pool;
#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod sync;
#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod thread;
#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod unicode;
