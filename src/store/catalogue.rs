//! Sites and items: the coordinator's catalogue as stored. Names arrive already
//! checked by [`crate::catalogue`]; here they are added, aliased and retired, each
//! change one statement or one transaction, and a clash is the user's sentence,
//! never SQLite's.

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::Store;
use crate::catalogue::{Catalogue, Category, Item, Site};
use crate::error::{Error, Result};

impl Store {
    /// Sites and items, retired ones included, in name order.
    pub fn catalogue(&self) -> Result<Catalogue> {
        let mut sites = self
            .conn
            .prepare("SELECT id, name, retired_on FROM site ORDER BY name")?;
        let sites = sites
            .query_map([], |row| {
                Ok(Site {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    retired_on: row.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut items = self.conn.prepare(
            "SELECT id, name, category, unit, retired_on, alias FROM item ORDER BY category, name",
        )?;
        let items = items
            .query_map([], |row| {
                let category: String = row.get(2)?;
                Ok(Item {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    category: Category::parse(&category).unwrap_or(Category::Other),
                    unit: row.get(3)?,
                    retired_on: row.get(4)?,
                    alias: row.get(5)?,
                    synonyms: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<Item>>>()?;
        let mut synonyms = self
            .conn
            .prepare("SELECT item_id, word FROM item_synonym ORDER BY word")?;
        let synonyms = synonyms
            .query_map([], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut items = items;
        for (item_id, word) in synonyms {
            if let Some(item) = items.iter_mut().find(|i| i.id == item_id) {
                item.synonyms.push(word);
            }
        }
        Ok(Catalogue { sites, items })
    }

    /// The coordinator's worker labels, in order.
    pub fn worker_labels(&self) -> Result<Vec<String>> {
        let mut statement = self
            .conn
            .prepare("SELECT label FROM worker ORDER BY label COLLATE NOCASE")?;
        let labels = statement
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(labels)
    }

    /// Adds a worker label (checked by [`crate::contact::WorkerLabel`]); one that
    /// differs from a listed one by case only is the same label.
    pub fn add_worker(&mut self, label: &str) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let taken: Option<String> = tx
            .query_row(
                "SELECT label FROM worker WHERE label = ?1 COLLATE NOCASE",
                [label],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(taken) = taken {
            return Err(Error::WorkerExists(taken));
        }
        tx.execute("INSERT INTO worker (label) VALUES (?1)", [label])?;
        tx.commit()?;
        Ok(())
    }

    /// Adds a site; `name` must already be normalised.
    pub fn add_site(&mut self, name: &str) -> Result<()> {
        self.insert_named(
            "site",
            name,
            "INSERT INTO site (name) VALUES (?1)",
            params![name],
        )
    }

    /// Adds an item; `name`, `unit` and `alias` must already be normalised.
    pub fn add_item(
        &mut self,
        name: &str,
        category: Category,
        unit: &str,
        alias: Option<&str>,
    ) -> Result<()> {
        self.check_word_free(name, name)?;
        if let Some(alias) = alias {
            self.check_alias_free(alias, name)?;
        }
        self.insert_named(
            "item",
            name,
            "INSERT INTO item (name, category, unit, alias) VALUES (?1, ?2, ?3, ?4)",
            params![name, category.as_str(), unit, alias],
        )
    }

    /// Gives an item a (new) shift alias.
    pub fn set_alias(&mut self, name: &str, alias: &str) -> Result<()> {
        self.check_alias_free(alias, name)?;
        let changed = self.conn.execute(
            "UPDATE item SET alias = ?1 WHERE name = ?2",
            params![alias, name],
        )?;
        if changed == 0 {
            return Err(Error::NotInCatalogue {
                kind: "item",
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    /// Adds `word` (checked by [`crate::shift::normalise_synonym`]) as another name
    /// of the item `name` on shift lines; adding it again is harmless.
    pub fn add_synonym(&mut self, name: &str, word: &str) -> Result<()> {
        let item = self.item_id(name)?;
        if let Some(holder) = self.item_named(word)? {
            return Err(Error::AliasTaken {
                alias: word.to_owned(),
                holder,
            });
        }
        self.check_word_free(word, name)?;
        self.conn.execute(
            "INSERT OR IGNORE INTO item_synonym (word, item_id) VALUES (?1, ?2)",
            params![word, item],
        )?;
        Ok(())
    }

    /// Takes `word` away from the item `name`: one of its longer words, or its
    /// short alias (the item is then typed by name or longer word only).
    pub fn remove_word(&mut self, name: &str, word: &str) -> Result<()> {
        let item = self.item_id(name)?;
        let removed = self.conn.execute(
            "DELETE FROM item_synonym WHERE word = ?1 AND item_id = ?2",
            params![word, item],
        )? + self.conn.execute(
            "UPDATE item SET alias = NULL WHERE alias = ?1 AND id = ?2",
            params![word, item],
        )?;
        if removed == 0 {
            return Err(Error::NotAWordOf {
                word: word.to_owned(),
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    fn item_id(&self, name: &str) -> Result<i64> {
        self.conn
            .query_row("SELECT id FROM item WHERE name = ?1", [name], |row| {
                row.get(0)
            })
            .optional()?
            .ok_or_else(|| Error::NotInCatalogue {
                kind: "item",
                name: name.to_owned(),
            })
    }

    fn item_named(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT name FROM item WHERE name = ?1", [name], |row| {
                row.get(0)
            })
            .optional()?)
    }

    /// Refuses a word that is already another item's longer word: a shift line
    /// could not tell the two apart.
    fn check_word_free(&self, word: &str, name: &str) -> Result<()> {
        let holder: Option<String> = self
            .conn
            .query_row(
                "SELECT item.name FROM item_synonym JOIN item ON item.id = item_synonym.item_id
                 WHERE item_synonym.word = ?1 AND item.name <> ?2",
                params![word, name],
                |row| row.get(0),
            )
            .optional()?;
        match holder {
            Some(holder) => Err(Error::AliasTaken {
                alias: word.to_owned(),
                holder,
            }),
            None => Ok(()),
        }
    }

    fn check_alias_free(&self, alias: &str, name: &str) -> Result<()> {
        let holder: Option<String> = self
            .conn
            .query_row(
                "SELECT name FROM item WHERE alias = ?1 AND name <> ?2",
                params![alias, name],
                |row| row.get(0),
            )
            .optional()?;
        match holder {
            Some(holder) => Err(Error::AliasTaken {
                alias: alias.to_owned(),
                holder,
            }),
            None => Ok(()),
        }
    }

    fn insert_named(
        &mut self,
        kind: &'static str,
        name: &str,
        sql: &str,
        values: &[&dyn rusqlite::ToSql],
    ) -> Result<()> {
        match self.conn.execute(sql, values) {
            Ok(_) => Ok(()),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                Err(Error::AlreadyInCatalogue {
                    kind,
                    name: name.to_owned(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Retires a site from `today` on.
    pub fn retire_site(&mut self, name: &str, today: NaiveDate) -> Result<()> {
        self.retire("site", name, today)
    }

    /// Retires an item from `today` on.
    pub fn retire_item(&mut self, name: &str, today: NaiveDate) -> Result<()> {
        self.retire("item", name, today)
    }

    fn retire(&mut self, kind: &'static str, name: &str, today: NaiveDate) -> Result<()> {
        // `kind` is one of two literals, never user input, so formatting it in is safe.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let retired: Option<Option<String>> = tx
            .query_row(
                &format!("SELECT retired_on FROM {kind} WHERE name = ?1"),
                [name],
                |row| row.get(0),
            )
            .optional()?;
        match retired {
            None => Err(Error::NotInCatalogue {
                kind,
                name: name.to_owned(),
            }),
            Some(Some(on)) => Err(Error::AlreadyRetired {
                kind,
                name: name.to_owned(),
                on,
            }),
            Some(None) => {
                tx.execute(
                    &format!("UPDATE {kind} SET retired_on = ?1 WHERE name = ?2"),
                    params![today.to_string(), name],
                )?;
                tx.commit()?;
                Ok(())
            }
        }
    }
}
