//! Command-line arguments of `kchan-bench` (portable, tested on any OS).
//!
//! One invocation is one measurement:
//! - `run`: one consumer design (`--mode`) against one source (`--source`)
//!   at one rate, for `--seconds` after a warm-up;
//! - `control`: `IOCTL_STATS` round trips on a kchan-k8 handle, idle and
//!   while the generator runs flat out;
//! - `inject`: the user-mode source that `run --source inject` spawns, a
//!   process of its own so that the consumer's CPU time is its own.

use clap::{Parser, Subcommand, ValueEnum};

/// Measure kchan's consumers against the seed's, one run at a time.
#[derive(Parser, Debug)]
#[command(name = "kchan-bench", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The measurements (and the injector).
#[derive(Subcommand, Debug)]
pub enum Command {
    /// One consumer design against one source at one rate; prints one JSON line.
    Run(RunArgs),
    /// Control-plane latency: IOCTL_STATS round trips, idle and loaded; one JSON line.
    Control(ControlArgs),
    /// Publish events through IOCTL_INJECT at a rate (the user-mode source).
    Inject(InjectArgs),
}

/// A consumer design.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Handle without FILE_FLAG_OVERLAPPED, blocking DeviceIoControl loop, one event per IOCTL.
    SeedSync,
    /// Overlapped handle, one OVERLAPPED with an event, GetOverlappedResult(wait), one event per IOCTL.
    SeedOverlapped,
    /// kchan subscription, 1 receive in flight, batched.
    KchanK1,
    /// kchan subscription, 8 receives in flight on a completion port, batched.
    KchanK8,
}

impl Mode {
    /// The name used in JSON and tables (`seed-sync`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Mode::SeedSync => "seed-sync",
            Mode::SeedOverlapped => "seed-overlapped",
            Mode::KchanK1 => "kchan-k1",
            Mode::KchanK8 => "kchan-k8",
        }
    }

    /// True for the seed's designs (one event per IOCTL).
    pub fn is_seed(self) -> bool {
        matches!(self, Mode::SeedSync | Mode::SeedOverlapped)
    }

    /// Receives kept in flight (the subscriber's limit K).
    pub fn max_in_flight(self) -> u32 {
        match self {
            Mode::KchanK8 => 8,
            _ => 1,
        }
    }
}

/// Where events come from.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The driver's generator thread (IOCTL_GEN_START).
    Gen,
    /// A separate `kchan-bench inject` process (IOCTL_INJECT in batches).
    Inject,
}

impl Source {
    /// The name used in JSON and tables.
    pub fn name(self) -> &'static str {
        match self {
            Source::Gen => "gen",
            Source::Inject => "inject",
        }
    }
}

/// The completion policy a kchan consumer subscribes with.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Complete as soon as one record waits.
    Immediate,
    /// Hold completions until the consumer re-posts (or max delay): the default.
    Adaptive,
}

/// Options of `kchan-bench run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// The consumer design.
    #[arg(long, value_enum)]
    pub mode: Mode,
    /// The event source.
    #[arg(long, value_enum, default_value = "gen")]
    pub source: Source,
    /// Events per second; 0 = as fast as the source goes.
    #[arg(long, default_value_t = 0)]
    pub rate: u32,
    /// Payload bytes per event.
    #[arg(long, default_value_t = 32)]
    pub size: u32,
    /// Seconds measured (after the warm-up).
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Seconds of warm-up after the first event, not measured.
    #[arg(long, default_value_t = 0.5)]
    pub warmup: f64,
    /// Bytes of each receive buffer of the kchan modes.
    #[arg(long, default_value_t = 256 * 1024)]
    pub buffer_bytes: usize,
    /// Completion policy of the kchan modes.
    #[arg(long, value_enum, default_value = "adaptive")]
    pub policy: Policy,
    /// Driver ring bytes of the consumer's subscriber (default: the driver's default ring).
    #[arg(long)]
    pub ring_bytes: Option<u32>,
    /// Generator events per wake-up (default: 1 up to 10k/s, then rate/10k; 256 flat out).
    #[arg(long)]
    pub burst: Option<u32>,
    /// Receives in flight of the kchan modes, instead of the mode's 1 or 8
    /// (experiments; the driver says how many it allows).
    #[arg(long = "in-flight", value_name = "K", value_parser = clap::value_parser!(u32).range(1..=i64::from(kchan_proto::MAX_IN_FLIGHT)))]
    pub max_in_flight: Option<u32>,
}

impl RunArgs {
    /// Receives kept in flight: the mode's, unless `--in-flight` says otherwise.
    pub fn max_in_flight(&self) -> u32 {
        if self.mode.is_seed() {
            1
        } else {
            self.max_in_flight.unwrap_or(self.mode.max_in_flight())
        }
    }
}

/// Options of `kchan-bench control`.
#[derive(clap::Args, Debug, Clone)]
pub struct ControlArgs {
    /// The load: the driver's generator or the injector process, flat out.
    #[arg(long, value_enum, default_value = "gen")]
    pub source: Source,
    /// Payload bytes of the load.
    #[arg(long, default_value_t = 32)]
    pub size: u32,
    /// Round trips measured in each phase (idle, loaded).
    #[arg(long, default_value_t = 1000)]
    pub samples: u32,
    /// Pause between two round trips, in microseconds.
    #[arg(long, default_value_t = 1000)]
    pub interval_us: u64,
    /// Bytes of each receive buffer.
    #[arg(long, default_value_t = 256 * 1024)]
    pub buffer_bytes: usize,
}

/// Options of `kchan-bench inject`.
#[derive(clap::Args, Debug, Clone)]
pub struct InjectArgs {
    /// Events per second; 0 = as fast as IOCTL_INJECT goes.
    #[arg(long, default_value_t = 0)]
    pub rate: u32,
    /// Payload bytes per event.
    #[arg(long, default_value_t = 32)]
    pub size: u32,
    /// Stop after this many seconds (the parent usually ends it earlier).
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Kind of the injected events.
    #[arg(long, default_value_t = 0)]
    pub kind: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_run() {
        let cli = Cli::try_parse_from([
            "kchan-bench",
            "run",
            "--mode",
            "kchan-k8",
            "--source",
            "inject",
            "--rate",
            "10000",
            "--size",
            "256",
        ])
        .unwrap();
        let Command::Run(a) = cli.command else { panic!("not a run") };
        assert_eq!(a.mode, Mode::KchanK8);
        assert_eq!(a.source, Source::Inject);
        assert_eq!((a.rate, a.size), (10_000, 256));
        assert_eq!(a.policy, Policy::Adaptive);
        assert_eq!(a.ring_bytes, None);
    }

    #[test]
    fn mode_names_match_the_contract() {
        const ALL: [Mode; 4] = [Mode::SeedSync, Mode::SeedOverlapped, Mode::KchanK1, Mode::KchanK8];
        let names: Vec<_> = ALL.iter().map(|m| m.name()).collect();
        assert_eq!(names, ["seed-sync", "seed-overlapped", "kchan-k1", "kchan-k8"]);
        for m in ALL {
            // clap's value names are the contract's names.
            assert_eq!(m.to_possible_value().unwrap().get_name(), m.name());
        }
        assert_eq!(Mode::KchanK8.max_in_flight(), 8);
    }

    #[test]
    fn rejects_unknown_modes() {
        assert!(Cli::try_parse_from(["kchan-bench", "run", "--mode", "seed"]).is_err());
        assert!(Cli::try_parse_from(["kchan-bench", "inject", "--rate", "-1"]).is_err());
    }
}
