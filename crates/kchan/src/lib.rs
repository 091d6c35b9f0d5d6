//! The kchan client library.
