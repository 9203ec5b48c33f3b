//! Loss and metric curves as a small self-contained SVG (no fonts or plotting stack needed).

use std::fmt::Write;

/// Draw the per-step losses (left panel, with a moving average) and per-epoch scores (right
/// panel) into an SVG document.
pub fn curve_svg(step_losses: &[f64], epoch_scores: &[f64], score_name: &str) -> String {
    let (w, h, pad) = (420.0, 260.0, 45.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        2.0 * w + 3.0 * pad,
        h + 2.0 * pad
    );
    let window = (step_losses.len() / 50).max(1);
    let smoothed: Vec<f64> = (0..step_losses.len())
        .map(|i| {
            let lo = i.saturating_sub(window - 1);
            step_losses[lo..=i].iter().sum::<f64>() / (i + 1 - lo) as f64
        })
        .collect();
    panel(
        &mut s,
        pad,
        pad,
        w,
        h,
        "training loss (per step, moving average)",
        &[(step_losses, "#cbd5e0"), (&smoothed, "#2b6cb0")],
        "step",
    );
    panel(
        &mut s,
        2.0 * pad + w,
        pad,
        w,
        h,
        &format!("{score_name} (per epoch)"),
        &[(epoch_scores, "#c05621")],
        "epoch",
    );
    s.push_str("</svg>\n");
    s
}

#[allow(clippy::too_many_arguments)]
fn panel(
    s: &mut String,
    x0: f64,
    y0: f64,
    w: f64,
    h: f64,
    title: &str,
    series: &[(&[f64], &str)],
    x_label: &str,
) {
    let values: Vec<f64> = series
        .iter()
        .flat_map(|(v, _)| v.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (0.0, 1.0)
    };
    let n = series
        .iter()
        .map(|(v, _)| v.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let _ = writeln!(
        s,
        "<text x=\"{x0}\" y=\"{}\" font-size=\"14\">{title}</text>",
        y0 - 12.0
    );
    let _ = writeln!(
        s,
        "<rect x=\"{x0}\" y=\"{y0}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#a0aec0\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{hi:.4}</text>",
        x0 - 4.0,
        y0 + 10.0
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{lo:.4}</text>",
        x0 - 4.0,
        y0 + h
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{x_label} {}</text>",
        x0 + w,
        y0 + h + 16.0,
        n - 1
    );
    for (v, color) in series {
        if v.is_empty() {
            continue;
        }
        let points: Vec<String> = v
            .iter()
            .enumerate()
            .filter(|(_, y)| y.is_finite())
            .map(|(i, y)| {
                let px = x0 + w * i as f64 / (n - 1) as f64;
                let py = y0 + h - h * (y - lo) / (hi - lo);
                format!("{px:.1},{py:.1}")
            })
            .collect();
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>",
            points.join(" ")
        );
    }
}
