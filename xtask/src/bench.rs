//! `cargo xtask bench`: the seed's consumer designs and kchan's, side by
//! side, against one loaded driver in one Wine session.
//!
//! Steps: setup and build (the `kchan-bench` program is one of
//! [`crate::build::windows_programs`]); the engine's native figures
//! (`cargo run --release -p kchan-engine --example figures`); a persistent
//! wineserver with `kchan.sys` loaded; then, for each payload (32, 256 B),
//! source (driver generator, injector process) and mode, one `kchan-bench
//! run` flat out (rate 0, repeated and the median taken in a full run) and
//! one at 10k events/s; kchan-k8 again at half its highest rate with the
//! default ring (the zero-drop target); and `kchan-bench control`. Each run
//! prints one JSON line; [`report`] assembles them into one JSON document
//! (an `engine` object, a `modes` array, `control` and `floor` objects),
//! prints the table and, for a full run, rewrites
//! `docs/benchmarks.{json,md,svg}` ([`chart`] draws the SVG).
//!
//! `--check FILE` only validates a JSON file against the contract (CI);
//! `--render FILE` regenerates the table and the docs from a full run's JSON.

mod chart;
mod report;

use crate::wine::Prefix;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Instant;

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Short runs (under a minute in all); CI runs this. Docs are not updated.
    #[arg(long)]
    quick: bool,
    /// Also write the results as JSON (the document `--check` validates) to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Only check that FILE is well-formed JSON with the contract's keys.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["quick", "json"])]
    check: Option<PathBuf>,
    /// Run nothing: print the table of a JSON file written by a full run and
    /// regenerate the docs from it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["quick", "json", "check"])]
    render: Option<PathBuf>,
}

/// Payload sizes every mode runs with.
pub const PAYLOADS: [u32; 2] = [32, 256];
/// Sources, in table order.
pub const SOURCES: [&str; 2] = ["gen", "inject"];
/// Modes, in table order (names of the contract).
pub const MODES: [&str; 4] = ["seed-sync", "seed-overlapped", "kchan-k1", "kchan-k8"];
/// The fixed rate of the latency runs, events/s.
pub const LATENCY_RATE: u32 = 10_000;

/// How long each run lasts.
struct Plan {
    seconds: f64,
    warmup: f64,
    /// Flat-out runs per combination (the median is kept).
    repeats: usize,
    control_samples: u32,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan { seconds: 0.4, warmup: 0.15, repeats: 1, control_samples: 150 }
        } else {
            Plan { seconds: 4.0, warmup: 1.0, repeats: 3, control_samples: 2000 }
        }
    }
}

/// Runs the benchmark (or the check).
pub fn run(args: Args) -> Result<()> {
    if let Some(path) = &args.check {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let doc: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
        report::check_contract(&doc)?;
        println!("{}: well-formed, has the contract's keys", path.display());
        return Ok(());
    }
    if let Some(path) = &args.render {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut doc: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
        doc["targets"] = report::targets(&doc);
        print!("{}", report::table(&doc));
        return write_docs(&doc);
    }
    let started = Instant::now();
    let plan = Plan::new(args.quick);
    crate::setup::run()?;
    let prefix = Prefix::ensure()?;
    let sys = crate::build::all()?;
    let engine = engine_figures(args.quick);

    let _server = prefix.persistent_server()?;
    crate::driver::install(&prefix, &sys)?;
    crate::driver::start(&prefix)?;
    let bench = Bench { prefix: &prefix, exe: crate::build::windows_release_dir().join("kchan-bench.exe"), plan };
    let results = bench.all()?;

    let doc = report::document(engine, &results, args.quick, started.elapsed().as_secs_f64());
    print!("{}", report::table(&doc));
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

/// Rewrites `docs/benchmarks.json` (the run's document), `docs/benchmarks.svg`
/// and the generated part of `docs/benchmarks.md`.
fn write_docs(doc: &Value) -> Result<()> {
    let docs = crate::workspace_root().join("docs");
    std::fs::create_dir_all(&docs)?;
    std::fs::write(docs.join("benchmarks.json"), serde_json::to_string_pretty(doc)? + "\n")?;
    chart::write(doc, &docs.join("benchmarks.svg"))?;
    report::update_markdown(doc, &docs.join("benchmarks.md"))?;
    eprintln!("xtask: bench: updated docs/benchmarks.md and docs/benchmarks.svg");
    Ok(())
}

/// What the runs produced, before assembly.
pub struct Results {
    /// One flat-out run per (mode, source, payload), the median of the repeats.
    pub max_rate: Vec<Value>,
    /// One 10k events/s run per (mode, source, payload).
    pub latency: Vec<Value>,
    /// kchan-k8, generator, at half its highest rate, default ring, per payload.
    pub half_rate: Vec<Value>,
    /// The control-plane run under the generator, with the injector's in `inject`.
    pub control: Value,
}

struct Bench<'a> {
    prefix: &'a Prefix,
    exe: PathBuf,
    plan: Plan,
}

impl Bench<'_> {
    fn all(&self) -> Result<Results> {
        let combos: Vec<(&str, &str, u32)> = PAYLOADS
            .iter()
            .flat_map(|&p| SOURCES.iter().flat_map(move |&s| MODES.iter().map(move |&m| (m, s, p))))
            .collect();
        // Flat-out runs, interleaved round by round so that a slow moment of
        // the machine does not hit one combination's every repeat.
        let mut rounds: Vec<Vec<Value>> = vec![Vec::new(); combos.len()];
        for round in 0..self.plan.repeats {
            for (i, &(mode, source, payload)) in combos.iter().enumerate() {
                eprintln!("xtask: bench: {mode} {source} {payload} B flat out ({}/{})", round + 1, self.plan.repeats);
                rounds[i].push(self.run(mode, source, 0, payload)?);
            }
        }
        let max_rate: Vec<Value> = rounds.into_iter().map(report::median_by_rate).collect();
        let mut latency = Vec::new();
        for &(mode, source, payload) in &combos {
            eprintln!("xtask: bench: {mode} {source} {payload} B at {LATENCY_RATE}/s");
            latency.push(self.run(mode, source, LATENCY_RATE, payload)?);
        }
        let mut half_rate = Vec::new();
        for payload in PAYLOADS {
            let top = report::find(&max_rate, "kchan-k8", "gen", payload)
                .and_then(|v| v["events_per_s"].as_f64())
                .unwrap_or(0.0);
            let rate = ((top / 2.0) as u32).max(1);
            eprintln!("xtask: bench: kchan-k8 gen {payload} B at half its highest rate ({rate}/s)");
            half_rate.push(self.run("kchan-k8", "gen", rate, payload)?);
        }
        eprintln!("xtask: bench: control-plane round trips");
        let samples = self.plan.control_samples.to_string();
        let mut control = self.wine_json(&["control", "--source", "gen", "--size", "32", "--samples", &samples])?;
        eprintln!("xtask: bench: control-plane round trips, injector load");
        control["inject"] =
            self.wine_json(&["control", "--source", "inject", "--size", "32", "--samples", &samples])?;
        Ok(Results { max_rate, latency, half_rate, control })
    }

    fn run(&self, mode: &str, source: &str, rate: u32, payload: u32) -> Result<Value> {
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
    match cmd.output() {
        Err(e) => missing(format!("cargo did not start: {e}")),
        Ok(out) if !out.status.success() => missing(format!(
            "`cargo run -p kchan-engine --example figures` failed: {}",
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
        )),
        Ok(out) => match last_json_line(&String::from_utf8_lossy(&out.stdout)) {
            Some(v) if v.get("publish_ns").is_some() && v.get("drain_gb_s").is_some() => v,
            _ => missing("the figures example printed no {publish_ns, drain_gb_s} line".into()),
        },
    }
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
