//! `kchan`: watch, feed and manage the kchan driver.
//!
//! - `kchan monitor` subscribes and shows events/s, drops, gaps, latency and
//!   events per completion, live, then a summary.
//! - `kchan stats`, `kchan inject`, `kchan gen` talk to a running driver.
//! - `kchan driver install|start|stop|uninstall|status` manages the service
//!   through the Service Control Manager, the same on Windows and under Wine.
//!
//! Argument parsing and the monitor's numbers are portable (tested on any
//! OS); everything that touches the driver is Windows-only.

#[cfg(windows)]
mod commands;
mod kinds;
#[cfg(windows)]
mod monitor;
#[cfg(windows)]
mod service;
#[cfg_attr(not(windows), allow(dead_code))] // the monitor that uses it is Windows-only
mod view;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Stream events from the kchan kernel driver.
#[derive(Parser, Debug)]
#[command(name = "kchan", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Live view of the event stream: rate, drops, gaps, latency.
    Monitor(MonitorArgs),
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

#[derive(Subcommand, Debug, Clone, Copy)]
enum DriverAction {
    /// Create the kchan service for kchan.sys (next to this program, or in
    /// system32\drivers) and start it.
    Install,
    /// Start the service.
    Start,
    /// Stop the service (the driver unloads).
    Stop,
    /// Stop and delete the service.
    Uninstall,
    /// Whether the service runs and \\.\kchan opens.
    Status,
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
    match cli.command {
        Command::Monitor(args) => monitor::run(args),
        Command::Stats { json } => commands::stats(json),
        Command::Inject(args) => commands::inject(args),
        Command::Gen(args) => commands::gen(args),
        Command::Driver { action } => service::run(action),
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
