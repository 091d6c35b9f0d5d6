//! The kchan WDM driver.
