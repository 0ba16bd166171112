//! `kitlog close-year FY`: freeze a finished year's reports, then erase its codes.

use std::io::{BufRead, Write};

use chrono::NaiveDate;

use super::{Context, output};
use crate::cli::CloseYearArgs;
use crate::error::{Error, Result};
use crate::fiscal::{FiscalCalendar, FiscalYear, PeriodKind};
use crate::report::ledger::Visibility;
use crate::report::query::year_cells;

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
    let (erased, kept) = store.close_year(year.start_year(), context.today, |store| {
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
    })?;
    output(writeln!(
        out,
        "closed {year}: erased {erased} participant codes and kept {kept} report cells; its reports read exactly as before\n\
         note: backups made before now still hold its codes; destroy them once they are no longer needed"
    ))
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
