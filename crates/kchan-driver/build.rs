//! Declares `cfg(loom)` (set by `RUSTFLAGS="--cfg loom"` for the loom tests).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(loom)");
}
