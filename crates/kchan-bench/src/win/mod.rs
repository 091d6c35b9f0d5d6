//! The Windows side: everything that talks to `\\.\kchan`.
//!
//! - [`clock`]: the driver's timestamp clock and this process's CPU time;
//! - [`raw`]: the seed's way of talking to the device (raw handles and
//!   `DeviceIoControl`), without the client library;
//! - [`consumer`]: the four consumer designs behind one trait;
//! - [`source`]: starting and stopping the generator or the injector
//!   process, and the injector's own loop;
//! - [`measure`]: one `run`; [`floor`]: the floors; [`control`]: the
//!   control-plane measurement.

mod clock;
mod consumer;
mod control;
mod floor;
mod measure;
mod raw;
mod source;

use crate::args::{Cli, Command};

/// Runs the chosen command; errors are printed by `main`.
pub fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Run(args) => measure::run(&args),
        Command::Floor(args) => floor::run(&args),
        Command::Control(args) => control::run(&args),
        Command::Inject(args) => source::inject_loop(&args),
    }
}
