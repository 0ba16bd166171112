//! The release ledger: `kitlog releases`, re-releases after late sheets and voids,
//! what is and is not a release, the calendar rule, periods not over.

use std::fmt::Write as _;

use crate::harness::Kitlog;
use crate::report::{report, rows_of, with_examples};

/// The report text without its `release N …` note, which every release numbers anew.
fn unnumbered(text: &str) -> String {
    text.lines()
        .filter(|line| !line.starts_with("note,\"release "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn stderr_of(kit: &Kitlog, args: &[&str]) -> String {
    let assert = kit.run(args).success();
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

#[test]
fn releases_lists_the_ledger_and_shows_each_release_byte_for_byte() {
    let kit = with_examples();
    kit.run(&["releases"]).success().stdout(
        "no releases yet; every report made at the program's threshold is one (kitlog report)\n",
    );
    let monthly = kit.stdout(&["report", "--period", "month"]);
    kit.run(&[
        "report",
        "--period",
        "quarter",
        "--by",
        "site,category",
        "--for",
        "Ontario-Naloxone",
        "--out",
        "q.csv",
    ])
    .success();
    // Below the threshold: not a release, and not recorded.
    let internal = kit.stdout(&["report", "--period", "month", "--min-cell", "3"]);
    assert!(internal.ends_with(
        "note,\"NOT A RELEASE: made at min-cell 3, below the program's 5, for the program's own checks only; do not send it\"\n"
    ));
    kit.run(&["releases"]).success().stdout(
        "  #  made        period       periods             by             rows  hidden  for\n\
         \x20 1  2027-04-15  month        2026-10 to 2026-11  site,item        40      15  -\n\
         \x20 2  2027-04-15  quarter      FY2026-27 Q3        site,category    19      12  ontario-naloxone\n",
    );
    kit.run(&["releases", "show", "1"])
        .success()
        .stdout(monthly);
    let quarter = std::fs::read(kit.path("q.csv")).unwrap();
    kit.run(&["releases", "show", "2"])
        .success()
        .stdout(quarter.clone());
    let quarter = String::from_utf8(quarter).unwrap();
    assert!(
        quarter.starts_with("period,period_start,period_end,site,category,contacts,participants,")
    );
    assert!(
        quarter.ends_with(
            "note,\"release 2 of this program, made 2027-04-15 for ontario-naloxone\"\n"
        )
    );
    kit.refused(
        &["releases", "show", "3"],
        "error: there is no release 3; see kitlog releases\n",
    );
}

#[test]
fn a_late_sheet_or_a_void_never_changes_a_released_period() {
    let kit = with_examples();
    let first = kit.stdout(&["report", "--period", "month", "--by", "site"]);
    let late = kit.sheet(
        "late.csv",
        "date,site,code,injection-kit\n\
         2026-11-25,north-route,LATEONE1,1\n\
         2026-11-25,north-route,LATETWO2,2\n",
    );
    kit.import(&late, &[]).success();
    let again = kit
        .run(&["report", "--period", "month", "--by", "site"])
        .success();
    let output = again.get_output();
    assert_eq!(
        unnumbered(&String::from_utf8(output.stdout.clone()).unwrap()),
        unnumbered(&first)
    );
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert!(
        stderr.starts_with(
            "note: 2 contacts saved or voided after these days were first reported are held back (a late sheet is left out, a void does not apply), so that this release agrees with the earlier ones\n"
        ),
        "{stderr}"
    );
    // The program's own checks count everything as it is now.
    let now = report(
        &kit,
        &["--period", "month", "--by", "site", "--min-cell", "1"],
    );
    let north = now
        .iter()
        .find(|r| r["period"] == "2026-11" && r["site"] == "north-route")
        .unwrap();
    assert_eq!(north["contacts"], "5");
    // A void of a released day is held back too (batch 4 is north-route's sheet).
    kit.run(&["void", "4", "--reason", "entry-error"])
        .success()
        .stdout("voided batch 4 (entry-error): its 3 contacts no longer count in reports of periods not yet released (periods already released keep it, so that every release of them agrees)\n");
    let third = kit
        .run(&["report", "--period", "month", "--by", "site"])
        .success();
    assert_eq!(
        unnumbered(&String::from_utf8(third.get_output().stdout.clone()).unwrap()),
        unnumbered(&first)
    );
    // A quarter decided after the late sheet and the void still agrees with its
    // released months: it counts the days as they were released.
    let quarter = report(&kit, &["--period", "quarter", "--by", "site"]);
    let months = rows_of(&first);
    for site in ["downtown-van", "ALL"] {
        let in_quarter = quarter.iter().find(|r| r["site"] == site).unwrap();
        let sum: u64 = months
            .iter()
            .filter(|r| r["site"] == site)
            .map(|r| r["quantity"].parse::<u64>().unwrap())
            .sum();
        assert_eq!(in_quarter["quantity"], sum.to_string(), "{site}");
    }
}

#[test]
fn weeks_and_months_of_one_year_are_never_both_released() {
    let kit = with_examples();
    kit.run(&["report", "--period", "month"]).success();
    kit.refused(
        &["report", "--period", "week"],
        "error: FY2026-27 has been released by month, quarter or year; weeks do not add up to months, quarters or years, so releasing it both ways would let a reader subtract one from the other. Report FY2026-27 by month, quarter or fiscal year (or, for the program's own checks, below its threshold with --min-cell)\n",
    );
    // The program's own checks may cut the year any way.
    kit.run(&["report", "--period", "week", "--min-cell", "1"])
        .success();
    let other = with_examples();
    other.run(&["report", "--period", "week"]).success();
    other.refused(
        &["report", "--period", "quarter"],
        "error: FY2026-27 has been released by week; weeks do not add up to months, quarters or years, so releasing it both ways would let a reader subtract one from the other. Report FY2026-27 by week (or, for the program's own checks, below its threshold with --min-cell)\n",
    );
    assert_eq!(other.stdout(&["releases"]).lines().count(), 2);
}

#[test]
fn a_period_not_over_is_left_out_and_said_so() {
    let kit = with_examples().on("2026-11-25");
    let assert = kit.run(&["report", "--period", "month"]).success();
    let output = assert.get_output();
    let rows = rows_of(&String::from_utf8(output.stdout.clone()).unwrap());
    assert!(rows.iter().all(|r| r["period"] == "2026-10"));
    assert!(!rows.is_empty());
    assert!(String::from_utf8(output.stderr.clone()).unwrap().starts_with(
        "note: 2026-11 is not over yet, so it is left out; report a period once it has ended and its sheets are in\n"
    ));
}

#[test]
fn totals_are_marked_by_level_and_categories_name_their_column() {
    let kit = with_examples();
    let text = kit.stdout(&["report", "--period", "month", "--by", "site,category"]);
    assert!(text.starts_with("period,period_start,period_end,site,category,contacts,"));
    let rows = rows_of(&text);
    for r in &rows {
        let expected = match (r["site"].as_str(), r["item"].as_str()) {
            ("ALL", "ALL") => "program-total",
            ("ALL", _) => "item-total",
            (_, "ALL") => "site-total",
            _ => "detail",
        };
        assert_eq!(r["level"], expected, "{r:?}");
    }
    // Detail rows alone add up to the program total, where both are published.
    for period in ["2026-10", "2026-11"] {
        let total = rows
            .iter()
            .find(|r| r["period"] == period && r["level"] == "program-total")
            .unwrap();
        let detail: Vec<&str> = rows
            .iter()
            .filter(|r| r["period"] == period && r["level"] == "detail")
            .map(|r| r["quantity"].as_str())
            .collect();
        if detail.iter().all(|q| *q != "x") {
            let sum: u64 = detail.iter().map(|q| q.parse::<u64>().unwrap()).sum();
            assert_eq!(total["quantity"], sum.to_string());
        }
    }
    assert!(text.contains(
        "\nnote,\"x = hidden: a count about fewer than 5 contacts or participants, or one hidden so that such a count cannot be worked out from this or any other release\"\n\
         note,threshold (min-cell): 5\n"
    ));
}

#[test]
fn every_release_says_what_it_hid() {
    let kit = with_examples();
    let stderr = stderr_of(&kit, &["report", "--period", "month"]);
    assert_eq!(
        stderr,
        "release 1: 40 rows (15 hidden in whole or part; the hidden contact counts add up to 240)\n"
    );
}

/// The program in small: four busy sites of 15 people a month, where a few
/// contacts a month also take a rare item (a sharps container). Funders get the
/// program's totals and every busy site's totals, by month and by quarter, though
/// the rare item's cells are small and hidden.
#[test]
fn a_rare_item_never_costs_the_program_or_a_busy_site_its_totals() {
    const SITES: [&str; 4] = ["downtown-van", "east-drop-in", "north-route", "west-clinic"];
    let kit = Kitlog::initialised().on("2025-07-15");
    for site in &SITES[2..] {
        kit.run(&["site", "add", site]).success();
    }
    let mut sheet = String::from("date,site,code,syringe,sharps-container\n");
    let mut rare = 0;
    for month in 4..=6 {
        for (s, site) in SITES.iter().enumerate() {
            for person in 0..15 {
                // One to three sharps containers a month at each site, a different
                // number each month.
                let sharps = usize::from(person < 1 + (s + month) % 3);
                rare += sharps;
                writeln!(
                    sheet,
                    "2025-{month:02}-{:02},{site},S{s}P{person:02},10,{}",
                    person + 1,
                    if sharps == 1 { "1" } else { "" }
                )
                .unwrap();
            }
        }
    }
    assert!(rare > 0);
    kit.import(&kit.sheet("q1.csv", sheet), &[]).success();
    for period in ["month", "quarter"] {
        let rows = report(&kit, &["--period", period, "--by", "site,item"]);
        let totals: Vec<_> = rows.iter().filter(|r| r["item"] == "ALL").collect();
        assert_eq!(totals.len(), if period == "month" { 15 } else { 5 });
        for row in totals {
            let (contacts, participants) = match (period, row["site"].as_str()) {
                ("month", "ALL") => ("60", "60"),
                ("month", _) => ("15", "15"),
                (_, "ALL") => ("180", "60"),
                _ => ("45", "15"),
            };
            assert_eq!(row["contacts"], contacts, "{row:?}");
            assert_eq!(row["participants"], participants, "{row:?}");
        }
        // The rare item's cells are small, and hidden.
        assert!(
            rows.iter()
                .filter(|r| r["item"] == "sharps-container" && r["site"] != "ALL")
                .all(|r| r["contacts"] == "x"),
            "{period}"
        );
    }
}

/// A period keeps the threshold it was first released at: a stricter one later is
/// refused for it (its cells are out already), and a file that prints a period
/// released at a stricter threshold says so.
#[test]
fn a_released_period_keeps_its_threshold() {
    let kit = with_examples();
    kit.run(&["report", "--period", "month", "--by", "site"])
        .success();
    kit.refused(
        &["report", "--period", "month", "--by", "site,item", "--min-cell", "20"],
        "error: 2026-10 was first released at min-cell 5, and every release of it prints the cells decided then (anyone holding that release has them); report it at min-cell 5, or only periods not yet released, with --from\n",
    );
    // The refused report recorded nothing: one release in the ledger.
    let ledger = kit.stdout(&["releases"]);
    assert_eq!(ledger.lines().count(), 2, "{ledger}");

    let strict = with_examples();
    strict
        .run(&[
            "report",
            "--period",
            "month",
            "--by",
            "site",
            "--min-cell",
            "20",
        ])
        .success();
    let text = strict.stdout(&["report", "--period", "month", "--by", "site"]);
    assert!(
        text.contains("\nnote,\"threshold (min-cell): 5; periods first released at a stricter one keep it: 2026-10 at 20, 2026-11 at 20\"\n"),
        "{text}"
    );
}

/// A release whose file cannot be written is still recorded (later releases agree
/// with it), and the error says how to print it again.
#[test]
fn a_release_whose_file_cannot_be_written_says_how_to_print_it() {
    let kit = with_examples();
    let failed = kit
        .run(&[
            "report",
            "--period",
            "quarter",
            "--by",
            "site",
            "--out",
            "no-such-folder/q.csv",
        ])
        .failure();
    let stderr = String::from_utf8(failed.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.ends_with(
            "error: could not write no-such-folder/q.csv: it does not exist; release 1 is recorded all the same, so print it with kitlog releases show 1\n"
        ),
        "{stderr}"
    );
    let shown = kit.stdout(&["releases", "show", "1"]);
    assert!(shown.starts_with("period,period_start,period_end,site,item,contacts,"));
}

/// Five contacts in a month over two sites: each site could only be 1 to 4 beside a
/// published total of 5, so kitlog fails closed, hides the total too, and names the
/// month on stderr.
#[test]
fn a_total_of_exactly_the_threshold_over_two_sites_is_hidden_and_said_so() {
    let kit = Kitlog::initialised().on("2026-12-15");
    let sheet = kit.sheet(
        "five.csv",
        "date,site,code,syringe\n\
         2026-11-02,downtown-van,AAAA1111,10\n\
         2026-11-03,downtown-van,BBBB2222,10\n\
         2026-11-04,downtown-van,CCCC3333,10\n\
         2026-11-05,east-drop-in,DDDD4444,10\n\
         2026-11-06,east-drop-in,EEEE5555,10\n",
    );
    kit.import(&sheet, &[]).success();
    let released = kit
        .run(&["report", "--period", "month", "--by", "site"])
        .success();
    let stderr = String::from_utf8(released.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.starts_with("note: in 2026-11, some cells could not be protected one by one, so more is hidden there, up to everything that may be\n"),
        "{stderr}"
    );
    let rows = rows_of(&String::from_utf8(released.get_output().stdout.clone()).unwrap());
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row["contacts"], "x", "{row:?}");
        assert_eq!(row["participants"], "x", "{row:?}");
    }
}
