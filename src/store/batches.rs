//! Saved batches: listing them, finding an imported sheet by its keyed digest, and
//! voiding a batch or one contact. A void is a mark with a reason from a fixed list;
//! nothing here deletes a contact.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Store, retention};
use crate::contact::{BatchContact, BatchSummary, VoidReason};
use crate::error::{Error, Result};

/// The number of the next void, program-wide: voids are numbered in order so that a
/// period decided before a void can be counted as it was (see `store::reads`).
pub(super) const NEXT_VOID: &str = "(SELECT coalesce(max(seq), 0) + 1 FROM
     (SELECT max(void_seq) AS seq FROM batch UNION ALL SELECT max(void_seq) FROM contact))";

impl Store {
    /// The live (not voided) batch a sheet with this digest was saved as, if any.
    pub fn find_import(&self, digest: &[u8; 32]) -> Result<Option<i64>> {
        find_import(&self.conn, digest)
    }

    /// The contacts of batch `id` in order, voided ones included, without their
    /// codes; [`Error::NoSuchBatch`] if there is no such batch.
    pub fn batch_contacts(&self, id: i64) -> Result<Vec<BatchContact>> {
        let exists: Option<i64> = self
            .conn
            .query_row("SELECT id FROM batch WHERE id = ?1", [id], |row| row.get(0))
            .optional()?;
        if exists.is_none() {
            return Err(Error::NoSuchBatch(id));
        }
        let mut statement = self.conn.prepare(
            "SELECT c.position, c.day, s.name, c.code IS NOT NULL,
                    (SELECT group_concat(line, ', ') FROM
                       (SELECT i.name || ' ' || ci.quantity AS line
                          FROM contact_item ci JOIN item i ON i.id = ci.item_id
                         WHERE ci.contact_id = c.id ORDER BY i.name)),
                    c.reversals, c.for_others, c.returned, c.naloxone_reason, c.voided_reason
               FROM contact c JOIN site s ON s.id = c.site_id
              WHERE c.batch_id = ?1 ORDER BY c.position",
        )?;
        let rows = statement
            .query_map([id], |row| {
                Ok(BatchContact {
                    position: row.get(0)?,
                    day: row.get(1)?,
                    site: row.get(2)?,
                    coded: row.get(3)?,
                    items: row.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    counts: (row.get(5)?, row.get(6)?, row.get(7)?),
                    naloxone_reason: row.get(8)?,
                    voided_reason: row.get(9)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every batch, oldest first.
    pub fn batches(&self) -> Result<Vec<BatchSummary>> {
        let mut statement = self.conn.prepare(&format!(
            "SELECT b.id, b.saved_on, b.source, b.worker, b.voided_reason,
                    (SELECT count(*) FROM contact c WHERE c.batch_id = b.id),
                    (SELECT count(*) FROM contact c
                      WHERE c.batch_id = b.id AND c.voided_reason IS NOT NULL),
                    (SELECT coalesce(sum(ci.quantity), 0)
                       FROM contact c JOIN contact_item ci ON ci.contact_id = c.id
                      WHERE c.batch_id = b.id),
                    (SELECT group_concat(name, ',') FROM
                       (SELECT DISTINCT s.name FROM contact c JOIN site s ON s.id = c.site_id
                         WHERE c.batch_id = b.id ORDER BY s.name)),
                    (SELECT min(day) FROM contact c WHERE c.batch_id = b.id),
                    (SELECT max(day) FROM contact c WHERE c.batch_id = b.id),
                    EXISTS (SELECT 1 FROM batch_origin o WHERE o.batch_id = b.id AND {acknowledged}),
                    EXISTS (SELECT 1 FROM batch_origin o WHERE o.batch_id = b.id AND {refused}),
                    (SELECT d.label || coalesce(' (its batch ' || o.number || ')', '')
                       FROM batch_origin o JOIN device d ON d.id = o.device
                      WHERE o.batch_id = b.id)
               FROM batch b ORDER BY b.id",
            // Unqualified `device` and `uid` are batch_origin's, the nearest table.
            acknowledged = super::exchange::ACKNOWLEDGED,
            refused = super::exchange::REFUSED,
        ))?;
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
                    days: match (row.get(9)?, row.get(10)?) {
                        (Some(first), Some(last)) => Some((first, last)),
                        _ => None,
                    },
                    forwarded: row.get(11)?,
                    refused: row.get(12)?,
                    from: row.get(13)?,
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
        let count = live_batch(&tx, batch)?;
        retention::refuse_closed(&tx, batch_years(&tx, batch)?)?;
        tx.execute(
            &format!(
                "UPDATE batch SET voided_reason = ?1, voided_on = ?2, void_seq = {NEXT_VOID}
                  WHERE id = ?3"
            ),
            params![reason.as_str(), today.to_string(), batch],
        )?;
        record_void(&tx, batch, None, reason, today)?;
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
        let count = live_batch(&tx, batch)?;
        // Only this contact's year matters: a batch can straddle a closed year's end.
        let year: Option<i32> = tx
            .query_row(
                "SELECT fiscal_year FROM contact WHERE batch_id = ?1 AND position = ?2",
                params![batch, position],
                |row| row.get(0),
            )
            .optional()?;
        retention::refuse_closed(&tx, year)?;
        if count == 0 && forwarded(&tx, batch)? {
            return Err(Error::ContactForwarded(batch));
        }
        if !(1..=count).contains(&position) {
            return Err(Error::NoSuchContact {
                batch,
                contact: position,
                count,
            });
        }
        let changed = tx.execute(
            &format!(
                "UPDATE contact SET voided_reason = ?1, voided_on = ?2, void_seq = {NEXT_VOID}
                  WHERE batch_id = ?3 AND position = ?4 AND voided_reason IS NULL"
            ),
            params![reason.as_str(), today.to_string(), batch, position],
        )?;
        if changed == 0 {
            return Err(Error::ContactAlreadyVoided {
                batch,
                contact: position,
            });
        }
        record_void(&tx, batch, Some(position), reason, today)?;
        tx.commit()?;
        Ok(())
    }
}

pub(super) fn find_import(conn: &Connection, digest: &[u8; 32]) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT id FROM batch WHERE sheet_digest = ?1 AND voided_reason IS NULL
              ORDER BY id LIMIT 1",
            [digest.as_slice()],
            |row| row.get(0),
        )
        .optional()?)
}

/// Whether this worker's batch is at the coordinator, its contacts erased here.
fn forwarded(conn: &Connection, batch: i64) -> Result<bool> {
    Ok(conn.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM batch_origin WHERE batch_id = ?1 AND {})",
            super::exchange::ACKNOWLEDGED
        ),
        [batch],
        |row| row.get(0),
    )?)
}

/// Keeps a void as a fact of its own, the form in which it travels to the program's
/// other devices (see `void_event` in schema.sql).
fn record_void(
    conn: &Connection,
    batch: i64,
    position: Option<i64>,
    reason: VoidReason,
    today: NaiveDate,
) -> Result<()> {
    conn.execute(
        "INSERT INTO void_event (uid, batch_uid, position, reason, voided_on)
         SELECT ?1, uid, ?2, ?3, ?4 FROM batch_origin WHERE batch_id = ?5",
        params![
            crate::keys::random_id()?.as_slice(),
            position,
            reason.as_str(),
            today.to_string(),
            batch
        ],
    )?;
    Ok(())
}

/// How many contacts a batch holds, refusing a batch that does not exist or is voided.
fn live_batch(conn: &Connection, batch: i64) -> Result<i64> {
    let (count, voided): (i64, bool) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM contact WHERE batch_id = b.id), b.voided_reason IS NOT NULL
               FROM batch b WHERE b.id = ?1",
            [batch],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?
        .ok_or(Error::NoSuchBatch(batch))?;
    if voided {
        return Err(Error::BatchAlreadyVoided(batch));
    }
    Ok(count)
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
