//! IOCTL codes, the protocol version and the version reply.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `FILE_DEVICE_UNKNOWN`, the device type of every kchan IOCTL.
pub const FILE_DEVICE_UNKNOWN: u32 = 0x22;
/// `METHOD_BUFFERED`: the I/O manager copies input and output through a system buffer.
pub const METHOD_BUFFERED: u32 = 0;
/// `FILE_ANY_ACCESS`.
pub const FILE_ANY_ACCESS: u32 = 0;
/// `FILE_READ_ACCESS`.
pub const FILE_READ_ACCESS: u32 = 1;
/// `FILE_WRITE_ACCESS`.
pub const FILE_WRITE_ACCESS: u32 = 2;

/// Builds an IOCTL code exactly like the `CTL_CODE` macro of the DDK.
pub const fn ctl_code(device_type: u32, function: u32, method: u32, access: u32) -> u32 {
    (device_type << 16) | (access << 14) | (function << 2) | method
}

const fn kchan_ioctl(function: u32, access: u32) -> u32 {
    ctl_code(FILE_DEVICE_UNKNOWN, function, METHOD_BUFFERED, access)
}

/// Output: [`VersionInfo`]. Any access.
pub const IOCTL_VERSION: u32 = kchan_ioctl(0x800, FILE_ANY_ACCESS);
/// Input: [`crate::SubscribeConfig`]. Creates or reconfigures the handle's
/// subscriber. Read access: a handle that may only read the stream (every
/// user but SYSTEM and Administrators) can still choose what it reads.
pub const IOCTL_SUBSCRIBE: u32 = kchan_ioctl(0x801, FILE_READ_ACCESS);
/// The first code of `IOCTL_SUBSCRIBE` in protocol version 1, which asked
/// for write access. Drivers keep serving it as `IOCTL_SUBSCRIBE`, so
/// clients built against it keep working; new clients send
/// [`IOCTL_SUBSCRIBE`].
pub const IOCTL_SUBSCRIBE_WRITE_ACCESS: u32 = kchan_ioctl(0x801, FILE_WRITE_ACCESS);
/// Output: a batch ([`crate::BatchHeader`] + records). Pends until records are delivered.
pub const IOCTL_RECV: u32 = kchan_ioctl(0x802, FILE_READ_ACCESS);
/// Output: [`crate::StatsReply`].
pub const IOCTL_STATS: u32 = kchan_ioctl(0x803, FILE_READ_ACCESS);
/// Input: an inject message (see [`crate::inject`]). Publishes its records.
pub const IOCTL_INJECT: u32 = kchan_ioctl(0x804, FILE_WRITE_ACCESS);
/// Input: [`crate::GenConfig`]. Starts (or restarts) the kernel generator.
pub const IOCTL_GEN_START: u32 = kchan_ioctl(0x805, FILE_WRITE_ACCESS);
/// No input. Stops the kernel generator.
pub const IOCTL_GEN_STOP: u32 = kchan_ioctl(0x806, FILE_WRITE_ACCESS);

/// Version of this wire protocol. Bumped on any incompatible change; the
/// client checks it with [`IOCTL_VERSION`] and every versioned input carries it.
pub const PROTOCOL_VERSION: u32 = 1;
/// Magic at the start of [`VersionInfo`]: `"KCHN"` in little-endian.
pub const KCHAN_MAGIC: u32 = u32::from_le_bytes(*b"KCHN");

/// Largest record payload the protocol allows (a driver may advertise less).
pub const MAX_RECORD_PAYLOAD: u32 = 16 * 1024;
/// Default largest receive buffer the driver accepts.
pub const DEFAULT_MAX_BATCH_BYTES: u32 = 4 * 1024 * 1024;

/// Reply of [`IOCTL_VERSION`]: what a client needs to size its requests.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct VersionInfo {
    /// [`KCHAN_MAGIC`].
    pub magic: u32,
    /// [`PROTOCOL_VERSION`] of the driver.
    pub protocol_version: u32,
    /// Largest payload a published record may carry.
    pub max_record_payload: u32,
    /// Largest receive output buffer accepted.
    pub max_batch_bytes: u32,
    /// Smallest receive output buffer accepted (a batch header plus the largest record).
    pub min_recv_bytes: u32,
    /// Largest ring a subscriber may ask for, in bytes.
    pub max_ring_bytes: u32,
    /// Largest receives-in-flight limit K a subscriber may ask for.
    pub max_in_flight: u32,
    /// Largest inject message, in bytes.
    pub max_inject_bytes: u32,
}
const _: () = assert!(core::mem::size_of::<VersionInfo>() == 32);

impl VersionInfo {
    /// Validates a reply: size, magic and version.
    pub fn parse(buf: &[u8]) -> Result<VersionInfo, crate::ProtoError> {
        let (v, _) = VersionInfo::read_from_prefix(buf).map_err(|_| crate::ProtoError::BufferTooSmall)?;
        if v.magic != KCHAN_MAGIC || v.protocol_version != PROTOCOL_VERSION {
            return Err(crate::ProtoError::UnsupportedVersion);
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromZeros;

    #[test]
    fn ctl_code_matches_ddk() {
        // CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS) == 0x00222000
        assert_eq!(IOCTL_VERSION, 0x0022_2000);
        // CTL_CODE(0x22, 0x801, 0, FILE_WRITE_ACCESS) == 0x0022A004
        assert_eq!(IOCTL_SUBSCRIBE_WRITE_ACCESS, 0x0022_A004);
        // CTL_CODE(0x22, 0x801, 0, FILE_READ_ACCESS) == 0x00226004
        assert_eq!(IOCTL_SUBSCRIBE, 0x0022_6004);
        // CTL_CODE(0x22, 0x802, 0, FILE_READ_ACCESS) == 0x00226008
        assert_eq!(IOCTL_RECV, 0x0022_6008);
        assert_eq!(ctl_code(0x22, 0x803, 0, 1) & 3, METHOD_BUFFERED);
        assert_eq!((IOCTL_GEN_STOP >> 14) & 3, FILE_WRITE_ACCESS);
        assert_eq!((IOCTL_STATS >> 14) & 3, FILE_READ_ACCESS);
    }

    #[test]
    fn version_info_checks_magic() {
        let mut v = VersionInfo::new_zeroed();
        assert_eq!(VersionInfo::parse(&[0; 31]), Err(crate::ProtoError::BufferTooSmall));
        assert_eq!(VersionInfo::parse(v.as_bytes()), Err(crate::ProtoError::UnsupportedVersion));
        v.magic = KCHAN_MAGIC;
        v.protocol_version = PROTOCOL_VERSION;
        assert_eq!(VersionInfo::parse(v.as_bytes()), Ok(v));
    }
}
