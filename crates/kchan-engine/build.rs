//! Declares `cfg(loom)` (set by `RUSTFLAGS="--cfg loom"` for the loom test).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(loom)");
}
