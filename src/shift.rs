//! The line syntax of `kitlog shift`: one contact a line, learnt in a minute.
//!
//! `BLUEFOX77 ik2 sp3 nn1 r1 first` is a participant (their code first), two
//! injection kits, three stem pipes, one nasal naloxone, one reversal reported and
//! the naloxone reason. `-` instead of a code is an anonymous contact. Pure: no I/O.
//! The code word goes straight into a [`RawIdentifier`]; problems name a word by
//! its position, never by its text, since a code typed in the wrong place would
//! otherwise be printed back.

use std::fmt::{self, Write as _};

use chrono::NaiveDate;
use zeroize::Zeroizing;

use crate::catalogue::{Catalogue, Category, in_use_on};
use crate::code::RawIdentifier;
use crate::contact::NaloxoneReason;
use crate::contact::{Counts, MAX_FOR_OTHERS, MAX_ITEM_QUANTITY, MAX_RETURNED, MAX_REVERSALS};
use crate::error::Error;

/// A word that is not a contact but an instruction to the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShiftCommand {
    /// Drop the last contact.
    Undo,
    /// Show the contacts so far (codes never shown).
    List,
    /// Running totals per item.
    Total,
    /// The syntax on one screen.
    Help,
    /// Summary, then confirm and save.
    Done,
    /// Leave; asks before throwing the contacts away.
    Quit,
}

/// One typed contact, before its code is salted.
#[derive(Debug)]
pub struct ContactLine {
    /// `None` for `-` (anonymous).
    pub code: Option<RawIdentifier>,
    /// Everything on the line but the code (`list` prints it back).
    pub counts: Counts,
}

/// What a typed line is.
#[derive(Debug)]
pub enum Line {
    /// Nothing typed.
    Empty,
    /// A session command.
    Command(ShiftCommand),
    /// A contact.
    Contact(ContactLine),
}

/// Why a line was refused. Words are named by position only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineProblem {
    /// The first word looks like an item or count: the code was forgotten.
    MissingCode,
    /// A word that is no shortcut.
    UnknownWord(usize),
    /// The same item or count twice.
    Repeated(usize),
    /// `ik0`.
    ZeroCount(usize),
    /// Above the limit of that count.
    TooLarge(usize, u32),
    /// Two naloxone reasons.
    TwoReasons(usize),
    /// A reason without a naloxone item.
    ReasonWithoutNaloxone,
    /// `-` alone: an anonymous contact with nothing recorded.
    NothingRecorded,
    /// An escape or control character: a key the terminal did not turn into an edit
    /// (an arrow key in a plain pipe, say); saved, it would garble a code unseen.
    ControlCharacter,
    /// `y` or `no` at the contact prompt, where nothing was asked.
    NoQuestion,
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineProblem::MissingCode => f.write_str(
                "start the line with the participant's code, or - for an anonymous contact",
            ),
            LineProblem::UnknownWord(n) => {
                write!(f, "word {n} is not a shortcut; type help for the list")
            }
            LineProblem::Repeated(n) => {
                write!(f, "word {n} repeats an item or count already on this line")
            }
            LineProblem::ZeroCount(n) => {
                write!(f, "word {n} has a count of 0; leave the item out instead")
            }
            LineProblem::TooLarge(n, max) => {
                write!(f, "word {n} is more than {max} for one contact; check it")
            }
            LineProblem::TwoReasons(n) => {
                write!(f, "word {n} is a second naloxone reason; give one")
            }
            LineProblem::ReasonWithoutNaloxone => {
                f.write_str("a naloxone reason is given but no naloxone item is on this line")
            }
            LineProblem::NothingRecorded => {
                f.write_str("an anonymous contact needs at least one item or count")
            }
            LineProblem::ControlCharacter => f.write_str(
                "the line holds a control character (an arrow or function key, say); nothing was kept, type it again",
            ),
            LineProblem::NoQuestion => {
                f.write_str("nothing was asked; type a contact, or done to save")
            }
        }
    }
}

/// The shortcuts of a program on one day: aliases of items in use then.
#[derive(Debug, Clone)]
pub struct Shortcuts {
    items: Vec<Shortcut>,
}

#[derive(Debug, Clone)]
struct Shortcut {
    /// The short alias (`ik`), if the item has one.
    alias: Option<String>,
    item_id: i64,
    /// The catalogue name, also typed in full (`syringe10`).
    name: String,
    /// The program's own longer words for it (`narcan`).
    synonyms: Vec<String>,
    is_naloxone: bool,
}

impl Shortcut {
    fn is_called(&self, word: &str) -> bool {
        self.alias.as_deref() == Some(word)
            || self.name == word
            || self.synonyms.iter().any(|s| s == word)
    }
}

/// Words that steer the session when typed alone on a line, with the ones tired
/// fingers type for them (`save`, `ls`, `q`): each of those was once kept as a
/// participant's code.
const COMMAND_WORDS: [(&str, ShiftCommand); 13] = [
    ("undo", ShiftCommand::Undo),
    ("list", ShiftCommand::List),
    ("ls", ShiftCommand::List),
    ("total", ShiftCommand::Total),
    ("totals", ShiftCommand::Total),
    ("help", ShiftCommand::Help),
    ("?", ShiftCommand::Help),
    ("done", ShiftCommand::Done),
    ("save", ShiftCommand::Done),
    ("finish", ShiftCommand::Done),
    ("quit", ShiftCommand::Quit),
    ("exit", ShiftCommand::Quit),
    ("q", ShiftCommand::Quit),
];

/// The counts a line carries besides items: word, what it counts, and its limit.
/// The short words are the ones to learn; the long ones are read too.
const COUNT_WORDS: [(&str, CountWord, u32); 9] = [
    ("r", CountWord::Reversals, MAX_REVERSALS),
    ("reversal", CountWord::Reversals, MAX_REVERSALS),
    ("reversals", CountWord::Reversals, MAX_REVERSALS),
    ("fo", CountWord::ForOthers, MAX_FOR_OTHERS),
    ("for-others", CountWord::ForOthers, MAX_FOR_OTHERS),
    ("others", CountWord::ForOthers, MAX_FOR_OTHERS),
    ("ret", CountWord::Returned, MAX_RETURNED),
    ("returned", CountWord::Returned, MAX_RETURNED),
    ("returns", CountWord::Returned, MAX_RETURNED),
];

/// Answers to the session's yes-or-no questions: typed at the contact prompt, where
/// nothing was asked, they are refused rather than kept as a code.
const ANSWER_WORDS: [&str; 4] = ["yes", "no", "y", "n"];

/// Reason words: the spec's names, plus `conf` for the long one.
const REASON_WORDS: [(&str, NaloxoneReason); 8] = [
    ("first", NaloxoneReason::First),
    ("used", NaloxoneReason::Used),
    ("lost", NaloxoneReason::Lost),
    ("stolen", NaloxoneReason::Stolen),
    ("conf", NaloxoneReason::Confiscated),
    ("confiscated", NaloxoneReason::Confiscated),
    ("expired", NaloxoneReason::Expired),
    ("other", NaloxoneReason::Other),
];

impl Shortcuts {
    /// The aliased items of `catalogue` that may be recorded on `day`.
    #[must_use]
    pub fn for_day(catalogue: &Catalogue, day: NaiveDate) -> Self {
        let items = catalogue
            .items
            .iter()
            .filter(|item| in_use_on(item.retired_on, day))
            .map(|item| Shortcut {
                alias: item.alias.clone(),
                item_id: item.id,
                name: item.name.clone(),
                synonyms: item.synonyms.clone(),
                is_naloxone: item.category == Category::Naloxone,
            })
            .collect();
        Shortcuts { items }
    }

    /// The help screen: the syntax and this program's aliases.
    #[must_use]
    pub fn help(&self) -> String {
        let mut text = String::from(
            "one contact a line: the participant's code (or - if anonymous), then shortcuts\n\
             \x20 e.g.  BLUEFOX77 ik2 sp3 nn1 r1 first      - sy10 ret25\n\
             \x20 also read: ik 2, ik2sy10, commas, full names (syringe10)\n\
             items (a count follows, 1 if left out):\n",
        );
        for item in &self.items {
            let also = if item.synonyms.is_empty() {
                String::new()
            } else {
                format!(" (also {})", item.synonyms.join(", "))
            };
            let _ = writeln!(
                text,
                "  {:5} {}{also}",
                item.alias.as_deref().unwrap_or("-"),
                item.name
            );
        }
        text.push_str(
            "counts: r = reversals reported, fo = people picked up for, ret = used syringes returned\n\
             naloxone reason: first, used, lost, stolen, conf (confiscated), expired, other\n\
             commands: undo, list, total, help, done (save), quit\n\
             write the code without spaces; it is never shown again",
        );
        text
    }

    /// The item name of an id, for `list` and `total`.
    #[must_use]
    pub fn name_of(&self, item_id: i64) -> Option<&str> {
        self.items
            .iter()
            .find(|s| s.item_id == item_id)
            .map(|s| s.name.as_str())
    }

    /// Writes `counts` back in line syntax, without a code: what `list` shows, and
    /// the inverse of [`parse_line`] (a property test holds them to it).
    #[must_use]
    pub fn format_counts(&self, counts: &Counts) -> String {
        let mut words = Vec::new();
        for (item, quantity) in &counts.items {
            if let Some(shortcut) = self.items.iter().find(|s| s.item_id == *item) {
                let word = shortcut.alias.as_deref().unwrap_or(&shortcut.name);
                words.push(format!("{word}{quantity}"));
            }
        }
        for (word, value) in [
            ("r", counts.reversals),
            ("fo", counts.for_others),
            ("ret", counts.returned),
        ] {
            if value > 0 {
                words.push(format!("{word}{value}"));
            }
        }
        if let Some(reason) = counts.naloxone_reason {
            words.push(reason.as_str().to_owned());
        }
        words.join(" ")
    }

    fn find(&self, word: &str) -> Option<&Shortcut> {
        self.items.iter().find(|s| s.is_called(word))
    }
}

/// A count word other than an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CountWord {
    Reversals,
    ForOthers,
    Returned,
}

/// What one non-code word says.
enum Word<'s> {
    Item(&'s Shortcut, u32),
    Count(CountWord, u32),
    Reason(NaloxoneReason),
}

/// Whether `word` already means something on a shift line or at its prompts, so no
/// item alias may take it. Read from the very tables the parser uses, so the two
/// cannot drift apart.
#[must_use]
pub fn is_reserved(word: &str) -> bool {
    COMMAND_WORDS.iter().any(|(w, _)| *w == word)
        || COUNT_WORDS.iter().any(|(w, _, _)| *w == word)
        || REASON_WORDS.iter().any(|(w, _)| *w == word)
        || ANSWER_WORDS.contains(&word)
}

/// Checks a shift alias: 1 to 4 lowercase letters (the count follows as digits, so
/// `ik2` reads unambiguously), and none of the words a shift line already uses.
pub fn normalise_alias(alias: &str) -> Result<String, Error> {
    let alias = alias.trim().to_ascii_lowercase();
    let valid = (1..=4).contains(&alias.len()) && alias.chars().all(|c| c.is_ascii_lowercase());
    if !valid {
        return Err(Error::InvalidAlias);
    }
    if is_reserved(&alias) {
        return Err(Error::ReservedAlias(alias));
    }
    Ok(alias)
}

/// Checks a program's own longer word for an item (`narcan`): 5 to 24 lowercase
/// letters or inner dashes, and none of the words a shift line already uses.
pub fn normalise_synonym(word: &str) -> Result<String, Error> {
    let word = word.trim().to_ascii_lowercase();
    let valid = (5..=24).contains(&word.len())
        && word.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        && !word.starts_with('-')
        && !word.ends_with('-');
    if !valid {
        return Err(Error::InvalidAlias);
    }
    if is_reserved(&word) {
        return Err(Error::ReservedAlias(word));
    }
    Ok(word)
}

/// One name on a line with the count typed after it, if any, and the position of
/// the word it came from. The text may be a participant's code (the first word is
/// tried too), so it is wiped when dropped.
struct Piece {
    name: Zeroizing<String>,
    count: Option<u64>,
    position: usize,
}

/// A count as typed; beyond `u64` it is simply too large.
fn parse_count(digits: &str) -> u64 {
    digits.parse().unwrap_or(u64::MAX)
}

/// Splits words into pieces, forgiving the ways people type: `ik2sy10` is two
/// pieces, `ik 2` one (a bare number counts the name just before it), and
/// `injection-kit2` one. `Err` names the first word that cannot be read.
fn pieces(words: &[(usize, &str)]) -> Result<Vec<Piece>, LineProblem> {
    let mut pieces: Vec<Piece> = Vec::new();
    for &(position, word) in words {
        let lower = Zeroizing::new(word.to_ascii_lowercase());
        if lower.bytes().all(|b| b.is_ascii_digit()) {
            match pieces.last_mut() {
                Some(last) if last.count.is_none() && last.position + 1 == position => {
                    last.count = Some(parse_count(&lower));
                }
                _ => return Err(LineProblem::UnknownWord(position)),
            }
            continue;
        }
        let mut rest = lower.as_str();
        while !rest.is_empty() {
            let name_end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
                .unwrap_or(rest.len());
            let (name, after) = rest.split_at(name_end);
            let digits_end = after
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after.len());
            let (digits, after) = after.split_at(digits_end);
            if name.is_empty() || name.starts_with('-') || name.ends_with('-') {
                return Err(LineProblem::UnknownWord(position));
            }
            pieces.push(Piece {
                name: Zeroizing::new(name.to_owned()),
                count: (!digits.is_empty()).then(|| parse_count(digits)),
                position,
            });
            rest = after;
        }
    }
    Ok(pieces)
}

impl Shortcuts {
    /// Reads one piece; `Err` with the problem for its word.
    fn word(&self, piece: &Piece) -> Result<Word<'_>, LineProblem> {
        let (name, position) = (piece.name.as_str(), piece.position);
        if piece.count.is_none() {
            if let Some((_, reason)) = REASON_WORDS.iter().find(|(w, _)| *w == name) {
                return Ok(Word::Reason(*reason));
            }
        }
        let count = piece.count.unwrap_or(1);
        let checked = |max: u32| -> Result<u32, LineProblem> {
            match count {
                0 => Err(LineProblem::ZeroCount(position)),
                n if n > u64::from(max) => Err(LineProblem::TooLarge(position, max)),
                n => Ok(u32::try_from(n).expect("at most max")),
            }
        };
        if let Some((_, counted, max)) = COUNT_WORDS.iter().find(|(w, _, _)| *w == name) {
            return Ok(Word::Count(*counted, checked(*max)?));
        }
        match self.find(name) {
            Some(shortcut) => Ok(Word::Item(shortcut, checked(MAX_ITEM_QUANTITY)?)),
            None => Err(LineProblem::UnknownWord(position)),
        }
    }

    /// Whether `word`, typed first, reads as items or counts: the code was forgotten.
    fn reads_as_supplies(&self, word: &str) -> bool {
        pieces(&[(1, word)]).is_ok_and(|pieces| pieces.iter().all(|piece| self.word(piece).is_ok()))
    }
}

/// Sets a count given at most once per line.
fn set_once(
    seen: &mut bool,
    field: &mut u32,
    value: u32,
    position: usize,
) -> Result<(), LineProblem> {
    if std::mem::replace(seen, true) {
        return Err(LineProblem::Repeated(position));
    }
    *field = value;
    Ok(())
}

/// What marks an anonymous contact: `-`, and the dashes keyboards and word processors
/// put in its place (hyphen, non-breaking hyphen, figure dash, en and em dashes,
/// horizontal bar, minus, small and full-width hyphen-minus).
const DASHES: [char; 10] = [
    '-', '\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}', '\u{2015}', '\u{2212}',
    '\u{FE63}', '\u{FF0D}',
];

/// Reads one typed line. Words are split at spaces and commas.
pub fn parse_line(text: &str, shortcuts: &Shortcuts) -> Result<Line, LineProblem> {
    if text.chars().any(char::is_control) {
        return Err(LineProblem::ControlCharacter);
    }
    let words: Vec<(usize, &str)> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .enumerate()
        .map(|(index, word)| (index + 1, word))
        .collect();
    let Some((&(_, first), rest)) = words.split_first() else {
        return Ok(Line::Empty);
    };
    if rest.is_empty() {
        let lower = Zeroizing::new(first.to_ascii_lowercase());
        let bare = lower.trim_end_matches([':', '.', '!']);
        if let Some((_, command)) = COMMAND_WORDS.iter().find(|(w, _)| *w == bare) {
            return Ok(Line::Command(*command));
        }
        if ANSWER_WORDS.contains(&bare) {
            return Err(LineProblem::NoQuestion);
        }
    }
    // `-ik2`: the dash of an anonymous contact, glued to the first item. Any dash
    // counts: a word processor or a phone keyboard turns `-` into `–`.
    let after_dash = first.strip_prefix(DASHES);
    let (code, rest) = if after_dash == Some("") {
        (None, rest.to_vec())
    } else if let Some(after) = after_dash {
        (None, [&[(1, after)], rest].concat())
    } else if shortcuts.reads_as_supplies(first) {
        return Err(LineProblem::MissingCode);
    } else {
        (Some(RawIdentifier::new(first.to_owned())), rest.to_vec())
    };

    let mut counts = Counts::default();
    let mut seen = [false; 3];
    let mut naloxone = false;
    for piece in pieces(&rest)? {
        let position = piece.position;
        match shortcuts.word(&piece)? {
            Word::Item(shortcut, quantity) => {
                if counts.items.iter().any(|(id, _)| *id == shortcut.item_id) {
                    return Err(LineProblem::Repeated(position));
                }
                naloxone |= shortcut.is_naloxone;
                counts.items.push((shortcut.item_id, quantity));
            }
            Word::Count(CountWord::Reversals, n) => {
                set_once(&mut seen[0], &mut counts.reversals, n, position)?;
            }
            Word::Count(CountWord::ForOthers, n) => {
                set_once(&mut seen[1], &mut counts.for_others, n, position)?;
            }
            Word::Count(CountWord::Returned, n) => {
                set_once(&mut seen[2], &mut counts.returned, n, position)?;
            }
            Word::Reason(reason) => {
                if counts.naloxone_reason.is_some() {
                    return Err(LineProblem::TwoReasons(position));
                }
                counts.naloxone_reason = Some(reason);
            }
        }
    }
    if counts.naloxone_reason.is_some() && !naloxone {
        return Err(LineProblem::ReasonWithoutNaloxone);
    }
    if code.is_none() && !counts.records_something() {
        return Err(LineProblem::NothingRecorded);
    }
    Ok(Line::Contact(ContactLine { code, counts }))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::catalogue::{DEFAULT_ITEMS, Item};

    fn shortcuts() -> Shortcuts {
        let items = DEFAULT_ITEMS
            .iter()
            .enumerate()
            .map(|(i, (name, category, unit, alias))| Item {
                id: i as i64 + 1,
                name: (*name).into(),
                category: *category,
                unit: (*unit).into(),
                retired_on: None,
                alias: Some((*alias).into()),
                synonyms: Vec::new(),
            })
            .collect();
        let catalogue = Catalogue {
            sites: vec![],
            items,
        };
        Shortcuts::for_day(&catalogue, "2026-11-20".parse().unwrap())
    }

    fn contact(text: &str) -> ContactLine {
        match parse_line(text, &shortcuts()) {
            Ok(Line::Contact(contact)) => contact,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn problem(text: &str) -> LineProblem {
        match parse_line(text, &shortcuts()) {
            Err(problem) => problem,
            Ok(line) => panic!("{text} was accepted: {line:?}"),
        }
    }

    #[test]
    fn the_example_line_reads_as_a_contact() {
        let line = contact("BLUEFOX77 ik2 sp3 nn1 r1 first");
        assert!(line.code.is_some());
        assert_eq!(
            line.counts,
            Counts {
                items: vec![(1, 2), (3, 3), (5, 1)],
                reversals: 1,
                for_others: 0,
                returned: 0,
                naloxone_reason: Some(NaloxoneReason::First),
            }
        );
        let anonymous = contact("- SY10 ret25 fo2 ik");
        assert!(anonymous.code.is_none());
        assert_eq!(anonymous.counts.items, vec![(2, 10), (1, 1)]);
        assert_eq!(
            (anonymous.counts.returned, anonymous.counts.for_others),
            (25, 2)
        );
        // A participant who took nothing is still a contact.
        assert!(contact("BLUEFOX77").code.is_some());
    }

    #[test]
    fn commands_are_single_words() {
        for (text, command) in [
            ("undo", ShiftCommand::Undo),
            (" LIST ", ShiftCommand::List),
            ("total", ShiftCommand::Total),
            ("?", ShiftCommand::Help),
            ("done", ShiftCommand::Done),
            ("quit", ShiftCommand::Quit),
        ] {
            assert!(matches!(parse_line(text, &shortcuts()), Ok(Line::Command(c)) if c == command));
        }
        assert!(matches!(parse_line("   ", &shortcuts()), Ok(Line::Empty)));
        // With shortcuts after it, a command word is a code.
        assert!(contact("done ik1").code.is_some());
    }

    /// Every word a line or a prompt gives meaning to is refused as an alias: `exit`
    /// once slipped through because the list of reserved words was kept apart from
    /// the parser.
    #[test]
    fn no_alias_can_shadow_a_word_of_the_session() {
        for word in [
            "undo", "list", "done", "quit", "exit", "r", "fo", "ret", "conf", "used", "yes", "no",
        ] {
            assert!(
                matches!(normalise_alias(word), Err(Error::ReservedAlias(_))),
                "{word}"
            );
        }
        // Typed alone, a command word steers the session; it could never be an item.
        assert!(matches!(
            parse_line("exit", &shortcuts()),
            Ok(Line::Command(ShiftCommand::Quit))
        ));
        assert!(normalise_alias("ik2").is_err());
        assert!(normalise_alias("pipes").is_err());
        assert_eq!(normalise_alias(" Zz ").unwrap(), "zz");
    }

    #[test]
    fn mistakes_are_named_by_position() {
        assert_eq!(problem("ik2 sp3"), LineProblem::MissingCode);
        assert_eq!(problem("r1"), LineProblem::MissingCode);
        assert_eq!(problem("- BLUEFOX77 ik2"), LineProblem::UnknownWord(2));
        assert_eq!(problem("A1 ik2 ik1"), LineProblem::Repeated(3));
        assert_eq!(problem("A1 r1 r2"), LineProblem::Repeated(3));
        assert_eq!(problem("A1 ik0"), LineProblem::ZeroCount(2));
        assert_eq!(problem("A1 ik5001"), LineProblem::TooLarge(2, 5000));
        assert_eq!(problem("A1 r101"), LineProblem::TooLarge(2, 100));
        assert_eq!(
            problem("A1 ik99999999999999999999"),
            LineProblem::TooLarge(2, 5000)
        );
        assert_eq!(problem("A1 nn1 used lost"), LineProblem::TwoReasons(4));
        assert_eq!(problem("A1 ik1 used"), LineProblem::ReasonWithoutNaloxone);
        assert_eq!(problem("-"), LineProblem::NothingRecorded);
        assert_eq!(problem("A1 ik-2"), LineProblem::UnknownWord(2));
        // Forgiving forms keep positions as typed: words split at spaces and commas.
        assert_eq!(problem("syringe10"), LineProblem::MissingCode);
        assert_eq!(problem("ik 2"), LineProblem::MissingCode);
        assert_eq!(problem("- ik 2 3"), LineProblem::UnknownWord(4));
        assert_eq!(problem("- 2 ik"), LineProblem::UnknownWord(2));
        assert_eq!(problem("A1,ik2,zz"), LineProblem::UnknownWord(3));
        assert_eq!(problem("A1 ik2sy10ik1"), LineProblem::Repeated(2));
        assert_eq!(problem("A1 first 2 nn"), LineProblem::UnknownWord(2));
        assert_eq!(problem("A1 ik2\x1b[D"), LineProblem::ControlCharacter);
        assert_eq!(problem("y"), LineProblem::NoQuestion);
    }

    #[test]
    fn the_ways_people_type_read_as_the_same_contact() {
        let counts = contact("A1 ik2 sy10").counts;
        for text in [
            "A1 ik 2 sy 10",
            "A1 ik2sy10",
            "A1, ik2, sy10",
            "A1 IK2,SY10",
            "A1 injection-kit2 syringe 10",
        ] {
            assert_eq!(contact(text).counts, counts, "{text}");
        }
        assert!(contact("-ik2").code.is_none());
        for dash in ["\u{2013}", "\u{2014}", "\u{2212}"] {
            assert!(contact(&format!("{dash}ik2 sy10")).code.is_none(), "{dash}");
            assert!(contact(&format!("{dash} ik2")).code.is_none(), "{dash}");
        }
        assert_eq!(contact("- sy").counts.items, vec![(2, 1)]);
        assert_eq!(
            contact("- reversals 2 returned 5").counts,
            contact("- r2 ret5").counts
        );
        for (typed, command) in [
            ("save", ShiftCommand::Done),
            ("Done.", ShiftCommand::Done),
            ("total:", ShiftCommand::Total),
            ("ls", ShiftCommand::List),
            ("q", ShiftCommand::Quit),
        ] {
            assert!(
                matches!(parse_line(typed, &shortcuts()), Ok(Line::Command(c)) if c == command),
                "{typed}"
            );
        }
    }

    #[test]
    fn problems_never_repeat_a_word() {
        let sentinel = "ZQXSENTINEL41";
        for text in [
            format!("- {sentinel} ik2"),
            format!("{sentinel} {sentinel}"),
            format!("{sentinel} ik1 used"),
        ] {
            let message = problem(&text).to_string();
            assert!(!message.contains(sentinel), "{message}");
        }
        assert!(!shortcuts().help().contains(sentinel));
    }

    fn any_counts() -> impl Strategy<Value = Counts> {
        (
            proptest::sample::subsequence((1i64..=8).collect::<Vec<_>>(), 0..=8),
            proptest::collection::vec(1u32..=MAX_ITEM_QUANTITY, 8),
            0u32..=MAX_REVERSALS,
            0u32..=MAX_FOR_OTHERS,
            0u32..=MAX_RETURNED,
            proptest::option::of(proptest::sample::select(NaloxoneReason::ALL.to_vec())),
        )
            .prop_map(
                |(ids, quantities, reversals, for_others, returned, reason)| {
                    let items: Vec<(i64, u32)> = ids.into_iter().zip(quantities).collect();
                    let naloxone = items.iter().any(|(id, _)| *id == 5 || *id == 6);
                    Counts {
                        items,
                        reversals,
                        for_others,
                        returned,
                        naloxone_reason: reason.filter(|_| naloxone),
                    }
                },
            )
    }

    proptest! {
        /// Any contact written in line syntax reads back as the same contact.
        #[test]
        fn accepted_lines_round_trip(counts in any_counts(), anonymous in any::<bool>()) {
            let shortcuts = shortcuts();
            let text = format!("{} {}", if anonymous { "-" } else { "CODE1" }, shortcuts.format_counts(&counts));
            let parsed = parse_line(&text, &shortcuts);
            let nothing = counts.items.is_empty() && counts.reversals + counts.for_others + counts.returned == 0;
            if anonymous && nothing {
                prop_assert_eq!(parsed.unwrap_err(), LineProblem::NothingRecorded);
            } else {
                let Ok(Line::Contact(line)) = parsed else { panic!("{text} refused") };
                prop_assert_eq!(line.code.is_none(), anonymous);
                prop_assert_eq!(line.counts, counts);
            }
        }

        /// No line, however mangled, makes the parser panic.
        #[test]
        fn any_text_is_answered(text in "\\PC{0,60}") {
            let _ = parse_line(&text, &shortcuts());
        }
    }
}
