//! Read events as a `futures::Stream`, on the plain `futures` executor (no
//! reactor needed, so it runs under Wine as on Windows).
//!
//! `stream [N]`: injects N events (default 100) and awaits them.

#[cfg(windows)]
fn main() -> kchan::Result<()> {
    use futures_util::StreamExt;
    use kchan::{Device, EventStream, Item, SubscribeOptions};

    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let device = Device::open()?;
    let mut stream = EventStream::subscribe(&device, SubscribeOptions::new().kinds(1 << 6))?;
    let payloads: Vec<[u8; 8]> = (0..n as u64).map(u64::to_le_bytes).collect();
    device.inject(payloads.iter().map(|p| (6u16, &p[..])))?;
    futures_executor::block_on(async {
        let (mut events, mut batches) = (0, 0);
        while events < n {
            let batch = stream.next().await.expect("the stream ends only when dropped")?;
            batches += 1;
            events += batch.items().filter(|i| matches!(i, Item::Event(_))).count();
        }
        println!("received {events} events in {batches} batches");
        Ok(())
    })
}

#[cfg(not(windows))]
fn main() {
    eprintln!("this example talks to the kchan driver: run it on Windows or under Wine");
}
