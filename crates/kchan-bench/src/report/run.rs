//! What one `kchan-bench` invocation counts and the JSON line it prints.
//!
//! Latencies are recorded in the driver's clock unit, 100 ns ticks, into an
//! HDR histogram (3 significant digits, up to 60 s) and reported in
//! microseconds. CPU time is in the same 100 ns unit (`GetProcessTimes`).

use hdrhistogram::Histogram;
use kchan_proto::{record_size, Record};
use serde_json::{json, Value};

/// Highest latency the histogram holds: 60 s in 100 ns ticks (more saturates).
const MAX_TICKS: u64 = 600_000_000;

/// An empty latency histogram of 100 ns ticks.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TICKS, 3).expect("static histogram bounds are valid")
}

/// What a consumer saw during one phase of a run.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Events received.
    pub events: u64,
    /// Receives completed with a batch.
    pub completions: u64,
    /// Batch bytes received (headers included).
    pub bytes: u64,
    /// Gap records received.
    pub gaps: u64,
    /// Events the gap records say were lost.
    pub lost: u64,
    /// Publish-to-receive latency of every event, 100 ns ticks.
    pub latency: Histogram<u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally::new()
    }
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Tally {
        Tally { events: 0, completions: 0, bytes: 0, gaps: 0, lost: 0, latency: histogram() }
    }

    /// Counts one completed receive of `bytes` batch bytes whose records were
    /// received at `now` (100 ns ticks of the clock the driver stamps with).
    pub fn batch<'a>(&mut self, records: impl IntoIterator<Item = Record<'a>>, bytes: usize, now: u64) {
        self.completions += 1;
        self.bytes += bytes as u64;
        for record in records {
            match record {
                Record::Event { timestamp, .. } => {
                    self.events += 1;
                    self.latency.saturating_record(now.saturating_sub(timestamp));
                }
                Record::Gap { count, .. } => {
                    self.gaps += 1;
                    self.lost += count;
                }
            }
        }
    }
}

/// Microseconds at `q` (0..=1) of a histogram of 100 ns ticks; null if empty.
pub fn quantile_us(h: &Histogram<u64>, q: f64) -> Value {
    if h.is_empty() {
        Value::Null
    } else {
        json!(round2(h.value_at_quantile(q) as f64 / 10.0))
    }
}

/// Largest value of a histogram of 100 ns ticks, in microseconds; null if empty.
pub fn max_us(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        Value::Null
    } else {
        json!(round2(h.max() as f64 / 10.0))
    }
}

/// Rounds to two decimals (JSON readability; the figures are not that precise).
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The describing half of a run's result (what was run).
#[derive(Debug, Clone)]
pub struct RunSetup {
    /// Mode name (`seed-sync`, ...).
    pub mode: &'static str,
    /// Source name (`gen`, `gen-wait`, `inject`).
    pub source: &'static str,
    /// Asked rate, events/s (0 = flat out).
    pub rate: u32,
    /// Payload bytes per event.
    pub payload_bytes: u32,
    /// Receives in flight.
    pub in_flight: u32,
    /// Receive buffer bytes.
    pub buffer_bytes: usize,
    /// Completion policy name.
    pub policy: &'static str,
}

/// The measured half of a run's result.
#[derive(Debug, Clone, Default)]
pub struct RunMeasure {
    /// Measured seconds.
    pub seconds: f64,
    /// What the consumer saw during them.
    pub tally: Tally,
    /// The driver's drop counters of this subscriber, over the window.
    pub dropped: u64,
    /// Records the driver published to this subscriber over the window.
    pub published: u64,
    /// The consumer process's CPU time over the window, 100 ns ticks.
    pub cpu_ticks: u64,
    /// The subscriber's ring capacity in the driver, bytes.
    pub ring_bytes: u64,
    /// The most bytes its ring ever held (warm-up included).
    pub ring_high_water: u64,
    /// The longest time between two batches the consumer received, us.
    pub longest_stall_us: u64,
}

/// The one JSON line of a `run`.
pub fn run_json(setup: &RunSetup, m: &RunMeasure) -> Value {
    let t = &m.tally;
    let secs = m.seconds.max(1e-9);
    let per_completion = if t.completions == 0 { 0.0 } else { t.events as f64 / t.completions as f64 };
    let cpu_s = m.cpu_ticks as f64 / 1e7;
    // How long the ring holds at the rate records were published to it.
    let published_bytes_per_s = m.published as f64 * record_size(setup.payload_bytes as usize) as f64 / secs;
    let ring_ms = if published_bytes_per_s > 0.0 {
        json!(round2(m.ring_bytes as f64 / published_bytes_per_s * 1e3))
    } else {
        Value::Null
    };
    json!({
        "name": setup.mode,
        "source": setup.source,
        "rate": setup.rate,
        "payload_bytes": setup.payload_bytes,
        "in_flight": setup.in_flight,
        "buffer_bytes": setup.buffer_bytes,
        "policy": setup.policy,
        "seconds": round2(m.seconds),
        "events": t.events,
        "events_per_s": (t.events as f64 / secs).round(),
        "completions": t.completions,
        "completions_per_s": (t.completions as f64 / secs).round(),
        "events_per_completion": round2(per_completion),
        "mb_per_s": round2(t.bytes as f64 / secs / 1e6),
        "published": m.published,
        "dropped": m.dropped,
        "gaps": t.gaps,
        "lost": t.lost,
        "ring_bytes": m.ring_bytes,
        "ring_high_water": m.ring_high_water,
        "ring_ms": ring_ms,
        "longest_stall_us": m.longest_stall_us,
        "cpu": round2(cpu_s / secs),
        "cpu_us_per_event": if t.events == 0 { Value::Null } else { json!(round2(cpu_s * 1e6 / t.events as f64)) },
        "p50_us": quantile_us(&t.latency, 0.50),
        "p99_us": quantile_us(&t.latency, 0.99),
        "max_us": max_us(&t.latency),
    })
}

/// The one JSON line of a `floor` run: the no-op round trip and the
/// one-event delivery, from histograms of 100 ns ticks.
pub fn floor_json(rtt: &Histogram<u64>, delivery: &Histogram<u64>) -> Value {
    json!({
        "rtt_p50_us": quantile_us(rtt, 0.50),
        "rtt_p99_us": quantile_us(rtt, 0.99),
        "delivery_p50_us": quantile_us(delivery, 0.50),
        "delivery_p99_us": quantile_us(delivery, 0.99),
        "samples": rtt.len().min(delivery.len()),
    })
}

/// One load level of a `control` run: its round trips and the events/s
/// the consumer received meanwhile.
pub struct ControlPhase<'a> {
    /// Round trips, 100 ns ticks, all blocks of this level together.
    pub round_trips: &'a Histogram<u64>,
    /// Events per second delivered while this level ran (0 when idle).
    pub events_per_s: f64,
}

/// The one JSON line of a `control` run: idle, half-rate and flat-out
/// blocks, interleaved, each level's round trips pooled.
pub fn control_json(
    idle: &ControlPhase,
    half: &ControlPhase,
    flat: &ControlPhase,
    half_rate: u32,
    blocks: u32,
) -> Value {
    json!({
        "idle_p50_us": quantile_us(idle.round_trips, 0.50),
        "idle_p99_us": quantile_us(idle.round_trips, 0.99),
        "half_rate_loaded_p50_us": quantile_us(half.round_trips, 0.50),
        "half_rate_loaded_p99_us": quantile_us(half.round_trips, 0.99),
        "loaded_p50_us": quantile_us(flat.round_trips, 0.50),
        "loaded_p99_us": quantile_us(flat.round_trips, 0.99),
        "samples": idle.round_trips.len().min(half.round_trips.len()).min(flat.round_trips.len()),
        "blocks": blocks,
        "half_rate": half_rate,
        "half_rate_events_per_s": half.events_per_s.round(),
        "loaded_events_per_s": flat.events_per_s.round(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kchan_proto::GapReason;

    fn ev(ts: u64) -> Record<'static> {
        Record::Event { seq: 0, kind: 0, timestamp: ts, payload: b"" }
    }

    #[test]
    fn tally_counts_events_gaps_and_latency() {
        let mut t = Tally::new();
        t.batch([ev(100), ev(200)], 64, 1_100); // 100 us and 90 us
        t.batch(
            [Record::Gap { first_seq: 2, count: 5, reason: GapReason::RingFull, timestamp: 0 }, ev(2_000)],
            88,
            1_000, // stamp ahead of now: counts as 0
        );
        assert_eq!((t.events, t.completions, t.gaps, t.lost, t.bytes), (3, 2, 1, 5, 152));
        assert_eq!(t.latency.max(), 1_000);
        assert_eq!(t.latency.min(), 0);
        assert_eq!(quantile_us(&t.latency, 1.0), json!(100.0));
    }

    #[test]
    fn run_json_has_the_contract_keys() {
        let setup = RunSetup {
            mode: "kchan-k8",
            source: "gen",
            rate: 0,
            payload_bytes: 32,
            in_flight: 8,
            buffer_bytes: 65536,
            policy: "adaptive",
        };
        let mut m = RunMeasure {
            seconds: 2.0,
            cpu_ticks: 10_000_000,
            dropped: 3,
            ring_bytes: 1 << 22,
            ring_high_water: 4096,
            published: 4,
            ..RunMeasure::default()
        };
        m.tally.batch([ev(0), ev(0), ev(0), ev(0)], 2_000_000, 500);
        let v = run_json(&setup, &m);
        for key in ["name", "payload_bytes", "events_per_s", "p50_us", "p99_us", "dropped", "events_per_completion"] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["events_per_s"], json!(2.0));
        assert_eq!(v["completions_per_s"], json!(1.0));
        assert_eq!(v["events_per_completion"], json!(4.0));
        assert_eq!(v["mb_per_s"], json!(1.0));
        assert_eq!((v["ring_bytes"].as_u64(), v["ring_high_water"].as_u64()), (Some(1 << 22), Some(4096)));
        assert_eq!(v["cpu"], json!(0.5));
        assert_eq!(v["p50_us"], json!(50.0));
        // 4 MiB holds 37,449 s of 2 records/s of 56 bytes.
        assert_eq!(v["ring_ms"], json!(round2(4_194_304.0 / 112.0 * 1e3)));
    }

    #[test]
    fn empty_histograms_give_null() {
        let empty = histogram();
        assert_eq!(quantile_us(&empty, 0.5), Value::Null);
        let idle = ControlPhase { round_trips: &empty, events_per_s: 0.0 };
        let v = control_json(&idle, &idle, &idle, 5, 2);
        assert_eq!(v["idle_p50_us"], Value::Null);
        assert_eq!(v["half_rate_loaded_p50_us"], Value::Null);
        assert_eq!(v["samples"], json!(0));
        assert_eq!(floor_json(&empty, &empty)["delivery_p99_us"], Value::Null);
    }
}
