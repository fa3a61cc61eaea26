//! Small inline SVG charts: labelled horizontal bars with their values, an axis with its unit.

use crate::esc;

const W: f64 = 720.0;
const LABEL: f64 = 230.0;
const ROW: f64 = 24.0;

/// Labels longer than this are cut with an ellipsis so they fit left of the bars.
const MAX_LABEL: usize = 34;

fn label(s: &str) -> String {
    if s.chars().count() > MAX_LABEL {
        let mut t: String = s.chars().take(MAX_LABEL - 1).collect();
        t.push('…');
        esc(&t)
    } else {
        esc(s)
    }
}

fn axis(height: f64, unit: &str) -> String {
    let mut s = String::new();
    let plot = W - LABEL - 60.0;
    for i in 0..=4 {
        let x = LABEL + plot * i as f64 / 4.0;
        s.push_str(&format!(
            "<line x1=\"{x:.1}\" y1=\"20\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#ccc\"/><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            height - 30.0,
            height - 16.0,
            i * 25
        ));
    }
    s.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\">{}</text>",
        LABEL + plot / 2.0,
        height - 2.0,
        esc(unit)
    ));
    s
}

/// A horizontal bar chart of shares (fractions); highlighted bars are drawn darker.
pub fn bar_chart(title: &str, bars: &[(String, f64, bool)], unit: &str) -> String {
    let height = 20.0 + ROW * bars.len() as f64 + 40.0;
    let plot = W - LABEL - 60.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {height}\" width=\"100%\" role=\"img\" aria-label=\"{}\" font-family=\"Helvetica, Arial, sans-serif\">",
        esc(title)
    );
    s.push_str(&axis(height, unit));
    for (i, (name, share, highlight)) in bars.iter().enumerate() {
        let y = 22.0 + ROW * i as f64;
        let w = (plot * share.clamp(0.0, 1.0)).max(0.5);
        let color = if *highlight { "#c0392b" } else { "#1d4e89" };
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\">{}</text><rect x=\"{LABEL}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{:.1} %</text>",
            LABEL - 6.0,
            y + 14.0,
            label(name),
            ROW - 6.0,
            LABEL + w + 4.0,
            y + 14.0,
            share * 100.0
        ));
    }
    s.push_str("</svg>");
    s
}

/// Paired horizontal bars (two shares per label), with a legend.
pub fn paired_bars(
    title: &str,
    rows: &[(String, f64, f64)],
    unit: &str,
    a: &str,
    b: &str,
) -> String {
    let row = ROW * 1.6;
    let height = 40.0 + row * rows.len() as f64 + 40.0;
    let plot = W - LABEL - 60.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {height}\" width=\"100%\" role=\"img\" aria-label=\"{}\" font-family=\"Helvetica, Arial, sans-serif\">",
        esc(title)
    );
    s.push_str(&format!(
        "<rect x=\"{LABEL}\" y=\"4\" width=\"12\" height=\"10\" fill=\"#9db4d3\"/><text x=\"{:.1}\" y=\"13\" font-size=\"11\">{}</text><rect x=\"{:.1}\" y=\"4\" width=\"12\" height=\"10\" fill=\"#1d4e89\"/><text x=\"{:.1}\" y=\"13\" font-size=\"11\">{}</text>",
        LABEL + 16.0,
        esc(a),
        LABEL + 110.0,
        LABEL + 126.0,
        esc(b)
    ));
    s.push_str(&axis(height, unit).replace("y1=\"20\"", "y1=\"36\""));
    for (i, (name, x, y_share)) in rows.iter().enumerate() {
        let y = 40.0 + row * i as f64;
        let w1 = (plot * x.clamp(0.0, 1.0)).max(0.5);
        let w2 = (plot * y_share.clamp(0.0, 1.0)).max(0.5);
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\">{}</text><rect x=\"{LABEL}\" y=\"{y:.1}\" width=\"{w1:.1}\" height=\"14\" fill=\"#9db4d3\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{:.1} %</text><rect x=\"{LABEL}\" y=\"{:.1}\" width=\"{w2:.1}\" height=\"14\" fill=\"#1d4e89\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{:.1} %</text>",
            LABEL - 6.0,
            y + 18.0,
            label(name),
            LABEL + w1 + 4.0,
            y + 11.0,
            x * 100.0,
            y + 15.0,
            LABEL + w2 + 4.0,
            y + 26.0,
            y_share * 100.0
        ));
    }
    s.push_str("</svg>");
    s
}
