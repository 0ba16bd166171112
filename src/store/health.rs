//! Keeping a program sound: a consistent copy through SQLite's online backup API,
//! the check of the file (SQLite's own) and of kitlog's rules, and the schema
//! described table by table for `kitlog privacy`.
//!
//! Nothing here prints a stored value: a broken rule is reported by its sentence.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{BUSY_TIMEOUT, SCHEMA, SCHEMA_VERSION, Store};
use crate::error::{Error, Result};
use crate::keys::DatabaseKey;

/// What `check` looked at, for its one-line report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSummary {
    /// kitlog rules checked (besides SQLite's integrity and foreign-key checks).
    pub rules: usize,
    /// Batches in the file, voided ones included.
    pub batches: i64,
    /// Contacts in the file, voided ones included.
    pub contacts: i64,
    /// The schema version.
    pub schema_version: i64,
}

/// One table of the schema and its columns with their declared types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaTable {
    /// Table name.
    pub name: String,
    /// `(column, declared type)` in table order.
    pub columns: Vec<(String, String)>,
}

/// kitlog's own rules, each a sentence (what the user reads when it breaks) and a
/// query counting what breaks it. The schema's CHECK constraints already guard most
/// of these; the rules catch a file edited by other tools (with checks ignored or the
/// schema rewritten) and what a CHECK cannot say (dates, numbering, naloxone lines).
const RULES: &[(&str, &str)] = &[
    (
        "the program has exactly one settings row, with a valid key check",
        "SELECT (SELECT count(*) FROM program) != 1
             OR (SELECT count(*) FROM program
                  WHERE id = 1 AND typeof(key_check) = 'blob' AND length(key_check) = 32
                    AND fiscal_year_start BETWEEN 1 AND 12 AND min_cell >= 1) != 1",
    ),
    (
        "every participant code is 16 bytes",
        "SELECT count(*) FROM contact
          WHERE code IS NOT NULL AND (typeof(code) != 'blob' OR length(code) != 16)",
    ),
    (
        "every quantity handed out is a positive whole number",
        "SELECT count(*) FROM contact_item WHERE typeof(quantity) != 'integer' OR quantity <= 0",
    ),
    (
        "reversals, for-others and returned counts are whole numbers, never negative",
        "SELECT count(*) FROM contact
          WHERE NOT (typeof(reversals) = 'integer' AND reversals >= 0
                 AND typeof(for_others) = 'integer' AND for_others >= 0
                 AND typeof(returned) = 'integer' AND returned >= 0)",
    ),
    (
        "every void has both a reason and a day",
        "SELECT (SELECT count(*) FROM batch WHERE (voided_reason IS NULL) != (voided_on IS NULL))
              + (SELECT count(*) FROM contact WHERE (voided_reason IS NULL) != (voided_on IS NULL))",
    ),
    (
        "every void, and only a void, has its number in the order of voids",
        "SELECT (SELECT count(*) FROM batch WHERE (voided_reason IS NULL) != (void_seq IS NULL))
              + (SELECT count(*) FROM contact WHERE (voided_reason IS NULL) != (void_seq IS NULL))",
    ),
    (
        "a naloxone reason is recorded only with a naloxone item",
        "SELECT count(*) FROM contact c
          WHERE c.naloxone_reason IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM contact_item ci JOIN item i ON i.id = ci.item_id
                             WHERE ci.contact_id = c.id AND i.category = 'naloxone')",
    ),
    (
        "the contacts of each batch are numbered 1, 2, 3 and so on, without gaps",
        "SELECT count(*) FROM (SELECT max(position) AS last, count(*) AS n
                                 FROM contact GROUP BY batch_id)
          WHERE last != n",
    ),
    (
        "every stored day is a calendar day written YYYY-MM-DD",
        "SELECT (SELECT count(*) FROM program WHERE date(created_on) IS NOT created_on)
              + (SELECT count(*) FROM site WHERE date(retired_on) IS NOT retired_on)
              + (SELECT count(*) FROM item WHERE date(retired_on) IS NOT retired_on)
              + (SELECT count(*) FROM batch
                  WHERE date(saved_on) IS NOT saved_on OR date(voided_on) IS NOT voided_on)
              + (SELECT count(*) FROM contact
                  WHERE date(day) IS NOT day OR date(voided_on) IS NOT voided_on)",
    ),
    (
        "every batch has its id across the program's laptops, and every void is kept as an event",
        "SELECT (SELECT count(*) FROM batch b
                  WHERE NOT EXISTS (SELECT 1 FROM batch_origin o WHERE o.batch_id = b.id))
              + (SELECT count(*) FROM batch b JOIN batch_origin o ON o.batch_id = b.id
                  WHERE b.voided_reason IS NOT NULL AND NOT EXISTS
                        (SELECT 1 FROM void_event e WHERE e.batch_uid = o.uid AND e.position IS NULL))
              + (SELECT count(*) FROM contact c JOIN batch_origin o ON o.batch_id = c.batch_id
                  WHERE c.voided_reason IS NOT NULL AND NOT EXISTS
                        (SELECT 1 FROM void_event e WHERE e.batch_uid = o.uid
                                                      AND e.position = c.position))",
    ),
    (
        "every contact's batch, site and items exist",
        "SELECT count(*) FROM pragma_foreign_key_check",
    ),
];

/// Checked in Rust, with the same [`crate::fiscal::FiscalCalendar`] that made the codes.
const FISCAL_YEAR_RULE: &str =
    "every contact's fiscal year is the one its day falls in under the program's fiscal calendar";

/// Checked against this build's [`SCHEMA_VERSION`].
const VERSION_RULE: &str = "the schema version is the one this kitlog writes";

impl Store {
    /// Writes a consistent copy of the program to `destination`, never overwriting.
    ///
    /// The copy is made by SQLite's online backup API in one step under a read lock,
    /// so a kitlog saving at the same moment waits (or is waited for) rather than
    /// tearing the copy. It is written owner-only to a temp file in the destination's
    /// folder, checked, synced, and only then given its name.
    /// The copy is encrypted under the same `key` as the program, page by page.
    pub fn backup_to(&self, destination: &Path, key: &DatabaseKey) -> Result<()> {
        if destination.symlink_metadata().is_ok() {
            return Err(Error::BackupExists(destination.to_owned()));
        }
        let folder = destination
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."));
        let mut builder = tempfile::Builder::new();
        builder.prefix(".kitlog-backup-").suffix(".tmp");
        // Owner-only, like the program itself: a backup holds the same codes.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
        let temp = builder
            .tempfile_in(folder)
            .map_err(|e| Error::file("create", destination, &e))?;

        let mut copy = open_backup_target(temp.path())?;
        copy.pragma_update(None, "key", key.pragma_value())?;
        copy_all_pages(&self.conn, &mut copy)?;
        let verdict: String = copy.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
        if verdict != "ok" {
            return Err(Error::Damaged);
        }
        copy.close().map_err(|(_, e)| Error::from(e))?;

        temp.as_file()
            .sync_all()
            .map_err(|e| Error::file("write", destination, &e))?;
        temp.persist_noclobber(destination).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::BackupExists(destination.to_owned())
            } else {
                Error::file("write", destination, &e.error)
            }
        })?;
        // The new name must survive a power cut too; not every platform can sync a folder.
        if let Ok(dir) = std::fs::File::open(folder) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// SQLite's integrity and foreign-key checks, then kitlog's own rules, all in one
    /// read transaction so a kitlog saving meanwhile cannot make it see half a batch.
    ///
    /// A file SQLite finds damaged is [`Error::Damaged`]; broken rules are
    /// [`Error::RulesBroken`], naming every rule broken and no value.
    pub fn check(&mut self) -> Result<CheckSummary> {
        let tx = self.conn.transaction()?;
        let mut findings = Vec::new();
        let mut statement = tx.prepare("PRAGMA integrity_check")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            findings.push(row.get::<_, String>(0)?);
        }
        drop(rows);
        drop(statement);
        if findings != ["ok"] {
            return Err(Error::Damaged);
        }

        let mut broken = Vec::new();
        for (rule, query) in RULES {
            let violations: i64 = tx.query_row(query, [], |row| row.get(0))?;
            if violations != 0 {
                broken.push(*rule);
            }
        }
        if !broken.contains(&RULES[0].0) && !fiscal_years_match(&tx)? {
            broken.push(FISCAL_YEAR_RULE);
        }
        let schema_version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if schema_version != SCHEMA_VERSION {
            broken.push(VERSION_RULE);
        }
        if !broken.is_empty() {
            return Err(Error::RulesBroken(broken));
        }

        let count = |table: &str| -> Result<i64> {
            Ok(
                tx.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                    row.get(0)
                })?,
            )
        };
        let summary = CheckSummary {
            rules: RULES.len() + 2,
            batches: count("batch")?,
            contacts: count("contact")?,
            schema_version,
        };
        tx.commit()?;
        Ok(summary)
    }
}

/// Every table of `schema.sql` (the schema this kitlog writes, and migrates every
/// program to) with its columns, read back from SQLite itself so it cannot drift.
pub fn describe_schema() -> Result<Vec<SchemaTable>> {
    let conn = Connection::open_in_memory()?;
    conn.execute_batch(SCHEMA)?;
    let names = conn
        .prepare(
            "SELECT name FROM sqlite_schema
              WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
        )?
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut tables = Vec::new();
    for name in names {
        let columns = conn
            .prepare("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")?
            .query_map([&name], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        tables.push(SchemaTable { name, columns });
    }
    Ok(tables)
}

/// Whether every contact's stored fiscal year is the calendar's year of its day.
/// Days that are not calendar days are left to the date rule.
fn fiscal_years_match(conn: &Connection) -> Result<bool> {
    let calendar = super::program::calendar(conn)?;
    let mut statement = conn.prepare("SELECT day, fiscal_year FROM contact")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let day: String = row.get(0)?;
        let year: i64 = row.get(1)?;
        if let Ok(day) = crate::fiscal::parse_day(&day) {
            if i64::from(calendar.year_of(day).start_year()) != year {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// The backup's destination: a fresh temp file, not a program in use, so it gets none
/// of [`super::configure`]'s settings; SQLite copies the pages as they are.
#[expect(
    clippy::disallowed_methods,
    reason = "the backup target is a new temp file, not a program; Store::open would refuse it"
)]
fn open_backup_target(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    super::quiet(&conn)?;
    Ok(conn)
}

/// Copies every page in one step (`-1`), so the copy is one consistent snapshot; a
/// writer holding the file makes the step busy, and it is retried for as long as a
/// save is waited for elsewhere.
fn copy_all_pages(source: &Connection, copy: &mut Connection) -> Result<()> {
    let backup = Backup::new(source, copy)?;
    let started = Instant::now();
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            // Busy or locked (the enum is non-exhaustive): someone is saving; wait.
            _ if started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => return Err(Error::Busy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::new_store;

    #[test]
    fn a_fresh_program_passes_every_rule() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = new_store(&dir);
        let summary = store.check().unwrap();
        assert_eq!(summary.contacts, 0);
        assert_eq!(summary.schema_version, SCHEMA_VERSION);
    }

    #[test]
    fn a_broken_rule_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = new_store(&dir);
        store
            .conn
            .execute("UPDATE program SET created_on = 'yesterday'", [])
            .unwrap();
        let Err(Error::RulesBroken(rules)) = store.check() else {
            panic!("the rule was not found broken");
        };
        assert_eq!(
            rules,
            ["every stored day is a calendar day written YYYY-MM-DD"]
        );
    }

    #[test]
    fn a_backup_is_a_copy_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let store = new_store(&dir);
        let target = dir.path().join("copy.db");
        let key = DatabaseKey::fixed();
        store.backup_to(&target, &key).unwrap();
        let copy = Store::open(&target, &key).unwrap();
        assert_eq!(copy.settings().unwrap(), store.settings().unwrap());
        assert!(matches!(
            store.backup_to(&target, &key),
            Err(Error::BackupExists(_))
        ));
    }

    #[test]
    fn the_schema_is_described_from_sqlite() {
        let tables = describe_schema().unwrap();
        assert_eq!(tables[0].name, "program");
        let contact = tables.iter().find(|t| t.name == "contact").unwrap();
        assert!(
            contact
                .columns
                .contains(&("code".to_owned(), "BLOB".to_owned()))
        );
    }
}
