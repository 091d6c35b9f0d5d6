//! The charts of `docs/`: events/s flat out by mode (`benchmarks.svg`, a
//! bar per source, log scale, labelled with the value and the ratio to
//! seed-overlapped) and latency against rate (`benchmarks-latency.svg`,
//! p50 and p99 per mode, the delivery floor as horizontal lines).
//!
//! plotters' SVG backend writes text as `<text>` elements (the viewer picks
//! the font), and its font-less build only estimates text widths for layout:
//! no font file or system font is needed to draw the charts.

use super::document::find;
use super::{MODES, PAYLOADS, SOURCES};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;
use std::path::Path;

const COLORS: [RGBColor; 4] =
    [RGBColor(0x1f, 0x77, 0xb4), RGBColor(0x2c, 0xa0, 0x2c), RGBColor(0xff, 0x7f, 0x0e), RGBColor(0xd6, 0x27, 0x28)];
const SOURCE_LABELS: [&str; 3] = ["driver generator", "generator, waits for room", "injector process"];

type Error = Box<dyn std::error::Error>;

/// Writes the events/s chart of `doc` to `path`.
pub fn write_rates(doc: &Value, path: &Path) -> Result<(), String> {
    draw_rates(doc, path).map_err(|e| format!("drawing {}: {e}", path.display()))
}

/// Writes the latency-against-rate chart of `doc` to `path`.
pub fn write_latency(doc: &Value, path: &Path) -> Result<(), String> {
    draw_latency(doc, path).map_err(|e| format!("drawing {}: {e}", path.display()))
}

fn rate(doc: &Value, mode: &str, source: &str, payload: u32) -> Option<(f64, Option<f64>)> {
    let e = find(doc["modes"].as_array()?, mode, source, payload)?;
    Some((e["events_per_s"].as_f64()?, e["ratio_to_seed_overlapped"].as_f64()))
}

/// Powers of ten around every value of `values` (at least `lo..hi`).
fn decades(values: impl Iterator<Item = f64>, lo: f64, hi: f64) -> (f64, f64) {
    let values: Vec<f64> = values.filter(|v| *v > 0.0).collect();
    let lo = values.iter().copied().fold(lo, f64::min);
    let hi = values.iter().copied().fold(hi, f64::max);
    (10f64.powf(lo.log10().floor()), 10f64.powf((hi * 3.0).log10().ceil()))
}

fn title(doc: &Value, area: &DrawingArea<SVGBackend, plotters::coord::Shift>, what: &str) -> Result<(), Error> {
    let when = format!("{} · {}", doc["date"].as_str().unwrap_or(""), doc["command"].as_str().unwrap_or(""));
    area.draw(&Text::new(format!("kchan: {what} ({when})"), (20, 12), ("sans-serif", 18).into_font()))?;
    Ok(())
}

fn draw_rates(doc: &Value, path: &Path) -> Result<(), Error> {
    let root = SVGBackend::new(path, (1300, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(40);
    title(doc, &head, "events/s delivered flat out, by consumer design")?;
    let all = doc["modes"].as_array().into_iter().flatten().filter_map(|e| e["events_per_s"].as_f64());
    let (y0, y1) = decades(all, 1e3, 1.0);
    let width = SOURCES.len() as i32 * 4 + 2;
    // x: each mode spans `width` units (integer coordinates format their own labels).
    let centers: Vec<i32> = (0..MODES.len() as i32).map(|i| i * width + width / 2).collect();
    for (panel, payload) in body.split_evenly((1, 2)).iter().zip(PAYLOADS) {
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{payload}-byte payloads"), ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (0..MODES.len() as i32 * width).with_key_points(centers.clone()),
                (y0..y1).log_scale(),
            )?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_label_formatter(&|x| MODES.get((*x / width) as usize).copied().unwrap_or("").to_string())
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
            let x = move |i: usize| i as i32 * width + 1 + 4 * s as i32;
            chart
                .draw_series(
                    bars.iter().map(|&(i, v, _)| Rectangle::new([(x(i), y0), (x(i) + 4, v.max(y0))], color.filled())),
                )?
                .label(SOURCE_LABELS[s])
                .legend(move |(px, py)| Rectangle::new([(px, py - 5), (px + 12, py + 5)], color.filled()));
            let font = TextStyle::from(("sans-serif", 10).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
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

/// (rate, p50, p99) points of one mode and payload, by rate.
fn sweep(doc: &Value, mode: &str, payload: u32) -> Vec<(f64, f64, f64)> {
    doc["latency_vs_rate"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == mode && p["payload_bytes"] == payload)
        .filter_map(|p| Some((p["rate"].as_f64()?, p["p50_us"].as_f64()?, p["p99_us"].as_f64()?)))
        .collect()
}

fn draw_latency(doc: &Value, path: &Path) -> Result<(), Error> {
    let root = SVGBackend::new(path, (1300, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(40);
    title(doc, &head, "latency from publish to receive against rate (solid p50, dashed p99; grey: floor.delivery)")?;
    let points = || MODES.iter().flat_map(|m| PAYLOADS.iter().flat_map(move |&p| sweep(doc, m, p)));
    let (x0, x1) = decades(points().map(|p| p.0), 1e3, 1e5);
    let floor = [&doc["floor"]["delivery_p50_us"], &doc["floor"]["delivery_p99_us"]].map(Value::as_f64);
    let (y0, y1) = decades(points().flat_map(|p| [p.1, p.2]).chain(floor.iter().flatten().copied()), 100.0, 1e3);
    for (panel, payload) in body.split_evenly((1, 2)).iter().zip(PAYLOADS) {
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{payload}-byte payloads, driver generator"), ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(70)
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("events/s asked (log scale)")
            .y_desc("latency, us (log scale)")
            .x_label_formatter(&|x| format_rate(*x))
            .y_label_formatter(&|y| format_rate(*y))
            .label_style(("sans-serif", 12))
            .draw()?;
        for (value, label) in floor.iter().zip(["floor.delivery p50", "floor.delivery p99"]) {
            let Some(v) = *value else { continue };
            let grey = RGBColor(0x88, 0x88, 0x88);
            chart.draw_series(LineSeries::new([(x0, v), (x1, v)], grey.stroke_width(2)))?;
            let font =
                TextStyle::from(("sans-serif", 11).into_font()).color(&grey).pos(Pos::new(HPos::Left, VPos::Bottom));
            chart.draw_series([Text::new(label, (x0 * 1.1, v * 0.97), font)])?;
        }
        for (m, mode) in MODES.iter().enumerate() {
            let pts = sweep(doc, mode, payload);
            if pts.is_empty() {
                continue;
            }
            let color = COLORS[m];
            chart
                .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), color.stroke_width(2)))?
                .label(*mode)
                .legend(move |(px, py)| PathElement::new([(px, py), (px + 14, py)], color.stroke_width(2)));
            chart.draw_series(DashedLineSeries::new(pts.iter().map(|p| (p.0, p.2)), 6, 4, color.stroke_width(1)))?;
            chart.draw_series(pts.iter().map(|p| Circle::new((p.0, p.1), 3, color.filled())))?;
        }
        chart.configure_series_labels().position(SeriesLabelPosition::LowerRight).border_style(BLACK).draw()?;
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
    use crate::report::document::tests::doc;

    fn drawn(write: fn(&Value, &Path) -> Result<(), String>, name: &str) -> String {
        let path = std::env::temp_dir().join(format!("kchan-bench-{name}-{}.svg", std::process::id()));
        write(&doc(), &path).unwrap();
        if let Some(dir) = std::env::var_os("KCHAN_KEEP_CHARTS") {
            std::fs::copy(&path, Path::new(&dir).join(format!("{name}.svg"))).unwrap();
            // to look at them
        }
        let svg = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        svg
    }

    #[test]
    fn draws_rates_without_fonts() {
        let svg = drawn(write_rates, "rates");
        assert!(svg.contains("<text") && svg.contains("seed-overlapped") && svg.contains("256-byte payloads"));
        assert!(svg.lines().any(|l| l.trim() == "100x"), "ratio labels are drawn");
    }

    #[test]
    fn draws_latency_with_the_floor() {
        let svg = drawn(write_latency, "latency");
        assert!(svg.contains("floor.delivery p50") && svg.contains("kchan-k8"));
        assert!(svg.contains("<polyline"), "lines are drawn");
    }
}
