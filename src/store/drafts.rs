//! The shift being typed: each accepted line is committed at once, so a crash or a
//! closed window loses nothing, and `kitlog shift --resume` carries on. One draft at
//! a time; saving turns it into a batch through the same writer as an import.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Store, code_at};
use crate::contact::{BatchHeader, Contact, Counts, NaloxoneReason, NewBatch, WorkerLabel};
use crate::error::{Error, Result};
use crate::fiscal::FiscalCalendar;

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

impl Store {
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
    pub fn add_draft_contact(&mut self, draft: i64, contact: &Contact) -> Result<i64> {
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
                contact.counts.reversals,
                contact.counts.for_others,
                contact.counts.returned,
                contact.counts.naloxone_reason.map(NaloxoneReason::as_str),
            ],
        )?;
        for (item, quantity) in &contact.counts.items {
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
    pub fn draft_contacts(&self, draft: &Draft, calendar: FiscalCalendar) -> Result<Vec<Contact>> {
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
            contacts.push(Contact {
                day: draft.day,
                fiscal_year: calendar.year_of(draft.day),
                site_id: draft.site_id,
                code: code_at(row, 1)?,
                counts: Counts {
                    items: items
                        .query_map(params![draft.id, position], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<rusqlite::Result<_>>()?,
                    reversals: row.get(2)?,
                    for_others: row.get(3)?,
                    returned: row.get(4)?,
                    naloxone_reason: reason.as_deref().and_then(NaloxoneReason::parse),
                },
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
