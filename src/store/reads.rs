//! What reports read: contacts streamed in day order, the participants of a report's
//! lead-in, and the day range of the data. Which contacts count is decided once,
//! here: not in a closed year (read from its frozen cells), and not voided, as of the
//! version a decided period was counted at ([`Visibility`]).

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};

use super::program::calendar;
use super::{Store, code_at, day_at};
use crate::contact::Contact;
use crate::contact::{Counts, NaloxoneReason};
use crate::error::Result;
use crate::fiscal::FiscalCalendar;
use crate::report::Participant;
use crate::report::ledger::Visibility;

/// The contacts `c` (joined to batch `b`) a report may count: not in a closed year
/// (closed years are read from their frozen cells). Voids and late batches are judged
/// per day by a [`Visibility`]; a contact voided before anything was frozen is left out
/// here already, as no visibility can count it.
const OPEN_CONTACT: &str = "c.fiscal_year NOT IN (SELECT fiscal_year FROM closed_year) \
     AND (c.void_seq IS NULL OR c.void_seq > ?3) AND (b.void_seq IS NULL OR b.void_seq > ?3)";

impl Store {
    /// Calls `each` with the participant and day of every live contact with a code on
    /// the days from `from` up to, not including, `before`, in day order: what a report
    /// starting mid-year needs to know who is new, without the items.
    pub fn for_each_live_participant(
        &self,
        from: NaiveDate,
        before: NaiveDate,
        visibility: &Visibility,
        mut each: impl FnMut(Participant, NaiveDate),
    ) -> Result<()> {
        let mut statement = self.conn.prepare(&format!(
            "SELECT c.fiscal_year, c.code, c.day, b.id, b.void_seq, c.void_seq
               FROM contact c JOIN batch b ON b.id = c.batch_id
              WHERE {OPEN_CONTACT} AND c.code IS NOT NULL AND c.day >= ?1 AND c.day < ?2
              ORDER BY c.day, c.id"
        ))?;
        let calendar = calendar(&self.conn)?;
        let mut rows = statement.query(params![
            from.to_string(),
            before.to_string(),
            visibility.earliest_void()
        ])?;
        while let Some(row) = rows.next()? {
            let day = day_at(row, 2)?;
            if !visibility.counts(day, row.get(3)?, row.get(4)?, row.get(5)?) {
                continue;
            }
            if let Some(code) = code_at(row, 1)? {
                let year = calendar.year_starting_in(row.get(0)?);
                each((year, code), day);
            }
        }
        Ok(())
    }

    /// Calls `each` with every contact that counts under `visibility` whose day is in
    /// `from..=to`, in day order, streaming, so a large program is never held in memory
    /// whole and a report can publish each period once the days move past it.
    pub fn for_each_live_contact(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        visibility: &Visibility,
        mut each: impl FnMut(&Contact),
    ) -> Result<()> {
        // The day index gives day order with no sort: (day, rowid) is its key.
        let mut statement = self.conn.prepare(&format!(
            "SELECT c.id, c.day, c.fiscal_year, c.site_id, c.code, c.reversals, c.for_others,
                    c.returned, c.naloxone_reason, ci.item_id, ci.quantity,
                    b.id, b.void_seq, c.void_seq
               FROM contact c
               JOIN batch b ON b.id = c.batch_id
               LEFT JOIN contact_item ci ON ci.contact_id = c.id
              WHERE {OPEN_CONTACT} AND c.day BETWEEN ?1 AND ?2
              ORDER BY c.day, c.id"
        ))?;
        let calendar = calendar(&self.conn)?;
        let mut rows = statement.query(params![
            from.to_string(),
            to.to_string(),
            visibility.earliest_void()
        ])?;
        // One contact, refilled for each row of a new id: no allocation per contact.
        let mut contact: Option<(i64, Contact)> = None;
        let mut skipped: Option<i64> = None;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            if skipped == Some(id) {
                continue;
            }
            let is_new = contact.as_ref().is_none_or(|(open, _)| *open != id);
            if is_new
                && !visibility.counts(day_at(row, 1)?, row.get(11)?, row.get(12)?, row.get(13)?)
            {
                skipped = Some(id);
                continue;
            }
            match contact.as_mut() {
                Some((open, _)) if *open == id => {}
                Some((open, current)) => {
                    each(current);
                    *open = id;
                    fill_contact(current, row, calendar)?;
                }
                None => {
                    let mut current = Contact {
                        day: NaiveDate::MIN,
                        fiscal_year: calendar.year_starting_in(0),
                        site_id: 0,
                        code: None,
                        counts: Counts::default(),
                    };
                    fill_contact(&mut current, row, calendar)?;
                    contact = Some((id, current));
                }
            }
            if let (Some((_, current)), Some(item)) =
                (contact.as_mut(), row.get::<_, Option<i64>>(9)?)
            {
                current.counts.items.push((item, row.get(10)?));
            }
        }
        if let Some((_, last)) = contact {
            each(&last);
        }
        Ok(())
    }

    /// How many contacts on the frozen days of `from..=to` count differently now than
    /// `visibility` counts them: saved, or voided, after their days were first reported.
    pub fn held_back(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        visibility: &Visibility,
    ) -> Result<u64> {
        let mut held = 0;
        for (first, last, version) in visibility.frozen_within(from, to) {
            let mut statement = self.conn.prepare(
                "SELECT b.id, b.void_seq, c.void_seq FROM contact c JOIN batch b ON b.id = c.batch_id
                  WHERE c.fiscal_year NOT IN (SELECT fiscal_year FROM closed_year)
                    AND c.day BETWEEN ?1 AND ?2",
            )?;
            let mut rows = statement.query(params![first.to_string(), last.to_string()])?;
            while let Some(row) = rows.next()? {
                let (batch_void, contact_void): (Option<i64>, Option<i64>) =
                    (row.get(1)?, row.get(2)?);
                let now = batch_void.is_none() && contact_void.is_none();
                if version.counts(row.get(0)?, batch_void, contact_void) != now {
                    held += 1;
                }
            }
        }
        Ok(held)
    }

    /// First and last day of any contact not voided (closed years included), or `None`
    /// for an empty program. Walks the day index from each end to the first such
    /// contact: a few rows, not every contact (unless the newest or oldest days are
    /// all voided).
    pub fn live_day_range(&self) -> Result<Option<(NaiveDate, NaiveDate)>> {
        let end = |order: &str| -> Result<Option<NaiveDate>> {
            Ok(self
                .conn
                .query_row(
                    &format!(
                        "SELECT c.day FROM contact c JOIN batch b ON b.id = c.batch_id
                          WHERE c.voided_reason IS NULL AND b.voided_reason IS NULL
                          ORDER BY c.day {order} LIMIT 1"
                    ),
                    [],
                    |row| day_at(row, 0),
                )
                .optional()?)
        };
        Ok(end("ASC")?.zip(end("DESC")?))
    }
}

/// Overwrites `contact` with the contact columns of `row`, keeping its item buffer.
fn fill_contact(
    contact: &mut Contact,
    row: &rusqlite::Row<'_>,
    calendar: FiscalCalendar,
) -> Result<()> {
    let reason = row
        .get_ref(8)?
        .as_str_or_null()
        .map_err(rusqlite::Error::from)?;
    contact.day = day_at(row, 1)?;
    contact.fiscal_year = calendar.year_starting_in(row.get(2)?);
    contact.site_id = row.get(3)?;
    contact.code = code_at(row, 4)?;
    let counts = &mut contact.counts;
    counts.items.clear();
    counts.reversals = row.get(5)?;
    counts.for_others = row.get(6)?;
    counts.returned = row.get(7)?;
    counts.naloxone_reason = reason.and_then(NaloxoneReason::parse);
    Ok(())
}
