//! What `kitlog month` reads: per site, shift day and batch, how many contacts were
//! saved and how many voided; and the drafts waiting. Counts only: no code, nor any
//! column of a single contact, is selected here.

use chrono::NaiveDate;

use super::{Store, day_at};
use crate::error::Result;
use crate::month::{BatchDay, DraftDay};

impl Store {
    /// Contacts per site, shift day (`contact.day`) and batch, for the days `from` to
    /// `to`, voided batches and contacts included (marked), in site, day and batch
    /// order. An import spanning several days gives a row for each.
    pub fn batch_days(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<BatchDay>> {
        let mut statement = self.conn.prepare(
            "SELECT s.name, c.day, b.id, b.source, b.worker, b.voided_reason,
                    sum(c.voided_reason IS NULL), sum(c.voided_reason IS NOT NULL)
               FROM contact c JOIN batch b ON b.id = c.batch_id JOIN site s ON s.id = c.site_id
              WHERE c.day BETWEEN ?1 AND ?2
              GROUP BY s.name, c.day, b.id
              ORDER BY s.name, c.day, b.id",
        )?;
        let rows = statement
            .query_map([from.to_string(), to.to_string()], |row| {
                Ok(BatchDay {
                    site: row.get(0)?,
                    day: day_at(row, 1)?,
                    batch: row.get(2)?,
                    source: row.get(3)?,
                    worker: row.get(4)?,
                    voided_reason: row.get(5)?,
                    contacts: row.get(6)?,
                    voided_contacts: row.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every draft shift waiting to be saved (normally at most one), with its site,
    /// day, worker label and the number of lines kept so far.
    pub fn drafts_waiting(&self) -> Result<Vec<DraftDay>> {
        let mut statement = self.conn.prepare(
            "SELECT s.name, d.day, d.worker,
                    (SELECT count(*) FROM shift_draft_contact c WHERE c.draft_id = d.id)
               FROM shift_draft d JOIN site s ON s.id = d.site_id
              ORDER BY d.day, s.name, d.id",
        )?;
        let rows = statement
            .query_map([], |row| {
                Ok(DraftDay {
                    site: row.get(0)?,
                    day: day_at(row, 1)?,
                    worker: row.get(2)?,
                    contacts: row.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::new_store;

    fn day(text: &str) -> NaiveDate {
        crate::fiscal::parse_day(text).unwrap()
    }

    /// Counts per site, day and batch, voids marked, only the days asked for.
    #[test]
    fn batch_days_count_per_site_day_and_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = new_store(&dir);
        store
            .conn
            .execute_batch(
                "INSERT INTO site (id, name) VALUES (1, 'van'), (2, 'hub');
                 INSERT INTO batch (id, saved_on, source, worker) VALUES
                   (1, '2026-11-21', 'import', 'JD'), (2, '2026-11-21', 'shift', NULL);
                 UPDATE batch SET voided_reason = 'test', voided_on = '2026-11-22', void_seq = 1
                  WHERE id = 2;
                 INSERT INTO contact (batch_id, position, day, fiscal_year, site_id, voided_reason)
                 VALUES (1, 1, '2026-11-19', 2026, 1, NULL), (1, 2, '2026-11-20', 2026, 1, NULL),
                        (1, 3, '2026-11-20', 2026, 1, 'entry-error'),
                        (1, 4, '2026-11-20', 2026, 2, NULL), (1, 5, '2026-12-01', 2026, 1, NULL),
                        (2, 1, '2026-11-20', 2026, 1, NULL);",
            )
            .unwrap();
        let rows = store
            .batch_days(day("2026-11-01"), day("2026-11-30"))
            .unwrap();
        let summary: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{} {} batch {} voided {:?}: {} + {} voided",
                    r.site, r.day, r.batch, r.voided_reason, r.contacts, r.voided_contacts
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "hub 2026-11-20 batch 1 voided None: 1 + 0 voided",
                "van 2026-11-19 batch 1 voided None: 1 + 0 voided",
                "van 2026-11-20 batch 1 voided None: 1 + 1 voided",
                "van 2026-11-20 batch 2 voided Some(\"test\"): 1 + 0 voided",
            ]
        );
        assert_eq!(rows[0].worker.as_deref(), Some("JD"));
        assert_eq!(rows[3].source, "shift");
        assert_eq!(store.drafts_waiting().unwrap(), []);
    }
}
