//! `cargo xtask demo`: the main job, live. Builds everything, loads
//! `kchan.sys` into the project's Wine prefix, starts the driver's generator
//! and runs `kchan monitor` against it for `--seconds`, then stops the
//! prefix's wineserver so nothing is left running.

use crate::wine::Prefix;
use anyhow::{bail, Result};

/// Options of `cargo xtask demo`.
#[derive(clap::Args)]
pub struct Args {
    /// How long to watch the events stream.
    #[arg(long, default_value_t = 20)]
    seconds: u32,
    /// Generator rate in events per second (0 = as fast as it goes).
    #[arg(long, default_value_t = 20_000)]
    rate: u32,
}

/// Runs the demo.
pub fn run(args: Args) -> Result<()> {
    crate::setup::run()?;
    let prefix = Prefix::ensure()?;
    let sys = crate::build::all()?;
    let _server = crate::driver::load_in_session(&prefix, &sys)?;
    let exe = crate::build::cli_exe();
    let exe = exe.to_string_lossy();
    let seconds = args.seconds.to_string();
    let rate = args.rate.to_string();
    // The monitor starts the generator itself and stops it when it ends.
    let status =
        prefix.command("wine").args([&*exe, "monitor", "--seconds", &seconds, "--gen-rate", &rate]).status()?;
    if !status.success() {
        bail!("kchan monitor exited with {status}");
    }
    Ok(())
}
