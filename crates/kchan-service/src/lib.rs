//! A kernel driver's service through the Windows Service Control Manager:
//! create it for a driver image, start it (the kernel loads the image and
//! calls `DriverEntry`), stop it (`DriverUnload`), query its state, delete
//! it. The `kchan driver` commands and the end-to-end tests that unload and
//! reload a driver both go through this crate, so each call, its wait and
//! its error mapping exist once.
//!
//! ```text
//! let scm = ServiceManager::open()?;
//! let installed = scm.install_kernel_driver("kchan", "kchan driver kchan", Path::new(r"C:\drivers\kchan.sys"))?;
//! installed.service.start()?;
//! installed.service.stop(Duration::from_secs(10))?;
//! installed.service.delete()?;
//! ```
//!
//! The calls are idempotent where the command line wants them to be:
//! starting a running service and stopping a stopped one succeed, and
//! installing over an existing service opens it (its image is not changed).
//! Every failure is an [`Error`] whose `Display` is one line naming the
//! service, what was asked and the system's reason.
//!
//! The same calls work on Windows and under Wine, whose service manager
//! loads kernel drivers into `winedevice.exe`. Under Wine 8, use it from
//! one thread of a process at a time: calls from two threads at once were
//! seen to leave one thread's handle invalid (`ERROR_INVALID_HANDLE`). On other targets the crate
//! holds only [`Error`] and [`State`] (portable, so their messages are
//! tested on any host); [`ServiceManager`] and [`Service`] are Windows-only.

mod error;
#[cfg(windows)]
mod scm;
mod state;
#[cfg(all(test, windows))]
mod tests;

pub use error::{Error, Operation};
#[cfg(windows)]
pub use scm::{Installed, Service, ServiceManager};
pub use state::State;

/// The result of a service call.
pub type Result<T> = std::result::Result<T, Error>;
