//! [`EventStream`]: a subscription as a `futures::Stream`, for any executor.
//!
//! tokio's and mio's I/O drivers poll through AFD, which Wine lacks, so the
//! stream does not use them: a thread of its own waits on the subscription's
//! completion port and sends each batch, copied into an owned [`OwnedBatch`],
//! through a bounded channel whose receiving end is the stream. Dropping the
//! stream wakes that thread, which drops the subscription (cancel, then wait
//! for every completion) and exits.

use crate::subscription::Wakeup;
use crate::{Device, Item, Result, SubscribeOptions, Subscription};
use futures_channel::mpsc;
use futures_core::Stream;
use futures_util::SinkExt;
use kchan_proto::BatchReader;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::JoinHandle;

/// The records of one completed receive, owned.
#[derive(Debug, Clone)]
pub struct OwnedBatch {
    bytes: Vec<u8>,
}

impl OwnedBatch {
    /// The records, gap records included, in sequence order.
    pub fn records(&self) -> BatchReader<'_> {
        // Validated once, when its receive completed.
        BatchReader::of_validated(&self.bytes)
    }

    /// The records as owned items.
    pub fn items(&self) -> impl Iterator<Item = Item> + '_ {
        self.records().map(|r| Item::from_record(&r))
    }

    /// The raw batch bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// A subscription as a stream of batches.
pub struct EventStream {
    rx: mpsc::Receiver<Result<OwnedBatch>>,
    wakeup: Wakeup,
    thread: Option<JoinHandle<()>>,
}

impl EventStream {
    /// Subscribes on `device` and streams its batches. The device's handle
    /// stays usable for control calls.
    pub fn subscribe(device: &Device, options: SubscribeOptions) -> Result<EventStream> {
        let depth = options.config().max_in_flight.max(1) as usize;
        let sub = device.subscribe(options)?;
        let wakeup = sub.wakeup();
        let (tx, rx) = mpsc::channel(depth);
        let thread = std::thread::Builder::new().name("kchan-stream".into()).spawn(move || pump(sub, tx))?;
        Ok(EventStream { rx, wakeup, thread: Some(thread) })
    }
}

/// The stream's thread: batches from the port into the channel until the
/// stream is dropped or the subscription fails.
fn pump(mut sub: Subscription, mut tx: mpsc::Sender<Result<OwnedBatch>>) {
    loop {
        let item = match sub.next_batch_timeout(std::time::Duration::from_secs(3600)) {
            Ok(Some(batch)) => Ok(OwnedBatch { bytes: batch.bytes().to_vec() }),
            Ok(None) if tx.is_closed() => return,
            Ok(None) => continue,
            Err(e) => Err(e),
        };
        let failed = item.is_err();
        if futures_executor::block_on(tx.send(item)).is_err() || failed {
            return;
        }
    }
}

impl Stream for EventStream {
    type Item = Result<OwnedBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.rx).poll_next(cx)
    }
}

impl Drop for EventStream {
    /// Closes the channel, wakes the thread and waits for it, so the
    /// subscription's requests are all completed when this returns.
    fn drop(&mut self) {
        self.rx.close();
        self.wakeup.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
