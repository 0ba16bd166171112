//! Any bytes as a shift sheet: `read_sheet` never panics, returns contacts or at least
//! one problem, and no problem repeats a distinctive cell.
#![no_main]

use chrono::NaiveDate;
use kitlog::code::CodeMaker;
use kitlog::fiscal::FiscalCalendar;
use kitlog::import::{SheetDefaults, read_sheet};
use kitlog::keys::ProgramKey;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let catalogue = common::catalogue();
    let key = ProgramKey::generate(&ring::rand::SystemRandom::new()).unwrap();
    let mut codes = CodeMaker::new(&key, FiscalCalendar::default(), None);
    // The first byte picks whether --site and --date are given, as on the command line.
    let (with_defaults, sheet) = match data.split_first() {
        Some((first, rest)) => (first & 1 == 1, rest),
        None => (false, data),
    };
    let defaults = SheetDefaults {
        site: with_defaults.then(|| &catalogue.sites[0]),
        date: with_defaults.then(|| NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()),
        today: NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
    };
    match read_sheet(sheet, &catalogue, defaults, &mut codes) {
        Ok(parsed) => assert!(!parsed.contacts.is_empty(), "Ok without contacts"),
        Err(problems) => {
            assert!(!problems.is_empty(), "Err without problems");
            // Every message in one lowercased text, checked once per distinctive cell.
            let messages: String = problems
                .iter()
                .map(|p| p.to_string().to_lowercase() + "\n")
                .collect();
            // Every cell, header included, as a CSV reader sees it, whatever the delimiter.
            for delimiter in [b',', b';', b'\t'] {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .delimiter(delimiter)
                    .from_reader(sheet);
                for record in reader.byte_records().map_while(Result::ok) {
                    for cell in &record {
                        common::assert_no_echo(&messages, &String::from_utf8_lossy(cell));
                    }
                }
            }
        }
    }
});
