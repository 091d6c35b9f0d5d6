//! What `kchan monitor` shows: counters over an interval and in total, a
//! latency histogram, and their rendering as a text line or a JSON object.
//! Portable, so it is tested on the host.

use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// Driver-side loss counters of the monitor's own subscriber.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drops {
    /// Lost because the ring was full (drop-newest).
    pub ring_full: u64,
    /// Lost because they were overwritten (drop-oldest).
    pub overwritten: u64,
}

/// The monitor's numbers.
pub struct View {
    total_events: u64,
    total_completions: u64,
    interval_events: u64,
    interval_completions: u64,
    gaps: u64,
    lost: u64,
    drops: Drops,
    latency_us: Histogram<u64>,
    interval_latency_us: Histogram<u64>,
}

impl Default for View {
    fn default() -> Self {
        View::new()
    }
}

impl View {
    /// Empty counters; latencies are tracked from 1 us to 100 s.
    pub fn new() -> View {
        let hist = || Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid histogram bounds");
        View {
            total_events: 0,
            total_completions: 0,
            interval_events: 0,
            interval_completions: 0,
            gaps: 0,
            lost: 0,
            drops: Drops::default(),
            latency_us: hist(),
            interval_latency_us: hist(),
        }
    }

    /// One received event with its publish-to-receive latency.
    pub fn event(&mut self, latency_us: u64) {
        self.total_events += 1;
        self.interval_events += 1;
        let v = latency_us.clamp(1, 100_000_000);
        let _ = self.latency_us.record(v);
        let _ = self.interval_latency_us.record(v);
    }

    /// One gap record: `count` events lost.
    pub fn gap(&mut self, count: u64) {
        self.gaps += 1;
        self.lost += count;
    }

    /// One completed receive.
    pub fn completion(&mut self) {
        self.total_completions += 1;
        self.interval_completions += 1;
    }

    /// The driver's loss counters, as last read.
    pub fn set_drops(&mut self, drops: Drops) {
        self.drops = drops;
    }

    /// The interval's line for a human, then starts a new interval.
    pub fn interval_line(&mut self, elapsed_s: f64, interval_s: f64) -> String {
        let line = format!(
            "{elapsed_s:6.1}s  {:>9} ev/s  total {:>10}  dropped {} (ring full {}, overwritten {})  gaps {} ({} lost)  \
             latency p50 {} us p99 {} us  {:.1} ev/completion",
            rate(self.interval_events, interval_s),
            self.total_events,
            self.drops.ring_full + self.drops.overwritten,
            self.drops.ring_full,
            self.drops.overwritten,
            self.gaps,
            self.lost,
            self.interval_latency_us.value_at_quantile(0.5),
            self.interval_latency_us.value_at_quantile(0.99),
            per(self.interval_events, self.interval_completions),
        );
        self.reset_interval();
        line
    }

    /// The interval as one JSON object, then starts a new interval.
    pub fn interval_json(&mut self, elapsed_s: f64, interval_s: f64) -> Value {
        let value = json!({
            "t": round3(elapsed_s),
            "events_per_s": rate(self.interval_events, interval_s),
            "total": self.total_events,
            "dropped_ring_full": self.drops.ring_full,
            "dropped_overwritten": self.drops.overwritten,
            "gaps": self.gaps,
            "lost": self.lost,
            "p50_us": self.interval_latency_us.value_at_quantile(0.5),
            "p99_us": self.interval_latency_us.value_at_quantile(0.99),
            "events_per_completion": round3(per(self.interval_events, self.interval_completions)),
        });
        self.reset_interval();
        value
    }

    /// The whole run, as a JSON object (`"summary": true`).
    pub fn summary_json(&self, elapsed_s: f64) -> Value {
        json!({
            "summary": true,
            "seconds": round3(elapsed_s),
            "events": self.total_events,
            "events_per_s": rate(self.total_events, elapsed_s),
            "completions": self.total_completions,
            "events_per_completion": round3(per(self.total_events, self.total_completions)),
            "dropped_ring_full": self.drops.ring_full,
            "dropped_overwritten": self.drops.overwritten,
            "gaps": self.gaps,
            "lost": self.lost,
            "p50_us": self.latency_us.value_at_quantile(0.5),
            "p99_us": self.latency_us.value_at_quantile(0.99),
            "max_us": self.latency_us.max(),
        })
    }

    /// The whole run, for a human.
    pub fn summary_text(&self, elapsed_s: f64) -> String {
        format!(
            "summary: {} events in {:.1} s ({} ev/s), {} completions ({:.1} ev/completion)\n\
             dropped: {} ring full, {} overwritten; {} gap records reporting {} lost events\n\
             latency publish->receive: p50 {} us, p99 {} us, max {} us",
            self.total_events,
            elapsed_s,
            rate(self.total_events, elapsed_s),
            self.total_completions,
            per(self.total_events, self.total_completions),
            self.drops.ring_full,
            self.drops.overwritten,
            self.gaps,
            self.lost,
            self.latency_us.value_at_quantile(0.5),
            self.latency_us.value_at_quantile(0.99),
            self.latency_us.max(),
        )
    }

    fn reset_interval(&mut self) {
        self.interval_events = 0;
        self.interval_completions = 0;
        self.interval_latency_us.reset();
    }
}

fn rate(count: u64, seconds: f64) -> u64 {
    if seconds > 0.0 {
        (count as f64 / seconds).round() as u64
    } else {
        0
    }
}

fn per(events: u64, completions: u64) -> f64 {
    if completions == 0 {
        0.0
    } else {
        events as f64 / completions as f64
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_and_summary_numbers() {
        let mut v = View::new();
        for lat in [10, 20, 30, 40] {
            v.event(lat);
        }
        v.completion();
        v.completion();
        v.gap(5);
        v.set_drops(Drops { ring_full: 5, overwritten: 0 });
        let j = v.interval_json(1.0, 0.5);
        assert_eq!(j["events_per_s"], 8);
        assert_eq!(j["total"], 4);
        assert_eq!(j["lost"], 5);
        assert_eq!(j["dropped_ring_full"], 5);
        assert_eq!(j["events_per_completion"], 2.0);
        assert_eq!(j["p50_us"], 20);
        // The interval was reset; totals were not.
        let j2 = v.interval_json(1.5, 0.5);
        assert_eq!(j2["events_per_s"], 0);
        assert_eq!(j2["total"], 4);
        let s = v.summary_json(2.0);
        assert_eq!(s["events"], 4);
        assert_eq!(s["max_us"], 40);
        assert!(v.summary_text(2.0).contains("4 events"));
    }
}
