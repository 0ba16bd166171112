//! The program row: settings fixed at `init` (fiscal calendar, threshold, code
//! format, key check). The fiscal calendar is read from the file here and nowhere
//! else, so every part of the store buckets days the same way.

use chrono::NaiveDate;
use rusqlite::{Connection, TransactionBehavior, params};

use super::{SCHEMA, Store};
use crate::code::CodeFormat;
use crate::error::{Error, Result};
use crate::fiscal::FiscalCalendar;

/// A program's settings, fixed at `init`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The funder's fiscal calendar; also decides epoch keys, so it never changes.
    pub calendar: FiscalCalendar,
    /// Smallest count a report publishes.
    pub min_cell: u32,
    /// Optional mask code input must fit.
    pub code_format: Option<CodeFormat>,
    /// HMAC of the program key, to confirm an unwrapped key.
    pub key_check: Vec<u8>,
}

/// Everything `init` writes.
#[derive(Debug)]
pub struct NewProgram<'a> {
    /// Settings of the new program.
    pub settings: &'a Settings,
    /// Day of creation.
    pub today: NaiveDate,
}

impl Store {
    pub(super) fn initialise(&mut self, program: &NewProgram<'_>) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)?;
        tx.execute_batch(SCHEMA)?;
        let settings = program.settings;
        tx.execute(
            "INSERT INTO program (id, fiscal_year_start, min_cell, code_format, key_check, created_on)
             VALUES (1, ?1, ?2, ?3, ?4, ?5)",
            params![
                settings.calendar.start_month(),
                settings.min_cell,
                settings.code_format.as_ref().map(CodeFormat::as_str),
                settings.key_check,
                program.today.to_string(),
            ],
        )?;
        for (name, category, unit, alias) in crate::catalogue::DEFAULT_ITEMS {
            tx.execute(
                "INSERT INTO item (name, category, unit, alias) VALUES (?1, ?2, ?3, ?4)",
                params![name, category.as_str(), unit, alias],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The day `kitlog init` made the program.
    pub fn created_on(&self) -> Result<NaiveDate> {
        let day: String =
            self.conn
                .query_row("SELECT created_on FROM program WHERE id = 1", [], |row| {
                    row.get(0)
                })?;
        day.parse().map_err(|_| Error::Damaged)
    }

    /// The program's settings.
    pub fn settings(&self) -> Result<Settings> {
        let (min_cell, format, key_check): (u32, Option<String>, Vec<u8>) = self.conn.query_row(
            "SELECT min_cell, code_format, key_check FROM program WHERE id = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )?;
        Ok(Settings {
            calendar: calendar(&self.conn)?,
            min_cell,
            code_format: match format {
                Some(mask) => Some(CodeFormat::parse(&mask).ok_or(Error::Damaged)?),
                None => None,
            },
            key_check,
        })
    }
}

/// The program's fiscal calendar: the one place it is read from the file, by the
/// settings and by the parts of the store that name or check fiscal years.
pub(super) fn calendar(conn: &Connection) -> Result<FiscalCalendar> {
    let start: u32 = conn.query_row(
        "SELECT fiscal_year_start FROM program WHERE id = 1",
        [],
        |row| row.get(0),
    )?;
    FiscalCalendar::new(start).ok_or(Error::Damaged)
}
