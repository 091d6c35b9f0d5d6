//! Every wire structure of `kchan-proto` with its size, alignment and
//! fields (offset, size, type), taken from the code itself: the one list
//! both the C header's test and the protocol page's check compare with.
#![allow(dead_code)] // each test uses the parts it compares

use core::mem::{align_of, offset_of, size_of};
use kchan_proto::*;

/// A field of a wire structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its name.
    pub name: &'static str,
    /// Its offset in the structure.
    pub offset: usize,
    /// Its size.
    pub size: usize,
    /// Its type, as the page writes it (`u32`, `ChannelStats`).
    pub ty: &'static str,
}

/// A wire structure.
#[derive(Debug, Clone)]
pub struct Struct {
    /// Its name.
    pub name: &'static str,
    /// Its size.
    pub size: usize,
    /// Its alignment.
    pub align: usize,
    /// Its fields, in order.
    pub fields: Vec<Field>,
}

fn size_of_field<T, F>(_: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

fn type_of_field<T, F>(_: fn(&T) -> &F) -> &'static str {
    let full = core::any::type_name::<F>();
    full.rsplit("::").next().unwrap_or(full)
}

/// `$t`'s layout with every field listed: the exhaustive pattern fails to
/// compile when a field is added to the crate and not here.
macro_rules! layout {
    ($t:ident { $($f:ident),* $(,)? }) => {{
        #[allow(dead_code)]
        fn every_field_is_listed(value: $t) {
            let $t { $($f: _),* } = value;
        }
        Struct {
            name: stringify!($t),
            size: size_of::<$t>(),
            align: align_of::<$t>(),
            fields: vec![$(Field {
                name: stringify!($f),
                offset: offset_of!($t, $f),
                size: size_of_field(|s: &$t| &s.$f),
                ty: type_of_field(|s: &$t| &s.$f),
            }),*],
        }
    }};
}

/// Every wire structure, fields in order. The protocol page's check scans
/// the crate for any other `#[repr(C)]` structure and checks that the fields
/// listed here tile each structure exactly (no padding, no gap); the C
/// header's test asserts each one's size, alignment and offsets in C.
pub fn structs() -> Vec<Struct> {
    vec![
        layout!(VersionInfo {
            magic,
            protocol_version,
            max_record_payload,
            max_batch_bytes,
            min_recv_bytes,
            max_ring_bytes,
            max_in_flight,
            max_inject_bytes,
        }),
        layout!(SubscribeConfig {
            version,
            flags,
            kind_mask,
            ring_bytes,
            max_in_flight,
            overflow,
            completion,
            min_records,
            max_delay_us,
            fill_percent,
            reserved,
        }),
        layout!(BatchHeader { record_count, total_bytes, flags, reserved }),
        layout!(RecordHeader { len, kind, flags, seq, timestamp }),
        layout!(GapInfo { first_seq, count, reason, reserved }),
        layout!(ChannelStats {
            published,
            rejected,
            fanout,
            dropped,
            subscribers,
            max_subscribers,
            pending_receives,
            completions,
            cancels,
            pool_bytes,
            pool_allocations,
            gen_running,
            gen_produced,
            gen_rate,
        }),
        layout!(SubscriberStats {
            published,
            delivered,
            dropped_ring_full,
            dropped_overwritten,
            in_ring_records,
            in_ring_bytes,
            ring_capacity,
            ring_high_water,
            gaps_delivered,
            bytes_delivered,
            pending_receives,
            max_in_flight,
            completions,
            cancels,
            closed_receives,
            rejected_posts,
            next_seq,
        }),
        layout!(StatsReply { channel, subscriber, ring_budget_bytes, ring_budget_used, dropped_at_close }),
        layout!(InjectHeader { version, record_count, total_bytes, reserved }),
        layout!(InjectRecordHeader { kind, reserved, len }),
        layout!(GenConfig { version, kind, reserved, rate, burst, payload_bytes, flags, count }),
    ]
}
