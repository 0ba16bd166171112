//! Key slots by label: listing them, and adding, replacing or removing one in a
//! single transaction that first confirms the slot the user's passphrase opened is
//! still there, unchanged. The program key is never seen here, only sealed slots.

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use rusqlite::Connection;

use super::Store;
use crate::error::{Error, Result};
use crate::keys::KeySlot;

/// A key slot as stored: its label, the day its passphrase was set, and the sealed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledSlot {
    /// Row id; stable while the slot exists.
    pub id: i64,
    /// Short slug naming whose passphrase this is (e.g. `worker-jd`).
    pub label: String,
    /// The day this slot's passphrase was set (YYYY-MM-DD).
    pub created_on: String,
    /// The sealed program key.
    pub slot: KeySlot,
}

/// One change to the key slots.
#[derive(Debug)]
pub enum SlotChange<'a> {
    /// A new slot under a label no other slot has.
    Add {
        /// The new label.
        label: &'a str,
        /// The program key sealed under the new passphrase.
        slot: &'a KeySlot,
    },
    /// A slot keeps its label and gets a new passphrase.
    Replace {
        /// The slot replaced.
        target: &'a LabelledSlot,
        /// The program key sealed under the new passphrase.
        slot: &'a KeySlot,
    },
    /// A slot is erased; never the last one.
    Remove {
        /// The slot removed.
        target: &'a LabelledSlot,
    },
}

impl Store {
    /// Every key slot, oldest first: what a passphrase is tried against.
    pub fn key_slots(&self) -> Result<Vec<KeySlot>> {
        Ok(self
            .labelled_key_slots()?
            .into_iter()
            .map(|labelled| labelled.slot)
            .collect())
    }

    /// Every key slot with its label, oldest first (the order `key_slots` uses).
    pub fn labelled_key_slots(&self) -> Result<Vec<LabelledSlot>> {
        let mut statement = self.conn.prepare(
            "SELECT id, label, created_on, kdf_salt, kdf_iterations, nonce, sealed_key
               FROM key_slot ORDER BY id",
        )?;
        let slots = statement
            .query_map([], |row| {
                Ok(LabelledSlot {
                    id: row.get(0)?,
                    label: row.get(1)?,
                    created_on: row.get(2)?,
                    slot: KeySlot {
                        salt: row.get(3)?,
                        iterations: row.get(4)?,
                        nonce: row.get(5)?,
                        sealed_key: row.get(6)?,
                    },
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(slots)
    }

    /// Applies `change` in one transaction, if `opened` (the slot the user's passphrase
    /// opened) is still stored unchanged; otherwise another kitlog changed the slots
    /// meanwhile and nothing is written.
    ///
    /// With `secure_delete` on, a replaced or removed sealed key is overwritten in the
    /// file, not left in a free page.
    pub fn change_key_slots(
        &mut self,
        opened: &LabelledSlot,
        change: &SlotChange<'_>,
        today: NaiveDate,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let still_there: Option<i64> = tx
            .query_row(
                "SELECT id FROM key_slot
                  WHERE id = ?1 AND kdf_salt = ?2 AND nonce = ?3 AND sealed_key = ?4",
                params![
                    opened.id,
                    opened.slot.salt,
                    opened.slot.nonce,
                    opened.slot.sealed_key
                ],
                |row| row.get(0),
            )
            .optional()?;
        if still_there.is_none() {
            return Err(Error::WrongPassphrase);
        }
        match change {
            SlotChange::Add { label, slot } => {
                let taken: Option<i64> = tx
                    .query_row("SELECT id FROM key_slot WHERE label = ?1", [label], |row| {
                        row.get(0)
                    })
                    .optional()?;
                if taken.is_some() {
                    return Err(Error::SlotLabelTaken((*label).to_owned()));
                }
                insert_slot(&tx, label, slot, today)?;
            }
            SlotChange::Replace { target, slot } => {
                let changed = tx.execute(
                    "UPDATE key_slot
                        SET kdf_salt = ?1, kdf_iterations = ?2, nonce = ?3, sealed_key = ?4,
                            created_on = ?5
                      WHERE id = ?6",
                    params![
                        slot.salt,
                        slot.iterations,
                        slot.nonce,
                        slot.sealed_key,
                        today.to_string(),
                        target.id
                    ],
                )?;
                if changed == 0 {
                    return Err(Error::NoSuchSlot(target.label.clone()));
                }
            }
            SlotChange::Remove { target } => {
                let count: i64 =
                    tx.query_row("SELECT count(*) FROM key_slot", [], |row| row.get(0))?;
                if count <= 1 {
                    return Err(Error::LastKeySlot(target.label.clone()));
                }
                let changed = tx.execute("DELETE FROM key_slot WHERE id = ?1", [target.id])?;
                if changed == 0 {
                    return Err(Error::NoSuchSlot(target.label.clone()));
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// Stores a new slot under `label`; the caller holds the transaction.
pub(super) fn insert_slot(
    conn: &Connection,
    label: &str,
    slot: &KeySlot,
    today: NaiveDate,
) -> Result<()> {
    conn.execute(
        "INSERT INTO key_slot (label, kdf_salt, kdf_iterations, nonce, sealed_key, created_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            label,
            slot.salt,
            slot.iterations,
            slot.nonce,
            slot.sealed_key,
            today.to_string()
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::new_store;

    fn slot(fill: u8) -> KeySlot {
        KeySlot {
            salt: vec![fill; 16],
            iterations: 600_000,
            nonce: vec![fill; 12],
            sealed_key: vec![fill; 48],
        }
    }

    fn today() -> NaiveDate {
        "2026-11-23".parse().unwrap()
    }

    #[test]
    fn add_replace_and_remove_by_label() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = new_store(&dir);
        let first = store.labelled_key_slots().unwrap().remove(0);
        let added = slot(9);
        store
            .change_key_slots(
                &first,
                &SlotChange::Add {
                    label: "worker-jd",
                    slot: &added,
                },
                today(),
            )
            .unwrap();
        let slots = store.labelled_key_slots().unwrap();
        assert_eq!(slots.len(), 2);
        assert_eq!(slots[1].label, "worker-jd");
        assert_eq!(slots[1].slot, added);

        let duplicate = store.change_key_slots(
            &first,
            &SlotChange::Add {
                label: "worker-jd",
                slot: &slot(8),
            },
            today(),
        );
        assert!(matches!(duplicate, Err(Error::SlotLabelTaken(_))));

        let replacement = slot(7);
        store
            .change_key_slots(
                &first,
                &SlotChange::Replace {
                    target: &slots[1],
                    slot: &replacement,
                },
                today(),
            )
            .unwrap();
        assert_eq!(store.key_slots().unwrap()[1], replacement);

        store
            .change_key_slots(&first, &SlotChange::Remove { target: &slots[1] }, today())
            .unwrap();
        assert_eq!(store.labelled_key_slots().unwrap(), vec![first.clone()]);
        let last = store.change_key_slots(&first, &SlotChange::Remove { target: &first }, today());
        assert!(matches!(last, Err(Error::LastKeySlot(_))));
    }

    #[test]
    fn a_slot_changed_meanwhile_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = new_store(&dir);
        let mut stale = store.labelled_key_slots().unwrap().remove(0);
        stale.slot.sealed_key[0] ^= 1;
        let result = store.change_key_slots(
            &stale,
            &SlotChange::Add {
                label: "worker-jd",
                slot: &slot(9),
            },
            today(),
        );
        assert!(matches!(result, Err(Error::WrongPassphrase)));
        assert_eq!(store.key_slots().unwrap().len(), 1);
    }
}
