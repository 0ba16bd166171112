//! `kitlog import` on good sheets: what it says, what it saves, spreadsheet quirks,
//! defaults from the command line, and refusing the same sheet twice.

use std::fmt::Write as _;

use crate::harness::{Kitlog, example};

#[test]
fn import_saves_a_sheet_and_says_what_it_saved() {
    let kit = Kitlog::initialised();
    let sheet = kit.sheet(
        "shift.csv",
        "date,site,code,injection-kit,stem-pipe,naloxone-nasal,reversals,for_others,naloxone_reason\n\
         2026-11-20,downtown-van,BLUEFOX77,2,,1,1,,first\n\
         2026-11-20,downtown-van,,1,3,,,2,\n",
    );
    kit.run(&["worker", "add", "JD"]).success();
    kit.import(&sheet, &["--worker", "jd"]).success().stdout(format!(
        "saved batch 1: 2 contacts (1 anonymous) at downtown-van on 2026-11-20\n\
         \x20 injection-kit 3, naloxone-nasal 1, stem-pipe 3; reversals 1, for others 2, returned 0\n\
         note: {path} still holds raw participant codes; delete it now that it is saved\n\
         \x20 (Linux: shred -u {path}; elsewhere delete it and empty the trash)\n",
        path = sheet.display()
    ));
    assert_eq!(
        kit.stdout(&["batches"]),
        "batch  days        saved       source  sites         worker  contacts  items  status\n\
         1      2026-11-20  TODAY       import  downtown-van  JD             2      7\n"
            .replace("TODAY     ", &crate::harness::today())
    );
}

#[test]
fn the_same_sheet_twice_is_refused_even_reformatted() {
    let kit = Kitlog::initialised();
    let sheet = example("2026-11-16-downtown-van.csv");
    kit.import(&sheet, &[]).success();
    let before = kit.stored_bytes();
    kit.import(&sheet, &[]).failure().stderr(
        "error: this shift sheet was already imported as batch 1; nothing was saved (void that batch first if it was wrong)\n",
    );
    // The same contacts with CRLF, a BOM and quoted cells are the same sheet.
    let text = std::fs::read_to_string(&sheet).unwrap();
    let reformatted: String = text
        .lines()
        .map(|line| {
            line.split(',')
                .map(|cell| format!("\"{cell}\""))
                .collect::<Vec<_>>()
                .join(",")
                + "\r\n"
        })
        .collect();
    let copy = kit.sheet("copy.csv", format!("\u{feff}{reformatted}\r\n\r\n"));
    kit.import(&copy, &[]).failure().code(1);
    kit.import(&copy, &["--dry-run"]).failure().code(1);
    assert_eq!(kit.stored_bytes(), before);
}

#[test]
fn a_voided_sheet_can_be_imported_again() {
    let kit = Kitlog::initialised();
    let sheet = example("2026-11-16-downtown-van.csv");
    kit.import(&sheet, &[]).success();
    kit.run(&["void", "1", "--reason", "test"]).success();
    kit.import(&sheet, &[]).success();
}

#[test]
fn every_example_sheet_imports() {
    let kit = Kitlog::initialised();
    for name in [
        "2026-10-28-east-drop-in.csv",
        "2026-11-16-downtown-van.csv",
        "2026-11-18-east-drop-in.csv",
        "2026-11-20-downtown-van.csv",
    ] {
        kit.import(&example(name), &[]).success();
    }
    let batches = kit.stdout(&["batches"]);
    assert_eq!(batches.lines().count(), 5, "{batches}");
}

#[test]
fn date_and_site_can_come_from_the_command_line() {
    let kit = Kitlog::initialised();
    let sheet = kit.sheet("s.csv", "code,syringe,returned\nBLUEFOX77,10,\n,,25\n");
    kit.import(&sheet, &["--site", "east-drop-in", "--date", "2026-11-19"])
        .success();
    kit.import(
        &kit.sheet("t.csv", "code,syringe\nREDCROW12,1\n"),
        &["--site", "east-drop-in"],
    )
    .failure()
    .stderr(
        "error: line 1: there is no date column; add one, or give the day with --date\n\
             error: the shift sheet was not imported (1 problem); nothing was saved\n",
    );
    // A cell wins over the default; an empty cell takes the default.
    let mixed = kit.sheet(
        "m.csv",
        "date,site,syringe\n2026-11-01,,1\n,downtown-van,1\n",
    );
    kit.import(&mixed, &["--site", "east-drop-in", "--date", "2026-11-02"])
        .success()
        .stdout(predicates::str::starts_with(
            "saved batch 2: 2 contacts (2 anonymous) at east-drop-in, downtown-van from 2026-11-01 to 2026-11-02\n",
        ));
}

#[test]
fn spreadsheet_quirks_are_accepted() {
    let kit = Kitlog::initialised();
    // BOM, CRLF, quoted cells with spaces, mixed-case headers, padded empty cells past
    // the last column, rows of empty cells, and trailing blank lines.
    let sheet = kit.sheet(
        "excel.csv",
        "\u{feff}Date,Site,Code,\"Injection Kit\",Naloxone_Nasal,Naloxone Reason\r\n\
         \"2026-11-20\",\" downtown-van \",\"BLUE FOX 77\",\"2\",1,Used,,\r\n\
         ,,,,,\r\n\
         2026/11/20,downtown-van,,1,,\r\n\
         \r\n\r\n",
    );
    kit.import(&sheet, &[])
        .success()
        .stdout(predicates::str::starts_with(
            "saved batch 1: 2 contacts (1 anonymous) at downtown-van on 2026-11-20\n\
         \x20 injection-kit 3, naloxone-nasal 1; reversals 0, for others 0, returned 0\n",
        ));
}

#[test]
fn dry_run_checks_everything_and_saves_nothing() {
    let kit = Kitlog::initialised();
    let before = kit.stored_bytes();
    kit.import(&example("2026-11-20-downtown-van.csv"), &["--dry-run"])
        .success()
        .stdout(predicates::str::starts_with(
            "dry run: the sheet is fine; it would save 45 contacts",
        ))
        .stdout(predicates::str::ends_with("\nnothing was saved\n"));
    assert_eq!(kit.stored_bytes(), before);
    assert_eq!(
        kit.stdout(&["batches"]),
        "no batches yet; import a shift sheet with kitlog import\n"
    );
}

#[test]
fn two_imports_at_the_same_moment_both_land() {
    let kit = Kitlog::initialised();
    let mut children: Vec<_> = [
        "2026-11-16-downtown-van.csv",
        "2026-11-18-east-drop-in.csv",
        "2026-11-20-downtown-van.csv",
        "2026-10-28-east-drop-in.csv",
    ]
    .iter()
    .map(|name| {
        kit.process()
            .arg("import")
            .arg(example(name))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    })
    .collect();
    for child in children.drain(..) {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(kit.stdout(&["batches"]).lines().count(), 5);
}

/// A sheet far longer than the chunks kitlog writes as it reads, with a problem on
/// its last line: the thousands of contacts before it were already written inside
/// the transaction, and must all be rolled back.
#[test]
fn a_long_sheet_with_a_late_problem_saves_nothing() {
    let kit = Kitlog::initialised();
    let mut text = String::from("date,site,code,injection-kit\n");
    for row in 0..3_000 {
        writeln!(
            text,
            "2026-11-{:02},downtown-van,SYN{row:06},1",
            row % 20 + 1
        )
        .unwrap();
    }
    let good = kit.sheet("long.csv", &text);
    text.push_str("2026-11-20,downtown-van,,three\n");
    let bad = kit.sheet("long-bad.csv", &text);
    let before = kit.stored_bytes();
    kit.import(&bad, &[]).failure().stderr(
        "error: line 3002, column \"injection-kit\": not a whole number; write a count such as 3, or leave the cell empty for 0\n\
         error: the shift sheet was not imported (1 problem); nothing was saved\n",
    );
    assert_eq!(kit.stored_bytes(), before);

    kit.import(&good, &[]).success().stdout(predicates::str::starts_with(
        "saved batch 1: 3000 contacts (0 anonymous) at downtown-van from 2026-11-01 to 2026-11-20\n",
    ));
    let saved = kit.stored_bytes();
    kit.import(&good, &[]).failure().stderr(
        "error: this shift sheet was already imported as batch 1; nothing was saved (void that batch first if it was wrong)\n",
    );
    assert_eq!(kit.stored_bytes(), saved);
}

/// The program's own word for an item heads its column as well as its name does; the
/// two together are one column twice.
#[test]
fn a_programs_own_word_for_an_item_heads_its_column() {
    let kit = Kitlog::initialised();
    kit.run(&["item", "alias", "naloxone-nasal", "narcan"])
        .success();
    let sheet = kit.sheet(
        "words.csv",
        "date,site,code,Narcan\n2026-11-20,downtown-van,,2\n",
    );
    kit.import(&sheet, &[])
        .success()
        .stdout(predicates::str::contains("naloxone-nasal 2"));
    let twice = kit.sheet(
        "twice.csv",
        "date,site,code,naloxone-nasal,narcan\n2026-11-21,downtown-van,,1,1\n",
    );
    kit.import_refused(
        &twice,
        &[],
        &crate::harness::refusal(&[
            "line 1, column 5 (E): the column appears twice (first as column 4); keep one",
        ]),
    );
}
