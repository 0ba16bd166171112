//! kitlog: log what harm-reduction programs hand out, under anonymous salted codes,
//! and export aggregate reports that never reveal a small group of people.
//!
//! Reading order, from what can be typed to what is saved:
//!
//! - [`cli`]: the command-line types and `run`, the one place that reads the clock.
//! - [`commands`]: one file per subcommand; glue only.
//! - [`hardening`]: no core dumps, not dumpable: done before any secret is read.
//! - [`passphrase`]: where a passphrase comes from (terminal, file, environment).
//! - [`keyfile`]: the sealed key slots, in a small file beside the encrypted program.
//! - [`keys`]: the program key, its passphrase-sealed slots, per-fiscal-year keys.
//! - [`code`]: raw identifier in, salted participant code out; the raw text stays here.
//! - [`issued`]: random codes for cards, with a check character (`kitlog codes new`).
//! - [`shift`]: the one-line-per-contact syntax of `kitlog shift`, and the words it
//!   reserves.
//! - [`spoken_day`]: the day of a shift as typed at the prompt (`friday`, `Nov 20`).
//! - [`catalogue`]: sites and items, and the names a sheet's fixed columns take.
//! - [`contact`]: one contact (and its counts), batches, voids, per-contact limits.
//! - [`fiscal`]: days, fiscal years, quarters, months, ISO weeks.
//! - [`import`]: shift-sheet CSV to contacts, or every problem with line and column.
//! - [`month`]: the month-end check: usual days of a site, days that look missing.
//! - [`measures`]: the one list of the numbers a report cell has.
//! - [`report`]: contacts to report rows: `query` (from the store), `builder`
//!   (counting), `relations` (what a reader can add up), `csv`.
//! - [`suppression`]: which report cells to hide so no small group can be recovered.
//! - [`sync`]: several laptops, one program: sealed, signed bundles and enrolment
//!   files (the records in them are written and merged by `store::exchange`).
//! - [`store`]: the SQLite database, the only module with SQL, one concern a file.
//! - [`text`]: counts and articles in messages.
//! - [`unlock`]: key file, passphrase, program key, encrypted database, in that order.
//! - [`error`]: every failure as the sentence the user reads.

pub mod catalogue;
pub mod chart;
pub mod cli;
pub mod code;
pub mod commands;
pub mod contact;
pub mod error;
pub mod fiscal;
pub mod hardening;
pub mod import;
pub mod issued;
pub mod keyfile;
pub mod keys;
pub mod measures;
pub mod month;
pub mod passphrase;
pub mod report;
pub mod shift;
pub mod spoken_day;
pub mod store;
pub mod suppression;
pub mod sync;
pub mod template;
pub mod text;
pub mod unlock;
