//! `kchan-bench`: the seed's consumer designs and kchan's, side by side, one
//! measurement per invocation, each printing one JSON line on stdout.
//!
//! `cargo xtask bench` runs it for every mode, payload and source against one
//! loaded driver and assembles the lines into the report (`cargo xtask bench
//! --check FILE` validates its JSON). By hand, under Wine:
//!
//! ```text
//! kchan-bench run --mode kchan-k8 --source gen --rate 0 --size 32 --seconds 3
//! kchan-bench run --mode seed-overlapped --source inject --rate 10000 --size 256
//! kchan-bench control --size 32 --samples 1000
//! ```
//!
//! Modules: [`args`] (command line) and [`report`] (counting, JSON) are
//! portable; `win` holds everything that talks to the driver and builds only
//! for Windows. On another OS the program says so and exits with code 2.

#[cfg_attr(not(windows), allow(dead_code))] // used by the Windows-only parts
mod args;
#[cfg_attr(not(windows), allow(dead_code))]
mod report;
#[cfg(windows)]
mod win;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    #[cfg(windows)]
    {
        if let Err(err) = win::run(cli) {
            eprintln!("kchan-bench: {err}");
            std::process::exit(1);
        }
    }
    #[cfg(not(windows))]
    {
        let _ = cli;
        eprintln!(
            "kchan-bench talks to the kchan driver and runs only on Windows (or under Wine): \
             build it with --target x86_64-pc-windows-gnu, or run `cargo xtask bench`"
        );
        std::process::exit(2);
    }
}
