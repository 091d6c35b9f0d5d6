//! Links the cdylib as a driver image: `kchan-build` has the settings every
//! kchan driver image shares.

fn main() {
    kchan_build::configure_driver_cdylib();
}
