//! `kchan`: watch, feed and manage the kchan driver.
//!
//! - `kchan monitor` subscribes and shows events/s, drops, gaps, latency and
//!   events per completion, live, then a summary.
//! - `kchan tail` prints the events themselves, as text or NDJSON for log
//!   shippers, with a line where events were lost.
//! - `kchan stats`, `kchan inject`, `kchan gen` talk to a running driver.
//! - `kchan driver install|start|stop|uninstall|status` manages a driver
//!   service through the Service Control Manager, the same on Windows and
//!   under Wine.
//!
//! Every command reaches `\\.\kchan` unless `--device NAME` names another
//! driver built on kchan (same protocol, its own device name).
//!
//! Argument parsing, the monitor's numbers and tail's lines are portable
//! (tested on any OS); everything that touches the driver is Windows-only.

#[cfg(windows)]
mod commands;
#[cfg(windows)]
mod ctrl_c;
mod kinds;
#[cfg_attr(not(windows), allow(dead_code))] // tail, which uses it, is Windows-only
mod lines;
#[cfg(windows)]
mod monitor;
mod names;
#[cfg(windows)]
mod service;
#[cfg(windows)]
mod tail;
#[cfg_attr(not(windows), allow(dead_code))] // the monitor that uses it is Windows-only
mod view;
#[cfg_attr(not(windows), allow(dead_code))] // tail, which uses it, is Windows-only
mod wallclock;

use clap::{Parser, Subcommand};
use names::DeviceName;
use std::path::PathBuf;

/// Stream events from the kchan kernel driver.
#[derive(Parser, Debug)]
#[command(name = "kchan", version, about)]
pub struct Cli {
    /// The kchan device: NAME or \\.\NAME, for any driver built on kchan.
    #[arg(long, global = true, default_value = names::DEFAULT_DEVICE, value_parser = names::parse_device)]
    device: DeviceName,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Live view of the event stream: rate, drops, gaps, latency.
    Monitor(MonitorArgs),
    /// The events themselves from now on, as text or NDJSON (`--json`).
    Tail(TailArgs),
    /// The driver's counters (channel and this handle's subscriber).
    Stats {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Publish events through the driver.
    Inject(InjectArgs),
    /// Run the driver's event generator.
    Gen(GenArgs),
    /// Install, start, stop, uninstall the driver service, or show its status.
    Driver {
        #[command(subcommand)]
        action: DriverAction,
    },
}

/// Options of `kchan monitor`.
#[derive(clap::Args, Debug)]
pub struct MonitorArgs {
    /// Kinds to receive, e.g. `0,3,8-11` (default: all).
    #[arg(long, value_parser = kinds::parse_kinds)]
    kinds: Option<u64>,
    /// One JSON object per line on stdout, then a summary object.
    #[arg(long)]
    json: bool,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    seconds: Option<f64>,
    /// Start the driver's generator at this rate (events/s, 0 = flat out)
    /// for the duration of the monitor.
    #[arg(long)]
    gen_rate: Option<u32>,
    /// Payload bytes of generated events.
    #[arg(long, default_value_t = 32)]
    gen_size: u32,
    /// Receives kept in flight (the subscriber's limit K; the driver says
    /// how many it allows).
    #[arg(long = "in-flight", value_name = "K", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(kchan::proto::MAX_IN_FLIGHT)))]
    max_in_flight: u32,
    /// Refreshes per second.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100))]
    refresh: u32,
}

/// Options of `kchan tail`.
#[derive(clap::Args, Debug)]
pub struct TailArgs {
    /// Kinds to receive, e.g. `0,3,8-11` (default: all).
    #[arg(long, value_parser = kinds::parse_kinds)]
    kinds: Option<u64>,
    /// One JSON object per event or gap (NDJSON, schema `"v": 1`).
    #[arg(long)]
    json: bool,
    /// Stop after this many events.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long, value_parser = kinds::parse_seconds)]
    seconds: Option<f64>,
    /// Text mode: payload bytes shown before the cut.
    #[arg(long, default_value_t = 256, conflicts_with = "json")]
    max_bytes: usize,
    /// The driver's ring for this subscriber, in bytes (`64K`, `4M`...;
    /// default: the client library's 4 MiB).
    #[arg(long, value_parser = kinds::parse_ring_bytes)]
    ring_bytes: Option<u32>,
}

/// Options of `kchan inject`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("payload").required(true).args(["data", "file"])))]
pub struct InjectArgs {
    /// Kind of the events, 0 to 63 (`kchan::proto::MAX_KIND`).
    #[arg(long, value_parser = kinds::parse_kind)]
    kind: u16,
    /// Payload: text, or `hex:0a0b...` for bytes.
    #[arg(long, value_parser = kinds::parse_data)]
    data: Option<kinds::Payload>,
    /// Payload read from a file.
    #[arg(long)]
    file: Option<PathBuf>,
    /// How many copies to publish.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    count: u32,
}

/// Options of `kchan gen`.
#[derive(clap::Args, Debug)]
pub struct GenArgs {
    /// Events per second (0 = as fast as possible).
    #[arg(long)]
    rate: Option<u32>,
    /// Payload bytes per event.
    #[arg(long, default_value_t = 32)]
    size: u32,
    /// Events per wake-up of the generator thread.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    burst: u32,
    /// Kind of the generated events.
    #[arg(long, default_value_t = 0, value_parser = kinds::parse_kind)]
    kind: u16,
    /// Run this long, then stop the generator (default: leave it running).
    #[arg(long)]
    seconds: Option<f64>,
    /// Stop the generator instead of starting it.
    #[arg(long, conflicts_with_all = ["rate", "seconds"])]
    stop: bool,
}

#[derive(Subcommand, Debug, Clone)]
enum DriverAction {
    /// Create a kernel-driver service for a kchan driver image and start it.
    Install(InstallArgs),
    /// Start the service.
    Start(ServiceArgs),
    /// Stop the service (the driver unloads).
    Stop(ServiceArgs),
    /// Stop and delete the service.
    Uninstall(ServiceArgs),
    /// Whether the service runs and the device (`--device`) opens.
    Status(ServiceArgs),
}

/// Options of `kchan driver install`.
#[derive(clap::Args, Debug, Clone)]
pub struct InstallArgs {
    /// The driver image (default: kchan.sys next to this program, else in
    /// system32\drivers).
    #[arg(long, value_name = "FILE.sys")]
    sys: Option<PathBuf>,
    /// The service name (default: the image's file name without `.sys`,
    /// so `kchan` for kchan.sys).
    #[arg(long, value_parser = names::parse_service)]
    service: Option<String>,
}

/// The service a `kchan driver` action applies to.
#[derive(clap::Args, Debug, Clone)]
pub struct ServiceArgs {
    /// The service name.
    #[arg(long, default_value = names::DEFAULT_SERVICE, value_parser = names::parse_service)]
    service: String,
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            eprintln!("kchan: {} (see `kchan --help`)", one_line(&e.to_string()));
            std::process::exit(2);
        }
    };
    if let Err(message) = run(cli) {
        eprintln!("kchan: {message}");
        std::process::exit(1);
    }
}

/// Clap's error as one line, without its `error: ` prefix: its first
/// paragraph (which names what is wrong, and for missing arguments lists
/// them on the lines below), joined. Bad arguments get one line.
fn one_line(message: &str) -> String {
    let paragraph: Vec<&str> = message.lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
    let joined = paragraph.join(" ");
    joined.strip_prefix("error: ").unwrap_or(&joined).to_string()
}

#[cfg(windows)]
fn run(cli: Cli) -> Result<(), String> {
    let device = &cli.device;
    match cli.command {
        Command::Monitor(args) => monitor::run(args, device),
        Command::Tail(args) => tail::run(args, device),
        Command::Stats { json } => commands::stats(device, json),
        Command::Inject(args) => commands::inject(device, args),
        Command::Gen(args) => commands::gen(device, args),
        Command::Driver { action } => service::run(action, device),
    }
}

#[cfg(not(windows))]
fn run(_cli: Cli) -> Result<(), String> {
    Err("kchan talks to a Windows driver; run it on Windows (or under Wine)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, String> {
        Cli::try_parse_from(std::iter::once("kchan").chain(args.iter().copied())).map_err(|e| e.to_string())
    }

    #[test]
    fn good_arguments_parse() {
        assert!(parse(&["monitor", "--kinds", "0,2-3", "--json", "--seconds", "2"]).is_ok());
        assert!(parse(&["inject", "--kind", "3", "--data", "hello"]).is_ok());
        assert!(parse(&["gen", "--rate", "1000", "--size", "64", "--burst", "4", "--seconds", "1"]).is_ok());
        assert!(parse(&["gen", "--stop"]).is_ok());
        assert!(parse(&["driver", "status"]).is_ok());
        assert!(parse(&["tail", "--kinds", "6", "--json", "--count", "3", "--seconds", "0.5", "--ring-bytes", "32K"])
            .is_ok());
        assert!(parse(&["tail", "--max-bytes", "16"]).is_ok());
    }

    #[test]
    fn every_command_takes_a_device_before_or_after_it() {
        let cli = parse(&["stats"]).unwrap();
        assert_eq!(cli.device.path(), r"\\.\kchan");
        for args in [&["--device", "mydrv", "stats"][..], &["stats", "--device", r"\\.\mydrv"][..]] {
            assert_eq!(parse(args).unwrap().device.path(), r"\\.\mydrv", "{args:?}");
        }
        for command in [&["monitor"][..], &["tail"], &["inject", "--kind", "1", "--data", "x"], &["gen", "--stop"]] {
            let args: Vec<&str> = command.iter().copied().chain(["--device", "other"]).collect();
            assert_eq!(parse(&args).unwrap().device.name(), "other", "{args:?}");
        }
        assert!(parse(&["driver", "status", "--device", "other"]).is_ok());
        let e = one_line(&parse(&["tail", "--device", "C:"]).unwrap_err());
        assert!(e.contains("not a device name") && !e.contains('\n'), "{e}");
    }

    #[test]
    fn driver_actions_take_a_service_and_install_an_image() {
        let Command::Driver { action: DriverAction::Install(args) } = parse(&["driver", "install"]).unwrap().command
        else {
            panic!("install parses");
        };
        assert!(args.sys.is_none() && args.service.is_none(), "defaults are decided at run time");
        let cli = parse(&["driver", "install", "--sys", r"C:\drivers\my.sys", "--service", "my"]).unwrap();
        let Command::Driver { action: DriverAction::Install(args) } = cli.command else { panic!("install") };
        assert_eq!(args.sys.unwrap(), PathBuf::from(r"C:\drivers\my.sys"));
        assert_eq!(args.service.as_deref(), Some("my"));
        for action in ["start", "stop", "uninstall", "status"] {
            let Command::Driver { action: a } = parse(&["driver", action]).unwrap().command else { panic!() };
            let (DriverAction::Start(s) | DriverAction::Stop(s) | DriverAction::Uninstall(s) | DriverAction::Status(s)) =
                a
            else {
                panic!("{action} takes a service")
            };
            assert_eq!(s.service, "kchan");
            let Command::Driver { action: a } = parse(&["driver", action, "--service", "x"]).unwrap().command else {
                panic!()
            };
            assert!(format!("{a:?}").contains("\"x\""), "{action}: {a:?}");
        }
        assert!(one_line(&parse(&["driver", "stop", "--service", r"a\b"]).unwrap_err()).contains("not a service name"));
    }

    #[test]
    fn bad_tail_values_name_the_fix() {
        assert!(parse(&["tail", "--count", "0"]).is_err());
        assert!(parse(&["tail", "--seconds", "0"]).unwrap_err().contains("positive number"));
        assert!(parse(&["tail", "--seconds=-1"]).unwrap_err().contains("positive number"));
        assert!(parse(&["tail", "--ring-bytes", "1001"]).unwrap_err().contains("multiple of 8"));
        assert!(parse(&["tail", "--json", "--max-bytes", "8"]).unwrap_err().contains("cannot be used with"));
        assert!(parse(&["tail", "--kinds", "64"]).unwrap_err().contains("0 to 63"));
    }

    #[test]
    fn errors_are_shown_on_one_line() {
        let e = parse(&["monitor", "--kinds", "99"]).unwrap_err();
        assert!(e.lines().count() > 1, "clap's own message spans lines");
        let line = one_line(&e);
        assert!(line.contains("0 to 63") && !line.starts_with("error:"), "{line}");
        let missing = one_line(&parse(&["inject", "--kind", "1"]).unwrap_err());
        assert!(missing.contains("not provided") && missing.contains("--data"), "{missing}");
    }

    #[test]
    fn bad_arguments_name_the_fix() {
        assert!(parse(&["monitor", "--kinds", "99"]).unwrap_err().contains("0 to 63"));
        assert!(parse(&["inject", "--kind", "1"]).unwrap_err().contains("--data"));
        assert!(parse(&["inject", "--kind", "1", "--data", "hex:0"]).unwrap_err().contains("even number"));
        assert!(parse(&["monitor", "--in-flight", "0"]).is_err());
        let max = kchan::proto::MAX_IN_FLIGHT;
        assert!(parse(&["monitor", "--in-flight", &max.to_string()]).is_ok(), "the protocol's bound");
        assert!(parse(&["monitor", "--in-flight", &(max + 1).to_string()]).is_err());
        assert!(parse(&["driver", "explode"]).is_err());
    }
}
