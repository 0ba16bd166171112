//! What a key rotation changes inside the program file: the code keys it carries
//! over, the new encryption key, and the key check.

use rusqlite::params;

use super::Store;
use crate::error::Result;
use crate::fiscal::FiscalYear;
use crate::keys::{DatabaseKey, EpochKey};

impl Store {
    /// The code keys carried across earlier rotations, by year.
    pub fn carried_epoch_keys(&self) -> Result<Vec<(FiscalYear, EpochKey)>> {
        let mut statement = self
            .conn
            .prepare("SELECT fiscal_year, key FROM carried_epoch_key ORDER BY fiscal_year")?;
        let keys = statement
            .query_map([], |row| {
                let year: i32 = row.get(0)?;
                let bytes: Vec<u8> = row.get(1)?;
                Ok((year, bytes))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(keys
            .into_iter()
            .filter_map(|(year, bytes)| {
                let bytes = zeroize::Zeroizing::new(bytes);
                let array: [u8; 32] = bytes.as_slice().try_into().ok()?;
                Some((FiscalYear::starting_in(year), EpochKey::from_stored(array)))
            })
            .collect())
    }

    /// The starting year of the earliest fiscal year that still holds a participant
    /// code, if any.
    pub fn earliest_year_with_codes(&self) -> Result<Option<i32>> {
        Ok(self.conn.query_row(
            "SELECT min(fiscal_year) FROM contact WHERE code IS NOT NULL",
            [],
            |row| row.get(0),
        )?)
    }

    /// Holds the write lock from the next write until this connection closes
    /// (SQLite's exclusive locking mode): a rotation keeps every other kitlog out from
    /// before it writes its new key file until the file is re-encrypted.
    pub fn lock_exclusively(&mut self) -> Result<()> {
        self.conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
        tx.commit()?;
        Ok(())
    }

    /// Stores `keys` as carried over; a year already carried keeps its key.
    pub fn carry_epoch_keys(&mut self, keys: &[(FiscalYear, EpochKey)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        for (year, key) in keys {
            tx.execute(
                "INSERT OR IGNORE INTO carried_epoch_key (fiscal_year, key) VALUES (?1, ?2)",
                params![year.start_year(), &key.to_stored()[..]],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Re-encrypts every page under `key` (SQLCipher's `rekey`, one transaction), and
    /// stores the new key's check value.
    pub fn rekey(&mut self, key: &DatabaseKey, key_check: &[u8]) -> Result<()> {
        self.conn.pragma_update(None, "rekey", key.pragma_value())?;
        self.conn.execute(
            "UPDATE program SET key_check = ?1 WHERE id = 1",
            [key_check],
        )?;
        Ok(())
    }
}
