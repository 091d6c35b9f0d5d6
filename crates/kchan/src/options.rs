//! What a subscription asks of the driver and of the client.

use crate::Error;
use kchan_proto::{CompletionPolicy, OverflowPolicy, SubscribeConfig, VersionInfo, ONE_EVENT_PER_COMPLETION};

/// How to subscribe: the driver-side config (filter, ring, overflow and
/// completion policies, the subscriber's limit K of receives in flight) and
/// the client side (the size of each receive buffer). The client keeps all
/// K receives in flight.
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

    /// The subscriber's limit K of receives in flight, all of which the
    /// client keeps posted (`1..=VersionInfo::max_in_flight`).
    pub fn max_in_flight(mut self, max_in_flight: u32) -> Self {
        self.config.max_in_flight = max_in_flight;
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

    /// Bytes of each receive buffer.
    pub fn receive_buffer_bytes(&self) -> usize {
        self.buffer_bytes
    }

    /// Checks the options against the limits a driver advertises; the error
    /// names the first option out of range and its limits.
    pub fn check(&self, limits: &VersionInfo) -> Result<(), Error> {
        let ranges = [
            ("receives in flight", u64::from(self.config.max_in_flight), 1, u64::from(limits.max_in_flight)),
            ("the ring's bytes", u64::from(self.config.ring_bytes), 1, u64::from(limits.max_ring_bytes)),
            (
                "the receive buffer's bytes",
                self.buffer_bytes as u64,
                u64::from(limits.min_recv_bytes),
                u64::from(limits.max_batch_bytes),
            ),
        ];
        match ranges.into_iter().find(|&(_, value, min, max)| value < min || value > max) {
            Some((what, value, min, max)) => Err(Error::OutOfRange { what, value, min, max }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kchan_proto::zerocopy::FromZeros;

    fn limits() -> VersionInfo {
        let mut v = VersionInfo::new_zeroed();
        v.max_in_flight = 64;
        v.max_ring_bytes = 64 << 20;
        v.min_recv_bytes = 16 * 1024 + 40;
        v.max_batch_bytes = 4 << 20;
        v
    }

    #[test]
    fn the_defaults_are_within_a_drivers_default_limits() {
        SubscribeOptions::new().check(&limits()).unwrap();
    }

    #[test]
    fn more_receives_in_flight_than_the_driver_allows_are_refused_naming_the_limit() {
        let err = SubscribeOptions::new().max_in_flight(100).check(&limits()).unwrap_err();
        assert!(
            matches!(err, Error::OutOfRange { what: "receives in flight", value: 100, min: 1, max: 64 }),
            "{err:?}"
        );
        assert!(err.to_string().contains("1 to 64"), "{err}");
        assert!(SubscribeOptions::new().max_in_flight(0).check(&limits()).is_err());
        SubscribeOptions::new().max_in_flight(64).check(&limits()).unwrap();
    }

    #[test]
    fn rings_and_buffers_out_of_range_are_refused() {
        assert!(SubscribeOptions::new().ring_bytes(128 << 20).check(&limits()).is_err());
        assert!(SubscribeOptions::new().buffer_bytes(1024).check(&limits()).is_err());
        assert!(SubscribeOptions::new().buffer_bytes(8 << 20).check(&limits()).is_err());
    }
}
