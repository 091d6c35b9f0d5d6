//! kchan wire protocol: IOCTL codes, wire structs, record and batch framing,
//! and validating parsers for every buffer that crosses the user/kernel line.
//!
//! For client writers in other languages, `docs/protocol.md` (in the
//! repository) describes the same protocol without Rust: the request flow,
//! every IOCTL and the statuses it completes with, and every structure's
//! byte layout. Its test (`tests/protocol_doc.rs`) checks every number on
//! that page against this crate.
//!
//! # Design
//!
//! - `#![no_std]`, no allocation, no `unsafe`: the same code runs in the
//!   driver and in the client. Wire structs are `#[repr(C)]` with
//!   [`zerocopy`] derives, little-endian like every Windows target, and their
//!   sizes are pinned by `const` asserts.
//! - Every parser takes `&[u8]` from an untrusted source, copies what it reads
//!   (so the input need not be aligned in memory), checks sizes, alignment,
//!   counts, reserved fields and the version, and fails with a precise
//!   [`ProtoError`] that maps to one NTSTATUS ([`ProtoError::ntstatus`]). No
//!   input can make a parser panic; `fuzz/` holds the cargo-fuzz targets.
//! - A completed receive carries a batch: [`BatchHeader`] then records, each a
//!   24-byte [`RecordHeader`] and its payload padded to 8 bytes. The engine
//!   keeps exactly these bytes in its rings, so a drain is a copy.
//! - Losses are in-band: a record of kind [`KIND_GAP`] whose payload is a
//!   [`GapInfo`] (first missing sequence number, count, [`GapReason`]) sits
//!   where the records went missing. Its header's `seq` equals `first_seq`.
//! - Kinds are `0..=63` ([`MAX_KIND`]) so that a `u64` mask filters them.
//!
//! # Choices worth knowing
//!
//! - A version mismatch maps to `STATUS_REVISION_MISMATCH` (the request is
//!   well formed but of another revision), not `STATUS_NOT_SUPPORTED`.
//! - `SubscribeConfig` and `GenConfig` must be exactly their size (shorter:
//!   `BufferTooSmall`, longer: `LengthMismatch`); a reply buffer may be longer.
//! - `SubscribeConfig` is itself the wire struct; its enum-valued fields are
//!   raw `u32`s with typed accessors, valid after [`SubscribeConfig::validate`].
//! - `Record::Gap` carries the time of the first loss as its timestamp.
//! - [`BatchBuilder`] and [`InjectBuilder`] write into caller buffers (no
//!   allocation, so the driver can use them too).
#![no_std]

pub mod batch;
pub mod config;
pub mod gen;
pub mod inject;
pub mod ioctl;
pub mod record;
pub mod service;
pub mod stats;
pub mod status;

pub use batch::{parse_batch, BatchBuilder, BatchReader, Record};
pub use config::{
    CompletionPolicy, OverflowPolicy, SubscribeConfig, MAX_DELAY_US, MAX_IN_FLIGHT, MAX_RING_BYTES,
    ONE_EVENT_PER_COMPLETION, SUBSCRIBE_FLAGS_KNOWN,
};
pub use gen::{GenConfig, GEN_FLAGS_KNOWN, GEN_WAIT_FOR_ROOM, MAX_GEN_BURST};
pub use inject::{parse_inject, InjectBuilder, InjectHeader, InjectReader, InjectRecordHeader, MAX_INJECT_BYTES};
pub use ioctl::*;
pub use record::{
    gap_record_bytes, min_recv_bytes, record_size, write_record, BatchHeader, GapInfo, GapReason, RecordHeader,
    BATCH_FLAGS_KNOWN, BATCH_HAS_GAP, BATCH_HEADER_SIZE, BATCH_MORE, GAP_RECORD_SIZE, KIND_GAP, MAX_KIND, RECORD_ALIGN,
    RECORD_HEADER_SIZE,
};
pub use service::*;
pub use stats::{ChannelStats, StatsReply, SubscriberStats, STATS_REPLY_MIN_BYTES};
pub use status::*;
pub use zerocopy;
