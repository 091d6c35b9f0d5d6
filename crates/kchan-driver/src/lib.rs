//! The kchan device as a library: what a WDM driver embeds to stream its
//! events to user mode through kchan's protocol, so that the same client
//! library and `kchan` command read any driver built on it.
//!
//! # Embedding it (Rust WDM driver, kernel target)
//!
//! [`wdm::KchanDevice::create`] in `DriverEntry` creates the device under
//! a name the driver chooses (`\Device\<name>`, `\\.\<name>`), with the
//! channel's [`Limits`], a ring budget ([`Config`]; the service key's
//! `RingBudgetBytes` overrides it) and optional [`SourceHooks`];
//! [`wdm::route`] sends `IRP_MJ_CREATE`, `CLEANUP`, `CLOSE` and
//! `DEVICE_CONTROL` to it (or call [`wdm::dispatch`] from your own
//! routine); [`wdm::KchanDevice::publish`] publishes an event at any IRQL
//! <= DISPATCH_LEVEL; [`wdm::KchanDevice::destroy`] in `DriverUnload` tears
//! it down (stop your own event sources first). See [`wdm`] for the code.
//! `kchan.sys` (`crates/kchan-sys`) is one such driver; `GEN_START` and
//! `GEN_STOP` reach its generator through [`SourceHooks`], and a driver
//! without hooks answers them `STATUS_NOT_SUPPORTED`. `INJECT` is served
//! by the library.
//!
//! # Shape
//!
//! The engine (`kchan-engine`) owns every policy (rings, filters,
//! batching, gaps, completion policies, counters) and makes no OS call.
//! This crate's core supplies what it abstracts, written once against the
//! [`Kernel`] trait:
//!
//! - [`dispatch`]: CREATE (records the handle's access, allocates
//!   nothing), CLEANUP and CLOSE (close the handle's subscriber, completing
//!   its receives; Wine sends only CLOSE), DEVICE_CONTROL (access and
//!   lengths checked, then [`control`] or [`receive`]).
//! - [`handle`]: a handle's state in its file object's two driver words:
//!   one stable subscriber, bound by the first SUBSCRIBE or RECV.
//! - [`receive`]: posting a receive and its cancel routine (the
//!   `IoSetCancelRoutine(NULL)` claim protocol, set under the channel lock).
//! - [`channel`]: the engine's channel behind the spin lock; finished IRPs
//!   are collected in a [`sink::CompletionSink`] and completed after the
//!   lock is released.
//! - [`rundown`]: every dispatch routine and every receive IRP is counted;
//!   unload refuses new ones and waits for the count, without a time limit.
//! - [`budget`]: one limit on all rings' memory.
//! - [`device`]: the state, publishing, the timer's work, the unload order.
//! - [`security`]: the device's security descriptor.
//! - [`kernel`]: the kernel operations and the IRP ownership types:
//!   [`kernel::OwnedIrp`] is completed once, by value;
//!   [`kernel::CancelableIrp`] turns back into one only for the winner of
//!   the cancel routine.
//!
//! The WDM binding ([`wdm`], kernel target only) implements [`Kernel`]
//! over `kchan-km`. The host tests implement it with fake IRPs, run the
//! same code on real threads under Windows' rules (requests of one handle
//! at once, cancel from any thread, CLEANUP then CLOSE, unload after the
//! last reference), and under loom.
//!
//! # Rules the code keeps
//!
//! - Completion never under the spin lock: `IoCompleteRequest` runs other
//!   code and, under Wine, talks to wineserver.
//! - Memory: a handle costs nothing until it subscribes or receives; rings
//!   and queues are allocated then, at PASSIVE_LEVEL outside the lock, and
//!   freed outside it; publish (any IRQL <= DISPATCH_LEVEL) never allocates
//!   or blocks.
//! - No dispatch routine blocks: time-based completion runs on a timer
//!   thread.
//! - IRQL preconditions are asserted in debug builds ([`irql`]).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod budget;
pub mod channel;
pub mod control;
pub mod device;
pub mod dispatch;
pub mod handle;
pub mod irql;
pub mod kernel;
pub mod receive;
pub mod rundown;
pub mod security;
pub mod sink;
mod sync;

#[cfg(all(windows, target_env = "gnu", target_arch = "x86_64"))]
pub mod wdm;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use device::{Batch, Closed, Config, Device, SourceHooks, TimerSleep};
pub use kchan_engine::Limits;
pub use kernel::{Kernel, NtStatus};
