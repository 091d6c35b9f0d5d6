//! The kchan command.
