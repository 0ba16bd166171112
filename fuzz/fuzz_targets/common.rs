//! What both targets share: the catalogue `kitlog init` seeds, two sites, and the
//! check that a message never repeats a distinctive piece of what was typed.

use kitlog::catalogue::{Catalogue, DEFAULT_ITEMS, Item, Site};

pub fn catalogue() -> Catalogue {
    let site = |id, name: &str| Site {
        id,
        name: name.into(),
        retired_on: None,
    };
    Catalogue {
        sites: vec![site(1, "downtown-van"), site(2, "east-drop-in")],
        items: DEFAULT_ITEMS
            .iter()
            .zip(1..)
            .map(|((name, category, unit, alias), id)| Item {
                id,
                name: (*name).to_owned(),
                category: *category,
                unit: (*unit).to_owned(),
                retired_on: None,
                alias: Some((*alias).to_owned()),
            })
            .collect(),
    }
}

/// Text no kitlog message could hold by chance: 8 or more characters with both a
/// letter and a digit (messages hold catalogue names, dates and small numbers only).
pub fn distinctive(text: &str) -> bool {
    text.chars().count() >= 8
        && text.chars().any(|c| c.is_ascii_alphabetic())
        && text.chars().any(|c| c.is_ascii_digit())
}

/// Panics when `messages` (lowercased) repeat `typed` (case-blind: codes are
/// case-folded).
pub fn assert_no_echo(messages: &str, typed: &str) {
    let typed = typed.trim();
    if distinctive(typed) {
        assert!(
            !messages.contains(&typed.to_lowercase()),
            "a message repeats what was typed: {messages}"
        );
    }
}
