//! Windows implementation of the platform layer.

mod device;
mod iocp;
mod recv_op;

pub use device::{control, open_device, ControlError};
pub use iocp::{Completion, CompletionPort};
pub use recv_op::RecvOp;
