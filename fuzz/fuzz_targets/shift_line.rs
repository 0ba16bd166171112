//! Any text as a `kitlog shift` line: `parse_line` never panics, and a problem never
//! repeats a distinctive word of the line (the code comes first on a line).
#![no_main]

use chrono::NaiveDate;
use kitlog::shift::{Shortcuts, parse_line};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let catalogue = common::catalogue();
    let shortcuts = Shortcuts::for_day(&catalogue, NaiveDate::from_ymd_opt(2025, 6, 1).unwrap());
    if let Err(problem) = parse_line(&text, &shortcuts) {
        let message = problem.to_string().to_lowercase();
        for word in text.split_whitespace() {
            common::assert_no_echo(&message, word);
        }
    }
});
