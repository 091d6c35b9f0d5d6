//! `cargo xtask tail-rate`: how many events/s `kchan tail --json` writes,
//! to a file and to NUL, with the driver's generator flat out and at fixed
//! rates, next to `kchan monitor` (which receives the same stream and
//! writes nothing) as the baseline: where tail falls short of the monitor,
//! its output is the limit.
//!
//! Each run: start the generator (kind 14), run the consumer for
//! `--seconds` through `cmd /c` (so `> NUL` is Windows' NUL device and the
//! file a Windows file handle), stop the generator, read the consumer's
//! summary. Prints one markdown table.

use crate::wine::Prefix;
use anyhow::{ensure, Context, Result};
use std::path::Path;

/// Options of `cargo xtask tail-rate`.
#[derive(clap::Args)]
pub struct Args {
    /// Seconds per run.
    #[arg(long, default_value_t = 5)]
    seconds: u32,
    /// Generator rates to try, events/s (0 = flat out).
    #[arg(long, value_delimiter = ',', default_values_t = [0, 100_000, 300_000, 1_000_000])]
    rates: Vec<u32>,
    /// Payload sizes, bytes.
    #[arg(long, value_delimiter = ',', default_values_t = [32, 256])]
    sizes: Vec<u32>,
}

/// Where the consumer's output goes.
#[derive(Clone, Copy)]
enum Sink {
    /// `kchan monitor`: receives and counts, prints a few lines a second.
    Monitor,
    /// `kchan tail --json > NUL`.
    Nul,
    /// `kchan tail --json > FILE`.
    File,
}

impl Sink {
    fn name(self) -> &'static str {
        match self {
            Sink::Monitor => "none (monitor)",
            Sink::Nul => "tail --json > NUL",
            Sink::File => "tail --json > file",
        }
    }
}

/// What one run delivered.
struct Figures {
    events: u64,
    lost: u64,
    seconds: f64,
}

/// Runs every combination and prints the table.
pub fn run(args: Args) -> Result<()> {
    crate::setup::run()?;
    let prefix = Prefix::ensure()?;
    let sys = crate::build::all()?;
    let _server = crate::driver::load_in_session(&prefix, &sys)?;
    let dir = crate::target_dir().join("tail-rate");
    std::fs::create_dir_all(&dir)?;
    println!("| payload | generator rate | output | events/s written | lost |");
    println!("|---|---|---|---|---|");
    for &size in &args.sizes {
        for &rate in &args.rates {
            for sink in [Sink::Monitor, Sink::Nul, Sink::File] {
                let f = measure(&prefix, &dir, sink, rate, size, args.seconds)?;
                let total = f.events + f.lost;
                let lost_pct = if total > 0 { 100.0 * f.lost as f64 / total as f64 } else { 0.0 };
                let rate_name = if rate == 0 { "flat out".to_string() } else { format!("{}k/s", rate / 1000) };
                println!(
                    "| {size} B | {rate_name} | {} | {:.0}k | {} ({lost_pct:.1} %) |",
                    sink.name(),
                    f.events as f64 / f.seconds / 1000.0,
                    f.lost
                );
            }
        }
    }
    Ok(())
}

fn measure(prefix: &Prefix, dir: &Path, sink: Sink, rate: u32, size: u32, seconds: u32) -> Result<Figures> {
    let exe = crate::build::cli_exe();
    let exe = exe.to_str().context("a UTF-8 path")?;
    let win = |p: &Path| format!("Z:{}", p.display()).replace('/', "\\");
    let (out, err) = (dir.join("out.ndjson"), dir.join("stderr.txt"));
    let _ = std::fs::remove_file(&out);
    // The bench's bursts: 256 per wake-up flat out, 10,000 wake-ups/s paced.
    let burst = if rate == 0 { 256 } else { (rate / 10_000).max(1) }.to_string();
    let (rate_s, size_s, secs) = (rate.to_string(), size.to_string(), seconds.to_string());
    let gen =
        prefix.wine_output(&[exe, "gen", "--rate", &rate_s, "--size", &size_s, "--burst", &burst, "--kind", "14"])?;
    ensure!(gen.status.success(), "kchan gen: {}", String::from_utf8_lossy(&gen.stderr));
    let consumer = match sink {
        Sink::Monitor => format!("{exe} monitor --json --kinds 14 --seconds {secs} > {}", win(&out)),
        Sink::Nul => format!("{exe} tail --json --kinds 14 --seconds {secs} > NUL 2> {}", win(&err)),
        Sink::File => format!("{exe} tail --json --kinds 14 --seconds {secs} > {} 2> {}", win(&out), win(&err)),
    };
    let ran = prefix.wine_output(&["cmd", "/c", &consumer]);
    let stop = prefix.wine_output(&[exe, "gen", "--stop"]);
    ensure!(ran?.status.success(), "{consumer} failed");
    stop?;
    match sink {
        Sink::Monitor => {
            let text = std::fs::read_to_string(&out)?;
            let last = text.lines().last().context("monitor printed nothing")?;
            let v: serde_json::Value = serde_json::from_str(last)?;
            let n = |k: &str| v[k].as_u64().with_context(|| format!("{k} in {last}"));
            Ok(Figures { events: n("events")?, lost: n("lost")?, seconds: v["seconds"].as_f64().unwrap_or(1.0) })
        }
        Sink::Nul | Sink::File => {
            // `kchan tail: E events, G gaps, L lost in S s (...)`
            let text = std::fs::read_to_string(&err)?;
            let words: Vec<&str> = text.split_whitespace().collect();
            let n = |i: usize| words.get(i).and_then(|w| w.parse::<f64>().ok()).with_context(|| text.clone());
            Ok(Figures { events: n(2)? as u64, lost: n(6)? as u64, seconds: n(9)? })
        }
    }
}
