//! What a subscription asks of the driver and of the client.

use kchan_proto::{CompletionPolicy, OverflowPolicy, SubscribeConfig, ONE_EVENT_PER_COMPLETION};

/// How to subscribe: the driver-side config (filter, ring, overflow and
/// completion policies) and the client side (receives in flight, buffer size).
///
/// The defaults are what a monitor wants: every kind, a 4 MiB ring,
/// drop-newest, 8 receives of 64 KiB in flight, and the adaptive completion
/// policy (low latency at low rates, big batches when the consumer is busy).
#[derive(Debug, Clone)]
pub struct SubscribeOptions {
    pub(crate) config: SubscribeConfig,
    pub(crate) buffer_bytes: usize,
}

impl Default for SubscribeOptions {
    fn default() -> Self {
        let config = SubscribeConfig {
            completion: CompletionPolicy::Adaptive as u32,
            // The driver's default for a fresh handle is 1 MiB; a subscription
            // meant to stream gets 4 MiB, ~30 ms at 2.5M events/s of 32 bytes,
            // enough to ride out a consumer descheduled for a while.
            ring_bytes: 4 << 20,
            ..SubscribeConfig::default()
        };
        SubscribeOptions { config, buffer_bytes: 64 * 1024 }
    }
}

impl SubscribeOptions {
    /// The defaults (see the type's docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// Receive only these kinds (bit `k` = kind `k`, `0..=63`).
    pub fn kinds(mut self, mask: u64) -> Self {
        self.config.kind_mask = mask;
        self
    }

    /// Ring capacity in the driver, in bytes.
    pub fn ring_bytes(mut self, bytes: u32) -> Self {
        self.config.ring_bytes = bytes;
        self
    }

    /// What the driver does when the ring is full.
    pub fn overflow(mut self, policy: OverflowPolicy) -> Self {
        self.config.overflow = policy as u32;
        self
    }

    /// When the driver completes a waiting receive.
    pub fn completion(mut self, policy: CompletionPolicy) -> Self {
        self.config.completion = policy as u32;
        self
    }

    /// For [`CompletionPolicy::Coalesce`]: complete once this many records wait.
    pub fn min_records(mut self, n: u32) -> Self {
        self.config.min_records = n;
        self
    }

    /// Longest a record waits while a receive pends, for the coalescing and
    /// adaptive policies, in microseconds.
    pub fn max_delay_us(mut self, us: u32) -> Self {
        self.config.max_delay_us = us;
        self
    }

    /// How many receive requests the client keeps in flight (K).
    pub fn in_flight(mut self, k: u32) -> Self {
        self.config.max_in_flight = k;
        self
    }

    /// Size of each receive buffer, in bytes.
    pub fn buffer_bytes(mut self, bytes: usize) -> Self {
        self.buffer_bytes = bytes;
        self
    }

    /// Deliver exactly one event per completed receive, as the seed's
    /// one-event-per-IOCTL designs do (for comparisons only).
    pub fn one_event_per_completion(mut self, on: bool) -> Self {
        if on {
            self.config.flags |= ONE_EVENT_PER_COMPLETION;
        } else {
            self.config.flags &= !ONE_EVENT_PER_COMPLETION;
        }
        self
    }

    /// The driver-side config, as sent with `IOCTL_SUBSCRIBE`.
    pub fn config(&self) -> &SubscribeConfig {
        &self.config
    }

    /// Receives kept in flight.
    pub fn receives_in_flight(&self) -> usize {
        self.config.max_in_flight as usize
    }

    /// Bytes of each receive buffer.
    pub fn receive_buffer_bytes(&self) -> usize {
        self.buffer_bytes
    }
}
