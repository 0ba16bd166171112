//! Closing a fiscal year: its report cells are frozen, then its participant codes
//! are erased for good, so a seized file holds no pseudonymous trail for closed
//! years. Reports add the frozen cells of closed years to the live data of open ones;
//! participant counts add up exactly because codes of different years never match.

use chrono::NaiveDate;
use rusqlite::{Connection, params};

use super::{Store, measure_params};
use crate::error::{Error, Result};
use crate::fiscal::{Period, PeriodKind};
use crate::measures::measure_columns;
use crate::measures::{MEASURE_COUNT, Measures};
use crate::report::{CubeCell, ItemKey};

impl Store {
    /// Start years of the closed fiscal years, oldest first.
    pub fn closed_years(&self) -> Result<Vec<i32>> {
        closed_years(&self.conn)
    }

    /// Closes `year`: under one write lock, so no import or void can slip in between,
    /// `freeze` computes the year's cube from this store, the cube is kept, the year's
    /// codes are erased and the year marked closed; then the file is vacuumed, so no
    /// erased code survives in a free page. Returns (codes erased, cells kept).
    pub fn close_year(
        &mut self,
        year: i32,
        today: NaiveDate,
        freeze: impl FnOnce(&Store) -> Result<Vec<CubeCell>>,
    ) -> Result<(usize, usize)> {
        // BEGIN IMMEDIATE by hand: the freeze reads through the store's own methods,
        // which a rusqlite Transaction borrowing the connection would not allow.
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = self.close_locked(year, today, freeze);
        match result {
            Ok(done) => {
                self.conn.execute_batch("COMMIT")?;
                // VACUUM rebuilds the file from live rows only; it cannot run in a
                // transaction. The year is closed by now whatever happens here, and
                // secure_delete already zeroed the erased codes.
                let _ = self.conn.execute_batch("VACUUM");
                Ok(done)
            }
            Err(error) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(error)
            }
        }
    }

    fn close_locked(
        &mut self,
        year: i32,
        today: NaiveDate,
        freeze: impl FnOnce(&Store) -> Result<Vec<CubeCell>>,
    ) -> Result<(usize, usize)> {
        if closed_years(&self.conn)?.contains(&year) {
            return Err(Error::YearClosed(year_label(&self.conn, year)?));
        }
        let open_drafts: i64 = self.conn.query_row(
            "SELECT count(*) FROM shift_draft_contact WHERE fiscal_year = ?1",
            [year],
            |row| row.get(0),
        )?;
        if open_drafts > 0 {
            return Err(Error::DraftOpen);
        }
        let cells = freeze(self)?;
        self.conn.execute(
            "INSERT INTO closed_year (fiscal_year, closed_on) VALUES (?1, ?2)",
            params![year, today.to_string()],
        )?;
        let columns = measure_columns().collect::<Vec<_>>().join(", ");
        let marks = vec!["?"; MEASURE_COUNT].join(", ");
        let mut insert = self.conn.prepare(&format!(
            "INSERT INTO closed_cell (fiscal_year, period_kind, period_label, period_start,
                                      period_end, site, item_level, item, {columns})
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, {marks})"
        ))?;
        for cell in &cells {
            let mut values: Vec<Box<dyn rusqlite::ToSql>> = vec![
                Box::new(year),
                Box::new(cell.kind.as_str()),
                Box::new(cell.period.label.clone()),
                Box::new(cell.period.start.to_string()),
                Box::new(cell.period.end.to_string()),
                Box::new(cell.site.clone()),
                Box::new(cell.item.level()),
                Box::new(cell.item.label().to_owned()),
            ];
            values.extend(measure_params(&cell.measures));
            insert.execute(rusqlite::params_from_iter(values.iter()))?;
        }
        drop(insert);
        let erased = self.conn.execute(
            "UPDATE contact SET code = NULL WHERE fiscal_year = ?1 AND code IS NOT NULL",
            [year],
        )?;
        // The year's codes are gone, so a key that could remake them goes too.
        self.conn.execute(
            "DELETE FROM carried_epoch_key WHERE fiscal_year = ?1",
            [year],
        )?;
        Ok((erased, cells.len()))
    }

    /// Calls `each` with the frozen cells of closed years whose periods overlap
    /// `from..=to`, every kind.
    pub fn for_each_closed_cell(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        mut each: impl FnMut(CubeCell),
    ) -> Result<()> {
        let columns = measure_columns().collect::<Vec<_>>().join(", ");
        let mut statement = self.conn.prepare(&format!(
            "SELECT period_kind, period_label, period_start, period_end, site, item_level, item,
                    {columns}
               FROM closed_cell
              WHERE period_end >= ?1 AND period_start <= ?2"
        ))?;
        let mut rows = statement.query(params![from.to_string(), to.to_string()])?;
        while let Some(row) = rows.next()? {
            let kind: String = row.get(0)?;
            let kind = PeriodKind::ALL
                .into_iter()
                .find(|k| k.as_str() == kind)
                .ok_or(Error::Damaged)?;
            let level: String = row.get(5)?;
            let label: String = row.get(6)?;
            let item = ItemKey::from_stored(&level, &label).ok_or(Error::Damaged)?;
            let mut values = [0u64; MEASURE_COUNT];
            for (i, value) in values.iter_mut().enumerate() {
                *value = row.get::<_, i64>(7 + i)? as u64;
            }
            each(CubeCell {
                kind,
                period: Period {
                    label: row.get(1)?,
                    start: row.get(2)?,
                    end: row.get(3)?,
                },
                site: row.get(4)?,
                item,
                measures: Measures::from_values(values),
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
    let calendar = super::program::calendar(conn)?;
    let first = NaiveDate::from_ymd_opt(year, calendar.start_month(), 1).ok_or(Error::Damaged)?;
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
