//! Closing a fiscal year: its report cells are frozen, then its participant codes
//! are erased for good, so a seized file holds no pseudonymous trail for closed
//! years. Reports add the frozen cells of closed years to the live data of open ones;
//! participant counts add up exactly because codes of different years never match.

use chrono::NaiveDate;
use rusqlite::{Connection, TransactionBehavior, params};

use super::Store;
use crate::error::{Error, Result};
use crate::fiscal::{FiscalCalendar, Period, PeriodKind};
use crate::report::{ClosedCell, Dimensions, MEASURE_COLUMNS, Measures, ReportRow};

/// One frozen row: which table it belongs to, and the row.
#[derive(Debug)]
pub struct FrozenRow<'a> {
    /// Period kind of the table.
    pub kind: PeriodKind,
    /// Breakdown of the table.
    pub dimensions: Dimensions,
    /// The unsuppressed row.
    pub row: &'a ReportRow,
}

impl Store {
    /// Start years of the closed fiscal years, oldest first.
    pub fn closed_years(&self) -> Result<Vec<i32>> {
        closed_years(&self.conn)
    }

    /// Freezes `rows` for `year`, erases the year's codes and marks it closed, in one
    /// transaction; then vacuums, so no erased code survives in a free page or in the
    /// file's slack. Returns how many codes were erased.
    pub fn close_year(
        &mut self,
        year: i32,
        rows: &[FrozenRow<'_>],
        today: NaiveDate,
    ) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if closed_years(&tx)?.contains(&year) {
            return Err(Error::YearClosed(year_label(&tx, year)?));
        }
        let open_drafts: i64 = tx.query_row(
            "SELECT count(*) FROM shift_draft_contact WHERE fiscal_year = ?1",
            [year],
            |row| row.get(0),
        )?;
        if open_drafts > 0 {
            return Err(Error::DraftOpen);
        }
        tx.execute(
            "INSERT INTO closed_year (fiscal_year, closed_on) VALUES (?1, ?2)",
            params![year, today.to_string()],
        )?;
        {
            let columns = MEASURE_COLUMNS.join(", ");
            let marks = vec!["?"; MEASURE_COLUMNS.len()].join(", ");
            let mut insert = tx.prepare(&format!(
                "INSERT INTO closed_cell (fiscal_year, period_kind, breakdown, period_label,
                                          period_start, period_end, site, item, {columns})
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, {marks})"
            ))?;
            for frozen in rows {
                let row = frozen.row;
                let measures = row.measures.as_ref().ok_or(Error::Damaged)?;
                let mut values: Vec<Box<dyn rusqlite::ToSql>> = vec![
                    Box::new(year),
                    Box::new(frozen.kind.as_str()),
                    Box::new(frozen.dimensions.key()),
                    Box::new(row.period.label.clone()),
                    Box::new(row.period.start.to_string()),
                    Box::new(row.period.end.to_string()),
                    Box::new(row.site.clone()),
                    Box::new(row.item.clone()),
                ];
                values.extend(
                    measures
                        .values()
                        .into_iter()
                        .map(|v| Box::new(v as i64) as Box<dyn rusqlite::ToSql>),
                );
                insert.execute(rusqlite::params_from_iter(values.iter()))?;
            }
        }
        let erased = tx.execute(
            "UPDATE contact SET code = NULL WHERE fiscal_year = ?1 AND code IS NOT NULL",
            [year],
        )?;
        tx.commit()?;
        // VACUUM rebuilds the file from live rows only; it cannot run in a transaction.
        // The year is closed by now whatever happens here, and secure_delete already
        // zeroed the erased codes, so a busy file is not a failure of the command.
        let _ = self.conn.execute_batch("VACUUM");
        Ok(erased)
    }

    /// Calls `each` with the frozen cells of closed years for this table and range.
    pub fn for_each_closed_cell(
        &self,
        kind: PeriodKind,
        dimensions: Dimensions,
        from: NaiveDate,
        to: NaiveDate,
        mut each: impl FnMut(ClosedCell),
    ) -> Result<()> {
        let columns = MEASURE_COLUMNS.join(", ");
        let mut statement = self.conn.prepare(&format!(
            "SELECT period_label, period_start, period_end, site, item, {columns}
               FROM closed_cell
              WHERE period_kind = ?1 AND breakdown = ?2
                AND period_end >= ?3 AND period_start <= ?4"
        ))?;
        let mut rows = statement.query(params![
            kind.as_str(),
            dimensions.key(),
            from.to_string(),
            to.to_string()
        ])?;
        while let Some(row) = rows.next()? {
            let mut values = [0u64; 16];
            for (i, value) in values.iter_mut().enumerate() {
                *value = row.get::<_, i64>(5 + i)? as u64;
            }
            let mut naloxone = [0; 8];
            naloxone.copy_from_slice(&values[8..]);
            each(ClosedCell {
                period: Period {
                    label: row.get(0)?,
                    start: row.get(1)?,
                    end: row.get(2)?,
                },
                site: row.get(3)?,
                item: row.get(4)?,
                measures: Measures {
                    contacts: values[0],
                    participants: values[1],
                    new_participants: values[2],
                    anonymous_contacts: values[3],
                    quantity: values[4],
                    reversals: values[5],
                    returned: values[6],
                    for_others: values[7],
                    naloxone,
                },
            });
        }
        Ok(())
    }
}

/// Start years of closed fiscal years.
pub(super) fn closed_years(conn: &Connection) -> Result<Vec<i32>> {
    let mut statement = conn.prepare("SELECT fiscal_year FROM closed_year ORDER BY fiscal_year")?;
    let years = statement
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(years)
}

/// `FY2025-26` for a start year, under the program's calendar.
pub(super) fn year_label(conn: &Connection, year: i32) -> Result<String> {
    let start: u32 = conn.query_row("SELECT fiscal_year_start FROM program", [], |row| {
        row.get(0)
    })?;
    let calendar = FiscalCalendar::new(start).ok_or(Error::Damaged)?;
    let first = NaiveDate::from_ymd_opt(year, start, 1).ok_or(Error::Damaged)?;
    Ok(calendar.year_of(first).to_string())
}

/// Refuses writes that would touch a closed year: its reports are frozen and its
/// codes gone, so a new or voided contact there could never be counted right.
pub(super) fn refuse_closed(conn: &Connection, years: impl IntoIterator<Item = i32>) -> Result<()> {
    let closed = closed_years(conn)?;
    if closed.is_empty() {
        return Ok(());
    }
    for year in years {
        if closed.contains(&year) {
            return Err(Error::YearClosed(year_label(conn, year)?));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::NaloxoneReason;

    #[test]
    fn naloxone_columns_line_up_with_the_reasons() {
        // The frozen table stores naloxone kits in MEASURE_COLUMNS order; reading them
        // back assumes reasons then "unrecorded", as Measures does.
        for (column, reason) in MEASURE_COLUMNS[8..15].iter().zip(NaloxoneReason::ALL) {
            assert_eq!(*column, format!("naloxone_{}", reason.as_str()));
        }
        assert_eq!(MEASURE_COLUMNS[15], "naloxone_unrecorded");
    }
}
