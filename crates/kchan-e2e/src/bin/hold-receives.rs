//! `hold-receives KIND N`: subscribes a new handle to KIND with K = N, posts
//! N receives, prints `READY`, then holds them until it is terminated or
//! its standard input closes (its parent is gone). The child process of the
//! `TerminateProcess` test in `tests/close.rs`.

#[cfg(windows)]
fn main() {
    use kchan_e2e::{only_kind, Device, RECV_BYTES};
    use kchan_proto::{SubscribeConfig, IOCTL_RECV};
    use std::io::Read;

    let arg =
        |i: usize| std::env::args().nth(i).and_then(|a| a.parse::<u32>().ok()).expect("usage: hold-receives KIND N");
    let (kind, n) = (arg(1) as u16, arg(2));
    let dev = Device::must_open();
    dev.subscribe(&SubscribeConfig { max_in_flight: n, ..only_kind(kind) }).expect("subscribe");
    let ops: Vec<_> = (0..n).map(|_| dev.post(IOCTL_RECV, &[], RECV_BYTES).expect("post")).collect();
    assert!(ops.iter().all(|o| o.pended()), "every receive pends");
    assert_eq!(dev.stats().subscriber.pending_receives, u64::from(n));
    println!("READY");
    // Returns at end of input: the parent closed it, or died.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    std::process::exit(1);
}

#[cfg(not(windows))]
fn main() {
    eprintln!("hold-receives talks to the kchan driver: run it on Windows or under Wine");
    std::process::exit(2);
}
