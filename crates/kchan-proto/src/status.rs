//! NTSTATUS values used by kchan and the protocol error type that maps to them.
//!
//! One error model per layer: parsers return [`ProtoError`]; the driver turns
//! it into an NTSTATUS with [`ProtoError::ntstatus`] in exactly one place.

/// `STATUS_SUCCESS`.
pub const STATUS_SUCCESS: i32 = 0;
/// `STATUS_PENDING` (a receive that waits in the driver).
pub const STATUS_PENDING: i32 = 0x0000_0103;
/// `STATUS_CANCELLED`: a receive removed by `CancelIoEx` or thread exit.
pub const STATUS_CANCELLED: i32 = 0xC000_0120_u32 as i32;
/// `STATUS_BUFFER_TOO_SMALL`.
pub const STATUS_BUFFER_TOO_SMALL: i32 = 0xC000_0023_u32 as i32;
/// `STATUS_INVALID_PARAMETER`.
pub const STATUS_INVALID_PARAMETER: i32 = 0xC000_000D_u32 as i32;
/// `STATUS_REVISION_MISMATCH`: the protocol version of a request is not ours.
pub const STATUS_REVISION_MISMATCH: i32 = 0xC000_0059_u32 as i32;
/// `STATUS_NOT_SUPPORTED`.
pub const STATUS_NOT_SUPPORTED: i32 = 0xC000_00BB_u32 as i32;
/// `STATUS_INSUFFICIENT_RESOURCES`: allocation failed or a fixed table is full.
pub const STATUS_INSUFFICIENT_RESOURCES: i32 = 0xC000_009A_u32 as i32;
/// `STATUS_INVALID_HANDLE`: no subscriber for this file object.
pub const STATUS_INVALID_HANDLE: i32 = 0xC000_0008_u32 as i32;
/// `STATUS_DELETE_PENDING`: the subscriber is closing.
pub const STATUS_DELETE_PENDING: i32 = 0xC000_0056_u32 as i32;
/// `STATUS_INVALID_DEVICE_STATE`: the request cannot be served in the current state.
pub const STATUS_INVALID_DEVICE_STATE: i32 = 0xC000_0184_u32 as i32;
/// `STATUS_INVALID_DEVICE_REQUEST`: an IOCTL code the driver does not know.
pub const STATUS_INVALID_DEVICE_REQUEST: i32 = 0xC000_0010_u32 as i32;
/// `STATUS_ACCESS_DENIED`: the handle was not opened with the access the
/// request needs (write access for `INJECT`, `GEN_START`, `GEN_STOP`).
pub const STATUS_ACCESS_DENIED: i32 = 0xC000_0022_u32 as i32;

/// Every status kchan's driver completes requests with, and its name.
pub const STATUS_NAMES: [(i32, &str); 13] = [
    (STATUS_SUCCESS, "STATUS_SUCCESS"),
    (STATUS_PENDING, "STATUS_PENDING"),
    (STATUS_CANCELLED, "STATUS_CANCELLED"),
    (STATUS_BUFFER_TOO_SMALL, "STATUS_BUFFER_TOO_SMALL"),
    (STATUS_INVALID_PARAMETER, "STATUS_INVALID_PARAMETER"),
    (STATUS_REVISION_MISMATCH, "STATUS_REVISION_MISMATCH"),
    (STATUS_NOT_SUPPORTED, "STATUS_NOT_SUPPORTED"),
    (STATUS_INSUFFICIENT_RESOURCES, "STATUS_INSUFFICIENT_RESOURCES"),
    (STATUS_INVALID_HANDLE, "STATUS_INVALID_HANDLE"),
    (STATUS_DELETE_PENDING, "STATUS_DELETE_PENDING"),
    (STATUS_INVALID_DEVICE_STATE, "STATUS_INVALID_DEVICE_STATE"),
    (STATUS_INVALID_DEVICE_REQUEST, "STATUS_INVALID_DEVICE_REQUEST"),
    (STATUS_ACCESS_DENIED, "STATUS_ACCESS_DENIED"),
];

/// The name of one of the statuses above (`None` for any other value).
pub fn status_name(status: i32) -> Option<&'static str> {
    STATUS_NAMES.iter().find(|(value, _)| *value == status).map(|(_, name)| *name)
}

/// Why an untrusted buffer was refused. Every parser in this crate returns it;
/// none of them panics, whatever the input.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtoError {
    /// The buffer is shorter than the structure or the records it must hold.
    BufferTooSmall,
    /// A field has a value outside its documented range (unknown policy,
    /// zero where a count is needed, a reserved kind, non-zero reserved bytes...).
    InvalidParameter,
    /// The request carries a protocol version other than [`crate::PROTOCOL_VERSION`],
    /// or a bad magic number.
    UnsupportedVersion,
    /// A size or offset is not a multiple of [`crate::RECORD_ALIGN`].
    Misaligned,
    /// A declared length or count disagrees with the bytes present
    /// (header says N records / B bytes, the buffer holds something else).
    LengthMismatch,
    /// A length exceeds a protocol bound (payload, batch, inject message).
    TooLarge,
}

impl ProtoError {
    /// The NTSTATUS the driver completes the request with.
    ///
    /// `UnsupportedVersion` maps to `STATUS_REVISION_MISMATCH` (the request is
    /// well formed but speaks another revision); `Misaligned`,
    /// `LengthMismatch` and `TooLarge` are flavours of a bad parameter and map to
    /// `STATUS_INVALID_PARAMETER`.
    pub const fn ntstatus(self) -> i32 {
        match self {
            ProtoError::BufferTooSmall => STATUS_BUFFER_TOO_SMALL,
            ProtoError::UnsupportedVersion => STATUS_REVISION_MISMATCH,
            ProtoError::InvalidParameter
            | ProtoError::Misaligned
            | ProtoError::LengthMismatch
            | ProtoError::TooLarge => STATUS_INVALID_PARAMETER,
        }
    }
}

impl core::fmt::Display for ProtoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = match self {
            ProtoError::BufferTooSmall => "buffer too small",
            ProtoError::InvalidParameter => "invalid parameter",
            ProtoError::UnsupportedVersion => "unsupported protocol version",
            ProtoError::Misaligned => "misaligned size or offset",
            ProtoError::LengthMismatch => "declared length disagrees with the buffer",
            ProtoError::TooLarge => "length exceeds a protocol bound",
        };
        f.write_str(s)
    }
}

impl core::error::Error for ProtoError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_one_name() {
        for (i, (value, name)) in STATUS_NAMES.iter().enumerate() {
            assert_eq!(status_name(*value), Some(*name));
            assert!(STATUS_NAMES[i + 1..].iter().all(|(v, n)| v != value && n != name), "{name} twice");
        }
        assert_eq!(status_name(STATUS_DELETE_PENDING), Some("STATUS_DELETE_PENDING"));
        assert_eq!(status_name(0x1234), None);
    }

    #[test]
    fn every_protocol_error_maps_to_a_named_status() {
        use ProtoError::*;
        for e in [BufferTooSmall, InvalidParameter, UnsupportedVersion, Misaligned, LengthMismatch, TooLarge] {
            assert!(status_name(e.ntstatus()).is_some(), "{e:?}");
        }
    }
}
