//! `kitlog summary`: the last period that is over against the one before it, per
//! category, with text bars, for a coordinator at a terminal. It is a release like a
//! report by category: the same decided numbers, recorded in the ledger. A period not
//! over yet is never shown (each look at it would tell what changed since the last).
//! Needs no passphrase.

use std::io::Write;

use chrono::Days;

use super::{Context, output};
use crate::cli::SummaryArgs;
use crate::error::Result;
use crate::fiscal::Period;
use crate::measures::Measure;
use crate::report::release::{Request, prepare, record};
use crate::report::{ALL, Dimensions, ItemLevel, ReportRow, SUPPRESSED};

/// Widest bar, in characters; the largest value of a section gets this many.
const BAR_WIDTH: u64 = 40;

/// Decides the two periods' table by category, records it and draws it.
pub(super) fn run(args: &SummaryArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    if let Some(path) = &args.html {
        return super::summary_page::run(path, context, out);
    }
    let mut store = context.unlock()?.store;
    super::coordinator_only(&store, "a summary")?;
    let calendar = store.settings()?.calendar;
    let kind = args.period.into();
    let open = calendar.period_of(kind, context.today);
    let current = calendar.period_of(kind, open.start - Days::new(1));
    let previous = calendar.period_of(kind, current.start - Days::new(1));
    let request = Request {
        kind,
        from: Some(previous.start),
        to: Some(current.end),
        dimensions: Dimensions {
            site: false,
            item: ItemLevel::Category,
        },
        min_cell: None,
        recipient: None,
        today: context.today,
    };
    let text = store.write(|store| {
        let prepared = prepare(store, &request)?;
        let mut text = Vec::new();
        render(
            &prepared.rows,
            &previous,
            &current,
            prepared.min_cell,
            &mut text,
        )
        .map_err(|e| crate::error::Error::Output(e.kind()))?;
        record(store, &prepared, &request, "summary", &text)?;
        Ok(text)
    })?;
    output(out.write_all(&text))
}

/// Picks one number from a row; `None` when the row is hidden.
type Pick = fn(&ReportRow) -> Option<u64>;

/// Draws the summary; pure apart from writing, so it can be tested on its own.
fn render(
    rows: &[ReportRow],
    previous: &Period,
    current: &Period,
    min_cell: u32,
    out: &mut impl Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{} ({} to {}) against {}; {SUPPRESSED} = hidden (about fewer than {min_cell} contacts or participants, or hidden to protect such a count)",
        current.label, current.start, current.end, previous.label
    )?;
    let value = |period: &Period, item: &str, pick: Pick| {
        rows.iter()
            .find(|r| r.period == *period && r.item == item)
            .map_or(Some(0), pick)
    };
    let sections: [(&str, Pick); 4] = [
        ("contacts", |r| r.value(Measure::Contacts)),
        ("participants", |r| r.value(Measure::Participants)),
        ("items handed out", |r| r.value(Measure::Quantity)),
        ("naloxone kits", |r| {
            // Hidden if any reason is: a sum of hidden counts would give them away.
            crate::measures::MEASURES
                .iter()
                .filter(|(m, _, _)| (*m as usize) >= Measure::NaloxoneFirst as usize)
                .map(|(m, _, _)| r.value(*m))
                .sum::<Option<u64>>()
        }),
    ];
    let mut categories: Vec<&str> = rows
        .iter()
        .map(|r| r.item.as_str())
        .filter(|item| *item != ALL)
        .collect();
    categories.sort_unstable();
    categories.dedup();
    categories.push(ALL);
    let label_width = categories.iter().map(|c| c.len()).max().unwrap_or(3).max(9);
    let period_width = previous.label.len().max(current.label.len());

    for (title, pick) in sections {
        writeln!(out, "\n{title}")?;
        let largest = categories
            .iter()
            .flat_map(|c| [value(previous, c, pick), value(current, c, pick)])
            .flatten()
            .max()
            .unwrap_or(0)
            .max(1);
        for category in &categories {
            let values = [
                value(previous, category, pick),
                value(current, category, pick),
            ];
            // A category with nothing in either period (other than "all") is noise.
            if *category != ALL && values == [Some(0), Some(0)] {
                continue;
            }
            let name = if *category == ALL { "all" } else { category };
            for (i, period) in [previous, current].into_iter().enumerate() {
                let shown = if i == 0 { name } else { "" };
                let (number, bar) = match value(period, category, pick) {
                    Some(0) => ("0".to_owned(), String::new()),
                    // At least one mark, so a small non-zero value does not read as none.
                    Some(n) => (n.to_string(), "#".repeat(bar_length(n, largest))),
                    None => (SUPPRESSED.to_owned(), String::new()),
                };
                let line = format!(
                    "  {shown:label_width$}  {:period_width$}  {number:>6}  {bar}",
                    period.label
                );
                writeln!(out, "{}", line.trim_end())?;
            }
        }
    }
    Ok(())
}

/// Marks for `n` when `largest` gets [`BAR_WIDTH`]: at least one for any non-zero value.
fn bar_length(n: u64, largest: u64) -> usize {
    usize::try_from((n * BAR_WIDTH / largest).max(1)).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::Measures;

    fn period(label: &str, start: &str, end: &str) -> Period {
        Period {
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
            label: label.into(),
        }
    }

    fn row(period: &Period, item: &str, contacts: Option<u64>) -> ReportRow {
        ReportRow {
            period: period.clone(),
            site: ALL.into(),
            item: item.into(),
            measures: {
                let n = contacts.unwrap_or(0);
                let mut measures = Measures::default();
                measures[Measure::Contacts] = n;
                measures[Measure::Participants] = n / 2;
                measures[Measure::Quantity] = n * 2;
                measures
            },
            hidden: if contacts.is_some() { 0 } else { u16::MAX },
        }
    }

    #[test]
    fn bars_scale_to_the_largest_value_and_hidden_cells_have_none() {
        let october = period("2026-10", "2026-10-01", "2026-10-31");
        let november = period("2026-11", "2026-11-01", "2026-11-30");
        let rows = [
            row(&october, "injection", Some(20)),
            row(&october, ALL, Some(20)),
            row(&november, "injection", Some(40)),
            row(&november, "smoking", None),
            row(&november, ALL, Some(44)),
        ];
        let mut out = Vec::new();
        render(&rows, &october, &november, 5, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let contacts: Vec<&str> = text.split("\n\n").nth(1).unwrap().lines().collect();
        assert_eq!(
            contacts,
            [
                "contacts",
                "  injection  2026-10      20  ##################",
                "             2026-11      40  ####################################",
                "  smoking    2026-10       0",
                "             2026-11       x",
                "  all        2026-10      20  ##################",
                "             2026-11      44  ########################################",
            ]
        );
        assert!(text.starts_with(
            "2026-11 (2026-11-01 to 2026-11-30) against 2026-10; x = hidden (about fewer than 5 contacts or participants, or hidden to protect such a count)\n"
        ));
    }
}
