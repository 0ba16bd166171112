//! Every way kitlog can fail, each as the one sentence a user reads on stderr.
//!
//! Messages are designed, not assembled: no variant carries a participant's code
//! input, and foreign errors (SQLite, I/O) are reduced to a plain description of
//! what went wrong so that no library jargon or stored value reaches the screen.
//! `tests/integration/privacy.rs` drives every failing path with sentinel codes and
//! checks that no message repeats one.

use std::fmt::{self, Write as _};
use std::path::PathBuf;

use chrono::NaiveDate;

use crate::import::{Problem, Warnings};
use crate::text::{Count, article};

/// Result with kitlog's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure the user can act on. `Display` is the whole message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command other than `init` was pointed at a file that does not exist.
    #[error(
        "there is no kitlog program at {}; run `kitlog init` first, or give the right --db",
        .0.display()
    )]
    NoProgram(PathBuf),

    /// `init` never overwrites: a program holds records that cannot be rebuilt.
    #[error(
        "a file already exists at {}; kitlog init never overwrites, so choose another --db",
        .0.display()
    )]
    ProgramExists(PathBuf),

    /// No key file beside the program: the slots that open it are gone, or the file
    /// is not a kitlog program at all (an encrypted one looks like random bytes).
    #[error(
        "there is no key file {} beside {}: if this is a kitlog program, copy its key file back from the backup (the file whose name ends in .keys); without it no passphrase opens the program",
        crate::keyfile::key_file_path(.0).display(),
        .0.display()
    )]
    NoKeyFile(PathBuf),

    /// The key file does not parse, or a slot's cost is outside the sane range.
    #[error(
        "the key file {} is damaged or was changed outside kitlog; copy it back from the backup",
        .0.display()
    )]
    DamagedKeyFile(PathBuf),

    /// A slot opened, but the program file does not open with its key.
    #[error(
        "the passphrase opens the key file beside {}, but not the program itself: the two files do not belong together; restore both from the same backup",
        .0.display()
    )]
    KeyFileMismatch(PathBuf),

    /// The schema is not exactly kitlog's: a table, index, view or trigger was added
    /// or changed by another hand, and could keep what kitlog erases.
    #[error(
        "the program file's structure was changed outside kitlog (an extra table, index, view or trigger), so kitlog does not trust it; restore the last backup"
    )]
    SchemaChanged,

    /// The file opened but is not a kitlog program database.
    #[error("{} is not a kitlog program database", .0.display())]
    NotAProgram(PathBuf),

    /// The database was made by a newer kitlog; opening it here could damage it.
    #[error(
        "this program database was made by a newer kitlog (schema {found}, this kitlog knows up to {known}); install the newer kitlog"
    )]
    NewerSchema {
        /// Schema version found in the file.
        found: i64,
        /// Newest schema version this build can read.
        known: i64,
    },

    /// SQLite reported that the file is damaged.
    #[error(
        "the program database is damaged; stop using it and restore the last backup (kitlog backup)"
    )]
    Damaged,

    /// Another kitlog held the database for longer than the busy timeout.
    #[error("the program database is busy with another kitlog; nothing was saved, try again")]
    Busy,

    /// Any other database failure, described without SQL or stored values.
    #[error("the program database could not be used ({0}); nothing was saved")]
    Database(DatabaseFailure),

    /// A file kitlog was asked to read or write could not be used.
    #[error("could not {action} {}: {reason}", .path.display())]
    File {
        /// What kitlog was doing: "read", "write", "create".
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's reason, e.g. "not found".
        reason: String,
    },

    /// Standard output could not be written (a full disk, a closed terminal).
    #[error("could not write the output ({0})")]
    Output(std::io::ErrorKind),

    /// No passphrase source was available.
    #[error(
        "a passphrase is needed: run kitlog at a terminal, or set KITLOG_PASSPHRASE_FILE or KITLOG_PASSPHRASE"
    )]
    NoPassphrase,

    /// A passphrase an offline guesser would find among its first 10^10 tries (zxcvbn
    /// score below 3): with a seized file, the passphrase is the only barrier.
    #[error(
        "that passphrase is too easy to guess: with a copy of the file, a guesser would find it within ten billion tries; choose four or more random words (like \"velvet orbit maple canyon\", but your own); nothing was saved"
    )]
    PassphraseWeak,

    /// The process could not turn off core dumps; a crash could write keys to disk.
    #[error(
        "kitlog could not turn off core dumps for itself, so it stops before reading any secret"
    )]
    Hardening,

    /// The two passphrases typed at `init` differ.
    #[error("the two passphrases differ; nothing was created")]
    PassphraseMismatch,

    /// Deliberately vague: which slot failed, or why, would help an attacker.
    #[error("the passphrase does not open this program; nothing was saved")]
    WrongPassphrase,

    /// The operating system's random generator failed; no key can be made safely.
    #[error("the system's random number generator failed; nothing was created")]
    Randomness,

    /// `init --fiscal-year-start` is not a month.
    #[error("--fiscal-year-start is a month number from 1 to 12")]
    InvalidFiscalYearStart,

    /// `--min-cell 0` would be a threshold that means nothing.
    #[error("--min-cell is at least 1 (1 hides nothing; 5 or more is usual)")]
    MinCellZero,

    /// `init --code-format` is not a mask.
    #[error("--code-format is 1 to 64 of A (letter), 9 (digit) and * (either), e.g. AAAAA9999")]
    InvalidCodeFormat,

    /// `report --by` names something a report cannot break down by.
    #[error("--by is a comma list of site and one of item or category, e.g. site,item")]
    InvalidBreakdown,

    /// A fiscal year released by week and then asked by month, quarter or year, or the
    /// other way round.
    #[error(
        "{year} has been released by {}; weeks do not add up to months, quarters or years, so releasing it both ways would let a reader subtract one from the other. Report {year} by {} (or, for the program's own checks, below its threshold with --min-cell)",
        if *.released_by_week { "week" } else { "month, quarter or year" },
        if *.released_by_week { "week" } else { "month, quarter or fiscal year" }
    )]
    CalendarClash {
        /// The fiscal year.
        year: String,
        /// Whether its earlier releases were weekly.
        released_by_week: bool,
    },

    /// A release at a stricter threshold than a period it prints was first released
    /// at: that period's cells are out already, at the threshold they were decided at.
    #[error(
        "{period} was first released at min-cell {released}, and every release of it prints the cells decided then (anyone holding that release has them); report it at min-cell {released}, or only periods not yet released, with --from"
    )]
    ReleasedAtLowerThreshold {
        /// The period's label.
        period: String,
        /// The threshold it was decided at.
        released: u32,
    },

    /// A release recorded whose `--out` file could not be written.
    #[error(
        "{cause}; release {number} is recorded all the same, so print it with kitlog releases show {number}"
    )]
    ReleaseNotWritten {
        /// The release's number.
        number: i64,
        /// Why the file could not be written.
        cause: Box<Error>,
    },

    /// `report --out` naming a file that is there already.
    #[error(
        "a file already exists at {}; add --force to replace it, or choose another name",
        .0.display()
    )]
    OutputExists(PathBuf),

    /// `releases show` with a number the ledger does not have.
    #[error("there is no release {0}; see kitlog releases")]
    NoSuchRelease(i64),

    /// `report --from` after `--to`.
    #[error("--from is after --to; nothing to report")]
    EmptyRange,

    /// `import --date` in the future: the same rule as a date cell.
    #[error("--date {date} is in the future (today is {today})")]
    FutureDateArgument {
        /// The day given.
        date: NaiveDate,
        /// Today.
        today: NaiveDate,
    },

    /// `close-year` named something that is not a fiscal year.
    #[error("name the fiscal year as a report does, e.g. FY2025-26 (or its start year, 2025)")]
    InvalidFiscalYear,

    /// An item alias breaks the alias rule.
    #[error(
        "an alias is 1 to 4 lowercase letters (ik, typed ik2), or a longer word of 5 to 24 letters or dashes (narcan)"
    )]
    InvalidAlias,

    /// An alias that a shift line already reads as a command, count or reason.
    #[error("\"{0}\" already means something on a shift line; choose another alias")]
    ReservedAlias(String),

    /// `kitlog item alias NAME WORD --remove` for a word the item does not have.
    #[error("{word} is not a word for {name}; kitlog item list shows each item's words")]
    NotAWordOf {
        /// The word (a catalogue word, never participant data).
        word: String,
        /// The item.
        name: String,
    },

    /// An alias another item has: a shift line could not tell them apart.
    #[error("the alias {alias} already belongs to {holder}")]
    AliasTaken {
        /// The alias (a catalogue word, never participant data).
        alias: String,
        /// The item that has it.
        holder: String,
    },

    /// A unit breaks the naming rule; a unit cannot hold a sentence either.
    #[error("a unit is 1 to 40 lowercase letters, digits and dashes (e.g. kit, pipe, strip)")]
    InvalidUnit,

    /// A site or item name breaks the naming rule.
    #[error(
        "{kind} names are 1 to 40 lowercase letters, digits and dashes, starting with a letter (e.g. {})",
        if *kind == "recipient" { "ontario-naloxone" } else { "downtown-van" }
    )]
    InvalidName {
        /// "site", "item" or "recipient".
        kind: &'static str,
    },

    /// Item names may not shadow the sheet's fixed columns.
    #[error("\"{0}\" is a shift-sheet column of its own, so it cannot name an item")]
    ReservedName(String),

    /// Adding a name the catalogue already has.
    #[error("there is already {} {kind} called {name}", article(kind))]
    AlreadyInCatalogue {
        /// "site", "item" or "recipient".
        kind: &'static str,
        /// The catalogue name (never participant data).
        name: String,
    },

    /// Naming a site or item the catalogue does not have.
    #[error("there is no {kind} called {name}; see kitlog {kind} list")]
    NotInCatalogue {
        /// "site", "item" or "recipient".
        kind: &'static str,
        /// The catalogue name.
        name: String,
    },

    /// Retiring something twice.
    #[error("the {kind} {name} was already retired on {on}")]
    AlreadyRetired {
        /// "site", "item" or "recipient".
        kind: &'static str,
        /// The catalogue name.
        name: String,
        /// When it was retired.
        on: String,
    },

    /// A worker label must stay a label: a few letters, never a name.
    #[error(
        "a worker label is 1 to 8 letters or digits, such as initials (e.g. JD); not a full name"
    )]
    InvalidWorker,

    /// The sheet was refused; each problem is its own line.
    #[error("{}", render_problems(.0))]
    ImportRejected(Vec<Problem>),

    /// A sheet with warnings that nobody confirmed (off a terminal, without `--yes`).
    #[error(
        "the shift sheet has {} (above); nothing was saved: check it, or import it again with --yes to save it as it is",
        Count(.0.count, "warning")
    )]
    ImportUnconfirmed(Warnings),

    /// Some of several sheets were not imported; each said why.
    #[error(
        "{} of {} shift sheets {} not imported (see above); the others are saved",
        .failed,
        .total,
        if *.failed == 1 { "was" } else { "were" }
    )]
    SheetsNotImported {
        /// Sheets refused.
        failed: usize,
        /// Sheets given.
        total: usize,
    },

    /// `kitlog fill` or `template show` named no template.
    #[error("there is no template called {0}; kitlog template list shows them")]
    NoSuchTemplate(String),

    /// A template that cannot be read as one.
    #[error("the template {name} cannot be used: {reason}")]
    TemplateUnreadable {
        /// The template's name.
        name: String,
        /// What is wrong, from the TOML reader or kitlog's checks.
        reason: String,
    },

    /// A template counting items or categories the program does not have.
    #[error(
        "the template {name} counts {unknown}, which this program does not have; add the item, or copy the template and change its rows"
    )]
    TemplateNamesUnknown {
        /// The template's name.
        name: String,
        /// The names, comma-separated.
        unknown: String,
    },

    /// `kitlog fill` over a range with no ended period holding contacts.
    #[error(
        "there is nothing to fill: no {0} in the range has both ended and got contacts; nothing was released"
    )]
    NothingToFill(&'static str),

    /// `kitlog summary --html` before any month of the fiscal year with contacts ended.
    #[error(
        "there is nothing to summarise: no month of {0} with contacts has ended yet; nothing was released"
    )]
    NothingToSummarise(String),

    /// `--denominator` that is no number of people.
    #[error("--denominator is a number of people: write a number above 0")]
    DenominatorInvalid,

    /// A template that divides by a number only the coordinator knows.
    #[error("this form needs --denominator: {0}")]
    DenominatorNeeded(String),

    /// Importing the same sheet again would count everything twice.
    #[error(
        "this shift sheet was already imported as batch {0}; nothing was saved (void that batch first if it was wrong)"
    )]
    AlreadyImported(i64),

    /// A new shift while another is still unsaved: one draft at a time.
    #[error(
        "an unsaved shift is waiting; continue it with kitlog shift --resume, or throw it away with kitlog shift --discard"
    )]
    DraftOpen,

    /// The draft gained or lost lines (another window) between the summary and saving.
    #[error(
        "the shift changed while it was being saved (is it open in another window?); nothing was saved, type done again"
    )]
    DraftChanged,

    /// `--resume` or `--discard` with no draft.
    #[error("there is no unsaved shift; start one with kitlog shift")]
    NoDraft,

    /// Standard input ended in the middle of a shift; the draft keeps every line
    /// (`None`: it ended before the shift began, so there is no draft).
    #[error("the input ended before done; {}", kept_sentence(*.0))]
    ShiftInterrupted(Option<i64>),

    /// A script answered a yes-or-no question with something else.
    #[error("a yes-or-no question got another answer; {}", kept_sentence(*.0))]
    ShiftAnswerUnclear(Option<i64>),

    /// Ctrl-C at a shift prompt: the worker stopped on purpose, and is told where the
    /// typed lines are.
    #[error("stopped with Ctrl-C; {}", kept_sentence(*.0))]
    ShiftStopped(Option<i64>),

    /// `kitlog shift` with an empty catalogue of sites: there is nothing to choose.
    #[error("there are no sites yet; add one with kitlog site add NAME")]
    NoSites,

    /// The shift's date answer is not a date. (At a terminal this is printed and the
    /// question asked again; from a script it ends the shift.)
    #[error(
        "write the date as 2026-11-20, or today (Enter), yesterday, a weekday (friday), or a month and day (Nov 20, 20/11)"
    )]
    ShiftDateUnreadable,

    /// Two numbers that read as day/month and as month/day.
    #[error("that date reads two ways (day/month or month/day); write it as 2026-11-20 or Nov 20")]
    ShiftDateAmbiguous,

    /// The shift's date answer is after today.
    #[error("the date is in the future (today is {today})")]
    ShiftDateInFuture {
        /// Today.
        today: NaiveDate,
    },

    /// `kitlog month` with an argument that is not a month. Not echoed: whatever was
    /// typed there could be anything, a participant's code included.
    #[error("write the month as YYYY-MM, e.g. 2026-11, or leave it out for this month")]
    MonthUnreadable,

    /// `kitlog month` for a month that has not begun: it would list nothing, and an
    /// empty check could be read as "nothing is missing".
    #[error("{month} has not begun yet (today is {today}); check this month or an earlier one")]
    MonthNotBegun {
        /// The month asked for, `YYYY-MM`.
        month: String,
        /// Today.
        today: NaiveDate,
    },

    /// `kitlog worker add` with a label already listed.
    #[error("the worker label {0} is already listed; see kitlog worker list")]
    WorkerExists(String),

    /// A worker label that is not on the coordinator's list.
    /// Not echoed: a participant's code typed there was once stored in clear, and a
    /// message must not repeat one either.
    #[error(
        "that worker label is not on the program's list; see kitlog worker list, or ask the coordinator to add it (kitlog worker add)"
    )]
    WorkerNotListed,

    /// The shift's worker answer matches no listed worker.
    #[error("no worker of that label or number; press Enter for none")]
    ShiftWorkerUnknown,

    /// The shift's site answer matches no site in use.
    #[error("no site of that name or number")]
    ShiftSiteUnknown,

    /// The shift's site answer is the start of several sites' names.
    #[error("several sites start like that; type more of the name")]
    ShiftSiteAmbiguous,

    /// A write into a fiscal year that `close-year` closed.
    #[error(
        "{0} is closed (kitlog close-year): its codes are erased and its reports frozen, so nothing can be added to it or voided; nothing was saved"
    )]
    YearClosed(String),

    /// `close-year` before the year is over.
    #[error(
        "{year} runs until {last_day}; close a year only after it has ended and its reports are done"
    )]
    YearNotOver {
        /// The fiscal year's label.
        year: String,
        /// Its last day.
        last_day: NaiveDate,
    },

    /// `close-year` without a person to confirm it.
    #[error(
        "closing a year erases its codes for good; add --yes to confirm, or run it at a terminal"
    )]
    CloseNotConfirmed,

    /// `passphrase remove --rotate` on a program with several laptops.
    #[error(
        "the program key cannot be rotated once laptops are enrolled: they all share it; remove the passphrase without --rotate, and revoke a lost laptop with kitlog device revoke"
    )]
    RotationWithDevices,

    /// `send`, `receive` or `sync` on a program that has no devices.
    #[error(
        "this program lives on this laptop only: enrol another with kitlog device add LABEL first"
    )]
    NotEnrolled,

    /// A bundle's image is not what kitlog writes (checked after its seal opened).
    #[error(
        "the bundle opened but its content is not what kitlog writes; nothing of it was merged"
    )]
    BundleDamaged,

    /// A worker's bundle reached another worker, or the coordinator's reached itself.
    #[error("this bundle is not for this laptop")]
    BundleNotForThisDevice,

    /// `device add` with a label already in use.
    #[error("there is already a device called {0}; see kitlog device list")]
    DeviceExists(String),

    /// `device revoke` named no device.
    #[error("there is no device called {0}; see kitlog device list")]
    NoSuchDevice(String),

    /// `device revoke` named the coordinator.
    #[error("the coordinator's own laptop cannot be revoked")]
    CoordinatorNotRevocable,

    /// `device revoke` of a device already revoked.
    #[error("{0} is already revoked")]
    DeviceRevoked(String),

    /// A command only the coordinator may run, on a worker's laptop.
    #[error(
        "{0} is done on the coordinator's laptop: a worker's laptop holds only what the coordinator has not yet acknowledged, and follows the coordinator's decisions when its bundle arrives"
    )]
    CoordinatorOnly(&'static str),

    /// `device add` label is not a short name.
    #[error(
        "a device label is 1 to 24 letters, digits or dashes, like van-2; it names a laptop, never a person"
    )]
    InvalidDeviceLabel,

    /// `device join` on a file that is not an enrolment file, or one that is damaged.
    #[error("{} is not a kitlog enrolment file, or it was changed; ask the coordinator for a new one", .0.display())]
    NotAnEnrolment(PathBuf),

    /// The one-time passphrase did not open the enrolment file.
    #[error(
        "that one-time passphrase does not open this enrolment file; nothing was written (check it with the coordinator, letter by letter)"
    )]
    WrongEnrolmentPassphrase,

    /// Some bundles of a `receive` were refused.
    #[error(
        "{}",
        match (*.failed, *.total) {
            (1, 1) => "the bundle could not be merged (see above)".to_owned(),
            (f, t) if f == t => format!("none of the {t} bundles could be merged (see above)"),
            (f, t) => format!("{f} of {t} bundles could not be merged (see above); the others were"),
        }
    )]
    BundlesRefused {
        /// Bundles refused.
        failed: usize,
        /// Bundles read.
        total: usize,
    },

    /// `close-year` before every worker laptop has sent a bundle made after the year.
    #[error(
        "not closed: {devices} {} not sent a bundle made after {last_day}, so some of {year}'s contacts may still be on {}; run kitlog receive when they have, or close anyway with --force",
        if .count == &1 { "has" } else { "have" },
        if .count == &1 { "that laptop" } else { "those laptops" }
    )]
    DevicesNotHeardFrom {
        /// The year.
        year: String,
        /// Its last day.
        last_day: NaiveDate,
        /// Labels of the devices, comma-separated.
        devices: String,
        /// How many.
        count: usize,
    },

    /// `void --contact` on a worker's laptop, of a batch already at the coordinator.
    #[error(
        "batch {0} has reached the coordinator and its contacts were erased from this laptop; void the whole batch here (the void travels up), or ask the coordinator to void the one contact"
    )]
    ContactForwarded(i64),

    /// `void` named a batch that does not exist.
    #[error("there is no batch {0}; see kitlog batches")]
    NoSuchBatch(i64),

    /// `void --contact` named a contact the batch does not have.
    #[error("batch {batch} has no contact {contact}; it has {count}")]
    NoSuchContact {
        /// The batch.
        batch: i64,
        /// The contact number asked for.
        contact: i64,
        /// How many contacts the batch has.
        count: i64,
    },

    /// Voiding a batch twice would hide the first reason from the audit trail.
    #[error("batch {0} was already voided")]
    BatchAlreadyVoided(i64),

    /// Voiding a contact twice would hide the first reason from the audit trail.
    #[error("contact {contact} of batch {batch} was already voided")]
    ContactAlreadyVoided {
        /// The batch.
        batch: i64,
        /// The contact's number in it.
        contact: i64,
    },

    /// `passphrase add|change` off a terminal, without the new passphrase's variable.
    #[error(
        "a new passphrase is needed: run kitlog at a terminal, or set KITLOG_NEW_PASSPHRASE; nothing was saved"
    )]
    NoNewPassphrase,

    /// Two slots with one passphrase would make revoking one of them revoke nothing.
    #[error("the new passphrase already opens this program; choose another; nothing was saved")]
    PassphraseInUse,

    /// A key-slot label breaks the naming rule; a label names a slot, never a person.
    #[error(
        "a passphrase label is 1 to 24 lowercase letters, digits and dashes, starting with a letter (e.g. worker-jd)"
    )]
    InvalidSlotLabel,

    /// `passphrase add` with a label another slot has.
    #[error("there is already a passphrase labelled {0}; choose another label")]
    SlotLabelTaken(String),

    /// `passphrase change|remove` named a slot that does not exist.
    #[error("there is no passphrase labelled {0}; see kitlog passphrase list")]
    NoSuchSlot(String),

    /// Without a slot the program key, and with it every code, would be lost for good.
    #[error(
        "{0} is the only passphrase of this program; add another (kitlog passphrase add) before removing it"
    )]
    LastKeySlot(String),

    /// `backup` never overwrites: the file there may be the only good copy.
    #[error(
        "a file already exists at {}; kitlog backup never overwrites, so choose another name",
        .0.display()
    )]
    BackupExists(PathBuf),

    /// `check` found the file intact as SQLite sees it, but breaking kitlog's own rules:
    /// it was changed by something other than kitlog. Names the rules, never a value.
    #[error(
        "the program database breaks kitlog's rules ({}); it was changed outside kitlog: stop using it and restore the last backup (kitlog backup)",
        .0.join("; ")
    )]
    RulesBroken(Vec<&'static str>),
}

/// Most failures print one line; an import with several problems prints one per problem,
/// each starting with `error:` like the first, then says that nothing was saved.
fn render_problems(problems: &[Problem]) -> String {
    /// Beyond this a wrong file is the likelier story than many wrong cells.
    const SHOWN: usize = 50;
    let groups = group_problems(problems);
    let mut out = String::new();
    for group in groups.iter().take(SHOWN) {
        out.push_str(&group.to_string());
        out.push_str("\nerror: ");
    }
    let hidden: usize = groups.iter().skip(SHOWN).map(|g| g.lines.len()).sum();
    if hidden > 0 {
        let noun = if hidden == 1 { "problem" } else { "problems" };
        let _ = write!(out, "... and {hidden} more {noun}\nerror: ");
    }
    let _ = write!(
        out,
        "the shift sheet was not imported ({}); nothing was saved",
        Count::of(problems.len(), "problem")
    );
    out
}

/// A sheet's warnings, one line per distinct warning with its lines, each starting
/// `warning:`.
#[must_use]
pub fn render_warnings(warnings: &Warnings) -> String {
    let mut out = String::new();
    for group in group_problems(&warnings.kept) {
        let _ = writeln!(out, "warning: {group}");
    }
    let more = warnings.count - warnings.kept.len() as u64;
    if more > 0 {
        let _ = writeln!(
            out,
            "warning: ... and {} on later lines",
            Count(more, "more warning")
        );
    }
    out
}

/// One distinct problem (the same column and the same words) and every line it is on.
struct ProblemGroup {
    column: Option<String>,
    kind: String,
    lines: Vec<u64>,
}

impl fmt::Display for ProblemGroup {
    /// `lines 2 to 43, column "date": ...`, or `line 1: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&line_ranges(&self.lines))?;
        if let Some(column) = &self.column {
            write!(f, ", {column}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// A sheet re-saved with local settings repeats one mistake on every row, and 42
/// identical sentences hide it: each distinct problem is said once, with its lines.
/// Groups keep the order of their first line.
fn group_problems(problems: &[Problem]) -> Vec<ProblemGroup> {
    let mut groups: Vec<ProblemGroup> = Vec::new();
    for problem in problems {
        let column = problem.column.as_ref().map(ToString::to_string);
        let kind = problem.kind.to_string();
        match groups
            .iter_mut()
            .find(|g| g.column == column && g.kind == kind)
        {
            Some(group) => group.lines.push(problem.line),
            None => groups.push(ProblemGroup {
                column,
                kind,
                lines: vec![problem.line],
            }),
        }
    }
    groups
}

/// `line 4`, `lines 2 to 43`, `lines 2, 5 and 9 to 12`.
fn line_ranges(lines: &[u64]) -> String {
    let mut sorted = lines.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for line in sorted {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == line => *end = line,
            _ => ranges.push((line, line)),
        }
    }
    // Two lines in a row read better as "4 and 5" than as a range.
    let ranges: Vec<(u64, u64)> = ranges
        .into_iter()
        .flat_map(|(start, end)| {
            if end == start + 1 {
                vec![(start, start), (end, end)]
            } else {
                vec![(start, end)]
            }
        })
        .collect();
    let parts: Vec<String> = ranges
        .iter()
        .map(|(start, end)| {
            if start == end {
                start.to_string()
            } else {
                format!("{start} to {end}")
            }
        })
        .collect();
    let single = ranges.len() == 1 && ranges[0].0 == ranges[0].1;
    let mut out = String::from(if single { "line " } else { "lines " });
    match parts.split_last() {
        Some((last, [])) => out.push_str(last),
        Some((last, rest)) => {
            out.push_str(&rest.join(", "));
            out.push_str(" and ");
            out.push_str(last);
        }
        None => {}
    }
    out
}

/// A SQLite failure reduced to its kind. SQLite's own message can name tables,
/// constraints or, for some extensions, values; the kind alone is safe to print.
#[derive(Debug)]
pub struct DatabaseFailure(rusqlite::Error);

impl fmt::Display for DatabaseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self.0.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ReadOnly) => "the file is read-only",
            Some(rusqlite::ErrorCode::DiskFull) => "the disk is full",
            Some(rusqlite::ErrorCode::CannotOpen) => "the file cannot be opened",
            Some(rusqlite::ErrorCode::PermissionDenied) => "permission denied",
            Some(rusqlite::ErrorCode::SystemIoFailure) => "a disk read or write failed",
            Some(rusqlite::ErrorCode::ConstraintViolation) => "a record broke a rule of the schema",
            Some(_) => "SQLite refused the operation",
            None => "an unexpected answer from SQLite",
        };
        f.write_str(text)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                Error::Busy
            }
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                Error::Damaged
            }
            _ => Error::Database(DatabaseFailure(error)),
        }
    }
}

impl Error {
    /// An I/O failure on `path`, with the OS reason in plain words.
    pub fn file(action: &'static str, path: impl Into<PathBuf>, error: &std::io::Error) -> Self {
        let reason = match error.kind() {
            std::io::ErrorKind::NotFound => "it does not exist".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            std::io::ErrorKind::AlreadyExists => "it already exists".to_owned(),
            std::io::ErrorKind::IsADirectory => "it is a folder".to_owned(),
            kind => kind.to_string(),
        };
        Error::File {
            action,
            path: path.into(),
            reason,
        }
    }
}

/// What became of a shift that ended early: kept as a draft, or never begun.
fn kept_sentence(kept: Option<i64>) -> String {
    match kept {
        None => "nothing was saved".to_owned(),
        Some(count) => format!(
            "{} typed so far {} kept: kitlog shift --resume carries on",
            Count::of(count, "contact"),
            Count::of(count, "contact").verb_be()
        ),
    }
}

#[cfg(test)]
mod problem_tests {
    use super::*;
    use crate::import::ProblemKind;

    #[test]
    fn fifty_distinct_problems_are_shown_and_the_rest_counted() {
        let problems: Vec<Problem> = (0..60)
            .map(|n| Problem {
                line: n + 2,
                column: None,
                kind: ProblemKind::TooLarge {
                    max: u32::try_from(n).unwrap(),
                },
            })
            .collect();
        let text = render_problems(&problems);
        assert_eq!(text.lines().count(), 52);
        assert!(text.contains("line 51: more than 49 for one contact"));
        assert!(!text.contains("line 52:"));
        assert!(text.ends_with(
            "... and 10 more problems\nerror: the shift sheet was not imported (60 problems); nothing was saved"
        ));
    }

    #[test]
    fn lines_are_named_as_a_person_would() {
        for (lines, named) in [
            (vec![4], "line 4"),
            (vec![4, 5], "lines 4 and 5"),
            (vec![2, 3, 4], "lines 2 to 4"),
            (vec![9, 2, 3, 4, 6, 7], "lines 2 to 4, 6, 7 and 9"),
        ] {
            assert_eq!(line_ranges(&lines), named);
        }
    }
}
