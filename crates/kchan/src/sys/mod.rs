//! Platform layer: the few Windows objects the client is built from, each in
//! its own file, behind a small API (`open_device`, `control`, `CompletionPort`,
//! `RecvOp`). Only Windows has an implementation; the portable parts of the
//! crate (options, decoding, ordering) build everywhere.

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use self::windows::*;
