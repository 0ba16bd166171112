//! Where a report's contacts come from: the store, read in one pass in day order,
//! with the frozen cells of closed years and the lead-in that says who is new.

use chrono::NaiveDate;

use super::{ClosedCell, ReportBuilder, ReportQuery, ReportRow};
use crate::error::Result;
use crate::fiscal::FiscalYear;
use crate::store::Store;

/// The report rows of `query` for the periods from the one containing `from` to the
/// one containing `to`: the one place that feeds the report builder, for `report` and
/// `summary` alike. Each period is suppressed on its own cube, so a narrower range
/// shows the same hidden cells as a wider one.
pub fn build_rows(
    store: &Store,
    query: &ReportQuery,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ReportRow>> {
    let calendar = query.calendar;
    let first = calendar.period_of(query.kind, from).start;
    let last = calendar.period_of(query.kind, to).end;
    let catalogue = store.catalogue()?;
    let mut builder = ReportBuilder::new(query, &catalogue);
    // Frozen cells first. Then, so that the builder knows who is new, the participants
    // seen earlier in the fiscal year of the first period. Then live contacts in day
    // order, each period published as soon as the contacts move past it, so memory
    // holds one period's participants.
    store.for_each_closed_cell(first, last, |cell| builder.add_closed(&cell))?;
    let lead_in = calendar.year_of(first).first_day();
    store.for_each_live_participant(lead_in, first, |participant, day| {
        builder.introduce(participant, day);
    })?;
    store.for_each_live_contact(first, last, |contact| {
        builder.publish_before(contact.day);
        builder.add(contact);
    })?;
    Ok(builder.finish())
}

/// The unsuppressed cube of live contacts of one fiscal year, for `close-year`.
pub fn cube_cells(store: &Store, query: &ReportQuery, year: FiscalYear) -> Result<Vec<ClosedCell>> {
    let catalogue = store.catalogue()?;
    let mut builder = ReportBuilder::new(query, &catalogue);
    store.for_each_live_contact(year.first_day(), year.last_day(), |contact| {
        builder.add(contact);
    })?;
    Ok(builder.into_cells())
}
