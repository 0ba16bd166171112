//! Hostile input: random bytes, malformed CSV and damaged good sheets, fed straight to
//! `kitlog::import::read_sheet` (and a few through the binary). Never a panic; either
//! a sheet with contacts or a non-empty list of problems; no problem ever repeats any
//! part of a cell; a refused sheet leaves the program byte for byte as it was.

use std::fmt::Write as _;

use chrono::NaiveDate;
use kitlog::catalogue::{Catalogue, DEFAULT_ITEMS, Item, Site};
use kitlog::code::CodeMaker;
use kitlog::fiscal::FiscalCalendar;
use kitlog::import::{Problem, SheetDefaults, SheetError, read_sheet};
use kitlog::keys::ProgramKey;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::harness::Kitlog;

/// The catalogue `kitlog init` seeds, with the sites of [`Kitlog::initialised`].
fn catalogue() -> Catalogue {
    let site = |id, name: &str| Site {
        id,
        name: name.into(),
        retired_on: None,
    };
    Catalogue {
        sites: vec![site(1, "downtown-van"), site(2, "east-drop-in")],
        items: DEFAULT_ITEMS
            .iter()
            .zip(1..)
            .map(|((name, category, unit, alias), id)| Item {
                id,
                name: (*name).to_owned(),
                category: *category,
                unit: (*unit).to_owned(),
                retired_on: None,
                alias: Some((*alias).to_owned()),
                synonyms: Vec::new(),
            })
            .collect(),
    }
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()
}

/// `read_sheet` as `kitlog import` calls it, with a fresh program key; with
/// `defaults`, as if `--site downtown-van --date 2025-06-01` were given.
/// `Ok` is the number of contacts read (`kitlog import` streams them into the store).
fn read(input: &[u8], defaults: bool) -> Result<u64, Vec<Problem>> {
    let catalogue = catalogue();
    let key = ProgramKey::generate(&ring::rand::SystemRandom::new()).unwrap();
    let mut codes = CodeMaker::new(&key, FiscalCalendar::default(), None);
    let defaults = SheetDefaults {
        site: defaults.then(|| &catalogue.sites[0]),
        date: defaults.then(|| NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()),
        today: today(),
        made_on: None,
    };
    read_sheet(input, &catalogue, defaults, &mut codes, |_| {
        Ok::<(), std::convert::Infallible>(())
    })
    .map(|read| read.contacts)
    .map_err(|error| match error {
        SheetError::Problems(problems) => problems,
        SheetError::Sink(never) => match never {},
    })
}

/// Ok with contacts, or at least one problem; and no problem repeats six or more
/// characters in a row of any token placed in the input (compared case-blind, since
/// normalising lowercases).
fn check_outcome(
    outcome: &Result<u64, Vec<Problem>>,
    tokens: &[String],
) -> Result<(), TestCaseError> {
    match outcome {
        Ok(contacts) => prop_assert!(*contacts > 0, "Ok without contacts"),
        Err(problems) => {
            prop_assert!(!problems.is_empty(), "Err without problems");
            for problem in problems {
                let text = problem.to_string().to_lowercase();
                let place = format!("line {}", problem.line);
                prop_assert!(text.starts_with(&place), "{problem}");
                for token in tokens {
                    let token = token.to_lowercase();
                    for window in token.as_bytes().windows(6) {
                        let window = std::str::from_utf8(window).unwrap();
                        prop_assert!(
                            !text.contains(window),
                            "{problem} repeats {window} of a cell"
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// A distinctive code: nothing in kitlog's messages has six of these in a row.
fn token() -> impl Strategy<Value = String> {
    "QZ[A-Z0-9]{8}"
}

const HEADERS: &[&str] = &[
    "date",
    "site",
    "code",
    "injection-kit",
    "stem-pipe",
    "naloxone-nasal",
    "syringe",
    "reversals",
    "for_others",
    "returned",
    "naloxone_reason",
    "Injection Kit",
    "",
    "stem_pipes",
];

const CELLS: &[&str] = &[
    "",
    " ",
    "0",
    "1",
    "3",
    "-2",
    "1.5",
    "1e3",
    "5001",
    "99999999999999999999",
    "three",
    "2025-06-01",
    "2025-02-30",
    "2999-01-01",
    "0026-11-20",
    "20/11/2025",
    "downtown-van",
    "east-drop-in",
    "downtown_van",
    "nowhere",
    "first",
    "confiscated",
    "bogus",
    "\"",
    "a\"b",
    "\u{feff}",
    "é",
    "\r",
];

/// One cell: a fixed oddity, a token, or a token dressed as a direct identifier.
fn cell() -> impl Strategy<Value = (String, Option<String>)> {
    prop_oneof![
        6 => prop::sample::select(CELLS).prop_map(|c| (c.to_owned(), None)),
        3 => token().prop_map(|t| (t.clone(), Some(t))),
        1 => token().prop_map(|t| (format!("{t}@example.org"), Some(t))),
        1 => token().prop_map(|t| (format!("{t}{t}{t}{t}{t}{t}{t}"), Some(t))),
        1 => token().prop_map(|t| (format!(" {t} \"x\" "), Some(t))),
    ]
}

/// How a cell is written: bare, quoted properly, or with a broken quote.
#[derive(Debug, Clone, Copy)]
enum Quoting {
    Bare,
    Quoted,
    Broken,
}

fn write_cell(out: &mut Vec<u8>, text: &str, quoting: Quoting) {
    match quoting {
        Quoting::Bare => out.extend_from_slice(text.as_bytes()),
        Quoting::Quoted => {
            out.push(b'"');
            out.extend_from_slice(text.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        }
        Quoting::Broken => {
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
        }
    }
}

fn quoting() -> impl Strategy<Value = Quoting> {
    prop_oneof![8 => Just(Quoting::Bare), 3 => Just(Quoting::Quoted), 1 => Just(Quoting::Broken)]
}

/// A sheet built from the grammar of spreadsheets gone wrong, and the tokens in it.
fn malformed_sheet() -> impl Strategy<Value = (Vec<u8>, Vec<String>)> {
    // Half the time the header is right, so that the rows are where things go wrong.
    let good: Vec<(String, Option<String>)> = HEADERS[..8]
        .iter()
        .map(|h| ((*h).to_owned(), None))
        .collect();
    let header = prop_oneof![
        Just(good),
        prop::collection::vec(
            prop_oneof![
                5 => prop::sample::select(HEADERS).prop_map(|h| (h.to_owned(), None)),
                1 => token().prop_map(|t| (t.clone(), Some(t))),
            ],
            0..9,
        ),
    ];
    let row = prop_oneof![
        prop::collection::vec((cell(), quoting()), 8),
        prop::collection::vec((cell(), quoting()), 0..10),
    ];
    let rows = prop::collection::vec(row, 0..8);
    (
        header,
        rows,
        prop::sample::select(&[b',', b',', b';', b'\t'][..]),
        prop::sample::select(&["\n", "\r\n", "\r"][..]),
        any::<bool>(),
        0..3_usize,
    )
        .prop_map(|(header, rows, delimiter, newline, bom, blank_lines)| {
            let mut out = Vec::new();
            let mut tokens = Vec::new();
            if bom {
                out.extend_from_slice("\u{feff}".as_bytes());
            }
            for (n, (name, token)) in header.into_iter().enumerate() {
                if n > 0 {
                    out.push(delimiter);
                }
                out.extend_from_slice(name.as_bytes());
                tokens.extend(token);
            }
            for row in rows {
                out.extend_from_slice(newline.as_bytes());
                for (n, ((text, token), quoting)) in row.into_iter().enumerate() {
                    if n > 0 {
                        out.push(delimiter);
                    }
                    write_cell(&mut out, &text, quoting);
                    tokens.extend(token);
                }
            }
            out.extend_from_slice(newline.repeat(blank_lines).as_bytes());
            (out, tokens)
        })
}

/// A sheet `kitlog import` accepts: 1 to 12 contacts, codes from tokens, and the tokens.
fn valid_sheet() -> impl Strategy<Value = (Vec<u8>, Vec<String>, usize)> {
    let row = (
        1..=28_u32,
        any::<bool>(),
        prop::option::of(token()),
        1..20_u32,
        0..4_u32,
        any::<bool>(),
    );
    prop::collection::vec(row, 1..12).prop_map(|rows| {
        let mut text =
            String::from("date,site,code,injection-kit,stem-pipe,naloxone-nasal,naloxone_reason\n");
        let mut tokens = Vec::new();
        let count = rows.len();
        for (day, east, code, kits, pipes, naloxone) in rows {
            let site = if east { "east-drop-in" } else { "downtown-van" };
            let pipes = if pipes == 0 {
                String::new()
            } else {
                pipes.to_string()
            };
            let (naloxone, reason) = if naloxone { ("1", "used") } else { ("", "") };
            writeln!(
                text,
                "2025-07-{day:02},{site},{},{kits},{pipes},{naloxone},{reason}",
                code.as_deref().unwrap_or("")
            )
            .unwrap();
            tokens.extend(code);
        }
        (text.into_bytes(), tokens, count)
    })
}

/// What can happen to a file between a spreadsheet and kitlog.
#[derive(Debug, Clone)]
enum Mutation {
    DropByte(prop::sample::Index),
    InsertQuote(prop::sample::Index),
    DuplicateComma(prop::sample::Index),
    SwapLines(prop::sample::Index, prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Mutation::DropByte),
        any::<prop::sample::Index>().prop_map(Mutation::InsertQuote),
        any::<prop::sample::Index>().prop_map(Mutation::DuplicateComma),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutation: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match mutation {
        Mutation::DropByte(at) => {
            bytes.remove(at.index(bytes.len()));
        }
        Mutation::InsertQuote(at) => bytes.insert(at.index(bytes.len() + 1), b'"'),
        Mutation::DuplicateComma(at) => {
            let commas: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b',').collect();
            if !commas.is_empty() {
                bytes.insert(commas[at.index(commas.len())], b',');
            }
        }
        Mutation::SwapLines(a, b) => {
            let mut lines: Vec<Vec<u8>> =
                bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(a, b);
            *bytes = lines.join(&b'\n');
        }
    }
}

/// One fault that no sheet survives, added after any mutation so none can undo it.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// A header that names nothing kitlog knows.
    UnknownColumn,
    /// A row of bytes that are not UTF-8.
    NotUtf8,
    /// A contact with a negative count, under a header of its own.
    Negative,
    /// Nothing but a byte order mark and blank lines.
    Empty,
}

fn fault() -> impl Strategy<Value = Fault> {
    prop::sample::select(
        &[
            Fault::UnknownColumn,
            Fault::NotUtf8,
            Fault::Negative,
            Fault::Empty,
        ][..],
    )
}

fn add_fault(bytes: &mut Vec<u8>, fault: Fault) {
    match fault {
        Fault::UnknownColumn => {
            let end = bytes
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(bytes.len());
            bytes.splice(end..end, b",zz-not-an-item".iter().copied());
        }
        Fault::NotUtf8 => bytes.extend_from_slice(b"\n2025-07-01,downtown-van,\xff\xfe,1\n"),
        Fault::Negative => {
            *bytes = [
                &b"date,site,code,injection-kit\n2025-07-01,downtown-van,,-1\n"[..],
                bytes,
            ]
            .concat();
        }
        Fault::Empty => *bytes = b"\xef\xbb\xbf\n\r\n\n".to_vec(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), defaults: bool) {
        check_outcome(&read(&bytes, defaults), &[])?;
    }

    #[test]
    fn malformed_csv_is_refused_without_echo((bytes, tokens) in malformed_sheet(), defaults: bool) {
        check_outcome(&read(&bytes, defaults), &tokens)?;
    }

    #[test]
    fn a_damaged_good_sheet_parses_or_is_refused_without_echo(
        (mut bytes, tokens, contacts) in valid_sheet(),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        // The generator's sheets are good: this is what the mutations start from.
        let sheet = read(&bytes, false);
        prop_assert_eq!(sheet.ok(), Some(contacts as u64));
        for mutation in &mutations {
            mutate(&mut bytes, mutation);
        }
        check_outcome(&read(&bytes, false), &tokens)?;
    }

    #[test]
    fn a_sheet_with_a_fault_is_always_refused(
        (mut bytes, tokens, _) in valid_sheet(),
        mutations in prop::collection::vec(mutation(), 0..4),
        fault in fault(),
    ) {
        for mutation in &mutations {
            mutate(&mut bytes, mutation);
        }
        add_fault(&mut bytes, fault);
        let outcome = read(&bytes, false);
        prop_assert!(outcome.is_err(), "{fault:?} was accepted");
        check_outcome(&outcome, &tokens)?;
    }
}

/// Inputs the fuzzers found that once broke a rule, kept as fixed regressions.
const FOUND_BY_FUZZING: &[&[u8]] = &[];

#[test]
fn inputs_found_by_fuzzing_are_handled() {
    for input in FOUND_BY_FUZZING {
        for defaults in [false, true] {
            check_outcome(&read(input, defaults), &[]).unwrap();
        }
    }
}

#[test]
fn a_malformed_sheet_through_kitlog_is_refused_and_changes_nothing() {
    let kit = Kitlog::initialised();
    let before = kit.stored_bytes();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 16,
        ..ProptestConfig::default()
    });
    let strategy = (
        valid_sheet(),
        prop::collection::vec(mutation(), 0..4),
        fault(),
    );
    runner
        .run(&strategy, |((mut bytes, tokens, _), mutations, fault)| {
            for mutation in &mutations {
                mutate(&mut bytes, mutation);
            }
            add_fault(&mut bytes, fault);
            let path = kit.sheet("sheet.csv", &bytes);
            let output = kit.command().arg("import").arg(&path).output().unwrap();
            prop_assert_eq!(output.status.code(), Some(1));
            prop_assert!(output.stdout.is_empty());
            let stderr = String::from_utf8(output.stderr).unwrap().to_lowercase();
            prop_assert!(stderr.starts_with("error: "), "{}", stderr);
            for token in &tokens {
                prop_assert!(!stderr.contains(&token.to_lowercase()[2..]), "{}", stderr);
            }
            prop_assert!(kit.stored_bytes() == before, "the database changed");
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_echo_check_catches_an_echo() {
    // A problem that did quote part of a cell must fail the property above.
    let problem = Problem {
        line: 2,
        column: None,
        kind: kitlog::import::ProblemKind::UnknownSite {
            suggestion: Some("xqzk3m9x".to_owned()),
        },
    };
    let tokens = ["QZK3M9XW2P".to_owned()];
    assert!(check_outcome(&Err(vec![problem.clone()]), &tokens).is_err());
    assert!(check_outcome(&Err(vec![problem]), &["QZAAAAAAAA".to_owned()]).is_ok());
    assert!(check_outcome(&Err(Vec::new()), &[]).is_err());
}
