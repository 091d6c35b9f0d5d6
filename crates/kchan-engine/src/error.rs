//! `EngineError` and its NTSTATUS mapping.

use kchan_proto::{
    ProtoError, STATUS_BUFFER_TOO_SMALL, STATUS_DELETE_PENDING, STATUS_INSUFFICIENT_RESOURCES,
    STATUS_INVALID_DEVICE_STATE, STATUS_INVALID_HANDLE,
};

/// Why the engine refused an operation.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineError {
    /// The subscribe config is invalid, or outside the channel's [`crate::Limits`].
    InvalidConfig(ProtoError),
    /// Allocation of a ring, queue or table failed.
    OutOfMemory,
    /// The subscriber table is full.
    TooManySubscribers,
    /// No subscriber with this id (never attached, or closed and freed).
    NoSuchSubscriber,
    /// The subscriber is closing: it accepts only `cancel`.
    Closing,
    /// The subscriber already holds K pending receives.
    TooManyPending,
    /// The receive buffer cannot hold a batch header plus the largest record.
    BufferTooSmall,
    /// Reconfigure would lose state: the new ring cannot hold what waits in the
    /// old one, or the new K is below the receives pending now.
    WouldLoseRecords,
}

impl EngineError {
    /// The NTSTATUS the driver completes the request with.
    pub const fn ntstatus(self) -> i32 {
        match self {
            EngineError::InvalidConfig(e) => e.ntstatus(),
            EngineError::OutOfMemory | EngineError::TooManySubscribers | EngineError::TooManyPending => {
                STATUS_INSUFFICIENT_RESOURCES
            }
            EngineError::NoSuchSubscriber => STATUS_INVALID_HANDLE,
            EngineError::Closing => STATUS_DELETE_PENDING,
            EngineError::BufferTooSmall => STATUS_BUFFER_TOO_SMALL,
            EngineError::WouldLoseRecords => STATUS_INVALID_DEVICE_STATE,
        }
    }
}

impl From<ProtoError> for EngineError {
    fn from(e: ProtoError) -> Self {
        EngineError::InvalidConfig(e)
    }
}

impl core::fmt::Display for EngineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EngineError::InvalidConfig(e) => write!(f, "invalid subscribe config: {e}"),
            EngineError::OutOfMemory => f.write_str("out of memory"),
            EngineError::TooManySubscribers => f.write_str("subscriber table full"),
            EngineError::NoSuchSubscriber => f.write_str("no such subscriber"),
            EngineError::Closing => f.write_str("subscriber is closing"),
            EngineError::TooManyPending => f.write_str("too many pending receives"),
            EngineError::BufferTooSmall => f.write_str("receive buffer too small"),
            EngineError::WouldLoseRecords => f.write_str("reconfigure would lose records or receives"),
        }
    }
}

impl core::error::Error for EngineError {}

#[cfg(test)]
mod tests {
    use super::*;
    use kchan_proto::STATUS_INVALID_PARAMETER;

    #[test]
    fn maps_to_ntstatus() {
        assert_eq!(EngineError::BufferTooSmall.ntstatus(), 0xC000_0023_u32 as i32);
        assert_eq!(EngineError::InvalidConfig(ProtoError::InvalidParameter).ntstatus(), STATUS_INVALID_PARAMETER);
        assert_eq!(
            EngineError::InvalidConfig(ProtoError::UnsupportedVersion).ntstatus(),
            kchan_proto::STATUS_REVISION_MISMATCH
        );
        assert_eq!(EngineError::TooManyPending.ntstatus(), STATUS_INSUFFICIENT_RESOURCES);
    }
}
