//! End-to-end tests of kchan.sys under Wine.
