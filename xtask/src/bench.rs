//! `cargo xtask bench`: the seed's consumer designs and kchan's, side by
//! side, against one loaded driver in one Wine session.
//!
//! This module only runs things: setup and build (`kchan-bench.exe` is one
//! of [`crate::build::windows_programs`]), the engine's native figures
//! (`cargo run --release -p kchan-engine --example figures`), a persistent
//! wineserver with `kchan.sys` loaded, then the [`Plan`]'s `kchan-bench`
//! invocations, each printing one JSON line. Everything about the report
//! (assembly, targets, tables, charts, the contract CI checks) lives with
//! the benchmark, in `kchan_bench::report`.
//!
//! `--check FILE` only validates a JSON file against the contract (CI);
//! `--render FILE` regenerates the tables and the docs from a full run's JSON.

use crate::wine::Prefix;
use anyhow::{anyhow, bail, Context, Result};
use kchan_bench::args::DEFAULT_RING_BYTES;
use kchan_bench::report::contract;
use kchan_bench::report::document::{self, median, runs, Results};
use kchan_bench::report::{
    chart, is_seed, sweep_rates, text, LATENCY_RATE, LATENCY_SOURCES, MODES, PAYLOADS, RING_DEFAULT, RING_IN_TIME,
    SOURCES, ZERO_DROP_RING_MS,
};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Instant;

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Short runs (about a minute in all); CI runs this. Docs are not updated.
    #[arg(long)]
    quick: bool,
    /// Also write the results as JSON (the contract) to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Only check that FILE is well-formed JSON with the contract's keys.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["quick", "json"])]
    check: Option<PathBuf>,
    /// Run nothing: print the tables of a JSON file written by a full run and
    /// regenerate the docs from it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["quick", "json", "check"])]
    render: Option<PathBuf>,
}

/// What a benchmark runs, and for how long.
struct Plan {
    /// Measured seconds of each run.
    seconds: f64,
    /// Warm-up seconds of each run.
    warmup: f64,
    /// Rounds: each measures the floors, every flat-out combination and the
    /// kchan modes at the latency rate, interleaved, so that a slow moment
    /// of the machine does not hit one combination's every repeat.
    rounds: u32,
    /// kchan-k8 runs at half its highest rate per payload (zero drops).
    half_rate_runs: u32,
    /// Round trips and deliveries of each floor measurement.
    floor_samples: u32,
    /// Control-plane cycles (idle, half rate, idle, flat out) and round trips per block.
    control_cycles: u32,
    control_samples: u32,
    /// Modes of the latency-vs-rate sweep.
    sweep_modes: &'static [&'static str],
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                seconds: 0.3,
                warmup: 0.1,
                rounds: 1,
                half_rate_runs: 1,
                floor_samples: 200,
                control_cycles: 1,
                control_samples: 30,
                sweep_modes: &["kchan-k8"],
            }
        } else {
            Plan {
                seconds: 2.0,
                warmup: 0.5,
                rounds: 3,
                half_rate_runs: 3,
                floor_samples: 1000,
                control_cycles: 5,
                control_samples: 100,
                sweep_modes: &MODES,
            }
        }
    }
}

/// Runs the benchmark (or the check, or the render).
pub fn run(args: Args) -> Result<()> {
    if let Some(path) = &args.check {
        contract::check_contract(&read_json(path)?).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        println!("{}: well-formed, has the contract's keys", path.display());
        return Ok(());
    }
    if let Some(path) = &args.render {
        let mut doc = read_json(path)?;
        doc["targets"] = contract::targets(&doc);
        print!("{}", text::table(&doc));
        return write_docs(&doc);
    }
    let started = Instant::now();
    crate::setup::run()?;
    let prefix = Prefix::ensure()?;
    let sys = crate::build::all()?;
    let engine = engine_figures(args.quick);

    let _server = crate::driver::load_in_session(&prefix, &sys)?;
    let exe = crate::build::windows_release_dir().join("kchan-bench.exe");
    let bench = Bench { prefix: &prefix, exe, plan: Plan::new(args.quick) };
    let results = bench.all()?;

    let doc = document::document(engine, &results, args.quick, started.elapsed().as_secs_f64(), &today(), &machine());
    print!("{}", text::table(&doc));
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("xtask: bench: wrote {}", path.display());
    }
    if !args.quick {
        write_docs(&doc)?;
    }
    Ok(())
}

fn read_json(path: &std::path::Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Rewrites `docs/benchmarks.json` (the run's document), the two charts and
/// the generated part of `docs/benchmarks.md`.
fn write_docs(doc: &Value) -> Result<()> {
    let docs = crate::workspace_root().join("docs");
    std::fs::create_dir_all(&docs)?;
    std::fs::write(docs.join("benchmarks.json"), serde_json::to_string_pretty(doc)? + "\n")?;
    chart::write_rates(doc, &docs.join("benchmarks.svg")).map_err(|e| anyhow!(e))?;
    chart::write_latency(doc, &docs.join("benchmarks-latency.svg")).map_err(|e| anyhow!(e))?;
    text::update_markdown(doc, &docs.join("benchmarks.md"))?;
    eprintln!("xtask: bench: updated docs/benchmarks.{{md,json,svg}} and docs/benchmarks-latency.svg");
    Ok(())
}

struct Bench<'a> {
    prefix: &'a Prefix,
    exe: PathBuf,
    plan: Plan,
}

impl Bench<'_> {
    fn all(&self) -> Result<Results> {
        let plan = &self.plan;
        let mut r = Results::default();
        for round in 0..plan.rounds {
            let of = format!("round {}/{}", round + 1, plan.rounds);
            eprintln!("xtask: bench: floors ({of})");
            let samples = plan.floor_samples.to_string();
            r.floors.push(self.wine_json(&["floor", "--samples", &samples])?);
            for payload in PAYLOADS {
                for source in SOURCES {
                    for mode in MODES {
                        eprintln!("xtask: bench: {mode} {source} {payload} B flat out ({of})");
                        let mut line = self.run(mode, source, 0, payload)?;
                        line["round"] = json!(round);
                        r.max_rate.push(line);
                    }
                }
            }
            // The seeds cannot keep up with the latency rate: one run shows it.
            for mode in MODES.iter().filter(|m| round == 0 || !is_seed(m)) {
                for source in LATENCY_SOURCES {
                    for payload in PAYLOADS {
                        eprintln!("xtask: bench: {mode} {source} {payload} B at {LATENCY_RATE}/s ({of})");
                        r.latency.push(self.run(mode, source, LATENCY_RATE, payload)?);
                    }
                }
            }
        }
        for payload in PAYLOADS {
            for mode in plan.sweep_modes {
                let mut rates: Vec<(u32, bool)> =
                    sweep_rates(mode).iter().filter(|&&r| r != LATENCY_RATE).map(|&r| (r, false)).collect();
                if *mode != "kchan-k8" {
                    rates.push((half_of_highest(&r, mode, "gen", payload), true));
                    // kchan-k8's: the zero-drop runs
                }
                for (rate, half) in rates {
                    eprintln!("xtask: bench: {mode} gen {payload} B at {rate}/s (latency against rate)");
                    let mut line = self.run(mode, "gen", rate, payload)?;
                    line["half_of_highest"] = json!(half);
                    r.sweep.push(line);
                }
            }
        }
        for i in 0..plan.half_rate_runs {
            for payload in PAYLOADS {
                for sizing in [RING_DEFAULT, RING_IN_TIME] {
                    let rate = half_of_highest(&r, "kchan-k8", "gen", payload);
                    let of = format!("{}/{}", i + 1, plan.half_rate_runs);
                    eprintln!("xtask: bench: kchan-k8 gen {payload} B at half its highest rate, {rate}/s, {sizing} ring ({of})");
                    let ring = if sizing == RING_IN_TIME { Ring::Ms(ZERO_DROP_RING_MS) } else { Ring::Default };
                    let mut line = self.run_with("kchan-k8", "gen", rate, payload, ring)?;
                    line["half_of_highest"] = json!(true);
                    line["ring_sizing"] = json!(sizing);
                    r.half_rate.push(line);
                }
            }
        }
        r.control = self.control("gen", half_of_highest(&r, "kchan-k8", "gen", 32))?;
        r.control["inject"] = self.control("inject", half_of_highest(&r, "kchan-k8", "inject", 32))?;
        Ok(r)
    }

    fn control(&self, source: &str, half_rate: u32) -> Result<Value> {
        let plan = &self.plan;
        eprintln!("xtask: bench: control-plane round trips, {source} load, half rate {half_rate}/s and flat out");
        let (half, cycles, samples) =
            (half_rate.to_string(), plan.control_cycles.to_string(), plan.control_samples.to_string());
        self.wine_json(&[
            "control",
            "--source",
            source,
            "--size",
            "32",
            "--half-rate",
            &half,
            "--cycles",
            &cycles,
            "--samples",
            &samples,
        ])
    }

    /// One run with the ring every mode has.
    fn run(&self, mode: &str, source: &str, rate: u32, payload: u32) -> Result<Value> {
        self.run_with(mode, source, rate, payload, Ring::Default)
    }

    fn run_with(&self, mode: &str, source: &str, rate: u32, payload: u32, ring: Ring) -> Result<Value> {
        let (ring_arg, ring) = match ring {
            Ring::Default => ("--ring-bytes", DEFAULT_RING_BYTES.to_string()),
            Ring::Ms(ms) => ("--ring-ms", ms.to_string()),
        };
        let (rate, payload) = (rate.to_string(), payload.to_string());
        let (seconds, warmup) = (self.plan.seconds.to_string(), self.plan.warmup.to_string());
        self.wine_json(&[
            "run",
            "--mode",
            mode,
            "--source",
            source,
            "--rate",
            &rate,
            "--size",
            &payload,
            ring_arg,
            &ring,
            "--seconds",
            &seconds,
            "--warmup",
            &warmup,
        ])
    }

    /// Runs `kchan-bench <args>` in the prefix and parses its JSON line.
    fn wine_json(&self, args: &[&str]) -> Result<Value> {
        let exe = self.exe.to_string_lossy();
        let mut all = vec![&*exe];
        all.extend_from_slice(args);
        let out = self.prefix.wine_output(&all)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "kchan-bench {} failed ({}): {}{}",
                args.join(" "),
                out.status,
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        last_json_line(&stdout).with_context(|| format!("kchan-bench {} printed no JSON line", args.join(" ")))
    }
}

/// The ring a run subscribes with.
enum Ring {
    /// [`DEFAULT_RING_BYTES`], the same for every mode.
    Default,
    /// Room for this many milliseconds of records at the run's rate.
    Ms(u32),
}

/// Half the median flat-out rate of a mode, source and payload (at least 1).
fn half_of_highest(r: &Results, mode: &str, source: &str, payload: u32) -> u32 {
    let rates = runs(&r.max_rate, mode, source, payload).iter().filter_map(|v| v["events_per_s"].as_f64()).collect();
    ((median(rates).unwrap_or(0.0) / 2.0) as u32).max(1)
}

/// The last line of `text` that parses as a JSON object.
pub fn last_json_line(text: &str) -> Option<Value> {
    text.lines().rev().find_map(|l| serde_json::from_str::<Value>(l.trim()).ok().filter(Value::is_object))
}

/// The engine's native figures, or nulls and the reason they are missing.
fn engine_figures(quick: bool) -> Value {
    eprintln!("xtask: bench: engine figures (native)");
    let mut cmd = crate::build::cargo();
    cmd.args(["run", "--quiet", "--release", "-p", "kchan-engine", "--example", "figures", "--"]);
    if quick {
        cmd.arg("--quick");
    }
    let missing = |why: String| {
        eprintln!("xtask: bench: engine figures unavailable: {why}");
        json!({ "publish_ns": null, "drain_gb_s": null, "error": why })
    };
    let mut figures = match cmd.output() {
        Err(e) => missing(format!("cargo did not start: {e}")),
        Ok(out) if !out.status.success() => missing(format!(
            "`cargo run -p kchan-engine --example figures` failed: {}",
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
        )),
        Ok(out) => match last_json_line(&String::from_utf8_lossy(&out.stdout)) {
            Some(v) if v.get("publish_ns").is_some() && v.get("drain_gb_s").is_some() => v,
            _ => missing("the figures example printed no {publish_ns, drain_gb_s} line".into()),
        },
    };
    figures["label"] = json!("engine copy, in-process");
    figures
}

/// Machine description for the docs: CPU model, cores, kernel, Wine version.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let output = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    format!("{cpu}, {cores} cores, Linux {}, {}", output("uname", &["-r"]), output("wine", &["--version"]))
}

/// Today's date (UTC), for the docs.
pub fn today() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
