//! The program database: the only module that speaks SQL.
//!
//! `Store` owns the connection, sets its pragmas in one place, applies
//! `schema.sql` to new files and the append-only `migrations/` to old ones, and
//! offers a small vocabulary of verbs. Every multi-row write is one transaction,
//! so a failure or a crash leaves the file as it was before the command.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::catalogue::{Catalogue, Category, Item, Site};
use crate::code::{CODE_BYTES, CodeFormat, ParticipantCode};
use crate::contact::{
    BatchHeader, BatchSummary, ContactDraft, NaloxoneReason, NewBatch, VoidReason, WorkerLabel,
};
use crate::error::{Error, Result};
use crate::fiscal::FiscalCalendar;
use crate::keys::KeySlot;
use crate::report::{Participant, ReportContact};

mod health;
mod key_slots;
mod retention;

pub use health::{CheckSummary, SchemaTable, describe_schema};
pub use key_slots::{LabelledSlot, SlotChange};

/// The current schema, applied whole to a new program.
const SCHEMA: &str = include_str!("../schema.sql");

/// Forward migrations: entry `i` takes a database from version `i + 1` to `i + 2`.
/// Append-only: a released migration is never edited, only followed by another.
const MIGRATIONS: &[&str] = &[include_str!(
    "../migrations/0002_drop_contact_code_index.sql"
)];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1 + MIGRATIONS.len() as i64;

/// How long a command waits for another kitlog that is saving at the same moment.
/// Saves take milliseconds; a generous wait means two workers never see "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// What makes contact `c` (joined to its batch `b`) count in reports: neither voided,
/// and its fiscal year not closed (closed years are read from their frozen cells).
const LIVE_CONTACT: &str = "c.voided_reason IS NULL AND b.voided_reason IS NULL \
     AND c.fiscal_year NOT IN (SELECT fiscal_year FROM closed_year)";

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
    /// The first key slot.
    pub slot: &'a KeySlot,
    /// Its label.
    pub slot_label: &'a str,
    /// Day of creation.
    pub today: NaiveDate,
}

/// A shift being typed, as kept in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// Row id.
    pub id: i64,
    /// The day of every contact in it.
    pub day: NaiveDate,
    /// The site of every contact in it.
    pub site_id: i64,
    /// Worker label, if given.
    pub worker: Option<String>,
    /// Lines kept so far.
    pub contacts: i64,
}

/// A read transaction on a [`Store`]; see [`Store::snapshot`]. Dropping it ends the
/// transaction (a rollback, which for reads only releases the lock).
#[derive(Debug)]
pub struct Snapshot<'a>(
    #[expect(dead_code, reason = "held for its lock, ended on drop")] rusqlite::Transaction<'a>,
);

/// An open program database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Creates a new program at `path`, refusing if any file is already there.
    ///
    /// The file is claimed with `create_new`, so two `init`s cannot both win, and
    /// removed again if anything after that fails: no half-made program is left.
    pub fn create(path: &Path, program: &NewProgram<'_>) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.exists() {
                std::fs::create_dir_all(parent).map_err(|e| Error::file("create", parent, &e))?;
                // A folder kitlog makes is the owner's alone, like the file in it.
                #[cfg(unix)]
                std::fs::set_permissions(
                    parent,
                    std::os::unix::fs::PermissionsExt::from_mode(0o700),
                )
                .map_err(|e| Error::file("create", parent, &e))?;
            }
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        // Owner-only: on a shared office laptop other accounts must not read the program.
        // SQLite gives its journal the same permissions as the database.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::ProgramExists(path.to_owned()));
            }
            Err(e) => return Err(Error::file("create", path, &e)),
        }
        let result = Self::connect(path).and_then(|mut store| {
            store.initialise(program)?;
            Ok(store)
        });
        if result.is_err() {
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_file(journal_path(path));
        }
        result
    }

    /// Opens an existing program, bringing an older schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        if !path.is_file() {
            return Err(Error::NoProgram(path.to_owned()));
        }
        let mut store = Self::connect(path).map_err(|e| not_a_program(e, path))?;
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| not_a_program(e.into(), path))?;
        if version == 0 {
            return Err(Error::NotAProgram(path.to_owned()));
        }
        store.migrate(version)?;
        Ok(store)
    }

    /// Starts a read transaction that lasts until the returned guard is dropped: every
    /// query on this store until then sees one moment, even while another kitlog saves.
    /// A report reads its day range, catalogue, frozen cells and contacts in several
    /// queries; without this a batch landing between them is half counted (contacts
    /// cut off by a range of days read before, or items missing from the catalogue).
    pub fn snapshot(&self) -> Result<Snapshot<'_>> {
        Ok(Snapshot(self.conn.unchecked_transaction()?))
    }

    #[expect(
        clippy::disallowed_methods,
        reason = "the one place a connection is opened"
    )]
    fn connect(path: &Path) -> Result<Store> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        configure(&conn)?;
        Ok(Store { conn })
    }

    fn initialise(&mut self, program: &NewProgram<'_>) -> Result<()> {
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
        insert_slot(&tx, program.slot_label, program.slot, program.today)?;
        for (name, category, unit, alias) in crate::catalogue::DEFAULT_ITEMS {
            tx.execute(
                "INSERT INTO item (name, category, unit, alias) VALUES (?1, ?2, ?3, ?4)",
                params![name, category.as_str(), unit, alias],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Brings a database at `version` up to [`SCHEMA_VERSION`].
    ///
    /// EXCLUSIVE, as cargo does: two kitlogs opening an old file at once must not both
    /// run the same migration; the second waits, then finds nothing left to do.
    fn migrate(&mut self, version: i64) -> Result<()> {
        if version > SCHEMA_VERSION {
            return Err(Error::NewerSchema {
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let first = usize::try_from(version - 1).unwrap_or(0);
        for (step, migration) in MIGRATIONS.iter().enumerate().skip(first) {
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", step as i64 + 2)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The program's settings.
    pub fn settings(&self) -> Result<Settings> {
        let (start, min_cell, format, key_check): (u32, u32, Option<String>, Vec<u8>) = self
            .conn
            .query_row(
            "SELECT fiscal_year_start, min_cell, code_format, key_check FROM program WHERE id = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )?;
        Ok(Settings {
            calendar: FiscalCalendar::new(start).ok_or(Error::Damaged)?,
            min_cell,
            code_format: match format {
                Some(mask) => Some(CodeFormat::parse(&mask).ok_or(Error::Damaged)?),
                None => None,
            },
            key_check,
        })
    }

    /// Every key slot, oldest first.
    pub fn key_slots(&self) -> Result<Vec<KeySlot>> {
        let mut statement = self.conn.prepare(
            "SELECT kdf_salt, kdf_iterations, nonce, sealed_key FROM key_slot ORDER BY id",
        )?;
        let slots = statement
            .query_map([], |row| {
                Ok(KeySlot {
                    salt: row.get(0)?,
                    iterations: row.get(1)?,
                    nonce: row.get(2)?,
                    sealed_key: row.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(slots)
    }

    /// Sites and items, retired ones included, in name order.
    pub fn catalogue(&self) -> Result<Catalogue> {
        let mut sites = self
            .conn
            .prepare("SELECT id, name, retired_on FROM site ORDER BY name")?;
        let sites = sites
            .query_map([], |row| {
                Ok(Site {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    retired_on: row.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut items = self.conn.prepare(
            "SELECT id, name, category, unit, retired_on, alias FROM item ORDER BY category, name",
        )?;
        let items = items
            .query_map([], |row| {
                let category: String = row.get(2)?;
                Ok(Item {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    category: Category::parse(&category).unwrap_or(Category::Other),
                    unit: row.get(3)?,
                    retired_on: row.get(4)?,
                    alias: row.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Catalogue { sites, items })
    }

    /// Adds a site; `name` must already be normalised.
    pub fn add_site(&mut self, name: &str) -> Result<()> {
        self.insert_named(
            "site",
            name,
            "INSERT INTO site (name) VALUES (?1)",
            params![name],
        )
    }

    /// Adds an item; `name`, `unit` and `alias` must already be normalised.
    pub fn add_item(
        &mut self,
        name: &str,
        category: Category,
        unit: &str,
        alias: Option<&str>,
    ) -> Result<()> {
        if let Some(alias) = alias {
            self.check_alias_free(alias, name)?;
        }
        self.insert_named(
            "item",
            name,
            "INSERT INTO item (name, category, unit, alias) VALUES (?1, ?2, ?3, ?4)",
            params![name, category.as_str(), unit, alias],
        )
    }

    /// Gives an item a (new) shift alias.
    pub fn set_alias(&mut self, name: &str, alias: &str) -> Result<()> {
        self.check_alias_free(alias, name)?;
        let changed = self.conn.execute(
            "UPDATE item SET alias = ?1 WHERE name = ?2",
            params![alias, name],
        )?;
        if changed == 0 {
            return Err(Error::NotInCatalogue {
                kind: "item",
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    fn check_alias_free(&self, alias: &str, name: &str) -> Result<()> {
        let holder: Option<String> = self
            .conn
            .query_row(
                "SELECT name FROM item WHERE alias = ?1 AND name <> ?2",
                params![alias, name],
                |row| row.get(0),
            )
            .optional()?;
        match holder {
            Some(holder) => Err(Error::AliasTaken {
                alias: alias.to_owned(),
                holder,
            }),
            None => Ok(()),
        }
    }

    fn insert_named(
        &mut self,
        kind: &'static str,
        name: &str,
        sql: &str,
        values: &[&dyn rusqlite::ToSql],
    ) -> Result<()> {
        match self.conn.execute(sql, values) {
            Ok(_) => Ok(()),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                Err(Error::AlreadyInCatalogue {
                    kind,
                    name: name.to_owned(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Retires a site from `today` on.
    pub fn retire_site(&mut self, name: &str, today: NaiveDate) -> Result<()> {
        self.retire("site", name, today)
    }

    /// Retires an item from `today` on.
    pub fn retire_item(&mut self, name: &str, today: NaiveDate) -> Result<()> {
        self.retire("item", name, today)
    }

    fn retire(&mut self, kind: &'static str, name: &str, today: NaiveDate) -> Result<()> {
        // `kind` is one of two literals, never user input, so formatting it in is safe.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let retired: Option<Option<String>> = tx
            .query_row(
                &format!("SELECT retired_on FROM {kind} WHERE name = ?1"),
                [name],
                |row| row.get(0),
            )
            .optional()?;
        match retired {
            None => Err(Error::NotInCatalogue {
                kind,
                name: name.to_owned(),
            }),
            Some(Some(on)) => Err(Error::AlreadyRetired {
                kind,
                name: name.to_owned(),
                on,
            }),
            Some(None) => {
                tx.execute(
                    &format!("UPDATE {kind} SET retired_on = ?1 WHERE name = ?2"),
                    params![today.to_string(), name],
                )?;
                tx.commit()?;
                Ok(())
            }
        }
    }

    /// Saves a batch whose contacts `fill` hands to the writer as it makes them, so a
    /// sheet of any size is saved without being held in memory. Returns the batch id and
    /// what `fill` returned.
    ///
    /// All of it is one IMMEDIATE transaction: unless `fill` returns `Ok`, nothing is
    /// kept. The duplicate check runs at the end, against the digest `fill` set, inside
    /// the same transaction, so two workers importing the same sheet at the same moment
    /// cannot both succeed.
    pub fn save_batch_with<T>(
        &mut self,
        batch: &BatchHeader,
        fill: impl FnOnce(&mut ContactWriter<'_>) -> Result<T>,
    ) -> Result<(i64, T)> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO batch (saved_on, source, worker) VALUES (?1, ?2, ?3)",
            params![
                batch.saved_on.to_string(),
                batch.source.as_str(),
                batch
                    .worker
                    .as_ref()
                    .map(crate::contact::WorkerLabel::as_str),
            ],
        )?;
        let batch_id = tx.last_insert_rowid();
        // Contact ids are given here rather than by SQLite, so that item lines can be
        // written many to a statement without asking for each contact's id. Inside the
        // IMMEDIATE transaction nobody else writes, and max + 1 is what SQLite would pick.
        let last_id: i64 = tx.query_row("SELECT coalesce(max(id), 0) FROM contact", [], |row| {
            row.get(0)
        })?;
        let (value, digest, first_closed) = {
            let mut writer = ContactWriter {
                conn: &tx,
                contact_chunk: tx.prepare(&insert_sql(CONTACT_COLUMNS, CONTACT_VALUES, CHUNK))?,
                line_chunk: tx.prepare(&insert_sql(LINE_COLUMNS, LINE_VALUES, CHUNK))?,
                batch_id,
                last_id,
                closed_years: retention::closed_years(&tx)?,
                first_closed: None,
                position: 0,
                contacts: Vec::with_capacity(CHUNK),
                lines: Vec::with_capacity(CHUNK),
                sheet_digest: None,
            };
            let value = fill(&mut writer)?;
            writer.flush_contacts()?;
            writer.flush_lines(true)?;
            (value, writer.sheet_digest, writer.first_closed)
        };
        if let Some(digest) = digest {
            if let Some(existing) = find_import(&tx, &digest)? {
                return Err(Error::AlreadyImported(existing));
            }
            tx.execute(
                "UPDATE batch SET sheet_digest = ?1 WHERE id = ?2",
                params![digest.as_slice(), batch_id],
            )?;
        }
        // After the duplicate check: a sheet already imported is
        // told so even if its year has been closed since.
        if let Some(year) = first_closed {
            return Err(Error::YearClosed(retention::year_label(&tx, year)?));
        }
        tx.commit()?;
        Ok((batch_id, value))
    }

    /// The live (not voided) batch a sheet with this digest was saved as, if any.
    pub fn find_import(&self, digest: &[u8; 32]) -> Result<Option<i64>> {
        find_import(&self.conn, digest)
    }

    /// Every batch, oldest first.
    pub fn batches(&self) -> Result<Vec<BatchSummary>> {
        let mut statement = self.conn.prepare(
            "SELECT b.id, b.saved_on, b.source, b.worker, b.voided_reason,
                    (SELECT count(*) FROM contact c WHERE c.batch_id = b.id),
                    (SELECT count(*) FROM contact c
                      WHERE c.batch_id = b.id AND c.voided_reason IS NOT NULL),
                    (SELECT coalesce(sum(ci.quantity), 0)
                       FROM contact c JOIN contact_item ci ON ci.contact_id = c.id
                      WHERE c.batch_id = b.id),
                    (SELECT group_concat(name, ',') FROM
                       (SELECT DISTINCT s.name FROM contact c JOIN site s ON s.id = c.site_id
                         WHERE c.batch_id = b.id ORDER BY s.name))
               FROM batch b ORDER BY b.id",
        )?;
        let rows = statement
            .query_map([], |row| {
                Ok(BatchSummary {
                    id: row.get(0)?,
                    saved_on: row.get(1)?,
                    source: row.get(2)?,
                    worker: row.get(3)?,
                    voided_reason: row.get(4)?,
                    contacts: row.get(5)?,
                    voided_contacts: row.get(6)?,
                    items: row.get(7)?,
                    sites: row.get::<_, Option<String>>(8)?.unwrap_or_default(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Voids a whole batch; returns how many contacts it holds.
    pub fn void_batch(&mut self, batch: i64, reason: VoidReason, today: NaiveDate) -> Result<i64> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (count, voided) = batch_state(&tx, batch)?;
        if voided {
            return Err(Error::AlreadyVoided(format!("batch {batch}")));
        }
        retention::refuse_closed(&tx, batch_years(&tx, batch)?)?;
        tx.execute(
            "UPDATE batch SET voided_reason = ?1, voided_on = ?2 WHERE id = ?3",
            params![reason.as_str(), today.to_string(), batch],
        )?;
        tx.commit()?;
        Ok(count)
    }

    /// Voids contact number `position` (1 = first) of a batch.
    pub fn void_contact(
        &mut self,
        batch: i64,
        position: i64,
        reason: VoidReason,
        today: NaiveDate,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (count, voided) = batch_state(&tx, batch)?;
        if voided {
            return Err(Error::AlreadyVoided(format!("batch {batch}")));
        }
        // Only this contact's year matters: a batch can straddle a closed year's end.
        let year: Option<i32> = tx
            .query_row(
                "SELECT fiscal_year FROM contact WHERE batch_id = ?1 AND position = ?2",
                params![batch, position],
                |row| row.get(0),
            )
            .optional()?;
        retention::refuse_closed(&tx, year)?;
        if !(1..=count).contains(&position) {
            return Err(Error::NoSuchContact {
                batch,
                contact: position,
                count,
            });
        }
        let changed = tx.execute(
            "UPDATE contact SET voided_reason = ?1, voided_on = ?2
              WHERE batch_id = ?3 AND position = ?4 AND voided_reason IS NULL",
            params![reason.as_str(), today.to_string(), batch, position],
        )?;
        if changed == 0 {
            return Err(Error::AlreadyVoided(format!(
                "contact {position} of batch {batch}"
            )));
        }
        tx.commit()?;
        Ok(())
    }

    /// Calls `each` with the participant and day of every live contact with a code on
    /// the days from `from` up to, not including, `before`, in day order: what a report
    /// starting mid-year needs to know who is new, without the items.
    pub fn for_each_live_participant(
        &self,
        from: NaiveDate,
        before: NaiveDate,
        mut each: impl FnMut(Participant, NaiveDate),
    ) -> Result<()> {
        let mut statement = self.conn.prepare(&format!(
            "SELECT c.fiscal_year, c.code, c.day
               FROM contact c JOIN batch b ON b.id = c.batch_id
              WHERE {LIVE_CONTACT} AND c.code IS NOT NULL AND c.day >= ?1 AND c.day < ?2
              ORDER BY c.day, c.id"
        ))?;
        let mut rows = statement.query(params![from.to_string(), before.to_string()])?;
        while let Some(row) = rows.next()? {
            if let Some(code) = code_at(row, 1)? {
                each((row.get(0)?, code), day_at(row, 2)?);
            }
        }
        Ok(())
    }

    /// Calls `each` with every live contact (neither it nor its batch voided) whose day
    /// is in `from..=to`, in day order, streaming, so a large program is never held in
    /// memory whole and a report can publish each period once the days move past it.
    pub fn for_each_live_contact(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        mut each: impl FnMut(&ReportContact),
    ) -> Result<()> {
        // The day index gives day order with no sort: (day, rowid) is its key.
        let mut statement = self.conn.prepare(&format!(
            "SELECT c.id, c.day, c.fiscal_year, c.site_id, c.code, c.reversals, c.for_others,
                    c.returned, c.naloxone_reason, ci.item_id, ci.quantity
               FROM contact c
               JOIN batch b ON b.id = c.batch_id
               LEFT JOIN contact_item ci ON ci.contact_id = c.id
              WHERE {LIVE_CONTACT} AND c.day BETWEEN ?1 AND ?2
              ORDER BY c.day, c.id"
        ))?;
        let mut rows = statement.query(params![from.to_string(), to.to_string()])?;
        // One contact, refilled for each row of a new id: no allocation per contact.
        let mut contact: Option<(i64, ReportContact)> = None;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            match contact.as_mut() {
                Some((open, _)) if *open == id => {}
                Some((open, current)) => {
                    each(current);
                    *open = id;
                    fill_report_contact(current, row)?;
                }
                None => {
                    let mut current = ReportContact::default();
                    fill_report_contact(&mut current, row)?;
                    contact = Some((id, current));
                }
            }
            if let (Some((_, current)), Some(item)) =
                (contact.as_mut(), row.get::<_, Option<i64>>(9)?)
            {
                current.items.push((item, row.get(10)?));
            }
        }
        if let Some((_, last)) = contact {
            each(&last);
        }
        Ok(())
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

    /// The shift being typed, if one was left unsaved.
    pub fn open_draft(&self) -> Result<Option<Draft>> {
        Ok(self
            .conn
            .query_row(
                "SELECT d.id, d.day, d.site_id, d.worker,
                        (SELECT count(*) FROM shift_draft_contact c WHERE c.draft_id = d.id)
                   FROM shift_draft d ORDER BY d.id LIMIT 1",
                [],
                |row| {
                    Ok(Draft {
                        id: row.get(0)?,
                        day: row.get(1)?,
                        site_id: row.get(2)?,
                        worker: row.get(3)?,
                        contacts: row.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// Starts a draft shift; refuses when one is already open (one at a time, so a
    /// forgotten draft is always found and finished or discarded).
    pub fn create_draft(
        &mut self,
        day: NaiveDate,
        site_id: i64,
        worker: Option<&WorkerLabel>,
        today: NaiveDate,
    ) -> Result<Draft> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let open: i64 = tx.query_row("SELECT count(*) FROM shift_draft", [], |row| row.get(0))?;
        if open > 0 {
            return Err(Error::DraftOpen);
        }
        tx.execute(
            "INSERT INTO shift_draft (day, site_id, worker, started_on) VALUES (?1, ?2, ?3, ?4)",
            params![
                day.to_string(),
                site_id,
                worker.map(WorkerLabel::as_str),
                today.to_string()
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Draft {
            id,
            day,
            site_id,
            worker: worker.map(|w| w.as_str().to_owned()),
            contacts: 0,
        })
    }

    /// Keeps one accepted line; returns its position. Committed at once: this is what
    /// makes a crash lose nothing.
    pub fn add_draft_contact(&mut self, draft: i64, contact: &ContactDraft) -> Result<i64> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let position: i64 = tx.query_row(
            "SELECT coalesce(max(position), 0) + 1 FROM shift_draft_contact WHERE draft_id = ?1",
            [draft],
            |row| row.get(0),
        )?;
        tx.execute(
            "INSERT INTO shift_draft_contact (draft_id, position, fiscal_year, code, reversals,
                                              for_others, returned, naloxone_reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                draft,
                position,
                contact.fiscal_year.start_year(),
                contact.code.as_ref().map(|c| c.as_bytes().as_slice()),
                contact.reversals,
                contact.for_others,
                contact.returned,
                contact.naloxone_reason.map(NaloxoneReason::as_str),
            ],
        )?;
        for (item, quantity) in &contact.items {
            tx.execute(
                "INSERT INTO shift_draft_item (draft_id, position, item_id, quantity)
                 VALUES (?1, ?2, ?3, ?4)",
                params![draft, position, item, quantity],
            )?;
        }
        tx.commit()?;
        Ok(position)
    }

    /// Erases the last line of a draft (`undo`); `None` when there is none.
    pub fn remove_last_draft_contact(&mut self, draft: i64) -> Result<Option<i64>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last: Option<i64> = tx.query_row(
            "SELECT max(position) FROM shift_draft_contact WHERE draft_id = ?1",
            [draft],
            |row| row.get(0),
        )?;
        if let Some(position) = last {
            tx.execute(
                "DELETE FROM shift_draft_item WHERE draft_id = ?1 AND position = ?2",
                params![draft, position],
            )?;
            tx.execute(
                "DELETE FROM shift_draft_contact WHERE draft_id = ?1 AND position = ?2",
                params![draft, position],
            )?;
        }
        tx.commit()?;
        Ok(last)
    }

    /// A draft's lines as contacts, in order.
    pub fn draft_contacts(
        &self,
        draft: &Draft,
        calendar: FiscalCalendar,
    ) -> Result<Vec<ContactDraft>> {
        let mut contacts = Vec::new();
        let mut statement = self.conn.prepare(
            "SELECT position, code, reversals, for_others, returned, naloxone_reason
               FROM shift_draft_contact WHERE draft_id = ?1 ORDER BY position",
        )?;
        let mut items = self.conn.prepare(
            "SELECT item_id, quantity FROM shift_draft_item
              WHERE draft_id = ?1 AND position = ?2 ORDER BY item_id",
        )?;
        let mut rows = statement.query([draft.id])?;
        while let Some(row) = rows.next()? {
            let position: i64 = row.get(0)?;
            let reason: Option<String> = row.get(5)?;
            contacts.push(ContactDraft {
                day: draft.day,
                fiscal_year: calendar.year_of(draft.day),
                site_id: draft.site_id,
                code: code_at(row, 1)?,
                items: items
                    .query_map(params![draft.id, position], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?,
                reversals: row.get(2)?,
                for_others: row.get(3)?,
                returned: row.get(4)?,
                naloxone_reason: reason.as_deref().and_then(NaloxoneReason::parse),
            });
        }
        Ok(contacts)
    }

    /// Erases a draft and every line of it (`quit`, `--discard`).
    pub fn discard_draft(&mut self, draft: i64) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        delete_draft(&tx, draft)?;
        tx.commit()?;
        Ok(())
    }

    /// Turns a draft into a saved batch and erases the draft, in one transaction.
    pub fn save_draft(&mut self, draft: &Draft, batch: &NewBatch) -> Result<i64> {
        let header = BatchHeader {
            source: batch.source,
            worker: batch.worker.clone(),
            saved_on: batch.saved_on,
        };
        // The same writer as imports, so there is one way a batch is saved.
        let (batch_id, ()) = self.save_batch_with(&header, |writer| {
            // A second window resumed on the same draft may have added lines since they
            // were read: saving the old list and deleting the draft would lose those.
            let kept: i64 = writer.conn.query_row(
                "SELECT count(*) FROM shift_draft_contact WHERE draft_id = ?1",
                [draft.id],
                |row| row.get(0),
            )?;
            if usize::try_from(kept).ok() != Some(batch.contacts.len()) {
                return Err(Error::DraftChanged);
            }
            for contact in &batch.contacts {
                writer.add(contact)?;
            }
            delete_draft(writer.conn, draft.id)
        })?;
        Ok(batch_id)
    }

    /// The connection, for the report queries in this module's siblings' tests.
    #[cfg(test)]
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Rows written per INSERT statement by a [`ContactWriter`]. One statement per row
/// spends most of a big import on statement overhead (opening cursors on the table and
/// each index, foreign-key lookups); 64 rows amortise it and stay far below SQLite's
/// limit of bound values per statement.
const CHUNK: usize = 64;

const CONTACT_COLUMNS: &str = "INSERT INTO contact (id, batch_id, position, day, fiscal_year, \
     site_id, code, reversals, for_others, returned, naloxone_reason) VALUES ";
const CONTACT_VALUES: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const LINE_COLUMNS: &str = "INSERT INTO contact_item (contact_id, item_id, quantity) VALUES ";
const LINE_VALUES: &str = "(?, ?, ?)";

/// A contact waiting in a [`ContactWriter`]'s buffer, held by value: buffering allocates
/// nothing per contact.
#[derive(Debug, Clone, Copy)]
struct PendingContact {
    id: i64,
    position: i64,
    day: NaiveDate,
    fiscal_year: i32,
    site_id: i64,
    code: Option<[u8; CODE_BYTES]>,
    reversals: u32,
    for_others: u32,
    returned: u32,
    naloxone_reason: Option<&'static str>,
}

/// Writes the contacts of one batch, in order, inside `Store::save_batch_with`'s
/// transaction, 64 rows to a prepared statement.
pub struct ContactWriter<'t> {
    conn: &'t Connection,
    /// `INSERT`s of exactly `CHUNK` rows; a batch's last rows use a statement sized
    /// to fit.
    contact_chunk: rusqlite::Statement<'t>,
    line_chunk: rusqlite::Statement<'t>,
    batch_id: i64,
    /// Id of the last contact added.
    last_id: i64,
    /// Fiscal years closed with `close-year`, which take no more contacts.
    closed_years: Vec<i32>,
    /// The first closed year a contact fell in, reported when the batch ends.
    first_closed: Option<i32>,
    position: i64,
    contacts: Vec<PendingContact>,
    /// `(contact id, item id, quantity)`.
    lines: Vec<(i64, i64, u32)>,
    sheet_digest: Option<[u8; 32]>,
}

impl ContactWriter<'_> {
    /// Adds the next contact (position 1 is the first). It may stay buffered until the
    /// batch is committed.
    pub fn add(&mut self, draft: &ContactDraft) -> Result<()> {
        self.position += 1;
        self.last_id += 1;
        let year = draft.fiscal_year.start_year();
        if self.first_closed.is_none() && self.closed_years.contains(&year) {
            self.first_closed = Some(year);
        }
        self.contacts.push(PendingContact {
            id: self.last_id,
            position: self.position,
            day: draft.day,
            fiscal_year: draft.fiscal_year.start_year(),
            site_id: draft.site_id,
            code: draft.code.map(|c| *c.as_bytes()),
            reversals: draft.reversals,
            for_others: draft.for_others,
            returned: draft.returned,
            naloxone_reason: draft
                .naloxone_reason
                .map(crate::contact::NaloxoneReason::as_str),
        });
        for (item, quantity) in &draft.items {
            self.lines.push((self.last_id, *item, *quantity));
        }
        if self.contacts.len() == CHUNK {
            self.flush_contacts()?;
            // Lines only ever follow their contacts into the file.
            self.flush_lines(false)?;
        }
        Ok(())
    }

    /// The keyed digest of an imported sheet's content, checked for duplicates and
    /// stored when the batch is committed.
    pub fn set_sheet_digest(&mut self, digest: [u8; 32]) {
        self.sheet_digest = Some(digest);
    }

    /// Writes the buffered contacts (all of them: call only when the buffer is full or
    /// the batch ends).
    fn flush_contacts(&mut self) -> Result<()> {
        if self.contacts.is_empty() {
            return Ok(());
        }
        let mut fitted;
        let statement = if self.contacts.len() == CHUNK {
            &mut self.contact_chunk
        } else {
            fitted = self.conn.prepare(&insert_sql(
                CONTACT_COLUMNS,
                CONTACT_VALUES,
                self.contacts.len(),
            ))?;
            &mut fitted
        };
        let mut index = 0;
        let mut day = [0; 10];
        for contact in &self.contacts {
            let mut bind = |value: &dyn rusqlite::ToSql| {
                index += 1;
                statement.raw_bind_parameter(index, value)
            };
            bind(&contact.id)?;
            bind(&self.batch_id)?;
            bind(&contact.position)?;
            bind(&day_text(contact.day, &mut day))?;
            bind(&contact.fiscal_year)?;
            bind(&contact.site_id)?;
            bind(&contact.code.as_ref().map(<[u8; CODE_BYTES]>::as_slice))?;
            bind(&contact.reversals)?;
            bind(&contact.for_others)?;
            bind(&contact.returned)?;
            bind(&contact.naloxone_reason)?;
        }
        statement.raw_execute()?;
        self.contacts.clear();
        Ok(())
    }

    /// Writes the buffered item lines whose contacts are written: whole chunks, and
    /// with `all` the remainder too.
    fn flush_lines(&mut self, all: bool) -> Result<()> {
        let whole = self.lines.len() / CHUNK * CHUNK;
        for chunk in self.lines[..whole].chunks(CHUNK) {
            bind_lines(&mut self.line_chunk, chunk)?;
            self.line_chunk.raw_execute()?;
        }
        self.lines.drain(..whole);
        if all && !self.lines.is_empty() {
            let mut statement =
                self.conn
                    .prepare(&insert_sql(LINE_COLUMNS, LINE_VALUES, self.lines.len()))?;
            bind_lines(&mut statement, &self.lines)?;
            statement.raw_execute()?;
            self.lines.clear();
        }
        Ok(())
    }
}

fn bind_lines(statement: &mut rusqlite::Statement<'_>, lines: &[(i64, i64, u32)]) -> Result<()> {
    let mut index = 0;
    for (contact, item, quantity) in lines {
        for value in [*contact, *item, i64::from(*quantity)] {
            index += 1;
            statement.raw_bind_parameter(index, value)?;
        }
    }
    Ok(())
}

/// `columns` followed by `rows` copies of `values`, comma-separated.
fn insert_sql(columns: &str, values: &str, rows: usize) -> String {
    let mut sql = String::with_capacity(columns.len() + rows * (values.len() + 2));
    sql.push_str(columns);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push_str(values);
    }
    sql
}

impl fmt::Debug for ContactWriter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContactWriter")
            .field("batch_id", &self.batch_id)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

/// The stored day in column `index`, read by [`crate::fiscal::parse_day`] (a report
/// reads one day per contact); a day beyond year 9999 falls back to chrono.
fn day_at(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<NaiveDate> {
    if let Ok(text) = row.get_ref(index)?.as_str() {
        if let Ok(day) = crate::fiscal::parse_day(text) {
            return Ok(day);
        }
    }
    row.get(index)
}

/// A day as stored, `YYYY-MM-DD`, written into `buffer` without allocating: a big import
/// writes one per contact.
fn day_text(day: NaiveDate, buffer: &mut [u8; 10]) -> std::borrow::Cow<'_, str> {
    let Ok(year) = u32::try_from(day.year()) else {
        return day.to_string().into();
    };
    if year > 9999 {
        return day.to_string().into();
    }
    let mut put = |at: usize, digits: usize, mut value: u32| {
        for slot in buffer[at..at + digits].iter_mut().rev() {
            *slot = b'0' + u8::try_from(value % 10).expect("a digit");
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, day.month());
    put(8, 2, day.day());
    buffer[4] = b'-';
    buffer[7] = b'-';
    std::str::from_utf8(buffer).expect("ASCII digits").into()
}

/// One place for every connection setting, each with its reason.
fn configure(conn: &Connection) -> Result<()> {
    // Invariant 6: erased rows are overwritten with zeros, not left in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    // Sites and items cannot vanish from under the contacts that name them.
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A rollback journal, not WAL: after each command the program is one file, with no
    // -wal file keeping old page images (codes a later erasure removed) around.
    conn.pragma_update_and_check(None, "journal_mode", "DELETE", |row| {
        row.get::<_, String>(0)
    })?;
    // A 64 MB page cache (SQLite's default is 2 MB): the indexes of a large program,
    // codes above all, are written in random order, and a cache that holds them turns
    // a big import from disk-bound into CPU-bound. It is a ceiling, not an allocation.
    conn.pragma_update(None, "cache_size", -65_536)?;
    // Sorting and temporary tables stay in memory: no temp file ever holds a code.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Two workers saving at once: the second waits for the first instead of failing.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(())
}

fn delete_draft(tx: &Connection, draft: i64) -> Result<()> {
    tx.execute("DELETE FROM shift_draft_item WHERE draft_id = ?1", [draft])?;
    tx.execute(
        "DELETE FROM shift_draft_contact WHERE draft_id = ?1",
        [draft],
    )?;
    tx.execute("DELETE FROM shift_draft WHERE id = ?1", [draft])?;
    Ok(())
}

fn insert_slot(conn: &Connection, label: &str, slot: &KeySlot, today: NaiveDate) -> Result<()> {
    conn.execute(
        "INSERT INTO key_slot (label, kdf_salt, kdf_iterations, nonce, sealed_key, created_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            label,
            slot.salt,
            slot.iterations,
            slot.nonce,
            slot.sealed_key,
            today.to_string()
        ],
    )?;
    Ok(())
}

fn find_import(conn: &Connection, digest: &[u8; 32]) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT id FROM batch WHERE sheet_digest = ?1 AND voided_reason IS NULL
              ORDER BY id LIMIT 1",
            [digest.as_slice()],
            |row| row.get(0),
        )
        .optional()?)
}

/// `(contacts, is voided)` of a batch, or `NoSuchBatch`.
fn batch_state(conn: &Connection, batch: i64) -> Result<(i64, bool)> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM contact WHERE batch_id = b.id), b.voided_reason IS NOT NULL
           FROM batch b WHERE b.id = ?1",
        [batch],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()?
    .ok_or(Error::NoSuchBatch(batch))
}

/// The fiscal years a batch's contacts fall in.
fn batch_years(conn: &Connection, batch: i64) -> Result<Vec<i32>> {
    let mut statement =
        conn.prepare("SELECT DISTINCT fiscal_year FROM contact WHERE batch_id = ?1")?;
    let years = statement
        .query_map([batch], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(years)
}

/// Overwrites `contact` with the contact columns of `row`, keeping its item buffer.
fn fill_report_contact(contact: &mut ReportContact, row: &rusqlite::Row<'_>) -> Result<()> {
    let reason = row
        .get_ref(8)?
        .as_str_or_null()
        .map_err(rusqlite::Error::from)?;
    contact.day = day_at(row, 1)?;
    contact.fiscal_year = row.get(2)?;
    contact.site_id = row.get(3)?;
    contact.code = code_at(row, 4)?;
    contact.items.clear();
    contact.reversals = row.get(5)?;
    contact.for_others = row.get(6)?;
    contact.returned = row.get(7)?;
    contact.naloxone_reason = reason.and_then(NaloxoneReason::parse);
    Ok(())
}

/// The stored code blob in column `index` back as a code, read in place; a blob of the wrong length (impossible under the
/// schema's CHECK) is treated as anonymous rather than failing a report.
fn code_at(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Option<ParticipantCode>> {
    let blob = row.get_ref(index)?.as_blob_or_null()?;
    Ok(blob
        .and_then(|bytes| <[u8; CODE_BYTES]>::try_from(bytes).ok())
        .map(ParticipantCode::from_bytes))
}

fn journal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-journal");
    PathBuf::from(name)
}

/// A file SQLite cannot read is "not a program" when it does not even start like a
/// SQLite database (someone pointed --db at a spreadsheet), and "damaged" when it
/// does: then restoring the last backup is the right advice.
fn not_a_program(error: Error, path: &Path) -> Error {
    const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
    let mut head = [0u8; 16];
    let looks_like_sqlite = std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut head))
        .is_ok_and(|()| &head == SQLITE_MAGIC);
    match error {
        Error::Damaged if !looks_like_sqlite => Error::NotAProgram(path.to_owned()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            calendar: FiscalCalendar::default(),
            min_cell: 5,
            code_format: None,
            key_check: vec![7; 32],
        }
    }

    fn slot() -> KeySlot {
        KeySlot {
            salt: vec![1; 16],
            iterations: 600_000,
            nonce: vec![2; 12],
            sealed_key: vec![3; 48],
        }
    }

    pub(super) fn new_store(dir: &tempfile::TempDir) -> Store {
        let settings = settings();
        let slot = slot();
        Store::create(
            &dir.path().join("p.db"),
            &NewProgram {
                settings: &settings,
                slot: &slot,
                slot_label: "first",
                today: "2026-11-22".parse().unwrap(),
            },
        )
        .unwrap()
    }

    #[test]
    fn create_then_open_round_trips_settings_and_slots() {
        let dir = tempfile::tempdir().unwrap();
        drop(new_store(&dir));
        let store = Store::open(&dir.path().join("p.db")).unwrap();
        assert_eq!(store.settings().unwrap(), settings());
        assert_eq!(store.key_slots().unwrap(), vec![slot()]);
        assert_eq!(store.catalogue().unwrap().items.len(), 8);
    }

    #[test]
    fn create_refuses_an_existing_file_and_leaves_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        std::fs::write(&path, b"precious").unwrap();
        let settings = settings();
        let slot = slot();
        let result = Store::create(
            &path,
            &NewProgram {
                settings: &settings,
                slot: &slot,
                slot_label: "first",
                today: "2026-11-22".parse().unwrap(),
            },
        );
        assert!(matches!(result, Err(Error::ProgramExists(_))));
        assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    }

    #[test]
    fn pragmas_are_set_on_every_connection() {
        let dir = tempfile::tempdir().unwrap();
        drop(new_store(&dir));
        let store = Store::open(&dir.path().join("p.db")).unwrap();
        let conn = store.connection();
        let get = |name: &str| -> String {
            conn.pragma_query_value(None, name, |row| {
                row.get::<_, rusqlite::types::Value>(0)
                    .map(|v| format!("{v:?}"))
            })
            .unwrap()
        };
        assert_eq!(get("secure_delete"), "Integer(1)");
        assert_eq!(get("foreign_keys"), "Integer(1)");
        assert_eq!(get("journal_mode"), "Text(\"delete\")");
        assert_eq!(get("temp_store"), "Integer(2)");
    }

    #[test]
    fn opening_twice_migrates_nothing_the_second_time() {
        let dir = tempfile::tempdir().unwrap();
        drop(new_store(&dir));
        for _ in 0..2 {
            let store = Store::open(&dir.path().join("p.db")).unwrap();
            let version: i64 = store
                .connection()
                .pragma_query_value(None, "user_version", |row| row.get(0))
                .unwrap();
            assert_eq!(version, SCHEMA_VERSION);
        }
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = new_store(&dir);
        store
            .connection()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(store);
        let result = Store::open(&dir.path().join("p.db"));
        assert!(matches!(result, Err(Error::NewerSchema { .. })));
    }

    /// Invariant 6: with kitlog's connection settings, deleted rows are zeroed on disk.
    /// The same steps without `secure_delete` leave the bytes behind, so this test
    /// would catch the pragma going missing.
    #[test]
    fn invariant_6_erased_rows_leave_no_bytes_behind() {
        let marker = b"ERASE-ME-7Q2X-ERASE-ME-7Q2X";
        for secure in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let store = new_store(&dir);
            let conn = store.connection();
            if !secure {
                conn.pragma_update(None, "secure_delete", "OFF").unwrap();
            }
            conn.execute("CREATE TABLE scratch (b BLOB)", []).unwrap();
            for _ in 0..50 {
                conn.execute("INSERT INTO scratch VALUES (?1)", [&marker[..]])
                    .unwrap();
            }
            conn.execute("DELETE FROM scratch", []).unwrap();
            drop(store);
            let bytes = std::fs::read(dir.path().join("p.db")).unwrap();
            let lingers = bytes.windows(marker.len()).any(|w| w == marker);
            assert_eq!(lingers, !secure, "secure_delete = {secure}");
        }
    }

    fn draft(day: &str) -> ContactDraft {
        ContactDraft {
            day: day.parse().unwrap(),
            fiscal_year: crate::fiscal::FiscalYear::starting_in(2026),
            site_id: 1,
            code: Some(ParticipantCode::from_bytes([9; CODE_BYTES])),
            items: vec![(1, 2), (3, 1)],
            reversals: 1,
            for_others: 0,
            returned: 5,
            naloxone_reason: None,
        }
    }

    fn header() -> BatchHeader {
        BatchHeader {
            source: crate::contact::BatchSource::Import,
            worker: None,
            saved_on: "2026-11-22".parse().unwrap(),
        }
    }

    fn count(store: &Store, table: &str) -> i64 {
        store
            .connection()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap()
    }

    #[test]
    fn a_streamed_batch_is_kept_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = new_store(&dir);
        store.add_site("van").unwrap();
        let failed = store.save_batch_with(&header(), |writer| {
            writer.add(&draft("2026-11-20"))?;
            writer.add(&draft("2026-11-21"))?;
            Err::<(), _>(Error::Damaged)
        });
        assert!(matches!(failed, Err(Error::Damaged)));
        for table in ["batch", "contact", "contact_item"] {
            assert_eq!(count(&store, table), 0, "{table}");
        }

        let (id, ()) = store
            .save_batch_with(&header(), |writer| {
                writer.add(&draft("2026-11-20"))?;
                writer.add(&draft("2026-11-21"))?;
                writer.set_sheet_digest([4; 32]);
                Ok(())
            })
            .unwrap();
        assert_eq!(count(&store, "contact"), 2);
        assert_eq!(count(&store, "contact_item"), 4);
        assert_eq!(store.find_import(&[4; 32]).unwrap(), Some(id));
        let days: Vec<String> = store
            .connection()
            .prepare("SELECT day FROM contact ORDER BY position")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(days, ["2026-11-20", "2026-11-21"]);

        // The same digest again is refused at the end, and its contacts rolled back.
        let again = store.save_batch_with(&header(), |writer| {
            writer.add(&draft("2026-11-20"))?;
            writer.set_sheet_digest([4; 32]);
            Ok(())
        });
        assert!(matches!(again, Err(Error::AlreadyImported(existing)) if existing == id));
        assert_eq!(count(&store, "contact"), 2);
        assert_eq!(count(&store, "batch"), 1);
    }

    #[test]
    fn days_are_read_as_chrono_reads_them() {
        let conn = Connection::open_in_memory().unwrap();
        for text in [
            "2026-11-20",
            "0001-01-01",
            "2024-02-29",
            "+12345-01-02",
            "2026-1-20",
        ] {
            let (ours, theirs): (NaiveDate, NaiveDate) = conn
                .query_row("SELECT ?1, ?1", [text], |row| {
                    Ok((day_at(row, 0)?, row.get(1)?))
                })
                .unwrap();
            assert_eq!(ours, theirs, "{text}");
        }
        for text in ["2026-02-30", "not a day"] {
            let ours = conn.query_row("SELECT ?1", [text], |row| day_at(row, 0));
            assert!(ours.is_err(), "{text}");
        }
    }

    #[test]
    fn days_are_written_as_chrono_writes_them() {
        for text in ["2026-11-20", "0001-01-01", "9999-12-31", "2024-02-29"] {
            let day: NaiveDate = text.parse().unwrap();
            assert_eq!(day_text(day, &mut [0; 10]), day.to_string());
        }
        let far = NaiveDate::from_ymd_opt(12_345, 1, 2).unwrap();
        assert_eq!(day_text(far, &mut [0; 10]), far.to_string());
    }

    /// The structure of a database, compared column by column, index by index,
    /// foreign key by foreign key (not by CREATE text, which ALTER rewrites).
    fn structure(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for table in tables {
            for query in [
                "SELECT name || ' ' || type || ' ' || \"notnull\" || ' ' || coalesce(dflt_value, '') || ' ' || pk FROM pragma_table_info(?1)",
                "SELECT il.name || ' ' || il.\"unique\" || ' ' || il.partial || ' ' || (SELECT group_concat(coalesce(name, '?')) FROM pragma_index_info(il.name)) FROM pragma_index_list(?1) il ORDER BY il.name",
                "SELECT \"table\" || ' ' || \"from\" || ' ' || coalesce(\"to\", '') FROM pragma_foreign_key_list(?1)",
            ] {
                let rows: Vec<String> = conn
                    .prepare(query)
                    .unwrap()
                    .query_map([&table], |row| row.get(0))
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap();
                out.extend(rows.into_iter().map(|r| format!("{table}: {r}")));
            }
        }
        out
    }

    /// schema.sql stays the single source of truth: version 1 plus every migration
    /// must give the same structure as a fresh schema.sql.
    #[test]
    fn migrations_and_schema_agree() {
        let fresh = Connection::open_in_memory().unwrap();
        fresh.execute_batch(SCHEMA).unwrap();
        let migrated = Connection::open_in_memory().unwrap();
        migrated
            .execute_batch(include_str!("../migrations/0001_initial.sql"))
            .unwrap();
        for migration in MIGRATIONS {
            migrated.execute_batch(migration).unwrap();
        }
        assert_eq!(structure(&fresh), structure(&migrated));
        let version = |c: &Connection| -> i64 {
            c.pragma_query_value(None, "user_version", |row| row.get(0))
                .unwrap()
        };
        assert_eq!(version(&fresh), SCHEMA_VERSION);
    }

    /// A program made by every earlier released version opens in this one: migrated
    /// once, to the structure of schema.sql, with its settings, slots and contacts
    /// intact and reportable.
    #[test]
    #[expect(
        clippy::disallowed_methods,
        reason = "builds an old file by hand, without kitlog's own opening code"
    )]
    fn programs_of_every_earlier_version_open_and_keep_their_data() {
        for old in 1..SCHEMA_VERSION {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("old.db");
            {
                let conn = Connection::open(&path).unwrap();
                conn.execute_batch(include_str!("../migrations/0001_initial.sql"))
                    .unwrap();
                for (step, migration) in MIGRATIONS
                    .iter()
                    .enumerate()
                    .take(usize::try_from(old - 1).unwrap())
                {
                    conn.execute_batch(migration).unwrap();
                    conn.pragma_update(None, "user_version", step as i64 + 2)
                        .unwrap();
                }
                conn.execute_batch(
                    "INSERT INTO program VALUES (1, 4, 5, NULL, zeroblob(32), '2026-01-01');
                     INSERT INTO key_slot VALUES (1, 'initial', zeroblob(16), 600000, zeroblob(12), zeroblob(48), '2026-01-01');
                     INSERT INTO site (id, name) VALUES (1, 'downtown-van');
                     INSERT INTO item (id, name, category, unit) VALUES (1, 'syringe', 'injection', 'syringe');
                     INSERT INTO batch (id, saved_on, source) VALUES (1, '2026-05-02', 'import');
                     INSERT INTO contact (id, batch_id, position, day, fiscal_year, site_id, code)
                          VALUES (1, 1, 1, '2026-05-01', 2026, 1, zeroblob(16));
                     INSERT INTO contact_item VALUES (1, 1, 10);",
                )
                .unwrap();
            }
            let store = Store::open(&path).unwrap();
            let version: i64 = store
                .connection()
                .pragma_query_value(None, "user_version", |row| row.get(0))
                .unwrap();
            assert_eq!(version, SCHEMA_VERSION, "from version {old}");
            let fresh = Connection::open_in_memory().unwrap();
            fresh.execute_batch(SCHEMA).unwrap();
            assert_eq!(
                structure(store.connection()),
                structure(&fresh),
                "from version {old}"
            );
            assert_eq!(store.settings().unwrap().min_cell, 5);
            assert_eq!(store.key_slots().unwrap().len(), 1);
            let mut contacts = Vec::new();
            store
                .for_each_live_contact(
                    "2026-04-01".parse().unwrap(),
                    "2027-03-31".parse().unwrap(),
                    |c| contacts.push(c.clone()),
                )
                .unwrap();
            assert_eq!(contacts.len(), 1);
            assert_eq!(contacts[0].items, vec![(1, 10)]);
        }
    }
}
