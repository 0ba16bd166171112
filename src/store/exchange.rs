//! What travels between a program's laptops: the image a device writes into its next
//! bundle, the merge of one it receives, and the enrolment image a new laptop starts
//! from (the envelopes around them are [`crate::sync`]'s).
//!
//! An image is an in-memory database attached to the program's connection as plain
//! text (SQLCipher's `KEY ''`), filled and read with `INSERT … SELECT`, and turned
//! into bytes with SQLite's own serialisation: no home-made format, and the plain
//! image never touches a disk. Ids never cross devices: batches travel by their
//! random `uid`, contacts by (batch uid, position), sites and items by name, and each
//! side maps them to its own row numbers.
//!
//! A merge is a set union in one IMMEDIATE transaction, with `ON CONFLICT DO NOTHING`
//! (never `INSERT OR IGNORE`, which would also swallow a CHECK that failed), followed
//! by a count that every row of the bundle is now present. Anything odd is kept and
//! flagged (`sync_flag`), never chosen silently.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use zeroize::Zeroizing;

use super::Store;
use super::program::Settings;
use crate::code::CodeFormat;
use crate::error::{Error, Result};
use crate::fiscal::FiscalCalendar;
use crate::keys::ProgramKey;
use crate::sync::{DeviceId, Role};

/// A `batch_origin` row of this laptop's own that the coordinator has acknowledged.
pub(super) const ACKNOWLEDGED: &str =
    "device IS NULL AND uid IN (SELECT uid FROM acknowledged WHERE refused = 0)";

/// A `batch_origin` row of this laptop's own that the coordinator refused (a year
/// closed before it arrived).
pub(super) const REFUSED: &str =
    "device IS NULL AND uid IN (SELECT uid FROM acknowledged WHERE refused = 1)";

/// The image's format, as `PRAGMA user_version`; a newer one is refused whole.
const IMAGE_FORMAT: i64 = 1;

/// The tables of an image, `{s}` standing for its schema name. Bundles up use
/// `meta`, the catalogue, `batch`, `contact`, `contact_item` and
/// `void_event`; bundles down add `device`, `closed_year` and `ack` and carry no
/// contacts; an enrolment image adds `program` and `me`.
const IMAGE_SCHEMA: &str = "
CREATE TABLE {s}.meta (device BLOB NOT NULL, seq INTEGER NOT NULL, made_on TEXT NOT NULL, role TEXT NOT NULL);
CREATE TABLE {s}.program (fiscal_year_start INTEGER NOT NULL, min_cell INTEGER NOT NULL,
    code_format TEXT, key_check BLOB NOT NULL, created_on TEXT NOT NULL);
CREATE TABLE {s}.me (device BLOB NOT NULL, label TEXT NOT NULL, signing_key BLOB NOT NULL);
CREATE TABLE {s}.device (id BLOB PRIMARY KEY, label TEXT NOT NULL, role TEXT NOT NULL,
    public_key BLOB NOT NULL, enrolled_on TEXT NOT NULL, revoked_on TEXT);
CREATE TABLE {s}.site (name TEXT PRIMARY KEY, retired_on TEXT);
CREATE TABLE {s}.item (name TEXT PRIMARY KEY, category TEXT NOT NULL, unit TEXT NOT NULL,
    retired_on TEXT, alias TEXT);
CREATE TABLE {s}.item_synonym (word TEXT PRIMARY KEY, item TEXT NOT NULL);
CREATE TABLE {s}.worker (label TEXT PRIMARY KEY);
CREATE TABLE {s}.closed_year (fiscal_year INTEGER PRIMARY KEY, closed_on TEXT NOT NULL);
CREATE TABLE {s}.batch (uid BLOB PRIMARY KEY, number INTEGER NOT NULL, saved_on TEXT NOT NULL,
    source TEXT NOT NULL, worker TEXT, sheet_digest BLOB, content_digest BLOB NOT NULL);
CREATE TABLE {s}.contact (batch_uid BLOB NOT NULL, position INTEGER NOT NULL, day TEXT NOT NULL,
    fiscal_year INTEGER NOT NULL, site TEXT NOT NULL, code BLOB, reversals INTEGER NOT NULL,
    for_others INTEGER NOT NULL, returned INTEGER NOT NULL, naloxone_reason TEXT,
    PRIMARY KEY (batch_uid, position)) WITHOUT ROWID;
CREATE TABLE {s}.contact_item (batch_uid BLOB NOT NULL, position INTEGER NOT NULL,
    item TEXT NOT NULL, quantity INTEGER NOT NULL,
    PRIMARY KEY (batch_uid, position, item)) WITHOUT ROWID;
CREATE TABLE {s}.void_event (uid BLOB PRIMARY KEY, batch_uid BLOB NOT NULL, position INTEGER,
    reason TEXT NOT NULL, voided_on TEXT NOT NULL, device BLOB NOT NULL);
CREATE TABLE {s}.ack (device BLOB NOT NULL, uid BLOB NOT NULL, refused INTEGER NOT NULL,
    PRIMARY KEY (device, uid));
";

/// This laptop's place in the program.
#[derive(Debug)]
pub struct ThisDevice {
    /// Its id.
    pub id: DeviceId,
    /// Coordinator or worker.
    pub role: Role,
    /// Its Ed25519 signing key (PKCS#8).
    pub signing_key: Zeroizing<Vec<u8>>,
    /// Number of the last bundle it wrote.
    pub last_sent: u64,
    /// Worker: batches and contacts acknowledged and erased here.
    pub forwarded: (u64, u64),
}

/// One enrolled laptop, as this one knows it.
#[derive(Debug, Clone)]
pub struct Device {
    /// Its id.
    pub id: DeviceId,
    /// The coordinator's name for it.
    pub label: String,
    /// Coordinator or worker.
    pub role: Role,
    /// The key its bundles are checked against.
    pub public_key: Vec<u8>,
    /// Day it was enrolled.
    pub enrolled_on: String,
    /// Day it was revoked, if it was.
    pub revoked_on: Option<String>,
    /// The highest bundle number merged from it.
    pub last_seq: Option<u64>,
    /// The day the newest bundle merged from it was made.
    pub last_made_on: Option<String>,
}

/// What a device's next bundle holds.
#[derive(Debug)]
pub struct Outgoing {
    /// Its number.
    pub seq: u64,
    /// The image, to be sealed.
    pub image: Zeroizing<Vec<u8>>,
    /// Batches and contacts in it.
    pub batches: u64,
    /// Contacts in it.
    pub contacts: u64,
}

/// What a merge did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Merged {
    /// Batches new to this program, and their contacts.
    pub new_batches: u64,
    /// Contacts of the new batches.
    pub new_contacts: u64,
    /// Batches already here.
    pub known_batches: u64,
    /// Batches refused because they hold contacts of a closed year, and their contacts.
    pub refused: (u64, u64),
    /// Voids new to this program.
    pub new_voids: u64,
    /// Voids that could not apply because their year is closed.
    pub voids_in_closed_years: u64,
    /// Sites and items new to this program.
    pub new_catalogue: u64,
    /// Flags raised for review.
    pub flags: u64,
    /// Worker: years the coordinator closed that this laptop has not closed yet.
    pub years_to_close: Vec<i32>,
    /// Worker: batches and contacts acknowledged by the coordinator and erased here.
    pub erased: (u64, u64),
    /// Worker: batches and contacts the coordinator refused (their year was closed
    /// before they arrived), erased here.
    pub refused_here: (u64, u64),
}

/// A flag for review, as `sync status` shows it.
#[derive(Debug, Clone)]
pub struct Flag {
    /// Day it was raised.
    pub flagged_on: String,
    /// What it is about.
    pub kind: String,
    /// The sending device's label.
    pub device: Option<String>,
    /// The batch kept (its number here), if any.
    pub batch: Option<i64>,
    /// The other batch (same sheet), if any.
    pub other_batch: Option<i64>,
    /// The item (category differs).
    pub item: Option<String>,
    /// Contacts refused (closed year).
    pub contacts: Option<i64>,
    /// The bundle number that arrived again with other bytes.
    pub seq: Option<i64>,
}

/// Runs `work` with a plain in-memory database attached as `name` (SQLCipher's
/// `KEY ''`: not encrypted, never on disk), detached again whatever happens.
fn with_attached<T>(
    conn: &mut Connection,
    name: &str,
    work: impl FnOnce(&mut Connection) -> Result<T>,
) -> Result<T> {
    conn.execute_batch(&format!("ATTACH DATABASE ':memory:' AS {name} KEY ''"))?;
    let result = work(conn);
    let detached = conn.execute_batch(&format!("DETACH DATABASE {name}"));
    let value = result?;
    detached?;
    Ok(value)
}

/// Runs `work` in one IMMEDIATE transaction, by hand: serialising an attached image
/// needs the connection itself, which a rusqlite `Transaction` would hold.
fn write_locked<T>(
    conn: &mut Connection,
    work: impl FnOnce(&mut Connection) -> Result<T>,
) -> Result<T> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match work(conn) {
        Ok(value) => {
            conn.execute_batch("COMMIT")?;
            Ok(value)
        }
        Err(error) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(error)
        }
    }
}

fn create_image(conn: &Connection, name: &str) -> Result<()> {
    conn.execute_batch(&IMAGE_SCHEMA.replace("{s}", name))?;
    conn.pragma_update(Some(name), "user_version", IMAGE_FORMAT)?;
    Ok(())
}

fn image_bytes(conn: &mut Connection, name: &str) -> Result<Zeroizing<Vec<u8>>> {
    let data = conn.serialize(name)?;
    Ok(Zeroizing::new(data.to_vec()))
}

/// Opens `bytes` as a plain in-memory database and checks it is whole and of a
/// format this kitlog reads.
fn open_image(bytes: &[u8]) -> Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    conn.deserialize_read_exact("main", bytes, bytes.len(), true)
        .map_err(|_| Error::BundleDamaged)?;
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .map_err(|_| Error::BundleDamaged)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|_| Error::BundleDamaged)?;
    if check != "ok" || version != IMAGE_FORMAT {
        return Err(Error::BundleDamaged);
    }
    // Every table must be there; a missing column fails the merge's SQL, which rolls back.
    let expected = IMAGE_SCHEMA.matches("CREATE TABLE").count() as i64;
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
        [],
        |row| row.get(0),
    )?;
    if tables != expected {
        return Err(Error::BundleDamaged);
    }
    Ok(conn)
}

/// Loads `bytes` into the attached plain database `name` of the program's connection:
/// checked in a plain connection first, then copied page by page with SQLite's backup
/// API (SQLCipher will not read a database deserialised into an encrypted
/// connection).
fn load_image(conn: &mut Connection, name: &str, bytes: &[u8]) -> Result<()> {
    let image = open_image(bytes)?;
    let backup = rusqlite::backup::Backup::new_with_names(&image, "main", conn, name)?;
    match backup.step(-1)? {
        rusqlite::backup::StepResult::Done => Ok(()),
        // All pages in one step: anything else means the copy did not finish.
        _ => Err(Error::BundleDamaged),
    }
}

fn id_from(blob: &[u8]) -> rusqlite::Result<DeviceId> {
    blob.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            blob.len(),
            rusqlite::types::Type::Blob,
            "not a 16-byte id".into(),
        )
    })
}

fn role_from(text: &str) -> rusqlite::Result<Role> {
    Role::parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            "not a device role".into(),
        )
    })
}

impl Store {
    /// This laptop's place among the program's devices; `None` while the program
    /// lives on one laptop only.
    pub fn this_device(&self) -> Result<Option<ThisDevice>> {
        Ok(self
            .conn
            .query_row(
                "SELECT device, role, signing_key, last_sent, forwarded_batches, forwarded_contacts
                   FROM this_device",
                [],
                |row| {
                    Ok(ThisDevice {
                        id: id_from(&row.get::<_, Vec<u8>>(0)?)?,
                        role: role_from(&row.get::<_, String>(1)?)?,
                        signing_key: Zeroizing::new(row.get(2)?),
                        last_sent: row.get::<_, i64>(3)? as u64,
                        forwarded: (row.get::<_, i64>(4)? as u64, row.get::<_, i64>(5)? as u64),
                    })
                },
            )
            .optional()?)
    }

    /// Every enrolled device, revoked ones too, in enrolment order.
    pub fn devices(&self) -> Result<Vec<Device>> {
        let mut statement = self.conn.prepare(
            "SELECT d.id, d.label, d.role, d.public_key, d.enrolled_on, d.revoked_on,
                    (SELECT max(seq) FROM received r WHERE r.device = d.id),
                    (SELECT max(made_on) FROM received r WHERE r.device = d.id)
               FROM device d ORDER BY d.enrolled_on, d.rowid",
        )?;
        let devices = statement
            .query_map([], |row| {
                Ok(Device {
                    id: id_from(&row.get::<_, Vec<u8>>(0)?)?,
                    label: row.get(1)?,
                    role: role_from(&row.get::<_, String>(2)?)?,
                    public_key: row.get(3)?,
                    enrolled_on: row.get(4)?,
                    revoked_on: row.get(5)?,
                    last_seq: row.get::<_, Option<i64>>(6)?.map(|n| n as u64),
                    last_made_on: row.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(devices)
    }

    /// Whether this very bundle (number and SHA-256 of the file) was merged here: its
    /// bytes are those of one that passed every check before.
    pub fn has_received(&self, device: &DeviceId, seq: u64, digest: &[u8; 32]) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM received WHERE device = ?1 AND seq = ?2 AND digest = ?3)",
            params![device.as_slice(), seq as i64, digest.as_slice()],
            |row| row.get(0),
        )?)
    }

    /// Makes this program the coordinator of its devices: its own id, signing key and
    /// row in the device list.
    pub fn become_coordinator(
        &mut self,
        id: &DeviceId,
        signing_key: &[u8],
        public_key: &[u8; 32],
        today: NaiveDate,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO this_device (id, device, role, signing_key) VALUES (1, ?1, 'coordinator', ?2)",
            params![id.as_slice(), signing_key],
        )?;
        tx.execute(
            "INSERT INTO device (id, label, role, public_key, enrolled_on)
             VALUES (?1, 'coordinator', 'coordinator', ?2, ?3)",
            params![id.as_slice(), public_key.as_slice(), today.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Adds a worker laptop to the device list; its label must be new.
    pub fn add_device(
        &mut self,
        id: &DeviceId,
        label: &str,
        public_key: &[u8; 32],
        today: NaiveDate,
    ) -> Result<()> {
        let taken: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM device WHERE label = ?1)",
            [label],
            |row| row.get(0),
        )?;
        if taken {
            return Err(Error::DeviceExists(label.to_owned()));
        }
        self.conn.execute(
            "INSERT INTO device (id, label, role, public_key, enrolled_on)
             VALUES (?1, ?2, 'worker', ?3, ?4)",
            params![
                id.as_slice(),
                label,
                public_key.as_slice(),
                today.to_string()
            ],
        )?;
        Ok(())
    }

    /// Revokes a worker laptop: its bundles are refused from now on.
    pub fn revoke_device(&mut self, label: &str, today: NaiveDate) -> Result<()> {
        let found: Option<(String, Option<String>)> = self
            .conn
            .query_row(
                "SELECT role, revoked_on FROM device WHERE label = ?1",
                [label],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        match found {
            None => Err(Error::NoSuchDevice(label.to_owned())),
            Some((role, _)) if role == Role::Coordinator.as_str() => {
                Err(Error::CoordinatorNotRevocable)
            }
            Some((_, Some(_))) => Err(Error::DeviceRevoked(label.to_owned())),
            Some((_, None)) => {
                self.conn.execute(
                    "UPDATE device SET revoked_on = ?1 WHERE label = ?2",
                    params![today.to_string(), label],
                )?;
                Ok(())
            }
        }
    }

    /// Flags raised by merges, oldest first.
    pub fn sync_flags(&self) -> Result<Vec<Flag>> {
        let mut statement = self.conn.prepare(
            "SELECT f.flagged_on, f.kind, d.label,
                    (SELECT batch_id FROM batch_origin WHERE uid = f.batch_uid),
                    (SELECT batch_id FROM batch_origin WHERE uid = f.other_uid),
                    f.item, f.contacts, f.seq
               FROM sync_flag f LEFT JOIN device d ON d.id = f.device
              -- One of two copies of a sheet voided: settled, no longer to review.
              WHERE NOT (f.kind = 'same-sheet' AND EXISTS
                    (SELECT 1 FROM batch b JOIN batch_origin o ON o.batch_id = b.id
                      WHERE o.uid IN (f.batch_uid, f.other_uid) AND b.voided_reason IS NOT NULL))
              ORDER BY f.id",
        )?;
        let flags = statement
            .query_map([], |row| {
                Ok(Flag {
                    flagged_on: row.get(0)?,
                    kind: row.get(1)?,
                    device: row.get(2)?,
                    batch: row.get(3)?,
                    other_batch: row.get(4)?,
                    item: row.get(5)?,
                    contacts: row.get(6)?,
                    seq: row.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(flags)
    }

    /// Writes this device's next bundle image. A worker's holds every record the
    /// coordinator has not acknowledged yet (so a lost bundle is made good by the
    /// next) and says which of its earlier numbers it stands for; the coordinator's
    /// holds the device list, catalogue, closed years, voids and acknowledgements.
    pub fn next_bundle(&mut self, key: &ProgramKey, today: NaiveDate) -> Result<Outgoing> {
        let me = self.this_device()?.ok_or(Error::NotEnrolled)?;
        with_attached(&mut self.conn, "image", |conn| {
            create_image(conn, "image")?;
            write_locked(conn, |conn| fill_bundle(conn, &me, key, today))
        })
    }
}

/// Fills the attached `image` with this device's next bundle; see
/// [`Store::next_bundle`].
fn fill_bundle(
    conn: &mut Connection,
    me: &ThisDevice,
    key: &ProgramKey,
    today: NaiveDate,
) -> Result<Outgoing> {
    conn.execute("UPDATE this_device SET last_sent = last_sent + 1", [])?;
    let seq: i64 = conn.query_row("SELECT last_sent FROM this_device", [], |row| row.get(0))?;
    let me_id = me.id.as_slice();
    conn.execute(
        "INSERT INTO image.meta (device, seq, made_on, role) VALUES (?1, ?2, ?3, ?4)",
        params![me_id, seq, today.to_string(), me.role.as_str()],
    )?;
    copy_catalogue(conn, false)?;
    let (batches, contacts) = match me.role {
        Role::Worker => {
            // Everything the coordinator has not acknowledged (or refused), by id: a
            // bundle stands for all of this laptop's earlier ones.
            let batches = conn.execute(
                "INSERT INTO image.batch (uid, number, saved_on, source, worker, sheet_digest,
                                          content_digest)
                 SELECT o.uid, b.id, b.saved_on, b.source, b.worker, b.sheet_digest, zeroblob(32)
                   FROM batch b JOIN batch_origin o ON o.batch_id = b.id
                  WHERE o.device IS NULL AND o.uid NOT IN (SELECT uid FROM acknowledged)",
                [],
            )?;
            let contacts = conn.execute(
                "INSERT INTO image.contact (batch_uid, position, day, fiscal_year, site, code,
                                            reversals, for_others, returned, naloxone_reason)
                 SELECT o.uid, c.position, c.day, c.fiscal_year, s.name, c.code,
                        c.reversals, c.for_others, c.returned, c.naloxone_reason
                   FROM contact c JOIN batch_origin o ON o.batch_id = c.batch_id
                   JOIN site s ON s.id = c.site_id
                  WHERE o.device IS NULL AND o.uid NOT IN (SELECT uid FROM acknowledged)",
                [],
            )?;
            conn.execute(
                "INSERT INTO image.contact_item (batch_uid, position, item, quantity)
                 SELECT o.uid, c.position, i.name, ci.quantity
                   FROM contact_item ci JOIN contact c ON c.id = ci.contact_id
                   JOIN batch_origin o ON o.batch_id = c.batch_id
                   JOIN item i ON i.id = ci.item_id
                  WHERE o.device IS NULL AND o.uid NOT IN (SELECT uid FROM acknowledged)",
                [],
            )?;
            conn.execute(
                "INSERT INTO image.void_event (uid, batch_uid, position, reason, voided_on, device)
                 SELECT uid, batch_uid, position, reason, voided_on, ?1 FROM void_event
                  WHERE device IS NULL AND uid NOT IN (SELECT uid FROM acknowledged)",
                [me_id],
            )?;
            digest_batches(conn, key)?;
            (batches as u64, contacts as u64)
        }
        Role::Coordinator => {
            // Acknowledgements by id: the batches and voids each laptop sent that are
            // here, and the batches refused (their year was closed before they came).
            conn.execute_batch(
                "INSERT INTO image.device SELECT id, label, role, public_key, enrolled_on, revoked_on FROM device;
                 INSERT INTO image.closed_year SELECT fiscal_year, closed_on FROM closed_year;
                 INSERT INTO image.ack (device, uid, refused)
                 SELECT device, uid, 0 FROM batch_origin WHERE device IS NOT NULL
                 UNION SELECT device, uid, 0 FROM void_event WHERE device IS NOT NULL
                 UNION SELECT device, batch_uid, 1 FROM sync_flag
                        WHERE kind = 'closed-year' AND device IS NOT NULL
                          AND batch_uid NOT IN (SELECT uid FROM batch_origin);",
            )?;
            conn.execute(
                "INSERT INTO image.void_event (uid, batch_uid, position, reason, voided_on, device)
                 SELECT uid, batch_uid, position, reason, voided_on, coalesce(device, ?1)
                   FROM void_event",
                [me_id],
            )?;
            (0, 0)
        }
    };
    Ok(Outgoing {
        seq: seq as u64,
        image: image_bytes(conn, "image")?,
        batches,
        contacts,
    })
}

/// The sites, items and worker labels into the attached `image`; with `words`, each
/// item's alias and synonyms too (an enrolment: a new laptop starts with the
/// program's shortcuts, which are never synced after).
fn copy_catalogue(conn: &Connection, words: bool) -> Result<()> {
    conn.execute_batch(&format!(
        "INSERT INTO image.site (name, retired_on) SELECT name, retired_on FROM site;
         INSERT INTO image.item (name, category, unit, retired_on, alias)
         SELECT name, category, unit, retired_on, {alias} FROM item;
         INSERT INTO image.worker (label) SELECT label FROM worker;",
        alias = if words { "alias" } else { "NULL" }
    ))?;
    if words {
        conn.execute_batch(
            "INSERT INTO image.item_synonym (word, item)
             SELECT s.word, i.name FROM item_synonym s JOIN item i ON i.id = s.item_id;",
        )?;
    }
    Ok(())
}

/// Sets each batch's keyed content digest in the attached `image`, from its rows
/// there: what the receiver compares when a batch id it knows arrives again.
fn digest_batches(conn: &Connection, key: &ProgramKey) -> Result<()> {
    let mut batches = conn.prepare(
        "SELECT uid, saved_on, source, coalesce(worker, ''), coalesce(sheet_digest, x'')
           FROM image.batch ORDER BY uid",
    )?;
    let mut contacts = conn.prepare(
        "SELECT c.position, c.day, c.fiscal_year, c.site, coalesce(c.code, x''), c.reversals,
                c.for_others, c.returned, coalesce(c.naloxone_reason, ''),
                coalesce((SELECT group_concat(item || '=' || quantity, ',') FROM
                   (SELECT item, quantity FROM image.contact_item ci
                     WHERE ci.batch_uid = c.batch_uid AND ci.position = c.position
                     ORDER BY item)), '')
           FROM image.contact c WHERE c.batch_uid = ?1 ORDER BY c.position",
    )?;
    let mut update = conn.prepare("UPDATE image.batch SET content_digest = ?1 WHERE uid = ?2")?;
    let mut rows = batches.query([])?;
    while let Some(row) = rows.next()? {
        let uid: Vec<u8> = row.get(0)?;
        let mut digest = key.content_digester();
        let mut field = |bytes: &[u8]| {
            digest.update(&(bytes.len() as u64).to_be_bytes());
            digest.update(bytes);
        };
        for index in 0..5 {
            match row.get_ref(index)? {
                rusqlite::types::ValueRef::Blob(b) => field(b),
                rusqlite::types::ValueRef::Text(t) => field(t),
                _ => field(&[]),
            }
        }
        let mut lines = contacts.query([&uid])?;
        while let Some(line) = lines.next()? {
            for index in 0..10 {
                match line.get_ref(index)? {
                    rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => {
                        field(b);
                    }
                    rusqlite::types::ValueRef::Integer(n) => field(&n.to_be_bytes()),
                    _ => field(&[]),
                }
            }
        }
        update.execute(params![digest.finish().as_slice(), uid])?;
    }
    Ok(())
}

impl Store {
    /// Merges a bundle `sender` made (its image already opened by [`crate::sync`]),
    /// all of it or nothing, in one IMMEDIATE transaction. Merging a bundle again, or
    /// bundles in any order, gives the same program.
    /// `seq` and `digest` (SHA-256 of the sealed file) are recorded; the same number
    /// with other bytes is merged too, and flagged (a laptop restored from a backup, or
    /// one enrolment file joined on two laptops).
    pub fn merge_bundle(
        &mut self,
        sender: &Device,
        (seq, digest): (u64, &[u8; 32]),
        image: &[u8],
        today: NaiveDate,
    ) -> Result<Merged> {
        let me = self.this_device()?.ok_or(Error::NotEnrolled)?;
        with_attached(&mut self.conn, "bundle", |conn| {
            load_image(conn, "bundle", image)?;
            let (device, made_on, role): (Vec<u8>, String, String) = conn
                .query_row("SELECT device, made_on, role FROM bundle.meta", [], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .map_err(|_| Error::BundleDamaged)?;
            let rows: i64 = conn.query_row("SELECT count(*) FROM bundle.meta", [], |r| r.get(0))?;
            if rows != 1 || device != sender.id || role != sender.role.as_str() {
                return Err(Error::BundleDamaged);
            }
            write_locked(conn, |conn| {
                let flags_before = flag_count(conn)?;
                let mut merged = Merged {
                    new_catalogue: merge_catalogue(conn, sender, today)?,
                    ..Merged::default()
                };
                match (me.role, sender.role) {
                    (Role::Coordinator, Role::Worker) => {
                        merge_batches(conn, sender, today, &mut merged)?;
                    }
                    (Role::Worker, Role::Coordinator) => {
                        merge_down(conn, &me, &mut merged)?;
                    }
                    _ => return Err(Error::BundleNotForThisDevice),
                }
                // A worker takes only the voids of batches it holds: the others are no
                // business of its.
                merged.new_voids = conn.execute(
                    &format!(
                        "INSERT INTO void_event (uid, batch_uid, position, reason, voided_on, device)
                         SELECT uid, batch_uid, position, reason, voided_on,
                                CASE WHEN device = ?1 THEN NULL ELSE device END
                           FROM bundle.void_event WHERE {}
                         ON CONFLICT (uid) DO NOTHING",
                        if me.role == Role::Worker {
                            "batch_uid IN (SELECT uid FROM batch_origin)"
                        } else {
                            "true"
                        }
                    ),
                    [me.id.as_slice()],
                )? as u64;
                merged.voids_in_closed_years = settle_voids(conn)?;
                record_received(conn, sender, (seq, digest), &made_on, today)?;
                if me.role == Role::Worker {
                    (merged.erased, merged.refused_here) = forget_acknowledged(conn)?;
                }
                merged.flags = flag_count(conn)? - flags_before;
                Ok(merged)
            })
        })
    }
}

fn flag_count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT count(*) FROM sync_flag", [], |row| {
        row.get::<_, i64>(0)
    })? as u64)
}

/// Records a merged bundle; the same number arriving with other bytes is flagged once.
fn record_received(
    conn: &Connection,
    sender: &Device,
    (seq, digest): (u64, &[u8; 32]),
    made_on: &str,
    today: NaiveDate,
) -> Result<()> {
    let from = sender.id.as_slice();
    conn.execute(
        "INSERT INTO sync_flag (flagged_on, kind, device, seq)
         SELECT ?1, 'reused-number', ?2, ?3
          WHERE EXISTS (SELECT 1 FROM received WHERE device = ?2 AND seq = ?3 AND digest != ?4)
            AND NOT EXISTS (SELECT 1 FROM sync_flag
                             WHERE kind = 'reused-number' AND device = ?2 AND seq = ?3)",
        params![today.to_string(), from, seq as i64, digest.as_slice()],
    )?;
    conn.execute(
        "INSERT INTO received (device, seq, digest, made_on, received_on)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (device, seq, digest) DO NOTHING",
        params![
            from,
            seq as i64,
            digest.as_slice(),
            made_on,
            today.to_string()
        ],
    )?;
    Ok(())
}

/// Sites, items and worker labels by name: new ones are added, a retirement merges as
/// the earliest day, and an item whose category differs is flagged (the first
/// definition is kept). Returns how many sites and items were new.
fn merge_catalogue(conn: &Connection, sender: &Device, today: NaiveDate) -> Result<u64> {
    let new: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM bundle.site WHERE name NOT IN (SELECT name FROM site))
              + (SELECT count(*) FROM bundle.item WHERE name NOT IN (SELECT name FROM item))",
        [],
        |row| row.get(0),
    )?;
    conn.execute(
        "INSERT INTO sync_flag (flagged_on, kind, device, item)
         SELECT ?1, 'item-category', ?2, b.name FROM bundle.item b JOIN item i ON i.name = b.name
          WHERE i.category != b.category
            AND NOT EXISTS (SELECT 1 FROM sync_flag f WHERE f.kind = 'item-category' AND f.item = b.name)",
        params![today.to_string(), sender.id.as_slice()],
    )?;
    conn.execute_batch(
        "INSERT INTO site (name, retired_on) SELECT name, retired_on FROM bundle.site WHERE true
         ON CONFLICT (name) DO UPDATE SET retired_on = CASE
             WHEN site.retired_on IS NULL THEN excluded.retired_on
             WHEN excluded.retired_on IS NULL THEN site.retired_on
             ELSE min(site.retired_on, excluded.retired_on) END;
         INSERT INTO item (name, category, unit, retired_on)
         SELECT name, category, unit, retired_on FROM bundle.item WHERE true
         ON CONFLICT (name) DO UPDATE SET retired_on = CASE
             WHEN item.retired_on IS NULL THEN excluded.retired_on
             WHEN excluded.retired_on IS NULL THEN item.retired_on
             ELSE min(item.retired_on, excluded.retired_on) END;
         INSERT INTO worker (label) SELECT label FROM bundle.worker WHERE true
         ON CONFLICT (label) DO NOTHING;",
    )?;
    Ok(new as u64)
}

/// A worker's batches into the coordinator: new ones with their contacts and item
/// lines, mapped to this file's row numbers; known ones counted (and flagged if their
/// content differs); ones with contacts in a closed year refused and flagged.
fn merge_batches(
    conn: &Connection,
    sender: &Device,
    today: NaiveDate,
    merged: &mut Merged,
) -> Result<()> {
    const KNOWN: &str = "EXISTS (SELECT 1 FROM batch_origin o WHERE o.uid = bb.uid)";
    const CLOSED: &str = "EXISTS (SELECT 1 FROM bundle.contact c JOIN closed_year y
                                   ON y.fiscal_year = c.fiscal_year WHERE c.batch_uid = bb.uid)";
    let day = today.to_string();
    let from = sender.id.as_slice();
    merged.known_batches = conn.query_row(
        &format!("SELECT count(*) FROM bundle.batch bb WHERE {KNOWN}"),
        [],
        |row| row.get::<_, i64>(0),
    )? as u64;
    conn.execute(
        "INSERT INTO sync_flag (flagged_on, kind, device, batch_uid)
         SELECT ?1, 'other-content', ?2, bb.uid
           FROM bundle.batch bb JOIN batch_origin o ON o.uid = bb.uid
          WHERE o.content_digest IS NOT bb.content_digest
            AND NOT EXISTS (SELECT 1 FROM sync_flag f
                             WHERE f.kind = 'other-content' AND f.batch_uid = bb.uid)",
        params![day, from],
    )?;
    let (refused, refused_contacts): (i64, i64) = conn.query_row(
        &format!(
            "SELECT count(*), coalesce(sum((SELECT count(*) FROM bundle.contact c
                                             WHERE c.batch_uid = bb.uid)), 0)
               FROM bundle.batch bb WHERE NOT {KNOWN} AND {CLOSED}"
        ),
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    merged.refused = (refused as u64, refused_contacts as u64);
    conn.execute(
        &format!(
            "INSERT INTO sync_flag (flagged_on, kind, device, batch_uid, contacts)
             SELECT ?1, 'closed-year', ?2, bb.uid,
                    (SELECT count(*) FROM bundle.contact c WHERE c.batch_uid = bb.uid)
               FROM bundle.batch bb
              WHERE NOT {KNOWN} AND {CLOSED}
                AND NOT EXISTS (SELECT 1 FROM sync_flag f
                                 WHERE f.kind = 'closed-year' AND f.batch_uid = bb.uid)"
        ),
        params![day, from],
    )?;
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE incoming (uid BLOB PRIMARY KEY, id INTEGER NOT NULL UNIQUE);
         INSERT INTO temp.incoming (uid, id)
         SELECT uid, (SELECT coalesce(max(id), 0) FROM batch)
                     + row_number() OVER (ORDER BY number, uid)
           FROM bundle.batch bb WHERE NOT {KNOWN} AND NOT {CLOSED};"
    ))?;
    let result = insert_incoming(conn, from, &day, merged);
    conn.execute_batch("DROP TABLE temp.incoming")?;
    result
}

/// The batches listed in `temp.incoming`, with everything in them; then checks that
/// every row of the bundle for them is here.
fn insert_incoming(conn: &Connection, from: &[u8], day: &str, merged: &mut Merged) -> Result<()> {
    merged.new_batches = conn.execute(
        "INSERT INTO batch (id, saved_on, source, worker, sheet_digest)
         SELECT i.id, bb.saved_on, bb.source, bb.worker, bb.sheet_digest
           FROM temp.incoming i JOIN bundle.batch bb ON bb.uid = i.uid ORDER BY i.id",
        [],
    )? as u64;
    conn.execute(
        "INSERT INTO batch_origin (batch_id, uid, device, number, content_digest)
         SELECT i.id, i.uid, ?1, bb.number, bb.content_digest
           FROM temp.incoming i JOIN bundle.batch bb ON bb.uid = i.uid",
        [from],
    )?;
    // One sheet imported on two laptops: both kept, flagged for the coordinator to void one.
    conn.execute(
        "INSERT INTO sync_flag (flagged_on, kind, device, batch_uid, other_uid)
         SELECT ?1, 'same-sheet', ?2, i.uid, o2.uid
           FROM temp.incoming i JOIN batch b ON b.id = i.id
           JOIN batch b2 ON b2.sheet_digest = b.sheet_digest AND b2.id < b.id
                        AND b2.voided_reason IS NULL
           JOIN batch_origin o2 ON o2.batch_id = b2.id
          WHERE b.sheet_digest IS NOT NULL",
        params![day, from],
    )?;
    merged.new_contacts = conn.execute(
        "INSERT INTO contact (batch_id, position, day, fiscal_year, site_id, code, reversals,
                              for_others, returned, naloxone_reason)
         SELECT i.id, c.position, c.day, c.fiscal_year, s.id, c.code, c.reversals,
                c.for_others, c.returned, c.naloxone_reason
           FROM bundle.contact c JOIN temp.incoming i ON i.uid = c.batch_uid
           JOIN site s ON s.name = c.site
          ORDER BY c.day, i.id, c.position",
        [],
    )? as u64;
    let lines = conn.execute(
        "INSERT INTO contact_item (contact_id, item_id, quantity)
         SELECT k.id, it.id, ci.quantity
           FROM bundle.contact_item ci JOIN temp.incoming i ON i.uid = ci.batch_uid
           JOIN contact k ON k.batch_id = i.id AND k.position = ci.position
           JOIN item it ON it.name = ci.item",
        [],
    )? as u64;
    let (contacts, expected_lines): (i64, i64) = conn.query_row(
        "SELECT (SELECT count(*) FROM bundle.contact c JOIN temp.incoming i ON i.uid = c.batch_uid),
                (SELECT count(*) FROM bundle.contact_item c JOIN temp.incoming i ON i.uid = c.batch_uid)",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    if merged.new_contacts != contacts as u64 || lines != expected_lines as u64 {
        return Err(Error::BundleDamaged);
    }
    Ok(())
}

/// The coordinator's bundle into a worker: the device list (a revocation stays),
/// acknowledgements of this laptop's bundles, and the years closed since.
fn merge_down(conn: &Connection, me: &ThisDevice, merged: &mut Merged) -> Result<()> {
    conn.execute_batch(
        "INSERT INTO device (id, label, role, public_key, enrolled_on, revoked_on)
         SELECT id, label, role, public_key, enrolled_on, revoked_on FROM bundle.device WHERE true
         ON CONFLICT (id) DO UPDATE SET revoked_on = coalesce(device.revoked_on, excluded.revoked_on);",
    )?;
    conn.execute(
        "INSERT INTO acknowledged (uid, refused)
         SELECT uid, refused FROM bundle.ack WHERE device = ?1 AND true
         ON CONFLICT (uid) DO UPDATE SET refused = max(refused, excluded.refused)",
        [me.id.as_slice()],
    )?;
    let mut years = conn.prepare(
        "SELECT fiscal_year FROM bundle.closed_year
          WHERE fiscal_year NOT IN (SELECT fiscal_year FROM closed_year) ORDER BY fiscal_year",
    )?;
    merged.years_to_close = years
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(())
}

/// Erases the contacts of this worker's batches the coordinator acknowledged (they
/// are safe there, and a seized laptop should hold only what has not yet arrived) or
/// refused (a year closed before they arrived: they can never be counted). The batch
/// rows stay (day saved, source, worker label, the sheet's keyed digest, no contact):
/// `kitlog batches` shows what became of them, and a sheet already sent cannot be
/// imported twice. Returns (batches, contacts) erased as acknowledged, and as refused.
fn forget_acknowledged(conn: &Connection) -> Result<((u64, u64), (u64, u64))> {
    let mut erased = [(0, 0); 2];
    for (index, which) in [ACKNOWLEDGED, REFUSED].into_iter().enumerate() {
        conn.execute_batch(&format!(
            "CREATE TEMP TABLE gone AS SELECT DISTINCT c.batch_id AS id FROM contact c
              WHERE c.batch_id IN (SELECT batch_id FROM batch_origin WHERE {which});"
        ))?;
        let result = (|| -> Result<(u64, u64)> {
            conn.execute(
                "DELETE FROM contact_item WHERE contact_id IN
                   (SELECT id FROM contact WHERE batch_id IN (SELECT id FROM temp.gone))",
                [],
            )?;
            let contacts = conn.execute(
                "DELETE FROM contact WHERE batch_id IN (SELECT id FROM temp.gone)",
                [],
            )? as u64;
            let batches: i64 =
                conn.query_row("SELECT count(*) FROM temp.gone", [], |row| row.get(0))?;
            Ok((batches as u64, contacts))
        })();
        conn.execute_batch("DROP TABLE temp.gone")?;
        erased[index] = result?;
    }
    conn.execute(
        "UPDATE this_device SET forwarded_batches = forwarded_batches + ?1,
                                forwarded_contacts = forwarded_contacts + ?2",
        params![erased[0].0 as i64, erased[0].1 as i64],
    )?;
    Ok((erased[0], erased[1]))
}

/// Brings the void columns the reports read in line with the void events: for each
/// batch and contact, the earliest (day, uid) of its voids counts, whatever order they
/// arrived in. A target in a closed year is left as it is; returns how many were.
fn settle_voids(conn: &Connection) -> Result<u64> {
    let mut effective = conn.prepare(
        "SELECT o.batch_id, e.position, e.reason, e.voided_on
           FROM void_event e JOIN batch_origin o ON o.uid = e.batch_uid
          WHERE e.uid = (SELECT e2.uid FROM void_event e2
                          WHERE e2.batch_uid = e.batch_uid AND e2.position IS e.position
                          ORDER BY e2.voided_on, e2.uid LIMIT 1)",
    )?;
    let targets = effective
        .query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, Option<i64>>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let closed = super::retention::closed_years(conn)?;
    let mut skipped = 0;
    for (batch, position, reason, day) in targets {
        let (read, write) = match position {
            None => (
                "SELECT voided_reason, voided_on FROM batch WHERE id = ?1 AND ?2 IS NULL",
                "batch SET voided_reason = ?1, voided_on = ?2, void_seq = coalesce(void_seq, {next})
                  WHERE id = ?3 AND ?4 IS NULL",
            ),
            Some(_) => (
                "SELECT voided_reason, voided_on FROM contact WHERE batch_id = ?1 AND position = ?2",
                "contact SET voided_reason = ?1, voided_on = ?2, void_seq = coalesce(void_seq, {next})
                  WHERE batch_id = ?3 AND position = ?4",
            ),
        };
        let current: Option<(Option<String>, Option<String>)> = conn
            .query_row(read, params![batch, position], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        let Some(current) = current else { continue };
        if current == (Some(reason.clone()), Some(day.clone())) {
            continue;
        }
        let years: Vec<i32> = conn
            .prepare(
                "SELECT DISTINCT fiscal_year FROM contact
                  WHERE batch_id = ?1 AND (?2 IS NULL OR position = ?2)",
            )?
            .query_map(params![batch, position], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if years.iter().any(|year| closed.contains(year)) {
            skipped += 1;
            continue;
        }
        conn.execute(
            &format!(
                "UPDATE {}",
                write.replace("{next}", super::batches::NEXT_VOID)
            ),
            params![reason, day, batch, position],
        )?;
    }
    Ok(skipped)
}

impl Store {
    /// The image of an enrolment file for a new worker laptop: the program's settings,
    /// catalogue (with its aliases and words), worker labels, closed years and device
    /// list, and the laptop's own id, label and signing key.
    pub fn enrolment_image(
        &mut self,
        device: &DeviceId,
        label: &str,
        keys: (&[u8], &[u8; 32]),
        today: NaiveDate,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let (signing_key, public_key) = keys;
        with_attached(&mut self.conn, "image", |conn| {
            create_image(conn, "image")?;
            conn.execute_batch(
                "INSERT INTO image.program
                 SELECT fiscal_year_start, min_cell, code_format, key_check, created_on FROM program;
                 INSERT INTO image.device
                 SELECT id, label, role, public_key, enrolled_on, revoked_on FROM device;
                 INSERT INTO image.closed_year SELECT fiscal_year, closed_on FROM closed_year;",
            )?;
            copy_catalogue(conn, true)?;
            conn.execute(
                "INSERT INTO image.me (device, label, signing_key) VALUES (?1, ?2, ?3)",
                params![device.as_slice(), label, signing_key],
            )?;
            conn.execute(
                "INSERT INTO image.device (id, label, role, public_key, enrolled_on)
                 VALUES (?1, ?2, 'worker', ?3, ?4)",
                params![
                    device.as_slice(),
                    label,
                    public_key.as_slice(),
                    today.to_string()
                ],
            )?;
            image_bytes(conn, "image")
        })
    }

    /// Fills a program just made by `device join` from its enrolment image.
    pub fn adopt_enrolment(&mut self, image: &[u8]) -> Result<()> {
        with_attached(&mut self.conn, "bundle", |conn| {
            load_image(conn, "bundle", image)?;
            write_locked(conn, |conn| {
                conn.execute_batch(
                    "INSERT INTO this_device (id, device, role, signing_key)
                     SELECT 1, device, 'worker', signing_key FROM bundle.me;
                     INSERT INTO device (id, label, role, public_key, enrolled_on, revoked_on)
                     SELECT id, label, role, public_key, enrolled_on, revoked_on FROM bundle.device;
                     INSERT INTO site (name, retired_on) SELECT name, retired_on FROM bundle.site;
                     UPDATE item SET alias = NULL;
                     INSERT INTO item (name, category, unit, retired_on, alias)
                     SELECT name, category, unit, retired_on, alias FROM bundle.item WHERE true
                     ON CONFLICT (name) DO UPDATE SET category = excluded.category,
                         unit = excluded.unit, retired_on = excluded.retired_on,
                         alias = excluded.alias;
                     INSERT INTO item_synonym (word, item_id)
                     SELECT s.word, i.id FROM bundle.item_synonym s JOIN item i ON i.name = s.item;
                     INSERT INTO worker (label) SELECT label FROM bundle.worker;
                     INSERT INTO closed_year (fiscal_year, closed_on)
                     SELECT fiscal_year, closed_on FROM bundle.closed_year;",
                )?;
                Ok(())
            })
        })
    }
}

/// What an enrolment image says about the program, read before the new laptop's
/// program file exists: its settings, the day it was made, and the laptop's label.
pub fn enrolment_settings(image: &[u8]) -> Result<(Settings, NaiveDate, String)> {
    let conn = open_image(image)?;
    let (start, min_cell, code_format, key_check, created_on): (
        u32,
        u32,
        Option<String>,
        Vec<u8>,
        String,
    ) = conn
        .query_row(
            "SELECT fiscal_year_start, min_cell, code_format, key_check, created_on FROM program",
            [],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )
        .map_err(|_| Error::BundleDamaged)?;
    let label: String = conn
        .query_row("SELECT label FROM me", [], |row| row.get(0))
        .map_err(|_| Error::BundleDamaged)?;
    let code_format = match code_format {
        Some(mask) => Some(CodeFormat::parse(&mask).ok_or(Error::BundleDamaged)?),
        None => None,
    };
    let settings = Settings {
        calendar: FiscalCalendar::new(start).ok_or(Error::BundleDamaged)?,
        min_cell,
        code_format,
        key_check,
    };
    let created_on = crate::fiscal::parse_day(&created_on).map_err(|_| Error::BundleDamaged)?;
    Ok((settings, created_on, label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::new_store;

    #[test]
    fn the_earliest_void_counts_whatever_order_the_voids_arrive_in() {
        let events = [
            ([1u8; 16], "test", "2026-11-25"),
            ([2u8; 16], "duplicate", "2026-11-21"),
            ([3u8; 16], "entry-error", "2026-11-21"),
        ];
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [0, 2, 1]] {
            let dir = tempfile::tempdir().unwrap();
            let mut store = new_store(&dir);
            store.add_site("van").unwrap();
            let header = crate::contact::BatchHeader {
                source: crate::contact::BatchSource::Shift,
                worker: None,
                saved_on: "2026-11-20".parse().unwrap(),
            };
            store
                .save_batch_with(&header, |writer| {
                    writer.add(&crate::contact::Contact {
                        day: "2026-11-20".parse().unwrap(),
                        fiscal_year: crate::fiscal::FiscalYear::starting_in(2026),
                        site_id: 1,
                        code: None,
                        counts: crate::contact::Counts {
                            reversals: 1,
                            ..crate::contact::Counts::default()
                        },
                    })
                })
                .unwrap();
            let conn = store.connection();
            for index in order {
                let (uid, reason, day) = events[index];
                conn.execute(
                    "INSERT INTO void_event (uid, batch_uid, reason, voided_on, device)
                     SELECT ?1, uid, ?2, ?3, x'09090909090909090909090909090909' FROM batch_origin",
                    params![uid.as_slice(), reason, day],
                )
                .unwrap();
                settle_voids(conn).unwrap();
            }
            let effective: (String, String) = conn
                .query_row("SELECT voided_reason, voided_on FROM batch", [], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .unwrap();
            // The earliest day; on a tie, the smaller uid.
            assert_eq!(
                effective,
                ("duplicate".to_owned(), "2026-11-21".to_owned()),
                "{order:?}"
            );
        }
    }

    #[test]
    fn an_enrolment_image_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = new_store(&dir);
        let image = store
            .enrolment_image(
                &[1; 16],
                "van-2",
                (b"key", &[2; 32]),
                "2026-11-22".parse().unwrap(),
            )
            .unwrap();
        assert_eq!(&image[..16], b"SQLite format 3\0");
        let (_, _, label) = enrolment_settings(&image).unwrap();
        assert_eq!(label, "van-2");
        let other = tempfile::tempdir().unwrap();
        let mut joined = new_store(&other);
        joined.adopt_enrolment(&image).unwrap();
        assert_eq!(joined.this_device().unwrap().unwrap().role, Role::Worker);
    }
}
