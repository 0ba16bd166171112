//! Several workers at once: four large imports whose writes overlap, with reports and
//! backups running all the while. Everything lands, nothing waits into "database is
//! locked", and every reader sees one moment: whole batches, never part of one.

use std::process::{Child, Stdio};

use crate::crash::{Synthetic, synthetic_sheet};
use crate::harness::{Kitlog, sqlite3};

/// Rows per concurrent sheet: each import spends a good part of a second writing.
const ROWS: u64 = 6_000;

/// The `ALL,ALL` row of a fiscal-year report by site with nothing hidden, as
/// `(contacts, participants, new_participants)`; `None` for an empty report.
fn totals(report: &str) -> Option<(u64, u64, u64)> {
    let mut lines = report.lines();
    assert!(lines.next().unwrap().starts_with("period,period_start"));
    let rows: Vec<&str> = lines.collect();
    if rows.is_empty() {
        return None;
    }
    let all: Vec<&&str> = rows.iter().filter(|r| r.contains(",ALL,ALL,")).collect();
    assert_eq!(all.len(), 1, "{report}");
    let cells: Vec<u64> = all[0]
        .split(',')
        .skip(5)
        .take(3)
        .map(|c| c.parse().unwrap())
        .collect();
    Some((cells[0], cells[1], cells[2]))
}

/// `(contacts, participants, new_participants)` of `sheets` whole sheets: every code is
/// distinct and new, and every day falls in fiscal year 2025.
fn whole(sheets: u64, sheet: &Synthetic) -> (u64, u64, u64) {
    (
        sheets * sheet.contacts,
        sheets * sheet.coded,
        sheets * sheet.coded,
    )
}

fn spawn(kit: &Kitlog, args: &[&str]) -> Child {
    kit.process()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> String {
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");
    assert!(
        !stderr.contains("locked") && !stderr.contains("busy"),
        "{stderr}"
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn four_large_imports_with_reports_and_backups_all_land_and_every_reader_sees_one_moment() {
    let kit = Kitlog::initialised();
    // A first, small batch on a few days only, so that a report which took its range
    // of days before the big batches landed would cut them short.
    let seed = synthetic_sheet(9, 40);
    kit.import(&kit.sheet("seed.csv", &seed.text), &[])
        .success();
    let sheets: Vec<Synthetic> = (1..=4).map(|tag| synthetic_sheet(tag, ROWS)).collect();
    let paths: Vec<_> = sheets
        .iter()
        .enumerate()
        .map(|(n, sheet)| kit.sheet(&format!("big{n}.csv"), &sheet.text))
        .collect();

    let importers: Vec<Child> = paths
        .iter()
        .map(|path| spawn(&kit, &["import", path.to_str().unwrap()]))
        .collect();
    let report = [
        "report",
        "--period",
        "fiscal-year",
        "--by",
        "site",
        "--min-cell",
        "1",
    ];
    // Readers one after another while the imports run, each while others write.
    let mut reports = Vec::new();
    let mut backups = Vec::new();
    let mut running = importers;
    let mut done = Vec::new();
    while !running.is_empty() || reports.len() < 2 {
        let reader = spawn(&kit, &report);
        let name = format!("copy{}.db", backups.len());
        let backup = spawn(&kit, &["backup", &name]);
        reports.push(finish(reader));
        finish(backup);
        backups.push(name);
        let mut still = Vec::new();
        for mut child in running {
            if child.try_wait().unwrap().is_some() {
                done.push(child);
            } else {
                still.push(child);
            }
        }
        running = still;
    }
    for importer in done {
        assert!(
            finish(importer).starts_with("saved batch "),
            "an import did not save"
        );
    }

    // All four landed, whole, once each, besides the first batch.
    assert_eq!(
        kit.sql("SELECT count(*) FROM contact GROUP BY batch_id ORDER BY batch_id"),
        format!("40\n{ROWS}\n{ROWS}\n{ROWS}\n{ROWS}\n")
    );
    kit.run(&["check"]).success();
    let seed_totals = whole(1, &seed);
    let add = |a: (u64, u64, u64), b: (u64, u64, u64)| (a.0 + b.0, a.1 + b.1, a.2 + b.2);
    assert_eq!(
        totals(&kit.stdout(&report)),
        Some(add(seed_totals, whole(4, &sheets[0])))
    );
    // Each report is the seed plus some number of whole sheets: one moment.
    let moments: Vec<Option<(u64, u64, u64)>> = (0..=4)
        .map(|k| Some(add(seed_totals, whole(k, &sheets[0]))))
        .collect();
    for report in &reports {
        assert!(
            moments.contains(&totals(report)),
            "a report saw part of a batch: {:?}",
            totals(report)
        );
    }
    // Each backup is whole batches and passes check.
    for name in &backups {
        kit.run(&["--db", name, "check"]).success();
        let counts = sqlite3(
            &kit.path(name),
            "SELECT count(*) FROM contact GROUP BY batch_id",
        );
        assert!(
            counts.lines().skip(1).all(|n| n == ROWS.to_string()),
            "{name}: {counts}"
        );
    }
}
