//! Wall-clock time for the driver's timestamps.
//!
//! The driver stamps each record with the performance counter in 100 ns
//! ticks ([`kchan::clock`]), which has no calendar meaning. `kchan tail`
//! reads the counter and the system time together (a [`Reference`]) and
//! maps a stamp to `reference.time + (stamp - reference.ticks)`. The pair is
//! re-read every second so the two clocks' drift (a counter against an
//! NTP-disciplined system time: tens of ppm) stays within tens of
//! microseconds; a time shown never goes backwards, even when a new pair
//! moves the mapping back a little (see `docs/shipping.md` for the accuracy).
//!
//! The mapping is portable (tested on the host); reading the pair is
//! Windows-only.

use std::time::{Duration, SystemTime};

/// The performance counter and the system time, read at (nearly) the same
/// moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    /// The counter, in 100 ns ticks.
    pub ticks: u64,
    /// The system time at `ticks`.
    pub time: SystemTime,
}

/// Maps counter stamps to wall-clock time through the latest [`Reference`].
#[derive(Debug, Clone)]
pub struct WallClock {
    reference: Reference,
    /// The latest time handed out: later ones are never earlier.
    last: SystemTime,
}

impl WallClock {
    /// A clock mapped through `reference`.
    pub fn new(reference: Reference) -> WallClock {
        WallClock { reference, last: SystemTime::UNIX_EPOCH }
    }

    /// Maps through a fresher pair from now on.
    pub fn refresh(&mut self, reference: Reference) {
        self.reference = reference;
    }

    /// The wall-clock time of a counter stamp; never earlier than the time
    /// this clock last returned.
    pub fn time_of(&mut self, ticks: u64) -> SystemTime {
        let r = self.reference;
        let mapped = if ticks >= r.ticks {
            r.time.checked_add(ticks_to_duration(ticks - r.ticks))
        } else {
            r.time.checked_sub(ticks_to_duration(r.ticks - ticks))
        }
        .unwrap_or(r.time);
        self.last = self.last.max(mapped);
        self.last
    }
}

fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_nanos(ticks.saturating_mul(100))
}

/// Reads the counter and the system time together: of three tries, the one
/// whose two counter reads are closest, with the counter's midpoint.
#[cfg(windows)]
pub fn sample() -> Reference {
    let mut best: Option<(u64, Reference)> = None;
    for _ in 0..3 {
        let before = kchan::clock::now_ticks();
        let time = SystemTime::now();
        let after = kchan::clock::now_ticks();
        let width = after.saturating_sub(before);
        let reference = Reference { ticks: before + width / 2, time };
        if best.is_none_or(|(w, _)| width < w) {
            best = Some((width, reference));
        }
    }
    best.expect("three tries").1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn stamps_map_through_the_reference() {
        let mut clock = WallClock::new(Reference { ticks: 50_000_000, time: at(1_000) });
        assert_eq!(clock.time_of(50_000_000), at(1_000));
        assert_eq!(clock.time_of(50_000_010), at(1_000) + Duration::from_micros(1));
        assert_eq!(clock.time_of(60_000_000), at(1_001));
    }

    #[test]
    fn stamps_before_the_reference_map_back_but_never_below_what_was_shown() {
        let mut fresh = WallClock::new(Reference { ticks: 50_000_000, time: at(1_000) });
        assert_eq!(fresh.time_of(40_000_000), at(999), "a record published before the pair was read");
        let mut clock = WallClock::new(Reference { ticks: 50_000_000, time: at(1_000) });
        assert_eq!(clock.time_of(60_000_000), at(1_001));
        // A fresh pair says the counter ran 1 ms fast: the mapping moves back,
        // what is shown does not.
        clock.refresh(Reference { ticks: 60_000_000, time: at(1_001) - Duration::from_millis(1) });
        assert_eq!(clock.time_of(60_000_010), at(1_001));
        assert_eq!(clock.time_of(60_020_000), at(1_001) + Duration::from_millis(1));
    }
}
