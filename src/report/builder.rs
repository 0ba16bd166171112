//! Counting: day-ordered contacts in, every cell of each period's cube counted.
//!
//! For each period the builder counts the whole cube a report could be cut from,
//! every site and every item *and* category, so suppression is decided once per
//! period and every `--by` prints a slice of the same pattern. Memory grows with one
//! fiscal year's participants and one period's cells, never with the contacts.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use super::{ALL, CubeCell, ItemKey, Participant};
use crate::catalogue::{Catalogue, Category};
use crate::contact::Contact;
use crate::fiscal::{FiscalCalendar, FiscalYear, Period, PeriodKind};
use crate::measures::{Measure, Measures};

/// A row key: site (or `ALL`) and item or category (or `ALL`). `Named` sorts before
/// `All`, so totals come last in their group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Level {
    Named(String),
    All,
}

impl Level {
    fn label(&self) -> &str {
        match self {
            Level::Named(name) => name,
            Level::All => ALL,
        }
    }
}

/// Running sums of one cell.
#[derive(Debug, Default)]
struct Accumulator {
    /// Every measure summed. Its participant measures hold participants counted and no
    /// longer named: those of a period the day-ordered contacts have left (see
    /// [`Accumulator::settle`]) and those of closed years, whose codes are gone. Codes
    /// of different fiscal years never match, and contacts never come back to a period
    /// they left, so adding these counts is exact.
    sums: Measures,
    /// Participants of the open period, by number.
    participants: IdSet,
    new_participants: IdSet,
}

impl Accumulator {
    /// A closed year's frozen cell, ready to be added to the live one.
    fn frozen(measures: &Measures) -> Self {
        Accumulator {
            sums: *measures,
            ..Accumulator::default()
        }
    }

    fn measures(&self) -> Measures {
        let mut measures = self.sums;
        measures[Measure::Participants] += self.participants.len();
        measures[Measure::NewParticipants] += self.new_participants.len();
        measures
    }

    /// Counts the participant sets and frees them, once no contact of the period can
    /// come: a left period costs a few numbers, not a bitmap per cell.
    fn settle(&mut self) {
        self.sums = self.measures();
        self.participants = IdSet::default();
        self.new_participants = IdSet::default();
    }

    /// Adds a settled accumulator of the same cell: a closed year's frozen part, or
    /// the live part of a period that a closed year shares.
    fn absorb(&mut self, other: &Accumulator) {
        debug_assert!(
            other.participants.len() == 0,
            "only settled cells are added"
        );
        self.sums.add(&other.sums);
    }
}

/// A set of participant numbers (see [`ParticipantNumbers`]) as a bitmap from the
/// lowest number it holds to the highest: at most one fiscal year's participants / 8
/// bytes, whatever it holds. Setting a bit is the fastest set there is: no hashing,
/// no allocation per participant. (Hash sets of codes took a fifth of a large report's
/// time, and more per contact the larger the program.) Only the open period's cells
/// hold one (see [`Accumulator::settle`]), so a report holds at most cells × one
/// year's participants / 8 bytes of them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct IdSet {
    /// The number of bit 0 of `words[0]`; a multiple of 64.
    base: u32,
    words: Vec<u64>,
    len: u64,
}

impl IdSet {
    /// Adds `id`; true when it was not there yet.
    fn insert(&mut self, id: u32) -> bool {
        if self.words.is_empty() {
            self.base = id & !63;
        } else if id < self.base {
            // Grow downwards by at least the current size, so that numbers arriving
            // in falling order cost amortised constant time, as appending does.
            let needed = (self.base - (id & !63)) / 64;
            let words = u32::try_from(self.words.len()).unwrap_or(u32::MAX);
            let grow = needed.max(words).min(self.base / 64);
            self.words
                .splice(0..0, std::iter::repeat_n(0, grow as usize));
            self.base -= grow * 64;
        }
        let offset = id - self.base;
        let word = (offset / 64) as usize;
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let bit = 1u64 << (offset % 64);
        let fresh = self.words[word] & bit == 0;
        self.words[word] |= bit;
        self.len += u64::from(fresh);
        fresh
    }

    fn len(&self) -> u64 {
        self.len
    }
}

/// Numbers each participant in the order the contacts bring them, and remembers the
/// day they were first seen. Fed contacts in day order from the first day of a fiscal
/// year, that day is the participant's first contact of their fiscal year: what
/// "new" means. Only one fiscal year's codes are held: in day order, once a contact
/// of a later year arrives, no code of an earlier year can come again.
#[derive(Debug, Default)]
struct ParticipantNumbers {
    numbers: HashMap<Participant, (u32, NaiveDate)>,
    fiscal_year: Option<FiscalYear>,
    next: u32,
}

impl ParticipantNumbers {
    /// The participant's number and the first day they were seen.
    fn see(&mut self, participant: Participant, day: NaiveDate) -> (u32, NaiveDate) {
        if self.fiscal_year.is_none_or(|year| participant.0 > year) {
            self.numbers.clear();
            self.fiscal_year = Some(participant.0);
        }
        let next = &mut self.next;
        *self.numbers.entry(participant).or_insert_with(|| {
            let number = *next;
            *next = next
                .checked_add(1)
                .expect("fewer than four billion participant-years in one report");
            (number, day)
        })
    }
}

/// A cell of the cube: period kind, period, site (or all), item/category (or all).
type CellKey = (PeriodKind, Period, Level, ItemKey);

/// Where a contact's numbers go in a period's cube, laid out as one array so that
/// counting a contact touches a few slots instead of looking up string keys: rows
/// are the sites, an unknown-site row and `ALL`; columns are the catalogue items, an
/// unknown item, the categories and `ALL`.
#[derive(Debug)]
struct CubeLayout {
    sites: Vec<Level>,
    items: Vec<ItemKey>,
    site_row: HashMap<i64, usize>,
    /// Item row id → its column, its category's column, and whether it is naloxone.
    item_columns: HashMap<i64, (usize, usize, bool)>,
}

impl CubeLayout {
    fn new(catalogue: &Catalogue) -> Self {
        let mut sites: Vec<Level> = catalogue
            .sites
            .iter()
            .map(|site| Level::Named(site.name.clone()))
            .collect();
        sites.extend([Level::Named("?".to_owned()), Level::All]);
        let mut items: Vec<ItemKey> = catalogue
            .items
            .iter()
            .map(|item| ItemKey::Item(item.name.clone()))
            .collect();
        items.push(ItemKey::Item("?".to_owned()));
        let category_column = |category: Category| {
            catalogue.items.len()
                + 1
                + Category::ALL
                    .iter()
                    .position(|c| *c == category)
                    .unwrap_or(0)
        };
        items.extend(Category::ALL.map(|category| ItemKey::Category(category.as_str().to_owned())));
        items.push(ItemKey::All);
        CubeLayout {
            site_row: catalogue
                .sites
                .iter()
                .enumerate()
                .map(|(row, site)| (site.id, row))
                .collect(),
            item_columns: catalogue
                .items
                .iter()
                .enumerate()
                .map(|(column, item)| {
                    let naloxone = item.category == Category::Naloxone;
                    (item.id, (column, category_column(item.category), naloxone))
                })
                .collect(),
            sites,
            items,
        }
    }

    fn cells(&self) -> usize {
        self.sites.len() * self.items.len()
    }

    fn site_row(&self, site_id: i64) -> usize {
        self.site_row
            .get(&site_id)
            .copied()
            .unwrap_or(self.sites.len() - 2)
    }

    fn all_sites_row(&self) -> usize {
        self.sites.len() - 1
    }

    /// Column, category column and naloxone flag of an item; unknown ones count as
    /// an unknown item in `other`.
    fn item_columns(&self, item_id: i64) -> (usize, usize, bool) {
        self.item_columns.get(&item_id).copied().unwrap_or_else(|| {
            let unknown = self.items.len() - Category::ALL.len() - 2;
            (unknown, self.items.len() - 2, false)
        })
    }

    fn all_items_column(&self) -> usize {
        self.items.len() - 1
    }
}

/// The cube of the period that day-ordered contacts are in now.
#[derive(Debug)]
struct OpenPeriod {
    period: Period,
    /// `CubeLayout::sites × CubeLayout::items`, row by row.
    cells: Vec<Accumulator>,
}

/// Adds contacts up one at a time, in day order, so the store can stream them. Memory
/// grows with one fiscal year's distinct participants (their codes, and a bitmap per
/// cell of the open period) and with the number of periods × cells (a few numbers
/// each), never with the number of contacts.
///
/// For each period it counts the whole cube a report could be cut from, not just the
/// table asked for: every site and every item *and* category. What to hide is decided
/// once on that cube (see [`crate::report::plan`]) and every `--by` prints a slice of
/// the same pattern.
#[derive(Debug)]
pub struct CubeCounter {
    kind: PeriodKind,
    calendar: FiscalCalendar,
    layout: CubeLayout,
    participants: ParticipantNumbers,
    /// The day of the last contact added: the stream must not go back.
    last_day: NaiveDate,
    open: Option<OpenPeriod>,
    /// Cells not in the open period: frozen cells of closed years, and periods
    /// closed but not yet published.
    pending: BTreeMap<CellKey, Accumulator>,
    /// `(column, quantity, naloxone kits)` of the contact being added; kept to reuse.
    columns: Vec<(usize, u64, u64)>,
}

impl CubeCounter {
    /// A counter of the periods of `kind` under `calendar`. "New" means a first contact
    /// in the participant's fiscal year, so counting that starts after its fiscal year
    /// does must first [`introduce`](Self::introduce) the participants of that year's
    /// earlier days.
    #[must_use]
    pub fn new(kind: PeriodKind, calendar: FiscalCalendar, catalogue: &Catalogue) -> Self {
        CubeCounter {
            kind,
            calendar,
            layout: CubeLayout::new(catalogue),
            participants: ParticipantNumbers::default(),
            last_day: NaiveDate::MIN,
            open: None,
            pending: BTreeMap::new(),
            columns: Vec::new(),
        }
    }

    /// Notes a participant's contact on `day`, before the first counted day, without
    /// counting it: the lead-in of a report that starts after its fiscal year does.
    pub fn introduce(&mut self, participant: Participant, day: NaiveDate) {
        self.keep_day_order(day);
        self.participants.see(participant, day);
    }

    /// Who is new, and that a left period's sets can be settled, both rest on day
    /// order; the store's queries give it, and a broken promise must not become a
    /// quietly wrong funder report.
    fn keep_day_order(&mut self, day: NaiveDate) {
        assert!(
            day >= self.last_day,
            "report contacts must come in day order"
        );
        self.last_day = day;
    }

    /// Counts one contact in every cell of the cube it belongs to. Contacts must come
    /// in day order, after the frozen cells of closed years.
    pub fn add(&mut self, contact: &Contact) {
        self.keep_day_order(contact.day);
        let participant = contact.code.map(|code| {
            self.participants
                .see((contact.fiscal_year, code), contact.day)
        });
        self.open_period_of(contact.day);
        let Some(open) = self.open.as_mut() else {
            return;
        };
        let layout = &self.layout;
        let participant = participant.map(|(number, first)| (number, open.period.contains(first)));

        // The columns this contact falls in, each with its quantity and naloxone kits.
        let columns = &mut self.columns;
        columns.clear();
        let mut total = (0, 0);
        for &(item, quantity) in &contact.counts.items {
            let (column, category_column, is_naloxone) = layout.item_columns(item);
            let quantity = u64::from(quantity);
            let naloxone = if is_naloxone { quantity } else { 0 };
            total = (total.0 + quantity, total.1 + naloxone);
            for column in [column, category_column] {
                match columns.iter_mut().find(|(c, _, _)| *c == column) {
                    Some(entry) => {
                        entry.1 += quantity;
                        entry.2 += naloxone;
                    }
                    None => columns.push((column, quantity, naloxone)),
                }
            }
        }
        columns.push((layout.all_items_column(), total.0, total.1));
        let counts = &contact.counts;
        let naloxone_measure = Measure::naloxone(counts.naloxone_reason);

        let width = layout.items.len();
        for row in [layout.site_row(contact.site_id), layout.all_sites_row()] {
            for &(column, quantity, naloxone) in columns.iter() {
                let cell = &mut open.cells[row * width + column];
                let sums = &mut cell.sums;
                sums[Measure::Contacts] += 1;
                sums[Measure::Quantity] += quantity;
                sums[Measure::Reversals] += u64::from(counts.reversals);
                sums[Measure::Returned] += u64::from(counts.returned);
                sums[Measure::ForOthers] += u64::from(counts.for_others);
                sums[naloxone_measure] += naloxone;
                match participant {
                    Some((number, is_new)) => {
                        if cell.participants.insert(number) && is_new {
                            cell.new_participants.insert(number);
                        }
                    }
                    None => sums[Measure::AnonymousContacts] += 1,
                }
            }
        }
    }

    /// Makes the period holding `day` the open one, setting the last one aside.
    fn open_period_of(&mut self, day: NaiveDate) {
        if self
            .open
            .as_ref()
            .is_some_and(|open| open.period.contains(day))
        {
            return;
        }
        self.close_open_period();
        let cells = (0..self.layout.cells())
            .map(|_| Accumulator::default())
            .collect();
        self.open = Some(OpenPeriod {
            period: self.calendar.period_of(self.kind, day),
            cells,
        });
    }

    /// Moves the open period's counted cells among the pending ones, settled (contacts
    /// come in day order, so none of this period can come again) and merged with any
    /// frozen cells of the same period.
    fn close_open_period(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        let width = self.layout.items.len();
        for (index, mut cell) in open.cells.into_iter().enumerate() {
            if cell.sums[Measure::Contacts] == 0 {
                continue;
            }
            cell.settle();
            let key = (
                self.kind,
                open.period.clone(),
                self.layout.sites[index / width].clone(),
                self.layout.items[index % width].clone(),
            );
            self.pending.entry(key).or_default().absorb(&cell);
        }
    }

    /// Adds a frozen cell of a closed year to the same cell of the live data.
    pub fn add_closed(&mut self, cell: &CubeCell) {
        if cell.kind != self.kind {
            return;
        }
        let site = if cell.site == ALL {
            Level::All
        } else {
            Level::Named(cell.site.clone())
        };
        self.pending
            .entry((cell.kind, cell.period.clone(), site, cell.item.clone()))
            .or_default()
            .absorb(&Accumulator::frozen(&cell.measures));
    }

    /// Every cell counted, unsuppressed, period by period: what a release decides on and
    /// `close-year` freezes.
    #[must_use]
    pub fn into_cells(mut self) -> Vec<CubeCell> {
        self.close_open_period();
        self.pending
            .into_iter()
            .map(|((kind, period, site, item), acc)| CubeCell {
                kind,
                period,
                site: site.label().to_owned(),
                item,
                measures: acc.measures(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// A bitmap set holds what a hash set holds, whatever order numbers come in
        /// (rising, falling, or scattered over a wide range).
        #[test]
        fn id_sets_are_sets(ids in prop::collection::vec(prop_oneof![0u32..300, 0u32..100_000], 0..400)) {
            let mut set = IdSet::default();
            let mut plain = HashSet::new();
            for &id in &ids {
                prop_assert_eq!(set.insert(id), plain.insert(id));
            }
            prop_assert_eq!(set.len(), plain.len() as u64);
            for &id in &plain {
                prop_assert!(!set.insert(id), "{} was lost", id);
            }
            prop_assert_eq!(set.len(), plain.len() as u64);
        }
    }
}
