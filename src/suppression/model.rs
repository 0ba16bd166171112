//! What a reader of kitlog's releases knows, written as linear constraints over the
//! counts of a fiscal year's cubes.
//!
//! An *entry* is one measure of one cell of one period's cube. Every fact the README
//! lists (counts are whole and not negative, a printed row has a contact, sites and
//! items and periods add up, participants are at most the coded contacts, ...) becomes
//! a constraint here, once. The witness search ([`super::witness`]) moves hidden
//! entries only in ways that keep every one of these constraints true, which is what
//! makes its answer a lower bound on what any reader is left unsure about. A fact
//! missing from this file would make that bound wrong, so the test suite's attacker
//! is written apart from it and checks the same facts independently.

use std::collections::HashMap;

use crate::measures::{MEASURE_COUNT, Measure, Measures};

/// A row of a cube: one site (by its place in the catalogue), or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Row {
    /// One site.
    Site(u32),
    /// Every site.
    All,
}

/// A column of a cube: one item, one category, or everything handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// One item (its place in the catalogue).
    Item(u32),
    /// One category.
    Category(u32),
    /// Every item.
    All,
}

/// The catalogue, as far as a reader's arithmetic goes: which category each item is
/// in, and which category carries naloxone kits by reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// The category of each item.
    pub item_category: Vec<u32>,
    /// How many categories there are.
    pub categories: u32,
    /// The naloxone category: its items' kits are counted by reason.
    pub naloxone: Option<u32>,
}

impl Shape {
    /// Whether `key`'s cells carry naloxone kits by reason. The `All` column does (its
    /// kits by reason are those of the naloxone category); any other category or item
    /// has them at zero by definition, which every reader knows.
    #[must_use]
    pub fn carries_reasons(&self, key: Key) -> bool {
        match key {
            Key::All => true,
            Key::Category(category) => Some(category) == self.naloxone,
            Key::Item(item) => Some(self.item_category[item as usize]) == self.naloxone,
        }
    }

    /// The keys above `key` in its row: an item's category and `All`; a category's `All`.
    #[must_use]
    pub fn ancestors(&self, key: Key) -> Vec<Key> {
        match key {
            Key::Item(item) => vec![Key::Category(self.item_category[item as usize]), Key::All],
            Key::Category(_) => vec![Key::All],
            Key::All => Vec::new(),
        }
    }

    /// The items of `key`: itself, its category's items, or all of them.
    #[must_use]
    pub fn items_under(&self, key: Key) -> Vec<u32> {
        let count = u32::try_from(self.item_category.len()).expect("a catalogue of items");
        (0..count)
            .filter(|&item| match key {
                Key::Item(i) => i == item,
                Key::Category(c) => self.item_category[item as usize] == c,
                Key::All => true,
            })
            .collect()
    }
}

/// One period's cube: every cell with at least one contact, with its true counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cube {
    /// The cells, in a fixed order (the order of hidden-cell masks too).
    pub cells: Vec<(Row, Key, Measures)>,
    /// The threshold this period is decided at.
    pub min_cell: u64,
    /// A fiscal-year cube: every participant is new in it, so new participants equal
    /// participants in each cell.
    pub is_fiscal_year: bool,
}

impl Cube {
    /// Whether a cell summarises fewer than `min_cell` contacts or participants (zero
    /// participants, all contacts anonymous, is not small: it names nobody).
    #[must_use]
    pub fn is_small(&self, measures: &Measures) -> bool {
        let small = |n: u64| n > 0 && n < self.min_cell;
        self.min_cell > 1
            && (small(measures[Measure::Contacts]) || small(measures[Measure::Participants]))
    }
}

/// Measures that add up over sites, and over periods.
pub(super) fn is_additive(measure: Measure) -> bool {
    !matches!(measure, Measure::Participants | Measure::NewParticipants)
}

/// Measures that add up over items as well (quantities, and naloxone kits by reason).
pub(super) fn adds_over_items(measure: Measure) -> bool {
    measure == Measure::Quantity || is_reason(measure)
}

/// A naloxone-kit measure.
pub(super) fn is_reason(measure: Measure) -> bool {
    (measure as usize) >= Measure::NaloxoneFirst as usize
}

/// Every measure, in order.
pub(super) fn all_measures() -> impl Iterator<Item = Measure> {
    crate::measures::MEASURES
        .iter()
        .map(|(measure, _, _)| *measure)
}

/// An entry's place: period, cell within the period's cube, measure.
pub(super) type EntryId = u32;

/// `Σ coefficient × entry + constant`, which must be `== 0` or `>= 0`.
#[derive(Debug, Clone)]
pub(super) struct Constraint {
    pub(super) terms: Vec<(EntryId, i64)>,
    pub(super) constant: i64,
    pub(super) equality: bool,
}

/// The cubes of one fiscal year's calendar that bear on a decision, with the time
/// tree between them and every constraint a reader knows.
#[derive(Debug)]
pub struct Universe {
    pub(super) shape: Shape,
    pub(super) cubes: Vec<Cube>,
    /// The periods each period is made of, exactly (months of a quarter, quarters of a
    /// year); empty for the finest periods.
    pub(super) children: Vec<Vec<usize>>,
    pub(super) parent: Vec<Option<usize>>,
    /// Per period, the cell at each (row, key) slot (see [`slot`]), or
    /// `u32::MAX`: a dense table, as every witness looks cells up many times.
    cell_index: Vec<Vec<u32>>,
    /// Rows per period table: the sites, then ALL.
    rows: usize,
    pub(super) base: Vec<usize>,
    pub(super) values: Vec<i64>,
    pub(super) constraints: Vec<Constraint>,
    /// The constraints that mention each entry, with the entry's coefficient there.
    pub(super) by_entry: Vec<Vec<(u32, i64)>>,
    /// Each constraint's left side at the true counts (they never change).
    pub(super) constraint_values: Vec<i64>,
}

impl Universe {
    /// Builds the constraints of `cubes`, where `children[p]` lists the periods that
    /// exactly make up period `p` (empty for a finest period).
    ///
    /// # Panics
    /// When the true counts break one of the reader's facts: then either the facts or
    /// the counting are wrong, and no decision built on them could be trusted.
    #[must_use]
    pub fn new(shape: Shape, cubes: Vec<Cube>, children: Vec<Vec<usize>>) -> Universe {
        let mut parent = vec![None; cubes.len()];
        for (coarse, fine) in children.iter().enumerate() {
            for &child in fine {
                parent[child] = Some(coarse);
            }
        }
        let sites = cubes
            .iter()
            .flat_map(|cube| cube.cells.iter())
            .filter_map(|(row, _, _)| match row {
                Row::Site(site) => Some(*site as usize + 1),
                Row::All => None,
            })
            .max()
            .unwrap_or(0);
        let rows = sites + 1;
        let keys = shape.item_category.len() + shape.categories as usize + 1;
        let mut base = Vec::with_capacity(cubes.len());
        let mut values = Vec::new();
        let mut cell_index = Vec::with_capacity(cubes.len());
        for cube in &cubes {
            base.push(values.len());
            let mut index = vec![u32::MAX; rows * keys];
            for (position, (row, key, measures)) in cube.cells.iter().enumerate() {
                index[slot(&shape, rows, *row, *key)] =
                    u32::try_from(position).expect("fewer than four billion cells");
                values.extend(measures.values().iter().map(|v| *v as i64));
            }
            cell_index.push(index);
        }
        let mut universe = Universe {
            shape,
            cubes,
            children,
            parent,
            cell_index,
            rows,
            base,
            by_entry: vec![Vec::new(); values.len()],
            values,
            constraints: Vec::new(),
            constraint_values: Vec::new(),
        };
        universe.build_constraints();
        universe.constraint_values = universe
            .constraints
            .iter()
            .map(|constraint| universe.value_of(constraint))
            .collect();
        for (id, constraint) in universe.constraints.iter().enumerate() {
            let value = universe.constraint_values[id];
            assert!(
                if constraint.equality {
                    value == 0
                } else {
                    value >= 0
                },
                "the counts break a reader's fact ({id}: {constraint:?} = {value})"
            );
        }
        universe
    }

    /// The cell of `(row, key)` in `period`, if it exists.
    pub(super) fn cell(&self, period: usize, row: Row, key: Key) -> Option<usize> {
        if let Row::Site(site) = row {
            if site as usize + 1 >= self.rows {
                return None;
            }
        }
        let cell = self.cell_index[period][slot(&self.shape, self.rows, row, key)];
        (cell != u32::MAX).then_some(cell as usize)
    }

    /// The entry of `measure` of cell `(row, key)` of `period`, if the cell exists.
    pub(super) fn entry(
        &self,
        period: usize,
        row: Row,
        key: Key,
        measure: Measure,
    ) -> Option<EntryId> {
        self.cell(period, row, key).map(|cell| {
            EntryId::try_from(self.base[period] + cell * MEASURE_COUNT + measure as usize)
                .expect("fewer than four billion entries")
        })
    }

    /// Period, cell and measure of an entry.
    pub(super) fn locate(&self, entry: EntryId) -> (usize, usize, Measure) {
        let entry = entry as usize;
        let period = self.base.partition_point(|&start| start <= entry) - 1;
        let offset = entry - self.base[period];
        let measure = crate::measures::MEASURES[offset % MEASURE_COUNT].0;
        (period, offset / MEASURE_COUNT, measure)
    }

    pub(super) fn value_of(&self, constraint: &Constraint) -> i64 {
        constraint
            .terms
            .iter()
            .map(|(entry, coefficient)| self.values[*entry as usize] * coefficient)
            .sum::<i64>()
            + constraint.constant
    }

    /// The periods above `period`, nearest first.
    pub(super) fn ancestors(&self, period: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = self.parent[period];
        while let Some(p) = at {
            out.push(p);
            at = self.parent[p];
        }
        out
    }

    /// `period` and every period under it.
    pub(super) fn descendants(&self, period: usize) -> Vec<usize> {
        let mut out = vec![period];
        for &child in &self.children[period] {
            out.extend(self.descendants(child));
        }
        out
    }

    /// The finest periods under `period` (itself if it is one).
    pub(super) fn leaves(&self, period: usize) -> Vec<usize> {
        if self.children[period].is_empty() {
            return vec![period];
        }
        self.children[period]
            .iter()
            .flat_map(|&child| self.leaves(child))
            .collect()
    }

    fn build_constraints(&mut self) {
        let mut out = Vec::new();
        for period in 0..self.cubes.len() {
            self.cell_facts(period, &mut out);
            self.site_facts(period, &mut out);
            self.item_facts(period, &mut out);
        }
        for coarse in 0..self.cubes.len() {
            for &fine in &self.children[coarse] {
                self.time_facts(coarse, fine, &mut out);
            }
            self.time_sums(coarse, &mut out);
        }
        for constraint in out {
            let id = u32::try_from(self.constraints.len()).expect("fewer than four billion facts");
            for (entry, coefficient) in &constraint.terms {
                self.by_entry[*entry as usize].push((id, *coefficient));
            }
            self.constraints.push(constraint);
        }
    }

    /// Facts within one cell.
    fn cell_facts(&self, period: usize, out: &mut Vec<Constraint>) {
        use Measure::{
            AnonymousContacts as A, Contacts as C, NewParticipants as N, Participants as P,
            Quantity as Q,
        };
        let cells: Vec<(Row, Key)> = self.cubes[period]
            .cells
            .iter()
            .map(|(row, key, _)| (*row, *key))
            .collect();
        let is_fiscal_year = self.cubes[period].is_fiscal_year;
        for (row, key) in cells {
            let e = |measure| self.entry(period, row, key, measure);
            // A printed row has a contact; anonymous contacts are contacts; participants
            // are at most the coded contacts; new participants are participants.
            push(out, vec![(e(C), 1)], -1, false);
            push(out, vec![(e(C), 1), (e(A), -1)], 0, false);
            push(out, vec![(e(C), 1), (e(A), -1), (e(P), -1)], 0, false);
            push(out, vec![(e(P), 1), (e(N), -1)], 0, false);
            if is_fiscal_year {
                push(out, vec![(e(N), 1), (e(P), -1)], 0, true);
            }
            // Every contact in an item or category row took at least one of it.
            if key != Key::All {
                push(out, vec![(e(Q), 1), (e(C), -1)], 0, false);
            }
            // Naloxone kits by reason add up to the kits handed out.
            if self.shape.carries_reasons(key) {
                let mut terms: Vec<(Option<EntryId>, i64)> =
                    reasons().map(|reason| (e(reason), 1)).collect();
                match key {
                    Key::All => {
                        let naloxone = self.shape.naloxone.map(Key::Category);
                        terms.push((naloxone.and_then(|k| self.entry(period, row, k, Q)), -1));
                    }
                    _ => terms.push((e(Q), -1)),
                }
                push(out, terms, 0, true);
            }
        }
    }

    /// Facts across the sites of one column.
    fn site_facts(&self, period: usize, out: &mut Vec<Constraint>) {
        let mut columns: HashMap<Key, Vec<Row>> = HashMap::new();
        for (row, key, _) in &self.cubes[period].cells {
            columns.entry(*key).or_default().push(*row);
        }
        let mut columns: Vec<(Key, Vec<Row>)> = columns.into_iter().collect();
        columns.sort();
        for (key, rows) in columns {
            let sites: Vec<Row> = rows.iter().copied().filter(|r| *r != Row::All).collect();
            for measure in all_measures() {
                if is_reason(measure) && !self.shape.carries_reasons(key) {
                    continue;
                }
                let all = self.entry(period, Row::All, key, measure);
                if is_additive(measure) {
                    // Sites add up to the ALL row.
                    let mut terms: Vec<(Option<EntryId>, i64)> = sites
                        .iter()
                        .map(|row| (self.entry(period, *row, key, measure), 1))
                        .collect();
                    terms.push((all, -1));
                    push(out, terms, 0, true);
                } else {
                    // Distinct people: the ALL row is at least each site and at most
                    // their sum.
                    for row in &sites {
                        push(
                            out,
                            vec![(all, 1), (self.entry(period, *row, key, measure), -1)],
                            0,
                            false,
                        );
                    }
                    let mut terms: Vec<(Option<EntryId>, i64)> = sites
                        .iter()
                        .map(|row| (self.entry(period, *row, key, measure), 1))
                        .collect();
                    terms.push((all, -1));
                    push(out, terms, 0, false);
                }
            }
        }
    }

    /// Facts across the items and categories of one row.
    fn item_facts(&self, period: usize, out: &mut Vec<Constraint>) {
        let mut rows: Vec<Row> = self.cubes[period]
            .cells
            .iter()
            .map(|(row, _, _)| *row)
            .collect();
        rows.sort();
        rows.dedup();
        let categories = self.shape.categories;
        for row in rows {
            for category in 0..categories {
                let cat = Key::Category(category);
                let items: Vec<Key> = self
                    .shape
                    .items_under(cat)
                    .into_iter()
                    .map(Key::Item)
                    .collect();
                for measure in all_measures() {
                    let cat_entry = self.entry(period, row, cat, measure);
                    if adds_over_items(measure) {
                        if is_reason(measure) && !self.shape.carries_reasons(cat) {
                            continue;
                        }
                        // Items add up to their category.
                        let mut terms: Vec<(Option<EntryId>, i64)> = items
                            .iter()
                            .map(|item| (self.entry(period, row, *item, measure), 1))
                            .collect();
                        terms.push((cat_entry, -1));
                        push(out, terms, 0, true);
                    } else {
                        // An item's contacts are contacts of its category, and each
                        // contact of the category took at least one of its items.
                        for item in &items {
                            push(
                                out,
                                vec![
                                    (cat_entry, 1),
                                    (self.entry(period, row, *item, measure), -1),
                                ],
                                0,
                                false,
                            );
                        }
                        let mut terms: Vec<(Option<EntryId>, i64)> = items
                            .iter()
                            .map(|item| (self.entry(period, row, *item, measure), 1))
                            .collect();
                        terms.push((cat_entry, -1));
                        push(out, terms, 0, false);
                        push(
                            out,
                            vec![
                                (self.entry(period, row, Key::All, measure), 1),
                                (cat_entry, -1),
                            ],
                            0,
                            false,
                        );
                    }
                }
            }
            // Categories add up to all items, in quantity; naloxone kits by reason of
            // the ALL column are those of the naloxone category (a cell-level fact above).
            let mut terms: Vec<(Option<EntryId>, i64)> = (0..categories)
                .map(|c| {
                    (
                        self.entry(period, row, Key::Category(c), Measure::Quantity),
                        1,
                    )
                })
                .collect();
            terms.push((self.entry(period, row, Key::All, Measure::Quantity), -1));
            push(out, terms, 0, true);
            for reason in reasons() {
                let naloxone = self
                    .shape
                    .naloxone
                    .and_then(|c| self.entry(period, row, Key::Category(c), reason));
                push(
                    out,
                    vec![
                        (self.entry(period, row, Key::All, reason), 1),
                        (naloxone, -1),
                    ],
                    0,
                    true,
                );
            }
        }
    }

    /// A fine period inside a coarse one: distinct people counted over the coarse
    /// period are at least those of each part.
    fn time_facts(&self, coarse: usize, fine: usize, out: &mut Vec<Constraint>) {
        let cells: Vec<(Row, Key)> = self.cubes[coarse]
            .cells
            .iter()
            .map(|(row, key, _)| (*row, *key))
            .collect();
        for (row, key) in cells {
            for measure in [Measure::Participants, Measure::NewParticipants] {
                push(
                    out,
                    vec![
                        (self.entry(coarse, row, key, measure), 1),
                        (self.entry(fine, row, key, measure), -1),
                    ],
                    0,
                    false,
                );
            }
        }
    }

    /// The parts of a coarse period add up to it (every additive measure, and new
    /// participants of the whole program); participants are at most the parts' sum.
    fn time_sums(&self, coarse: usize, out: &mut Vec<Constraint>) {
        let fine = &self.children[coarse];
        if fine.is_empty() {
            return;
        }
        let cells: Vec<(Row, Key)> = self.cubes[coarse]
            .cells
            .iter()
            .map(|(row, key, _)| (*row, *key))
            .collect();
        for (row, key) in cells {
            for measure in all_measures() {
                if is_reason(measure) && !self.shape.carries_reasons(key) {
                    continue;
                }
                let additive = is_additive(measure)
                    || (measure == Measure::NewParticipants && row == Row::All && key == Key::All);
                if measure == Measure::NewParticipants && !additive {
                    // A person new in a part is new in the whole, and new in one part
                    // only (their first contact of the year is in one): the parts'
                    // new participants add up to at most the whole's.
                    let mut terms: Vec<(Option<EntryId>, i64)> = fine
                        .iter()
                        .map(|f| (self.entry(*f, row, key, measure), -1))
                        .collect();
                    terms.push((self.entry(coarse, row, key, measure), 1));
                    push(out, terms, 0, false);
                    continue;
                }
                let upper_only = measure == Measure::Participants;
                if !additive && !upper_only {
                    continue;
                }
                let mut terms: Vec<(Option<EntryId>, i64)> = fine
                    .iter()
                    .map(|f| (self.entry(*f, row, key, measure), 1))
                    .collect();
                terms.push((self.entry(coarse, row, key, measure), -1));
                push(out, terms, 0, additive);
            }
        }
    }
}

/// Where `(row, key)` sits in a period's dense table of `rows` rows.
fn slot(shape: &Shape, rows: usize, row: Row, key: Key) -> usize {
    let items = shape.item_category.len();
    let keys = items + shape.categories as usize + 1;
    let row = match row {
        Row::Site(site) => site as usize,
        Row::All => rows - 1,
    };
    let key = match key {
        Key::Item(item) => item as usize,
        Key::Category(category) => items + category as usize,
        Key::All => keys - 1,
    };
    row * keys + key
}

/// The eight naloxone-kit measures.
pub(super) fn reasons() -> impl Iterator<Item = Measure> {
    all_measures().filter(|m| is_reason(*m))
}

/// Adds a constraint over the entries that exist (a missing cell is a known zero).
fn push(
    out: &mut Vec<Constraint>,
    terms: Vec<(Option<EntryId>, i64)>,
    constant: i64,
    equality: bool,
) {
    let terms: Vec<(EntryId, i64)> = terms
        .into_iter()
        .filter_map(|(entry, coefficient)| entry.map(|e| (e, coefficient)))
        .collect();
    if !terms.is_empty() {
        out.push(Constraint {
            terms,
            constant,
            equality,
        });
    }
}
