//! `cargo xtask test`: every test layer, one total.
//!
//! Layers, in order: native tests of the portable crates and xtask; clippy
//! with warnings denied on both targets (each run counts as one check); the
//! loom model checks of the engine and of the driver's core; the portable crates' tests built for Windows
//! and run under Wine; the driver end-to-end tests with `kchan.sys` loaded
//! into the project's prefix. Each layer's libtest summaries are added up and
//! the run ends with one line, `N passed, M failed[, K skipped]`. A layer
//! that fails without a summary (a build error, a crashed test binary) counts
//! as one failure, so nothing can pass by not running.

use crate::build::cargo;
use crate::wine::Prefix;
use anyhow::Result;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

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

/// Sums of libtest results.
#[derive(Default, Debug, PartialEq, Eq, Clone, Copy)]
pub struct Tally {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed (plus one per layer that failed without a summary).
    pub failed: u64,
    /// Tests marked `#[ignore]`, reported as skipped, never as passed.
    pub skipped: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }

    /// Reads one libtest summary line, e.g.
    /// `test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; ...`.
    pub fn parse_summary(line: &str) -> Option<Tally> {
        let rest = line.trim().strip_prefix("test result: ")?;
        let (_, counts) = rest.split_once(". ")?;
        if !counts.contains(" passed") {
            return None;
        }
        let mut tally = Tally::default();
        for part in counts.split(';') {
            let mut words = part.split_whitespace();
            let (Some(n), Some(what)) = (words.next().and_then(|n| n.parse::<u64>().ok()), words.next()) else {
                continue; // "finished in 0.01s" and the like
            };
            match what {
                "passed" => tally.passed = n,
                "failed" => tally.failed = n,
                "ignored" => tally.skipped = n,
                _ => {}
            }
        }
        Some(tally)
    }
}

/// Runs the selected layers and prints the total; fails if anything failed.
pub fn run(args: Args) -> Result<()> {
    let selected = |layer| args.only.is_empty() || args.only.contains(&layer);
    crate::setup::run()?;
    let prefix = Prefix::ensure()?;
    crate::build::all()?;

    let mut total = Tally::default();
    if selected(Layer::Native) {
        let mut cmd = cargo();
        cmd.args(["test", "--no-fail-fast"]);
        total.add(run_layer("native", cmd));
    }
    if selected(Layer::Lint) {
        let mut cmd = cargo();
        cmd.args(["fmt", "--all", "--check"]);
        total.add(run_check("rustfmt", cmd));
        for target in [None, Some(crate::WINDOWS_TARGET)] {
            let mut cmd = cargo();
            cmd.args(["clippy", "--quiet", "--workspace", "--all-targets"]);
            if let Some(t) = target {
                cmd.args(["--target", t]);
            }
            cmd.args(["--", "-D", "warnings"]);
            total.add(run_check(&format!("clippy {}", target.unwrap_or("host")), cmd));
        }
    }
    if selected(Layer::Loom) {
        total.add(run_layer("loom", loom_command()));
    }
    // One Wine session for the Windows layers, started with none of our
    // pipes, and stopped (with every Wine process of the prefix) at the end.
    let server = match prefix.persistent_server() {
        Ok(server) => Some(server),
        Err(err) => {
            eprintln!("xtask: starting the Wine session failed: {err:#}");
            total.failed += 1;
            None
        }
    };
    if selected(Layer::Windows) {
        // Everything that needs no driver: the portable crates whole, and the
        // unit tests of the client library and the command.
        let mut cmd = windows_test_command(&prefix);
        cmd.args(["-p", "kchan-proto", "-p", "kchan-engine"]);
        total.add(run_layer("windows", cmd));
        let mut cmd = windows_test_command(&prefix);
        cmd.args(["-p", "kchan", "-p", "kchan-cli", "--lib", "--bins"]);
        total.add(run_layer("windows", cmd));
    }
    if selected(Layer::E2e) {
        total.add(run_e2e(&prefix));
    }
    drop(server); // no Wine process outlives the run; then the total, last
    println!("{} passed, {} failed{}", total.passed, total.failed, skipped_suffix(total.skipped));
    if total.failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

fn skipped_suffix(skipped: u64) -> String {
    if skipped > 0 {
        format!(", {skipped} skipped")
    } else {
        String::new()
    }
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
        return Tally { failed: 1, ..Tally::default() };
    }
    let mut cmd = windows_test_command(prefix);
    // Where winedevice.exe's stderr goes, as a Windows path (Z: is /).
    let log = prefix.session_log();
    cmd.env("KCHAN_E2E_SESSION_LOG", format!("Z:{}", log.display()).replace('/', "\\"));
    // The integration tests of every crate that talks to the driver. One
    // driver, one set of channel-wide counters: tests run one at a time.
    cmd.args(["-p", "kchan-e2e", "-p", "kchan", "-p", "kchan-cli", "--test", "*", "--", "--test-threads=1"]);
    let mut tally = run_layer("e2e", cmd);
    tally.add(crate::tail_checks::run(prefix));
    tally
}

/// Runs a check that has no libtest summary (a linter): one pass or one failure.
fn run_check(name: &str, mut cmd: Command) -> Tally {
    eprintln!("xtask: check `{name}`");
    let ok = cmd.status().map(|s| s.success()).unwrap_or(false);
    eprintln!("xtask: check `{name}`: {}", if ok { "passed" } else { "FAILED" });
    Tally { passed: u64::from(ok), failed: u64::from(!ok), skipped: 0 }
}

/// Runs one layer, echoing its output, and adds up its libtest summaries.
fn run_layer(name: &str, mut cmd: Command) -> Tally {
    eprintln!("xtask: test layer `{name}`");
    let mut child = match cmd.stdout(Stdio::piped()).spawn() {
        Ok(child) => child,
        Err(err) => {
            eprintln!("xtask: layer `{name}` did not start: {err}");
            return Tally { failed: 1, ..Tally::default() };
        }
    };
    let mut tally = Tally::default();
    let stdout = child.stdout.take().expect("piped stdout");
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        println!("{line}");
        if let Some(summary) = Tally::parse_summary(&line) {
            tally.add(summary);
        }
    }
    let ok = child.wait().map(|s| s.success()).unwrap_or(false);
    if !ok && tally.failed == 0 {
        eprintln!("xtask: layer `{name}` failed before reporting a failed test (build error or crash)");
        tally.failed = 1;
    }
    eprintln!(
        "xtask: layer `{name}`: {} passed, {} failed{}",
        tally.passed,
        tally.failed,
        skipped_suffix(tally.skipped)
    );
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libtest_summaries() {
        let ok = "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s";
        assert_eq!(Tally::parse_summary(ok), Some(Tally { passed: 12, failed: 0, skipped: 1 }));
        let bad = "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.2s";
        assert_eq!(Tally::parse_summary(bad), Some(Tally { passed: 3, failed: 2, skipped: 0 }));
        assert_eq!(Tally::parse_summary("running 3 tests"), None);
        assert_eq!(Tally::parse_summary("test result: garbage"), None);
    }
}
