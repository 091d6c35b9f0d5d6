//! No float formatting or parsing from `core` in a driver image.
//!
//! A driver has no floats to print, and `core`'s float code is large (a
//! third of a small driver's code) with frames up to 1.5 KiB (`flt2dec`'s
//! Dragon4). It gets into an image in one of two ways:
//!
//! - the driver formats an `f32`/`f64` (a `{}` of one, or a `Debug` of a
//!   struct that holds one, in a log or panic message): print integers
//!   instead (tenths, per-mille);
//! - `core` was linked whole. Rustup's `core` for windows-gnu is one object
//!   with a single `.text` section, so `--gc-sections` keeps all of it as
//!   soon as anything of it is used. Driver images are built with fat LTO
//!   (the workspace's `kernel` profile), which keeps only what the driver
//!   reaches; an image built without it fails here.
//!
//! The functions are found by name in the image's symbol table (the
//! disassembly [`super::stack`] reads), so a stripped image is not checked.

/// Parts of demangled names that only `core`'s float formatting and
/// parsing have: its modules, and the `fmt` trait impls of the float types
/// (which LTO may keep while inlining the rest into them).
const FLOAT_CODE: &[&str] = &[
    "core::fmt::float::",
    "core::num::flt2dec::",
    "core::num::dec2flt::",
    "<f16 as core::fmt::",
    "<f32 as core::fmt::",
    "<f64 as core::fmt::",
    "<f128 as core::fmt::",
];

/// The names among `functions` that are `core`'s float formatting or
/// parsing, in their order.
pub fn float_functions<'a>(functions: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    functions.into_iter().filter(|name| FLOAT_CODE.iter().any(|part| name.contains(part))).collect()
}

/// The problem to report for `found` (non-empty), naming a few of them.
pub fn problem(found: &[&str]) -> String {
    let shown: Vec<&str> = found.iter().copied().take(3).collect();
    format!(
        "holds core's float formatting or parsing ({} function{}: {}{}): the driver formats or parses an f32/f64 \
         (print integers instead: tenths, per-mille), or core was linked whole (build with the `kernel` profile's LTO)",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        shown.join(", "),
        if found.len() > shown.len() { ", ..." } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cores_float_code_and_nothing_else() {
        let names = [
            "core::fmt::float::float_to_decimal_common_shortest::<f64>",
            "core::num::flt2dec::strategy::dragon::format_shortest",
            "<core::num::dec2flt::decimal_seq::DecimalSeq>::left_shift",
            "<f32 as core::fmt::Display>::fmt",
            "<f64 as core::fmt::Debug>::fmt",
            "core::fmt::write",
            "core::fmt::num::imp::<impl core::fmt::Display for u64>::fmt",
            "<kchan_km::pool::PoolStats as core::fmt::Debug>::fmt",
            "kchan_driver::wdm::dispatch",
            "floaty::float_to_decimal", // a driver's own name is no hit
        ];
        assert_eq!(float_functions(names), names[..5]);
    }

    #[test]
    fn the_problem_names_a_few_and_counts_all() {
        let found = ["a", "b", "c", "d"];
        let text = problem(&found);
        assert!(text.contains("(4 functions: a, b, c, ...)"), "{text}");
        assert!(problem(&found[..1]).contains("(1 function: a)"));
    }
}
