//! Grouped bar charts as inline SVG, for the one-page summary. Written here rather
//! than with a plotting crate: an SVG bar chart is rectangles and text that the
//! browser lays out, while plotters' SVG text needs system fonts (fontconfig) or an
//! embedded font file. Pure: labels in, markup out, every label escaped.

use std::fmt::Write as _;

/// One series of a chart: its name and one value per group (`None`: hidden).
pub struct Series<'a> {
    /// Shown in the legend.
    pub name: &'a str,
    /// One per group, in order.
    pub values: Vec<Option<u64>>,
}

/// Fill colours, one per series, distinguishable in grey print too.
const COLOURS: [&str; 8] = [
    "#1b4f72", "#e67e22", "#7dcea0", "#884ea0", "#f4d03f", "#909497", "#c0392b", "#5dade2",
];

const WIDTH: u32 = 680;
const HEIGHT: u32 = 190;
const LEFT: u32 = 44;
const BOTTOM: u32 = 34;
const TOP: u32 = 22;

/// A grouped bar chart: one group per label along the bottom, one bar per series in
/// each. A hidden value gets no bar but an `x` where it would stand.
#[must_use]
pub fn grouped_bars(groups: &[String], series: &[Series<'_>]) -> String {
    let largest = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_height = HEIGHT - TOP - BOTTOM;
    let group_width = (WIDTH - LEFT) / u32::try_from(groups.len().max(1)).unwrap_or(1);
    let bar_width =
        (group_width.saturating_sub(6) / u32::try_from(series.len().max(1)).unwrap_or(1)).max(1);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"100%\" role=\"img\">\n"
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{WIDTH}\" y2=\"{base}\" stroke=\"#444\"/>",
        base = HEIGHT - BOTTOM
    );
    let _ = writeln!(
        svg,
        "<text x=\"{x}\" y=\"{y}\" font-size=\"10\" text-anchor=\"end\">{largest}</text>",
        x = LEFT - 4,
        y = TOP + 4
    );
    for (index, group) in groups.iter().enumerate() {
        let x0 = LEFT + group_width * u32::try_from(index).unwrap_or(0) + 3;
        for (number, one) in series.iter().enumerate() {
            let x = x0 + bar_width * u32::try_from(number).unwrap_or(0);
            let colour = COLOURS[number % COLOURS.len()];
            match one.values.get(index).copied().flatten() {
                Some(value) => {
                    let height = scaled(value, largest, plot_height);
                    let y = HEIGHT - BOTTOM - height;
                    let _ = writeln!(
                        svg,
                        "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{height}\" fill=\"{colour}\"><title>{} {}: {value}</title></rect>",
                        escape(one.name),
                        escape(group),
                        w = bar_width.saturating_sub(1).max(1)
                    );
                }
                None => {
                    let _ = writeln!(
                        svg,
                        "<text x=\"{cx}\" y=\"{y}\" font-size=\"10\" text-anchor=\"middle\" fill=\"{colour}\">x</text>",
                        cx = x + bar_width / 2,
                        y = HEIGHT - BOTTOM - 3
                    );
                }
            }
        }
        let _ = writeln!(
            svg,
            "<text x=\"{cx}\" y=\"{y}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            escape(group),
            cx = x0 + group_width / 2,
            y = HEIGHT - BOTTOM + 13
        );
    }
    let mut legend_x = LEFT;
    for (number, one) in series.iter().enumerate() {
        let colour = COLOURS[number % COLOURS.len()];
        let _ = writeln!(
            svg,
            "<rect x=\"{legend_x}\" y=\"{y}\" width=\"9\" height=\"9\" fill=\"{colour}\"/><text x=\"{tx}\" y=\"{ty}\" font-size=\"10\">{}</text>",
            escape(one.name),
            y = HEIGHT - 12,
            tx = legend_x + 12,
            ty = HEIGHT - 4
        );
        let name_width = u32::try_from(one.name.chars().count()).unwrap_or(10);
        legend_x += 24 + 6 * name_width;
    }
    svg.push_str("</svg>\n");
    svg
}

/// `value`'s bar height, in proportion to the largest; at least 1 when above 0.
fn scaled(value: u64, largest: u64, height: u32) -> u32 {
    if value == 0 {
        return 0;
    }
    let scaled = value.saturating_mul(u64::from(height)) / largest;
    u32::try_from(scaled).unwrap_or(height).clamp(1, height)
}

/// Text made safe for HTML and SVG.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_in_proportion_and_hidden_values_are_marked() {
        let svg = grouped_bars(
            &["2026-10".to_owned(), "2026-11".to_owned()],
            &[
                Series {
                    name: "injection",
                    values: vec![Some(134), Some(67)],
                },
                Series {
                    name: "naloxone",
                    values: vec![None, Some(0)],
                },
            ],
        );
        let height = HEIGHT - TOP - BOTTOM;
        assert!(svg.contains(&format!(
            "height=\"{height}\" fill=\"#1b4f72\"><title>injection 2026-10: 134</title>"
        )));
        assert!(svg.contains(&format!(
            "height=\"{}\" fill=\"#1b4f72\"><title>injection 2026-11: 67</title>",
            height / 2
        )));
        assert!(svg.contains(">x</text>"));
        assert!(svg.contains("height=\"0\" fill=\"#e67e22\"><title>naloxone 2026-11: 0</title>"));
        assert_eq!(svg.matches("<rect").count(), 3 + 2, "3 bars, 2 legend keys");
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let svg = grouped_bars(
            &["<g>".to_owned()],
            &[Series {
                name: "a&b",
                values: vec![Some(1)],
            }],
        );
        assert!(!svg.contains("<g>") && svg.contains("&lt;g&gt;") && svg.contains("a&amp;b"));
    }
}
