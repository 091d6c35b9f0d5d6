//! The contract of the benchmark's document, which CI checks on a quick
//! run's JSON, and the targets, read from a document's numbers (reported,
//! never asserted).

use super::document::find;
use super::{LATENCY_RATE, LATENCY_SOURCES, MODES, PAYLOADS, RING_IN_TIME, SOURCES};
use serde_json::{json, Value};

fn target(name: String, value: Option<f64>, op: &str, limit: f64) -> Value {
    let met = value.map(|v| if op == ">=" { v >= limit } else { v <= limit });
    json!({ "target": name, "value": value, "op": op, "limit": limit, "met": met })
}

/// The targets, read from the numbers (never asserted).
pub fn targets(doc: &Value) -> Value {
    let modes = doc["modes"].as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for source in SOURCES {
        for (payload, limit) in [(32, 300.0), (256, 100.0)] {
            let v = find(&modes, "kchan-k8", source, payload).and_then(|e| e["ratio_to_seed_overlapped"].as_f64());
            out.push(target(format!("kchan-k8 / seed-overlapped events/s, {payload} B, {source}"), v, ">=", limit));
        }
    }
    for source in LATENCY_SOURCES {
        for payload in PAYLOADS {
            let k8 = find(&modes, "kchan-k8", source, payload);
            let p50 = k8.and_then(|e| e["p50_x_floor"].as_f64());
            let p99 = k8.and_then(|e| e["p99_x_floor"].as_f64());
            let at = format!("at {}k/s, {payload} B, {source}", LATENCY_RATE / 1000);
            out.push(target(format!("kchan-k8 p50 x floor.delivery p50, {at}"), p50, "<=", 1.3));
            out.push(target(format!("kchan-k8 p99 x floor.delivery p99, {at}"), p99, "<=", 3.0));
        }
    }
    for (c, load) in [(&doc["control"], "gen"), (&doc["control"]["inject"], "inject")] {
        let v = c["half_rate_loaded_p50_x_idle"].as_f64();
        out.push(target(format!("control p50 loaded at half rate / idle, {load} load"), v, "<=", 1.5));
    }
    for z in
        doc["zero_drop"].as_array().cloned().unwrap_or_default().iter().filter(|z| z["ring_sizing"] == RING_IN_TIME)
    {
        let name = format!(
            "kchan-k8 drops at half its highest rate ({} ev/s), {} B, gen, ring of {}, worst of {} runs",
            z["rate"], z["payload_bytes"], RING_IN_TIME, z["runs"]
        );
        out.push(target(name, z["dropped_max"].as_f64(), "<=", 0.0));
    }
    Value::Array(out)
}

/// Checks a document against the contract (CI): the engine figures, the
/// floors, every mode for both payloads with the required keys, the
/// latency-vs-rate table and the control object. Values must be numbers,
/// except latencies, which may be null when a run received nothing.
pub fn check_contract(doc: &Value) -> Result<(), String> {
    for key in ["publish_ns", "drain_gb_s"] {
        if !doc["engine"][key].is_number() {
            return Err(format!("engine.{key} is missing or not a number"));
        }
    }
    for key in ["rtt_p50_us", "rtt_p99_us", "delivery_p50_us", "delivery_p99_us"] {
        if !doc["floor"][key].is_number() {
            return Err(format!("floor.{key} is missing or not a number"));
        }
    }
    let Some(modes) = doc["modes"].as_array() else { return Err("`modes` is missing or not an array".into()) };
    for mode in MODES {
        for payload in PAYLOADS {
            let Some(e) = find(modes, mode, "gen", payload) else {
                return Err(format!("modes has no entry for {mode} with {payload}-byte payloads"));
            };
            for key in ["events_per_s", "dropped", "events_per_completion", "completions_per_s"] {
                if !e[key].is_number() {
                    return Err(format!("{mode}/{payload}: `{key}` is missing or not a number"));
                }
            }
            for key in ["p50_us", "p99_us", "p50_x_floor", "p99_x_floor"] {
                if !(e[key].is_number() || e[key].is_null()) || e.get(key).is_none() {
                    return Err(format!("{mode}/{payload}: `{key}` is missing"));
                }
            }
            if e["runs"].as_array().is_none_or(|r| r.is_empty()) {
                return Err(format!("{mode}/{payload}: `runs` is missing or empty"));
            }
        }
    }
    let Some(sweep) = doc["latency_vs_rate"].as_array().filter(|s| !s.is_empty()) else {
        return Err("`latency_vs_rate` is missing or empty".into());
    };
    for p in sweep {
        for key in ["rate", "payload_bytes"] {
            if !p[key].is_number() {
                return Err(format!("latency_vs_rate: `{key}` is missing or not a number in {p}"));
            }
        }
        if p.get("p50_us").is_none() || p.get("p99_us").is_none() || p["name"].as_str().is_none() {
            return Err(format!("latency_vs_rate: an entry lacks name, p50_us or p99_us: {p}"));
        }
    }
    for key in ["idle_p50_us", "loaded_p50_us", "half_rate_loaded_p50_us"] {
        if !doc["control"][key].is_number() {
            return Err(format!("control.{key} is missing or not a number"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::tests::doc;

    #[test]
    fn check_rejects_missing_keys() {
        let mut doc = doc();
        doc["engine"]["publish_ns"] = Value::Null;
        assert!(check_contract(&doc).is_err());
        let mut doc = super::tests::doc();
        doc["modes"].as_array_mut().unwrap().retain(|e| e["name"] != "kchan-k1");
        assert!(check_contract(&doc).is_err());
        let mut doc = super::tests::doc();
        doc["floor"]["delivery_p50_us"] = Value::Null;
        assert!(check_contract(&doc).is_err());
        let mut doc = super::tests::doc();
        doc["latency_vs_rate"] = json!([]);
        assert!(check_contract(&doc).is_err());
        let mut doc = super::tests::doc();
        doc["control"].as_object_mut().unwrap().remove("half_rate_loaded_p50_us");
        assert!(check_contract(&doc).is_err());
    }
}
