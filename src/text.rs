//! Small pieces of English that messages share: counts with their noun, articles.
//!
//! Every sentence kitlog prints is written in `error.rs` or beside the command that
//! prints it; this module only makes the numbers in them read as a person would
//! write them. It never sees participant data: its inputs are numbers and fixed nouns.

use std::fmt;

/// A number with its noun, singular or plural: `1 contact`, `3 contacts`, `2 batches`.
///
/// The noun is a fixed English word chosen by the caller (never input), so a plain
/// rule covers every noun kitlog counts: `-es` after `ch`, `sh`, `s` and `x`, else `-s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count<'a>(pub u64, pub &'a str);

impl Count<'_> {
    /// A count of anything that converts to `u64` (row counts are `i64` in SQLite);
    /// a negative count, impossible in practice, reads as 0.
    #[must_use]
    pub fn of(n: impl TryInto<u64>, noun: &str) -> Count<'_> {
        Count(n.try_into().unwrap_or(0), noun)
    }

    /// `is` or `are`, to agree with the count.
    #[must_use]
    pub fn verb_be(self) -> &'static str {
        if self.0 == 1 { "is" } else { "are" }
    }
}

impl fmt::Display for Count<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Count(n, noun) = *self;
        if n == 1 {
            return write!(f, "1 {noun}");
        }
        let suffix = if ["ch", "sh", "s", "x"].iter().any(|end| noun.ends_with(end)) {
            "es"
        } else {
            "s"
        };
        write!(f, "{n} {noun}{suffix}")
    }
}

/// "a site", "an item": the article for a fixed catalogue noun.
#[must_use]
pub fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_a_person_writes_them() {
        assert_eq!(Count(1, "contact").to_string(), "1 contact");
        assert_eq!(Count(0, "contact").to_string(), "0 contacts");
        assert_eq!(Count(3, "problem").to_string(), "3 problems");
        assert_eq!(Count(2, "batch").to_string(), "2 batches");
        assert_eq!(Count(1, "batch").to_string(), "1 batch");
        assert_eq!(Count(4, "passphrase").to_string(), "4 passphrases");
        assert_eq!(Count::of(-1i64, "cell").to_string(), "0 cells");
        assert_eq!(Count(1, "contact").verb_be(), "is");
        assert_eq!(Count(2, "contact").verb_be(), "are");
    }

    #[test]
    fn articles_follow_the_first_letter() {
        assert_eq!(article("item"), "an");
        assert_eq!(article("site"), "a");
    }
}
