//! `cargo xtask test`: every test layer, one total.
//!
//! Layers, in order: native tests of the portable crates and xtask; the lint
//! checks (rustfmt, clippy with warnings denied on both targets); the loom
//! model checks of the engine and of the driver's core; the portable crates'
//! tests and the service manager calls built for Windows and run under
//! Wine; the driver end-to-end tests with `kchan.sys` loaded into the
//! project's prefix.
//!
//! The run ends with the checks on a line of their own, then one line
//! `N passed, M failed[, K skipped]` that counts tests only. Nothing can
//! pass by not running: a layer that fails without a summary (a build
//! error, a crash) counts one failure; so does a layer that reports fewer
//! tests than its floor (e.g. a loom layer compiled to nothing), and a test
//! program that runs past its time limit (killed, and named with the last
//! test it started).

mod runner;
mod tally;

use crate::build::cargo;
use crate::wine::Prefix;
use anyhow::Result;
use runner::run_tests;
use std::process::Command;
use std::time::Duration;
use tally::Checks;
pub use tally::Tally;

/// Options of `cargo xtask test`.
#[derive(clap::Args)]
pub struct Args {
    /// Run only these layers (native, lint, loom, windows, e2e); default: all.
    #[arg(long = "only", value_enum)]
    only: Vec<Layer>,
}

/// A group of tests that runs in one environment.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Layer {
    /// Portable crates and xtask, on the Linux host.
    Native,
    /// The engine's and the driver core's concurrent paths under loom's
    /// exhaustive scheduler.
    Loom,
    /// Portable crates built for Windows, run under Wine.
    Windows,
    /// The driver loaded into Wine, exercised by Windows test programs.
    E2e,
    /// rustfmt's check, and clippy with warnings denied on the host and
    /// Windows targets: among others the workspace lint that every `unsafe`
    /// block has a SAFETY comment.
    Lint,
}

impl Layer {
    /// The fewest tests the layer reports when all of it runs: fewer means
    /// some of it stopped running (a test binary compiled to nothing, a
    /// crate left out). About nine tenths of the count when last set (loom:
    /// all of it); raise it as tests are added.
    fn floor(self) -> u64 {
        match self {
            Layer::Native => 181,
            Layer::Loom => 16,
            Layer::Windows => 106,
            Layer::E2e => 51,
            Layer::Lint => 0,
        }
    }

    /// The longest one test program of the layer may run.
    fn limit(self) -> Duration {
        match self {
            Layer::Loom => Duration::from_secs(1200),
            _ => Duration::from_secs(300),
        }
    }

    /// `tally`, plus one failure if it is below the layer's floor.
    fn floored(self, name: &str, mut tally: Tally) -> Tally {
        if tally.ran() < self.floor() {
            eprintln!("xtask: layer `{name}` ran {} tests, fewer than its floor of {}", tally.ran(), self.floor());
            tally.add(Tally::ONE_FAILURE);
        }
        tally
    }
}

/// Runs the selected layers and prints the checks, then the test total;
/// fails if anything failed.
pub fn run(args: Args) -> Result<()> {
    let selected = |layer| args.only.is_empty() || args.only.contains(&layer);
    crate::setup::run()?;
    let prefix = Prefix::ensure()?;
    crate::build::all()?;

    let mut total = Tally::default();
    let mut checks = Checks::default();
    if selected(Layer::Native) {
        let mut cmd = cargo();
        cmd.args(["test", "--no-fail-fast"]);
        total.add(Layer::Native.floored("native", run_tests("native", cmd, Layer::Native.limit())));
    }
    if selected(Layer::Lint) {
        checks = run_lint();
    }
    if selected(Layer::Loom) {
        total.add(Layer::Loom.floored("loom", run_tests("loom", loom_command(), Layer::Loom.limit())));
    }
    // One Wine session for the Windows layers, started with none of our
    // pipes, and stopped (with every Wine process of the prefix) at the end.
    let server = match prefix.persistent_server() {
        Ok(server) => Some(server),
        Err(err) => {
            eprintln!("xtask: starting the Wine session failed: {err:#}");
            total.add(Tally::ONE_FAILURE);
            None
        }
    };
    if selected(Layer::Windows) {
        // Everything that needs no driver: the portable crates whole, the
        // service manager calls (on services of their own), and the unit
        // tests of the client library and the command.
        let mut cmd = windows_test_command(&prefix);
        cmd.args(["-p", "kchan-proto", "-p", "kchan-engine", "-p", "kchan-service"]);
        let mut windows = run_tests("windows", cmd, Layer::Windows.limit());
        let mut cmd = windows_test_command(&prefix);
        cmd.args(["-p", "kchan", "-p", "kchan-cli", "--lib", "--bins"]);
        windows.add(run_tests("windows", cmd, Layer::Windows.limit()));
        total.add(Layer::Windows.floored("windows", windows));
    }
    if selected(Layer::E2e) {
        total.add(Layer::E2e.floored("e2e", run_e2e(&prefix)));
    }
    drop(server); // no Wine process outlives the run; then the totals, last
    if selected(Layer::Lint) {
        println!("{}", checks.line());
    }
    println!("{}", total.line());
    if total.failed > 0 || checks.failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// rustfmt's check and clippy on both targets: checks, not tests.
fn run_lint() -> Checks {
    let mut checks = Checks::default();
    let mut run = |name: &str, mut cmd: Command| {
        eprintln!("xtask: check `{name}`");
        let ok = cmd.status().map(|s| s.success()).unwrap_or(false);
        eprintln!("xtask: check `{name}`: {}", if ok { "passed" } else { "FAILED" });
        if ok {
            checks.passed += 1;
        } else {
            checks.failed += 1;
        }
    };
    let mut cmd = cargo();
    cmd.args(["fmt", "--all", "--check"]);
    run("rustfmt", cmd);
    for target in [None, Some(crate::WINDOWS_TARGET)] {
        let mut cmd = cargo();
        cmd.args(["clippy", "--quiet", "--workspace", "--all-targets"]);
        if let Some(t) = target {
            cmd.args(["--target", t]);
        }
        cmd.args(["--", "-D", "warnings"]);
        run(&format!("clippy {}", target.unwrap_or("host")), cmd);
    }
    checks
}

/// The loom tests: the engine's, and the driver core's (its real dispatch,
/// cancel and unload code against the fake kernel), in their own target dir
/// so `--cfg loom` does not invalidate the normal build.
fn loom_command() -> Command {
    let mut cmd = cargo();
    cmd.args([
        "test",
        "--no-fail-fast",
        "--release",
        "-p",
        "kchan-engine",
        "--test",
        "loom",
        "-p",
        "kchan-driver",
        "--lib",
    ])
    .env("RUSTFLAGS", "--cfg loom")
    .env("CARGO_TARGET_DIR", crate::target_dir().join("loom"));
    cmd
}

/// `cargo test` for the Windows target; the runner (`wine`, from
/// `.cargo/config.toml`) gets this prefix's environment.
fn windows_test_command(prefix: &Prefix) -> Command {
    let mut cmd = cargo();
    cmd.args(["test", "--no-fail-fast", "--release", "--target", crate::WINDOWS_TARGET])
        .env("WINEPREFIX", prefix.dir())
        .env("WINEDEBUG", std::env::var("KCHAN_WINEDEBUG").unwrap_or_else(|_| "-all".into()));
    cmd
}

/// Loads every driver image, each as its own service, into the running
/// Wine session and runs the end-to-end tests.
fn run_e2e(prefix: &Prefix) -> Tally {
    let loaded = (|| -> Result<()> {
        for image in crate::build::DRIVER_IMAGES {
            crate::driver::install_service(prefix, &image.path(), image.service)?;
            crate::driver::start_service(prefix, image.service)?;
        }
        Ok(())
    })();
    if let Err(err) = loaded {
        eprintln!("xtask: e2e: loading the drivers failed: {err:#}");
        return Tally::ONE_FAILURE;
    }
    let mut cmd = windows_test_command(prefix);
    // Where winedevice.exe's stderr goes, as a Windows path (Z: is /).
    let log = prefix.session_log();
    cmd.env("KCHAN_E2E_SESSION_LOG", format!("Z:{}", log.display()).replace('/', "\\"));
    // The integration tests of every crate that talks to the driver. One
    // driver, one set of channel-wide counters: tests run one at a time.
    cmd.args(["-p", "kchan-e2e", "-p", "kchan", "-p", "kchan-cli", "--test", "*", "--", "--test-threads=1"]);
    let mut tally = run_tests("e2e", cmd, Layer::E2e.limit());
    tally.add(crate::tail_checks::run(prefix));
    tally
}
