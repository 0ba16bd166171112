//! `kitlog import` on bad shift sheets and bad arguments: each case asserts every line
//! of stderr, exit code 1, nothing on stdout, and not one byte written.

use crate::harness::{Kitlog, not_imported, refusal, today};

/// Imports `sheet` (written as `<case>.csv`, so a failure names the case) with `args`
/// and checks that it is refused: see [`Kitlog::refused`]. Every case is also run as
/// a dry run, which must refuse it the same way (a dry run once passed a sheet the
/// import refused), and, for a text sheet with LF line ends, as saved by Excel on
/// Windows (CRLF) and by "CSV (Macintosh)" (CR only), which must give the same line
/// numbers.
#[track_caller]
fn assert_refused(kit: &Kitlog, case: &str, sheet: impl AsRef<[u8]>, args: &[&str], stderr: &str) {
    let sheet = sheet.as_ref();
    let mut variants = vec![(case.to_owned(), sheet.to_vec())];
    if let Ok(text) = std::str::from_utf8(sheet) {
        if text.contains('\n') && !text.contains('\r') {
            variants.push((
                format!("{case}-crlf"),
                text.replace('\n', "\r\n").into_bytes(),
            ));
            variants.push((format!("{case}-cr"), text.replace('\n', "\r").into_bytes()));
        }
    }
    for (name, bytes) in variants {
        let path = kit.sheet(&format!("{name}.csv"), bytes);
        kit.import_refused(&path, args, stderr);
        if !args.contains(&"--dry-run") {
            let mut dry = args.to_vec();
            dry.push("--dry-run");
            kit.import_refused(&path, &dry, stderr);
        }
        assert_eq!(
            kit.files(),
            vec!["program.db", "program.db.keys"],
            "case {name}: files left"
        );
    }
}

const UNKNOWN_COLUMN: &str = "not a catalogue item, nor date, site, code, reversals, for_others, returned or naloxone_reason";
const NOT_UTF8: &str =
    "line 1: this is not UTF-8 text; save the sheet as \"CSV UTF-8\" from the spreadsheet";
const EMPTY: &str = "line 1: the file is empty; export the shift sheet as CSV with a header row such as date,site,code,injection-kit";
const NOT_WHOLE: &str =
    "not a whole number; write a count such as 3, or leave the cell empty for 0";
const NOTHING: &str = "the line records nothing (no code, item or count); delete it or fill it in";

/// Bytes that are not text: a fixed xorshift sequence, starting with a byte that can
/// never begin a UTF-8 character.
fn garbage() -> Vec<u8> {
    let mut state: u32 = 0x9e37_79b9;
    let mut bytes = vec![0x80];
    bytes.extend((0..2048).map(|_| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state.to_le_bytes()[1]
    }));
    bytes
}

/// `text` as UTF-16 with a byte order mark, little- or big-endian.
fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    let mut bytes = if little_endian {
        vec![0xff, 0xfe]
    } else {
        vec![0xfe, 0xff]
    };
    for unit in text.encode_utf16() {
        if little_endian {
            bytes.extend(unit.to_le_bytes());
        } else {
            bytes.extend(unit.to_be_bytes());
        }
    }
    bytes
}

const GOOD_SHEET: &str = "date,site,code,syringe\r\n2024-11-20,downtown-van,BLUEFOX77,1\r\n";

#[test]
fn files_that_are_not_shift_sheets() {
    let kit = Kitlog::initialised();
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0".to_vec();
    png.extend(garbage());
    let cases: [(&str, Vec<u8>, String); 13] = [
        ("zero-bytes", Vec::new(), refusal(&[EMPTY])),
        ("blank-lines", b"\n\n\r\n\n".to_vec(), refusal(&[EMPTY])),
        ("bom-only", "\u{feff}".into(), refusal(&[EMPTY])),
        ("empty-cells-only", b" , ,\n,,,\n".to_vec(), refusal(&[EMPTY])),
        (
            "header-only",
            b"date,site,code,syringe\n".to_vec(),
            refusal(&["line 1: the sheet has a header but no contacts"]),
        ),
        (
            "header-and-blank-rows",
            b"date,site,code,syringe\r\n,,,\r\n\r\n, , ,\r\n".to_vec(),
            refusal(&["line 1: the sheet has a header but no contacts"]),
        ),
        ("garbage", garbage(), refusal(&[NOT_UTF8])),
        ("png", png, refusal(&[NOT_UTF8])),
        ("utf-16le", utf16(GOOD_SHEET, true), refusal(&[NOT_UTF8])),
        ("utf-16be", utf16(GOOD_SHEET, false), refusal(&[NOT_UTF8])),
        (
            "latin-1-header",
            b"date,site,code,syringe,pr\xe9servatif\n2024-11-20,downtown-van,,1,1\n".to_vec(),
            refusal(&[NOT_UTF8]),
        ),
        (
            "latin-1-cell",
            b"date,site,code,syringe\n2024-11-20,downtown-van,,1\n2024-11-20,downtown-van,Jos\xe9,1\n"
                .to_vec(),
            refusal(&[
                "line 3, column \"code\": this is not UTF-8 text; save the sheet as \"CSV UTF-8\" from the spreadsheet",
            ]),
        ),
        (
            "no-header-row",
            b"2024-11-20,downtown-van,BLUEFOX77,1\n2024-11-20,downtown-van,,1\n".to_vec(),
            refusal(&[
                "line 1: the first line looks like data; the first line must name the columns (date,site,code,...)",
            ]),
        ),
    ];
    for (case, sheet, stderr) in cases {
        assert_refused(&kit, case, sheet, &[], &stderr);
    }
    // A header cell holding an email address is a row of data too, and is not echoed.
    assert_refused(
        &kit,
        "email-header",
        "jo.doe@example.org,downtown-van,,1\n",
        &[],
        &refusal(&[
            "line 1: the first line looks like data; the first line must name the columns (date,site,code,...)",
        ]),
    );
}

#[test]
fn columns_the_sheet_cannot_have() {
    let kit = Kitlog::initialised();
    let cases = [
        (
            "unknown-column",
            "date,site,code,syringe,condoms\n2024-11-20,downtown-van,,1,2\n".to_owned(),
            vec![format!(
                "line 1, column 5 (E): {UNKNOWN_COLUMN}; see kitlog item list"
            )],
        ),
        (
            "near-miss-item",
            "date,site,code,syringe,stem-pipes\n2024-11-20,downtown-van,,1,2\n".to_owned(),
            vec![format!(
                "line 1, column 5 (E): {UNKNOWN_COLUMN}; did you mean stem-pipe?"
            )],
        ),
        (
            "near-miss-fixed-column",
            "date,site,code,naloxone-nasal,Naloxone Resaon\n2024-11-20,downtown-van,,1,first\n"
                .to_owned(),
            vec![format!(
                "line 1, column 5 (E): {UNKNOWN_COLUMN}; did you mean naloxone_reason?"
            )],
        ),
        (
            "near-miss-far-column",
            format!(
                "date,site,code,{}syringe,injection-kits\n2024-11-20,downtown-van,{}1,1\n",
                ",".repeat(24),
                ",".repeat(25)
            ),
            vec![format!(
                "line 1, column 29 (AC): {UNKNOWN_COLUMN}; did you mean injection-kit?"
            )],
        ),
        (
            "repeated-item",
            "date,site,code,syringe,Syringe\n2024-11-20,downtown-van,,1,1\n".to_owned(),
            vec![
                "line 1, column 5 (E): the column appears twice (first as column 4); keep one"
                    .to_owned(),
            ],
        ),
        (
            "repeated-fixed-column",
            "date,site,code,syringe,for_others,For Others\n2024-11-20,downtown-van,,1,,\n"
                .to_owned(),
            vec![
                "line 1, column 6 (F): the column appears twice (first as column 5); keep one"
                    .to_owned(),
            ],
        ),
        (
            "repeated-site",
            "site,date,site,syringe\ndowntown-van,2024-11-20,downtown-van,1\n".to_owned(),
            vec![
                "line 1, column 3 (C): the column appears twice (first as column 1); keep one"
                    .to_owned(),
            ],
        ),
        (
            "unnamed-column-with-values",
            "date,site,code,syringe,\n2024-11-20,downtown-van,,1,\n2024-11-20,downtown-van,,1,5\n"
                .to_owned(),
            vec![
                "line 3, column 5 (E): a column with values has no name in the header row"
                    .to_owned(),
            ],
        ),
        (
            "no-site-column",
            "date,code,syringe\n2024-11-20,,1\n".to_owned(),
            vec![
                "line 1: there is no site column; add one, or give the site with --site".to_owned(),
            ],
        ),
        (
            "no-date-column",
            "site,code,syringe\ndowntown-van,,1\n".to_owned(),
            vec![
                "line 1: there is no date column; add one, or give the day with --date".to_owned(),
            ],
        ),
        (
            "no-date-or-site-column",
            "code,syringe\nBLUEFOX77,1\n".to_owned(),
            vec![
                "line 1: there is no date column; add one, or give the day with --date".to_owned(),
                "line 1: there is no site column; add one, or give the site with --site".to_owned(),
            ],
        ),
    ];
    for (case, sheet, problems) in cases {
        assert_refused(&kit, case, sheet, &[], &refusal(&problems));
    }
}

/// The columns of the row cases: every kind of cell.
const ROW_HEADER: &str =
    "date,site,code,syringe,naloxone-nasal,reversals,for_others,returned,naloxone_reason";

/// `line 3`, `lines 3 and 4`, `lines 5 to 7`, `lines 2 to 43 and 46`: runs of three
/// or more lines in a row are ranges, the rest are listed.
fn lines_named(lines: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let mut end = at;
        while end + 1 < lines.len() && lines[end + 1] == lines[end] + 1 {
            end += 1;
        }
        if end - at >= 2 {
            parts.push(format!("{} to {}", lines[at], lines[end]));
        } else {
            parts.extend(lines[at..=end].iter().map(ToString::to_string));
        }
        at = end + 1;
    }
    let one = lines.len() == 1;
    let (last, others) = parts.split_last().expect("a line");
    let named = if others.is_empty() {
        last.clone()
    } else {
        format!("{} and {last}", others.join(", "))
    };
    format!("{} {named}", if one { "line" } else { "lines" })
}

/// One bad row: its name, its cells, and each problem it must give, as the text that
/// follows `line N` (so `, column "site": …` or `: the line …`).
type RowCase<'a> = (&'a str, &'a str, Vec<String>);

/// Each case's row is independent of the others, so, to pay for one passphrase check
/// instead of one per case, they are imported as one sheet: a good row on line 2, then
/// case `i` on line `3 + i`. Every problem line is compared exactly, naming its case.
fn assert_rows_refused(header: &str, cases: &[RowCase<'_>]) {
    let kit = Kitlog::initialised();
    let mut sheet = format!(
        "{header}\n2024-11-20,downtown-van,,1{}\n",
        ",".repeat(header.matches(',').count() - 3)
    );
    // A problem that repeats on several rows is said once, with its lines (the
    // cases are grouped here as a reader would group them, in order of first line).
    let mut groups: Vec<(&str, String, Vec<usize>)> = Vec::new();
    let mut total = 0;
    for (index, (case, cells, problems)) in cases.iter().enumerate() {
        let line = index + 3;
        sheet.push_str(cells);
        sheet.push('\n');
        assert!(!problems.is_empty(), "case {case} expects no problem");
        for problem in problems {
            total += 1;
            match groups.iter_mut().find(|(_, text, _)| text == problem) {
                Some((_, _, lines)) => lines.push(line),
                None => groups.push((case, problem.clone(), vec![line])),
            }
        }
    }
    let mut expected: Vec<(&str, String)> = groups
        .iter()
        .map(|(case, problem, lines)| (*case, format!("error: {}{problem}", lines_named(lines))))
        .collect();
    expected.push(("summary", not_imported(total).trim_end().to_owned()));

    let path = kit.sheet("rows.csv", &sheet);
    let before = kit.stored_bytes();
    let output = kit.command().arg("import").arg(&path).output().unwrap();
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 stderr");
    let lines: Vec<&str> = stderr.lines().collect();
    for (at, (case, want)) in expected.iter().enumerate() {
        assert_eq!(
            lines.get(at).copied(),
            Some(want.as_str()),
            "case {case}: problem line {} of stderr:\n{stderr}",
            at + 1
        );
    }
    assert_eq!(lines.len(), expected.len(), "extra lines:\n{stderr}");
    assert!(stderr.ends_with('\n'));
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(kit.stored_bytes() == before, "the database changed");
}

#[test]
fn dates_and_sites_that_are_wrong() {
    let not_a_date = ", column \"date\": not a date; write dates as YYYY-MM-DD, e.g. 2026-11-20";
    let no_such_day = ", column \"date\": no such day in the calendar";
    let cases: Vec<RowCase<'_>> = vec![
        (
            "unknown-site",
            "2024-11-20,uptown-van,,1,,,,,",
            vec![", column \"site\": no site of that name; see kitlog site list, or add it with kitlog site add".into()],
        ),
        (
            "near-miss-site",
            "2024-11-20,Downtown Van,,1,,,,,",
            vec![", column \"site\": no site of that name; did you mean downtown-van?".into()],
        ),
        (
            "near-miss-site-typo",
            "2024-11-20,east-drop-inn,,1,,,,,",
            vec![", column \"site\": no site of that name; did you mean east-drop-in?".into()],
        ),
        (
            "empty-site",
            "2024-11-20,,,1,,,,,",
            vec![", column \"site\": the site is empty; fill it in, or give the site with --site".into()],
        ),
        (
            "empty-date",
            ",downtown-van,,1,,,,,",
            vec![", column \"date\": the date is empty; fill it in, or give the day with --date".into()],
        ),
        ("impossible-date", "2026-02-30,downtown-van,,1,,,,,", vec![no_such_day.into()]),
        ("not-a-leap-year", "2023-02-29,downtown-van,,1,,,,,", vec![no_such_day.into()]),
        ("month-13", "2024-13-01,downtown-van,,1,,,,,", vec![no_such_day.into()]),
        ("day-first-date", "20/11/2024,downtown-van,,1,,,,,", vec![not_a_date.into()]),
        ("date-with-time", "2024-11-20 10:30,downtown-van,,1,,,,,", vec![not_a_date.into()]),
        ("date-in-words", "yesterday,downtown-van,,1,,,,,", vec![not_a_date.into()]),
        (
            "future-date",
            "2999-01-01,downtown-van,,1,,,,,",
            vec![format!(", column \"date\": the date is in the future (today is {})", today())],
        ),
    ];
    assert_rows_refused(ROW_HEADER, &cases);
}

#[test]
fn counts_and_reasons_that_are_wrong() {
    let not_whole = format!(", column \"syringe\": {NOT_WHOLE}");
    let too_many = ", column \"syringe\": more than 5000 for one contact; check the cell";
    let no_naloxone = ", column \"naloxone_reason\": a naloxone reason is given but no naloxone was handed out on this line";
    let nothing = format!(": {NOTHING}");
    let cases: Vec<RowCase<'_>> = vec![
        (
            "negative",
            "2024-11-20,downtown-van,,-1,,,,,",
            vec![", column \"syringe\": a count cannot be negative".into()],
        ),
        (
            "negative-reversals",
            "2024-11-20,downtown-van,,1,,-2,,,",
            vec![", column \"reversals\": a count cannot be negative".into()],
        ),
        ("word", "2024-11-20,downtown-van,,three,,,,,", vec![not_whole.clone()]),
        ("decimal", "2024-11-20,downtown-van,,1.5,,,,,", vec![not_whole.clone()]),
        ("decimal-comma", "2024-11-20,downtown-van,,\"1,0\",,,,,", vec![not_whole.clone()]),
        ("exponent", "2024-11-20,downtown-van,,1e3,,,,,", vec![not_whole.clone()]),
        ("lone-sign", "2024-11-20,downtown-van,,+,,,,,", vec![not_whole.clone()]),
        ("absurd-quantity", "2024-11-20,downtown-van,,5001,,,,,", vec![too_many.into()]),
        (
            "overflowing-quantity",
            "2024-11-20,downtown-van,,99999999999999999999,,,,,",
            vec![too_many.into()],
        ),
        (
            "absurd-reversals",
            "2024-11-20,downtown-van,,1,,101,,,",
            vec![", column \"reversals\": more than 100 for one contact; check the cell".into()],
        ),
        (
            "absurd-for-others",
            "2024-11-20,downtown-van,,1,,,1001,,",
            vec![", column \"for_others\": more than 1000 for one contact; check the cell".into()],
        ),
        (
            "absurd-returned",
            "2024-11-20,downtown-van,,1,,,,100001,",
            vec![", column \"returned\": more than 100000 for one contact; check the cell".into()],
        ),
        (
            "short-row",
            "2024-11-20,downtown-van,,1",
            vec![": the line has 4 cells but the header has 9".into()],
        ),
        (
            "long-row",
            "2024-11-20,downtown-van,,1,,,,,,,5",
            vec![": the line has 11 cells but the header has 9".into()],
        ),
        (
            "unknown-naloxone-reason",
            "2024-11-20,downtown-van,,,1,,,,police",
            vec![", column \"naloxone_reason\": not a naloxone reason; use first, used, lost, stolen, confiscated, expired or other".into()],
        ),
        ("reason-without-naloxone", "2024-11-20,downtown-van,,1,,,,,first", vec![no_naloxone.into()]),
        ("reason-with-zero-naloxone", "2024-11-20,downtown-van,,,0,,,,lost", vec![no_naloxone.into()]),
        ("nothing-recorded", "2024-11-20,downtown-van,,,,,,,", vec![nothing.clone()]),
        ("only-zeros", "2024-11-20,downtown-van,,0,0,0,0,0,", vec![nothing.clone()]),
    ];
    assert_rows_refused(ROW_HEADER, &cases);
}

#[test]
fn codes_that_are_refused_without_being_echoed() {
    let email = ", column \"code\": the code looks like an email address; never record one, use the program's code";
    let phone = ", column \"code\": the code looks like a phone number; never record one, use the program's code";
    let too_long = ", column \"code\": the code is longer than 64 characters; use the program's short code, not personal details";
    let empty = ", column \"code\": the code has no letters or digits; leave it empty for an anonymous contact";
    let long_code = format!("2024-11-20,downtown-van,{},1", "BLUEFOX77".repeat(8));
    let cases: Vec<RowCase<'_>> = vec![
        (
            "email",
            "2024-11-20,downtown-van,jo.doe@example.org,1",
            vec![email.into()],
        ),
        (
            "email-with-spaces",
            "2024-11-20,downtown-van, Jo.Doe @ Example.org ,1",
            vec![email.into()],
        ),
        (
            "phone-international",
            "2024-11-20,downtown-van,+1 604 555 0199,1",
            vec![phone.into()],
        ),
        (
            "phone-dashes",
            "2024-11-20,downtown-van,604-555-0199,1",
            vec![phone.into()],
        ),
        (
            "phone-brackets",
            "2024-11-20,downtown-van,\"(604) 555.0199\",1",
            vec![phone.into()],
        ),
        ("too-long", &long_code, vec![too_long.into()]),
        (
            "no-letters-or-digits",
            "2024-11-20,downtown-van,---,1",
            vec![empty.into()],
        ),
        (
            "only-punctuation",
            "2024-11-20,downtown-van,\". / _\",1",
            vec![empty.into()],
        ),
    ];
    assert_rows_refused("date,site,code,syringe", &cases);
}

#[test]
fn a_code_of_sixty_four_characters_is_still_a_code() {
    let kit = Kitlog::initialised();
    let sheet = format!(
        "date,site,code,syringe\n2024-11-20,downtown-van,{},1\n",
        "ab".repeat(32)
    );
    kit.import(&kit.sheet("sixty-four.csv", sheet), &["--dry-run"])
        .success();
}

#[test]
fn every_problem_is_reported_at_once_in_line_order() {
    let kit = Kitlog::initialised();
    let sheet = "date,site,code,syringe,naloxone-nasal,naloxone_reason\n\
                 2024-11-20,downtown-van,BLUEFOX77,1,,\n\
                 2024-11-20,nowhere,,x,,\n\
                 ,, ,,,\n\
                 2024-11-20,downtown-van,jo@example.org,2,,\n\
                 2024-02-30,downtown-van,,1,1,police\n\
                 2024-11-20,downtown-van,,1,,,\n\
                 2024-11-20,downtown-van,,1,,,7\n\
                 2024-11-20,downtown-van\n\
                 2024-11-20,downtown-van,,,,\n\
                 2024-11-21,east-drop-in,REDCROW12,-4,1,first\n";
    let expected = refusal(&[
        "line 3, column \"site\": no site of that name; see kitlog site list, or add it with kitlog site add",
        &format!("line 3, column \"syringe\": {NOT_WHOLE}"),
        "line 5, column \"code\": the code looks like an email address; never record one, use the program's code",
        "line 6, column \"date\": no such day in the calendar",
        "line 6, column \"naloxone_reason\": not a naloxone reason; use first, used, lost, stolen, confiscated, expired or other",
        "line 8: the line has 7 cells but the header has 6",
        "line 9: the line has 2 cells but the header has 6",
        &format!("line 10: {NOTHING}"),
        "line 11, column \"syringe\": a count cannot be negative",
    ]);
    assert_refused(&kit, "many", sheet, &[], &expected);
    assert_refused(&kit, "many-dry-run", sheet, &["--dry-run"], &expected);
}

#[test]
fn one_mistake_on_many_rows_is_said_once_with_its_lines() {
    let kit = Kitlog::initialised();
    // A sheet re-saved with local settings: every date day.month.year.
    let mut sheet = String::from("date,site,code,syringe\n");
    for _ in 0..42 {
        sheet.push_str("16.11.2024,downtown-van,,1\n");
    }
    sheet.push_str("2024-11-20,downtown-van,,lots\n2024-11-20,downtown-van,,lots\n");
    sheet.push_str("16.11.2024,nowhere,,1\n");
    assert_refused(
        &kit,
        "day-month-year",
        &sheet,
        &[],
        &refusal(&[
            "lines 2 to 43 and 46, column \"date\": the date is written day.month.year (16.11.2026), as a spreadsheet does when it re-saves a sheet with local settings; save it with dates as YYYY-MM-DD (2026-11-16), or format the date column as text before saving".to_owned(),
            format!("lines 44 and 45, column \"syringe\": {NOT_WHOLE}"),
            "line 46, column \"site\": no site of that name; see kitlog site list, or add it with kitlog site add".to_owned(),
        ])
        .replace("(3 problems)", "(46 problems)"),
    );
}

#[test]
fn sixty_four_identical_problems_are_one_line() {
    let kit = Kitlog::initialised();
    let mut sheet = String::from("date,site,code,syringe\n");
    for _ in 0..64 {
        sheet.push_str("2024-11-20,downtown-van,,lots\n");
    }
    let expected = refusal(&[format!("lines 2 to 65, column \"syringe\": {NOT_WHOLE}")])
        .replace("(1 problem)", "(64 problems)");
    assert_refused(&kit, "sixty-four-problems", &sheet, &[], &expected);
}

#[test]
fn bad_arguments_are_refused_before_anything_is_read() {
    let kit = Kitlog::initialised();
    let sheet = "date,site,code,syringe\n2024-11-20,downtown-van,BLUEFOX77,1\n";
    let cases: [(&str, &[&str], String); 9] = [
        (
            "future-date-option",
            &["--date", "2999-01-01"],
            format!(
                "error: --date 2999-01-01 is in the future (today is {})\n",
                today()
            ),
        ),
        (
            "unknown-site-option",
            &["--site", "uptown-van"],
            "error: there is no site called uptown-van; see kitlog site list\n".to_owned(),
        ),
        (
            "invalid-site-option",
            &["--site", "corner of main and 5th"],
            "error: site names are 1 to 40 lowercase letters, digits and dashes, starting with a letter (e.g. downtown-van)\n"
                .to_owned(),
        ),
        (
            "full-name-worker",
            &["--worker", "Jane Doe"],
            "error: a worker label is 1 to 8 letters or digits, such as initials (e.g. JD); not a full name\n"
                .to_owned(),
        ),
        (
            "long-worker",
            &["--worker", "Alexandra"],
            "error: a worker label is 1 to 8 letters or digits, such as initials (e.g. JD); not a full name\n"
                .to_owned(),
        ),
        (
            "empty-worker",
            &["--worker", ""],
            "error: a worker label is 1 to 8 letters or digits, such as initials (e.g. JD); not a full name\n"
                .to_owned(),
        ),
        (
            "punctuated-worker",
            &["--worker", "J.D."],
            "error: a worker label is 1 to 8 letters or digits, such as initials (e.g. JD); not a full name\n"
                .to_owned(),
        ),
        (
            "unlisted-worker",
            &["--worker", "MJ1985"],
            "error: that worker label is not on the program's list; see kitlog worker list, or ask the coordinator to add it (kitlog worker add)\n"
                .to_owned(),
        ),
        (
            "wrong-passphrase-is-last",
            &["--worker", "JD", "--dry-run"],
            "error: the passphrase does not open this program; nothing was saved\n".to_owned(),
        ),
    ];
    for (case, args, stderr) in cases {
        if case == "wrong-passphrase-is-last" {
            let path = kit.sheet("passphrase.csv", sheet);
            kit.refused_by(
                kit.command()
                    .env("KITLOG_PASSPHRASE", "not the passphrase")
                    .arg("import")
                    .arg(&path)
                    .args(args),
                &stderr,
            );
        } else {
            assert_refused(&kit, case, sheet, args, &stderr);
        }
    }
    // Argument checks come before the passphrase: no passphrase is needed to be told.
    kit.command()
        .env_remove("KITLOG_PASSPHRASE")
        .arg("import")
        .arg(kit.sheet("s.csv", sheet))
        .args(["--worker", "Jane Doe"])
        .assert()
        .failure()
        .code(1)
        .stderr(
            "error: a worker label is 1 to 8 letters or digits, such as initials (e.g. JD); not a full name\n",
        );
}

#[test]
fn a_missing_file_is_refused() {
    let kit = Kitlog::initialised();
    let before = kit.stored_bytes();
    let missing = kit.path("no-such-sheet.csv");
    kit.import_refused(
        &missing,
        &[],
        &format!(
            "error: could not read {}: it does not exist\n",
            missing.display()
        ),
    );
    // A relative path is reported as typed.
    kit.refused(
        &["import", "shifts/monday.csv"],
        "error: could not read shifts/monday.csv: it does not exist\n",
    );
    // No FILE at all is the parser's to refuse.
    kit.run(&["import"])
        .failure()
        .code(2)
        .stdout("")
        .stderr(predicates::str::starts_with(
            "error: the following required arguments were not provided:\n  <FILE>...\n",
        ));
    assert_eq!(kit.stored_bytes(), before);
    assert_eq!(kit.files(), vec!["program.db", "program.db.keys"]);
}

#[test]

fn values_under_an_unknown_column_are_not_reported_as_nothing_recorded() {
    let kit = Kitlog::initialised();
    assert_refused(
        &kit,
        "near-miss-only-column",
        "date,site,code,stem-pipes\n2024-11-20,downtown-van,,1\n",
        &[],
        &refusal(&[&format!(
            "line 1, column 4 (D): {UNKNOWN_COLUMN}; did you mean stem-pipe?"
        )]),
    );
    // A sheet saved with semicolons (European spreadsheets) or tabs is read as such.
    for (name, sheet) in [
        (
            "semicolons.csv",
            "date;site;code;syringe\n2024-11-20;downtown-van;;1\n",
        ),
        (
            "tabs.csv",
            "date\tsite\tcode\tsyringe\n2024-11-21\tdowntown-van\t\t1\n",
        ),
    ] {
        kit.import(&kit.sheet(name, sheet), &[])
            .success()
            .stdout(predicates::str::starts_with("saved batch "));
    }
}

#[test]

fn an_unterminated_quote_is_reported_as_such() {
    let kit = Kitlog::initialised();
    let stray_quote =
        refusal(&["line 2: this line could not be read as CSV; check for a stray quote mark"]);
    // Today this saves ONE contact, whose code is the rest of the file (short enough to
    // pass as a code): the second row is silently lost.
    assert_refused(
        &kit,
        "unterminated-quote-last-column",
        "date,site,syringe,code\n2024-11-20,downtown-van,1,\"BLUEFOX77\n2024-11-20,downtown-van,2,\n",
        &[],
        &stray_quote,
    );
    // Today: "line 2: the line has 3 cells but the header has 4".
    assert_refused(
        &kit,
        "unterminated-quote",
        "date,site,code,syringe\n2024-11-20,downtown-van,\"BLUEFOX77,1\n2024-11-20,downtown-van,,1\n",
        &[],
        &stray_quote,
    );
}

#[test]

fn rows_after_empty_lines_are_reported_on_their_own_line() {
    let kit = Kitlog::initialised();
    assert_refused(
        &kit,
        "blank-line-then-bad-row",
        "date,site,code,syringe\n2024-11-20,downtown-van,,1\n\n2024-11-20,downtown-van,,x\n2024-11-20,downtown-van,,y\n\n\n2024-11-20,downtown-van,,z\n",
        &[],
        &refusal(&[format!("lines 4, 5 and 8, column \"syringe\": {NOT_WHOLE}")])
            .replace("(1 problem)", "(3 problems)"),
    );
    assert_refused(
        &kit,
        "blank-lines-then-bad-header",
        "\n\ndate,site,code,syringe,condoms\n2024-11-20,downtown-van,,1,1\n",
        &[],
        &refusal(&[&format!(
            "line 3, column 5 (E): {UNKNOWN_COLUMN}; see kitlog item list"
        )]),
    );
    assert_refused(
        &kit,
        "blank-lines-then-header-only",
        "\n\ndate,site,code,syringe\n",
        &[],
        &refusal(&["line 3: the sheet has a header but no contacts"]),
    );
}

#[test]

fn utf16_without_a_byte_order_mark_is_not_utf8() {
    let kit = Kitlog::initialised();
    let little_endian: Vec<u8> = GOOD_SHEET
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert_refused(
        &kit,
        "utf-16le-no-bom",
        little_endian,
        &[],
        &refusal(&[NOT_UTF8]),
    );
}

#[test]

fn a_folder_is_not_a_sheet() {
    let kit = Kitlog::initialised();
    let folder = kit.path("shifts");
    std::fs::create_dir(&folder).unwrap();
    kit.import_refused(
        &folder,
        &[],
        &format!(
            "error: could not read {}: it is a folder\n",
            folder.display()
        ),
    );
}

#[test]

fn dates_long_before_the_program_are_refused() {
    let kit = Kitlog::initialised();
    for (case, day) in [("year-0026", "0026-11-20"), ("year-0000", "0000-01-01")] {
        let path = kit.sheet(
            &format!("{case}.csv"),
            format!("date,site,code,syringe\n{day},downtown-van,,1\n"),
        );
        let before = kit.stored_bytes();
        kit.import(&path, &[])
            .failure()
            .code(1)
            .stdout("")
            .stderr(predicates::str::starts_with(
                "error: line 2, column \"date\": ",
            ));
        assert_eq!(kit.stored_bytes(), before, "case {case}");
    }
}

#[test]

fn a_malformed_date_option_says_how_to_write_it() {
    let kit = Kitlog::initialised();
    kit.import(
        &kit.sheet("s.csv", "site,code,syringe\ndowntown-van,,1\n"),
        &["--date", "20/11/2024"],
    )
    .failure()
    .stdout("")
    .stderr(predicates::str::contains("YYYY-MM-DD, e.g."));
}
