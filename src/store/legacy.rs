//! Programs made before encryption at rest: read their key slots, then convert the
//! file to an encrypted one in place, leaving no readable copy of the old one.
//!
//! The conversion runs on the first unlock (the passphrase is needed to make the
//! database key). The encrypted copy is written beside the program by SQLCipher's
//! `sqlcipher_export`, synced, and renamed over the program; the old file's bytes,
//! still reachable through an open handle, are then overwritten with zeros and
//! synced, so the plaintext is not left in the file's old blocks. (A copy-on-write
//! file system or an SSD may still keep old blocks elsewhere: only full-disk
//! encryption rules that out, as the README says.)

use std::io::{Seek, Write};
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::keys::{DatabaseKey, Kdf, KeySlot};

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// What the conversion needs from an unencrypted program: its slots, as they were
/// stored in its `key_slot` table, and the check value of its program key.
#[derive(Debug)]
pub struct LegacyProgram {
    /// The key slots (PBKDF2, sealed before labels were bound into seals).
    pub slots: Vec<KeySlot>,
    /// HMAC of the program key.
    pub key_check: Vec<u8>,
}

/// Whether the file at `path` is a plain SQLite file (an encrypted one starts with
/// random bytes).
#[must_use]
pub fn is_unencrypted(path: &Path) -> bool {
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut head))
        .is_ok_and(|()| &head == SQLITE_MAGIC)
}

#[expect(
    clippy::disallowed_methods,
    reason = "an unencrypted file from an earlier kitlog, opened read-only to convert it"
)]
fn open_plain(path: &Path, flags: OpenFlags) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    super::quiet(&conn)?;
    Ok(conn)
}

/// The key slots and key check of an unencrypted program; [`Error::NotAProgram`] for
/// any other SQLite file.
pub fn read_legacy(path: &Path) -> Result<LegacyProgram> {
    let not_a_program = |_| Error::NotAProgram(path.to_owned());
    let conn = open_plain(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(not_a_program)?;
    if !(1..=3).contains(&version) {
        return Err(Error::NotAProgram(path.to_owned()));
    }
    let key_check: Vec<u8> = conn
        .query_row("SELECT key_check FROM program WHERE id = 1", [], |row| {
            row.get(0)
        })
        .map_err(not_a_program)?;
    let slots = conn
        .prepare(
            "SELECT label, created_on, kdf_iterations, kdf_salt, nonce, sealed_key
               FROM key_slot ORDER BY id",
        )
        .map_err(not_a_program)?
        .query_map([], |row| {
            Ok(KeySlot {
                label: row.get(0)?,
                created_on: row.get(1)?,
                kdf: Kdf::Pbkdf2 {
                    iterations: row.get(2)?,
                },
                salt: row.get(3)?,
                nonce: row.get(4)?,
                sealed_key: row.get(5)?,
                public_key: Vec::new(),
                wrapped_key: Vec::new(),
            })
        })
        .map_err(not_a_program)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(not_a_program)?;
    Ok(LegacyProgram { slots, key_check })
}

/// Converts the unencrypted program at `path` into one encrypted under `key`, in
/// place, and overwrites the old file's bytes. A crash before the rename leaves the
/// old file as it was (and an encrypted temp file, unreadable without the key).
pub fn encrypt_legacy(path: &Path, key: &DatabaseKey) -> Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let fail = |e: &std::io::Error| Error::file("write", path, e);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".kitlog-encrypt-").suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let temp = builder.tempfile_in(folder).map_err(|e| fail(&e))?;
    {
        let conn = open_plain(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let target = temp.path().to_string_lossy().into_owned();
        conn.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            [target.as_str(), key.pragma_value()],
        )?;
        conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        conn.pragma_update(Some("encrypted"), "user_version", version)?;
        conn.execute("DETACH DATABASE encrypted", [])?;
    }
    temp.as_file().sync_all().map_err(|e| fail(&e))?;
    // Hold the old file open across the rename: its bytes are overwritten through
    // this handle once the encrypted file has its name.
    let mut old = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| fail(&e))?;
    let length = old.metadata().map_err(|e| fail(&e))?.len();
    temp.persist(path).map_err(|e| fail(&e.error))?;
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    old.rewind().map_err(|e| fail(&e))?;
    let zeros = vec![0u8; 1 << 16];
    let mut left = length;
    while left > 0 {
        let chunk = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
        old.write_all(&zeros[..chunk]).map_err(|e| fail(&e))?;
        left -= chunk as u64;
    }
    old.sync_all().map_err(|e| fail(&e))?;
    Ok(())
}
