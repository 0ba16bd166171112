//! Saving a batch: one IMMEDIATE transaction into which the contacts are streamed as
//! they are read, 64 rows to a statement, so a sheet of any size is saved in flat
//! memory and either whole or not at all. Imports and shifts both save this way.

use std::fmt;

use chrono::NaiveDate;
use rusqlite::{Connection, TransactionBehavior, params};

use super::batches::find_import;
use super::{Store, day_text, retention};
use crate::code::CODE_BYTES;
use crate::contact::{BatchHeader, Contact};
use crate::error::{Error, Result};

impl Store {
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
        // Its identity on every device of the program, made now (never at draft time,
        // so a draft resumed twice cannot give two batches one id).
        tx.execute(
            "INSERT INTO batch_origin (batch_id, uid) VALUES (?1, ?2)",
            params![batch_id, crate::keys::random_id()?.as_slice()],
        )?;
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
    pub(super) conn: &'t Connection,
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
    pub fn add(&mut self, draft: &Contact) -> Result<()> {
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
            reversals: draft.counts.reversals,
            for_others: draft.counts.for_others,
            returned: draft.counts.returned,
            naloxone_reason: draft
                .counts
                .naloxone_reason
                .map(crate::contact::NaloxoneReason::as_str),
        });
        for (item, quantity) in &draft.counts.items {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::ParticipantCode;
    use crate::contact::Counts;
    use crate::store::tests::new_store;

    fn draft(day: &str) -> Contact {
        Contact {
            day: day.parse().unwrap(),
            fiscal_year: crate::fiscal::FiscalYear::starting_in(2026),
            site_id: 1,
            code: Some(ParticipantCode::from_bytes([9; CODE_BYTES])),
            counts: Counts {
                items: vec![(1, 2), (3, 1)],
                reversals: 1,
                returned: 5,
                ..Counts::default()
            },
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
}
