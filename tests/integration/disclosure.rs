//! kitlog's releases against the independent attacker ([`crate::attacker`]): random
//! small programs with a quiet site, random sequences of releases (months, quarters
//! and the fiscal year in any order, or weeks; each with every breakdown, over the
//! whole range or a `--from`/`--to` part of it, with late sheets and voids between
//! them), and no small cell that everything released together pins down.
//!
//! The reader holds every breakdown of every period kind released, which is the
//! reader kitlog protects against (a zero it can prove is not a small cell). Truth is
//! read from `--min-cell 1` reports made before any release and any late data: late
//! sheets and voids are held back from periods already decided, so those reports are
//! what every release was counted from.

use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::attacker::{Truth, audit_limited};
use crate::harness::Kitlog;

/// The program's threshold: `kitlog init`'s default.
const MIN_CELL: i64 = 5;
/// The items the random sheets hand out, one per category, and their categories.
const ITEMS: [(&str, &str); 4] = [
    ("syringe", "injection"),
    ("stem-pipe", "smoking"),
    ("naloxone-nasal", "naloxone"),
    ("fentanyl-test-strip", "testing"),
];
const SITES: [&str; 3] = ["downtown-van", "east-drop-in", "north-route"];
const REASONS: [&str; 7] = [
    "first",
    "used",
    "lost",
    "stolen",
    "confiscated",
    "expired",
    "other",
];
const BREAKDOWNS: [&str; 5] = ["site", "item", "category", "site,item", "site,category"];
/// A day after FY2025-26, so that every period of the sheets is over.
const TODAY: &str = "2026-05-01";

/// One row of a sheet.
#[derive(Debug, Clone)]
struct Contact {
    /// Months after April 2025.
    month: u32,
    day: u32,
    site: usize,
    /// `None`: anonymous.
    person: Option<u8>,
    /// Quantities of [`ITEMS`], at least one of them positive.
    items: [u32; 4],
    reason: usize,
    returned: u32,
}

impl Contact {
    fn row(&self) -> String {
        let mut row = format!(
            "2025-{:02}-{:02},{},",
            4 + self.month,
            self.day,
            SITES[self.site]
        );
        if let Some(person) = self.person {
            let _ = write!(row, "PERSON{person:02}");
        }
        for quantity in self.items {
            let _ = write!(row, ",{quantity}");
        }
        let reason = if self.items[2] > 0 {
            REASONS[self.reason]
        } else {
            ""
        };
        let _ = write!(row, ",{},{reason}", self.returned);
        row
    }
}

fn sheet(contacts: &[Contact]) -> String {
    let mut text = String::from("date,site,code");
    for (item, _) in ITEMS {
        text.push(',');
        text.push_str(item);
    }
    text.push_str(",returned,naloxone_reason\n");
    for contact in contacts {
        text.push_str(&contact.row());
        text.push('\n');
    }
    text
}

fn contact(months: u32, sites: usize) -> impl Strategy<Value = Contact> {
    (
        0..months,
        1..=28u32,
        // Busy first sites, a quiet last one.
        prop_oneof![3 => 0..sites.saturating_sub(1).max(1), 1 => Just(sites - 1)],
        prop_oneof![1 => Just(None), 4 => (0..24u8).prop_map(Some)],
        (0..4usize, proptest::array::uniform4(0..3u32)),
        0..REASONS.len(),
        0..6u32,
    )
        .prop_map(
            |(month, day, site, person, (first, mut items), reason, returned)| {
                items[first] = items[first].max(1);
                Contact {
                    month,
                    day,
                    site,
                    person,
                    items,
                    reason,
                    returned,
                }
            },
        )
}

/// What happens to a program, in order.
#[derive(Debug, Clone)]
struct Story {
    sites: usize,
    sheet: Vec<Contact>,
    /// Period kinds released, each with every breakdown, and the months (after April
    /// 2025, first and last) given as `--from` and `--to`, if any.
    releases: Vec<(&'static str, Option<(u32, u32)>)>,
    /// After which release a late sheet (inside the sheet's months) arrives, and it.
    late: Option<(usize, Vec<Contact>)>,
    /// After which release the first contact of the first batch is voided.
    void_after: Option<usize>,
}

fn story() -> impl Strategy<Value = Story> {
    (2..=3usize, 2..=3u32)
        .prop_flat_map(|(sites, months)| {
            (
                Just(sites),
                proptest::collection::vec(contact(months, sites), 15..50),
                // Months, quarters and the year mix; weeks go alone (kitlog refuses
                // weeks beside the others in one fiscal year).
                prop_oneof![
                    3 => Just(vec!["month", "quarter", "fiscal-year"]).prop_shuffle(),
                    1 => Just(vec!["week", "week", "week"]),
                ],
                1..=3usize,
                proptest::option::of((
                    0..3usize,
                    proptest::collection::vec(contact(months, sites), 1..6),
                )),
                proptest::option::of(0..3usize),
                proptest::collection::vec(proptest::option::of((0..months, 0..months)), 3),
            )
        })
        .prop_map(|(sites, sheet, kinds, count, late, void_after, ranges)| {
            // The first release covers everything, so that every period the late
            // sheet and the void touch is decided before them (and the truth, taken
            // before them, is what every release counts); later ones may take a part.
            let releases = kinds[..count]
                .iter()
                .zip(ranges)
                .enumerate()
                .map(|(index, (kind, range))| {
                    let range = range.filter(|_| index > 0);
                    (*kind, range.map(|(a, b)| (a.min(b), a.max(b))))
                })
                .collect();
            // Late contacts fall on days the first release decided: none after the
            // sheet's last day (a week after it would be new, not late).
            let last = sheet
                .iter()
                .map(|c: &Contact| (c.month, c.day))
                .max()
                .unwrap_or((0, 1));
            let late = late.map(|(after, mut rows): (usize, Vec<Contact>)| {
                for row in &mut rows {
                    if (row.month, row.day) > last {
                        (row.month, row.day) = last;
                    }
                }
                (after, rows)
            });
            Story {
                sites,
                sheet,
                late: late.map(|(after, rows)| (after % count, rows)),
                void_after: void_after.map(|after| after % count),
                releases,
            }
        })
}

/// Runs the story through kitlog and returns the truth reports and the releases.
fn play(story: &Story) -> (Vec<String>, Vec<String>) {
    let kit = Kitlog::bare().on(TODAY);
    for site in &SITES[..story.sites] {
        kit.run(&["site", "add", site]).success();
    }
    kit.import(&kit.sheet("sheet.csv", sheet(&story.sheet)), &[])
        .success();
    let mut truth = Vec::new();
    for kind in ["week", "month", "quarter", "fiscal-year"] {
        for by in BREAKDOWNS {
            truth.push(kit.stdout(&["report", "--period", kind, "--by", by, "--min-cell", "1"]));
        }
    }
    let mut releases = Vec::new();
    for (index, (kind, range)) in story.releases.iter().enumerate() {
        let mut args = vec![
            "report".to_owned(),
            "--period".to_owned(),
            (*kind).to_owned(),
        ];
        if let Some((first, last)) = range {
            args.extend([
                "--from".to_owned(),
                format!("2025-{:02}-01", 4 + first),
                "--to".to_owned(),
                format!("2025-{:02}-28", 4 + last),
            ]);
        }
        for by in BREAKDOWNS {
            let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
            args.extend(["--by", by]);
            releases.push(kit.stdout(&args));
        }
        if let Some((_, rows)) = story.late.as_ref().filter(|(after, _)| *after == index) {
            kit.import(&kit.sheet("late.csv", sheet(rows)), &[])
                .success();
        }
        if story.void_after == Some(index) {
            kit.run(&["void", "1", "--contact", "1", "--reason", "entry-error"])
                .success();
        }
    }
    (truth, releases)
}

fn holds(story: &Story) -> Result<(), TestCaseError> {
    let (truth, releases) = play(story);
    let truth: Vec<&str> = truth.iter().map(String::as_str).collect();
    let releases: Vec<&str> = releases.iter().map(String::as_str).collect();
    let findings = audit_limited(&releases, &Truth::from_reports(&truth), &ITEMS, MIN_CELL, 1);
    prop_assert!(
        findings.is_empty(),
        "the releases pin down a small cell: {findings:?}"
    );
    Ok(())
}

proptest! {
    // Each case runs kitlog about thirty times and solves linear programs over what it
    // released: a few dozen cases keep CI within its time.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn everything_released_together_pins_down_no_small_cell(story in story()) {
        holds(&story)?;
    }
}
