//! `cargo xtask`: everything kchan needs around `cargo` on a Linux host.
//!
//! kchan's driver and Windows programs are cross-compiled for
//! `x86_64-pc-windows-gnu` and run under Wine, in a Wine prefix of the
//! project's own under `target/`. This binary installs the toolchain
//! (`setup`), builds every target and checks the driver image (`build`),
//! manages the prefix and the driver service (`wine`, `driver`), and runs
//! the test layers, the demo and the benchmark.
//!
//! Modules, one job each:
//! - [`setup`]: Debian packages and the rustup target, idempotent.
//! - [`wine`]: the project's Wine prefix, its shim and its wineserver.
//! - [`driver`]: install/start/stop/uninstall of the `kchan` service.
//! - [`build`]: native and Windows builds, then [`pecheck`] on every `.sys`.
//! - [`package`]: the signed zip for a Windows test machine.
//! - [`test`]: the test layers and the one-line `N passed, M failed` total;
//!   [`tail_checks`]: `kchan tail` seen from Linux (a closed pipe, rsyslog).
//! - [`tail_rate`]: the events/s `kchan tail --json` writes.
//! - [`demo`]: the main job, live.

mod bench;
mod build;
mod demo;
mod driver;
mod package;
mod pecheck;
mod setup;
mod tail_checks;
mod tail_rate;
mod test;
mod wine;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// kchan's build, Wine harness, tests and demo.
#[derive(Parser)]
#[command(name = "cargo xtask", about, disable_help_subcommand = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what is missing: Debian packages and the Windows Rust target.
    Setup,
    /// Build native and Windows targets; check every built driver image.
    Build,
    /// Run every test layer (native, Windows under Wine, driver end-to-end).
    Test(test::Args),
    /// Load the driver and show events streaming live.
    Demo(demo::Args),
    /// Build the test-signed package for a real Windows machine
    /// (target/package/kchan-<version>-windows-x64.zip).
    Package,
    /// Benchmark the seed's consumer designs and kchan's side by side.
    Bench(bench::Args),
    /// Measure the events/s `kchan tail --json` writes to a file and to NUL.
    TailRate(tail_rate::Args),
    /// Manage the kchan driver service in the project's Wine prefix.
    Driver {
        #[command(subcommand)]
        action: driver::Action,
    },
    /// Check a driver image for what Windows enforces: imports, section
    /// flags, alignment, NX/ASLR, TLS, checksum, stack frames.
    CheckSys {
        /// The `.sys` file to check.
        path: PathBuf,
    },
    /// Run a Windows program in the project's Wine prefix (e.g. `cargo xtask wine sc query kchan`);
    /// if the kchan service runs afterwards, the prefix's wineserver stays up with it.
    Wine {
        /// The program and its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        args: Vec<String>,
    },
    /// Stop the project's wineserver and every Wine process of the prefix.
    WineStop,
}

fn main() {
    let cli = Cli::parse();
    if let Err(err) = run(cli.command) {
        eprintln!("xtask: error: {err:#}");
        std::process::exit(1);
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Setup => setup::run(),
        Command::Build => {
            setup::run()?;
            build::all().map(drop)
        }
        Command::Test(args) => test::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Package => package::run_package(),
        Command::TailRate(args) => tail_rate::run(args),
        Command::Driver { action } => driver::run(action),
        Command::CheckSys { path } => {
            let report = pecheck::check_driver_image(&path)?;
            println!("{}: passes the driver image checks", path.display());
            for note in report.notes {
                println!("  {note}");
            }
            Ok(())
        }
        Command::Wine { args } => {
            let prefix = wine::Prefix::ensure()?;
            // A loaded driver lives as long as the prefix's wineserver: keep
            // the server up while the program runs, and afterwards only if
            // the kchan service runs or is starting (e.g. after `kchan.exe
            // driver install`), as `cargo xtask driver install` does.
            prefix.keep_server()?;
            let status = prefix.command("wine").args(&args).status()?;
            if driver::state(&prefix)?.is_some_and(|state| state != "STOPPED") {
                eprintln!("xtask: the kchan driver runs; the prefix's wineserver stays up with it (`cargo xtask wine-stop` ends both)");
            } else {
                prefix.kill_server()?;
            }
            std::process::exit(status.code().unwrap_or(1));
        }
        Command::WineStop => wine::Prefix::project().kill_server(),
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().expect("xtask lives in the workspace root").to_path_buf()
}

/// The target directory cargo builds into.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// The Windows target triple everything Windows is built for.
pub const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";
