//! Static `UNICODE_STRING`s from ASCII literals, built at compile time.
//!
//! ```ignore
//! static NAME: StaticUnicode<14> = StaticUnicode::new(b"\\Device\\kchan\0");
//! ```

use crate::ffi::UnicodeString;
use core::ptr;

/// A UTF-16 copy of an ASCII literal, NUL-terminated, in static storage.
pub struct StaticUnicode<const N: usize> {
    units: [u16; N],
}

impl<const N: usize> StaticUnicode<N> {
    /// Converts `ascii` (which must end with one NUL) at compile time.
    pub const fn new(ascii: &[u8; N]) -> Self {
        assert!(N >= 1 && ascii[N - 1] == 0, "literal must end with \\0");
        assert!(N * 2 <= u16::MAX as usize, "too long for UNICODE_STRING");
        let mut units = [0u16; N];
        let mut i = 0;
        while i < N {
            assert!(ascii[i] < 0x80, "ASCII only");
            units[i] = ascii[i] as u16;
            i += 1;
        }
        Self { units }
    }

    /// The NUL-terminated UTF-16 text (for `PCWSTR` parameters).
    pub fn as_wide_ptr(&'static self) -> *const u16 {
        self.units.as_ptr()
    }

    /// A `UNICODE_STRING` describing this text (without the NUL). The kernel
    /// functions take `*mut` but do not write through the buffer for the
    /// calls used here (`IoCreateDevice`, `Io*SymbolicLink`).
    pub fn as_unicode_string(&'static self) -> UnicodeString {
        let bytes = ((N - 1) * 2) as u16;
        UnicodeString {
            length: bytes,
            maximum_length: bytes + 2,
            buffer: ptr::from_ref(&self.units).cast::<u16>().cast_mut(),
        }
    }
}
