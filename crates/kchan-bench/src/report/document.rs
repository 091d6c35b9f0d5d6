//! The benchmark's document: the runs' JSON lines assembled into the
//! contract (`floor`, `modes`, `latency_vs_rate`, `zero_drop`, `control`,
//! `engine`); [`super::contract`] reads the targets from it and checks it.
//!
//! Every figure that divides by a floor uses the floor of the same run.
//! Flat-out figures are the median of rounds, with every round kept; ratios
//! are also taken round by round (both designs measured in the same round)
//! and shown as a min-max range.

use super::{is_seed, LATENCY_RATE, MODES, PAYLOADS, RING_DEFAULT, RING_IN_TIME, SOURCES};
use crate::report::run::round2;
use serde_json::{json, Value};

/// Above this share of the seed's time per event taken by one no-op round
/// trip, the headline ratio is not split into Wine's part and the rest.
const SPLIT_LIMIT: f64 = 0.9;

/// What the runs of a benchmark produced, before assembly. Every list holds
/// the JSON lines of `kchan-bench` as printed; flat-out lines also carry the
/// `round` they ran in.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// `kchan-bench floor` lines, one per round.
    pub floors: Vec<Value>,
    /// Flat-out runs (rate 0), every mode, source and payload, every round.
    pub max_rate: Vec<Value>,
    /// Runs at [`LATENCY_RATE`] (repeated for the kchan modes).
    pub latency: Vec<Value>,
    /// The other points of the latency-vs-rate sweep (generator).
    pub sweep: Vec<Value>,
    /// kchan-k8 with the generator at half its highest rate, repeated per
    /// payload, with the ring every mode has and with a ring sized in time
    /// (`ring_sizing`): the zero-drop runs (the former also kchan-k8's
    /// half-rate sweep point).
    pub half_rate: Vec<Value>,
    /// The `control` line under the generator, the injector's in `inject`.
    pub control: Value,
}

/// The lines of `list` for a mode, source and payload.
pub fn runs<'a>(list: &'a [Value], mode: &str, source: &str, payload: u32) -> Vec<&'a Value> {
    list.iter().filter(|v| v["name"] == mode && v["source"] == source && v["payload_bytes"] == payload).collect()
}

/// The entry of `list` for a mode, source and payload.
pub fn find<'a>(list: &'a [Value], mode: &str, source: &str, payload: u32) -> Option<&'a Value> {
    list.iter().find(|v| v["name"] == mode && v["source"] == source && v["payload_bytes"] == payload)
}

fn f(v: &Value, key: &str) -> Option<f64> {
    v[key].as_f64()
}

/// The median of the values (the upper one of an even count); `None` if empty.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

fn median_of(runs: &[&Value], key: &str) -> Value {
    median(runs.iter().filter_map(|r| f(r, key)).collect()).map_or(Value::Null, |m| json!(m))
}

fn max_of(runs: &[&Value], key: &str) -> Value {
    runs.iter().filter_map(|r| f(r, key)).reduce(f64::max).map_or(Value::Null, |m| json!(m))
}

/// The run with the median `events_per_s`.
pub fn median_run<'a>(runs: &[&'a Value]) -> Option<&'a Value> {
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| f(a, "events_per_s").unwrap_or(0.0).total_cmp(&f(b, "events_per_s").unwrap_or(0.0)));
    sorted.get(sorted.len() / 2).copied()
}

/// `value / floor`, rounded; null when either is missing or the floor is 0.
fn times(value: &Value, floor: &Value) -> Value {
    match (value.as_f64(), floor.as_f64()) {
        (Some(v), Some(fl)) if fl > 0.0 => json!(round2(v / fl)),
        _ => Value::Null,
    }
}

/// The floors of the run: the median of each figure over the rounds.
fn floor(r: &Results) -> Value {
    let all: Vec<&Value> = r.floors.iter().collect();
    json!({
        "rtt_p50_us": median_of(&all, "rtt_p50_us"),
        "rtt_p99_us": median_of(&all, "rtt_p99_us"),
        "delivery_p50_us": median_of(&all, "delivery_p50_us"),
        "delivery_p99_us": median_of(&all, "delivery_p99_us"),
        "runs": r.floors,
    })
}

/// Latency figures of a group of runs at one rate: medians over the runs,
/// the worst run, and each against the floor.
fn latency_summary(runs: &[&Value], floor: &Value) -> Value {
    let p50 = median_of(runs, "p50_us");
    let p99 = median_of(runs, "p99_us");
    json!({
        "runs": runs.len(),
        "p50_us": p50,
        "p99_us": p99,
        "p50_worst_us": max_of(runs, "p50_us"),
        "p99_worst_us": max_of(runs, "p99_us"),
        "max_us": max_of(runs, "max_us"),
        "p50_x_floor": times(&p50, &floor["delivery_p50_us"]),
        "p99_x_floor": times(&p99, &floor["delivery_p99_us"]),
        "events_per_s": median_of(runs, "events_per_s"),
        "completions_per_s": median_of(runs, "completions_per_s"),
        "events_per_completion": median_of(runs, "events_per_completion"),
        "cpu": median_of(runs, "cpu"),
        "dropped": max_of(runs, "dropped"),
        "p50_runs_us": runs.iter().map(|r| r["p50_us"].clone()).collect::<Vec<_>>(),
        "p99_runs_us": runs.iter().map(|r| r["p99_us"].clone()).collect::<Vec<_>>(),
    })
}

/// kchan's events/s over seed-overlapped's, round by round (same round,
/// same source and payload): the list and its range.
fn round_ratios(r: &Results, flat: &[&Value], source: &str, payload: u32) -> Vec<f64> {
    let seeds = runs(&r.max_rate, "seed-overlapped", source, payload);
    flat.iter()
        .filter_map(|run| {
            let seed = seeds.iter().find(|s| s["round"] == run["round"])?;
            let (k, s) = (f(run, "events_per_s")?, f(seed, "events_per_s")?);
            (s > 0.0).then(|| round2(k / s))
        })
        .collect()
}

/// One `modes` entry: flat-out figures (median of rounds) and figures at
/// [`LATENCY_RATE`] (medians of runs), every run kept.
fn mode_entry(r: &Results, floor: &Value, mode: &str, source: &str, payload: u32) -> Option<Value> {
    let flat = runs(&r.max_rate, mode, source, payload);
    let m = median_run(&flat)?;
    let seed = median_run(&runs(&r.max_rate, "seed-overlapped", source, payload)).and_then(|s| f(s, "events_per_s"));
    let ratio = match (f(m, "events_per_s"), seed) {
        (Some(k), Some(s)) if s > 0.0 => json!((k / s * 10.0).round() / 10.0),
        _ => Value::Null,
    };
    let ratios = round_ratios(r, &flat, source, payload);
    let lat = latency_summary(&runs(&r.latency, mode, source, payload), floor);
    let mut rates: Vec<f64> = flat.iter().filter_map(|v| f(v, "events_per_s")).collect();
    rates.sort_by(f64::total_cmp);
    // Of the seed's time per event, the share one no-op IOCTL round trip
    // takes here: what Wine's per-IOCTL cost contributes to the ratio.
    let rtt_us = floor["rtt_p50_us"].as_f64();
    let share = match (seed, rtt_us) {
        (Some(s), Some(rtt)) if s > 0.0 => Some((s * rtt / 1e6).min(1.0)),
        _ => None,
    };
    // When one round trip takes (nearly) all of the seed's time per event,
    // what is left is noise: no split is given.
    let without_rtt = match (ratio.as_f64(), share) {
        (Some(x), Some(sh)) if !is_seed(mode) && sh < SPLIT_LIMIT => json!(round2(x * (1.0 - sh))),
        _ => Value::Null,
    };
    Some(json!({
        "name": mode,
        "source": source,
        "payload_bytes": payload,
        "events_per_s": m["events_per_s"],
        "events_per_s_runs": rates,
        "completions_per_s": m["completions_per_s"],
        "mb_per_s": m["mb_per_s"],
        "ratio_to_seed_overlapped": ratio,
        "ratio_runs": ratios,
        "ratio_min": ratios.iter().copied().reduce(f64::min),
        "ratio_max": ratios.iter().copied().reduce(f64::max),
        "seed_ioctl_rtt_share": share.map(round2),
        "ratio_without_ioctl_rtt": without_rtt,
        "events_per_completion": m["events_per_completion"],
        "cpu": m["cpu"],
        "cpu_us_per_event": m["cpu_us_per_event"],
        "dropped_max_rate": m["dropped"],
        "ring_bytes": m["ring_bytes"],
        "ring_high_water": max_of(&flat, "ring_high_water"),
        "latency_rate": LATENCY_RATE,
        "p50_us": lat["p50_us"],
        "p99_us": lat["p99_us"],
        "p50_x_floor": lat["p50_x_floor"],
        "p99_x_floor": lat["p99_x_floor"],
        "p50_worst_us": lat["p50_worst_us"],
        "p99_worst_us": lat["p99_worst_us"],
        "max_us": lat["max_us"],
        "dropped": lat["dropped"],
        "events_per_s_10k": lat["events_per_s"],
        "completions_per_s_10k": lat["completions_per_s"],
        "events_per_completion_10k": lat["events_per_completion"],
        "cpu_10k": lat["cpu"],
        "latency_runs": lat["runs"],
        "p50_runs_us": lat["p50_runs_us"],
        "p99_runs_us": lat["p99_runs_us"],
        "in_flight": m["in_flight"],
        "buffer_bytes": m["buffer_bytes"],
        "policy": m["policy"],
        "runs": flat.iter().map(|v| run_brief(v)).collect::<Vec<_>>(),
    }))
}

/// The figures of one flat-out run kept in its mode's `runs`.
fn run_brief(v: &Value) -> Value {
    json!({
        "round": v["round"],
        "events_per_s": v["events_per_s"],
        "completions_per_s": v["completions_per_s"],
        "events_per_completion": v["events_per_completion"],
        "mb_per_s": v["mb_per_s"],
        "dropped": v["dropped"],
        "cpu": v["cpu"],
        "ring_high_water": v["ring_high_water"],
    })
}

/// The latency-vs-rate table: per payload and mode (generator), one point
/// per rate, medians of the runs at that rate.
fn latency_vs_rate(r: &Results, floor: &Value) -> Vec<Value> {
    let mut points = Vec::new();
    for payload in PAYLOADS {
        for mode in MODES {
            let mut all: Vec<&Value> = r.sweep.iter().collect();
            all.extend(&r.latency);
            // The half-rate runs with the ring every other point has.
            all.extend(r.half_rate.iter().filter(|v| v["ring_sizing"] == RING_DEFAULT));
            let mut mine: Vec<&Value> = all
                .into_iter()
                .filter(|v| v["name"] == mode && v["source"] == "gen" && v["payload_bytes"] == payload)
                .collect();
            mine.sort_by_key(|v| v["rate"].as_u64().unwrap_or(0));
            let mut rates: Vec<u64> = mine.iter().filter_map(|v| v["rate"].as_u64()).collect();
            rates.dedup();
            for rate in rates {
                let at: Vec<&Value> = mine.iter().copied().filter(|v| v["rate"].as_u64() == Some(rate)).collect();
                let s = latency_summary(&at, floor);
                points.push(json!({
                    "name": mode,
                    "source": "gen",
                    "payload_bytes": payload,
                    "rate": rate,
                    "half_of_highest": at.iter().any(|v| v["half_of_highest"] == true),
                    "runs": s["runs"],
                    "events_per_s": s["events_per_s"],
                    "p50_us": s["p50_us"],
                    "p99_us": s["p99_us"],
                    "p50_x_floor": s["p50_x_floor"],
                    "p99_x_floor": s["p99_x_floor"],
                    "p99_worst_us": s["p99_worst_us"],
                    "events_per_completion": s["events_per_completion"],
                    "dropped": s["dropped"],
                }));
            }
        }
    }
    points
}

/// The zero-drop runs per payload and ring sizing: drops of every run, the
/// largest ring occupancy against the ring's size, and what decides it: how
/// long the ring holds at the rate against the consumer's longest stall.
fn zero_drop(r: &Results) -> Vec<Value> {
    PAYLOADS
        .iter()
        .flat_map(|&payload| [RING_DEFAULT, RING_IN_TIME].map(move |sizing| (payload, sizing)))
        .filter_map(|(payload, sizing)| {
            let all: Vec<&Value> = runs(&r.half_rate, "kchan-k8", "gen", payload)
                .into_iter()
                .filter(|v| v["ring_sizing"] == sizing)
                .collect();
            let first = all.first()?;
            let ring = f(first, "ring_bytes").unwrap_or(0.0);
            let high = max_of(&all, "ring_high_water").as_f64();
            Some(json!({
                "name": "kchan-k8",
                "source": "gen",
                "payload_bytes": payload,
                "ring_sizing": sizing,
                "rate": first["rate"],
                "runs": all.len(),
                "ring_ms": median_of(&all, "ring_ms"),
                "longest_stall_us": max_of(&all, "longest_stall_us"),
                "max_us": max_of(&all, "max_us"),
                "dropped_runs": all.iter().map(|v| v["dropped"].clone()).collect::<Vec<_>>(),
                "dropped_max": max_of(&all, "dropped"),
                "ring_bytes": first["ring_bytes"],
                "ring_high_water_runs": all.iter().map(|v| v["ring_high_water"].clone()).collect::<Vec<_>>(),
                "ring_high_water_max": high,
                "occupancy_max": high.filter(|_| ring > 0.0).map(|h| round2(h / ring)),
            }))
        })
        .collect()
}

/// The control object with its ratios to idle.
fn control(c: &Value) -> Value {
    let mut c = c.clone();
    for key in ["half_rate_loaded", "loaded"] {
        let ratio = times(&c[format!("{key}_p50_us")], &c["idle_p50_us"]);
        c[format!("{key}_p50_x_idle")] = ratio;
    }
    if c["inject"].is_object() {
        c["inject"] = control(&c["inject"]);
    }
    c
}

/// Assembles the whole document.
pub fn document(engine: Value, r: &Results, quick: bool, seconds: f64, date: &str, machine: &str) -> Value {
    let floor = floor(r);
    let mut modes = Vec::new();
    for payload in PAYLOADS {
        for source in SOURCES {
            modes.extend(MODES.iter().filter_map(|mode| mode_entry(r, &floor, mode, source, payload)));
        }
    }
    let ring_bytes = median(r.max_rate.iter().filter_map(|v| f(v, "ring_bytes")).collect());
    let mut doc = json!({
        "command": if quick { "cargo xtask bench --quick" } else { "cargo xtask bench" },
        "quick": quick,
        "date": date,
        "machine": machine,
        "seconds": seconds.round(),
        "ring_bytes": ring_bytes,
        "engine": engine,
        "floor": floor,
        "modes": modes,
        "latency_vs_rate": latency_vs_rate(r, &floor),
        "zero_drop": zero_drop(r),
        "half_rate": r.half_rate,
        "control": control(&r.control),
    });
    doc["targets"] = super::contract::targets(&doc);
    doc
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::contract::check_contract;
    use crate::report::LATENCY_SOURCES;

    pub fn line(mode: &str, source: &str, payload: u32, rate: u32, eps: f64, round: u32) -> Value {
        json!({"name": mode, "source": source, "payload_bytes": payload, "rate": rate, "round": round,
               "events_per_s": eps, "completions_per_s": eps / 2.0, "events_per_completion": 2.0, "mb_per_s": 1.0,
               "dropped": 0, "p50_us": 300.0, "p99_us": 900.0, "max_us": 2000.0, "cpu": 0.5,
               "ring_bytes": 4_194_304, "ring_high_water": 1_048_576})
    }

    /// Three rounds of every flat-out combination, latency runs, a sweep
    /// and zero-drop runs, with kchan-k8 at 100x seed-overlapped.
    pub fn results() -> Results {
        let mut r = Results::default();
        for round in 0..3 {
            r.floors.push(json!({"rtt_p50_us": 100.0 + f64::from(round), "rtt_p99_us": 200.0,
                                 "delivery_p50_us": 150.0, "delivery_p99_us": 400.0}));
            for p in PAYLOADS {
                for s in SOURCES {
                    for (i, m) in MODES.iter().enumerate() {
                        let eps = 1_000.0 * 10f64.powi(i as i32) * (1.0 + f64::from(round) / 10.0);
                        r.max_rate.push(line(m, s, p, 0, eps, round));
                    }
                }
            }
        }
        for p in PAYLOADS {
            for s in LATENCY_SOURCES {
                for m in MODES {
                    r.latency.push(line(m, s, p, LATENCY_RATE, 10_000.0, 0));
                }
            }
            r.sweep.push(line("kchan-k8", "gen", p, 1_000, 1_000.0, 0));
            for sizing in [RING_DEFAULT, RING_IN_TIME] {
                for _ in 0..3 {
                    let mut h = line("kchan-k8", "gen", p, 500_000, 500_000.0, 0);
                    h["half_of_highest"] = json!(true);
                    h["ring_sizing"] = json!(sizing);
                    r.half_rate.push(h);
                }
            }
        }
        r.control = json!({"idle_p50_us": 100.0, "loaded_p50_us": 300.0, "half_rate_loaded_p50_us": 140.0,
                           "inject": {"idle_p50_us": 100.0, "loaded_p50_us": 200.0, "half_rate_loaded_p50_us": 160.0}});
        r
    }

    pub fn doc() -> Value {
        document(json!({"publish_ns": 15.0, "drain_gb_s": 7.0}), &results(), true, 10.0, "2026-01-01", "test")
    }

    #[test]
    fn document_meets_the_contract_and_reads_targets() {
        let doc = doc();
        check_contract(&doc).unwrap();
        let k8 = find(doc["modes"].as_array().unwrap(), "kchan-k8", "gen", 32).unwrap();
        assert_eq!(k8["ratio_to_seed_overlapped"], json!(100.0));
        assert_eq!(k8["ratio_runs"], json!([100.0, 100.0, 100.0]), "same round against same round");
        assert_eq!(k8["events_per_s"], json!(1_100_000.0), "median of the rounds");
        assert_eq!(k8["runs"].as_array().unwrap().len(), 3);
        assert_eq!(k8["p50_x_floor"], json!(2.0), "300 us over a 150 us delivery floor");
        // seed-overlapped at 11,000 ev/s and a 101 us round trip: 100 % of its time.
        assert_eq!(k8["seed_ioctl_rtt_share"], json!(1.0));
        assert_eq!(doc["floor"]["rtt_p50_us"], json!(101.0));
        let t = doc["targets"].as_array().unwrap();
        assert_eq!(
            (t[0]["met"].as_bool(), t[1]["met"].as_bool()),
            (Some(false), Some(true)),
            "300x at 32 B, 100x at 256 B"
        );
        let ctl = t.iter().find(|t| t["target"] == "control p50 loaded at half rate / idle, gen load").unwrap();
        assert_eq!((ctl["value"].as_f64(), ctl["met"].as_bool()), (Some(1.4), Some(true)));
        assert_eq!(doc["control"]["inject"]["loaded_p50_x_idle"], json!(2.0));
    }

    #[test]
    fn sweep_and_zero_drop_are_assembled() {
        let doc = doc();
        let sweep = doc["latency_vs_rate"].as_array().unwrap();
        let k8: Vec<u64> = sweep
            .iter()
            .filter(|p| p["name"] == "kchan-k8" && p["payload_bytes"] == 32)
            .map(|p| p["rate"].as_u64().unwrap())
            .collect();
        assert_eq!(k8, [1_000, 10_000, 500_000], "sorted by rate, the half-rate runs included");
        let half = sweep.iter().find(|p| p["rate"] == 500_000).unwrap();
        assert_eq!((half["runs"].as_u64(), half["half_of_highest"].as_bool()), (Some(3), Some(true)));
        let z = &doc["zero_drop"][0];
        assert_eq!((z["runs"].as_u64(), z["occupancy_max"].as_f64()), (Some(3), Some(0.25)));
        assert_eq!(
            (&z["ring_sizing"], &doc["zero_drop"][1]["ring_sizing"]),
            (&json!(RING_DEFAULT), &json!(RING_IN_TIME))
        );
        let t = doc["targets"].as_array().unwrap();
        assert_eq!(
            t.iter().filter(|t| t["target"].as_str().unwrap().contains("drops at half")).count(),
            2,
            "in time, per payload"
        );
    }

    #[test]
    fn median_keeps_the_middle_run() {
        let (a, b, c) =
            (line("a", "gen", 32, 0, 3.0, 0), line("a", "gen", 32, 0, 1.0, 1), line("a", "gen", 32, 0, 2.0, 2));
        assert_eq!(median_run(&[&a, &b, &c]).unwrap()["events_per_s"], json!(2.0));
        assert_eq!(median(vec![]), None);
    }
}
