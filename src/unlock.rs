//! Opening a program: the key file, the passphrase, the program key, then the
//! encrypted database, in that order, each refused with its own sentence.
//!
//! Every command goes through here, reports and listings too: without the program
//! key the file is unreadable (SQLCipher), so there is nothing to list without it.
//! A program made before encryption at rest is converted on its first unlock.

use std::path::Path;

use ring::rand::SystemRandom;

use crate::error::{Error, Result};
use crate::keyfile::{
    commit_pending_key_file, discard_pending_key_file, pending_key_file_path, read_key_file,
    read_pending_key_file, write_key_file,
};
use crate::keys::{Kdf, KeySlot, Passphrase, ProgramKey};
use crate::store::{NewProgram, Store, encrypt_legacy, is_unencrypted, read_legacy};

/// An unlocked program: the open database, the program key, and the key slots as
/// they were when it opened.
#[derive(Debug)]
pub struct Program {
    /// The open, decrypted database.
    pub store: Store,
    /// The program key (codes, sheet digests, sealing new slots).
    pub key: ProgramKey,
    /// Every key slot, in key-file order.
    pub slots: Vec<KeySlot>,
    /// Which slot the passphrase opened (an index into `slots`).
    pub opened: usize,
    /// The file was unencrypted (an earlier kitlog) and was converted just now.
    pub converted: bool,
}

/// Opens the program at `db` with the passphrase `ask` returns, asked only once the
/// files are known to be there.
///
/// A program of an earlier kitlog (unencrypted, its slots in the file) is converted
/// here: the slot the passphrase opened is resealed with Argon2id, every slot goes to
/// the key file, and the file is encrypted in place. A PBKDF2 slot in the key file is
/// resealed with Argon2id when its passphrase next opens it.
pub fn open_program(db: &Path, ask: impl FnOnce() -> Result<Passphrase>) -> Result<Program> {
    if !db.is_file() {
        return Err(Error::NoProgram(db.to_owned()));
    }
    let legacy = if is_unencrypted(db) {
        Some(read_legacy(db)?)
    } else {
        None
    };
    let mut slots = match &legacy {
        Some(legacy) => legacy.slots.clone(),
        None => read_key_file(db)?,
    };
    let passphrase = ask()?;
    let (mut opened, mut key) = ProgramKey::unlock(&passphrase, &slots)?;
    let random = SystemRandom::new();
    if let Some(legacy) = &legacy {
        if !key.passes_check(&legacy.key_check) {
            return Err(Error::WrongPassphrase);
        }
        slots[opened] = key.seal(
            &slots[opened].label,
            &slots[opened].created_on,
            &passphrase,
            &random,
        )?;
        write_key_file(db, &slots, false)?;
        encrypt_legacy(db, &key.database_key())?;
    }
    // SQLCipher authenticates every page under the key (HMAC): a file that opens with
    // it is this key's. (The stored key check is not needed for that, and a rotation
    // cut short between its steps must not lock the program out over it.)
    let mut store = match Store::open(db, &key.database_key()) {
        Ok(mut store) => {
            // A rotation that never re-encrypted the file: its new key file is stale.
            // Checked under the write lock, which a rotation holds from before it
            // writes that file until it is in place.
            if pending_key_file_path(db).exists() {
                store.while_locked(|| match read_pending_key_file(db) {
                    Ok(Some(_)) => discard_pending_key_file(db),
                    _ => Ok(()),
                })?;
            }
            store
        }
        Err(Error::NotAProgram(_) | Error::Damaged) => {
            // A rotation re-encrypted the file, and either a crash came before its
            // new key file was put in place, or it finished after the key file was
            // read here.
            let newer = match read_pending_key_file(db)? {
                Some(pending) => Some((pending, true)),
                None => Some((read_key_file(db)?, false)).filter(|(now, _)| *now != slots),
            };
            let Some((newer, pending)) = newer else {
                return Err(Error::KeyFileMismatch(db.to_owned()));
            };
            let (index, newer_key) = ProgramKey::unlock(&passphrase, &newer)?;
            let store = Store::open(db, &newer_key.database_key()).map_err(|e| match e {
                Error::NotAProgram(_) | Error::Damaged => Error::KeyFileMismatch(db.to_owned()),
                other => other,
            })?;
            if pending {
                commit_pending_key_file(db)?;
            }
            (slots, opened, key) = (newer, index, newer_key);
            store
        }
        Err(other) => return Err(other),
    };
    let reseal = |slot: &KeySlot| key.seal(&slot.label, &slot.created_on, &passphrase, &random);
    if matches!(slots[opened].kdf, Kdf::Pbkdf2 { .. }) {
        let old = slots[opened].clone();
        let new = reseal(&old)?;
        store.while_locked(|| {
            // Re-read under the lock: another kitlog may have changed the slots.
            let mut current = read_key_file(db)?;
            if let Some(slot) = current.iter_mut().find(|slot| **slot == old) {
                *slot = new.clone();
                write_key_file(db, &current, false)?;
            }
            Ok(())
        })?;
        slots[opened] = new;
    }
    Ok(Program {
        store,
        key,
        slots,
        opened,
        converted: legacy.is_some(),
    })
}

/// Creates a program at `db`: the encrypted file, then its key file holding `slot`.
/// Neither is left behind if the other cannot be written.
pub fn create_program(
    db: &Path,
    program: &NewProgram<'_>,
    key: &ProgramKey,
    slot: &KeySlot,
) -> Result<Store> {
    let store = Store::create(db, program, &key.database_key())?;
    if let Err(error) = write_key_file(db, std::slice::from_ref(slot), true) {
        drop(store);
        let _ = std::fs::remove_file(db);
        return Err(error);
    }
    Ok(store)
}
