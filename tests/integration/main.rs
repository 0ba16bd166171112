//! End-to-end tests: the real `kitlog` binary over real SQLite files in temp dirs.
//!
//! One test binary (linked once) with a module per topic.

// A test binary has no outside users: `pub` just means "for the other test modules".
#![allow(unreachable_pub)]

mod harness;

/// An independent disclosure attacker: bounds hidden cells of released CSVs by LP.
mod attacker;

/// `kitlog backup` and `kitlog check`.
mod backup;
/// `kitlog site …` and `kitlog item …`.
mod catalogue;
/// `kitlog codes new` and programs of issued codes.
mod codes;
/// Imports, reports and backups at the same moment: all land, every reader sees one moment.
mod concurrent;
/// Random histories on three laptops, bundles in any order: one program, one report.
mod convergence;
/// SIGKILL at any moment of `kitlog import` and `kitlog shift`: before or after, never between.
mod crash;
/// Several laptops, one program: enrolment, bundles, merging, forgetting, close-year.
mod devices;
/// Random programs and release sequences against the independent attacker.
mod disclosure;
/// `kitlog fill` and `kitlog template`: funders' forms from templates, as CSV and workbooks.
mod fill;
/// `kitlog import` on good sheets: output, defaults, spreadsheet quirks, duplicates.
mod import;
/// `kitlog import` on bad sheets and arguments: exact problems, nothing written.
mod import_errors;
/// `kitlog import` warnings (confirmed or refused) and several sheets in one command.
mod import_sheets;
/// `kitlog init`: creating programs, settings, passphrases, refusing to overwrite.
mod init;
/// `kitlog month`: the month-end check per site and day; usual days, missing days.
mod month;
/// `kitlog passphrase …`: key slots, codes unchanged, revoked passphrases refused.
mod passphrase;
/// One test per privacy rule of the README's privacy model, named after it.
mod privacy;
/// `kitlog privacy`: the stored fields and report columns.
mod privacy_listing;
/// `kitlog releases` and the ledger: re-releases, late sheets, the calendar rule.
mod releases;
/// `kitlog report`: periods, breakdowns, totals, suppression, files.
mod report;
/// `kitlog close-year`: frozen reports, erased codes.
mod retention;
/// Random and malformed sheets to `read_sheet` (proptest) and through `kitlog import`.
mod robustness;
/// The forensic review's findings, checked as whoever seizes the laptop would.
mod seized;
/// `kitlog shift`, piped and in a pseudo-terminal.
mod shift;
/// `kitlog shift` as tired people type: forgiving lines, stray words, the line editor, Ctrl-C.
mod shift_editing;
/// A release opened in LibreOffice Calc, headless: rows, numbers and the notes block.
mod spreadsheet;
/// `kitlog summary --html`: one self-contained page, one release, one printed page.
mod summary_page;
/// Bundles between two real Syncthing instances on loopback.
mod syncthing;
/// `kitlog batches` and `kitlog void`.
mod void;
