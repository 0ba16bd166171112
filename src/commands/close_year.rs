//! `kitlog close-year FY`: freeze a finished year's reports, then erase its codes.

use std::io::{BufRead, Write};

use chrono::NaiveDate;

use super::{Context, output};
use crate::cli::CloseYearArgs;
use crate::error::{Error, Result};
use crate::fiscal::{FiscalCalendar, FiscalYear, PeriodKind};
use crate::report::ledger::Visibility;
use crate::report::query::year_cells;
use crate::store::Store;
use crate::sync::Role;

/// Freezes every table a report or summary can ask for, unsuppressed, then erases.
pub(super) fn run(args: &CloseYearArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    let mut store = context.unlock()?.store;
    let calendar = store.settings()?.calendar;
    let year = parse_year(&args.year, calendar)?;
    if context.today <= year.last_day() {
        return Err(Error::YearNotOver {
            year: year.to_string(),
            last_day: year.last_day(),
        });
    }
    if store.closed_years()?.contains(&year.start_year()) {
        return Err(Error::YearClosed(year.to_string()));
    }
    let unheard = unheard_devices(&store, year)?;
    if !unheard.is_empty() && !args.force {
        return Err(Error::DevicesNotHeardFrom {
            year: year.to_string(),
            last_day: year.last_day(),
            count: unheard.len(),
            devices: unheard.join(", "),
        });
    }
    if !args.yes {
        if !context.passphrase.terminal {
            return Err(Error::CloseNotConfirmed);
        }
        output(write!(
            out,
            "This erases every participant code of {year} for good; its reports stay as they are.\n\
             Make a backup first if you need one (kitlog backup FILE). Type {year} to go on: "
        ))?;
        output(out.flush())?;
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| Error::Output(e.kind()))?;
        if answer.trim() != year.to_string() {
            return output(writeln!(out, "not closed; nothing was changed"));
        }
    }

    let (erased, kept) = close(&mut store, year.start_year(), context.today)?;
    if !unheard.is_empty() {
        output(writeln!(
            out,
            "note: closed with --force before {} sent a bundle made after {}; their contacts of {year} not yet received will be refused",
            unheard.join(", "),
            year.last_day()
        ))?;
    }
    output(writeln!(
        out,
        "closed {year}: erased {erased} participant codes and kept {kept} report cells; its reports read exactly as before\n\
         note: backups made before now still hold its codes; destroy them once they are no longer needed"
    ))
}

/// Closes the fiscal year starting in `start_year`: freezes every table a report or
/// summary can ask for, unsuppressed, then erases its codes. Also how a worker's laptop
/// follows the coordinator's close (`kitlog receive`). Returns (codes erased, cells kept).
pub(super) fn close(
    store: &mut Store,
    start_year: i32,
    today: NaiveDate,
) -> Result<(usize, usize)> {
    let calendar = store.settings()?.calendar;
    let first =
        NaiveDate::from_ymd_opt(start_year, calendar.start_month(), 1).ok_or(Error::Damaged)?;
    let year = calendar.year_of(first);
    // The whole cube a report can be cut from, for every period kind, with nothing
    // hidden (what to hide is decided when a period is released), counted as earlier
    // releases counted it: days already reported as they were then.
    let catalogue = store.catalogue()?;
    let mut visibility = Visibility::now();
    for decided in store.decided_periods(year.first_day(), year.last_day())? {
        if matches!(decided.kind, PeriodKind::Week | PeriodKind::Month) {
            visibility.freeze(&decided.period, decided.version);
        }
    }
    store.close_year(year.start_year(), today, |store| {
        let mut cells = Vec::new();
        for kind in PeriodKind::ALL {
            cells.extend(year_cells(
                store,
                &catalogue,
                calendar,
                kind,
                year,
                &visibility,
            )?);
        }
        Ok(cells)
    })
}

/// On the coordinator's laptop, the enrolled worker laptops (not revoked) that have
/// not sent a bundle made after `year` ended: some of its contacts may still be there.
/// On a worker's laptop, closing is refused: it follows the coordinator's close.
fn unheard_devices(store: &Store, year: FiscalYear) -> Result<Vec<String>> {
    let Some(me) = store.this_device()? else {
        return Ok(Vec::new());
    };
    if me.role == Role::Worker {
        return Err(Error::CoordinatorOnly("closing a year"));
    }
    let last_day = year.last_day().to_string();
    Ok(store
        .devices()?
        .into_iter()
        .filter(|d| d.role == Role::Worker && d.revoked_on.is_none())
        .filter(|d| d.last_made_on.as_ref().is_none_or(|made| *made <= last_day))
        .map(|d| d.label)
        .collect())
}

/// `FY2025-26`, `FY2025`, `2025-26` or `2025`: the year starting in 2025.
fn parse_year(text: &str, calendar: FiscalCalendar) -> Result<FiscalYear> {
    let trimmed = text.trim();
    let digits = trimmed
        .strip_prefix("FY")
        .or_else(|| trimmed.strip_prefix("fy"))
        .unwrap_or(trimmed);
    let start = digits.split('-').next().unwrap_or_default();
    let year: Option<FiscalYear> = start
        .parse::<i32>()
        .ok()
        .filter(|y| (1990..=9998).contains(y))
        .and_then(|y| NaiveDate::from_ymd_opt(y, calendar.start_month(), 1))
        .map(|first| calendar.year_of(first));
    match year {
        Some(year) if digits == start || year.to_string().ends_with(digits) => Ok(year),
        _ => Err(Error::InvalidFiscalYear),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_are_named_as_reports_name_them() {
        let april = FiscalCalendar::default();
        for text in ["FY2025-26", "2025", "2025-26", " fy2025-26 "] {
            assert_eq!(
                parse_year(text, april).unwrap().to_string(),
                "FY2025-26",
                "{text}"
            );
        }
        let january = FiscalCalendar::new(1).unwrap();
        assert_eq!(parse_year("FY2025", january).unwrap().to_string(), "FY2025");
        for bad in ["FY2025-27", "last year", "25", ""] {
            assert!(parse_year(bad, april).is_err(), "{bad}");
        }
    }
}
