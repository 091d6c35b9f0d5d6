//! The document as text: three tables (throughput flat out, latency at
//! 10k/s, latency against rate), the floor, control, zero-drop and engine
//! lines and the targets, printed on stdout and written between the
//! markers of `docs/benchmarks.md` (everything outside them is kept).

use super::document::find;
use super::{LATENCY_RATE, PAYLOADS, SOURCES};
use serde_json::Value;
use std::fmt::Write as _;

/// A count or rate, in the unit that reads best.
fn num(v: &Value) -> String {
    match v.as_f64() {
        None => "-".into(),
        Some(x) if x >= 1e6 => format!("{:.2}M", x / 1e6),
        Some(x) if x >= 1e4 => format!("{:.1}k", x / 1e3),
        Some(x) if x.fract() == 0.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.2}"),
    }
}

/// A latency in microseconds, in the unit that reads best.
fn time_us(v: &Value) -> String {
    match v.as_f64() {
        None => "-".into(),
        Some(x) if x >= 1e6 => format!("{:.2} s", x / 1e6),
        Some(x) if x >= 1e3 => format!("{:.2} ms", x / 1e3),
        Some(x) => format!("{x:.0} us"),
    }
}

/// A ratio (`1134x`, `1.3x`).
fn ratio(v: &Value) -> String {
    match v.as_f64() {
        None => "-".into(),
        Some(r) if r >= 100.0 => format!("{r:.0}x"),
        Some(r) => format!("{r:.1}x"),
    }
}

/// A latency and its multiple of the floor: `381 us (2.9x)`.
fn time_x(time: &Value, x: &Value) -> String {
    match x.as_f64() {
        Some(_) => format!("{} ({})", time_us(time), ratio(x)),
        None => time_us(time),
    }
}

/// `min-max` of a list of numbers, formatted by `fmt`.
fn range(v: &Value, fmt: fn(&Value) -> String) -> String {
    let values: Vec<f64> = v.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
    match (values.iter().copied().reduce(f64::min), values.iter().copied().reduce(f64::max)) {
        (Some(lo), Some(hi)) => format!("{}-{}", fmt(&lo.into()), fmt(&hi.into())),
        _ => "-".into(),
    }
}

/// Bytes as MiB or KiB.
fn bytes(v: &Value) -> String {
    match v.as_f64() {
        None => "-".into(),
        Some(b) if b >= 1024.0 * 1024.0 => format!("{:.1} MiB", b / (1024.0 * 1024.0)),
        Some(b) => format!("{:.0} KiB", b / 1024.0),
    }
}

/// A table: its title, header and rows; the first `left` columns are text.
struct Table {
    title: String,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    left: usize,
}

impl Table {
    fn plain(&self) -> String {
        let mut width: Vec<usize> = self.header.iter().map(|h| h.len()).collect();
        for r in &self.rows {
            for (w, cell) in width.iter_mut().zip(r) {
                *w = (*w).max(cell.len());
            }
        }
        let line = |cells: Vec<String>| {
            let mut s = String::new();
            for (i, (c, w)) in cells.iter().zip(&width).enumerate() {
                let _ = if i < self.left { write!(s, "{c:<w$}  ") } else { write!(s, "{c:>w$}  ") };
            }
            s.trim_end().to_string() + "\n"
        };
        let mut out = format!("\n{}\n", self.title);
        out += &line(self.header.iter().map(|h| h.to_string()).collect());
        for r in &self.rows {
            out += &line(r.clone());
        }
        out
    }

    fn markdown(&self) -> String {
        let mut out = format!(
            "#### {}\n\n| {} |\n|{}|\n",
            self.title,
            self.header.join(" | "),
            vec!["---"; self.header.len()].join("|")
        );
        for r in &self.rows {
            let _ = writeln!(out, "| {} |", r.join(" | "));
        }
        out
    }
}

fn modes(doc: &Value) -> Vec<Value> {
    doc["modes"].as_array().cloned().unwrap_or_default()
}

fn throughput(doc: &Value) -> Table {
    let rows = modes(doc)
        .iter()
        .map(|e| {
            vec![
                format!("{} B", e["payload_bytes"]),
                e["source"].as_str().unwrap_or("").into(),
                e["name"].as_str().unwrap_or("").into(),
                num(&e["events_per_s"]),
                range(&e["events_per_s_runs"], num),
                num(&e["completions_per_s"]),
                num(&e["events_per_completion"]),
                ratio(&e["ratio_to_seed_overlapped"]),
                range(&e["ratio_runs"], ratio),
                num(&e["mb_per_s"]),
                num(&e["cpu"]),
                num(&e["dropped_max_rate"]),
                format!("{} / {}", bytes(&e["ring_high_water"]), bytes(&e["ring_bytes"])),
            ]
        })
        .collect();
    Table {
        title: "Throughput flat out (rate 0): median of rounds, [min-max] over rounds; x seed-ovl also round by round"
            .into(),
        header: vec![
            "payload",
            "source",
            "mode",
            "events/s",
            "[runs]",
            "compl/s",
            "ev/compl",
            "x seed-ovl",
            "[per round]",
            "MB/s",
            "cpu",
            "drops",
            "ring peak / size",
        ],
        rows,
        left: 3,
    }
}

fn latency(doc: &Value) -> Table {
    let rows = modes(doc)
        .iter()
        .filter(|e| !e["p50_us"].is_null() || !e["events_per_s_10k"].is_null())
        .map(|e| {
            vec![
                format!("{} B", e["payload_bytes"]),
                e["source"].as_str().unwrap_or("").into(),
                e["name"].as_str().unwrap_or("").into(),
                time_x(&e["p50_us"], &e["p50_x_floor"]),
                time_x(&e["p99_us"], &e["p99_x_floor"]),
                format!("{} / {}", time_us(&e["p50_worst_us"]), time_us(&e["p99_worst_us"])),
                time_us(&e["max_us"]),
                num(&e["latency_runs"]),
                num(&e["completions_per_s_10k"]),
                num(&e["events_per_completion_10k"]),
                num(&e["dropped"]),
            ]
        })
        .collect();
    Table {
        title: format!(
            "Latency at {} events/s, publish to receive: median of runs (x floor.delivery of the same run), worst run",
            LATENCY_RATE
        ),
        header: vec![
            "payload",
            "source",
            "mode",
            "p50 (x floor)",
            "p99 (x floor)",
            "worst p50 / p99",
            "max",
            "runs",
            "compl/s",
            "ev/compl",
            "drops",
        ],
        rows,
        left: 3,
    }
}

fn sweep(doc: &Value) -> Table {
    let rows = doc["latency_vs_rate"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let half = if p["half_of_highest"] == true { " (half of highest)" } else { "" };
            vec![
                format!("{} B", p["payload_bytes"]),
                p["name"].as_str().unwrap_or("").into(),
                format!("{}{half}", num(&p["rate"])),
                num(&p["events_per_s"]),
                time_x(&p["p50_us"], &p["p50_x_floor"]),
                time_x(&p["p99_us"], &p["p99_x_floor"]),
                num(&p["events_per_completion"]),
                num(&p["runs"]),
                num(&p["dropped"]),
            ]
        })
        .collect();
    Table {
        title: "Latency against rate, driver generator: median of runs (x floor.delivery)".into(),
        header: vec![
            "payload",
            "mode",
            "rate",
            "events/s",
            "p50 (x floor)",
            "p99 (x floor)",
            "ev/compl",
            "runs",
            "drops",
        ],
        rows,
        left: 2,
    }
}

fn summary_lines(doc: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    let fl = &doc["floor"];
    lines.push(format!(
        "floor.rtt (IOCTL_VERSION on an idle overlapped handle): p50 {}, p99 {}; floor.delivery (one receive pending, one event injected at a time): p50 {}, p99 {} (median of {} rounds)",
        time_us(&fl["rtt_p50_us"]),
        time_us(&fl["rtt_p99_us"]),
        time_us(&fl["delivery_p50_us"]),
        time_us(&fl["delivery_p99_us"]),
        fl["runs"].as_array().map_or(0, Vec::len)
    ));
    for (c, load) in [(&doc["control"], "generator"), (&doc["control"]["inject"], "injector")] {
        if c.is_null() {
            continue;
        }
        lines.push(format!(
            "control, {load} load (IOCTL_STATS on the kchan-k8 handle; {} cycles of blocks: idle, half rate, idle, flat out): p50 {} idle, {} at half rate ({} ev/s, {}), {} flat out ({} ev/s, {}); p99 {} idle, {} half rate, {} flat out",
            num(&c["blocks"]),
            time_us(&c["idle_p50_us"]),
            time_us(&c["half_rate_loaded_p50_us"]),
            num(&c["half_rate_events_per_s"]),
            ratio(&c["half_rate_loaded_p50_x_idle"]),
            time_us(&c["loaded_p50_us"]),
            num(&c["loaded_events_per_s"]),
            ratio(&c["loaded_p50_x_idle"]),
            time_us(&c["idle_p99_us"]),
            time_us(&c["half_rate_loaded_p99_us"]),
            time_us(&c["loaded_p99_us"]),
        ));
    }
    for z in doc["zero_drop"].as_array().cloned().unwrap_or_default() {
        lines.push(format!(
            "zero drops, kchan-k8, generator at half its highest rate ({} ev/s), {} B, {} ring ({}, {} ms of records at this rate): drops {} over {} runs; largest ring occupancy {} ({:.0} %); the consumer's longest stall {}, the longest latency {}",
            num(&z["rate"]),
            z["payload_bytes"],
            z["ring_sizing"].as_str().unwrap_or(""),
            bytes(&z["ring_bytes"]),
            num(&z["ring_ms"]),
            z["dropped_runs"],
            z["runs"],
            bytes(&z["ring_high_water_max"]),
            z["occupancy_max"].as_f64().unwrap_or(0.0) * 100.0,
            time_us(&z["longest_stall_us"]),
            time_us(&z["max_us"]),
        ));
    }
    let e = &doc["engine"];
    let end_to_end: Vec<String> = PAYLOADS
        .iter()
        .filter_map(|&p| {
            find(&modes(doc), "kchan-k8", "gen-wait", p).map(|m| format!("{} MB/s at {p} B", num(&m["mb_per_s"])))
        })
        .collect();
    lines.push(format!(
        "engine copy, in-process (native, no driver, no Wine): publish {} ns, drain {} GB/s; end to end through Wine, kchan-k8 with the waiting generator: {}",
        num(&e["publish_ns"]),
        num(&e["drain_gb_s"]),
        if end_to_end.is_empty() { "-".into() } else { end_to_end.join(", ") }
    ));
    let all = modes(doc);
    for source in SOURCES {
        for payload in PAYLOADS {
            let Some(k8) = find(&all, "kchan-k8", source, payload) else { continue };
            let Some(share) = k8["seed_ioctl_rtt_share"].as_f64() else { continue };
            if k8["ratio_without_ioctl_rtt"].is_null() {
                lines.push(format!(
                    "Wine's per-IOCTL cost in the headline ratio, {payload} B, {source}: one no-op round trip (floor.rtt p50, {}) takes {:.0} % or more of seed-overlapped's time per event here, so nearly all of the seed's time is that cost and the ratio {} cannot be split. Quote it nowhere as a Windows figure: there a no-op IOCTL takes microseconds (not measured here)",
                    time_us(&doc["floor"]["rtt_p50_us"]),
                    (share * 100.0).min(100.0),
                    ratio(&k8["ratio_to_seed_overlapped"]),
                ));
                continue;
            }
            lines.push(format!(
                "Wine's per-IOCTL cost in the headline ratio, {payload} B, {source}: one no-op round trip (floor.rtt p50) is {:.0} % of seed-overlapped's time per event here; without it kchan-k8 / seed-overlapped would be {} instead of {}. Quote neither as a Windows figure: there a no-op IOCTL takes microseconds, not {} (not measured here)",
                share * 100.0,
                ratio(&k8["ratio_without_ioctl_rtt"]),
                ratio(&k8["ratio_to_seed_overlapped"]),
                time_us(&doc["floor"]["rtt_p50_us"]),
            ));
        }
    }
    for t in doc["targets"].as_array().cloned().unwrap_or_default() {
        let mark = match t["met"].as_bool() {
            Some(true) => "met   ",
            Some(false) => "MISSED",
            None => "n/a   ",
        };
        lines.push(format!(
            "[{mark}] {}: {} ({} {})",
            t["target"].as_str().unwrap_or(""),
            num(&t["value"]),
            t["op"].as_str().unwrap_or(""),
            num(&t["limit"])
        ));
    }
    lines
}

fn tables(doc: &Value) -> [Table; 3] {
    [throughput(doc), latency(doc), sweep(doc)]
}

/// The stdout report: the tables, then one line per floor, control load,
/// zero-drop payload, the engine, Wine's share of the ratio, and targets.
pub fn table(doc: &Value) -> String {
    let mut out = format!(
        "\nkchan bench{}; every mode subscribes with a {} ring\n",
        if doc["quick"] == true { " --quick (short runs: rough figures)" } else { "" },
        bytes(&doc["ring_bytes"])
    );
    for t in tables(doc) {
        out += &t.plain();
    }
    out += "\n";
    for l in summary_lines(doc) {
        out += &l;
        out += "\n";
    }
    out
}

/// First line of the generated section of `docs/benchmarks.md`.
pub const BEGIN: &str = "<!-- bench:begin (generated by `cargo xtask bench`; edit outside these markers) -->";
/// Last line of the generated section.
pub const END: &str = "<!-- bench:end -->";

/// The generated section of `docs/benchmarks.md`.
pub fn markdown(doc: &Value) -> String {
    let mut s = format!("{BEGIN}\n\n");
    let _ = writeln!(
        s,
        "Command: `{}` · date: {} · machine: {} · every mode subscribes with a {} ring\n",
        doc["command"].as_str().unwrap_or(""),
        doc["date"].as_str().unwrap_or(""),
        doc["machine"].as_str().unwrap_or(""),
        bytes(&doc["ring_bytes"])
    );
    for (i, t) in tables(doc).iter().enumerate() {
        s += &t.markdown();
        s += "\n";
        if i == 0 {
            s += "![events/s by mode](benchmarks.svg)\n\n";
        }
    }
    s += "![latency against rate, with the floor](benchmarks-latency.svg)\n\n";
    for l in summary_lines(doc) {
        let _ = writeln!(s, "- {l}");
    }
    s + "\n" + END + "\n"
}

/// Rewrites the generated section of `path`, keeping what is outside it.
pub fn update_markdown(doc: &Value, path: &std::path::Path) -> std::io::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let section = markdown(doc);
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{}{}", &old[..b], section.trim_end(), &old[e + END.len()..]),
        _ => format!("# Benchmarks\n\nRegenerate with `cargo xtask bench`.\n\n{section}"),
    };
    std::fs::write(path, new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::tests::doc;

    #[test]
    fn tables_show_every_mode_and_the_floor() {
        let doc = doc();
        let text = table(&doc);
        assert!(text.contains("kchan-k8") && text.contains("gen-wait"));
        assert!(text.contains("300 us (2.0x)"), "latency beside its multiple of the floor");
        assert!(text.contains("100x-100x"), "per-round ratio range");
        assert!(text.contains("floor.delivery"));
        assert!(text.contains("engine copy, in-process"));
        assert!(markdown(&doc).contains("| 32 B | gen | seed-sync |"));
        assert!(markdown(&doc).contains("benchmarks-latency.svg"));
    }

    #[test]
    fn markdown_section_is_replaced_in_place() {
        let dir = std::env::temp_dir().join(format!("kchan-bench-md-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("b.md");
        std::fs::write(&path, format!("intro\n{BEGIN}\nold\n{END}\nnotes\n")).unwrap();
        update_markdown(&doc(), &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("intro\n") && text.ends_with("notes\n") && !text.contains("\nold\n"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
