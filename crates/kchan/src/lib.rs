//! The kchan client: receive events from the kchan driver.
//!
//! kchan's driver queues events per subscriber (one per open handle) and
//! completes pending receive requests with batches of records. This crate
//! opens `\\.\kchan` with `FILE_FLAG_OVERLAPPED`, so control requests
//! ([`Device::stats`], [`Device::inject`], the generator) go through while
//! receives pend on the same handle, and keeps K receives in flight on an I/O
//! completion port, re-posting each as its batch is consumed.
//!
//! ```no_run
//! # #[cfg(not(windows))] fn main() {}
//! # #[cfg(windows)]
//! # fn main() -> kchan::Result<()> {
//! let device = kchan::Device::open()?;
//! let mut sub = device.subscribe(kchan::SubscribeOptions::new())?;
//! for item in sub.events().take(10) {
//!     match item? {
//!         kchan::Item::Event(e) => println!("#{} kind {} {} bytes", e.seq, e.kind, e.payload.len()),
//!         kchan::Item::Gap(g) => println!("lost {} events from #{} ({:?})", g.count, g.first_seq, g.reason),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Design
//!
//! - Losses are values: a [`Gap`] says which sequence numbers are missing and
//!   why, at the position where they went missing.
//! - Batches come back in sequence order even when the port delivers
//!   completions out of order.
//! - Buffers and OVERLAPPEDs belong to the kernel while a request is in
//!   flight: a receive operation is handed over as a raw pointer and taken
//!   back from the OVERLAPPED pointer its completion carries, and dropping a
//!   [`Subscription`] or an [`EventStream`] cancels its requests and waits for
//!   every completion before freeing anything.
//! - A receive that completes at once is never taken for a failure: the
//!   handle asks for no completion packet then
//!   (`FILE_SKIP_COMPLETION_PORT_ON_SUCCESS`), and its batch is taken on
//!   the spot, with no wait on the port; one that pends completes on the
//!   port. Both go through the same reordering.
//! - Options beyond the driver's advertised limits ([`Device::version`]) are
//!   refused before anything is sent, with the limit in the message.
//! - Two APIs: a blocking one ([`Subscription::next_batch`],
//!   [`Subscription::events`]) on the caller's thread, and a
//!   `futures::Stream` ([`EventStream`]) that needs no I/O reactor (tokio's
//!   and mio's do not work under Wine).
//! - The layers: `sys` (private) holds the OS objects behind one small
//!   interface, a port where receives are posted and completions dequeued;
//!   the receive state machine (K in flight, reordering, cancel and wait on
//!   drop) is portable and unit-tested against a fake port on any OS, as are
//!   the options and decoding. [`raw`] exposes single requests for tools and
//!   tests.

mod error;
mod event;
mod options;
// The receive path runs on Windows; elsewhere only its tests use it.
#[cfg_attr(not(windows), allow(dead_code))]
mod receiver;
#[cfg_attr(not(windows), allow(dead_code))]
mod reorder;
#[cfg_attr(not(windows), allow(dead_code))]
mod sys;

#[cfg(windows)]
pub mod clock;
#[cfg(windows)]
mod device;
#[cfg(windows)]
mod stream;
#[cfg(windows)]
mod subscription;

pub use error::{status_name, Error, Result};
pub use event::{Event, Gap, Item};
pub use options::SubscribeOptions;
pub use receiver::{Batch, ClientStats};

#[cfg(windows)]
pub use device::{Device, DEVICE_PATH};
#[cfg(windows)]
pub use stream::{EventStream, OwnedBatch};
#[cfg(windows)]
pub use subscription::{Events, Subscription, Wakeup};

/// Requests one at a time, for tools and tests that need what [`Device`]
/// and [`Subscription`] hide: a synchronous handle (the seed's first
/// design), a receive left pending while the driver's counters are read, a
/// cancel of exactly one request, the precise status of a malformed one.
/// Built from the same pieces as the client.
#[cfg(windows)]
pub mod raw {
    pub use crate::sys::windows::request::{call_synchronous, Request};

    /// Opens `path` (e.g. [`DEVICE_PATH`](crate::DEVICE_PATH)) for reading
    /// and writing, for overlapped I/O or synchronous. No version check.
    pub fn open(path: &str, overlapped: bool) -> crate::Result<std::os::windows::io::OwnedHandle> {
        crate::sys::windows::handle::open(path, overlapped)
    }

    /// Opens `path` with exactly `access` (`GENERIC_READ`, ...), where
    /// [`open`] asks for read and write and falls back to read only.
    pub fn open_with_access(
        path: &str,
        access: u32,
        overlapped: bool,
    ) -> crate::Result<std::os::windows::io::OwnedHandle> {
        crate::sys::windows::handle::open_with_access(path, access, overlapped)
    }
}

pub use kchan_proto as proto;
pub use kchan_proto::{CompletionPolicy, GapReason, GenConfig, OverflowPolicy, StatsReply};
