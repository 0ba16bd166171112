//! Opening a program: the key file, the passphrase, the program key, then the
//! encrypted database, in that order, each refused with its own sentence.
//!
//! Every command goes through here, reports and listings too: without the program
//! key the file is unreadable (SQLCipher), so there is nothing to list without it.
//! A program made before encryption at rest is converted on its first unlock.

use std::path::Path;

use ring::rand::SystemRandom;

use crate::error::{Error, Result};
use crate::keyfile::{read_key_file, write_key_file};
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
    let (opened, key) = ProgramKey::unlock(&passphrase, &slots)?;
    let database_key = key.database_key();
    let random = SystemRandom::new();
    let reseal = |slot: &KeySlot| key.seal(&slot.label, &slot.created_on, &passphrase, &random);
    if let Some(legacy) = &legacy {
        if !key.passes_check(&legacy.key_check) {
            return Err(Error::WrongPassphrase);
        }
        slots[opened] = reseal(&slots[opened])?;
        write_key_file(db, &slots, false)?;
        encrypt_legacy(db, &database_key)?;
    }
    let mismatch = || Error::KeyFileMismatch(db.to_owned());
    let mut store = Store::open(db, &database_key).map_err(|e| match e {
        Error::NotAProgram(_) | Error::Damaged => mismatch(),
        other => other,
    })?;
    if !key.passes_check(&store.settings()?.key_check) {
        return Err(mismatch());
    }
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
