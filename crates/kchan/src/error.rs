//! The client's one error type.

use kchan_proto::ProtoError;
use std::fmt;

/// What can go wrong talking to the kchan driver. Every message says what to
/// do about it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `\\.\kchan` does not exist: the driver is not installed or not running.
    DriverNotLoaded,
    /// The device exists but this process may not open it.
    AccessDenied,
    /// The driver speaks another protocol version than this client.
    VersionMismatch {
        /// The driver's protocol version (0 if its reply was unreadable).
        driver: u32,
        /// This client's protocol version.
        client: u32,
    },
    /// The driver refused a request.
    Request {
        /// Which request, e.g. `"subscribe"`.
        what: &'static str,
        /// The NTSTATUS the driver completed it with.
        ntstatus: i32,
    },
    /// The driver's reply did not parse (a driver bug or a mismatched build).
    Protocol(ProtoError),
    /// This device handle already has a subscription (one per handle: the
    /// handle is bound to the subscription's completion port for good).
    AlreadySubscribed,
    /// An operating-system call failed.
    Io(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::DriverNotLoaded => {
                write!(f, "the kchan driver is not running (no \\\\.\\kchan); install and start it with `kchan driver install`")
            }
            Error::AccessDenied => write!(f, "access to \\\\.\\kchan denied; run as an administrator"),
            Error::VersionMismatch { driver, client } => write!(
                f,
                "the kchan driver speaks protocol {driver}, this client {client}; install the driver built with this client"
            ),
            Error::Request { what, ntstatus } => {
                write!(f, "the driver refused {what}: NTSTATUS {:#010x} ({})", *ntstatus as u32, status_name(*ntstatus))
            }
            Error::Protocol(e) => write!(f, "malformed reply from the driver: {e:?}"),
            Error::AlreadySubscribed => write!(f, "this device handle already has a subscription; open another Device"),
            Error::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<ProtoError> for Error {
    fn from(e: ProtoError) -> Self {
        Error::Protocol(e)
    }
}

/// A short name for the NTSTATUS values kchan's driver uses.
pub fn status_name(status: i32) -> &'static str {
    use kchan_proto::*;
    match status {
        STATUS_SUCCESS => "STATUS_SUCCESS",
        STATUS_CANCELLED => "STATUS_CANCELLED",
        STATUS_BUFFER_TOO_SMALL => "STATUS_BUFFER_TOO_SMALL",
        STATUS_INVALID_PARAMETER => "STATUS_INVALID_PARAMETER",
        STATUS_REVISION_MISMATCH => "STATUS_REVISION_MISMATCH",
        STATUS_NOT_SUPPORTED => "STATUS_NOT_SUPPORTED",
        STATUS_INSUFFICIENT_RESOURCES => "STATUS_INSUFFICIENT_RESOURCES",
        STATUS_INVALID_DEVICE_STATE => "STATUS_INVALID_DEVICE_STATE",
        STATUS_INVALID_DEVICE_REQUEST => "STATUS_INVALID_DEVICE_REQUEST",
        _ => "unknown status",
    }
}

/// Result with the client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
