//! `kitlog report`: every period and breakdown over the example sheets, checked
//! against totals this test computes from the sheets itself; files, ranges, voids.

use std::collections::{HashMap, HashSet};

use crate::harness::{Kitlog, example};

pub const SHEETS: [&str; 5] = [
    "2026-10-28-east-drop-in.csv",
    "2026-11-16-downtown-van.csv",
    "2026-11-18-east-drop-in.csv",
    "2026-11-19-north-route.csv",
    "2026-11-20-downtown-van.csv",
];

/// The day the report tests run on: after the example sheets' fiscal year is over,
/// so that every period of them can be reported (a period not over is left out).
pub const AFTER_THE_YEAR: &str = "2027-04-15";

/// A program with the example sheets imported, on a day after their fiscal year.
pub fn with_examples() -> Kitlog {
    let kit = Kitlog::initialised().on(AFTER_THE_YEAR);
    kit.run(&["site", "add", "north-route"]).success();
    for sheet in SHEETS {
        kit.import(&example(sheet), &[]).success();
    }
    kit
}

/// The sheets' rows as (month, site, cells by header), read with the csv crate.
fn sheet_rows() -> Vec<(String, String, HashMap<String, String>)> {
    let mut rows = Vec::new();
    for sheet in SHEETS {
        let mut reader = csv::Reader::from_path(example(sheet)).unwrap();
        let headers = reader.headers().unwrap().clone();
        for record in reader.records() {
            let cells: HashMap<String, String> = headers
                .iter()
                .map(|h| h.trim_start_matches('\u{feff}').to_owned())
                .zip(record.unwrap().iter().map(str::to_owned))
                .collect();
            rows.push((cells["date"][..7].to_owned(), cells["site"].clone(), cells));
        }
    }
    rows
}

fn number(cells: &HashMap<String, String>, column: &str) -> u64 {
    cells.get(column).map_or(0, |v| v.parse().unwrap_or(0))
}

/// The report as a list of header → value maps (the `category` column also under
/// `item`), without the notes below the table.
pub fn report(kit: &Kitlog, args: &[&str]) -> Vec<HashMap<String, String>> {
    rows_of(&kit.stdout(&[&["report"], args].concat()))
}

/// The table of a report's text: rows up to the blank line before the notes.
pub fn rows_of(text: &str) -> Vec<HashMap<String, String>> {
    let table = text.split("\n\n").next().unwrap_or_default();
    let mut reader = csv::Reader::from_reader(table.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let mut cells: HashMap<String, String> = headers
                .iter()
                .map(str::to_owned)
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect();
            if let Some(category) = cells.get("category").cloned() {
                cells.insert("item".to_owned(), category);
            }
            cells
        })
        .collect()
}

fn row<'r>(
    rows: &'r [HashMap<String, String>],
    period: &str,
    site: &str,
    item: &str,
) -> &'r HashMap<String, String> {
    rows.iter()
        .find(|r| r["period"] == period && r["site"] == site && r["item"] == item)
        .unwrap_or_else(|| panic!("no row {period} {site} {item}"))
}

#[test]
fn monthly_totals_match_the_sheets() {
    let kit = with_examples();
    let rows = report(&kit, &["--period", "month", "--min-cell", "1"]);
    let sheets = sheet_rows();
    let items = [
        "injection-kit",
        "syringe",
        "stem-pipe",
        "bubble-pipe",
        "naloxone-nasal",
        "fentanyl-test-strip",
    ];
    for month in ["2026-10", "2026-11"] {
        let in_month: Vec<_> = sheets.iter().filter(|(m, _, _)| m == month).collect();
        let total = row(&rows, month, "ALL", "ALL");
        assert_eq!(total["contacts"], in_month.len().to_string());
        let anonymous = in_month
            .iter()
            .filter(|(_, _, c)| c["code"].is_empty())
            .count();
        assert_eq!(total["anonymous_contacts"], anonymous.to_string());
        for (column, report_column) in [
            ("reversals", "reversals"),
            ("returned", "returned"),
            ("for_others", "for_others"),
        ] {
            let sum: u64 = in_month.iter().map(|(_, _, c)| number(c, column)).sum();
            assert_eq!(total[report_column], sum.to_string(), "{month} {column}");
        }
        let quantity: u64 = in_month
            .iter()
            .map(|(_, _, c)| items.iter().map(|i| number(c, i)).sum::<u64>())
            .sum();
        assert_eq!(total["quantity"], quantity.to_string());
        for item in items {
            let given: Vec<_> = in_month
                .iter()
                .filter(|(_, _, c)| number(c, item) > 0)
                .collect();
            if given.is_empty() {
                continue;
            }
            let r = row(&rows, month, "ALL", item);
            assert_eq!(r["contacts"], given.len().to_string(), "{month} {item}");
            let q: u64 = given.iter().map(|(_, _, c)| number(c, item)).sum();
            assert_eq!(r["quantity"], q.to_string(), "{month} {item}");
        }
        for reason in ["first", "used", "lost", "stolen", "confiscated", "expired"] {
            let kits: u64 = in_month
                .iter()
                .filter(|(_, _, c)| c["naloxone_reason"] == reason)
                .map(|(_, _, c)| number(c, "naloxone-nasal"))
                .sum();
            assert_eq!(total[&format!("naloxone_{reason}")], kits.to_string());
        }
    }
}

#[test]
fn every_period_and_breakdown_agrees_on_the_grand_total() {
    let kit = with_examples();
    let contacts = sheet_rows().len();
    for period in ["week", "month", "quarter", "fiscal-year"] {
        for by in ["site,item", "site,category", "site", "item", "category"] {
            let rows = report(&kit, &["--period", period, "--by", by, "--min-cell", "1"]);
            let totals: usize = rows
                .iter()
                .filter(|r| r["site"] == "ALL" && r["item"] == "ALL")
                .map(|r| r["contacts"].parse::<usize>().unwrap())
                .sum();
            assert_eq!(totals, contacts, "{period} --by {by}");
            // Labels the dimensions do not ask for are ALL.
            if !by.contains("site") {
                assert!(rows.iter().all(|r| r["site"] == "ALL"));
            }
            if by == "site" {
                assert!(rows.iter().all(|r| r["item"] == "ALL"));
            }
        }
    }
    let rows = report(
        &kit,
        &["--period", "quarter", "--by", "site", "--min-cell", "1"],
    );
    let labels: HashSet<_> = rows.iter().map(|r| r["period"].clone()).collect();
    assert_eq!(labels, HashSet::from(["FY2026-27 Q3".to_owned()]));
    assert_eq!(rows[0]["period_start"], "2026-10-01");
    assert_eq!(rows[0]["period_end"], "2026-12-31");
}

#[test]
fn small_cells_are_hidden_by_default_and_the_note_says_when_not() {
    let kit = with_examples();
    let rows = report(&kit, &["--period", "month"]);
    for r in rows.iter().filter(|r| r["site"] == "north-route") {
        assert_eq!(r["contacts"], "x");
        assert_eq!(r["participants"], "x");
    }
    // No published row is small.
    for r in &rows {
        for column in ["contacts", "participants"] {
            if let Ok(n) = r[column].parse::<u64>() {
                assert!(n == 0 || n >= 5, "{r:?}");
            }
        }
    }
    kit.run(&["report", "--period", "month", "--min-cell", "1"])
        .success()
        .stderr("note: --min-cell 1 hides nothing; this report is for the program's own use, never for publication, and is not a release\n");
    let released = kit.run(&["report", "--period", "month"]).success();
    let stderr = String::from_utf8(released.get_output().stderr.clone()).unwrap();
    assert!(stderr.starts_with("release 2: 40 rows ("), "{stderr}");
}

#[test]
fn out_writes_the_file_whole_never_over_another_and_bom_is_optional() {
    let kit = with_examples();
    let stdout = kit.stdout(&["report", "--period", "quarter", "--by", "site"]);
    let out = kit.path("q.csv");
    kit.run(&[
        "report", "--period", "quarter", "--by", "site", "--out", "q.csv",
    ])
    .success()
    .stdout("wrote 4 rows to q.csv (3 hidden as x)\n");
    // The same release again, but for its number in the notes.
    let file = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        file.replace("release 2 of this program", "release 1 of this program"),
        stdout
    );
    kit.run(&[
        "report", "--period", "quarter", "--by", "site", "--out", "q.csv", "--bom",
    ])
    .failure()
    .stderr("error: a file already exists at q.csv; add --force to replace it, or choose another name\n");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), file);
    kit.run(&[
        "report", "--period", "quarter", "--by", "site", "--out", "q.csv", "--bom", "--force",
    ])
    .success();
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    assert_eq!(
        String::from_utf8(bytes[3..].to_vec())
            .unwrap()
            .replace("release 3 of this program", "release 1 of this program"),
        stdout
    );
    // Nothing else is left in the folder: no temp file.
    assert_eq!(kit.files(), vec!["program.db", "program.db.keys"]);
    kit.run(&[
        "report",
        "--period",
        "month",
        "--out",
        "no/such/folder/r.csv",
    ])
    .failure()
    .code(1);
}

#[test]
fn from_and_to_select_whole_periods() {
    let kit = with_examples();
    let rows = report(
        &kit,
        &[
            "--period",
            "month",
            "--by",
            "site",
            "--from",
            "2026-11-15",
            "--to",
            "2026-11-16",
            "--min-cell",
            "1",
        ],
    );
    let periods: HashSet<_> = rows.iter().map(|r| r["period"].clone()).collect();
    assert_eq!(periods, HashSet::from(["2026-11".to_owned()]));
    assert_eq!(row(&rows, "2026-11", "ALL", "ALL")["contacts"], "127");
    // October's contacts still make November's returning participants not new.
    let november_new = &row(&rows, "2026-11", "ALL", "ALL")["new_participants"];
    let all = report(
        &kit,
        &["--period", "month", "--by", "site", "--min-cell", "1"],
    );
    assert_eq!(
        &row(&all, "2026-11", "ALL", "ALL")["new_participants"],
        november_new
    );
    kit.run(&[
        "report",
        "--period",
        "month",
        "--from",
        "2026-12-01",
        "--to",
        "2026-11-01",
    ])
    .failure()
    .stderr("error: --from is after --to; nothing to report\n");
}

#[test]
fn voided_data_leaves_the_report() {
    let kit = with_examples();
    let before = row(
        &report(
            &kit,
            &["--period", "month", "--by", "site", "--min-cell", "1"],
        ),
        "2026-10",
        "ALL",
        "ALL",
    )["contacts"]
        .clone();
    assert_eq!(before, "33");
    kit.run(&["void", "1", "--contact", "1", "--reason", "entry-error"])
        .success();
    let rows = report(
        &kit,
        &["--period", "month", "--by", "site", "--min-cell", "1"],
    );
    assert_eq!(row(&rows, "2026-10", "ALL", "ALL")["contacts"], "32");
    kit.run(&["void", "1", "--reason", "test"]).success();
    let rows = report(
        &kit,
        &["--period", "month", "--by", "site", "--min-cell", "1"],
    );
    assert!(rows.iter().all(|r| r["period"] != "2026-10"));
}

#[test]
fn an_empty_program_reports_a_header_only() {
    let kit = Kitlog::initialised();
    let text = kit.stdout(&["report", "--period", "month"]);
    assert!(rows_of(&text).is_empty());
    assert!(text.starts_with("period,period_start,period_end,site,item,contacts,participants,new_participants,anonymous_contacts,quantity,reversals,"));
    kit.run(&["report", "--period", "month", "--by", "item,category"])
        .failure()
        .stderr(
            "error: --by is a comma list of site and one of item or category, e.g. site,item\n",
        );
    kit.run(&["report", "--period", "fortnight"])
        .failure()
        .code(2);
}

#[test]
fn summary_shows_the_report_numbers_with_bars() {
    let kit = with_examples();
    let rows = report(&kit, &["--period", "fiscal-year", "--by", "category"]);
    let total = &row(&rows, "FY2026-27", "ALL", "ALL")["contacts"];
    let summary = kit.stdout(&["summary", "--period", "fiscal-year"]);
    let contacts_section = summary.split("\n\n").nth(1).unwrap();
    assert!(contacts_section.starts_with("contacts\n"), "{summary}");
    let all_line = contacts_section
        .lines()
        .find(|line| {
            line.contains("FY2026-27")
                && (line.starts_with("  all") || line.starts_with("     "))
                && line.contains(&format!(" {total}  #"))
        })
        .unwrap_or_else(|| panic!("no total of {total} in\n{summary}"));
    assert!(all_line.ends_with(&"#".repeat(40)), "{all_line}");
}

#[test]
fn voiding_a_first_contact_makes_the_next_one_new() {
    let kit = Kitlog::initialised().on(AFTER_THE_YEAR);
    kit.import(
        &kit.sheet(
            "oct.csv",
            "date,site,code,syringe\n2026-10-05,downtown-van,SYNFIRST,1\n",
        ),
        &[],
    )
    .success();
    kit.import(
        &kit.sheet("nov.csv", "date,site,code,syringe\n2026-11-05,downtown-van,SYNFIRST,3\n2026-11-06,downtown-van,SYNOTHER,2\n"),
        &[],
    )
    .success();
    let measures = |kit: &Kitlog, period: &str| {
        let rows = report(
            kit,
            &["--period", "month", "--by", "site", "--min-cell", "1"],
        );
        let r = row(&rows, period, "ALL", "ALL");
        ["contacts", "participants", "new_participants", "quantity"].map(|c| r[c].clone())
    };
    assert_eq!(measures(&kit, "2026-10"), ["1", "1", "1", "1"]);
    assert_eq!(measures(&kit, "2026-11"), ["2", "2", "1", "5"]);
    kit.run(&["void", "1", "--reason", "entry-error"]).success();
    assert_eq!(measures(&kit, "2026-11"), ["2", "2", "2", "5"]);
    kit.run(&["void", "2", "--contact", "2", "--reason", "duplicate"])
        .success();
    assert_eq!(measures(&kit, "2026-11"), ["1", "1", "1", "3"]);
}

/// A report that starts after its fiscal year does still knows who came earlier in
/// that year (not new), and that the same code in the year before is, by design,
/// someone else (new again). Each row reads as in the report over everything.
#[test]
fn a_report_from_mid_year_knows_who_came_earlier_in_the_year() {
    let kit = Kitlog::initialised();
    let sheet = "date,site,code,syringe\n\
                 2026-03-30,downtown-van,SYNSPRING,1\n\
                 2026-04-02,downtown-van,SYNSPRING,1\n\
                 2026-04-03,downtown-van,SYNAPRIL,1\n\
                 2026-05-04,downtown-van,SYNAPRIL,1\n\
                 2026-05-05,downtown-van,SYNMAY,1\n";
    kit.import(&kit.sheet("spring.csv", sheet), &[]).success();
    let totals = |period: &str, range: &[&str], start: &str| {
        let rows = report(
            &kit,
            &[
                &["--period", period, "--by", "site", "--min-cell", "1"],
                range,
            ]
            .concat(),
        );
        let total = rows
            .iter()
            .find(|r| r["period_start"] == start && r["site"] == "ALL")
            .unwrap_or_else(|| panic!("no {period} from {start}"));
        ["contacts", "participants", "new_participants"].map(|c| total[c].clone())
    };
    let may = totals(
        "month",
        &["--from", "2026-05-10", "--to", "2026-05-10"],
        "2026-05-01",
    );
    assert_eq!(
        may,
        ["2", "2", "1"],
        "April's participant is not new in May"
    );
    assert_eq!(totals("month", &[], "2026-05-01"), may);
    // The week of Monday 30 March straddles the fiscal-year start (April).
    let week = totals("week", &["--from", "2026-04-01"], "2026-03-30");
    assert_eq!(
        week,
        ["3", "3", "3"],
        "SYNSPRING in two fiscal years is two participants"
    );
    assert_eq!(totals("week", &[], "2026-03-30"), week);
    // Voiding the April contact makes May's visit the participant's first of the year.
    kit.run(&["void", "1", "--contact", "3", "--reason", "entry-error"])
        .success();
    let may = totals("month", &["--from", "2026-05-10"], "2026-05-01");
    assert_eq!(may, ["2", "2", "2"]);
}
