//! The release ledger as stored: decided periods with their frozen cubes, and every
//! release byte for byte. Written inside the report's write transaction, so a release
//! is recorded exactly when it is decided, and two reports at once cannot both decide
//! the same period.

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};

use super::{Store, measure_params};
use crate::error::{Error, Result};
use crate::fiscal::{Period, PeriodKind};
use crate::measures::{MEASURE_COUNT, Measures, measure_columns};
use crate::report::ItemKey;
use crate::report::ledger::{DataVersion, DecidedCell, DecidedPeriod, NewRelease, ReleaseSummary};

impl Store {
    /// Runs `work` in one IMMEDIATE transaction: committed when it returns `Ok`, rolled
    /// back otherwise. A release reads the data, decides and records in one go.
    pub fn write<T>(&mut self, work: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        // BEGIN by hand, as close-year does: `work` uses the store's own methods.
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match work(self) {
            Ok(value) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(value)
            }
            Err(error) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(error)
            }
        }
    }

    /// The data as it is now: the last batch and the last void.
    pub fn data_version(&self) -> Result<DataVersion> {
        Ok(self.conn.query_row(
            "SELECT (SELECT coalesce(max(id), 0) FROM batch),
                    (SELECT coalesce(max(seq), 0) FROM
                       (SELECT max(void_seq) AS seq FROM batch
                        UNION ALL SELECT max(void_seq) FROM contact))",
            [],
            |row| {
                Ok(DataVersion {
                    batch_high: row.get(0)?,
                    void_high: row.get(1)?,
                })
            },
        )?)
    }

    /// Whether any contact of `batch` (or only its contact at `position`) lies on the
    /// days of a period already decided for release: a void of it is held back there.
    pub fn on_released_days(&self, batch: i64, position: Option<i64>) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (
                 SELECT 1 FROM contact c
                   JOIN decided_period d ON c.day BETWEEN d.period_start AND d.period_end
                  WHERE c.batch_id = ?1 AND (?2 IS NULL OR c.position = ?2))",
            rusqlite::params![batch, position],
            |row| row.get(0),
        )?)
    }

    /// Every decided period overlapping `from..=to`, any kind, oldest decision first.
    pub fn decided_periods(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DecidedPeriod>> {
        let mut statement = self.conn.prepare(
            "SELECT period_kind, period_label, period_start, period_end, min_cell,
                    batch_high, void_high
               FROM decided_period
              WHERE period_end >= ?1 AND period_start <= ?2
              ORDER BY id",
        )?;
        let periods = statement
            .query_map(params![from.to_string(), to.to_string()], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    Period {
                        label: row.get(1)?,
                        start: row.get(2)?,
                        end: row.get(3)?,
                    },
                    row.get::<_, u32>(4)?,
                    DataVersion {
                        batch_high: row.get(5)?,
                        void_high: row.get(6)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        periods
            .into_iter()
            .map(|(kind, period, min_cell, version)| {
                Ok(DecidedPeriod {
                    kind: parse_kind(&kind)?,
                    period,
                    min_cell,
                    version,
                })
            })
            .collect()
    }

    /// The threshold and frozen cells of a decided period, or `None` when it is not
    /// decided.
    pub fn decided_cells(
        &self,
        kind: PeriodKind,
        start: NaiveDate,
    ) -> Result<Option<(u32, Vec<DecidedCell>)>> {
        let found: Option<(i64, u32)> = self
            .conn
            .query_row(
                "SELECT id, min_cell FROM decided_period
                  WHERE period_kind = ?1 AND period_start = ?2",
                params![kind.as_str(), start.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((id, min_cell)) = found else {
            return Ok(None);
        };
        let columns = measure_columns().collect::<Vec<_>>().join(", ");
        let mut statement = self.conn.prepare(&format!(
            "SELECT site, item_level, item, hidden, {columns}
               FROM decided_cell WHERE period_id = ?1"
        ))?;
        let mut rows = statement.query([id])?;
        let mut cells = Vec::new();
        while let Some(row) = rows.next()? {
            let level: String = row.get(1)?;
            let label: String = row.get(2)?;
            let mut values = [0u64; MEASURE_COUNT];
            for (i, value) in values.iter_mut().enumerate() {
                *value = u64::try_from(row.get::<_, i64>(4 + i)?).map_err(|_| Error::Damaged)?;
            }
            cells.push(DecidedCell {
                site: row.get(0)?,
                item: ItemKey::from_stored(&level, &label).ok_or(Error::Damaged)?,
                hidden: u16::try_from(row.get::<_, i64>(3)?).map_err(|_| Error::Damaged)?,
                measures: Measures::from_values(values),
            });
        }
        Ok(Some((min_cell, cells)))
    }

    /// Records a decided period and its cells.
    pub fn save_decided(
        &mut self,
        decided: &DecidedPeriod,
        cells: &[DecidedCell],
        today: NaiveDate,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO decided_period (period_kind, period_label, period_start, period_end,
                                         min_cell, batch_high, void_high, decided_on)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                decided.kind.as_str(),
                decided.period.label,
                decided.period.start.to_string(),
                decided.period.end.to_string(),
                decided.min_cell,
                decided.version.batch_high,
                decided.version.void_high,
                today.to_string(),
            ],
        )?;
        let id = self.conn.last_insert_rowid();
        let columns = measure_columns().collect::<Vec<_>>().join(", ");
        let marks = vec!["?"; MEASURE_COUNT].join(", ");
        let mut insert = self.conn.prepare(&format!(
            "INSERT INTO decided_cell (period_id, site, item_level, item, hidden, {columns})
             VALUES (?, ?, ?, ?, ?, {marks})"
        ))?;
        for cell in cells {
            let mut values: Vec<Box<dyn rusqlite::ToSql>> = vec![
                Box::new(id),
                Box::new(cell.site.clone()),
                Box::new(cell.item.level()),
                Box::new(cell.item.label().to_owned()),
                Box::new(i64::from(cell.hidden)),
            ];
            values.extend(measure_params(&cell.measures));
            insert.execute(rusqlite::params_from_iter(values.iter()))?;
        }
        Ok(())
    }

    /// Records a release; returns its number.
    pub fn record_release(&mut self, release: &NewRelease<'_>) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO release (made_on, period_kind, first_period, last_period, breakdown,
                                  recipient, min_cell, row_count, hidden_cells, content)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                release.made_on.to_string(),
                release.kind.as_str(),
                release.periods.map(|(first, _)| first),
                release.periods.map(|(_, last)| last),
                release.breakdown,
                release.recipient,
                release.min_cell,
                release.rows as i64,
                release.hidden_cells as i64,
                release.content,
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The number the next release will get (inside a write, so no one takes it first).
    pub fn next_release(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(id), 0) + 1 FROM release", [], |row| {
                row.get(0)
            })?)
    }

    /// Every release, oldest first.
    pub fn releases(&self) -> Result<Vec<ReleaseSummary>> {
        let mut statement = self.conn.prepare(
            "SELECT id, made_on, period_kind, first_period, last_period, breakdown, recipient,
                    min_cell, row_count, hidden_cells
               FROM release ORDER BY id",
        )?;
        let releases = statement
            .query_map([], |row| {
                let first: Option<String> = row.get(3)?;
                let last: Option<String> = row.get(4)?;
                Ok(ReleaseSummary {
                    id: row.get(0)?,
                    made_on: row.get(1)?,
                    kind: row.get(2)?,
                    periods: first.zip(last),
                    breakdown: row.get(5)?,
                    recipient: row.get(6)?,
                    min_cell: row.get(7)?,
                    rows: row.get(8)?,
                    hidden_cells: row.get(9)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(releases)
    }

    /// A release exactly as it was made, or `None` when there is no such release.
    pub fn release_content(&self, id: i64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row("SELECT content FROM release WHERE id = ?1", [id], |row| {
                row.get(0)
            })
            .optional()?)
    }
}

fn parse_kind(text: &str) -> Result<PeriodKind> {
    PeriodKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == text)
        .ok_or(Error::Damaged)
}
