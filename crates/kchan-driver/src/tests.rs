//! Host tests of the driver's core: the real dispatch, receive, cancel,
//! CLEANUP/CLOSE and unload code, run against the fake kernel.

mod flow;
