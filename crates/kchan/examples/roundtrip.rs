//! Publish events through the driver and read them back, blocking.
//!
//! `roundtrip [N]`: injects N events (default 100) on one handle and receives
//! them on another, printing each gap and a summary line.

#[cfg(windows)]
fn main() -> kchan::Result<()> {
    use kchan::{Device, Item, SubscribeOptions};

    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let receiver = Device::open()?;
    let mut sub = receiver.subscribe(SubscribeOptions::new().kinds(1 << 5))?;
    let sender = Device::open()?;
    let payloads: Vec<String> = (0..n).map(|i| format!("event {i}")).collect();
    for chunk in payloads.chunks(500) {
        sender.inject(chunk.iter().map(|p| (5u16, p.as_bytes())))?;
    }
    let (mut events, mut last) = (0, None);
    for item in sub.events() {
        match item? {
            Item::Event(e) => {
                events += 1;
                last = Some(String::from_utf8_lossy(&e.payload).into_owned());
            }
            Item::Gap(g) => println!("lost {} events from #{} ({:?})", g.count, g.first_seq, g.reason),
        }
        if events == n {
            break;
        }
    }
    println!("received {events} events; last: {}", last.unwrap_or_default());
    Ok(())
}

#[cfg(not(windows))]
fn main() {
    eprintln!("this example talks to the kchan driver: run it on Windows or under Wine");
}
