//! A release as a funder opens it: in LibreOffice Calc, run headless. The rows keep
//! their values, counts are numbers, `x` stays text, and the notes block arrives as
//! rows of two cells, the explanation whole in the second.
//!
//! `scripts/test` installs LibreOffice (`libreoffice-calc-nogui`) when it is missing;
//! without it this test fails, it is never skipped.

use std::path::Path;
use std::process::Command;

use crate::report::with_examples;

/// Runs `soffice --headless ARGS` in `dir`, with its profile in `dir` too (never the
/// user's), and returns what it wrote to stdout.
pub fn soffice(dir: &Path, args: &[&str]) -> String {
    let profile = format!(
        "-env:UserInstallation=file://{}",
        dir.join("profile").display()
    );
    let output = Command::new("soffice")
        .arg(profile)
        .arg("--headless")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("LibreOffice (soffice) runs: scripts/test installs libreoffice-calc-nogui");
    assert!(
        output.status.success(),
        "soffice {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A CSV's records, without trailing empty cells and without empty rows: what a
/// spreadsheet's export pads is not a difference.
pub fn records(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|record| {
            let mut cells: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
            while cells.last().is_some_and(String::is_empty) {
                cells.pop();
            }
            cells
        })
        .filter(|cells| !cells.is_empty())
        .collect()
}

#[test]
fn libreoffice_reads_the_rows_numbers_and_notes_of_a_release() {
    let kit = with_examples();
    kit.run(&[
        "report",
        "--period",
        "month",
        "--by",
        "site,category",
        "--out",
        "months.csv",
    ])
    .success();
    let dir = kit.path("");
    let csv_import = "--infilter=CSV:44,34,76"; // comma, double quote, UTF-8
    soffice(&dir, &[csv_import, "--convert-to", "fods", "months.csv"]);
    soffice(&dir, &[csv_import, "--convert-to", "ods", "months.csv"]);
    soffice(
        &dir,
        &[
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
            "back",
            "months.ods",
        ],
    );
    let original = std::fs::read_to_string(kit.path("months.csv")).unwrap();
    let back = std::fs::read_to_string(kit.path("back/months.csv")).unwrap();
    assert_eq!(records(&back), records(&original));

    // The flat ODS file says how Calc typed each cell.
    let sheet = std::fs::read_to_string(kit.path("months.fods")).unwrap();
    let sheet = sheet
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("> <", "><");
    let number = |value: &str| {
        format!("<table:table-cell office:value-type=\"float\" office:value=\"{value}\"")
    };
    let text = |value: &str| {
        format!(
            "office:value-type=\"string\" calcext:value-type=\"string\"><text:p>{value}</text:p>"
        )
    };
    // November's program total: 127 contacts, 1555 items.
    assert!(sheet.contains(&number("127")), "contacts are numbers");
    assert!(sheet.contains(&number("1555")), "quantities are numbers");
    assert!(sheet.contains(&text("x")), "a hidden count is text");
    // The cell after each `note` label, as Calc wrote it (attributes and all).
    let beside_notes: Vec<&str> = sheet
        .split("<text:p>note</text:p></table:table-cell><table:table-cell")
        .skip(1)
        .map(|rest| rest.split("</table:table-cell>").next().unwrap_or_default())
        .collect();
    assert_eq!(beside_notes.len(), 4, "four note rows");
    for note in [
        "x = hidden: a count about fewer than 5 contacts or participants, or one hidden so that such a count cannot be worked out from this or any other release",
        "threshold (min-cell): 5",
        "release 1 of this program, made 2027-04-15",
    ] {
        assert!(
            beside_notes
                .iter()
                .any(|cell| cell.contains("office:value-type=\"string\"")
                    && cell.ends_with(&format!("><text:p>{note}</text:p>"))),
            "the note {note:?} is one text cell beside its label: {beside_notes:?}"
        );
    }
}
