//! The benchmark of the seed's consumer designs against kchan's.
//!
//! - [`args`]: the command line of `kchan-bench`, the program that makes one
//!   measurement per invocation and prints it as one JSON line;
//! - [`report`]: everything that turns measurements into a report: the run
//!   lines, the document `cargo xtask bench` assembles from them (and the
//!   contract CI checks), its tables, the generated part of
//!   `docs/benchmarks.md` and, with the `chart` feature, the charts;
//! - `win` (Windows only): everything that talks to `\\.\kchan`.
//!
//! `args` and `report` are portable and tested on any OS; `cargo xtask
//! bench` runs the program under Wine and uses `report` on the host.

pub mod args;
pub mod report;
#[cfg(windows)]
pub mod win;
