//! Atomics: `core`'s, or loom's when the crate is model-checked
//! (`--cfg loom`), so loom explores the core's own orderings.

#[cfg(all(loom, test))]
pub use loom::sync::atomic::AtomicBool;
#[cfg(loom)]
pub use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

#[cfg(all(not(loom), test))]
pub use core::sync::atomic::AtomicBool;
#[cfg(not(loom))]
pub use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
