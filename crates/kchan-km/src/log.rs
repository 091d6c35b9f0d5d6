//! Logging through `DbgPrint`: [`kprintln!`](crate::kprintln).
//!
//! The message is formatted into a fixed stack buffer (no allocation, so it
//! works at DISPATCH_LEVEL and inside the panic handler), truncated to
//! [`LINE_MAX`] bytes, and printed with `DbgPrint("%s", line)`: the message
//! is never used as a format string. Under Wine it shows with
//! `WINEDEBUG=+debugstr`.

use crate::ffi::DbgPrint;
use core::fmt::{self, Write};

/// Longest line printed, in bytes, without the terminating NUL.
pub const LINE_MAX: usize = 255;

/// A NUL-terminated line buffer that truncates instead of failing.
struct Line {
    buf: [u8; LINE_MAX + 1],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = LINE_MAX - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Formats `args` and prints it with a trailing newline. Any IRQL
/// <= DISPATCH_LEVEL (arguments must be nonpaged data at DISPATCH).
pub fn print(args: fmt::Arguments<'_>) {
    let mut line = Line { buf: [0; LINE_MAX + 1], len: 0 };
    let _ = line.write_fmt(args);
    let _ = line.write_str("\n");
    // Interior NULs would cut the line short; show them as '?'.
    for b in &mut line.buf[..line.len] {
        if *b == 0 {
            *b = b'?';
        }
    }
    line.buf[line.len] = 0;
    // SAFETY: both strings are NUL-terminated and live for the call; the
    // format consumes exactly one `%s` argument. DbgPrint may be called at
    // any IRQL for nonpaged data (this stack buffer).
    unsafe { DbgPrint(c"%s".as_ptr().cast(), line.buf.as_ptr()) };
}

/// `println!`-style logging to the kernel debugger (`DbgPrint`), prefixed
/// with `kchan: `.
#[macro_export]
macro_rules! kprintln {
    ($($arg:tt)*) => {
        $crate::log::print(format_args!("kchan: {}", format_args!($($arg)*)))
    };
}
