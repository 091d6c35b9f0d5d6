//! Kernel-mode bindings and support for the kchan driver.
