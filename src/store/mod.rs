//! The program database: the only module that speaks SQL.
//!
//! `Store` owns the connection, sets its pragmas in one place, applies
//! `schema.sql` to new files and the append-only `migrations/` to old ones, and
//! offers a small vocabulary of verbs. Every multi-row write is one transaction,
//! so a failure or a crash leaves the file as it was before the command.
//!
//! This file holds the connection: opening, pragmas, migrations, and the readers of
//! stored days and codes every part shares. One concern a file below it: `program`
//! (settings, the fiscal calendar), `legacy` (converting an unencrypted file),
//! `rotation` (carried code keys, re-encryption),
//! `catalogue`, `writer` (saving a
//! batch), `batches` (listing, voids), `drafts` (the shift being typed), `month` (counts
//! per site, day and batch for `kitlog month`), `reads`
//! (what reports stream), `retention` (closed years), `health` (check, backup).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::code::{CODE_BYTES, ParticipantCode};
use crate::error::{Error, Result};
use crate::keys::DatabaseKey;

mod batches;
mod catalogue;
mod drafts;
mod exchange;
mod health;
mod ledger;
mod legacy;
mod month;
mod program;
mod reads;
mod retention;
mod rotation;
mod writer;

pub use drafts::Draft;
pub use exchange::{Device, Flag, Merged, Outgoing, ThisDevice, enrolment_settings};
pub use health::{CheckSummary, SchemaTable, describe_schema};
pub use legacy::{LegacyProgram, encrypt_legacy, is_unencrypted, read_legacy};
pub use program::{NewProgram, Settings};
pub use writer::ContactWriter;

/// The current schema, applied whole to a new program.
const SCHEMA: &str = include_str!("../../schema.sql");

/// Every schema version's script, in order: entry 0 makes version 1 from nothing (kept
/// frozen, for the tests that rebuild old files); entry `i` takes version `i` to `i + 1`.
/// Append-only: a released migration is never edited, only followed by another.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_drop_contact_code_index.sql"),
    include_str!("../../migrations/0003_release_ledger.sql"),
    include_str!("../../migrations/0004_key_slots_leave_the_database.sql"),
    include_str!("../../migrations/0005_item_synonyms.sql"),
    include_str!("../../migrations/0006_devices.sql"),
];

/// The schema version this build writes and reads: one per migration.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a command waits for another kitlog that is saving at the same moment.
/// Saves take milliseconds; a generous wait means two workers never see "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

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
    pub fn create(path: &Path, program: &NewProgram<'_>, key: &DatabaseKey) -> Result<Store> {
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
        let result = Self::connect(path, key).and_then(|mut store| {
            store.initialise(program)?;
            Ok(store)
        });
        if result.is_err() {
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_file(journal_path(path));
        }
        result
    }

    /// Opens an existing (encrypted) program with its database key, bringing an older
    /// schema up to date, and refuses a file whose schema is not exactly kitlog's.
    ///
    /// A wrong key and a file that is not a program look the same to SQLCipher (both
    /// are "not a database"): [`Error::NotAProgram`].
    pub fn open(path: &Path, key: &DatabaseKey) -> Result<Store> {
        if !path.is_file() {
            return Err(Error::NoProgram(path.to_owned()));
        }
        let mut store = Self::connect(path, key).map_err(|e| not_a_program(e, path))?;
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| not_a_program(e.into(), path))?;
        if version == 0 {
            return Err(Error::NotAProgram(path.to_owned()));
        }
        store.migrate(version)?;
        if structure(&store.conn)? != fresh_structure()? {
            return Err(Error::SchemaChanged);
        }
        Ok(store)
    }

    /// Runs `work` while holding the program's write lock, so that another kitlog
    /// changing the key file at the same moment waits: the key file has no lock of
    /// its own, and two `passphrase add`s must not both rewrite it from the same start.
    pub fn while_locked<T>(&mut self, work: impl FnOnce() -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let result = work()?;
        tx.commit()?;
        Ok(result)
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
    fn connect(path: &Path, key: &DatabaseKey) -> Result<Store> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        quiet(&conn)?;
        // First, before anything reads a page: every page, and the journal's copies of
        // pages, are encrypted and authenticated (HMAC) under this key.
        conn.pragma_update(None, "key", key.pragma_value())?;
        configure(&conn)?;
        Ok(Store { conn })
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
        let done = usize::try_from(version).unwrap_or(0);
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(done) {
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The connection, for the report queries in this module's siblings' tests.
    #[cfg(test)]
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// The stored day in column `index`, read by [`crate::fiscal::parse_day`] (a report
/// reads one day per contact); a day beyond year 9999 falls back to chrono.
/// A cell's measures as SQL parameters, in the order of their stored columns
/// ([`crate::measures::measure_columns`]).
fn measure_params(
    measures: &crate::measures::Measures,
) -> impl Iterator<Item = Box<dyn rusqlite::ToSql>> + '_ {
    measures
        .values()
        .iter()
        .map(|v| Box::new(*v as i64) as Box<dyn rusqlite::ToSql>)
}

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

/// SQLCipher writes its own log lines to stderr (a page that fails its HMAC, a wrong
/// key); kitlog says what went wrong in one sentence of its own instead.
pub(super) fn quiet(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "cipher_log_level", "NONE")?;
    Ok(())
}

/// One place for every connection setting, each with its reason.
fn configure(conn: &Connection) -> Result<()> {
    // Privacy rule 6 (README, "Privacy model"): erased rows are overwritten with zeros,
    // not left in free pages.
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
    // A file's schema may not run code kitlog did not write (views, triggers, functions
    // in defaults); the exact schema check on open refuses such a file anyway.
    conn.pragma_update(None, "trusted_schema", "OFF")?;
    Ok(())
}

/// The shape of a database's schema: every object by type and name (so an extra
/// table, view, trigger or index shows), and every table's columns, indexes and
/// foreign keys (not the CREATE text, which ALTER rewrites). A file kitlog made and migrated has exactly the shape of
/// `schema.sql`; anything else was changed by another hand. The forensic review
/// planted triggers that kept every code `close-year` reported as erased.
fn structure(conn: &Connection) -> Result<Vec<String>> {
    let mut out: Vec<String> = conn
        .prepare("SELECT type || ' ' || name || ' ' || tbl_name FROM sqlite_schema ORDER BY 1")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for table in tables {
        for query in [
            "SELECT name || ' ' || type || ' ' || \"notnull\" || ' ' || coalesce(dflt_value, '') || ' ' || pk FROM pragma_table_info(?1)",
            "SELECT il.name || ' ' || il.\"unique\" || ' ' || il.partial || ' ' || (SELECT group_concat(coalesce(name, '?')) FROM pragma_index_info(il.name)) FROM pragma_index_list(?1) il ORDER BY il.name",
            "SELECT \"table\" || ' ' || \"from\" || ' ' || coalesce(\"to\", '') FROM pragma_foreign_key_list(?1)",
        ] {
            let rows: Vec<String> = conn
                .prepare(query)?
                .query_map([&table], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            out.extend(rows.into_iter().map(|r| format!("{table}: {r}")));
        }
    }
    Ok(out)
}

/// [`structure`] of `schema.sql` applied to an empty database.
fn fresh_structure() -> Result<Vec<String>> {
    let fresh = Connection::open_in_memory()?;
    fresh.execute_batch(SCHEMA)?;
    structure(&fresh)
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
    use crate::fiscal::FiscalCalendar;

    fn settings() -> Settings {
        Settings {
            calendar: FiscalCalendar::default(),
            min_cell: 5,
            code_format: None,
            key_check: vec![7; 32],
        }
    }

    pub(super) fn new_store(dir: &tempfile::TempDir) -> Store {
        let settings = settings();
        Store::create(
            &dir.path().join("p.db"),
            &NewProgram {
                settings: &settings,
                today: "2026-11-22".parse().unwrap(),
            },
            &DatabaseKey::fixed(),
        )
        .unwrap()
    }

    #[test]
    fn create_then_open_round_trips_settings() {
        let dir = tempfile::tempdir().unwrap();
        drop(new_store(&dir));
        let store = Store::open(&dir.path().join("p.db"), &DatabaseKey::fixed()).unwrap();
        assert_eq!(store.settings().unwrap(), settings());
        assert_eq!(store.catalogue().unwrap().items.len(), 8);
    }

    #[test]
    fn create_refuses_an_existing_file_and_leaves_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        std::fs::write(&path, b"precious").unwrap();
        let settings = settings();
        let result = Store::create(
            &path,
            &NewProgram {
                settings: &settings,
                today: "2026-11-22".parse().unwrap(),
            },
            &DatabaseKey::fixed(),
        );
        assert!(matches!(result, Err(Error::ProgramExists(_))));
        assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    }

    #[test]
    fn pragmas_are_set_on_every_connection() {
        let dir = tempfile::tempdir().unwrap();
        drop(new_store(&dir));
        let store = Store::open(&dir.path().join("p.db"), &DatabaseKey::fixed()).unwrap();
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
            let store = Store::open(&dir.path().join("p.db"), &DatabaseKey::fixed()).unwrap();
            let version: i64 = store
                .connection()
                .pragma_query_value(None, "user_version", |row| row.get(0))
                .unwrap();
            assert_eq!(version, SCHEMA_VERSION);
        }
    }

    /// An encrypted program of version 4 (before item synonyms) gains the table and
    /// ends with exactly the current schema.
    /// Undoes migration 0006, to make a version 5 file from a fresh one.
    const DROP_SCHEMA_6: &str =
        "DROP TABLE this_device; DROP TABLE device; DROP TABLE batch_origin;
        DROP TABLE void_event; DROP TABLE received; DROP TABLE acknowledged; DROP TABLE sync_flag;";

    #[test]
    fn a_program_of_version_5_gets_batch_ids_and_its_voids_as_events() {
        let dir = tempfile::tempdir().unwrap();
        let store = new_store(&dir);
        store
            .connection()
            .execute_batch(&format!(
                "{DROP_SCHEMA_6}
                 INSERT INTO site (id, name) VALUES (1, 'van');
                 INSERT INTO batch (id, saved_on, source) VALUES (1, '2026-11-20', 'import');
                 INSERT INTO batch (id, saved_on, source, voided_reason, voided_on, void_seq)
                      VALUES (2, '2026-11-20', 'shift', 'test', '2026-11-21', 1);
                 INSERT INTO contact (batch_id, position, day, fiscal_year, site_id, voided_reason,
                                      voided_on, void_seq)
                      VALUES (1, 1, '2026-11-19', 2026, 1, 'entry-error', '2026-11-22', 2);
                 PRAGMA user_version = 5;"
            ))
            .unwrap();
        drop(store);
        let store = Store::open(&dir.path().join("p.db"), &DatabaseKey::fixed()).unwrap();
        let (ids, distinct, sixteen): (i64, i64, i64) = store
            .connection()
            .query_row(
                "SELECT count(*), count(DISTINCT uid), sum(length(uid) = 16) FROM batch_origin",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .unwrap();
        assert_eq!((ids, distinct, sixteen), (2, 2, 2));
        let voids: String = store
            .connection()
            .query_row(
                "SELECT group_concat(o.batch_id || ':' || coalesce(e.position, '-') || ':' || e.reason
                                     || ':' || e.voided_on, ' ')
                   FROM (SELECT * FROM void_event ORDER BY voided_on) e
                   JOIN batch_origin o ON o.uid = e.batch_uid",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(voids, "2:-:test:2026-11-21 1:1:entry-error:2026-11-22");
    }

    #[test]
    fn an_encrypted_program_of_version_4_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let store = new_store(&dir);
        store
            .connection()
            .execute_batch(&format!(
                "DROP TABLE item_synonym; {DROP_SCHEMA_6} PRAGMA user_version = 4;"
            ))
            .unwrap();
        drop(store);
        let store = Store::open(&dir.path().join("p.db"), &DatabaseKey::fixed()).unwrap();
        let version: i64 = store
            .connection()
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let fresh = Connection::open_in_memory().unwrap();
        fresh.execute_batch(SCHEMA).unwrap();
        assert_eq!(
            structure(store.connection()).unwrap(),
            structure(&fresh).unwrap()
        );
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
        let result = Store::open(&dir.path().join("p.db"), &DatabaseKey::fixed());
        assert!(matches!(result, Err(Error::NewerSchema { .. })));
    }

    /// Privacy rule 6 (README, "Privacy model"): with kitlog's connection settings,
    /// deleted rows are zeroed in the pages (which SQLCipher then encrypts; an
    /// unencrypted file shows the pages as they are, so this test uses one).
    /// The same steps without `secure_delete` leave the bytes behind, so this test
    /// would catch the pragma going missing.
    #[test]
    #[expect(
        clippy::disallowed_methods,
        reason = "an unencrypted file, to see the pages' own bytes"
    )]
    fn invariant_6_erased_rows_leave_no_bytes_behind() {
        let marker = b"ERASE-ME-7Q2X-ERASE-ME-7Q2X";
        for secure in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let conn = Connection::open(dir.path().join("p.db")).unwrap();
            configure(&conn).unwrap();
            if !secure {
                conn.pragma_update(None, "secure_delete", "OFF").unwrap();
            }
            conn.execute("CREATE TABLE scratch (b BLOB)", []).unwrap();
            for _ in 0..50 {
                conn.execute("INSERT INTO scratch VALUES (?1)", [&marker[..]])
                    .unwrap();
            }
            conn.execute("DELETE FROM scratch", []).unwrap();
            drop(conn);
            let bytes = std::fs::read(dir.path().join("p.db")).unwrap();
            let lingers = bytes.windows(marker.len()).any(|w| w == marker);
            assert_eq!(lingers, !secure, "secure_delete = {secure}");
        }
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

    /// schema.sql stays the single source of truth: every migration from nothing
    /// (version 1 included) must give the same structure as a fresh schema.sql.
    #[test]
    fn migrations_and_schema_agree() {
        let fresh = Connection::open_in_memory().unwrap();
        fresh.execute_batch(SCHEMA).unwrap();
        let migrated = Connection::open_in_memory().unwrap();
        for migration in MIGRATIONS {
            migrated.execute_batch(migration).unwrap();
        }
        assert_eq!(structure(&fresh).unwrap(), structure(&migrated).unwrap());
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
        // Versions 1 to 3 were unencrypted files with key slots inside; from version 4
        // on a program is encrypted (see the next test).
        for old in 1..4 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("old.db");
            {
                let conn = Connection::open(&path).unwrap();
                for (index, migration) in MIGRATIONS
                    .iter()
                    .enumerate()
                    .take(usize::try_from(old).unwrap())
                {
                    conn.execute_batch(migration).unwrap();
                    conn.pragma_update(None, "user_version", index as i64 + 1)
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
            assert!(is_unencrypted(&path));
            let legacy = read_legacy(&path).unwrap();
            assert_eq!(legacy.slots.len(), 1);
            assert_eq!(legacy.slots[0].label, "initial");
            encrypt_legacy(&path, &DatabaseKey::fixed()).unwrap();
            assert!(!is_unencrypted(&path));
            let store = Store::open(&path, &DatabaseKey::fixed()).unwrap();
            let version: i64 = store
                .connection()
                .pragma_query_value(None, "user_version", |row| row.get(0))
                .unwrap();
            assert_eq!(version, SCHEMA_VERSION, "from version {old}");
            let fresh = Connection::open_in_memory().unwrap();
            fresh.execute_batch(SCHEMA).unwrap();
            assert_eq!(
                structure(store.connection()).unwrap(),
                structure(&fresh).unwrap(),
                "from version {old}"
            );
            assert_eq!(store.settings().unwrap().min_cell, 5);
            let mut contacts = Vec::new();
            store
                .for_each_live_contact(
                    "2026-04-01".parse().unwrap(),
                    "2027-03-31".parse().unwrap(),
                    &crate::report::ledger::Visibility::now(),
                    |c: &crate::contact::Contact| contacts.push(c.clone()),
                )
                .unwrap();
            assert_eq!(contacts.len(), 1);
            assert_eq!(contacts[0].counts.items, vec![(1, 10)]);
        }
    }
}
