//! `docs/benchmarks.svg`: events/s flat out by mode, one panel per payload,
//! a bar per source, on a log scale, each labelled with its value and its
//! ratio to seed-overlapped.
//!
//! plotters' SVG backend writes text as `<text>` elements (the viewer picks
//! the font), and its font-less build only estimates text widths for layout:
//! no font file or system font is needed to draw the chart.

use super::{MODES, PAYLOADS, SOURCES};
use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;
use std::path::Path;

const COLORS: [RGBColor; 2] = [RGBColor(0x1f, 0x77, 0xb4), RGBColor(0xff, 0x7f, 0x0e)];
const SOURCE_LABELS: [&str; 2] = ["driver generator", "injector process"];

/// Writes the chart of `doc`'s `modes` to `path`.
pub fn write(doc: &Value, path: &Path) -> Result<()> {
    draw(doc, path).map_err(|e| anyhow!("drawing {}: {e}", path.display()))
}

fn rate(doc: &Value, mode: &str, source: &str, payload: u32) -> Option<(f64, Option<f64>)> {
    let modes = doc["modes"].as_array()?;
    let e = super::report::find(modes, mode, source, payload)?;
    Some((e["events_per_s"].as_f64()?, e["ratio_to_seed_overlapped"].as_f64()))
}

/// Powers of ten around every value.
fn y_range(doc: &Value) -> (f64, f64) {
    let values: Vec<f64> = doc["modes"]
        .as_array()
        .map(|m| m.iter().filter_map(|e| e["events_per_s"].as_f64()).filter(|v| *v > 0.0).collect())
        .unwrap_or_default();
    let lo = values.iter().copied().fold(f64::MAX, f64::min).min(1e3);
    let hi = values.iter().copied().fold(1.0, f64::max);
    (10f64.powf(lo.log10().floor()), 10f64.powf((hi * 3.0).log10().ceil()))
}

fn draw(doc: &Value, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1100, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(40);
    let when = format!("{} · {}", doc["date"].as_str().unwrap_or(""), doc["command"].as_str().unwrap_or(""));
    title.draw(&Text::new(
        format!("kchan: events/s delivered flat out, by consumer design ({when})"),
        (20, 12),
        ("sans-serif", 18).into_font(),
    ))?;
    let (y0, y1) = y_range(doc);
    // x: each mode spans 10 units (integer coordinates format their own labels).
    let centers: Vec<i32> = (0..MODES.len() as i32).map(|i| i * 10 + 5).collect();
    for (panel, payload) in body.split_evenly((1, 2)).iter().zip(PAYLOADS) {
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{payload}-byte payloads"), ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d((0..MODES.len() as i32 * 10).with_key_points(centers.clone()), (y0..y1).log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_label_formatter(&|x| MODES.get((*x / 10) as usize).copied().unwrap_or("").to_string())
            .y_desc("events/s (log scale)")
            .y_label_formatter(&|y| format_rate(*y))
            .label_style(("sans-serif", 12))
            .draw()?;
        for (s, source) in SOURCES.iter().enumerate() {
            let bars: Vec<(usize, f64, Option<f64>)> = MODES
                .iter()
                .enumerate()
                .filter_map(|(i, m)| rate(doc, m, source, payload).map(|(v, r)| (i, v, r)))
                .collect();
            let color = COLORS[s];
            let x = move |i: usize| i as i32 * 10 + 1 + 4 * s as i32;
            chart
                .draw_series(
                    bars.iter().map(|&(i, v, _)| Rectangle::new([(x(i), y0), (x(i) + 4, v.max(y0))], color.filled())),
                )?
                .label(SOURCE_LABELS[s])
                .legend(move |(px, py)| Rectangle::new([(px, py - 5), (px + 12, py + 5)], color.filled()));
            let font = TextStyle::from(("sans-serif", 11).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
            // The value above each bar, the ratio to seed-overlapped inside it.
            chart.draw_series(
                bars.iter().map(|&(i, v, _)| Text::new(format_rate(v), (x(i) + 2, v.max(y0) * 1.08), font.clone())),
            )?;
            let inside = font.clone().color(&WHITE).pos(Pos::new(HPos::Center, VPos::Top));
            chart.draw_series(bars.iter().filter_map(|&(i, v, r)| {
                let r = r.filter(|r| *r >= 1.5 && v > y0 * 4.0)?;
                Some(Text::new(format!("{r:.0}x"), (x(i) + 2, v / 1.15), inside.clone()))
            }))?;
        }
        chart.configure_series_labels().position(SeriesLabelPosition::UpperLeft).border_style(BLACK).draw()?;
    }
    root.present()?;
    Ok(())
}

fn format_rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn draws_text_without_fonts() {
        let mut modes = Vec::new();
        for p in PAYLOADS {
            for s in SOURCES {
                for (i, m) in MODES.iter().enumerate() {
                    let eps = 10_000.0 * 10f64.powi(i as i32 / 2 + 1);
                    modes.push(json!({"name": m, "source": s, "payload_bytes": p, "events_per_s": eps, "ratio_to_seed_overlapped": eps / 1e4}));
                }
            }
        }
        let doc = json!({"modes": modes, "date": "2026-01-01", "command": "cargo xtask bench"});
        let path = std::env::temp_dir().join(format!("kchan-bench-chart-{}.svg", std::process::id()));
        write(&doc, &path).unwrap();
        if let Some(keep) = std::env::var_os("KCHAN_KEEP_CHART") {
            std::fs::copy(&path, keep).unwrap(); // to look at it
        }
        let svg = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(svg.contains("<text") && svg.contains("seed-overlapped") && svg.contains("256-byte payloads"));
        assert!(svg.lines().any(|l| l.trim() == "100x"), "ratio labels are drawn");
    }
}
