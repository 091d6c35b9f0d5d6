//! Wire protocol: IOCTL codes, wire structs, batch framing.
