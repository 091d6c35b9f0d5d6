//! Host tests of the driver's core: the real dispatch, receive, cancel,
//! CLEANUP/CLOSE and unload code, run against the fake kernel.

#[cfg(not(loom))]
mod at_close;
#[cfg(not(loom))]
mod defects;
#[cfg(not(loom))]
mod flow;
#[cfg(loom)]
mod loom;
#[cfg(not(loom))]
mod protocol_doc;
#[cfg(not(loom))]
mod stress;

/// Polls `cond` for up to 10 s.
#[cfg(not(loom))]
fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    cond()
}
