//! `kitlog close-year`: a closed year's reports stay byte for byte, its codes are
//! gone from every byte of the program, and nothing can be added to it or voided.

use std::fmt::Write as _;

use crate::harness::{Kitlog, contains, today};

/// A program with a finished fiscal year (FY2025-26, April start), a week that
/// straddles its end, and some of the open year, with returning participants and
/// sites big and small so that reports hide some cells and publish others.
fn program_with_a_finished_year() -> Kitlog {
    let kit = Kitlog::initialised();
    kit.run(&["site", "add", "north-route"]).success();
    let mut sheet =
        String::from("date,site,code,injection-kit,stem-pipe,naloxone-nasal,naloxone_reason\n");
    let days = [
        "2025-05-06",
        "2025-09-17",
        "2026-01-20",
        "2026-03-31",
        "2026-04-01",
        "2026-10-14",
    ];
    for (d, day) in days.iter().enumerate() {
        for n in 0..14 {
            let code = if n % 5 == 4 {
                String::new()
            } else {
                format!("SYNFY{:03}", (n * 7 + d) % 11)
            };
            let naloxone = if n % 3 == 0 { "1,first" } else { "," };
            writeln!(
                sheet,
                "{day},downtown-van,{code},{},{},{naloxone}",
                1 + n % 2,
                n % 3
            )
            .unwrap();
        }
        for n in 0..(2 + d % 3) {
            writeln!(sheet, "{day},north-route,SYNNR{n},1,,,").unwrap();
        }
        writeln!(sheet, "{day},east-drop-in,SYNED{d},,2,,").unwrap();
    }
    kit.import(&kit.sheet("years.csv", sheet), &[]).success();
    kit
}

/// Every report a coordinator can ask for, plus the summary.
fn all_reports(kit: &Kitlog) -> Vec<String> {
    let mut out = Vec::new();
    for period in ["week", "month", "quarter", "fiscal-year"] {
        for by in ["site", "item", "category", "site,item", "site,category"] {
            for min_cell in ["5", "1", "3"] {
                // A year released by month is not released by week too (weeks cut
                // months); the program's own checks below its threshold may be.
                if period == "week" && min_cell == "5" {
                    continue;
                }
                out.push(kit.stdout(&[
                    "report",
                    "--period",
                    period,
                    "--by",
                    by,
                    "--min-cell",
                    min_cell,
                ]));
            }
        }
        if period != "week" {
            out.push(kit.stdout(&["summary", "--period", period]));
        }
    }
    out
}

fn codes_of_year(kit: &Kitlog, year: i32) -> Vec<Vec<u8>> {
    kit.blobs(&format!(
        "SELECT hex(code) FROM contact WHERE fiscal_year = {year} AND code IS NOT NULL"
    ))
}

#[test]
fn closing_a_year_keeps_every_report_and_erases_every_code() {
    let kit = program_with_a_finished_year();
    let before = all_reports(&kit);
    assert!(
        before.iter().any(|r| r.contains(",x,")),
        "some cells are hidden"
    );
    let closed_codes = codes_of_year(&kit, 2025);
    let open_codes = codes_of_year(&kit, 2026);
    assert!(closed_codes.len() > 30 && !open_codes.is_empty());

    kit.run(&["close-year", "FY2025-26", "--yes"])
        .success()
        .stdout(predicates::str::starts_with(format!(
            "closed FY2025-26: erased {} participant codes and kept ",
            closed_codes.len()
        )));

    let after = all_reports(&kit);
    // Each release after closing is a new one, numbered on: only its number differs.
    let unnumbered = |report: &String| {
        report
            .lines()
            .filter(|line| !line.starts_with("note,\"release "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(unnumbered(b), unnumbered(a), "report {i} changed");
    }
    let stored = kit.readable_bytes();
    for code in &closed_codes {
        assert!(
            !contains(&stored, code),
            "a code of the closed year survives"
        );
    }
    assert!(open_codes.iter().all(|code| contains(&stored, code)));
    assert_eq!(kit.files(), vec!["program.db", "program.db.keys"]);
    kit.run(&["check"]).success();
}

#[test]
fn a_closed_year_takes_no_new_data_and_no_voids() {
    let kit = program_with_a_finished_year();
    kit.run(&["close-year", "2025", "--yes"]).success();
    let before = kit.stored_bytes();
    let late = kit.sheet(
        "late.csv",
        "date,site,code,syringe\n2026-02-02,downtown-van,SYNLATE,1\n",
    );
    let closed = "error: FY2025-26 is closed (kitlog close-year): its codes are erased and its reports frozen, so nothing can be added to it or voided; nothing was saved\n";
    kit.import(&late, &[]).failure().stderr(closed);
    // The dry run refuses it too: it makes every check the import makes.
    kit.import(&late, &["--dry-run"]).failure().stderr(closed);
    // And kitlog shift, at the date prompt, before a line is typed.
    kit.command()
        .arg("shift")
        .write_stdin("2026-02-02\n")
        .assert()
        .failure()
        .stderr(closed);
    kit.run(&["void", "1", "--reason", "test"])
        .failure()
        .stderr(closed);
    kit.run(&["void", "1", "--contact", "1", "--reason", "test"])
        .failure()
        .stderr(closed);
    kit.run(&["close-year", "FY2025-26", "--yes"])
        .failure()
        .stderr(closed);
    assert_eq!(kit.stored_bytes(), before);
    // The open year still takes data.
    kit.import(
        &kit.sheet(
            "now.csv",
            "date,site,code,syringe\n2026-11-02,downtown-van,SYNNOW,1\n",
        ),
        &[],
    )
    .success();
}

#[test]
fn only_a_finished_year_closes_and_only_when_confirmed() {
    let kit = program_with_a_finished_year();
    let before = kit.stored_bytes();
    kit.run(&["close-year", "FY2026-27", "--yes"]).failure().stderr(
        "error: FY2026-27 runs until 2027-03-31; close a year only after it has ended and its reports are done\n",
    );
    kit.run(&["close-year", "FY2025-26"]).failure().stderr(
        "error: closing a year erases its codes for good; add --yes to confirm, or run it at a terminal\n",
    );
    kit.run(&["close-year", "last-year", "--yes"]).failure().stderr(
        "error: name the fiscal year as a report does, e.g. FY2025-26 (or its start year, 2025)\n",
    );
    assert_eq!(kit.stored_bytes(), before);
    assert!(today().as_str() > "2026-03-31");
}
