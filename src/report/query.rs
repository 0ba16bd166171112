//! Where a report's counts come from: the store, read in one pass in day order, with
//! the frozen cells of closed years and the lead-in that says who is new.

use chrono::NaiveDate;

use super::ledger::Visibility;
use super::{CubeCell, CubeCounter};
use crate::catalogue::Catalogue;
use crate::error::Result;
use crate::fiscal::{FiscalCalendar, FiscalYear, PeriodKind};
use crate::store::Store;

/// Every cell of every period of `kind` from the one containing `from` to the one
/// containing `to`, unsuppressed, counting the contacts `visibility` lets count.
///
/// Frozen cells of closed years come first. Then, so that the counter knows who is
/// new, the participants seen earlier in the fiscal year of the first period. Then the
/// contacts in day order; memory holds one period's participants at a time.
pub fn count_cells(
    store: &Store,
    catalogue: &Catalogue,
    calendar: FiscalCalendar,
    kind: PeriodKind,
    (from, to): (NaiveDate, NaiveDate),
    visibility: &Visibility,
) -> Result<Vec<CubeCell>> {
    let first = calendar.period_of(kind, from).start;
    let last = calendar.period_of(kind, to).end;
    let mut counter = CubeCounter::new(kind, calendar, catalogue);
    store.for_each_closed_cell(first, last, |cell| counter.add_closed(&cell))?;
    let lead_in = calendar.year_of(first).first_day();
    store.for_each_live_participant(lead_in, first, visibility, |participant, day| {
        counter.introduce(participant, day);
    })?;
    store.for_each_live_contact(first, last, visibility, |contact| counter.add(contact))?;
    Ok(counter.into_cells())
}

/// The unsuppressed cube of one fiscal year's contacts, for `close-year`, counted as
/// the releases counted them.
pub fn year_cells(
    store: &Store,
    catalogue: &Catalogue,
    calendar: FiscalCalendar,
    kind: PeriodKind,
    year: FiscalYear,
    visibility: &Visibility,
) -> Result<Vec<CubeCell>> {
    let mut counter = CubeCounter::new(kind, calendar, catalogue);
    store.for_each_live_contact(year.first_day(), year.last_day(), visibility, |contact| {
        counter.add(contact);
    })?;
    Ok(counter.into_cells())
}
