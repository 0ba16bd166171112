//! `kitlog summary --html FILE`: one self-contained page for a board or the program's
//! own people: the fiscal year so far, month by month, as bar charts with the numbers
//! beside them. No script, no link, no font to fetch: it opens offline and prints on
//! one A4 or Letter page. Every number comes from one release (months, by site and
//! category), decided and recorded like a report.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use chrono::Days;

use super::report::{left_out_notes, write_atomically};
use super::{Context, output};
use crate::chart::{Series, escape, grouped_bars};
use crate::error::{Error, Result};
use crate::fiscal::{Period, PeriodKind};
use crate::measures::Measure;
use crate::report::release::{Prepared, Request, prepare, record};
use crate::report::{ALL, Dimensions, ItemLevel, ReportRow, SUPPRESSED};

/// The categories, in the order the page shows them.
const CATEGORIES: [&str; 5] = ["injection", "smoking", "naloxone", "testing", "other"];

/// The naloxone reasons, as the page names them, with their measure.
const REASONS: [(&str, Measure); 8] = [
    ("first", Measure::NaloxoneFirst),
    ("used", Measure::NaloxoneUsed),
    ("lost", Measure::NaloxoneLost),
    ("stolen", Measure::NaloxoneStolen),
    ("confiscated", Measure::NaloxoneConfiscated),
    ("expired", Measure::NaloxoneExpired),
    ("other", Measure::NaloxoneOther),
    ("not recorded", Measure::NaloxoneUnrecorded),
];

/// Decides the months of this fiscal year that are over, records the release and
/// writes the page to `path` (atomically, never over a file).
pub(super) fn run(path: &Path, context: &Context, out: &mut impl Write) -> Result<()> {
    if path.symlink_metadata().is_ok() {
        return Err(Error::OutputExists(path.to_owned()));
    }
    let mut store = context.unlock()?.store;
    super::coordinator_only(&store, "a summary page")?;
    let calendar = store.settings()?.calendar;
    let open = calendar.period_of(PeriodKind::Month, context.today);
    let last = calendar.period_of(PeriodKind::Month, open.start - Days::new(1));
    let year = calendar.year_of(last.start);
    // From the first month with contacts, never an empty month before it: a month
    // released is decided for good, and an empty one would keep its zeros when the
    // paper sheets of that month are entered later.
    let first = store
        .live_day_range()?
        .map(|(first, _)| first.max(year.first_day()))
        .filter(|first| *first <= last.end)
        .ok_or(Error::NothingToSummarise(year.to_string()))?;
    let request = Request {
        kind: PeriodKind::Month,
        from: Some(first),
        to: Some(last.end),
        dimensions: Dimensions {
            site: true,
            item: ItemLevel::Category,
        },
        min_cell: None,
        recipient: None,
        today: context.today,
    };
    let (number, page, notes) = store.write(|store| {
        let prepared = prepare(store, &request)?;
        let number = store.next_release()?;
        let heading = format!("{year}, {} to {}", first, last.end);
        let page = page(&heading, &prepared, number, context);
        record(
            store,
            &prepared,
            &request,
            "site,category (summary page)",
            page.as_bytes(),
        )?;
        Ok((number, page, left_out_notes(&prepared)))
    })?;
    for note in notes {
        eprintln!("note: {note}");
    }
    write_atomically(path, page.as_bytes()).map_err(|cause| Error::ReleaseNotWritten {
        number,
        cause: Box::new(cause),
    })?;
    output(writeln!(
        out,
        "wrote the summary of {year} (release {number}) to {}",
        path.display()
    ))
}

/// The value of `measure` in the row of `site` and `item` for `period`: `None` when
/// hidden, 0 when there is no such row (nobody was given any).
fn value(
    rows: &[ReportRow],
    period: &Period,
    site: &str,
    item: &str,
    measure: Measure,
) -> Option<u64> {
    rows.iter()
        .find(|r| r.period.label == period.label && r.site == site && r.item == item)
        .map_or(Some(0), |row| row.value(measure))
}

/// The page: a heading, four charts each with its table, and the notes.
fn page(heading: &str, prepared: &Prepared, number: i64, context: &Context) -> String {
    let (periods, rows, min_cell) = (&prepared.periods, &prepared.rows, prepared.min_cell);
    let months: Vec<String> = periods.iter().map(|p| p.label.clone()).collect();
    let per_month = |site: &str, item: &str, measure: Measure| -> Vec<Option<u64>> {
        periods
            .iter()
            .map(|period| value(rows, period, site, item, measure))
            .collect()
    };
    let mut sites: Vec<&str> = rows
        .iter()
        .map(|r| r.site.as_str())
        .filter(|site| *site != ALL)
        .collect();
    sites.sort_unstable();
    sites.dedup();

    let supplies: Vec<Series<'_>> = CATEGORIES
        .iter()
        .map(|category| Series {
            name: category,
            values: per_month(ALL, category, Measure::Quantity),
        })
        .collect();
    let contacts: Vec<Series<'_>> = sites
        .iter()
        .map(|site| Series {
            name: site,
            values: per_month(site, ALL, Measure::Contacts),
        })
        .collect();
    let participants: Vec<Series<'_>> = sites
        .iter()
        .map(|site| Series {
            name: site,
            values: per_month(site, ALL, Measure::Participants),
        })
        .collect();
    let naloxone: Vec<Series<'_>> = REASONS
        .iter()
        .map(|(reason, measure)| Series {
            name: reason,
            values: per_month(ALL, "naloxone", *measure),
        })
        .collect();
    let syringes = vec![
        Series {
            name: "injection supplies out",
            values: per_month(ALL, "injection", Measure::Quantity),
        },
        Series {
            name: "used syringes returned",
            values: per_month(ALL, ALL, Measure::Returned),
        },
    ];

    let mut html = String::from(HEAD);
    let _ = writeln!(
        html,
        "<h1>Harm reduction supplies: {}</h1>",
        escape(heading)
    );
    let _ = writeln!(
        html,
        "<p class=\"lead\">kitlog release {number}, made {}. {SUPPRESSED} = hidden: a count about fewer than {min_cell} contacts or participants, or one hidden so that such a count cannot be worked out from this or any other release.</p>",
        context.today
    );
    for note in left_out_notes(prepared) {
        let _ = writeln!(html, "<p class=\"lead\">Note: {}.</p>", escape(&note));
    }
    section(
        &mut html,
        "Supplies handed out, by category and month",
        &months,
        &supplies,
    );
    section(&mut html, "Contacts per site and month", &months, &contacts);
    table(
        &mut html,
        "Participants (distinct codes, an estimate) per site and month",
        &months,
        &participants,
    );
    section(
        &mut html,
        "Naloxone kits by reason for the kit",
        &months,
        &naloxone,
    );
    section(
        &mut html,
        "Syringes: injection supplies out and used syringes returned",
        &months,
        &syringes,
    );
    html.push_str(
        "<footer>Counts of contacts, items and codes only: kitlog keeps no names and prints no code. Participants are distinct codes within the fiscal year, an estimate, since people misremember their codes. kitlog releases shows this release in the program's ledger.</footer>\n</body>\n</html>\n",
    );
    html
}

/// A chart and its numbers.
fn section(html: &mut String, title: &str, months: &[String], series: &[Series<'_>]) {
    let _ = writeln!(html, "<section>\n<h2>{}</h2>", escape(title));
    html.push_str(&grouped_bars(months, series));
    numbers(html, months, series);
    html.push_str("</section>\n");
}

/// Numbers alone, for what a bar chart would mislead about (participants do not add
/// up across months).
fn table(html: &mut String, title: &str, months: &[String], series: &[Series<'_>]) {
    let _ = writeln!(html, "<section>\n<h2>{}</h2>", escape(title));
    numbers(html, months, series);
    html.push_str("</section>\n");
}

fn numbers(html: &mut String, months: &[String], series: &[Series<'_>]) {
    html.push_str("<table>\n<tr><th></th>");
    for month in months {
        let _ = write!(html, "<th>{}</th>", escape(month));
    }
    html.push_str("</tr>\n");
    for one in series {
        let _ = write!(html, "<tr><th>{}</th>", escape(one.name));
        for value in &one.values {
            match value {
                Some(value) => {
                    let _ = write!(html, "<td>{value}</td>");
                }
                None => {
                    let _ = write!(html, "<td class=\"x\">{SUPPRESSED}</td>");
                }
            }
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
}

/// The page's head: its style, sized to print on one A4 or Letter page.
const HEAD: &str = "<!DOCTYPE html>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<title>kitlog summary</title>
<style>
@page { size: A4; margin: 10mm; }
body { font-family: sans-serif; font-size: 8pt; max-width: 186mm; margin: 0 auto; color: #111; }
h1 { font-size: 13pt; margin: 0 0 2px; }
h2 { font-size: 9.5pt; margin: 5px 0 1px; }
p.lead { margin: 0 0 4px; }
section { break-inside: avoid; }
svg { display: block; max-height: 36mm; }
table { border-collapse: collapse; font-size: 7pt; margin: 1px 0 2px; }
th, td { border: 1px solid #bbb; padding: 0 3px; text-align: right; }
th:first-child { text-align: left; }
td.x { color: #c00000; font-weight: bold; }
footer { font-size: 7pt; color: #444; margin-top: 4px; }
</style>
</head>
<body>
";
