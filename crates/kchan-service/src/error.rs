//! Why a service call failed, as one line for a person to read.

use crate::State;
use std::fmt;
use std::io;
use std::time::Duration;

/// The call on a service that failed, as a verb in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// `OpenServiceW`.
    Open,
    /// `QueryServiceStatus`.
    Query,
    /// `StartServiceW`.
    Start,
    /// `ControlService(SERVICE_CONTROL_STOP)`.
    Stop,
    /// `CreateServiceW`.
    Create,
    /// `DeleteService`.
    Delete,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Open => "open",
            Operation::Query => "query",
            Operation::Start => "start",
            Operation::Stop => "stop",
            Operation::Create => "create",
            Operation::Delete => "delete",
        })
    }
}

/// A failed service call. `Display` gives one line that names the service
/// and, for a system error, the system's own words.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `OpenSCManagerW` failed: most often the caller is not an
    /// administrator.
    Manager(io::Error),
    /// No service of this name is installed.
    NotInstalled {
        /// The service's name.
        service: String,
    },
    /// A call on the service failed.
    Service {
        /// The service's name.
        service: String,
        /// What was asked.
        operation: Operation,
        /// The system's error (`GetLastError`).
        source: io::Error,
    },
    /// The service did not reach a state in time.
    Timeout {
        /// The service's name.
        service: String,
        /// The state waited for.
        state: State,
        /// How long it was waited for.
        timeout: Duration,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Manager(e) => write!(f, "cannot open the service manager (run as an administrator): {e}"),
            Error::NotInstalled { service } => write!(f, "the {service} service is not installed"),
            Error::Service { service, operation, source } => {
                write!(f, "cannot {operation} the {service} service: {source}")
            }
            Error::Timeout { service, state, timeout } => {
                write!(f, "the {service} service did not {} within {} s", state.verb(), timeout.as_secs())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Manager(e) | Error::Service { source: e, .. } => Some(e),
            Error::NotInstalled { .. } | Error::Timeout { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied() -> io::Error {
        io::Error::from(io::ErrorKind::PermissionDenied)
    }

    #[test]
    fn each_error_is_one_line_naming_the_service() {
        let service = || "kchan".to_string();
        let cases = [
            (Error::Manager(denied()), "cannot open the service manager (run as an administrator): "),
            (Error::NotInstalled { service: service() }, "the kchan service is not installed"),
            (
                Error::Service { service: service(), operation: Operation::Start, source: denied() },
                "cannot start the kchan service: ",
            ),
            (
                Error::Service { service: service(), operation: Operation::Delete, source: denied() },
                "cannot delete the kchan service: ",
            ),
            (
                Error::Timeout { service: service(), state: State::Stopped, timeout: Duration::from_secs(10) },
                "the kchan service did not stop within 10 s",
            ),
            (
                Error::Timeout { service: service(), state: State::Running, timeout: Duration::from_secs(20) },
                "the kchan service did not start within 20 s",
            ),
        ];
        for (error, start) in cases {
            let text = error.to_string();
            assert!(text.starts_with(start), "{text}");
            assert!(!text.contains('\n'), "{text}");
        }
    }

    #[test]
    fn the_system_error_is_the_source() {
        use std::error::Error as _;
        let e = Error::Service { service: "s".into(), operation: Operation::Stop, source: denied() };
        assert_eq!(e.source().map(|s| s.to_string()), Some(denied().to_string()));
        assert!(Error::NotInstalled { service: "s".into() }.source().is_none());
    }
}
