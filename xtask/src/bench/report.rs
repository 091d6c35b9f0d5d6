//! The benchmark's document: assembly of the runs' JSON lines into the
//! DESIGN.md contract, the targets of issue 6 read from the numbers, the
//! stdout table, the contract check CI runs, and the generated part of
//! `docs/benchmarks.md`.
//!
//! One `modes` entry per mode, payload and source: flat-out figures
//! (`events_per_s`, `events_per_completion`, `cpu`, `dropped_max_rate`) and
//! figures at 10k events/s (`p50_us`, `p99_us`, `max_us`, `dropped`, ...).

use super::{Results, LATENCY_RATE, MODES, PAYLOADS, SOURCES};
use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The run among `runs` with the median `events_per_s`, with every run's rate
/// kept in `events_per_s_runs`.
pub fn median_by_rate(mut runs: Vec<Value>) -> Value {
    runs.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
    let all: Vec<f64> = runs.iter().map(rate).collect();
    let mut mid = runs.swap_remove(runs.len() / 2);
    mid["events_per_s_runs"] = json!(all);
    mid
}

fn rate(v: &Value) -> f64 {
    v["events_per_s"].as_f64().unwrap_or(0.0)
}

/// The entry of `list` for a mode, source and payload.
pub fn find<'a>(list: &'a [Value], mode: &str, source: &str, payload: u32) -> Option<&'a Value> {
    list.iter().find(|v| v["name"] == mode && v["source"] == source && v["payload_bytes"] == payload)
}

/// Assembles the whole document.
pub fn document(engine: Value, r: &Results, quick: bool, seconds: f64) -> Value {
    let mut modes = Vec::new();
    for payload in PAYLOADS {
        for source in SOURCES {
            let seed = find(&r.max_rate, "seed-overlapped", source, payload).map(rate).unwrap_or(0.0);
            for mode in MODES {
                let (Some(m), Some(l)) =
                    (find(&r.max_rate, mode, source, payload), find(&r.latency, mode, source, payload))
                else {
                    continue;
                };
                modes.push(json!({
                    "name": mode,
                    "source": source,
                    "payload_bytes": payload,
                    "events_per_s": m["events_per_s"],
                    "events_per_s_runs": m["events_per_s_runs"],
                    "ratio_to_seed_overlapped": if seed > 0.0 { json!((rate(m) / seed * 10.0).round() / 10.0) } else { Value::Null },
                    "events_per_completion": m["events_per_completion"],
                    "cpu": m["cpu"],
                    "cpu_us_per_event": m["cpu_us_per_event"],
                    "dropped_max_rate": m["dropped"],
                    "latency_rate": LATENCY_RATE,
                    "p50_us": l["p50_us"],
                    "p99_us": l["p99_us"],
                    "max_us": l["max_us"],
                    "dropped": l["dropped"],
                    "events_per_s_10k": l["events_per_s"],
                    "events_per_completion_10k": l["events_per_completion"],
                    "cpu_10k": l["cpu"],
                    "in_flight": m["in_flight"],
                    "buffer_bytes": m["buffer_bytes"],
                    "policy": m["policy"],
                }));
            }
        }
    }
    let mut doc = json!({
        "command": if quick { "cargo xtask bench --quick" } else { "cargo xtask bench" },
        "quick": quick,
        "date": super::today(),
        "machine": super::machine(),
        "seconds": seconds.round(),
        "engine": engine,
        "modes": modes,
        "control": r.control,
        "half_rate": r.half_rate,
    });
    doc["targets"] = targets(&doc);
    doc
}

fn target(name: String, value: Option<f64>, op: &str, limit: f64) -> Value {
    let met = value.map(|v| if op == ">=" { v >= limit } else { v <= limit });
    json!({ "target": name, "value": value, "op": op, "limit": limit, "met": met })
}

/// Issue 6's targets, read from the numbers (never asserted).
pub fn targets(doc: &Value) -> Value {
    let modes = doc["modes"].as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for source in SOURCES {
        for (payload, limit) in [(32, 300.0), (256, 100.0)] {
            let k8 = find(&modes, "kchan-k8", source, payload);
            let v = k8.and_then(|e| e["ratio_to_seed_overlapped"].as_f64());
            out.push(target(format!("kchan-k8 / seed-overlapped events/s, {payload} B, {source}"), v, ">=", limit));
        }
    }
    for source in SOURCES {
        for payload in PAYLOADS {
            let k8 = find(&modes, "kchan-k8", source, payload);
            let p50 = k8.and_then(|e| e["p50_us"].as_f64());
            let p99 = k8.and_then(|e| e["p99_us"].as_f64());
            out.push(target(format!("kchan-k8 p50 us at 10k/s, {payload} B, {source}"), p50, "<=", 150.0));
            out.push(target(format!("kchan-k8 p99 us at 10k/s, {payload} B, {source}"), p99, "<=", 1000.0));
        }
    }
    for (c, load) in [(&doc["control"], "gen"), (&doc["control"]["inject"], "inject")] {
        let ratio = match (c["idle_p50_us"].as_f64(), c["loaded_p50_us"].as_f64()) {
            (Some(i), Some(l)) if i > 0.0 => Some((l / i * 100.0).round() / 100.0),
            _ => None,
        };
        out.push(target(format!("control p50 loaded / idle, {load} load"), ratio, "<=", 1.5));
    }
    for h in doc["half_rate"].as_array().cloned().unwrap_or_default() {
        let name =
            format!("kchan-k8 drops at half its highest rate ({} ev/s), {} B, gen", h["rate"], h["payload_bytes"]);
        out.push(target(name, h["dropped"].as_f64(), "<=", 0.0));
    }
    Value::Array(out)
}

/// Checks a document against the DESIGN.md contract (CI): the engine
/// figures, every mode for both payloads with the required keys, the
/// control object. Values must be numbers, except latencies, which may be
/// null when a run received nothing.
pub fn check_contract(doc: &Value) -> Result<()> {
    for key in ["publish_ns", "drain_gb_s"] {
        if !doc["engine"][key].is_number() {
            bail!("engine.{key} is missing or not a number");
        }
    }
    let Some(modes) = doc["modes"].as_array() else { bail!("`modes` is missing or not an array") };
    for mode in MODES {
        for payload in PAYLOADS {
            let Some(e) = modes.iter().find(|e| e["name"] == mode && e["payload_bytes"] == payload) else {
                bail!("modes has no entry for {mode} with {payload}-byte payloads");
            };
            for key in ["events_per_s", "dropped", "events_per_completion"] {
                if !e[key].is_number() {
                    bail!("{mode}/{payload}: `{key}` is missing or not a number");
                }
            }
            for key in ["p50_us", "p99_us"] {
                if !(e[key].is_number() || e[key].is_null()) || e.get(key).is_none() {
                    bail!("{mode}/{payload}: `{key}` is missing");
                }
            }
        }
    }
    for key in ["idle_p50_us", "loaded_p50_us"] {
        if !doc["control"][key].is_number() {
            bail!("control.{key} is missing or not a number");
        }
    }
    Ok(())
}

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

const HEADER: [&str; 12] = [
    "payload",
    "source",
    "mode",
    "events/s",
    "x seed-ovl",
    "ev/compl",
    "cpu",
    "p50",
    "p99",
    "max",
    "drops@10k",
    "drops@max",
];

fn rows(doc: &Value) -> Vec<[String; 12]> {
    let modes = doc["modes"].as_array().cloned().unwrap_or_default();
    modes
        .iter()
        .map(|e| {
            let ratio = e["ratio_to_seed_overlapped"].as_f64().map_or("-".into(), |r| {
                if r >= 100.0 {
                    format!("{r:.0}x")
                } else {
                    format!("{r:.1}x")
                }
            });
            [
                format!("{} B", e["payload_bytes"]),
                e["source"].as_str().unwrap_or("").into(),
                e["name"].as_str().unwrap_or("").into(),
                num(&e["events_per_s"]),
                ratio,
                num(&e["events_per_completion"]),
                num(&e["cpu"]),
                time_us(&e["p50_us"]),
                time_us(&e["p99_us"]),
                time_us(&e["max_us"]),
                num(&e["dropped"]),
                num(&e["dropped_max_rate"]),
            ]
        })
        .collect()
}

fn summary_lines(doc: &Value) -> Vec<String> {
    let e = &doc["engine"];
    let mut lines = Vec::new();
    for (c, load) in [(&doc["control"], "generator"), (&doc["control"]["inject"], "injector")] {
        lines.push(format!(
            "control, {load} load (IOCTL_STATS on the kchan-k8 handle): p50 {} idle, {} loaded ({} ev/s); p99 {} idle, {} loaded",
            time_us(&c["idle_p50_us"]), time_us(&c["loaded_p50_us"]), num(&c["loaded_events_per_s"]), time_us(&c["idle_p99_us"]), time_us(&c["loaded_p99_us"])
        ));
    }
    lines.push(format!("engine (native): publish {} ns, drain {} GB/s", num(&e["publish_ns"]), num(&e["drain_gb_s"])));
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

/// The stdout table, the control and engine lines, and the targets.
pub fn table(doc: &Value) -> String {
    let rows = rows(doc);
    let mut width = HEADER.map(str::len);
    for r in &rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(width).enumerate() {
            let _ = if i < 3 { write!(s, "{c:<w$}  ") } else { write!(s, "{c:>w$}  ") };
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = format!(
        "\nkchan bench{}: events/s flat out (rate 0), latency and drops@10k at {LATENCY_RATE} events/s\n",
        if doc["quick"] == true { " --quick (short runs: rough figures)" } else { "" }
    );
    out += &line(&HEADER.map(String::from));
    for r in &rows {
        out += &line(r);
    }
    out += "\n";
    for l in summary_lines(doc) {
        out += &l;
        out += "\n";
    }
    out
}

const BEGIN: &str = "<!-- bench:begin (generated by `cargo xtask bench`; edit outside these markers) -->";
const END: &str = "<!-- bench:end -->";

/// The generated section of `docs/benchmarks.md`.
pub fn markdown(doc: &Value) -> String {
    let mut s = format!("{BEGIN}\n\n");
    let _ = writeln!(
        s,
        "Command: `{}` · date: {} · machine: {}\n",
        doc["command"].as_str().unwrap_or(""),
        doc["date"].as_str().unwrap_or(""),
        doc["machine"].as_str().unwrap_or("")
    );
    let _ = writeln!(s, "events/s: flat out (rate 0, median of runs); latency (publish to receive) and `drops@10k` at {LATENCY_RATE} events/s; `cpu`: the consumer process's CPU time per second (`GetProcessTimes`), flat out.\n");
    s += &format!("| {} |\n|{}|\n", HEADER.join(" | "), HEADER.map(|_| "---").join("|"));
    for r in rows(doc) {
        let _ = writeln!(s, "| {} |", r.join(" | "));
    }
    s += "\n![events/s by mode](benchmarks.svg)\n\n";
    for l in summary_lines(doc) {
        let _ = writeln!(s, "- {l}");
    }
    s + "\n" + END + "\n"
}

/// Rewrites the generated section of `path`, keeping what is outside it.
pub fn update_markdown(doc: &Value, path: &std::path::Path) -> Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let section = markdown(doc);
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{}{}", &old[..b], section.trim_end(), &old[e + END.len()..]),
        _ => format!("# Benchmarks\n\nThe seed's consumer designs and kchan's, side by side (issue 6). Regenerate with `cargo xtask bench`.\n\n{section}"),
    };
    std::fs::write(path, new)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(mode: &str, source: &str, payload: u32, eps: f64) -> Value {
        json!({"name": mode, "source": source, "payload_bytes": payload, "events_per_s": eps, "events_per_completion": 1.0,
               "dropped": 0, "p50_us": 90.0, "p99_us": 400.0, "max_us": 900.0, "cpu": 0.5, "rate": 0})
    }

    fn results() -> Results {
        let mut all = Vec::new();
        for p in PAYLOADS {
            for s in SOURCES {
                for (i, m) in MODES.iter().enumerate() {
                    all.push(run(m, s, p, 10_000.0 * 10f64.powi(i as i32)));
                }
            }
        }
        Results {
            max_rate: all.iter().cloned().map(|v| median_by_rate(vec![v])).collect(),
            latency: all,
            half_rate: vec![json!({"rate": 5, "payload_bytes": 32, "dropped": 0})],
            control: json!({"idle_p50_us": 100.0, "loaded_p50_us": 160.0}),
        }
    }

    #[test]
    fn document_meets_the_contract_and_reads_targets() {
        let engine = json!({"publish_ns": 150.0, "drain_gb_s": 3.0});
        let doc = document(engine, &results(), true, 10.0);
        check_contract(&doc).unwrap();
        let k8 = find(doc["modes"].as_array().unwrap(), "kchan-k8", "gen", 32).unwrap();
        assert_eq!(k8["ratio_to_seed_overlapped"], json!(100.0));
        let t = doc["targets"].as_array().unwrap();
        assert_eq!(t[0]["met"], json!(false)); // 100x < 300x
        assert!(t.iter().any(|t| t["target"] == "control p50 loaded / idle, gen load" && t["met"] == json!(false)));
        assert!(table(&doc).contains("kchan-k8"));
        assert!(markdown(&doc).contains("| 32 B | gen | seed-sync |"));
    }

    #[test]
    fn check_rejects_missing_keys() {
        let engine = json!({"publish_ns": null, "drain_gb_s": 3.0});
        assert!(check_contract(&document(engine, &results(), true, 1.0)).is_err());
        let mut doc = document(json!({"publish_ns": 1, "drain_gb_s": 1}), &results(), true, 1.0);
        doc["modes"].as_array_mut().unwrap().retain(|e| e["name"] != "kchan-k1");
        assert!(check_contract(&doc).is_err());
    }

    #[test]
    fn median_keeps_the_middle_run() {
        let m = median_by_rate(vec![run("a", "gen", 32, 3.0), run("a", "gen", 32, 1.0), run("a", "gen", 32, 2.0)]);
        assert_eq!(m["events_per_s"], json!(2.0));
        assert_eq!(m["events_per_s_runs"], json!([1.0, 2.0, 3.0]));
    }

    #[test]
    fn markdown_section_is_replaced_in_place() {
        let dir = std::env::temp_dir().join(format!("kchan-bench-md-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("b.md");
        std::fs::write(&path, format!("intro\n{BEGIN}\nold\n{END}\nnotes\n")).unwrap();
        let doc = document(json!({"publish_ns": 1, "drain_gb_s": 1}), &results(), false, 1.0);
        update_markdown(&doc, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("intro\n") && text.ends_with("notes\n") && !text.contains("\nold\n"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
