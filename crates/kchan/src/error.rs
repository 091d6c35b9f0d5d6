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
    /// A subscribe option outside the limits the driver advertises
    /// (`VersionInfo`), refused before anything was sent.
    OutOfRange {
        /// What, e.g. `"receives in flight"`.
        what: &'static str,
        /// The value asked for.
        value: u64,
        /// The smallest value the driver accepts.
        min: u64,
        /// The largest value the driver accepts.
        max: u64,
    },
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
            Error::OutOfRange { what, value, min, max } => {
                write!(f, "{what} must be {min} to {max} (the driver's limits), not {value}")
            }
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

/// The name of an NTSTATUS kchan's driver completes requests with
/// (`"unknown status"` for any other).
pub fn status_name(status: i32) -> &'static str {
    kchan_proto::status_name(status).unwrap_or("unknown status")
}

impl Error {
    /// The error of request `what` that failed as `failure` says.
    #[cfg_attr(not(any(windows, test)), allow(dead_code))]
    pub(crate) fn request(what: &'static str, failure: crate::sys::Failure) -> Error {
        match failure {
            crate::sys::Failure::Status(ntstatus) => Error::Request { what, ntstatus },
            crate::sys::Failure::Os(e) => Error::Io(e),
        }
    }
}

/// Result with the client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_the_driver_returns_has_its_name_in_messages() {
        for (status, name) in kchan_proto::STATUS_NAMES {
            let e = Error::Request { what: "stats", ntstatus: status };
            assert!(e.to_string().contains(name), "{e}");
        }
        assert_eq!(status_name(0x1234), "unknown status");
    }

    #[test]
    fn a_value_out_of_range_names_the_limit_on_one_line() {
        let e = Error::OutOfRange { what: "receives in flight", value: 100, min: 1, max: 64 };
        let text = e.to_string();
        assert_eq!(text, "receives in flight must be 1 to 64 (the driver's limits), not 100");
        assert_eq!(text.lines().count(), 1);
    }
}
