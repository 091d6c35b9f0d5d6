//! What `kchan-proto` defines, as values the page's check compares with:
//! every numeric constant, status, IOCTL and wire enum value by name, and
//! every wire structure's size and fields. The lists are written out here
//! (so each value comes from the code itself), and [`undeclared`] scans the
//! crate's sources so that a definition added to the crate but not here
//! fails the check.

use kchan_proto::*;
use std::collections::BTreeMap;

pub use crate::wire_structs::structs;

macro_rules! values {
    ($($name:ident),* $(,)?) => { vec![$((stringify!($name), $name as u64)),*] };
}

/// Every numeric constant of the crate but the statuses, by name.
fn constants() -> Vec<(&'static str, u64)> {
    values![
        FILE_DEVICE_UNKNOWN,
        METHOD_BUFFERED,
        FILE_ANY_ACCESS,
        FILE_READ_ACCESS,
        FILE_WRITE_ACCESS,
        IOCTL_VERSION,
        IOCTL_SUBSCRIBE,
        IOCTL_SUBSCRIBE_WRITE_ACCESS,
        IOCTL_RECV,
        IOCTL_STATS,
        IOCTL_INJECT,
        IOCTL_GEN_START,
        IOCTL_GEN_STOP,
        PROTOCOL_VERSION,
        KCHAN_MAGIC,
        MAX_RECORD_PAYLOAD,
        DEFAULT_MAX_BATCH_BYTES,
        ONE_EVENT_PER_COMPLETION,
        SUBSCRIBE_FLAGS_KNOWN,
        MAX_DELAY_US,
        MAX_RING_BYTES,
        MAX_IN_FLIGHT,
        RECORD_ALIGN,
        KIND_GAP,
        MAX_KIND,
        RECORD_HEADER_SIZE,
        GAP_RECORD_SIZE,
        BATCH_HEADER_SIZE,
        BATCH_MORE,
        BATCH_HAS_GAP,
        BATCH_FLAGS_KNOWN,
        MAX_INJECT_BYTES,
        MAX_GEN_BURST,
        GEN_WAIT_FOR_ROOM,
        GEN_FLAGS_KNOWN,
        STATS_REPLY_MIN_BYTES,
    ]
}

/// The values of a wire enum, decoded the way the crate decodes them.
fn enum_values<E: core::fmt::Debug>(name: &str, from_raw: fn(u32) -> Option<E>) -> Vec<(String, u64)> {
    (0..=255u32).filter_map(|v| from_raw(v).map(|e| (format!("{name}::{e:?}"), u64::from(v)))).collect()
}

/// Every value a `| name | value |` table of the page must hold: the
/// constants, the statuses (as their `u32` bit pattern) and the wire enums'
/// values (`OverflowPolicy::DropNewest`).
pub fn named_values() -> BTreeMap<String, u64> {
    let mut map: BTreeMap<String, u64> = constants().into_iter().map(|(n, v)| (n.to_string(), v)).collect();
    map.extend(STATUS_NAMES.iter().map(|(v, n)| (n.to_string(), u64::from(*v as u32))));
    map.extend(enum_values("OverflowPolicy", OverflowPolicy::from_raw));
    map.extend(enum_values("CompletionPolicy", CompletionPolicy::from_raw));
    map.extend(enum_values("GapReason", GapReason::from_raw));
    map
}

/// The Win32 errors the page names, from `windows-sys`.
pub fn win32_errors() -> BTreeMap<String, u64> {
    use windows_sys::Win32::Foundation::*;
    macro_rules! errors {
        ($($name:ident),* $(,)?) => { [$((stringify!($name), u64::from($name))),*] };
    }
    errors![
        ERROR_SUCCESS,
        ERROR_IO_PENDING,
        ERROR_OPERATION_ABORTED,
        ERROR_INSUFFICIENT_BUFFER,
        ERROR_INVALID_PARAMETER,
        ERROR_REVISION_MISMATCH,
        ERROR_NOT_SUPPORTED,
        ERROR_NO_SYSTEM_RESOURCES,
        ERROR_INVALID_HANDLE,
        ERROR_ACCESS_DENIED,
        ERROR_BAD_COMMAND,
        ERROR_INVALID_FUNCTION,
    ]
    .into_iter()
    .map(|(n, v)| (n.to_string(), v))
    .collect()
}

/// The crate's sources, as this test binary was built with them.
const SOURCES: &[(&str, &str)] = &[
    ("lib.rs", include_str!("../../src/lib.rs")),
    ("batch.rs", include_str!("../../src/batch.rs")),
    ("config.rs", include_str!("../../src/config.rs")),
    ("gen.rs", include_str!("../../src/gen.rs")),
    ("inject.rs", include_str!("../../src/inject.rs")),
    ("ioctl.rs", include_str!("../../src/ioctl.rs")),
    ("record.rs", include_str!("../../src/record.rs")),
    ("service.rs", include_str!("../../src/service.rs")),
    ("stats.rs", include_str!("../../src/stats.rs")),
    ("status.rs", include_str!("../../src/status.rs")),
];

/// What the crate's sources define that the lists above leave out: a
/// module not in [`SOURCES`], a `#[repr(C)]` structure not in [`structs`],
/// a `#[repr(u32)]` enum not decoded in [`named_values`], an integer
/// constant not in [`named_values`]. Empty when the lists are complete.
pub fn undeclared() -> Vec<String> {
    let mut missing = Vec::new();
    let lib = SOURCES[0].1;
    for line in lib.lines() {
        if let Some(module) = line.strip_prefix("pub mod ").and_then(|m| m.strip_suffix(';')) {
            if !SOURCES.iter().any(|(file, _)| *file == format!("{module}.rs")) {
                missing.push(format!("module `{module}` is not among the sources the test scans"));
            }
        }
    }
    let structs: Vec<&str> = structs().iter().map(|s| s.name).collect();
    let values = named_values();
    for (file, source) in SOURCES {
        let lines: Vec<&str> = source.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            let repr = match *line {
                "#[repr(C)]" => "struct",
                "#[repr(u32)]" => "enum",
                _ => "",
            };
            if !repr.is_empty() {
                let decl = lines[i..].iter().find(|l| l.starts_with("pub struct ") || l.starts_with("pub enum "));
                let name = decl.and_then(|l| l.split_whitespace().nth(2)).unwrap_or("?");
                let known = match repr {
                    "struct" => structs.contains(&name),
                    _ => values.keys().any(|k| k.starts_with(&format!("{name}::"))),
                };
                if !known {
                    missing.push(format!("{file}: {repr} `{name}` is not in the test's lists"));
                }
            }
            if let Some(rest) = line.strip_prefix("pub const ") {
                let Some((name, rest)) = rest.split_once(':') else { continue };
                if !name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
                    continue; // a `const fn`
                }
                let ty = rest.trim_start().split([' ', '=']).next().unwrap_or("");
                if ["u16", "u32", "u64", "usize", "i32"].contains(&ty) && !values.contains_key(name) {
                    missing.push(format!("{file}: constant `{name}` is not in the test's lists"));
                }
            }
        }
    }
    missing
}
