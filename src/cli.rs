//! What can be typed: clap types whose doc comments are the help text, and
//! [`run`], which parses, builds the [`Context`] and reports the outcome.
//!
//! No command takes a participant identifier as an argument: arguments end up in
//! shell history and `ps`. Codes come only from files and the interactive prompt.
//! Domain types stay free of clap: the `*Arg` enums here map onto them.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::catalogue::Category;
use crate::commands::Context;
use crate::contact::VoidReason;
use crate::error::Error;
use crate::fiscal::PeriodKind;
use crate::passphrase::PassphraseSource;

/// Log harm-reduction supplies with anonymous salted codes, and export aggregate reports.
#[derive(Debug, Parser)]
#[command(name = "kitlog", version, about, max_term_width = 100)]
pub struct Cli {
    /// The program database [default: program.db in the platform data directory]
    #[arg(long, global = true, env = "KITLOG_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a program database (asks for a new passphrase); never overwrites one.
    Init(InitArgs),
    /// Manage sites: places and outreach routes.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Manage items: the supplies handed out.
    #[command(subcommand)]
    Item(ItemCommand),
    /// Manage worker labels: the list a shift's worker is chosen from.
    #[command(subcommand)]
    Worker(WorkerCommand),
    /// Type a shift's contacts at the keyboard, one a line; saved as one batch.
    Shift(ShiftArgs),
    /// Import shift sheets (CSV); each one all of it or nothing.
    Import(ImportArgs),
    /// List what was saved: one batch a line; or one batch's contacts (never codes).
    Batches(BatchesArgs),
    /// Void a batch, or one contact of it; it leaves the reports but stays in the audit trail.
    Void(VoidArgs),
    /// Month-end check: per site and shift day, the shifts saved, drafts waiting, and
    /// usual days that look missing.
    Month(MonthArgs),
    /// Aggregate CSV for funders, by fiscal period; small cells hidden as x.
    Report(ReportArgs),
    /// Fill a funder's form from a template: a release like a report, as CSV or a
    /// workbook (.xlsx) with notes.
    Fill(FillArgs),
    /// The funders' forms kitlog can fill: the shipped templates and the program's own.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// This period against the previous one, per category, as text bars; small cells hidden.
    Summary(SummaryArgs),
    /// The ledger: every report released, and each one exactly as it was sent.
    Releases(ReleasesArgs),
    /// After a year's reports are done: keep its reports, erase its participant codes for good.
    CloseYear(CloseYearArgs),
    /// Manage passphrases: several open one program, with the same codes.
    #[command(subcommand)]
    Passphrase(PassphraseCommand),
    /// Copy the program to a new file, consistently, even while others save.
    Backup(BackupArgs),
    /// Check the file and the program's own rules; say what to do if it is damaged.
    Check,
    /// Show every field kitlog stores and every column a report exports.
    Privacy,
    /// Print a shell completion script: `kitlog completions bash > ~/.local/share/bash-completion/completions/kitlog`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `kitlog man > ~/.local/share/man/man1/kitlog.1`.
    Man,
    /// Enrol and manage the program's laptops (the coordinator's), or join one.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Write this laptop's next bundle into a folder (USB stick, shared drive, Syncthing).
    Send(FolderArgs),
    /// Merge every bundle in a folder; running it again is harmless.
    Receive(FolderArgs),
    /// Receive from a folder, then send into it; `kitlog sync status` shows each
    /// laptop's last bundle, gaps, and flags to review.
    Sync(SyncArgs),
    /// Print fresh random participant codes for cards (for programs made with
    /// `--code-format issued`); kitlog keeps no list of them.
    #[command(subcommand)]
    Codes(CodesCommand),
}

/// `kitlog batches`
#[derive(Debug, Args)]
pub struct BatchesArgs {
    /// List this batch's contacts: number, day, site, coded or anonymous, what was
    /// handed out (to find the one to void with `kitlog void BATCH --contact N`).
    pub batch: Option<i64>,
}

/// `kitlog month`
#[derive(Debug, Args)]
pub struct MonthArgs {
    /// The month to check, as YYYY-MM [default: this month]. A site's usual days are
    /// the weekdays it had counted contacts on in at least half of the weeks it was
    /// active (and at least twice) in the 8 weeks before the month.
    #[arg(value_name = "YYYY-MM")]
    pub month: Option<String>,
}

/// `kitlog worker …`
#[derive(Debug, Subcommand)]
pub enum WorkerCommand {
    /// Add a worker label: initials or a role, 1 to 8 letters or digits (e.g. JD), never a name.
    Add {
        /// The label.
        label: String,
    },
    /// List the worker labels.
    List,
}

/// `kitlog codes …`
#[derive(Debug, Subcommand)]
pub enum CodesCommand {
    /// Print COUNT new codes, one a line (8 characters and a check character).
    New {
        /// How many [default: 10]
        #[arg(default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=10_000))]
        count: u16,
    },
}

/// `kitlog init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Month the funder's fiscal year starts (1-12; 4 = April, 1 = calendar year)
    #[arg(long, default_value_t = 4, value_name = "M")]
    pub fiscal_year_start: u32,

    /// Smallest count a report may publish; smaller cells are hidden
    #[arg(long, default_value_t = 5, value_name = "K")]
    pub min_cell: u32,

    /// `issued`: codes are random ones printed by `kitlog codes new` (recommended), and
    /// a mistyped one is refused. Or a shape every code must have, once spaces and
    /// punctuation are removed: A = letter, 9 = digit, * = either (e.g. AAAAA9999).
    /// A code built from personal details (sex, name letters, birth year) has about
    /// 100 million possible inputs: anyone holding any passphrase reverses every
    /// stored code in under a minute (13-37 s on two cores, measured).
    #[arg(long, value_name = "issued|MASK")]
    pub code_format: Option<String>,
}

/// `kitlog site …`
#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Add a site, e.g. `downtown-van`.
    Add {
        /// Lowercase letters, digits and dashes.
        name: String,
    },
    /// List sites, retired ones marked.
    List,
    /// Retire a site from today: old records keep it, new ones cannot use it.
    Retire {
        /// The site.
        name: String,
    },
}

/// `kitlog item …`
#[derive(Debug, Subcommand)]
pub enum ItemCommand {
    /// Add an item; its name is also its shift-sheet column.
    Add {
        /// Lowercase letters, digits and dashes.
        name: String,
        /// Funder grouping.
        #[arg(long, value_enum)]
        category: CategoryArg,
        /// What one counts (kit, pipe, strip, ...).
        #[arg(long, default_value = "each")]
        unit: String,
        /// Short name on `kitlog shift` lines: 1 to 4 letters (ik2 = two of this item).
        #[arg(long)]
        alias: Option<String>,
    },
    /// Give an item a short name for `kitlog shift` lines (1 to 4 letters: replaces
    /// its alias), or another word for it (5 to 24 letters: `narcan`, added).
    Alias {
        /// The item.
        name: String,
        /// `ik` (the short alias) or a longer word such as `narcan`.
        alias: String,
        /// Take the word away from the item instead.
        #[arg(long)]
        remove: bool,
    },
    /// List items with category, unit and shift alias, retired ones marked.
    List,
    /// Retire an item from today: old records keep it, new ones cannot use it.
    Retire {
        /// The item.
        name: String,
    },
}

/// `kitlog import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The shift sheets (CSV, UTF-8, one row per contact): one or several, each saved
    /// whole or not at all.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Site for rows that have none (or when the sheet has no site column).
    #[arg(long, value_name = "SITE")]
    pub site: Option<String>,
    /// Day for rows that have none, as YYYY-MM-DD.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub date: Option<NaiveDate>,
    /// Worker label: initials or a few letters, never a full name.
    #[arg(long, value_name = "LABEL")]
    pub worker: Option<String>,
    /// Check the sheet and show what would be saved; save nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Save a sheet with warnings (an old date, a code that looks like a count) without
    /// asking; for scripts. The warnings are still printed.
    #[arg(long)]
    pub yes: bool,
}

/// `kitlog shift`
#[derive(Debug, Args)]
pub struct ShiftArgs {
    /// Carry on with the shift that was left unsaved (crash, closed window, Ctrl-D).
    #[arg(long, conflicts_with = "discard")]
    pub resume: bool,
    /// Throw away the shift that was left unsaved.
    #[arg(long)]
    pub discard: bool,
}

/// `kitlog void`
#[derive(Debug, Args)]
pub struct VoidArgs {
    /// The batch number, as `kitlog batches` shows it.
    pub batch: i64,
    /// Only this contact of the batch: 1 is its first (row 2 of an imported sheet).
    #[arg(long, value_name = "N")]
    pub contact: Option<i64>,
    /// Why.
    #[arg(long, value_enum)]
    pub reason: VoidReasonArg,
}

/// `kitlog report`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Period of each row: ISO week, calendar month, fiscal quarter or fiscal year
    #[arg(long, value_enum)]
    pub period: PeriodArg,
    /// First period: the one containing this day [default: the first contact]
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub from: Option<NaiveDate>,
    /// Last period: the one containing this day [default: the last contact]
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub to: Option<NaiveDate>,
    /// Breakdown: a comma list of site and one of item or category
    #[arg(long, default_value = "site,item", value_name = "DIMS")]
    pub by: String,
    /// Hide cells of fewer contacts or participants than this [default: the program's]
    #[arg(long, value_name = "K")]
    pub min_cell: Option<u32>,
    /// Write to this file (atomically) instead of standard output
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Who the release goes to, e.g. ontario-naloxone (kept in the ledger)
    #[arg(long = "for", value_name = "LABEL")]
    pub recipient: Option<String>,
    /// Start the file with a UTF-8 byte-order mark, for older Excel
    #[arg(long)]
    pub bom: bool,
}

/// `kitlog fill`
#[derive(Debug, Args)]
pub struct FillArgs {
    /// The template's name, as `kitlog template list` shows it
    pub template: String,
    /// First period: the one containing this day [default: the first contact]
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub from: Option<NaiveDate>,
    /// Last period: the one containing this day [default: the last contact]
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub to: Option<NaiveDate>,
    /// Who the release goes to, e.g. ontario-naloxone (kept in the ledger)
    #[arg(long = "for", value_name = "LABEL")]
    pub recipient: Option<String>,
    /// The number a per-person row divides by, when the template asks for one
    #[arg(long, value_name = "N")]
    pub denominator: Option<f64>,
    /// Write to this file (atomically): a workbook when it ends in .xlsx, else CSV
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists
    #[arg(long, requires = "out")]
    pub force: bool,
}

/// `kitlog template …`
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// List the templates: name, period, title.
    List,
    /// Print a template (TOML), to read or to copy as the start of a program's own.
    Show {
        /// The template's name.
        name: String,
    },
}

/// `kitlog close-year`
#[derive(Debug, Args)]
pub struct CloseYearArgs {
    /// The fiscal year, as reports name it (FY2025-26) or by its start year (2025)
    pub year: String,
    /// Confirm without a prompt (needed when not at a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Close even though some enrolled laptops have not sent a bundle made after the
    /// year ended (their late contacts of the year will be refused)
    #[arg(long)]
    pub force: bool,
}

/// `kitlog summary`
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// The last period that is over is compared with the one before it
    #[arg(long, value_enum, default_value = "month")]
    pub period: PeriodArg,
    /// Instead, write a one-page HTML summary of this fiscal year so far (charts and
    /// numbers, no scripts, prints on one page) to this file
    #[arg(long, value_name = "FILE", conflicts_with = "period")]
    pub html: Option<PathBuf>,
}

/// `kitlog releases [show N]`
#[derive(Debug, Args)]
pub struct ReleasesArgs {
    /// List releases, or show one.
    #[command(subcommand)]
    pub command: Option<ReleasesCommand>,
}

/// `kitlog releases show N`
#[derive(Debug, Subcommand)]
pub enum ReleasesCommand {
    /// Print one release exactly as it was released.
    Show {
        /// The release number, as `kitlog releases` lists it.
        number: i64,
    },
}

/// `kitlog passphrase …`
#[derive(Debug, Subcommand)]
pub enum PassphraseCommand {
    /// List passphrases by label, with the day each was set; needs no passphrase.
    List,
    /// Add a passphrase (asks for one that opens the program, then the new one).
    Add {
        /// Whose passphrase: a short slug such as worker-jd.
        #[arg(long, value_name = "LABEL")]
        label: String,
    },
    /// Replace a passphrase with a new one; codes stay the same.
    Change {
        /// The passphrase to replace [default: the one typed first]
        #[arg(long, value_name = "LABEL")]
        label: Option<String>,
    },
    /// Revoke a passphrase; the last one cannot be removed.
    Remove {
        /// The passphrase to remove.
        #[arg(long, value_name = "LABEL")]
        label: String,
        /// Also replace the program key: the removed passphrase, even with an old copy
        /// of the file, then opens nothing saved from now on and makes no code of a
        /// later fiscal year. Every other passphrase keeps working; this year's codes
        /// stay the same. Run it while no other kitlog uses the program.
        #[arg(long)]
        rotate: bool,
    },
}

/// `kitlog device`
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Enrol a worker's laptop: writes its enrolment file and shows a one-time
    /// passphrase to tell the worker in person (never send it with the file).
    Add {
        /// A name for the laptop, like van-2 (never a person's name).
        label: String,
        /// Where to write the enrolment file (default: kitlog-enrol-LABEL.kle here).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// On a new laptop: make its program from the coordinator's enrolment file
    /// (asks the one-time passphrase, then a passphrase of the worker's own).
    Join {
        /// The enrolment file.
        file: PathBuf,
    },
    /// The program's laptops: role, when enrolled, their last bundle.
    List,
    /// Refuse a laptop's bundles from now on (lost, stolen, or no longer used).
    Revoke {
        /// The laptop's label.
        label: String,
    },
}

/// `kitlog send DIR`, `kitlog receive DIR`
#[derive(Debug, Args)]
pub struct FolderArgs {
    /// The folder bundles travel through.
    pub dir: PathBuf,
}

/// `kitlog sync DIR | status`
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The folder to receive from and send into, or `status`.
    pub target: PathBuf,
}

/// `kitlog backup`
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The new file; never overwritten.
    pub file: PathBuf,
}

/// `--period` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PeriodArg {
    /// ISO week, Monday to Sunday.
    Week,
    /// Calendar month.
    Month,
    /// Fiscal quarter.
    Quarter,
    /// Fiscal year.
    FiscalYear,
}

impl From<PeriodArg> for PeriodKind {
    fn from(period: PeriodArg) -> Self {
        match period {
            PeriodArg::Week => PeriodKind::Week,
            PeriodArg::Month => PeriodKind::Month,
            PeriodArg::Quarter => PeriodKind::Quarter,
            PeriodArg::FiscalYear => PeriodKind::FiscalYear,
        }
    }
}

/// `--category` values: the domain's [`Category`], spelled for the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CategoryArg {
    /// Injection equipment.
    Injection,
    /// Safer-smoking supplies.
    Smoking,
    /// Take-home naloxone; these items carry a naloxone reason.
    Naloxone,
    /// Drug-checking supplies.
    Testing,
    /// Anything else.
    Other,
}

impl From<CategoryArg> for Category {
    fn from(category: CategoryArg) -> Self {
        match category {
            CategoryArg::Injection => Category::Injection,
            CategoryArg::Smoking => Category::Smoking,
            CategoryArg::Naloxone => Category::Naloxone,
            CategoryArg::Testing => Category::Testing,
            CategoryArg::Other => Category::Other,
        }
    }
}

/// `--reason` values of `kitlog void`: the domain's [`VoidReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VoidReasonArg {
    /// Typed or imported wrongly.
    EntryError,
    /// Saved twice.
    Duplicate,
    /// Not real: training or trying the tool out.
    Test,
}

impl From<VoidReasonArg> for VoidReason {
    fn from(reason: VoidReasonArg) -> Self {
        match reason {
            VoidReasonArg::EntryError => VoidReason::EntryError,
            VoidReasonArg::Duplicate => VoidReason::Duplicate,
            VoidReasonArg::Test => VoidReason::Test,
        }
    }
}

/// A day on the command line, with a message that says how to write one.
fn parse_day(text: &str) -> Result<NaiveDate, String> {
    crate::fiscal::parse_day(text.trim()).map_err(|error| match error {
        crate::fiscal::DayError::NoSuchDay => "no such day in the calendar".to_owned(),
        crate::fiscal::DayError::NotADate => {
            "write the date as YYYY-MM-DD, e.g. 2026-11-20".to_owned()
        }
    })
}

/// Runs kitlog with `args` (the program name first) and returns the exit code.
///
/// Errors print as one `error: …` line on stderr. A closed stdout (`kitlog batches |
/// head`) is not an error.
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if let Err(error) = crate::hardening::harden_process() {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    let context = Context {
        db: cli.db.unwrap_or_else(default_db_path),
        today: today(),
        passphrase: PassphraseSource::from_environment(),
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli
        .command
        .run(&context, &mut out)
        .and_then(|()| out.flush().map_err(|e| Error::Output(e.kind())))
    {
        Ok(()) | Err(Error::Output(std::io::ErrorKind::BrokenPipe)) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Today, from the local clock. A debug build (the one `cargo test` runs) takes
/// `KITLOG_TODAY` (YYYY-MM-DD) instead when it is set, so that tests of reports, which
/// leave out periods not over yet, do not depend on the day they run; a release build
/// never reads it.
#[expect(
    clippy::disallowed_methods,
    reason = "the one place that reads the clock; everything else is passed `today`"
)]
fn today() -> NaiveDate {
    if cfg!(debug_assertions) {
        if let Some(day) = std::env::var("KITLOG_TODAY")
            .ok()
            .and_then(|text| crate::fiscal::parse_day(&text).ok())
        {
            return day;
        }
    }
    chrono::Local::now().date_naive()
}

/// `program.db` in the platform's data directory (e.g. `~/.local/share/kitlog`).
fn default_db_path() -> PathBuf {
    directories::ProjectDirs::from("org", "kitlog", "kitlog").map_or_else(
        || PathBuf::from("kitlog.db"),
        |dirs| dirs.data_dir().join("program.db"),
    )
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// Raw identifiers never come as arguments: no argument of any command can carry one.
    #[test]
    fn no_argument_takes_a_code() {
        fn walk(command: &clap::Command, found: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str().to_lowercase();
                if ["code", "participant", "identifier"]
                    .iter()
                    .any(|word| id.contains(word))
                    && id != "code_format"
                {
                    found.push(format!("{} --{id}", command.get_name()));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, found);
            }
        }
        let mut found = Vec::new();
        walk(&Cli::command(), &mut found);
        assert!(found.is_empty(), "arguments that take codes: {found:?}");
    }
}
