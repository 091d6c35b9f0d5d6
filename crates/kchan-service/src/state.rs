//! A service's current state, as `QueryServiceStatus` reports it.

/// `SERVICE_STATUS::dwCurrentState`. A kernel driver is only ever seen
/// stopped or running, or briefly pending while the kernel loads or unloads
/// it; the pause states are for Win32 services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// `SERVICE_STOPPED`: not loaded.
    Stopped,
    /// `SERVICE_START_PENDING`.
    StartPending,
    /// `SERVICE_STOP_PENDING`: for a legacy driver, its unload waits for
    /// the last reference to its devices (Windows; Wine unloads at once).
    StopPending,
    /// `SERVICE_RUNNING`: loaded, `DriverEntry` succeeded.
    Running,
    /// Any other value (`SERVICE_PAUSED` and its pending states).
    Other(u32),
}

impl State {
    /// The state of a `dwCurrentState` value.
    pub fn from_raw(raw: u32) -> State {
        match raw {
            1 => State::Stopped,
            2 => State::StartPending,
            3 => State::StopPending,
            4 => State::Running,
            other => State::Other(other),
        }
    }

    /// What reaching this state is called in messages ("did not stop").
    pub(crate) fn verb(self) -> &'static str {
        match self {
            State::Stopped => "stop",
            State::Running => "start",
            State::StartPending | State::StopPending | State::Other(_) => "reach the state asked for",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_are_the_service_managers() {
        let all = [State::Stopped, State::StartPending, State::StopPending, State::Running];
        for (raw, state) in (1..).zip(all) {
            assert_eq!(State::from_raw(raw), state);
        }
        assert_eq!(State::from_raw(7), State::Other(7));
    }
}
