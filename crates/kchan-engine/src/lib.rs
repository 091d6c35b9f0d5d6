//! The channel: rings, pending receives, batching, accounting.
