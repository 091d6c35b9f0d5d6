//! Links the cdylib as a driver image, so that `cargo build -p kchan-sys
//! --target x86_64-pc-windows-gnu --profile kernel` alone produces a
//! loadable driver (`target/x86_64-pc-windows-gnu/kernel/kchan_sys.dll`,
//! installed as `kchan.sys`). The settings, and why each is needed, are in
//! `kchan-build`, shared by every driver image of the project. On other
//! targets nothing is configured: the crate is empty there.

fn main() {
    kchan_build::configure_driver_cdylib();
}
