//! One report, start to end: which periods it covers, the decisions it prints, and
//! the file a funder receives, with its notes. `kitlog report` and `kitlog summary`
//! both go through [`prepare`], inside one write transaction that also records the
//! release, so what is recorded is exactly what was printed.

use std::fmt::Write as _;

use chrono::{Days, NaiveDate};

use super::csv::write_csv;
use super::ledger::NewRelease;
use super::plan::Planner;
use super::{Dimensions, ItemLevel, ReportRow, SUPPRESSED};
use crate::error::{Error, Result};
use crate::fiscal::{FiscalYear, Period, PeriodKind};
use crate::measures::Measure;
use crate::store::Store;

/// What a report asks for.
#[derive(Debug, Clone)]
pub struct Request {
    /// Kind of period.
    pub kind: PeriodKind,
    /// The first period is the one holding this day (default: the first contact's).
    pub from: Option<NaiveDate>,
    /// The last period is the one holding this day (default: the last contact's).
    pub to: Option<NaiveDate>,
    /// Breakdown.
    pub dimensions: Dimensions,
    /// Threshold asked for (default: the program's).
    pub min_cell: Option<u32>,
    /// Who it goes to (`--for`), already checked.
    pub recipient: Option<String>,
    /// Today: periods not over by today are left out.
    pub today: NaiveDate,
}

/// A report, decided and ready to print.
#[derive(Debug)]
pub struct Prepared {
    /// The rows, in order.
    pub rows: Vec<ReportRow>,
    /// The periods printed.
    pub periods: Vec<Period>,
    /// Periods in the range left out because they are not over.
    pub left_out: Vec<Period>,
    /// The threshold used, and the program's.
    pub min_cell: u32,
    /// The program's threshold.
    pub program_min_cell: u32,
    /// Periods printed that were first released at a stricter threshold than
    /// `min_cell`, which they keep: their labels and thresholds.
    pub stricter: Vec<(String, u32)>,
    /// Contacts on the report's days that are counted differently now than when those
    /// days were first reported (saved or voided since), held back from this report.
    pub held_back: u64,
    /// Periods whose decision failed closed: cells it could not protect one by one,
    /// so it hid more bluntly (see [`crate::suppression::Decision`]).
    pub fell_back: Vec<String>,
    /// Made on a worker's laptop, which holds only what the coordinator has not yet
    /// acknowledged: never a release (the program's ledger is the coordinator's).
    pub on_worker: bool,
}

impl Prepared {
    /// Whether this report is a release: at or above the program's threshold.
    #[must_use]
    pub fn is_release(&self) -> bool {
        !self.on_worker && self.min_cell >= self.program_min_cell
    }

    /// Rows with at least one hidden count.
    #[must_use]
    pub fn hidden_cells(&self) -> usize {
        self.rows.iter().filter(|r| r.is_hidden()).count()
    }

    /// The contacts of the rows whose contacts are hidden, added up row by row.
    #[must_use]
    pub fn hidden_contacts(&self) -> u64 {
        self.rows
            .iter()
            .filter(|r| r.value(Measure::Contacts).is_none())
            .map(|r| r.measures[Measure::Contacts])
            .sum()
    }
}

/// Decides (and, for a release, records the decisions of) every period of the report.
pub fn prepare(store: &mut Store, request: &Request) -> Result<Prepared> {
    let settings = store.settings()?;
    let program_min_cell = settings.min_cell;
    let min_cell = request.min_cell.unwrap_or(program_min_cell);
    if min_cell == 0 {
        return Err(Error::MinCellZero);
    }
    let on_worker = store
        .this_device()?
        .is_some_and(|me| me.role == crate::sync::Role::Worker);
    let keeps = !on_worker && min_cell >= program_min_cell;
    let calendar = settings.calendar;
    let kind = request.kind;
    // --from and --to select whole periods: the ones containing those days.
    let range = store.live_day_range()?;
    let from = request.from.or(range.map(|r| r.0));
    let to = request.to.or(range.map(|r| r.1));
    let (Some(from), Some(to)) = (from, to) else {
        return Ok(Prepared {
            rows: Vec::new(),
            periods: Vec::new(),
            left_out: Vec::new(),
            min_cell,
            program_min_cell,
            stricter: Vec::new(),
            held_back: 0,
            fell_back: Vec::new(),
            on_worker,
        });
    };
    let first = calendar.period_of(kind, from);
    let last = calendar.period_of(kind, to);
    if first.start > last.end {
        return Err(Error::EmptyRange);
    }
    let mut periods = Vec::new();
    let mut at = first.clone();
    loop {
        let next = at.end + Days::new(1);
        let done = at.end >= last.end;
        periods.push(at);
        if done {
            break;
        }
        at = calendar.period_of(kind, next);
    }
    let (periods, left_out): (Vec<Period>, Vec<Period>) =
        periods.into_iter().partition(|p| p.end < request.today);
    let mut stricter = Vec::new();
    if keeps {
        check_calendar(store, calendar, kind, &periods)?;
        for period in &periods {
            if let Some((released, _)) = store.decided_cells(kind, period.start)? {
                if released < min_cell {
                    return Err(Error::ReleasedAtLowerThreshold {
                        period: period.label.clone(),
                        released,
                    });
                }
                if released > min_cell {
                    stricter.push((period.label.clone(), released));
                }
            }
        }
    }
    let Some((start, end)) = periods
        .first()
        .zip(periods.last())
        .map(|(a, b)| (a.start, b.end))
    else {
        return Ok(Prepared {
            rows: Vec::new(),
            periods,
            left_out,
            min_cell,
            program_min_cell,
            stricter,
            held_back: 0,
            fell_back: Vec::new(),
            on_worker,
        });
    };
    let mut planner = Planner::new(store, (start, end), min_cell, keeps, request.today)?;
    let rows = planner.rows(kind, &periods, request.dimensions)?;
    let fell_back = std::mem::take(&mut planner.fell_back);
    let held_back = if keeps {
        let visibility = planner.visibility().clone();
        store.held_back(start, end, &visibility)?
    } else {
        0
    };
    Ok(Prepared {
        rows,
        periods,
        left_out,
        min_cell,
        program_min_cell,
        stricter,
        held_back,
        fell_back,
        on_worker,
    })
}

/// Refuses to mix calendars in one fiscal year: weeks do not add up to months,
/// quarters or years, so a year released by week and by month could be subtracted,
/// one from the other, down to a few days at a site.
fn check_calendar(
    store: &Store,
    calendar: crate::fiscal::FiscalCalendar,
    kind: PeriodKind,
    periods: &[Period],
) -> Result<()> {
    let weekly = kind == PeriodKind::Week;
    let mut years: Vec<FiscalYear> = periods
        .iter()
        .flat_map(|p| [calendar.year_of(p.start), calendar.year_of(p.end)])
        .collect();
    years.dedup();
    for year in years {
        let touches = |period: &Period| {
            calendar.year_of(period.start) == year || calendar.year_of(period.end) == year
        };
        let clash = store
            .decided_periods(year.first_day(), year.last_day())?
            .into_iter()
            .find(|d| (d.kind == PeriodKind::Week) != weekly && touches(&d.period));
        if let Some(clash) = clash {
            return Err(Error::CalendarClash {
                year: year.to_string(),
                released_by_week: clash.kind == PeriodKind::Week,
            });
        }
    }
    Ok(())
}

/// The report as a file: the CSV, then a blank line and notes that say what `x` means,
/// the threshold, and what this file is (release `number`, or not a release).
pub fn render(prepared: &Prepared, request: &Request, number: Option<i64>) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    write_csv(&prepared.rows, request.dimensions, &mut bytes)
        .map_err(|_| Error::Output(std::io::ErrorKind::Other))?;
    let mut notes = Vec::new();
    notes.push(format!(
        "{SUPPRESSED} = hidden: a count about fewer than {} contacts or participants, or one hidden so that such a count cannot be worked out from this or any other release",
        prepared.min_cell
    ));
    if prepared.stricter.is_empty() {
        notes.push(format!("threshold (min-cell): {}", prepared.min_cell));
    } else {
        let kept: Vec<String> = prepared
            .stricter
            .iter()
            .map(|(label, min_cell)| format!("{label} at {min_cell}"))
            .collect();
        notes.push(format!(
            "threshold (min-cell): {}; periods first released at a stricter one keep it: {}",
            prepared.min_cell,
            kept.join(", ")
        ));
    }
    notes.push(level_note(request.dimensions).to_owned());
    match number {
        Some(number) => {
            let mut line = format!("release {number} of this program, made {}", request.today);
            if let Some(recipient) = &request.recipient {
                let _ = write!(line, " for {recipient}");
            }
            notes.push(line);
        }
        None if prepared.on_worker => notes.push(
            "NOT A RELEASE: made on a worker's laptop, which holds only the contacts the coordinator has not yet acknowledged; the program's reports are the coordinator's".to_owned(),
        ),
        None => notes.push(format!(
            "NOT A RELEASE: made at min-cell {}, below the program's {}, for the program's own checks only; do not send it",
            prepared.min_cell, prepared.program_min_cell
        )),
    }
    // A blank line, then one `note` row each: spreadsheets keep them below the table,
    // and a filter on `level` leaves them out.
    bytes.push(b'\n');
    let mut writer = ::csv::WriterBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_writer(Vec::new());
    notes
        .iter()
        .try_for_each(|note| writer.write_record(["note", note.as_str()]))
        .map_err(|_| Error::Output(std::io::ErrorKind::Other))?;
    bytes.extend(
        writer
            .into_inner()
            .map_err(|_| Error::Output(std::io::ErrorKind::Other))?,
    );
    Ok(bytes)
}

/// What the `level` column lets a reader add up, for this breakdown.
fn level_note(dimensions: Dimensions) -> &'static str {
    match (dimensions.site, dimensions.item) {
        (true, ItemLevel::None) => {
            "level: site-total rows add up to the program-total row (contacts and counts; participants never add up); filter level = site-total to add rows without counting twice"
        }
        (false, _) => {
            "level: item-total rows are each one's total over every site; a contact who took two is in both, so they do not add up to the program-total row"
        }
        (true, _) => {
            "level: detail rows add up to site-total, item-total and program-total rows; filter level = detail to add rows without counting twice"
        }
    }
}

/// Records a release in the ledger; returns its number.
pub fn record(
    store: &mut Store,
    prepared: &Prepared,
    request: &Request,
    breakdown: &str,
    content: &[u8],
) -> Result<i64> {
    let periods = prepared
        .periods
        .first()
        .zip(prepared.periods.last())
        .map(|(a, b)| (a.label.as_str(), b.label.as_str()));
    store.record_release(&NewRelease {
        made_on: request.today,
        kind: request.kind,
        periods,
        breakdown,
        recipient: request.recipient.as_deref(),
        min_cell: prepared.min_cell,
        rows: prepared.rows.len(),
        hidden_cells: prepared.hidden_cells(),
        content,
    })
}
