//! The key file: the sealed key slots, kept beside the encrypted program file.
//!
//! The program file is encrypted with a key that comes from the program key, so the
//! slots that seal the program key must be readable before the database opens. They
//! live in `<program>.keys`, a small CSV file (one slot a row, binary fields in hex)
//! that holds nothing but sealed keys, public keys, labels, costs and days: without
//! a passphrase it opens nothing, and each slot's label and cost are bound into its
//! seal ([`crate::keys`]), so editing it only breaks slots.
//!
//! During a key rotation the new key file is first written as `<program>.keys.new`;
//! [`crate::unlock`] finishes or discards a rotation a crash interrupted.
//!
//! It is always rewritten whole, to a temp file in the same folder that is synced
//! and renamed over it, so a crash leaves the old key file or the new one, never half.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::keys::{Kdf, KeySlot};

/// The key file of the program at `db`.
#[must_use]
pub fn key_file_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".keys");
    PathBuf::from(name)
}

/// Where a rotation writes the new key file before the program is re-encrypted.
#[must_use]
pub fn pending_key_file_path(db: &Path) -> PathBuf {
    let mut name = key_file_path(db).into_os_string();
    name.push(".new");
    PathBuf::from(name)
}

/// One row of the key file.
#[derive(Debug, Serialize, Deserialize)]
struct Row {
    label: String,
    created_on: String,
    kdf: String,
    memory_kib: u32,
    passes: u32,
    lanes: u32,
    salt: String,
    nonce: String,
    sealed_key: String,
    public_key: String,
    wrapped_key: String,
}

const ARGON2ID: &str = "argon2id";
const PBKDF2: &str = "pbkdf2-sha256";

/// Every slot of the program at `db`, in file order (the order a passphrase is tried).
pub fn read_key_file(db: &Path) -> Result<Vec<KeySlot>> {
    read_slots(db, &key_file_path(db))
}

/// The slots of a rotation a crash interrupted, if its new key file is there.
pub fn read_pending_key_file(db: &Path) -> Result<Option<Vec<KeySlot>>> {
    let path = pending_key_file_path(db);
    if path.exists() {
        read_slots(db, &path).map(Some)
    } else {
        Ok(None)
    }
}

fn read_slots(db: &Path, path: &Path) -> Result<Vec<KeySlot>> {
    let path = path.to_owned();
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoKeyFile(db.to_owned()));
        }
        Err(e) => return Err(Error::file("read", &path, &e)),
    };
    decode_slots(&bytes).ok_or(Error::DamagedKeyFile(path))
}

/// Slots from the key file's CSV form; `None` if any row is damaged or there is none.
/// Also how an enrolment file carries its one slot.
#[must_use]
pub fn decode_slots(bytes: &[u8]) -> Option<Vec<KeySlot>> {
    let mut slots = Vec::new();
    for row in csv::Reader::from_reader(bytes).deserialize::<Row>() {
        let row = row.ok()?;
        let kdf = match row.kdf.as_str() {
            ARGON2ID => Kdf::Argon2id {
                memory_kib: row.memory_kib,
                passes: row.passes,
                lanes: row.lanes,
            },
            PBKDF2 if row.memory_kib == 0 && row.lanes == 0 => Kdf::Pbkdf2 {
                iterations: row.passes,
            },
            _ => return None,
        };
        // A cost outside the sane range is refused here, before any work: cheap costs
        // help a guesser, absurd ones hang kitlog.
        if !kdf.is_sane() {
            return None;
        }
        slots.push(KeySlot {
            label: row.label,
            created_on: row.created_on,
            kdf,
            salt: from_hex(&row.salt)?,
            nonce: from_hex(&row.nonce)?,
            sealed_key: from_hex(&row.sealed_key)?,
            public_key: from_hex(&row.public_key)?,
            wrapped_key: from_hex(&row.wrapped_key)?,
        });
    }
    if slots.is_empty() {
        return None;
    }
    Some(slots)
}

/// The key file's CSV form of `slots`.
#[must_use]
pub fn encode_slots(slots: &[KeySlot]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for slot in slots {
        let (kdf, memory_kib, passes, lanes) = match slot.kdf {
            Kdf::Argon2id {
                memory_kib,
                passes,
                lanes,
            } => (ARGON2ID, memory_kib, passes, lanes),
            Kdf::Pbkdf2 { iterations } => (PBKDF2, 0, iterations, 0),
        };
        writer
            .serialize(Row {
                label: slot.label.clone(),
                created_on: slot.created_on.clone(),
                kdf: kdf.to_owned(),
                memory_kib,
                passes,
                lanes,
                salt: to_hex(&slot.salt),
                nonce: to_hex(&slot.nonce),
                sealed_key: to_hex(&slot.sealed_key),
                public_key: to_hex(&slot.public_key),
                wrapped_key: to_hex(&slot.wrapped_key),
            })
            .expect("strings and numbers always serialise");
    }
    writer.into_inner().expect("a Vec never fails to flush")
}

/// Writes `slots` as the key file of the program at `db`, whole: a synced temp file
/// renamed over the old one. With `new`, refuses to replace a key file already there.
pub fn write_key_file(db: &Path, slots: &[KeySlot], new: bool) -> Result<()> {
    write_slots(&key_file_path(db), slots, new)
}

/// Writes the key file of a rotation, beside the current one, before the program is
/// re-encrypted; [`commit_pending_key_file`] puts it in place once it is.
pub fn write_pending_key_file(db: &Path, slots: &[KeySlot]) -> Result<()> {
    write_slots(&pending_key_file_path(db), slots, false)
}

/// Renames the rotation's key file over the current one.
pub fn commit_pending_key_file(db: &Path) -> Result<()> {
    let path = key_file_path(db);
    std::fs::rename(pending_key_file_path(db), &path)
        .map_err(|e| Error::file("write", &path, &e))?;
    sync_folder(&path);
    Ok(())
}

/// Removes the key file of a rotation that never re-encrypted the program.
pub fn discard_pending_key_file(db: &Path) -> Result<()> {
    let path = pending_key_file_path(db);
    std::fs::remove_file(&path).map_err(|e| Error::file("remove", &path, &e))
}

/// Syncs the folder holding `path`, so a rename in it survives a power cut (not
/// every platform can sync a folder; that is not an error).
fn sync_folder(path: &Path) {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
}

fn write_slots(path: &Path, slots: &[KeySlot], new: bool) -> Result<()> {
    let path = path.to_owned();
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let fail = |e: &std::io::Error| Error::file("write", &path, e);
    // tempfile makes the file owner-only (0600).
    let mut temp = tempfile::Builder::new()
        .prefix(".kitlog-keys-")
        .suffix(".tmp")
        .tempfile_in(&folder)
        .map_err(|e| fail(&e))?;
    std::io::Write::write_all(temp.as_file_mut(), &encode_slots(slots)).map_err(|e| fail(&e))?;
    temp.as_file().sync_all().map_err(|e| fail(&e))?;
    if new {
        temp.persist_noclobber(&path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::ProgramExists(path.clone())
            } else {
                fail(&e.error)
            }
        })?;
    } else {
        temp.persist(&path).map_err(|e| fail(&e.error))?;
    }
    // The rename itself reaches the disk only when the folder is synced.
    sync_folder(&path);
    Ok(())
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut text, b| {
        let _ = write!(text, "{b:02x}");
        text
    })
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(label: &str, kdf: Kdf) -> KeySlot {
        KeySlot {
            label: label.into(),
            created_on: "2026-11-30".into(),
            kdf,
            salt: vec![1; 16],
            nonce: vec![2; 12],
            sealed_key: vec![0xab; 48],
            public_key: vec![0xcd; 32],
            wrapped_key: vec![0xef; 92],
        }
    }

    #[test]
    fn slots_round_trip_and_a_second_new_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        let slots = vec![
            slot("initial", Kdf::CURRENT),
            slot(
                "worker-jd",
                Kdf::Pbkdf2 {
                    iterations: 600_000,
                },
            ),
        ];
        write_key_file(&db, &slots, true).unwrap();
        assert_eq!(read_key_file(&db).unwrap(), slots);
        assert!(matches!(
            write_key_file(&db, &slots, true),
            Err(Error::ProgramExists(_))
        ));
        write_key_file(&db, &slots[..1], false).unwrap();
        assert_eq!(read_key_file(&db).unwrap(), slots[..1]);
    }

    #[test]
    fn a_missing_damaged_or_absurd_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        assert!(matches!(read_key_file(&db), Err(Error::NoKeyFile(_))));
        write_key_file(&db, &[slot("initial", Kdf::CURRENT)], true).unwrap();
        let good = std::fs::read_to_string(key_file_path(&db)).unwrap();
        for bad in [
            String::new(),
            good.lines().next().unwrap().to_owned() + "\n",
            good.replace("argon2id,65536", "argon2id,8"),
            good.replace("argon2id,65536,3", "argon2id,65536,4294967295"),
            good.replace("abab", "zz"),
            good.replace("argon2id", "rot13"),
        ] {
            std::fs::write(key_file_path(&db), &bad).unwrap();
            assert!(
                matches!(read_key_file(&db), Err(Error::DamagedKeyFile(_))),
                "{bad}"
            );
        }
    }
}
