//! Benchmark reporting, all of it: the JSON line one measurement prints
//! ([`run`]), the document a whole benchmark assembles from those lines
//! ([`document`]), the contract CI checks and the targets ([`contract`]),
//! its tables and the generated part
//! of `docs/benchmarks.md` ([`text`]) and its charts ([`chart`], with the
//! `chart` feature). Portable and tested on any OS: `kchan-bench.exe`
//! produces the lines under Windows or Wine, `cargo xtask bench` assembles
//! and renders them on the host.
//!
//! The names below are what a full run measures, in table order.

pub mod contract;
pub mod document;
pub mod run;
pub mod text;

#[cfg(feature = "chart")]
pub mod chart;

/// Payload sizes every mode runs with.
pub const PAYLOADS: [u32; 2] = [32, 256];
/// Sources, in table order: the driver's generator flat out (drops when the
/// ring is full), the generator waiting for room (never drops), and the
/// injector process.
pub const SOURCES: [&str; 3] = ["gen", "gen-wait", "inject"];
/// Sources the latency runs use (a waiting source only differs flat out).
pub const LATENCY_SOURCES: [&str; 2] = ["gen", "inject"];
/// Modes, in table order (names of the contract).
pub const MODES: [&str; 4] = ["seed-sync", "seed-overlapped", "kchan-k1", "kchan-k8"];
/// The rate of the latency table, events/s.
pub const LATENCY_RATE: u32 = 10_000;
/// Fixed rates of the latency-vs-rate sweep (with the generator); each mode
/// also runs at half its own highest rate. The seeds top out at a few
/// thousand events/s, so they run only where they can keep up or just
/// cannot ([`sweep_rates`]).
pub const SWEEP_RATES: [u32; 3] = [1_000, LATENCY_RATE, 100_000];

/// The zero-drop runs' two rings: the one every mode has ([`RING_DEFAULT`],
/// `--ring-bytes`), and one that holds [`ZERO_DROP_RING_MS`] of records at
/// the run's rate ([`RING_IN_TIME`], `--ring-ms`).
pub const RING_DEFAULT: &str = "default";
/// See [`RING_DEFAULT`].
pub const RING_IN_TIME: &str = "250 ms";
/// Milliseconds of records the ring sized in time holds.
pub const ZERO_DROP_RING_MS: u32 = 250;

/// True for the seed's designs (one event per IOCTL).
pub fn is_seed(mode: &str) -> bool {
    mode.starts_with("seed-")
}

/// The fixed sweep rates a mode runs at.
pub fn sweep_rates(mode: &str) -> &'static [u32] {
    if is_seed(mode) {
        &SWEEP_RATES[..2]
    } else {
        &SWEEP_RATES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_in_time_is_named_by_its_milliseconds() {
        assert_eq!(RING_IN_TIME, format!("{ZERO_DROP_RING_MS} ms"));
        assert_eq!(sweep_rates("seed-sync"), [1_000, LATENCY_RATE]);
        assert_eq!(sweep_rates("kchan-k8"), SWEEP_RATES);
    }
}
