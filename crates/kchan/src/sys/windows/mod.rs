//! The Windows objects the client is built from, one file each.
//!
//! - [`handle`]: opening `\\.\kchan` (or another device);
//! - [`overlapped`]: an OVERLAPPED the kernel writes, in an `UnsafeCell`;
//! - [`ioctl`]: the one `DeviceIoControl` call and how its answer is read;
//! - [`control`]: a control request on an overlapped handle, waited for;
//! - [`iocp`]: the completion port;
//! - [`recv_op`], [`recv_port`]: a receive operation, and the
//!   [`Port`](super::Port) that keeps them in flight on the completion port;
//! - [`request`]: a single request left in flight at will, for tools and
//!   tests ([`crate::raw`]).

pub(crate) mod control;
pub(crate) mod handle;
pub(crate) mod iocp;
pub(crate) mod ioctl;
pub(crate) mod overlapped;
pub(crate) mod recv_op;
pub(crate) mod recv_port;
pub(crate) mod request;
