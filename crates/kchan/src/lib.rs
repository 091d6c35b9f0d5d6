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
//!   completions out of order ([`reorder`]).
//! - Buffers and OVERLAPPEDs belong to the kernel while a request is in
//!   flight: dropping a [`Subscription`] or an [`EventStream`] cancels its
//!   requests and waits for every completion before freeing anything.
//! - Two APIs: a blocking one ([`Subscription::next_batch`],
//!   [`Subscription::events`]) on the caller's thread, and a
//!   `futures::Stream` ([`EventStream`]) that needs no I/O reactor (tokio's
//!   and mio's do not work under Wine).
//! - The layers: [`sys`] holds the Windows objects (device, completion port,
//!   receive operation); the portable parts (options, decoding, ordering)
//!   build and test on any OS.

mod error;
mod event;
mod options;
pub mod reorder;
pub mod sys;

#[cfg(windows)]
pub mod clock;
#[cfg(windows)]
mod device;
#[cfg(windows)]
mod stream;
#[cfg(windows)]
mod subscription;

pub use error::{status_name, Error, Result};
pub use event::{seq_span, Event, Gap, Item};
pub use options::SubscribeOptions;

#[cfg(windows)]
pub use device::{Device, DEVICE_PATH};
#[cfg(windows)]
pub use stream::{EventStream, OwnedBatch};
#[cfg(windows)]
pub use subscription::{Batch, ClientStats, Events, Subscription, Wakeup};

pub use kchan_proto as proto;
pub use kchan_proto::{CompletionPolicy, GapReason, GenConfig, OverflowPolicy, StatsReply};
