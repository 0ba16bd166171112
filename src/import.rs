//! Reads a shift sheet (CSV) into contacts ready to save, or into the list of
//! every problem found, with line and column.
//!
//! Pure: reads `impl Read`, touches no database. Codes are hashed as each row is
//! read, so raw input never outlives its row. Problems never quote a cell: a code
//! typed into the wrong column would otherwise be echoed, so they name the rule
//! broken and where. Header names are echoed only once they matched the catalogue.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{BufRead, BufReader, Read};

use chrono::NaiveDate;

use crate::catalogue::{Catalogue, Category, Item, RESERVED_COLUMNS, Site, in_use_on};
use crate::code::{CodeMaker, CodeRefusal, RawIdentifier};
use crate::contact::{
    Contact, Counts, MAX_FOR_OTHERS, MAX_ITEM_QUANTITY, MAX_RETURNED, MAX_REVERSALS,
    NaloxoneReason, earliest_day,
};
use crate::fiscal::{DayError, parse_day};
use crate::text::Count;

/// Where a problem is: a named column once the header was understood, else its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// A column whose header matched the catalogue or a fixed column.
    Named(String),
    /// 1-based position, for headers that did not match anything.
    Position(usize),
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Named(name) => write!(f, "column \"{name}\""),
            Column::Position(position) => {
                write!(f, "column {position} ({})", spreadsheet_letters(*position))
            }
        }
    }
}

/// Spreadsheet column letters: 1 = A, 27 = AA.
fn spreadsheet_letters(mut position: usize) -> String {
    let mut letters = Vec::new();
    while position > 0 {
        let rem = (position - 1) % 26;
        letters.push(char::from(b'A' + u8::try_from(rem).expect("below 26")));
        position = (position - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// One thing wrong with a sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line of the file; the header is line 1.
    pub line: u64,
    /// The column, when the problem is in one cell.
    pub column: Option<Column>,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// What is wrong, in words that say what to do. No variant holds a cell's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// Nothing at all in the file.
    EmptyFile,
    /// A header and no rows.
    NoContacts,
    /// Bytes that are not UTF-8 text.
    NotUtf8,
    /// Quoting the CSV reader could not follow.
    NotCsv,
    /// The first line holds a date: the header row is missing.
    HeaderLooksLikeData,
    /// A header that is not an item or fixed column; maybe a near miss.
    UnknownColumn {
        /// A catalogue item or fixed column one or two letters away.
        suggestion: Option<String>,
    },
    /// A column that appears twice.
    RepeatedColumn {
        /// Position of its first appearance.
        first: usize,
    },
    /// Values under a header cell that is empty.
    UnnamedColumn,
    /// No date column and no `--date`.
    NoDateColumn,
    /// No site column and no `--site`.
    NoSiteColumn,
    /// A row with fewer or more cells than the header.
    WrongCellCount {
        /// Cells in the row.
        found: usize,
        /// Cells in the header.
        expected: usize,
    },
    /// Empty date cell and no `--date`.
    MissingDate,
    /// Not in the form YYYY-MM-DD.
    NotADate,
    /// A date written `16.11.2026`: day, month, year, with dots.
    DayMonthYearDate,
    /// Right form, but no such day (2026-02-30).
    ImpossibleDate,
    /// Before 1990: a dropped or mistyped digit in the year.
    ImplausibleDate,
    /// Warning: more than a year before the program was made.
    LongBeforeProgram {
        /// The day the program was made.
        made_on: NaiveDate,
    },
    /// Warning: a code of one to three digits alone, likely a count in the wrong column.
    NumberAsCode,
    /// Warning: a code a spreadsheet turned into a number (`1.00E+05`): the real code
    /// is lost.
    SpreadsheetNumberAsCode,
    /// After today.
    FutureDate {
        /// Today, to make the mistake obvious.
        today: NaiveDate,
    },
    /// Empty site cell and no `--site`.
    MissingSite,
    /// A site the catalogue does not have; maybe a near miss.
    UnknownSite {
        /// A catalogue site one or two letters away.
        suggestion: Option<String>,
    },
    /// A site retired on or before the contact's day.
    RetiredSite {
        /// Retirement day.
        on: NaiveDate,
    },
    /// An item retired on or before the contact's day.
    RetiredItem {
        /// Retirement day.
        on: NaiveDate,
    },
    /// Not a whole number.
    NotAWholeNumber,
    /// Below zero.
    Negative,
    /// Above the column's limit.
    TooLarge {
        /// The limit.
        max: u32,
    },
    /// The code input broke a rule.
    Code(CodeRefusal),
    /// Not one of the naloxone reasons.
    UnknownReason,
    /// A reason on a row without naloxone.
    ReasonWithoutNaloxone,
    /// A row with no code, no item and no count.
    NothingRecorded,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(column) = &self.column {
            write!(f, ", {column}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl ProblemKind {
    /// Whether this is a warning: likely a mistake, but possible, so the worker
    /// confirms the sheet instead of fixing it.
    #[must_use]
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            ProblemKind::LongBeforeProgram { .. }
                | ProblemKind::NumberAsCode
                | ProblemKind::SpreadsheetNumberAsCode
        )
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::EmptyFile => f.write_str(
                "the file is empty; export the shift sheet as CSV with a header row such as date,site,code,injection-kit",
            ),
            ProblemKind::NoContacts => f.write_str("the sheet has a header but no contacts"),
            ProblemKind::NotUtf8 => f.write_str(
                "this is not UTF-8 text; save the sheet as \"CSV UTF-8\" from the spreadsheet",
            ),
            ProblemKind::NotCsv => {
                f.write_str("this line could not be read as CSV; check for a stray quote mark")
            }
            ProblemKind::HeaderLooksLikeData => f.write_str(
                "the first line looks like data; the first line must name the columns (date,site,code,...)",
            ),
            ProblemKind::UnknownColumn { suggestion } => {
                f.write_str(
                    "not a catalogue item, nor date, site, code, reversals, for_others, returned or naloxone_reason",
                )?;
                match suggestion {
                    Some(name) => write!(f, "; did you mean {name}?"),
                    None => f.write_str("; see kitlog item list"),
                }
            }
            ProblemKind::RepeatedColumn { first } => write!(
                f,
                "the column appears twice (first as column {first}); keep one"
            ),
            ProblemKind::UnnamedColumn => {
                f.write_str("a column with values has no name in the header row")
            }
            ProblemKind::NoDateColumn => {
                f.write_str("there is no date column; add one, or give the day with --date")
            }
            ProblemKind::NoSiteColumn => {
                f.write_str("there is no site column; add one, or give the site with --site")
            }
            ProblemKind::WrongCellCount { found, expected } => write!(
                f,
                "the line has {} but the header has {expected}",
                Count::of(*found, "cell")
            ),
            ProblemKind::MissingDate => {
                f.write_str("the date is empty; fill it in, or give the day with --date")
            }
            ProblemKind::NotADate => {
                f.write_str("not a date; write dates as YYYY-MM-DD, e.g. 2026-11-20")
            }
            ProblemKind::DayMonthYearDate => f.write_str(
                "the date is written day.month.year (16.11.2026), as a spreadsheet does when it re-saves a sheet with local settings; save it with dates as YYYY-MM-DD (2026-11-16), or format the date column as text before saving",
            ),
            ProblemKind::ImpossibleDate => f.write_str("no such day in the calendar"),
            ProblemKind::ImplausibleDate => {
                f.write_str("the year is before 1990; check for a missing or wrong digit")
            }
            ProblemKind::FutureDate { today } => {
                write!(f, "the date is in the future (today is {today})")
            }
            ProblemKind::LongBeforeProgram { made_on } => write!(
                f,
                "the date is more than a year before this program was made ({made_on}); check the year"
            ),
            ProblemKind::NumberAsCode => f.write_str(
                "the code is a small number alone; is it a count typed in the code column?",
            ),
            ProblemKind::SpreadsheetNumberAsCode => f.write_str(
                "the code looks turned into a number by a spreadsheet (like 1.00E+05), so the real code is lost: saved, the contact counts as anonymous; format the code column as text",
            ),
            ProblemKind::MissingSite => {
                f.write_str("the site is empty; fill it in, or give the site with --site")
            }
            ProblemKind::UnknownSite { suggestion } => match suggestion {
                Some(name) => write!(f, "no site of that name; did you mean {name}?"),
                None => f.write_str(
                    "no site of that name; see kitlog site list, or add it with kitlog site add",
                ),
            },
            ProblemKind::RetiredSite { on } => {
                write!(f, "the site was retired on {on}, on or before this contact")
            }
            ProblemKind::RetiredItem { on } => {
                write!(f, "the item was retired on {on}, on or before this contact")
            }
            ProblemKind::NotAWholeNumber => f.write_str(
                "not a whole number; write a count such as 3, or leave the cell empty for 0",
            ),
            ProblemKind::Negative => f.write_str("a count cannot be negative"),
            ProblemKind::TooLarge { max } => {
                write!(f, "more than {max} for one contact; check the cell")
            }
            ProblemKind::Code(refusal) => refusal.fmt(f),
            ProblemKind::UnknownReason => f.write_str(
                "not a naloxone reason; use first, used, lost, stolen, confiscated, expired or other",
            ),
            ProblemKind::ReasonWithoutNaloxone => {
                f.write_str("a naloxone reason is given but no naloxone was handed out on this line")
            }
            ProblemKind::NothingRecorded => f.write_str(
                "the line records nothing (no code, item or count); delete it or fill it in",
            ),
        }
    }
}

/// What the command line adds to a sheet.
#[derive(Debug, Clone, Copy)]
pub struct SheetDefaults<'a> {
    /// Site for rows without one (`--site`).
    pub site: Option<&'a Site>,
    /// Day for rows without one (`--date`).
    pub date: Option<NaiveDate>,
    /// Dates after this are refused.
    pub today: NaiveDate,
    /// The day the program was made: a date more than a year before it is warned of.
    pub made_on: Option<NaiveDate>,
}

/// A sheet's warnings: the first ones kept, to say with their lines, and all of them
/// counted. A sheet of a million rows warned on every one holds no million problems.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings {
    /// The first [`Warnings::KEPT`], in line order.
    pub kept: Vec<Problem>,
    /// Every warning of the sheet.
    pub count: u64,
}

impl Warnings {
    /// How many are kept to be said line by line.
    pub const KEPT: usize = 500;

    fn add(&mut self, more: Vec<Problem>) {
        self.count += more.len() as u64;
        let room = Self::KEPT.saturating_sub(self.kept.len());
        self.kept.extend(more.into_iter().take(room));
    }

    /// No warning at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// A sheet read through without problems.
#[derive(Debug, Default)]
pub struct SheetRead {
    /// Contacts read.
    pub contacts: u64,
    /// What looks wrong but may be right, for the worker to confirm.
    pub warnings: Warnings,
}

/// Why a sheet was not read through.
#[derive(Debug)]
pub enum SheetError<E> {
    /// The sheet has problems, every one of them; nothing from it may be kept.
    Problems(Vec<Problem>),
    /// The sink could not take a contact; reading stopped there.
    Sink(E),
}

/// Appends the bytes of `contact` to a sheet's canonical content: a byte string that is
/// equal for two sheets exactly when they record the same contacts, whatever their
/// quoting, line endings or column order. Holds codes, so it is only ever fed to a keyed
/// digest. The layout is frozen: digests of sheets imported by earlier versions must
/// still match, or the same sheet could be imported twice.
pub fn append_canonical(contact: &Contact, out: &mut Vec<u8>) {
    use std::io::Write as _;
    write!(out, "{}", contact.day).expect("writing to a Vec cannot fail");
    out.extend_from_slice(&contact.site_id.to_be_bytes());
    match &contact.code {
        Some(code) => {
            out.push(1);
            out.extend_from_slice(code.as_bytes());
        }
        None => out.push(0),
    }
    out.extend_from_slice(&(contact.counts.items.len() as u64).to_be_bytes());
    // Item lines in item order, so column order does not matter. `read_sheet` hands
    // them over sorted already; only other callers pay for a sorted copy.
    let sorted;
    let items = if contact.counts.items.is_sorted() {
        &contact.counts.items
    } else {
        let mut copy = contact.counts.items.clone();
        copy.sort_unstable();
        sorted = copy;
        &sorted
    };
    for (item, quantity) in items {
        out.extend_from_slice(&item.to_be_bytes());
        out.extend_from_slice(&quantity.to_be_bytes());
    }
    for count in [
        contact.counts.reversals,
        contact.counts.for_others,
        contact.counts.returned,
    ] {
        out.extend_from_slice(&count.to_be_bytes());
    }
    out.push(contact.counts.naloxone_reason.map_or(0, |r| r as u8 + 1));
}

/// What one header cell means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    Date,
    Site,
    Code,
    Reversals,
    ForOthers,
    Returned,
    NaloxoneReason,
    /// Index into the catalogue's items.
    Item(usize),
    /// Not a known column: reported once at the header, its cells are not read.
    Unknown,
    /// An empty header cell: fine as long as the cells under it are empty too.
    Unnamed,
}

/// The fields of the sheet's fixed columns, in [`RESERVED_COLUMNS`] order: the
/// catalogue keeps the names (no item may take one), the sheet reader their meaning.
const FIXED_FIELDS: [Field; RESERVED_COLUMNS.len()] = [
    Field::Date,
    Field::Site,
    Field::Code,
    Field::Reversals,
    Field::ForOthers,
    Field::Returned,
    Field::NaloxoneReason,
];

/// Each fixed column's name, as problems name it, with its field.
fn fixed_columns() -> impl Iterator<Item = (&'static str, Field)> {
    RESERVED_COLUMNS.into_iter().zip(FIXED_FIELDS)
}

/// Header text compared loosely: case, spaces, `_` and `-` do not matter.
fn header_key(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == '_' || c == ' ' { '-' } else { c })
        .collect()
}

/// Reads a whole sheet, handing each contact to `sink` as soon as its row is read, in
/// file order, with its item lines sorted by item. `Ok` (the number of contacts) only
/// when every row passed every check.
///
/// Nothing is held but the row being read, so a sheet of any size reads in constant
/// memory. `sink` is called only while no problem has been found; after the first, the
/// rest of the sheet is still read, so that every problem is reported at once. What the
/// sink received is provisional until `Ok`: the import writes it inside a transaction
/// and rolls that back on any error, so a sheet is still saved whole or not at all.
pub fn read_sheet<E>(
    input: impl Read,
    catalogue: &Catalogue,
    defaults: SheetDefaults<'_>,
    codes: &mut CodeMaker<'_>,
    mut sink: impl FnMut(&Contact) -> Result<(), E>,
) -> Result<SheetRead, SheetError<E>> {
    let mut input = BufReader::with_capacity(64 * 1024, input);
    let delimiter = sniff_delimiter(&mut input);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(LineTracker::new(input));
    let mut problems = Vec::new();
    let mut record = csv::ByteRecord::new();

    let header = loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => {
                return Err(SheetError::Problems(vec![Problem {
                    line: 1,
                    column: None,
                    kind: ProblemKind::EmptyFile,
                }]));
            }
            Err(error) => {
                return Err(SheetError::Problems(vec![csv_problem(
                    &mut reader,
                    &error,
                    1,
                )]));
            }
            Ok(true) if is_blank(&record) => {}
            Ok(true) => break record.clone(),
        }
    };
    let header_line = line_of(&mut reader, &header, 1);
    let Some(fields) = read_header(&header, header_line, catalogue, defaults, &mut problems) else {
        return Err(SheetError::Problems(problems));
    };

    let mut contacts = 0u64;
    let mut warnings = Warnings::default();
    let mut line = header_line;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                problems.push(csv_problem(&mut reader, &error, line + 1));
                // The reader cannot resynchronise reliably after broken quoting.
                break;
            }
        }
        line = line_of(&mut reader, &record, line + 1);
        if is_blank(&record) {
            continue;
        }
        let row = RowReader {
            line,
            fields: &fields,
            catalogue,
            defaults,
        };
        match row.read(&record, codes) {
            Ok((mut contact, row_warnings)) => {
                contacts += 1;
                warnings.add(row_warnings);
                if problems.is_empty() {
                    contact.counts.items.sort_unstable();
                    sink(&contact).map_err(SheetError::Sink)?;
                }
            }
            Err(mut row_problems) => problems.append(&mut row_problems),
        }
    }

    if contacts == 0 && problems.is_empty() {
        problems.push(Problem {
            line: header_line,
            column: None,
            kind: ProblemKind::NoContacts,
        });
    }
    if problems.is_empty() {
        Ok(SheetRead { contacts, warnings })
    } else {
        Err(SheetError::Problems(problems))
    }
}

/// What a code cell looks like when it is likely not a code: a count of one to three
/// digits typed in the wrong column, or a long number a spreadsheet rewrote in
/// scientific notation (`1.00E+05`, `1,2E+07`). Looks at the cell only, never keeps it.
fn code_warning(text: &str) -> Option<ProblemKind> {
    let bytes = text.as_bytes();
    if (1..=3).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_digit) {
        return Some(ProblemKind::NumberAsCode);
    }
    let (mantissa, exponent) = text.split_once(['E', 'e'])?;
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    let mantissa_ok = !mantissa.is_empty()
        && mantissa.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && mantissa
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',');
    let exponent_ok = !exponent.is_empty() && exponent.bytes().all(|b| b.is_ascii_digit());
    (mantissa_ok && exponent_ok).then_some(ProblemKind::SpreadsheetNumberAsCode)
}

/// Spreadsheets in many European locales save "CSV" with semicolons, and some tools
/// write tabs. The header tells: a first line with no comma but semicolons (or
/// tabs) is read with that separator.
fn sniff_delimiter(input: &mut impl BufRead) -> u8 {
    let Ok(head) = input.fill_buf() else {
        return b',';
    };
    let first_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    // One short line, once per file: a dependency for counting bytes would not pay.
    #[expect(clippy::naive_bytecount, reason = "one header line")]
    let count = |wanted: u8| first_line.iter().filter(|b| **b == wanted).count();
    match (count(b','), count(b';'), count(b'\t')) {
        (0, semicolons, _) if semicolons > 0 => b';',
        (0, 0, tabs) if tabs > 0 => b'\t',
        _ => b',',
    }
}

/// Counts lines as the CSV reader pulls bytes, by byte offset, so that a record's
/// line comes from where its bytes are, not from the csv crate's own line count: that
/// count is one too low after a CRLF header on some sheets and stays at 1 for a sheet
/// saved with bare CR line ends ("CSV (Macintosh)"), an open csv bug
/// (BurntSushi/rust-csv#395). `\n`, `\r\n` and a lone `\r` each end a line.
///
/// It keeps only the lines the reader has pulled but not yet asked about (its
/// read-ahead), so memory stays flat however long the sheet is. Empty lines are
/// remembered too: a record after blank lines starts, for the csv crate, at the
/// first blank one, and a worker looking for "line 5" must find it on line 5.
struct LineTracker<R> {
    inner: R,
    /// Bytes pulled so far.
    offset: u64,
    /// The lines started and not yet passed by a question, oldest first.
    lines: VecDeque<LineStart>,
    /// The last byte pulled was `\r`: a `\n` next is part of the same line end.
    after_cr: bool,
    /// The current line has had a byte other than a line end.
    content: bool,
}

/// Where a line starts, its number, and whether it turned out empty.
#[derive(Debug, Clone, Copy)]
struct LineStart {
    offset: u64,
    number: u64,
    /// `None` while the line is still being pulled.
    empty: Option<bool>,
}

impl<R> LineTracker<R> {
    fn new(inner: R) -> Self {
        LineTracker {
            inner,
            offset: 0,
            lines: VecDeque::from([LineStart {
                offset: 0,
                number: 1,
                empty: None,
            }]),
            after_cr: false,
            content: false,
        }
    }

    /// The line of the first non-empty line at or after byte `offset`: where a record
    /// the reader says starts there really starts. Forgets the lines before it.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut index = self
            .lines
            .partition_point(|line| line.offset <= offset)
            .saturating_sub(1);
        while self.lines[index].empty == Some(true) && index + 1 < self.lines.len() {
            index += 1;
        }
        self.lines.drain(..index);
        self.lines[0].number
    }

    fn end_line(&mut self, next_offset: u64) {
        let last = self.lines.back_mut().expect("always a current line");
        last.empty = Some(!self.content);
        self.content = false;
        let number = last.number + 1;
        self.lines.push_back(LineStart {
            offset: next_offset,
            number,
            empty: None,
        });
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        for byte in &buf[..read] {
            self.offset += 1;
            match byte {
                b'\r' => {
                    self.end_line(self.offset);
                    self.after_cr = true;
                }
                // The `\n` of a `\r\n` ends nothing more. The next line is taken to
                // start at it, not after it: the csv crate puts the start of the
                // record that follows a `\r\n` there.
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' => self.end_line(self.offset),
                _ => {
                    self.after_cr = false;
                    self.content = true;
                }
            }
        }
        Ok(read)
    }
}

/// The true line of `record`, or `fallback` when the reader gave no position.
fn line_of<R: Read>(
    reader: &mut csv::Reader<LineTracker<R>>,
    record: &csv::ByteRecord,
    fallback: u64,
) -> u64 {
    record.position().map_or(fallback, |position| {
        reader.get_mut().line_at(position.byte())
    })
}

fn csv_problem<R: Read>(
    reader: &mut csv::Reader<LineTracker<R>>,
    error: &csv::Error,
    fallback_line: u64,
) -> Problem {
    let line = error.position().map_or(fallback_line, |position| {
        reader.get_mut().line_at(position.byte())
    });
    let kind = match error.kind() {
        csv::ErrorKind::Utf8 { .. } => ProblemKind::NotUtf8,
        _ => ProblemKind::NotCsv,
    };
    Problem {
        line,
        column: None,
        kind,
    }
}

/// `16.11.2026` or `16.11.26`: the shape a spreadsheet gives dates when it re-saves a
/// sheet with European local settings. Said so, instead of "not a date", so the
/// fix is obvious.
fn looks_day_month_year(text: &str) -> bool {
    let parts: Vec<&str> = text.trim().split('.').collect();
    matches!(parts.as_slice(), [d, m, y]
        if (1..=2).contains(&d.len()) && (1..=2).contains(&m.len())
            && matches!(y.len(), 2 | 4)
            && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())))
}

/// A cell spanning lines: in a tally sheet, only ever a quote mark left open, which
/// swallows the rows after it.
fn has_line_break(cell: &[u8]) -> bool {
    cell.iter().any(|b| *b == b'\n' || *b == b'\r')
}

/// A row of empty cells: what spreadsheets write for formatted but unused rows.
fn is_blank(record: &csv::ByteRecord) -> bool {
    record.iter().all(|cell| cell.trim_ascii().is_empty())
}

/// Understands the header row; `None` when it is unusable and rows cannot be read.
fn read_header(
    header: &csv::ByteRecord,
    line: u64,
    catalogue: &Catalogue,
    defaults: SheetDefaults<'_>,
    problems: &mut Vec<Problem>,
) -> Option<Vec<Field>> {
    if header.iter().any(has_line_break) {
        problems.push(Problem {
            line,
            column: None,
            kind: ProblemKind::NotCsv,
        });
        return None;
    }
    // NUL bytes are valid UTF-8 but never in a sheet: they are the mark of UTF-16.
    let Ok(names) = header
        .iter()
        .map(|cell| match std::str::from_utf8(cell) {
            Ok(text) if !text.contains('\0') => Ok(text.to_owned()),
            _ => Err(()),
        })
        .collect::<Result<Vec<_>, _>>()
    else {
        problems.push(Problem {
            line,
            column: None,
            kind: ProblemKind::NotUtf8,
        });
        return None;
    };
    if names
        .iter()
        .any(|name| parse_day(name.trim()) != Err(DayError::NotADate) || name.contains('@'))
    {
        problems.push(Problem {
            line,
            column: None,
            kind: ProblemKind::HeaderLooksLikeData,
        });
        return None;
    }

    let mut seen: HashMap<Field, usize> = HashMap::new();
    let mut fields = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let position = index + 1;
        let key = header_key(name);
        let field = if key.is_empty() {
            Field::Unnamed
        } else if let Some((_, field)) = fixed_columns().find(|(name, _)| header_key(name) == key) {
            field
        } else if let Some(item) = catalogue
            .items
            .iter()
            .position(|item| header_key(&item.name) == key || item.synonyms.contains(&key))
        {
            // The program's own words for an item head its column too (`Narcan`).
            Field::Item(item)
        } else {
            problems.push(Problem {
                line,
                column: Some(Column::Position(position)),
                kind: ProblemKind::UnknownColumn {
                    suggestion: suggest(&key, catalogue),
                },
            });
            Field::Unknown
        };
        if !matches!(field, Field::Unknown | Field::Unnamed) {
            if let Some(first) = seen.insert(field, position) {
                problems.push(Problem {
                    line,
                    column: Some(Column::Position(position)),
                    kind: ProblemKind::RepeatedColumn { first },
                });
            }
        }
        fields.push(field);
    }
    if defaults.date.is_none() && !fields.contains(&Field::Date) {
        problems.push(Problem {
            line,
            column: None,
            kind: ProblemKind::NoDateColumn,
        });
    }
    if defaults.site.is_none() && !fields.contains(&Field::Site) {
        problems.push(Problem {
            line,
            column: None,
            kind: ProblemKind::NoSiteColumn,
        });
    }
    Some(fields)
}

/// A known column name one or two edits from `key`, to catch typos like `stem-pipes`.
fn suggest(key: &str, catalogue: &Catalogue) -> Option<String> {
    closest(
        key,
        RESERVED_COLUMNS
            .iter()
            .map(|name| (*name).to_owned())
            .chain(catalogue.items.iter().map(|item| item.name.clone())),
    )
}

/// The candidate one or two edits from `typed` (compared loosely, as headers are).
/// Only ever returns a catalogue name, so a suggestion cannot echo what was typed.
fn closest(typed: &str, candidates: impl Iterator<Item = String>) -> Option<String> {
    candidates
        .map(|name| (edit_distance(&header_key(typed), &header_key(&name)), name))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// Levenshtein distance; names are short, so the quadratic table is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// What a row turned out to hold, for the checks that span cells.
#[derive(Debug, Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "four independent facts about one row"
)]
struct Seen {
    code: bool,
    unknown: bool,
    reason: bool,
    naloxone: bool,
}

/// Reads one data row against the understood header.
struct RowReader<'a> {
    line: u64,
    fields: &'a [Field],
    catalogue: &'a Catalogue,
    defaults: SheetDefaults<'a>,
}

impl RowReader<'_> {
    /// A column by name when its header was understood, else by position (only used
    /// for a column that is neither fixed nor an item).
    fn column(&self, field: Field, position: usize) -> Column {
        let name = match field {
            Field::Item(index) => &self.catalogue.items[index].name,
            Field::Unknown | Field::Unnamed => return Column::Position(position),
            fixed => fixed_columns()
                .find(|(_, field)| *field == fixed)
                .map_or("?", |(name, _)| name),
        };
        Column::Named(name.to_owned())
    }

    fn problem(&self, problems: &mut Vec<Problem>, column: Column, kind: ProblemKind) {
        problems.push(Problem {
            line: self.line,
            column: Some(column),
            kind,
        });
    }

    fn read(
        &self,
        record: &csv::ByteRecord,
        codes: &mut CodeMaker<'_>,
    ) -> Result<(Contact, Vec<Problem>), Vec<Problem>> {
        let mut problems = Vec::new();
        if record.iter().any(has_line_break) {
            problems.push(Problem {
                line: self.line,
                column: None,
                kind: ProblemKind::NotCsv,
            });
            return Err(problems);
        }
        let expected = self.fields.len();
        // Spreadsheets pad rows with empty cells past the last column; allow that.
        let extra_cells_empty = record
            .iter()
            .skip(expected)
            .all(|cell| cell.trim_ascii().is_empty());
        if record.len() < expected || !extra_cells_empty {
            problems.push(Problem {
                line: self.line,
                column: None,
                kind: ProblemKind::WrongCellCount {
                    found: record.len(),
                    expected,
                },
            });
            return Err(problems);
        }

        let mut cells: Vec<(Field, usize, &str)> = Vec::with_capacity(expected);
        for (index, (field, bytes)) in self.fields.iter().zip(record.iter()).enumerate() {
            if let Ok(text) = std::str::from_utf8(bytes) {
                cells.push((*field, index + 1, text.trim()));
            } else {
                problems.push(Problem {
                    line: self.line,
                    column: Some(self.column(*field, index + 1)),
                    kind: ProblemKind::NotUtf8,
                });
            }
        }

        let day = self.day(&cells, &mut problems);
        let site = self.site(&cells, day, &mut problems);

        let mut draft = Contact {
            day: day.unwrap_or(self.defaults.today),
            fiscal_year: codes.calendar().year_of(day.unwrap_or(self.defaults.today)),
            site_id: site.map_or(0, |s| s.id),
            code: None,
            counts: Counts::default(),
        };
        let seen = self.fill(&mut draft, &cells, day, codes, &mut problems);
        if seen.reason && !seen.naloxone && problems.is_empty() {
            self.problem(
                &mut problems,
                self.column(Field::NaloxoneReason, 0),
                ProblemKind::ReasonWithoutNaloxone,
            );
        }
        let records_something = seen.code
            || seen.unknown
            || !draft.counts.items.is_empty()
            || draft.counts.reversals + draft.counts.for_others + draft.counts.returned > 0;
        if !records_something && problems.is_empty() {
            problems.push(Problem {
                line: self.line,
                column: None,
                kind: ProblemKind::NothingRecorded,
            });
        }
        if problems.iter().all(|p| p.kind.is_warning()) {
            Ok((draft, problems))
        } else {
            Err(problems
                .into_iter()
                .filter(|p| !p.kind.is_warning())
                .collect())
        }
    }

    /// Reads the code and count cells into `draft`.
    fn fill(
        &self,
        draft: &mut Contact,
        cells: &[(Field, usize, &str)],
        day: Option<NaiveDate>,
        codes: &mut CodeMaker<'_>,
        problems: &mut Vec<Problem>,
    ) -> Seen {
        let mut seen = Seen::default();
        for &(field, position, text) in cells {
            match field {
                Field::Date | Field::Site => {}
                // Reported once at the header; a value here still means the row holds something.
                Field::Unknown => seen.unknown |= !text.is_empty(),
                Field::Unnamed => {
                    if !text.is_empty() {
                        self.problem(
                            problems,
                            Column::Position(position),
                            ProblemKind::UnnamedColumn,
                        );
                    }
                }
                Field::Code => {
                    let raw = RawIdentifier::new(text.to_owned());
                    if raw.is_blank() {
                        continue;
                    }
                    seen.code = true;
                    if let Some(warning) = code_warning(text) {
                        let lost = warning == ProblemKind::SpreadsheetNumberAsCode;
                        self.problem(problems, self.column(Field::Code, 0), warning);
                        if lost {
                            // The mantissa of different codes can be the same: hashed,
                            // it would merge different people into one participant.
                            continue;
                        }
                    }
                    let result = match day {
                        Some(day) => codes.code_for(&raw, day).map(Some),
                        None => codes.check(&raw).map(|()| None),
                    };
                    match result {
                        Ok(code) => draft.code = code,
                        Err(refusal) => self.problem(
                            problems,
                            self.column(Field::Code, 0),
                            ProblemKind::Code(refusal),
                        ),
                    }
                }
                Field::Reversals => {
                    draft.counts.reversals = self.count(text, field, MAX_REVERSALS, problems);
                }
                Field::ForOthers => {
                    draft.counts.for_others = self.count(text, field, MAX_FOR_OTHERS, problems);
                }
                Field::Returned => {
                    draft.counts.returned = self.count(text, field, MAX_RETURNED, problems);
                }
                Field::NaloxoneReason => {
                    if text.is_empty() {
                        continue;
                    }
                    seen.reason = true;
                    match NaloxoneReason::parse(text) {
                        Some(reason) => draft.counts.naloxone_reason = Some(reason),
                        None => self.problem(
                            problems,
                            self.column(Field::NaloxoneReason, 0),
                            ProblemKind::UnknownReason,
                        ),
                    }
                }
                Field::Item(index) => {
                    let item = &self.catalogue.items[index];
                    let quantity = self.count(text, field, MAX_ITEM_QUANTITY, problems);
                    if quantity == 0 {
                        continue;
                    }
                    if let Some(day) = day {
                        self.check_item_in_use(item, day, problems);
                    }
                    seen.naloxone |= item.category == Category::Naloxone;
                    draft.counts.items.push((item.id, quantity));
                }
            }
        }

        seen
    }

    fn day(
        &self,
        cells: &[(Field, usize, &str)],
        problems: &mut Vec<Problem>,
    ) -> Option<NaiveDate> {
        let text = cells
            .iter()
            .find(|(field, _, _)| *field == Field::Date)
            .map_or("", |(_, _, text)| *text);
        let column = || self.column(Field::Date, 0);
        if text.is_empty() {
            if self.defaults.date.is_none() && self.fields.contains(&Field::Date) {
                self.problem(problems, column(), ProblemKind::MissingDate);
            }
            return self.defaults.date;
        }
        let day = match parse_day(text) {
            Ok(day) => day,
            Err(DayError::NotADate) if looks_day_month_year(text) => {
                self.problem(problems, column(), ProblemKind::DayMonthYearDate);
                return None;
            }
            Err(DayError::NotADate) => {
                self.problem(problems, column(), ProblemKind::NotADate);
                return None;
            }
            Err(DayError::NoSuchDay) => {
                self.problem(problems, column(), ProblemKind::ImpossibleDate);
                return None;
            }
        };
        if day < earliest_day() {
            self.problem(problems, column(), ProblemKind::ImplausibleDate);
            return None;
        }
        if let Some(made_on) = self.defaults.made_on {
            if made_on
                .checked_sub_days(chrono::Days::new(366))
                .is_some_and(|y| day < y)
            {
                self.problem(
                    problems,
                    column(),
                    ProblemKind::LongBeforeProgram { made_on },
                );
            }
        }
        if day > self.defaults.today {
            self.problem(
                problems,
                column(),
                ProblemKind::FutureDate {
                    today: self.defaults.today,
                },
            );
            return None;
        }
        Some(day)
    }

    fn site(
        &self,
        cells: &[(Field, usize, &str)],
        day: Option<NaiveDate>,
        problems: &mut Vec<Problem>,
    ) -> Option<&Site> {
        let text = cells
            .iter()
            .find(|(field, _, _)| *field == Field::Site)
            .map_or("", |(_, _, text)| *text);
        let column = || self.column(Field::Site, 0);
        let site = if text.is_empty() {
            if self.defaults.site.is_none() && self.fields.contains(&Field::Site) {
                self.problem(problems, column(), ProblemKind::MissingSite);
            }
            self.defaults.site?
        } else {
            let typed = text.to_ascii_lowercase();
            let Some(site) = self.catalogue.site(&typed) else {
                let suggestion =
                    closest(&typed, self.catalogue.sites.iter().map(|s| s.name.clone()));
                self.problem(problems, column(), ProblemKind::UnknownSite { suggestion });
                return None;
            };
            site
        };
        if let (Some(day), Some(on)) = (day, site.retired_on) {
            if !in_use_on(Some(on), day) {
                self.problem(problems, column(), ProblemKind::RetiredSite { on });
            }
        }
        Some(site)
    }

    fn check_item_in_use(&self, item: &Item, day: NaiveDate, problems: &mut Vec<Problem>) {
        if let Some(on) = item.retired_on {
            if !in_use_on(Some(on), day) {
                self.problem(
                    problems,
                    Column::Named(item.name.clone()),
                    ProblemKind::RetiredItem { on },
                );
            }
        }
    }

    /// A count cell: empty is 0; otherwise a whole number from 0 to `max`.
    fn count(&self, text: &str, field: Field, max: u32, problems: &mut Vec<Problem>) -> u32 {
        if text.is_empty() {
            return 0;
        }
        let column = || self.column(field, 0);
        let digits = text.strip_prefix('+').unwrap_or(text);
        if let Some(rest) = text.strip_prefix('-') {
            if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
                self.problem(problems, column(), ProblemKind::Negative);
                return 0;
            }
        }
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            self.problem(problems, column(), ProblemKind::NotAWholeNumber);
            return 0;
        }
        match digits.parse::<u32>() {
            Ok(value) if value <= max => value,
            _ => {
                self.problem(problems, column(), ProblemKind::TooLarge { max });
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;

    use super::*;
    use crate::fiscal::FiscalCalendar;
    use crate::keys::ProgramKey;

    fn catalogue() -> Catalogue {
        Catalogue {
            sites: vec![Site {
                id: 1,
                name: "van".into(),
                retired_on: None,
            }],
            items: vec![
                Item {
                    id: 10,
                    name: "injection-kit".into(),
                    category: Category::Injection,
                    unit: "kit".into(),
                    alias: None,
                    synonyms: Vec::new(),
                    retired_on: None,
                },
                Item {
                    id: 7,
                    name: "stem-pipe".into(),
                    category: Category::Smoking,
                    unit: "pipe".into(),
                    alias: None,
                    synonyms: Vec::new(),
                    retired_on: None,
                },
            ],
        }
    }

    /// Reads `sheet`, collecting what the sink was handed.
    fn read(sheet: &str) -> (Result<u64, Vec<Problem>>, Vec<Contact>) {
        let key = ProgramKey::generate(&SystemRandom::new()).unwrap();
        let mut codes = CodeMaker::new(&key, FiscalCalendar::default(), None);
        let catalogue = catalogue();
        let defaults = SheetDefaults {
            site: None,
            date: None,
            today: "2026-11-22".parse().unwrap(),
            made_on: None,
        };
        let mut seen = Vec::new();
        let result = read_sheet(sheet.as_bytes(), &catalogue, defaults, &mut codes, |c| {
            seen.push(c.clone());
            Ok::<(), ()>(())
        })
        .map(|read| read.contacts)
        .map_err(|e| match e {
            SheetError::Problems(problems) => problems,
            SheetError::Sink(()) => unreachable!(),
        });
        (result, seen)
    }

    #[test]
    fn contacts_stream_out_in_order_with_items_sorted() {
        let (result, seen) = read(
            "date,site,code,injection-kit,stem-pipe\n\
             2026-11-20,van,SYNAAA111,2,1\n\
             2026/11/21,van,,,3\n",
        );
        assert_eq!(result, Ok(2));
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].counts.items, vec![(7, 1), (10, 2)]);
        assert!(seen[0].code.is_some());
        assert_eq!(seen[1].day.to_string(), "2026-11-21");
        assert_eq!(seen[1].counts.items, vec![(7, 3)]);
    }

    #[test]
    fn the_sink_stops_at_the_first_problem_but_every_problem_is_found() {
        let (result, seen) = read(
            "date,site,code,injection-kit\n\
             2026-11-20,van,,1\n\
             2026-02-30,van,,1\n\
             2026-11-20,van,,1\n\
             2026-11-20,van,,three\n",
        );
        let problems = result.unwrap_err();
        assert_eq!(
            problems.iter().map(|p| p.line).collect::<Vec<_>>(),
            vec![3, 5]
        );
        assert_eq!(
            seen.len(),
            1,
            "nothing after the first problem reaches the sink"
        );
    }

    /// The canonical layout as version 0.1 wrote it, kept verbatim: a sheet imported
    /// before streaming must give the same digest after, or it could be imported twice.
    fn canonical_as_in_0_1(contacts: &[Contact]) -> Vec<u8> {
        let mut out = Vec::new();
        for contact in contacts {
            out.extend_from_slice(contact.day.to_string().as_bytes());
            out.extend_from_slice(&contact.site_id.to_be_bytes());
            match &contact.code {
                Some(code) => {
                    out.push(1);
                    out.extend_from_slice(code.as_bytes());
                }
                None => out.push(0),
            }
            let mut items = contact.counts.items.clone();
            items.sort_unstable();
            out.extend_from_slice(&(items.len() as u64).to_be_bytes());
            for (item, quantity) in items {
                out.extend_from_slice(&item.to_be_bytes());
                out.extend_from_slice(&quantity.to_be_bytes());
            }
            for count in [
                contact.counts.reversals,
                contact.counts.for_others,
                contact.counts.returned,
            ] {
                out.extend_from_slice(&count.to_be_bytes());
            }
            out.push(contact.counts.naloxone_reason.map_or(0, |r| r as u8 + 1));
        }
        out
    }

    #[test]
    fn canonical_content_is_unchanged_from_0_1() {
        let (_, mut seen) = read(
            "date,site,code,stem-pipe,injection-kit,reversals,naloxone_reason\n\
             2026-11-20,van,SYNAAA111,1,2,1,\n\
             2026-11-21,van,,3,,,\n",
        );
        // Also a contact whose lines are not in item order, as a caller might pass.
        let mut unsorted = seen[0].clone();
        unsorted.counts.items = vec![(10, 2), (7, 1)];
        unsorted.counts.naloxone_reason = Some(crate::contact::NaloxoneReason::Confiscated);
        seen.push(unsorted);
        let mut ours = Vec::new();
        for contact in &seen {
            append_canonical(contact, &mut ours);
        }
        assert_eq!(ours, canonical_as_in_0_1(&seen));
    }
}
