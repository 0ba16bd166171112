//! Sites and items: the coordinator's catalogue.
//!
//! Everything a contact records about where and what comes from here, never from
//! free text: no free-text location, only the coordinator's names. Names are short lowercase slugs so that they can
//! head a spreadsheet column and cannot carry a sentence. Nothing is deleted while
//! referenced: sites and items are retired, and stay valid for days before that.

use chrono::NaiveDate;

use crate::error::{Error, Result};

/// Shift-sheet columns with a meaning of their own, as problems name them; no item may
/// take these names. The sheet reader maps them to what they mean, in this order.
pub const RESERVED_COLUMNS: [&str; 7] = [
    "date",
    "site",
    "code",
    "reversals",
    "for_others",
    "returned",
    "naloxone_reason",
];

/// What `init` puts in a new program's catalogue: `(name, category, unit, shift alias)`.
pub const DEFAULT_ITEMS: [(&str, Category, &str, &str); 8] = [
    ("injection-kit", Category::Injection, "kit", "ik"),
    ("syringe", Category::Injection, "syringe", "sy"),
    ("stem-pipe", Category::Smoking, "pipe", "sp"),
    ("bubble-pipe", Category::Smoking, "pipe", "bp"),
    ("naloxone-nasal", Category::Naloxone, "kit", "nn"),
    ("naloxone-injectable", Category::Naloxone, "kit", "ni"),
    ("fentanyl-test-strip", Category::Testing, "strip", "ft"),
    ("sharps-container", Category::Other, "container", "sc"),
];

/// The funder-facing grouping of items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Injection equipment.
    Injection,
    /// Safer-smoking supplies.
    Smoking,
    /// Take-home naloxone; these items carry a naloxone reason.
    Naloxone,
    /// Drug-checking supplies.
    Testing,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 5] = [
        Category::Injection,
        Category::Smoking,
        Category::Naloxone,
        Category::Testing,
        Category::Other,
    ];

    /// The name used in the database, on the command line and in reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Injection => "injection",
            Category::Smoking => "smoking",
            Category::Naloxone => "naloxone",
            Category::Testing => "testing",
            Category::Other => "other",
        }
    }

    /// Reads the stored name back.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Category::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// A place or outreach route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Row id.
    pub id: i64,
    /// Catalogue name, e.g. `downtown-van`.
    pub name: String,
    /// The first day it may no longer be used.
    pub retired_on: Option<NaiveDate>,
}

/// A supply that is handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Row id.
    pub id: i64,
    /// Catalogue name, e.g. `stem-pipe`; also its shift-sheet column.
    pub name: String,
    /// Funder grouping.
    pub category: Category,
    /// What one counts: kit, pipe, strip…
    pub unit: String,
    /// The first day it may no longer be used.
    pub retired_on: Option<NaiveDate>,
    /// Short name on `kitlog shift` lines, e.g. `ik`.
    pub alias: Option<String>,
    /// The program's own longer words for it on shift lines, e.g. `narcan`.
    pub synonyms: Vec<String>,
}

/// Whether something retired on `retired_on` may still be recorded for `day`:
/// old sheets from before the retirement still import.
#[must_use]
pub fn in_use_on(retired_on: Option<NaiveDate>, day: NaiveDate) -> bool {
    retired_on.is_none_or(|retired| day < retired)
}

/// The whole catalogue, loaded once per command.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// Every site, retired ones included.
    pub sites: Vec<Site>,
    /// Every item, retired ones included.
    pub items: Vec<Item>,
}

impl Catalogue {
    /// The site called `name`, retired or not.
    #[must_use]
    pub fn site(&self, name: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.name == name)
    }

    /// The item called `name`, retired or not.
    #[must_use]
    pub fn item(&self, name: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.name == name)
    }
}

/// Checks a site or item name: 1 to 40 of `a-z`, `0-9` and `-`, starting with a letter.
/// Input is lower-cased first, so `Downtown-Van` is accepted as `downtown-van`. No
/// `_`: sheet headers treat `_`, `-` and spaces alike, so `stem_pipe` would be a
/// second name for the `stem-pipe` column.
pub fn normalise_name(kind: &'static str, name: &str) -> Result<String> {
    let name = name.trim().to_ascii_lowercase();
    // Headers match loosely (`For Others` is `for_others`), so names do too.
    let key = |text: &str| text.replace(['_', ' '], "-");
    if kind == "item"
        && RESERVED_COLUMNS
            .iter()
            .any(|column| key(column) == key(&name))
    {
        return Err(Error::ReservedName(name.replace(' ', "-")));
    }
    let valid = (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(Error::InvalidName { kind });
    }
    Ok(name)
}

/// Checks a unit: the same shape as a name, so it cannot hold a sentence either.
pub fn normalise_unit(unit: &str) -> Result<String> {
    normalise_name("unit", unit).map_err(|_| Error::InvalidUnit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_slugs() {
        assert_eq!(
            normalise_name("site", " Downtown-Van ").unwrap(),
            "downtown-van"
        );
        assert!(normalise_name("site", "").is_err());
        assert!(normalise_name("site", "9th-street").is_err());
        assert!(normalise_name("site", "corner of main & 5th").is_err());
        assert!(normalise_name("site", &"a".repeat(41)).is_err());
        assert!(matches!(
            normalise_name("item", "reversals"),
            Err(Error::ReservedName(_))
        ));
        assert!(normalise_name("site", "code").is_ok());
    }

    #[test]
    fn default_items_are_valid_names() {
        for (name, _, unit, alias) in DEFAULT_ITEMS {
            assert_eq!(normalise_name("item", name).unwrap(), name);
            assert_eq!(normalise_unit(unit).unwrap(), unit);
            assert_eq!(crate::shift::normalise_alias(alias).unwrap(), alias);
        }
    }

    #[test]
    fn retired_things_stay_valid_for_earlier_days() {
        let retired: NaiveDate = "2026-11-01".parse().unwrap();
        assert!(in_use_on(Some(retired), "2026-10-31".parse().unwrap()));
        assert!(!in_use_on(Some(retired), retired));
        assert!(in_use_on(None, retired));
    }
}
