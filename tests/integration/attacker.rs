//! An independent statistical-disclosure attacker for kitlog's released reports.
//!
//! It reads what a funder holds: the released CSV text, the public catalogue and the
//! public facts of how kitlog counts. It shares no code with kitlog's suppression, so
//! property tests can hold kitlog to its rule: every hidden entry of a small cell (true
//! contacts or participants from 1 to `min_cell - 1`) keeps at least `min_cell`
//! possible values, unless all the reader learns is that it is zero.
//!
//! Use: [`Truth::from_reports`] on the `--min-cell 1` reports, then [`audit`] (or
//! [`audit_limited`], which stops early) on the releases; each [`Finding`] is a
//! violation.
//!
//! # The model
//!
//! Unknowns, all non-negative. Additive measures (contacts, anonymous, quantity,
//! reversals, returned, for-others, naloxone reasons) live on *atoms*, the common
//! refinement of the released periods' date ranges, per named site (plus a stand-in
//! for sites no release names) and key; a released cell is a sum of atoms. ALL sites is
//! the sum of the sites; quantity of a category is the sum of its items', of ALL the
//! sum of all items'; naloxone reasons exist on naloxone items only and add up to their
//! quantity (so a category's and ALL's reasons are the naloxone items'). Participants
//! and new participants have one unknown per released period, site (ALL too) and key.
//!
//! Facts, each a family of rows named by a constant (see `FACTS`):
//! * published values are exact; a printed row has contacts >= 1; a cell a release
//!   covers but does not print is zero in every measure;
//! * anonymous <= contacts; quantity >= contacts in item rows (so in category rows);
//!   contacts, anonymous, reversals, returned and for-others: item <= category <= ALL
//!   and category <= the sum of its items (all on atoms of named sites);
//! * participants <= contacts - anonymous; new <= participants; in a fiscal-year row
//!   new = participants;
//! * participants and new participants: item <= category <= ALL, category <= sum of
//!   its items; site <= ALL <= sum of sites; a period inside another <= the other; a
//!   period's participants <= the sum over released periods of one kind tiling it;
//!   new participants of such a tiling add up to at most the whole, exactly for
//!   ALL/ALL (a person is new in the one period of their first contact of the year).
//!
//! Bounds are LP bounds rounded inwards (counts are integers). An integer-programming
//! reader could only narrow them further, so every violation found here is real.
//!
//! # Honesty
//!
//! The true counts must satisfy the model: [`audit`] panics when they do not, naming
//! the fact families whose removal mends it, because an attacker that assumes something
//! false proves nothing. It also asserts that every bound it returns holds the truth.
//!
//! # Speed
//!
//! A presolve fixes and bounds what rows pin down singly and drops implied equalities;
//! the rest splits into independent blocks. Feasible points found along the way (the
//! truth first) settle most entries without an LP of their own: an entry whose known
//! values already span `min_cell` is safe. The others get LPs that start around the
//! entry's unknowns and grow until a relaxation and a restriction of the block meet,
//! with the whole block as the last resort.

// Counts are small whole numbers and the LP works in f64: the casts between them are
// exact here, and LP values are compared with a tolerance wherever it matters.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::float_cmp
)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::rc::Rc;

use good_lp::{
    Expression, ProblemVariables, ResolutionError, Solution, SolverModel, microlp, variable,
};

/// The measure columns of a report, in CSV order.
pub const MEASURES: [&str; 16] = [
    "contacts",
    "participants",
    "new_participants",
    "anonymous_contacts",
    "quantity",
    "reversals",
    "returned",
    "for_others",
    "naloxone_first",
    "naloxone_used",
    "naloxone_lost",
    "naloxone_stolen",
    "naloxone_confiscated",
    "naloxone_expired",
    "naloxone_other",
    "naloxone_unrecorded",
];

const CONTACTS: usize = 0;
const PARTICIPANTS: usize = 1;
const NEW: usize = 2;
const ANONYMOUS: usize = 3;
const QUANTITY: usize = 4;
/// The first naloxone-reason measure; the eight reasons follow it.
const REASON0: usize = 8;
/// Measures counted once per contact in every cell the contact is in: additive over
/// sites and time, but not over items (a contact with two items counts in both).
const CONTACT_LIKE: [usize; 5] = [CONTACTS, ANONYMOUS, 5, 6, 7];

/// The category whose items carry naloxone kits by reason.
const NALOXONE: &str = "naloxone";
/// The stand-in for every site no release names.
const UNSEEN: &str = "(sites no release names)";
/// kitlog's categories, for reading tables whose header says `item` for categories.
const CATEGORIES: [&str; 5] = ["injection", "smoking", "naloxone", "testing", "other"];
/// Tolerance for LP values; every datum is an integer.
const EPS: f64 = 1e-6;

/// One release as printed by `kitlog report`.
pub struct Release {
    /// The CSV text, header, rows and any trailing note rows.
    pub csv: String,
}

/// A hidden entry that the releases pin down too narrowly, or a small cell published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The period label, as printed.
    pub period: String,
    /// The site, or `ALL`.
    pub site: String,
    /// The item or category, or `ALL`.
    pub key: String,
    /// The measure column.
    pub measure: &'static str,
    /// The least value the releases allow (LP minimum, rounded up).
    pub lo: i64,
    /// The greatest value the releases allow (LP maximum, rounded down); `i64::MAX`
    /// when unbounded.
    pub hi: i64,
    /// The true value.
    pub truth: i64,
}

// ---------------------------------------------------------------------------------
// Reading releases
// ---------------------------------------------------------------------------------

/// What the item column of a row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Level {
    Item,
    Category,
    All,
}

/// A row's key: its level and name (`ALL` for [`Level::All`]).
type KeyName = (Level, String);
/// A period's identity: its first and last day, as day numbers. Labels only name it.
type Span = (i64, i64);
/// A cell by name: period, site (`None` = ALL), key.
type CellName = (Span, Option<String>, KeyName);
/// A row's 16 entries; `None` = hidden.
type Entries = [Option<i64>; 16];

/// One release, parsed.
struct Table {
    /// Whether the table breaks down by site (some row names a site).
    by_site: bool,
    /// The level of its key breakdown, if it has one (some row names an item/category).
    by_key: Option<Level>,
    /// Every period with at least one row, and its label.
    periods: BTreeMap<Span, String>,
    rows: Vec<(CellName, Entries)>,
}

impl Table {
    /// The (site named?, key level) cell types the table prints for each of its periods:
    /// a cell of such a type that is not printed has no contacts.
    fn covered_types(&self) -> Vec<(bool, Level)> {
        let mut types = vec![(false, Level::All)];
        if self.by_site {
            types.push((true, Level::All));
        }
        if let Some(level) = self.by_key {
            types.push((false, level));
            if self.by_site {
                types.push((true, level));
            }
        }
        types
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian).
fn day_number(date: &str, what: &str) -> i64 {
    let parts: Vec<i64> = date
        .split('-')
        .map(|part| {
            part.parse()
                .unwrap_or_else(|_| panic!("{what}: {date:?} is not a YYYY-MM-DD date"))
        })
        .collect();
    let [year, month, day] = parts[..] else {
        panic!("{what}: {date:?} is not a YYYY-MM-DD date");
    };
    // Howard Hinnant's days_from_civil.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Parses one report. `what` names it in panics. Rows stop at the first whose first
/// cell is empty or `note`.
fn parse_table(csv_text: &str, what: &str) -> Table {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv_text.as_bytes());
    let mut records = reader.records();
    let header = records
        .next()
        .unwrap_or_else(|| panic!("{what}: no header row"))
        .unwrap_or_else(|e| panic!("{what}: unreadable header: {e}"));
    let column = |name: &str| {
        header
            .iter()
            .position(|cell| cell.trim_start_matches('\u{feff}') == name)
    };
    let need = |name: &str| column(name).unwrap_or_else(|| panic!("{what}: no {name} column"));
    let (period, start, end, site) = (
        need("period"),
        need("period_start"),
        need("period_end"),
        need("site"),
    );
    let (key, level) = match (column("item"), column("category")) {
        (Some(key), None) => (key, Level::Item),
        (None, Some(key)) => (key, Level::Category),
        _ => panic!("{what}: the header needs exactly one of item and category"),
    };
    let measures: Vec<usize> = MEASURES.iter().map(|m| need(m)).collect();

    let mut table = Table {
        by_site: false,
        by_key: None,
        periods: BTreeMap::new(),
        rows: Vec::new(),
    };
    for (line, record) in records.enumerate() {
        let record = record.unwrap_or_else(|e| panic!("{what}: unreadable row {}: {e}", line + 2));
        let first = record.get(0).unwrap_or("");
        if first.is_empty() || first == "note" {
            break;
        }
        let cell = |index: usize| {
            record
                .get(index)
                .unwrap_or_else(|| panic!("{what}: row {} is short", line + 2))
        };
        let span = (day_number(cell(start), what), day_number(cell(end), what));
        assert!(
            span.0 <= span.1,
            "{what}: row {} ends before it starts",
            line + 2
        );
        let label = table
            .periods
            .entry(span)
            .or_insert_with(|| cell(period).to_owned());
        assert_eq!(
            label,
            cell(period),
            "{what}: two labels for the dates of {label}"
        );
        let site_name = (cell(site) != "ALL").then(|| cell(site).to_owned());
        table.by_site |= site_name.is_some();
        let key_name = if cell(key) == "ALL" {
            (Level::All, "ALL".to_owned())
        } else {
            table.by_key = Some(level);
            (level, cell(key).to_owned())
        };
        let mut entries: Entries = [None; 16];
        for (m, &index) in measures.iter().enumerate() {
            let text = cell(index);
            if text != "x" {
                let value: i64 = text.parse().unwrap_or_else(|_| {
                    panic!(
                        "{what}: row {} {}: {text:?} is neither a count nor x",
                        line + 2,
                        MEASURES[m]
                    )
                });
                assert!(value >= 0, "{what}: negative count in row {}", line + 2);
                entries[m] = Some(value);
            }
        }
        table.rows.push(((span, site_name, key_name), entries));
    }
    // Reports made before the header named its key column `category` said `item` for
    // categories too: a table whose every key is a category name is a category table.
    let names_categories = |table: &Table| {
        table.rows.iter().all(|(name, _)| {
            let (level, key) = &name.2;
            *level == Level::All || CATEGORIES.contains(&key.as_str())
        })
    };
    if level == Level::Item && table.by_key.is_some() && names_categories(&table) {
        table.by_key = Some(Level::Category);
        for (name, _) in &mut table.rows {
            if name.2.0 == Level::Item {
                name.2.0 = Level::Category;
            }
        }
    }
    table
}

/// A period's kind, read from its label (`2026-W47`, `2026-11`, `FY2026-27 Q3`,
/// `FY2026-27`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Week,
    Month,
    Quarter,
    FiscalYear,
}

fn kind_of(label: &str) -> Kind {
    if label.contains("-W") {
        Kind::Week
    } else if label.contains('Q') {
        Kind::Quarter
    } else if label.starts_with("FY") {
        Kind::FiscalYear
    } else {
        Kind::Month
    }
}

// ---------------------------------------------------------------------------------
// The truth
// ---------------------------------------------------------------------------------

/// The true value of every cell that internal, unsuppressed reports cover: used only
/// to choose which cells must be protected, to score, and to check the model.
pub struct Truth {
    cells: HashMap<CellName, [i64; 16]>,
    /// (period, site named?, key level) types the reports print in full.
    covered: HashSet<(Span, bool, Level)>,
}

impl Truth {
    /// Reads `--min-cell 1` reports (same format, nothing hidden).
    pub fn from_reports(csvs: &[&str]) -> Truth {
        let mut truth = Truth {
            cells: HashMap::new(),
            covered: HashSet::new(),
        };
        for (index, text) in csvs.iter().enumerate() {
            let what = format!("truth report {}", index + 1);
            let table = parse_table(text, &what);
            for &span in table.periods.keys() {
                for (named, level) in table.covered_types() {
                    truth.covered.insert((span, named, level));
                }
            }
            for (name, entries) in table.rows {
                let values = entries.map(|entry| {
                    entry.unwrap_or_else(|| {
                        panic!("{what} hides a value: make it with --min-cell 1")
                    })
                });
                if let Some(old) = truth.cells.insert(name.clone(), values) {
                    assert_eq!(
                        old, values,
                        "{what} disagrees with an earlier one on {name:?}"
                    );
                }
            }
        }
        truth
    }

    /// The true values of a cell: printed ones, zero for one a report covers but does
    /// not print, `None` when no report covers it.
    fn get(&self, name: &CellName) -> Option<[i64; 16]> {
        if let Some(values) = self.cells.get(name) {
            return Some(*values);
        }
        let (span, site, (level, _)) = name;
        self.covered
            .contains(&(*span, site.is_some(), *level))
            .then_some([0; 16])
    }
}

// ---------------------------------------------------------------------------------
// The universe of cells and its unknowns
// ---------------------------------------------------------------------------------

/// A key by index: an item, a category, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Item(usize),
    Category(usize),
    All,
}

/// A released period.
struct Period {
    label: String,
    span: Span,
    kind: Kind,
    /// The atoms it is made of.
    atoms: Vec<usize>,
}

/// Every period, atom, site and key of the releases, and the unknowns on them.
struct Universe {
    periods: Vec<Period>,
    period_index: HashMap<Span, usize>,
    atoms: Vec<Span>,
    /// Named sites, the last of them [`UNSEEN`]; index `sites.len()` is ALL.
    sites: Vec<String>,
    /// Catalogue items: name, category index, naloxone?
    items: Vec<(String, usize, bool)>,
    categories: Vec<String>,
    /// Index in `items` of each naloxone item, in order.
    naloxone_items: Vec<usize>,
    /// Variable ids, see the accessors.
    contact_like: Vec<u32>,
    quantity: Vec<u32>,
    reasons: Vec<u32>,
    participants: Vec<u32>,
    new: Vec<u32>,
    variables: u32,
}

const NO_VAR: u32 = u32::MAX;

impl Universe {
    fn all_sites(&self) -> usize {
        self.sites.len()
    }

    /// The stand-in for sites no release names; the last named site.
    fn unseen(&self) -> usize {
        self.sites.len() - 1
    }

    fn keys(&self) -> Vec<Key> {
        let mut keys: Vec<Key> = (0..self.items.len()).map(Key::Item).collect();
        keys.extend((0..self.categories.len()).map(Key::Category));
        keys.push(Key::All);
        keys
    }

    fn key_index(&self, key: Key) -> usize {
        match key {
            Key::Item(i) => i,
            Key::Category(c) => self.items.len() + c,
            Key::All => self.items.len() + self.categories.len(),
        }
    }

    fn key_count(&self) -> usize {
        self.items.len() + self.categories.len() + 1
    }

    fn key_name(&self, key: Key) -> &str {
        match key {
            Key::Item(i) => &self.items[i].0,
            Key::Category(c) => &self.categories[c],
            Key::All => "ALL",
        }
    }

    fn items_of(&self, category: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.items.len()).filter(move |&i| self.items[i].1 == category)
    }

    fn is_naloxone_category(&self, category: usize) -> bool {
        self.categories[category] == NALOXONE
    }

    /// Whether the format alone fixes this measure of this key at zero: naloxone
    /// reasons outside naloxone items and the naloxone category.
    fn structural_zero(&self, measure: usize, key: Key) -> bool {
        measure >= REASON0
            && match key {
                Key::Item(i) => !self.items[i].2,
                Key::Category(c) => !self.is_naloxone_category(c),
                Key::All => false,
            }
    }

    /// Contacts, anonymous, reversals, returned or for-others of a named site, an atom
    /// and any key (`which` indexes [`CONTACT_LIKE`]).
    fn contact_like_var(&self, which: usize, atom: usize, site: usize, key: Key) -> u32 {
        let keys = self.key_count();
        let sites = self.sites.len();
        self.contact_like
            [((which * self.atoms.len() + atom) * sites + site) * keys + self.key_index(key)]
    }

    /// The expression of an additive measure on one atom, site (ALL included) and key.
    /// Sites add up to ALL; quantity adds up over items to categories and ALL; naloxone
    /// reasons live on naloxone items only, and their sum is those items' quantity.
    fn atom_expr(
        &self,
        measure: usize,
        atom: usize,
        site: usize,
        key: Key,
        out: &mut Vec<(u32, f64)>,
    ) {
        if site == self.all_sites() {
            for site in 0..self.sites.len() {
                self.atom_expr(measure, atom, site, key, out);
            }
            return;
        }
        let sites = self.sites.len();
        let items = self.items.len();
        if let Some(which) = CONTACT_LIKE.iter().position(|&m| m == measure) {
            out.push((self.contact_like_var(which, atom, site, key), 1.0));
            return;
        }
        match key {
            Key::Category(c) => {
                for item in self.items_of(c) {
                    self.atom_expr(measure, atom, site, Key::Item(item), out);
                }
            }
            Key::All => {
                for item in 0..items {
                    self.atom_expr(measure, atom, site, Key::Item(item), out);
                }
            }
            Key::Item(item) => {
                let (_, _, naloxone) = self.items[item];
                if measure == QUANTITY && !naloxone {
                    out.push((self.quantity[(atom * sites + site) * items + item], 1.0));
                } else if naloxone {
                    let slot = self
                        .naloxone_items
                        .iter()
                        .position(|&i| i == item)
                        .expect("a naloxone item is listed");
                    let reasons = if measure == QUANTITY {
                        0..8
                    } else {
                        (measure - REASON0)..(measure - REASON0 + 1)
                    };
                    for reason in reasons {
                        out.push((self.reason_var(reason, atom, site, slot), 1.0));
                    }
                }
            }
        }
    }

    fn reason_var(&self, reason: usize, atom: usize, site: usize, slot: usize) -> u32 {
        let sites = self.sites.len();
        let slots = self.naloxone_items.len();
        self.reasons[((reason * self.atoms.len() + atom) * sites + site) * slots + slot]
    }

    fn participant_var(&self, measure: usize, period: usize, site: usize, key: Key) -> u32 {
        let index =
            (period * (self.sites.len() + 1) + site) * self.key_count() + self.key_index(key);
        if measure == PARTICIPANTS {
            self.participants[index]
        } else {
            self.new[index]
        }
    }

    /// The expression of any measure of a released cell: a sum over its atoms, or the
    /// participant unknown of the cell.
    fn cell_expr(&self, measure: usize, period: usize, site: usize, key: Key) -> Vec<(u32, f64)> {
        if measure == PARTICIPANTS || measure == NEW {
            return vec![(self.participant_var(measure, period, site, key), 1.0)];
        }
        let mut out = Vec::new();
        for &atom in &self.periods[period].atoms {
            self.atom_expr(measure, atom, site, key, &mut out);
        }
        out
    }

    /// A cell by name, in indices; panics on a site, item or category the universe
    /// does not know (an item missing from the catalogue).
    fn resolve(&self, name: &CellName) -> (usize, usize, Key) {
        let (span, site, (level, key)) = name;
        let period = self.period_index[span];
        let site = match site {
            None => self.all_sites(),
            Some(site) => self
                .sites
                .iter()
                .position(|s| s == site)
                .unwrap_or_else(|| panic!("site {site} is not in the releases")),
        };
        let key = match level {
            Level::All => Key::All,
            Level::Item => Key::Item(
                self.items
                    .iter()
                    .position(|(name, _, _)| name == key)
                    .unwrap_or_else(|| panic!("item {key} is not in the catalogue")),
            ),
            Level::Category => Key::Category(
                self.categories
                    .iter()
                    .position(|c| c == key)
                    .unwrap_or_else(|| panic!("category {key} is unknown")),
            ),
        };
        (period, site, key)
    }

    fn name_of(&self, period: usize, site: usize, key: Key) -> CellName {
        let level = match key {
            Key::Item(_) => Level::Item,
            Key::Category(_) => Level::Category,
            Key::All => Level::All,
        };
        (
            self.periods[period].span,
            (site != self.all_sites()).then(|| self.sites[site].clone()),
            (level, self.key_name(key).to_owned()),
        )
    }
}

/// Builds the periods, atoms, sites, keys and unknowns of a set of releases.
fn universe(tables: &[Table], catalogue: &[(&str, &str)]) -> Universe {
    let mut labels: BTreeMap<Span, String> = BTreeMap::new();
    let mut sites: Vec<String> = Vec::new();
    let mut categories: Vec<String> = Vec::new();
    for (_, category) in catalogue {
        if !categories.iter().any(|c| c == category) {
            categories.push((*category).to_owned());
        }
    }
    for table in tables {
        for (span, label) in &table.periods {
            labels.entry(*span).or_insert_with(|| label.clone());
        }
        for ((_, site, (level, key)), _) in &table.rows {
            if let Some(site) = site.as_ref().filter(|site| !sites.contains(site)) {
                sites.push(site.clone());
            }
            if *level == Level::Category && !categories.contains(key) {
                categories.push(key.clone());
            }
        }
    }
    sites.sort();
    // Sites no release names: nothing, where a release covers sites, since every site
    // with contacts has a row there; elsewhere, unknown.
    sites.push(UNSEEN.to_owned());
    let items: Vec<(String, usize, bool)> = catalogue
        .iter()
        .map(|(item, category)| {
            let c = categories
                .iter()
                .position(|x| x == category)
                .expect("listed above");
            ((*item).to_owned(), c, *category == NALOXONE)
        })
        .collect();
    let naloxone_items = (0..items.len()).filter(|&i| items[i].2).collect();

    let atoms = atoms(&labels.keys().copied().collect::<Vec<_>>());
    let periods: Vec<Period> = labels
        .iter()
        .map(|(&span, label)| Period {
            label: label.clone(),
            span,
            kind: kind_of(label),
            atoms: (0..atoms.len())
                .filter(|&a| span.0 <= atoms[a].0 && atoms[a].1 <= span.1)
                .collect(),
        })
        .collect();
    let period_index = periods
        .iter()
        .enumerate()
        .map(|(i, p)| (p.span, i))
        .collect();

    let mut universe = Universe {
        periods,
        period_index,
        atoms,
        sites,
        items,
        categories,
        naloxone_items,
        contact_like: Vec::new(),
        quantity: Vec::new(),
        reasons: Vec::new(),
        participants: Vec::new(),
        new: Vec::new(),
        variables: 0,
    };
    universe.allocate();
    universe
}

/// The atoms of a set of periods: the calendar cut at every period boundary, keeping
/// the pieces some period contains. Within an atom, the set of periods containing a
/// day is constant.
fn atoms(spans: &[Span]) -> Vec<Span> {
    let mut cuts: Vec<i64> = spans
        .iter()
        .flat_map(|&(start, end)| [start, end + 1])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .map(|w| (w[0], w[1] - 1))
        .filter(|&(start, end)| spans.iter().any(|&(s, e)| s <= start && end <= e))
        .collect()
}

impl Universe {
    /// Numbers the unknowns: additive measures per atom, named site and key (quantity
    /// of naloxone items is the sum of their reasons, so it has none); participants and
    /// new participants per released period, site (ALL too) and key.
    fn allocate(&mut self) {
        let mut next = 0u32;
        let mut fresh = |count: usize| -> Vec<u32> {
            let ids = (next..next + count as u32).collect();
            next += count as u32;
            ids
        };
        let (atoms, sites, keys, items) = (
            self.atoms.len(),
            self.sites.len(),
            self.key_count(),
            self.items.len(),
        );
        self.contact_like = fresh(CONTACT_LIKE.len() * atoms * sites * keys);
        self.quantity = fresh(atoms * sites * items);
        for (index, (_, _, naloxone)) in self.items.iter().enumerate() {
            if *naloxone {
                for slot in (0..atoms * sites).map(|cell| cell * items + index) {
                    self.quantity[slot] = NO_VAR;
                }
            }
        }
        self.reasons = fresh(8 * atoms * sites * self.naloxone_items.len());
        let cells = self.periods.len() * (sites + 1) * keys;
        self.participants = fresh(cells);
        self.new = fresh(cells);
        self.variables = next;
    }
}

// ---------------------------------------------------------------------------------
// The linear model
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Le,
    Ge,
    Eq,
}

/// One linear constraint, tagged with the fact it encodes (to name the culprit when
/// the truth breaks the model).
#[derive(Debug, Clone)]
struct Row {
    terms: Vec<(u32, f64)>,
    op: Op,
    rhs: f64,
    fact: &'static str,
}

/// The facts, by the names rows carry.
const PUBLISHED: &str = "published values are exact";
const EXISTS: &str = "a printed row has contacts >= 1";
const ABSENT: &str = "a covered cell not printed is zero";
const ANONYMOUS_LE_CONTACTS: &str = "anonymous <= contacts";
const ITEM_CATEGORY_ALL: &str = "contact-like: item <= category <= ALL, category <= sum of items";
const QUANTITY_GE_CONTACTS: &str = "quantity >= contacts in item rows";
const CODED: &str = "participants <= contacts - anonymous";
const NEW_LE_PARTICIPANTS: &str = "new participants <= participants";
const FISCAL_NEW: &str = "in a fiscal-year row new = participants";
const PARTICIPANT_ITEMS: &str =
    "participants and new: item <= category <= ALL <= ..., category <= sum of items";
const PARTICIPANT_SITES: &str = "participants and new: site <= ALL <= sum of sites";
const PARTICIPANT_TIME: &str =
    "participants and new: part <= whole; participants whole <= sum of a partition";
const NEW_TIME: &str = "new participants: sum over a partition <= whole, = for ALL/ALL";
const TRUTH: &str = "the true values";

/// Every fact family, for the diagnosis of an infeasible truth.
const FACTS: [&str; 13] = [
    NEW_LE_PARTICIPANTS,
    PUBLISHED,
    EXISTS,
    ABSENT,
    ANONYMOUS_LE_CONTACTS,
    ITEM_CATEGORY_ALL,
    QUANTITY_GE_CONTACTS,
    CODED,
    FISCAL_NEW,
    PARTICIPANT_ITEMS,
    PARTICIPANT_SITES,
    PARTICIPANT_TIME,
    NEW_TIME,
];

/// Bounds of every unknown and the constraints on them.
struct Model {
    lb: Vec<f64>,
    ub: Vec<f64>,
    rows: Vec<Row>,
    /// Fact families left out (for the diagnosis and the tests' ablations).
    off: Vec<&'static str>,
}

impl Model {
    fn add(&mut self, fact: &'static str, mut terms: Vec<(u32, f64)>, op: Op, rhs: f64) {
        // One term per unknown: presolve reasons about each unknown once per row.
        terms.sort_unstable_by_key(|&(v, _)| v);
        terms.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 += later.1;
            }
            same
        });
        terms.retain(|&(_, c)| c != 0.0);
        if !self.off.contains(&fact) {
            self.rows.push(Row {
                terms,
                op,
                rhs,
                fact,
            });
        }
    }

    /// `small <= big`, both expressions.
    fn le(&mut self, fact: &'static str, small: &[(u32, f64)], big: &[(u32, f64)]) {
        let mut terms = small.to_vec();
        terms.extend(big.iter().map(|&(v, c)| (v, -c)));
        self.add(fact, terms, Op::Le, 0.0);
    }
}

/// A printed cell: its key, its entries published somewhere, which some release hides.
type PrintedCell = (Key, Entries, [bool; 16]);

/// The merged content of every release: per cell, each entry published somewhere (with
/// its value) or hidden everywhere it is printed.
struct Released {
    /// Per (period, site, key index): the key, the published entries, and which
    /// entries some release hides.
    printed: BTreeMap<(usize, usize, usize), PrintedCell>,
    /// (period, site named?, key level) types some release prints in full.
    covered: HashSet<(usize, bool, Level)>,
}

fn merge(universe: &Universe, tables: &[Table]) -> Released {
    let mut released = Released {
        printed: BTreeMap::new(),
        covered: HashSet::new(),
    };
    for (number, table) in tables.iter().enumerate() {
        for span in table.periods.keys() {
            for (named, level) in table.covered_types() {
                released
                    .covered
                    .insert((universe.period_index[span], named, level));
            }
        }
        for (name, entries) in &table.rows {
            let (period, site, key) = universe.resolve(name);
            let slot = released
                .printed
                .entry((period, site, universe.key_index(key)))
                .or_insert((key, [None; 16], [false; 16]));
            for m in 0..16 {
                match (slot.1[m], entries[m]) {
                    (Some(old), Some(new)) => assert_eq!(
                        old,
                        new,
                        "release {} contradicts an earlier one on {} of {name:?}",
                        number + 1,
                        MEASURES[m]
                    ),
                    (None, Some(new)) => slot.1[m] = Some(new),
                    (_, None) => slot.2[m] = true,
                }
            }
        }
    }
    released
}

/// Every constraint the releases and the facts give.
#[allow(
    clippy::too_many_lines,
    reason = "one fact after another, each commented"
)]
fn build(universe: &Universe, released: &Released, off: &[&'static str]) -> Model {
    let n = universe.variables as usize;
    let mut model = Model {
        lb: vec![0.0; n],
        ub: vec![f64::INFINITY; n],
        rows: Vec::new(),
        off: off.to_vec(),
    };
    let keys = universe.keys();
    let all = universe.all_sites();

    // Per-cell and item/category facts on atoms of named sites (ALL is their sum, so it
    // inherits them, and so does every released period).
    for atom in 0..universe.atoms.len() {
        for site in 0..universe.sites.len() {
            for (which, _) in CONTACT_LIKE.iter().enumerate() {
                let var = |key| vec![(universe.contact_like_var(which, atom, site, key), 1.0)];
                for (item, (_, category, _)) in universe.items.iter().enumerate() {
                    model.le(
                        ITEM_CATEGORY_ALL,
                        &var(Key::Item(item)),
                        &var(Key::Category(*category)),
                    );
                }
                for category in 0..universe.categories.len() {
                    let sum: Vec<_> = universe
                        .items_of(category)
                        .map(|i| {
                            (
                                universe.contact_like_var(which, atom, site, Key::Item(i)),
                                1.0,
                            )
                        })
                        .collect();
                    model.le(
                        ITEM_CATEGORY_ALL,
                        &var(Key::Category(category)),
                        &var(Key::All),
                    );
                    model.le(ITEM_CATEGORY_ALL, &var(Key::Category(category)), &sum);
                }
            }
            for &key in &keys {
                let mut anonymous = Vec::new();
                let mut contacts = Vec::new();
                universe.atom_expr(ANONYMOUS, atom, site, key, &mut anonymous);
                universe.atom_expr(CONTACTS, atom, site, key, &mut contacts);
                model.le(ANONYMOUS_LE_CONTACTS, &anonymous, &contacts);
            }
            for item in 0..universe.items.len() {
                let mut quantity = Vec::new();
                let mut contacts = Vec::new();
                universe.atom_expr(QUANTITY, atom, site, Key::Item(item), &mut quantity);
                universe.atom_expr(CONTACTS, atom, site, Key::Item(item), &mut contacts);
                model.le(QUANTITY_GE_CONTACTS, &contacts, &quantity);
            }
        }
    }

    // Participants and new participants of every released period: per cell, over
    // items, over sites.
    for period in 0..universe.periods.len() {
        let fiscal_year = universe.periods[period].kind == Kind::FiscalYear;
        for site in 0..=all {
            for &key in &keys {
                let p = universe.cell_expr(PARTICIPANTS, period, site, key);
                let new = universe.cell_expr(NEW, period, site, key);
                let mut coded = universe.cell_expr(CONTACTS, period, site, key);
                coded.extend(
                    universe
                        .cell_expr(ANONYMOUS, period, site, key)
                        .iter()
                        .map(|&(v, c)| (v, -c)),
                );
                model.le(CODED, &p, &coded);
                model.le(NEW_LE_PARTICIPANTS, &new, &p);
                if fiscal_year {
                    let mut terms = new.clone();
                    terms.push((p[0].0, -1.0));
                    model.add(FISCAL_NEW, terms, Op::Eq, 0.0);
                }
            }
            for measure in [PARTICIPANTS, NEW] {
                let var = |key| vec![(universe.participant_var(measure, period, site, key), 1.0)];
                for (item, (_, category, _)) in universe.items.iter().enumerate() {
                    model.le(
                        PARTICIPANT_ITEMS,
                        &var(Key::Item(item)),
                        &var(Key::Category(*category)),
                    );
                }
                for category in 0..universe.categories.len() {
                    let sum: Vec<_> = universe
                        .items_of(category)
                        .map(|i| {
                            (
                                universe.participant_var(measure, period, site, Key::Item(i)),
                                1.0,
                            )
                        })
                        .collect();
                    model.le(
                        PARTICIPANT_ITEMS,
                        &var(Key::Category(category)),
                        &var(Key::All),
                    );
                    model.le(PARTICIPANT_ITEMS, &var(Key::Category(category)), &sum);
                }
            }
        }
        for measure in [PARTICIPANTS, NEW] {
            for &key in &keys {
                let total = vec![(universe.participant_var(measure, period, all, key), 1.0)];
                let mut sum = Vec::new();
                for site in 0..all {
                    let one = vec![(universe.participant_var(measure, period, site, key), 1.0)];
                    model.le(PARTICIPANT_SITES, &one, &total);
                    sum.extend(one);
                }
                model.le(PARTICIPANT_SITES, &total, &sum);
            }
        }
    }

    // Participants and new participants over time, between released periods.
    let periods = &universe.periods;
    let inside = |fine: usize, coarse: usize| {
        fine != coarse
            && periods[coarse].span.0 <= periods[fine].span.0
            && periods[fine].span.1 <= periods[coarse].span.1
    };
    for coarse in 0..periods.len() {
        for fine in 0..periods.len() {
            // Only direct containments: the others follow by transitivity.
            if !inside(fine, coarse)
                || (0..periods.len()).any(|g| inside(fine, g) && inside(g, coarse))
            {
                continue;
            }
            for site in 0..=all {
                for &key in &keys {
                    for measure in [PARTICIPANTS, NEW] {
                        model.le(
                            PARTICIPANT_TIME,
                            &universe.cell_expr(measure, fine, site, key),
                            &universe.cell_expr(measure, coarse, site, key),
                        );
                    }
                }
            }
        }
        for kind in [Kind::Week, Kind::Month, Kind::Quarter] {
            let mut parts: Vec<usize> = (0..periods.len())
                .filter(|&f| periods[f].kind == kind && inside(f, coarse))
                .collect();
            parts.sort_by_key(|&f| periods[f].span);
            let tiles = !parts.is_empty()
                && periods[parts[0]].span.0 == periods[coarse].span.0
                && periods[parts[parts.len() - 1]].span.1 == periods[coarse].span.1
                && parts
                    .windows(2)
                    .all(|w| periods[w[0]].span.1 + 1 == periods[w[1]].span.0);
            if !tiles {
                continue;
            }
            for site in 0..=all {
                for &key in &keys {
                    let sum = |measure| -> Vec<(u32, f64)> {
                        parts
                            .iter()
                            .flat_map(|&f| universe.cell_expr(measure, f, site, key))
                            .collect()
                    };
                    let whole = |measure| universe.cell_expr(measure, coarse, site, key);
                    // Distinct people of the whole are at most those of its parts added.
                    model.le(PARTICIPANT_TIME, &whole(PARTICIPANTS), &sum(PARTICIPANTS));
                    // A person is new in the one part holding their first contact of the
                    // fiscal year (the whole lies in one fiscal year); over ALL/ALL every
                    // new person of the whole is new in exactly one part.
                    if site == all && key == Key::All {
                        let mut terms = whole(NEW);
                        terms.extend(sum(NEW).iter().map(|&(v, c)| (v, -c)));
                        model.add(NEW_TIME, terms, Op::Eq, 0.0);
                    } else {
                        model.le(NEW_TIME, &sum(NEW), &whole(NEW));
                    }
                }
            }
        }
    }

    // What the releases print, and what they leave out.
    for (&(period, site, _), (key, entries, _)) in &released.printed {
        model.add(
            EXISTS,
            universe.cell_expr(CONTACTS, period, site, *key),
            Op::Ge,
            1.0,
        );
        for (m, entry) in entries.iter().enumerate() {
            if let Some(value) = entry {
                model.add(
                    PUBLISHED,
                    universe.cell_expr(m, period, site, *key),
                    Op::Eq,
                    *value as f64,
                );
            }
        }
    }
    for period in 0..universe.periods.len() {
        for site in 0..=all {
            for &key in &keys {
                let level = match key {
                    Key::Item(_) => Level::Item,
                    Key::Category(_) => Level::Category,
                    Key::All => Level::All,
                };
                let covered = released.covered.contains(&(period, site != all, level));
                let printed =
                    released
                        .printed
                        .contains_key(&(period, site, universe.key_index(key)));
                if covered && !printed {
                    for m in 0..16 {
                        model.add(
                            ABSENT,
                            universe.cell_expr(m, period, site, key),
                            Op::Eq,
                            0.0,
                        );
                    }
                }
            }
        }
    }
    model
}

// ---------------------------------------------------------------------------------
// Presolve and blocks
// ---------------------------------------------------------------------------------

/// The model after presolve: tightened bounds, the rows still binding two or more free
/// unknowns, and the independent blocks they form.
struct Presolved {
    lb: Vec<f64>,
    ub: Vec<f64>,
    rows: Vec<Row>,
    /// Per unknown: its block (`NO_VAR` when fixed) and its index in the block.
    block_of: Vec<u32>,
    local: Vec<u32>,
    /// Per unknown: the rows it is in.
    rows_of: Vec<Vec<usize>>,
    blocks: Vec<Block>,
    /// Per unknown: the unknowns of the last LP that settled an expression holding it.
    reach: HashMap<u32, Rc<Vec<u32>>>,
}

/// Unknowns that rows join, and the feasible points found among them.
struct Block {
    vars: Vec<u32>,
    rows: Vec<usize>,
    /// Feasible points found so far, in block order: the truth first, then LP optima.
    pool: Vec<Vec<f64>>,
    /// Directions found along which the block has no end (unknown → rise).
    rays: Vec<HashMap<u32, f64>>,
}

impl Presolved {
    fn fixed(&self, var: u32) -> bool {
        self.lb[var as usize] == self.ub[var as usize]
    }
}

/// Union-find: the root of `x`.
fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Groups the free unknowns by the rows that join them: returns, per unknown, its group
/// (`NO_VAR` for fixed ones), and the number of groups.
fn components(
    lb: &[f64],
    ub: &[f64],
    rows: &[Row],
    joins: impl Fn(&Row) -> bool,
) -> (Vec<u32>, usize) {
    let n = lb.len();
    let mut parent: Vec<usize> = (0..n).collect();
    for row in rows.iter().filter(|row| joins(row)) {
        let first = row.terms[0].0 as usize;
        for &(v, _) in &row.terms[1..] {
            let (a, b) = (find(&mut parent, first), find(&mut parent, v as usize));
            parent[a] = b;
        }
    }
    let mut group = vec![NO_VAR; n];
    let mut of_root: HashMap<usize, u32> = HashMap::new();
    for v in 0..n {
        if lb[v] != ub[v] {
            let root = find(&mut parent, v);
            let next = of_root.len() as u32;
            group[v] = *of_root.entry(root).or_insert(next);
        }
    }
    (group, of_root.len())
}

/// Drops equality rows that other equality rows imply: published totals overlap (a
/// year, its quarters and its months; sites and their total), and the LP solver slows
/// down several times on such redundant rows. `Err` names a fact when an implied row
/// contradicts its implication.
fn independent(rows: Vec<Row>) -> Result<Vec<Row>, &'static str> {
    let keep = independent_rows(&rows.iter().collect::<Vec<_>>())?;
    Ok(rows
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep[*i])
        .map(|(_, row)| row)
        .collect())
}

/// Which of `rows` [`independent`] keeps.
fn independent_rows(rows: &[&Row]) -> Result<Vec<bool>, &'static str> {
    // Echelon form, sparse: each kept row reduced by the earlier ones, with its pivot.
    let mut basis: Vec<(u32, HashMap<u32, f64>, f64)> = Vec::new();
    let mut pivot_of: HashMap<u32, usize> = HashMap::new();
    let mut kept = Vec::with_capacity(rows.len());
    for row in rows {
        if row.op != Op::Eq {
            kept.push(true);
            continue;
        }
        let mut terms: HashMap<u32, f64> = row.terms.iter().copied().collect();
        let mut rhs = row.rhs;
        // Reduce by earlier rows in the order they were kept: a later one never brings
        // back an earlier pivot.
        let mut pending: BinaryHeap<Reverse<usize>> = terms
            .keys()
            .filter_map(|v| pivot_of.get(v))
            .map(|&b| Reverse(b))
            .collect();
        while let Some(Reverse(b)) = pending.pop() {
            let (pivot, ref other, other_rhs) = basis[b];
            let Some(&factor) = terms.get(&pivot) else {
                continue;
            };
            for (&v, &c) in other {
                let entry = terms.entry(v).or_insert(0.0);
                if let Some(&later) = pivot_of.get(&v).filter(|_| *entry == 0.0) {
                    pending.push(Reverse(later));
                }
                *entry -= factor * c;
            }
            rhs -= factor * other_rhs;
            terms.retain(|_, c| c.abs() > 1e-9);
        }
        match terms.iter().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())) {
            None if rhs.abs() > 1e-6 => return Err(row.fact),
            None => kept.push(false),
            Some((&pivot, &scale)) => {
                let normalised: HashMap<u32, f64> =
                    terms.iter().map(|(&v, &c)| (v, c / scale)).collect();
                pivot_of.insert(pivot, basis.len());
                basis.push((pivot, normalised, rhs / scale));
                kept.push(true);
            }
        }
    }
    Ok(kept)
}

/// The least and greatest value of `c·v` within the bounds.
fn contribution(lb: &[f64], ub: &[f64], v: u32, c: f64) -> (f64, f64) {
    let (low, high) = (lb[v as usize], ub[v as usize]);
    if c > 0.0 {
        (c * low, c * high)
    } else {
        (c * high, c * low)
    }
}

/// Tightens bounds and drops rows without changing the feasible set, until nothing
/// changes: a row on one free unknown becomes its bound; a row whose least or greatest
/// possible activity meets its bound forces every unknown to one end; each row bounds
/// each of its unknowns by the others' bounds; a row its bounds always satisfy goes.
/// `Err` names a fact the data break.
#[allow(
    clippy::too_many_lines,
    reason = "one loop over the rows, each step commented"
)]
fn presolve(model: &Model) -> Result<Presolved, &'static str> {
    let mut lb = model.lb.clone();
    let mut ub = model.ub.clone();
    let mut rows: Vec<Row> = model.rows.clone();
    let mut live = vec![true; rows.len()];
    // Sets a bound if it moves it by more than rounding noise; false if the bounds cross.
    let tighten = |lb: &mut Vec<f64>,
                   ub: &mut Vec<f64>,
                   v: usize,
                   low: f64,
                   high: f64,
                   changed: &mut bool|
     -> bool {
        if low > lb[v] + 1e-7 {
            lb[v] = low;
            *changed = true;
        }
        if high < ub[v] - 1e-7 {
            ub[v] = high;
            *changed = true;
        }
        if lb[v] > ub[v] + EPS {
            return false;
        }
        if ub[v] - lb[v] < EPS {
            ub[v] = lb[v];
        }
        true
    };
    let mut changed = true;
    let mut passes = 0;
    while changed && passes < 200 {
        changed = false;
        passes += 1;
        for (index, row) in rows.iter_mut().enumerate() {
            if !live[index] {
                continue;
            }
            // Fold fixed unknowns into the right-hand side.
            let mut rhs = row.rhs;
            row.terms.retain(|&(v, c)| {
                if lb[v as usize] == ub[v as usize] {
                    rhs -= c * lb[v as usize];
                    false
                } else {
                    true
                }
            });
            row.rhs = rhs;
            // Least and greatest activity: finite parts and counts of infinite terms.
            let (mut least, mut least_inf, mut most, mut most_inf) = (0.0, 0, 0.0, 0);
            for &(v, c) in &row.terms {
                let (low, high) = contribution(&lb, &ub, v, c);
                if low.is_finite() {
                    least += low;
                } else {
                    least_inf += 1;
                }
                if high.is_finite() {
                    most += high;
                } else {
                    most_inf += 1;
                }
            }
            let can_be_low = least_inf > 0 || least <= rhs + EPS;
            let can_be_high = most_inf > 0 || most >= rhs - EPS;
            let feasible = match row.op {
                Op::Le => can_be_low,
                Op::Ge => can_be_high,
                Op::Eq => can_be_low && can_be_high,
            };
            if !feasible {
                return Err(row.fact);
            }
            if row.terms.is_empty() {
                live[index] = false;
                continue;
            }
            let force_least =
                matches!(row.op, Op::Le | Op::Eq) && least_inf == 0 && least >= rhs - EPS;
            let force_most =
                matches!(row.op, Op::Ge | Op::Eq) && most_inf == 0 && most <= rhs + EPS;
            let redundant = match row.op {
                Op::Le => most_inf == 0 && most <= rhs + EPS,
                Op::Ge => least_inf == 0 && least >= rhs - EPS,
                Op::Eq => false,
            };
            if force_least || force_most {
                for &(v, c) in &row.terms {
                    let v = v as usize;
                    let value = if (c > 0.0) == force_least {
                        lb[v]
                    } else {
                        ub[v]
                    };
                    lb[v] = value;
                    ub[v] = value;
                }
                live[index] = false;
                changed = true;
                continue;
            }
            for &(v, c) in &row.terms {
                let (low, high) = contribution(&lb, &ub, v, c);
                let (mut new_low, mut new_high) = (f64::NEG_INFINITY, f64::INFINITY);
                // The others at their least: c·v <= rhs - that.
                let others_least = if low.is_finite() {
                    (least_inf == 0).then_some(least - low)
                } else {
                    (least_inf == 1).then_some(least)
                };
                if let (Some(others), Op::Le | Op::Eq) = (others_least, row.op) {
                    let bound = (rhs - others) / c;
                    if c > 0.0 {
                        new_high = bound;
                    } else {
                        new_low = bound;
                    }
                }
                let others_most = if high.is_finite() {
                    (most_inf == 0).then_some(most - high)
                } else {
                    (most_inf == 1).then_some(most)
                };
                if let (Some(others), Op::Ge | Op::Eq) = (others_most, row.op) {
                    let bound = (rhs - others) / c;
                    if c > 0.0 {
                        new_low = new_low.max(bound);
                    } else {
                        new_high = new_high.min(bound);
                    }
                }
                if !tighten(
                    &mut lb,
                    &mut ub,
                    v as usize,
                    new_low,
                    new_high,
                    &mut changed,
                ) {
                    return Err(row.fact);
                }
            }
            if row.terms.len() == 1 || redundant {
                // Its bound is now the unknown's bound; or the bounds satisfy it anyway.
                live[index] = false;
                changed = true;
            }
        }
    }
    let rows: Vec<Row> = rows
        .into_iter()
        .zip(live)
        .filter_map(|(row, live)| live.then_some(row))
        .collect();
    let rows = independent(rows)?;

    // Blocks: free unknowns joined by rows.
    let (block_of, count) = components(&lb, &ub, &rows, |_| true);
    let mut blocks: Vec<Block> = (0..count)
        .map(|_| Block {
            vars: Vec::new(),
            rows: Vec::new(),
            pool: Vec::new(),
            rays: Vec::new(),
        })
        .collect();
    let n = lb.len();
    let mut local = vec![NO_VAR; n];
    for v in 0..n {
        if block_of[v] != NO_VAR {
            let block = &mut blocks[block_of[v] as usize];
            local[v] = block.vars.len() as u32;
            block.vars.push(v as u32);
        }
    }
    let mut rows_of = vec![Vec::new(); n];
    for (index, row) in rows.iter().enumerate() {
        blocks[block_of[row.terms[0].0 as usize] as usize]
            .rows
            .push(index);
        for &(v, _) in &row.terms {
            rows_of[v as usize].push(index);
        }
    }
    Ok(Presolved {
        lb,
        ub,
        rows,
        block_of,
        local,
        rows_of,
        blocks,
        reach: HashMap::new(),
    })
}

/// What an LP gives.
enum Optimum {
    /// The optimum and a point reaching it (in the order of the unknowns asked for).
    Value(f64, Vec<f64>),
    Unbounded,
    Infeasible,
}

/// Optimises `objective` over `vars` (within the bounds `lb`, `ub`) and `rows`, which
/// must only involve `vars`.
fn solve_lp(
    lb: &[f64],
    ub: &[f64],
    vars: &[u32],
    rows: &[&Row],
    objective: &[(u32, f64)],
    maximise: bool,
) -> Optimum {
    let mut problem = ProblemVariables::new();
    let mut index: HashMap<u32, good_lp::Variable> = HashMap::with_capacity(vars.len());
    for &v in vars {
        let (low, high) = (lb[v as usize], ub[v as usize]);
        let mut definition = variable().min(low);
        if high.is_finite() {
            definition = definition.max(high);
        }
        index.insert(v, problem.add(definition));
    }
    let expression = |terms: &[(u32, f64)]| {
        let mut e = Expression::with_capacity(terms.len());
        for &(v, c) in terms {
            e.add_mul(c, index[&v]);
        }
        e
    };
    let goal = expression(objective);
    let mut lp = if maximise {
        problem.maximise(goal)
    } else {
        problem.minimise(goal)
    }
    .using(microlp);
    for row in rows {
        let e = expression(&row.terms);
        lp.add_constraint(match row.op {
            Op::Le => e.leq(row.rhs),
            Op::Ge => e.geq(row.rhs),
            Op::Eq => e.eq(row.rhs),
        });
    }
    let result = lp.solve();
    match result {
        Ok(solution) => {
            let point: Vec<f64> = vars.iter().map(|v| solution.value(index[v])).collect();
            let value = objective
                .iter()
                .map(|&(v, c)| c * solution.value(index[&v]))
                .sum();
            Optimum::Value(value, point)
        }
        Err(ResolutionError::Unbounded) => Optimum::Unbounded,
        Err(ResolutionError::Infeasible) => Optimum::Infeasible,
        Err(other) => panic!("the LP solver failed: {other}"),
    }
}

impl Presolved {
    /// Notes that an LP over `vars` settled an extreme of `terms`.
    fn remember(&mut self, terms: &[(u32, f64)], vars: &[u32]) {
        let vars = Rc::new(vars.to_vec());
        for &(v, _) in terms {
            self.reach.insert(v, vars.clone());
        }
    }

    /// Optimises `terms` over the whole of `block`.
    fn solve_block(&mut self, block: usize, terms: &[(u32, f64)], maximise: bool) -> Optimum {
        let block = &self.blocks[block];
        let rows: Vec<&Row> = block.rows.iter().map(|&r| &self.rows[r]).collect();
        solve_lp(&self.lb, &self.ub, &block.vars, &rows, terms, maximise)
    }
}

/// Whether `terms` can grow without end over `block`: whether some direction raises
/// them and keeps every row. Unknowns are bounded below, so such a ray only raises
/// unknowns without an upper bound, and a row only sees its terms on those. Returns such
/// a direction (unknown → rise), from those found before if one serves.
fn unbounded(model: &Presolved, block: usize, terms: &[(u32, f64)]) -> Option<HashMap<u32, f64>> {
    let rises = |ray: &HashMap<u32, f64>| {
        terms
            .iter()
            .map(|(v, c)| c * ray.get(v).unwrap_or(&0.0))
            .sum::<f64>()
            > EPS
    };
    if let Some(ray) = model.blocks[block].rays.iter().find(|ray| rises(ray)) {
        return Some(ray.clone());
    }
    let free: Vec<u32> = model.blocks[block]
        .vars
        .iter()
        .copied()
        .filter(|&v| model.ub[v as usize].is_infinite())
        .collect();
    let is_free: HashSet<u32> = free.iter().copied().collect();
    let rows: Vec<Row> = free
        .iter()
        .flat_map(|&v| model.rows_of[v as usize].iter().copied())
        .collect::<BTreeSet<usize>>()
        .into_iter()
        .map(|index| {
            let row = &model.rows[index];
            let terms = row
                .terms
                .iter()
                .copied()
                .filter(|(v, _)| is_free.contains(v))
                .collect();
            Row {
                terms,
                op: row.op,
                rhs: 0.0,
                fact: row.fact,
            }
        })
        .collect();
    let direction: Vec<(u32, f64)> = terms
        .iter()
        .copied()
        .filter(|(v, _)| is_free.contains(v))
        .collect();
    // A unit box keeps the ray LP bounded.
    let lb = vec![0.0; model.lb.len()];
    let ub = vec![1.0; model.ub.len()];
    let rows: Vec<&Row> = rows.iter().collect();
    match solve_lp(&lb, &ub, &free, &rows, &direction, true) {
        Optimum::Value(rise, ray) if rise > EPS => Some(
            free.iter()
                .copied()
                .zip(ray)
                .filter(|&(_, x)| x > 0.0)
                .collect(),
        ),
        _ => None,
    }
}

/// The rows around a set `V` of a block's unknowns, in the three forms [`optimise`] uses.
struct Neighbourhood<'a> {
    /// Rows all of whose unknowns are in `V`.
    inner: Vec<&'a Row>,
    /// Rows reaching outside `V`: their index, and the row on `V` with the outside fixed
    /// at the background's values.
    boundary: Vec<(usize, Row)>,
    /// What the boundary rows still say of `V` whatever the outside does within its
    /// bounds.
    projected: Vec<Row>,
}

impl<'a> Neighbourhood<'a> {
    fn new(model: &'a Presolved, vars: &[u32], inside: &[bool], background: &[f64]) -> Self {
        let is_inside = |v: u32| inside[model.local[v as usize] as usize];
        let mut touching: Vec<usize> = vars
            .iter()
            .flat_map(|&v| model.rows_of[v as usize].iter().copied())
            .collect();
        touching.sort_unstable();
        touching.dedup();
        let mut neighbourhood = Neighbourhood {
            inner: Vec::new(),
            boundary: Vec::new(),
            projected: Vec::new(),
        };
        for index in touching {
            let row = &model.rows[index];
            if row.terms.iter().all(|&(v, _)| is_inside(v)) {
                neighbourhood.inner.push(row);
                continue;
            }
            let (mut rhs, mut out_least, mut out_most) = (row.rhs, 0.0, 0.0);
            let mut terms = Vec::new();
            for &(v, c) in &row.terms {
                if is_inside(v) {
                    terms.push((v, c));
                } else {
                    rhs -= c * background[model.local[v as usize] as usize];
                    let (low, high) = contribution(&model.lb, &model.ub, v, c);
                    out_least += low;
                    out_most += high;
                }
            }
            let fact = row.fact;
            if matches!(row.op, Op::Le | Op::Eq) && out_least.is_finite() {
                let rhs = row.rhs - out_least;
                neighbourhood.projected.push(Row {
                    terms: terms.clone(),
                    op: Op::Le,
                    rhs,
                    fact,
                });
            }
            if matches!(row.op, Op::Ge | Op::Eq) && out_most.is_finite() {
                let rhs = row.rhs - out_most;
                neighbourhood.projected.push(Row {
                    terms: terms.clone(),
                    op: Op::Ge,
                    rhs,
                    fact,
                });
            }
            neighbourhood.boundary.push((
                index,
                Row {
                    terms,
                    op: row.op,
                    rhs,
                    fact,
                },
            ));
        }
        neighbourhood
    }
}

/// Maximises (or minimises) `terms`, all in `block`, over the block: returns the
/// extreme (infinite when unbounded), or `None` once a feasible point passes `enough`
/// (then the caller needs no more). With an `offset`, the caller only needs
/// `offset + extreme` rounded inwards to an integer, and a value that rounds alike is
/// returned. Every feasible point found joins the pool.
///
/// Certificates of an optimum involve few rows, so the LPs start small, around the
/// terms' unknowns `V`, and grow. Two LPs over `V` bracket the optimum: one with the
/// rows inside `V` and what the others say whatever the outside does (a relaxation: at
/// least as good as the optimum), one with every row touching `V` and the outside
/// fixed at a pooled point (a restriction: a feasible point, no better than the
/// optimum). When they meet, that is the optimum. Otherwise `V` takes in the unknowns
/// of the rows holding the restriction back. The whole block is the last resort.
#[allow(
    clippy::too_many_lines,
    reason = "one growing loop, each step commented"
)]
fn optimise(
    model: &mut Presolved,
    block: usize,
    terms: &[(u32, f64)],
    maximise: bool,
    enough: f64,
    offset: Option<f64>,
) -> Option<f64> {
    let infinite = if maximise {
        f64::INFINITY
    } else {
        f64::NEG_INFINITY
    };
    let better = |a: f64, b: f64| if maximise { a >= b - EPS } else { a <= b + EPS };
    let settled = |reached: f64, bound: f64| {
        if better(reached, bound) {
            return Some(bound);
        }
        let round = |x: f64| {
            if maximise {
                (x + EPS).floor()
            } else {
                (x - EPS).ceil()
            }
        };
        offset
            .filter(|offset| round(offset + reached) == round(offset + bound))
            .map(|_| reached)
    };
    let value_at = |point: &[f64]| -> f64 {
        terms
            .iter()
            .map(|&(v, c)| c * point[model.local[v as usize] as usize])
            .sum()
    };
    // The pooled point best for these terms: the restriction starts from there.
    let background = model.blocks[block]
        .pool
        .iter()
        .max_by(|a, b| {
            let (a, b) = (value_at(a), value_at(b));
            if maximise {
                a.total_cmp(&b)
            } else {
                b.total_cmp(&a)
            }
        })
        .expect("the truth is pooled")
        .clone();
    let mut best_bound: f64 = terms
        .iter()
        .map(|&(v, c)| {
            let (low, high) = contribution(&model.lb, &model.ub, v, c);
            if maximise { high } else { low }
        })
        .sum();
    let may_be_unbounded = best_bound.is_infinite();

    // V: the terms' unknowns, their rows' unknowns, and where an LP around them ended.
    let block_vars = model.blocks[block].vars.len();
    let mut inside = vec![false; block_vars];
    let mut vars: Vec<u32> = Vec::new();
    let grow = |local: &[u32], v: u32, vars: &mut Vec<u32>, inside: &mut Vec<bool>| {
        let slot = local[v as usize] as usize;
        if !inside[slot] {
            inside[slot] = true;
            vars.push(v);
        }
    };
    for &(v, _) in terms {
        grow(&model.local, v, &mut vars, &mut inside);
        for &row in &model.rows_of[v as usize] {
            for &(w, _) in &model.rows[row].terms {
                grow(&model.local, w, &mut vars, &mut inside);
            }
        }
        for &w in model
            .reach
            .get(&v)
            .map_or(&[][..], |known| known.as_slice())
        {
            grow(&model.local, w, &mut vars, &mut inside);
        }
    }
    let mut ray_checked = false;
    // Past a third of the block, two LPs around V cost about what the block's one does.
    while vars.len() * 3 < block_vars {
        let around = Neighbourhood::new(model, &vars, &inside, &background);
        let placed = |values: &[f64]| {
            let mut point = background.clone();
            for (&v, &x) in vars.iter().zip(values) {
                point[model.local[v as usize] as usize] = x;
            }
            point
        };
        // The relaxation: if its optimum, placed in the background, breaks no row, it is
        // the block's optimum.
        let mut relaxation: Vec<&Row> = around.inner.clone();
        relaxation.extend(&around.projected);
        let relaxed = solve_lp(&model.lb, &model.ub, &vars, &relaxation, terms, maximise);
        if let Optimum::Value(bound, values) = &relaxed {
            best_bound = if maximise {
                best_bound.min(*bound)
            } else {
                best_bound.max(*bound)
            };
            let point = placed(values);
            let at = |v: u32| point[model.local[v as usize] as usize];
            if around
                .boundary
                .iter()
                .all(|(index, _)| holds(&model.rows[*index], at))
            {
                model.blocks[block].pool.push(point);
                model.remember(terms, &vars);
                return Some(*bound);
            }
        } else if may_be_unbounded && !ray_checked {
            ray_checked = true;
            if let Some(ray) = unbounded(model, block, terms) {
                model.blocks[block].rays.push(ray);
                return Some(infinite);
            }
        }
        // The restriction.
        let mut restriction: Vec<&Row> = around.inner.clone();
        restriction.extend(around.boundary.iter().map(|(_, row)| row));
        let values = match solve_lp(&model.lb, &model.ub, &vars, &restriction, terms, maximise) {
            Optimum::Value(_, values) => values,
            // The restriction's points are the block's: the block is unbounded too.
            Optimum::Unbounded => return Some(infinite),
            Optimum::Infeasible => panic!("the neighbourhood of a feasible point is infeasible"),
        };
        let point = placed(&values);
        let reached = value_at(&point);
        let answer = settled(reached, best_bound);
        if answer.is_some() || better(reached, enough) {
            model.blocks[block].pool.push(point);
            model.remember(terms, &vars);
            return answer;
        }
        // Grow by the rows that hold the restriction back (all boundary rows when the
        // relaxation is unbounded).
        let before = vars.len();
        let mut joining: Vec<u32> = Vec::new();
        for (index, row) in &around.boundary {
            let activity: f64 = row
                .terms
                .iter()
                .map(|&(v, c)| c * point[model.local[v as usize] as usize])
                .sum();
            let tight =
                row.op == Op::Eq || (activity - row.rhs).abs() <= 1e-7 * (1.0 + row.rhs.abs());
            if tight || !matches!(relaxed, Optimum::Value(..)) {
                joining.extend(model.rows[*index].terms.iter().map(|&(v, _)| v));
            }
        }
        drop(around);
        model.blocks[block].pool.push(point);
        for v in joining {
            grow(&model.local, v, &mut vars, &mut inside);
        }
        if vars.len() == before {
            break;
        }
    }
    match model.solve_block(block, terms, maximise) {
        Optimum::Value(value, point) => {
            model.blocks[block].pool.push(point);
            Some(value)
        }
        Optimum::Unbounded => Some(infinite),
        Optimum::Infeasible => panic!("a block the truth satisfies is infeasible"),
    }
}

/// Whether `row` holds where unknown `v` has the value `value(v)`.
fn holds(row: &Row, value: impl Fn(u32) -> f64) -> bool {
    let activity: f64 = row.terms.iter().map(|&(v, c)| c * value(v)).sum();
    let slack = 1e-7 * (1.0 + row.rhs.abs());
    match row.op {
        Op::Le => activity <= row.rhs + slack,
        Op::Ge => activity >= row.rhs - slack,
        Op::Eq => (activity - row.rhs).abs() <= slack,
    }
}

// ---------------------------------------------------------------------------------
// The audit
// ---------------------------------------------------------------------------------

/// Bounds every hidden entry of every small released cell (true contacts or true
/// participants between 1 and `min_cell - 1`) and returns the violations: a range
/// narrower than `min_cell` that is not "exactly zero", and small cells printed.
///
/// Panics when a release cannot be read, when releases contradict each other, or when
/// the truth breaks the model (naming the facts that break).
pub fn audit(
    releases: &[&str],
    truth: &Truth,
    catalogue: &[(&str, &str)],
    min_cell: i64,
) -> Vec<Finding> {
    audit_with(releases, truth, catalogue, min_cell, usize::MAX, &[])
}

/// [`audit`] that stops after `limit` findings: a failing property test needs one, and
/// every violation costs LPs to bound exactly while shrinking calls the audit often.
pub fn audit_limited(
    releases: &[&str],
    truth: &Truth,
    catalogue: &[(&str, &str)],
    min_cell: i64,
    limit: usize,
) -> Vec<Finding> {
    audit_with(releases, truth, catalogue, min_cell, limit, &[])
}

/// [`audit_limited`] without some fact families (named by the `FACTS` constants): for
/// the tests, which check that a finding needs the fact it is said to need.
fn audit_with(
    releases: &[&str],
    truth: &Truth,
    catalogue: &[(&str, &str)],
    min_cell: i64,
    limit: usize,
    off: &[&'static str],
) -> Vec<Finding> {
    let tables: Vec<Table> = releases
        .iter()
        .enumerate()
        .map(|(i, text)| parse_table(text, &format!("release {}", i + 1)))
        .collect();
    let universe = universe(&tables, catalogue);
    let releases = merge(&universe, &tables);
    let model = build(&universe, &releases, off);
    let mut presolved = match presolve(&model) {
        Ok(presolved) => presolved,
        Err(fact) => panic!("the releases contradict the model (fact: {fact})"),
    };
    let truth_point = true_point(&universe, &model, truth);
    // The truth is a point of the releases' model: the pool starts with it. A bound or
    // row it breaks here is a bug of presolve, which must keep every point of the model.
    for (v, &value) in truth_point.iter().enumerate() {
        assert!(
            presolved.lb[v] - EPS <= value && value <= presolved.ub[v] + EPS,
            "presolve lost the true point at unknown {v}"
        );
    }
    for row in &presolved.rows {
        assert!(
            holds(row, |v| truth_point[v as usize]),
            "presolve lost the true point at a row of {:?}",
            row.fact
        );
    }
    for block in &mut presolved.blocks {
        block.pool.push(
            block
                .vars
                .iter()
                .map(|&v| truth_point[v as usize])
                .collect(),
        );
    }

    let (mut findings, targets) = small_cells(&universe, &releases, truth, min_cell);
    // A measure published in one release and hidden in another is found twice.
    let mut seen = HashSet::new();
    findings.retain(|f: &Finding| {
        seen.insert((f.period.clone(), f.site.clone(), f.key.clone(), f.measure))
    });
    if findings.len() >= limit {
        findings.truncate(limit);
        return findings;
    }
    spread_pool(
        &mut presolved,
        targets.iter().map(|(_, _, expr)| expr.as_slice()),
    );
    for (mut finding, name, expr) in targets {
        let (lo, hi) = bound(&mut presolved, &expr, min_cell);
        assert!(
            lo <= finding.truth && finding.truth <= hi,
            "the attacker's bounds [{lo}, {hi}] miss the true {} = {} of {name:?}",
            finding.measure,
            finding.truth
        );
        let key = (
            finding.period.clone(),
            finding.site.clone(),
            finding.key.clone(),
            finding.measure,
        );
        if hi != i64::MAX && hi != 0 && hi - lo + 1 < min_cell && seen.insert(key) {
            (finding.lo, finding.hi) = (lo, hi);
            findings.push(finding);
            if findings.len() >= limit {
                break;
            }
        }
    }
    findings
}

/// Pools, per block, a point where all the targets are as small as they can be together,
/// and one where those with a finite bound are as large: many entries reach their
/// bounds there, which then needs no LP of its own.
fn spread_pool<'a>(model: &mut Presolved, targets: impl Iterator<Item = &'a [(u32, f64)]>) {
    let mut sums: BTreeMap<u32, BTreeMap<u32, f64>> = BTreeMap::new();
    let mut capped: BTreeMap<u32, BTreeMap<u32, f64>> = BTreeMap::new();
    for expr in targets {
        let bounded = expr
            .iter()
            .all(|&(v, _)| model.fixed(v) || model.ub[v as usize].is_finite());
        for &(v, c) in expr.iter().filter(|&&(v, _)| !model.fixed(v)) {
            let block = model.block_of[v as usize];
            *sums.entry(block).or_default().entry(v).or_default() += c;
            if bounded {
                *capped.entry(block).or_default().entry(v).or_default() += c;
            }
        }
    }
    for (maximise, objectives) in [(false, sums), (true, capped)] {
        for (block, objective) in objectives {
            let objective: Vec<(u32, f64)> = objective.into_iter().collect();
            if let Optimum::Value(_, point) =
                model.solve_block(block as usize, &objective, maximise)
            {
                model.blocks[block as usize].pool.push(point);
            }
        }
    }
}

/// The small printed cells (true contacts or participants from 1 to `min_cell - 1`):
/// findings for their contacts and participants published outright, and targets for
/// each of their hidden entries (but those the format alone fixes at zero).
fn small_cells(
    universe: &Universe,
    releases: &Released,
    truth: &Truth,
    min_cell: i64,
) -> (Vec<Finding>, Vec<Target>) {
    let mut findings = Vec::new();
    let mut targets: Vec<Target> = Vec::new();
    for (&(period, site, _), (key, entries, hidden)) in &releases.printed {
        let name = universe.name_of(period, site, *key);
        let true_values = truth
            .get(&name)
            .unwrap_or_else(|| panic!("the truth has no report covering {name:?}"));
        let small = |m: usize| 0 < true_values[m] && true_values[m] < min_cell;
        if !(small(CONTACTS) || small(PARTICIPANTS)) {
            continue;
        }
        let finding = |measure: usize, value: i64| Finding {
            period: universe.periods[period].label.clone(),
            site: if site == universe.all_sites() {
                "ALL".to_owned()
            } else {
                universe.sites[site].clone()
            },
            key: universe.key_name(*key).to_owned(),
            measure: MEASURES[measure],
            lo: value,
            hi: value,
            truth: true_values[measure],
        };
        // A small cell published outright.
        for m in [CONTACTS, PARTICIPANTS] {
            if let Some(value) = entries[m].filter(|&v| 0 < v && v < min_cell) {
                findings.push(finding(m, value));
            }
        }
        for m in (0..16).filter(|&m| hidden[m] && !universe.structural_zero(m, *key)) {
            targets.push((
                finding(m, 0),
                name.clone(),
                universe.cell_expr(m, period, site, *key),
            ));
        }
    }
    (findings, targets)
}

/// An entry to bound: its finding (to fill in), its cell, its expression.
type Target = (Finding, CellName, Vec<(u32, f64)>);

/// A point of the model where every released cell the truth covers has its true
/// values. Panics, naming the facts to blame, when there is none.
fn true_point(universe: &Universe, model: &Model, truth: &Truth) -> Vec<f64> {
    let with_truth = |off: &[&'static str]| {
        let mut check = Model {
            lb: model.lb.clone(),
            ub: model.ub.clone(),
            rows: model
                .rows
                .iter()
                .filter(|r| !off.contains(&r.fact))
                .cloned()
                .collect(),
            off: Vec::new(),
        };
        for period in 0..universe.periods.len() {
            // The truth may name sites the releases do not: leave the stand-in free.
            for site in (0..=universe.all_sites()).filter(|&s| s != universe.unseen()) {
                for key in universe.keys() {
                    if let Some(values) = truth.get(&universe.name_of(period, site, key)) {
                        for (m, value) in values.iter().enumerate() {
                            check.add(
                                TRUTH,
                                universe.cell_expr(m, period, site, key),
                                Op::Eq,
                                *value as f64,
                            );
                        }
                    }
                }
            }
        }
        feasible_point(&check)
    };
    if let Some(point) = with_truth(&[]) {
        return point;
    }
    let culprits: Vec<&str> = FACTS
        .iter()
        .filter(|fact| with_truth(&[fact]).is_some())
        .copied()
        .collect();
    panic!(
        "the true values break the attacker's model; facts whose removal mends it: {culprits:?} \
         (none listed: several facts together)"
    );
}

/// Any point satisfying `model`, or `None`.
fn feasible_point(model: &Model) -> Option<Vec<f64>> {
    let mut presolved = presolve(model).ok()?;
    let mut point: Vec<f64> = presolved.lb.clone();
    for block in 0..presolved.blocks.len() {
        match presolved.solve_block(block, &[], false) {
            Optimum::Value(_, values) => {
                for (&v, value) in presolved.blocks[block].vars.iter().zip(values) {
                    point[v as usize] = value;
                }
            }
            Optimum::Infeasible => return None,
            Optimum::Unbounded => unreachable!("a zero objective is bounded"),
        }
    }
    Some(point)
}

/// The integer range `[lo, hi]` the model allows for `expr` (`hi = i64::MAX` when
/// unbounded). Stops early, without exact bounds, once feasible points already show the
/// range is at least `min_cell` wide: the caller only needs exact bounds of violations.
fn bound(model: &mut Presolved, expr: &[(u32, f64)], min_cell: i64) -> (i64, i64) {
    // Split into a constant and per-block parts: blocks are independent, so the extremes
    // of the sum are the sums of the parts' extremes.
    let mut constant = 0.0;
    let mut parts: BTreeMap<u32, Vec<(u32, f64)>> = BTreeMap::new();
    for &(v, c) in expr {
        if model.fixed(v) {
            constant += c * model.lb[v as usize];
        } else {
            parts
                .entry(model.block_of[v as usize])
                .or_default()
                .push((v, c));
        }
    }
    let mut parts: Vec<Part> = parts
        .into_iter()
        .map(|(block, terms)| {
            let (mut outer_low, mut outer_high) = (0.0, 0.0);
            for &(v, c) in &terms {
                let (low, high) = contribution(&model.lb, &model.ub, v, c);
                outer_low += low;
                outer_high += high;
            }
            let mut part = Part {
                block,
                terms,
                low: 0.0,
                high: 0.0,
                low_exact: false,
                high_exact: false,
                outer_low,
                outer_high,
            };
            part.update(model);
            part
        })
        .collect();
    loop {
        let lo: f64 = constant + parts.iter().map(|p| p.low).sum::<f64>();
        let hi: f64 = constant + parts.iter().map(|p| p.high).sum::<f64>();
        let lo = (lo - EPS).ceil() as i64;
        let hi = if hi.is_finite() {
            (hi + EPS).floor() as i64
        } else {
            i64::MAX
        };
        let wide = hi == i64::MAX || hi - lo + 1 >= min_cell;
        if wide || parts.iter().all(|p| p.low_exact && p.high_exact) {
            return (lo, hi);
        }
        // Maxima first: a large maximum settles most entries with one solve.
        let (index, maximise) = match parts.iter().position(|p| !p.high_exact) {
            Some(index) => (index, true),
            None => (
                parts
                    .iter()
                    .position(|p| !p.low_exact)
                    .expect("some part is not exact"),
                false,
            ),
        };
        // What this part must reach for the whole range to be wide enough.
        let others_low: f64 = parts
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index)
            .map(|(_, p)| p.low)
            .sum();
        let others_high: f64 = parts
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index)
            .map(|(_, p)| p.high)
            .sum();
        let enough = if maximise {
            lo as f64 + (min_cell - 1) as f64 - constant - others_high + 0.5
        } else {
            hi as f64 - (min_cell - 1) as f64 - constant - others_low - 0.5
        };
        let offset = (parts.len() == 1).then_some(constant);
        let part = &mut parts[index];
        let extreme = optimise(
            model,
            part.block as usize,
            &part.terms,
            maximise,
            enough,
            offset,
        );
        part.update(model);
        if let Some(value) = extreme {
            if maximise {
                (part.high, part.high_exact) = (value, true);
            } else {
                (part.low, part.low_exact) = (value, true);
            }
        }
    }
}

/// The share of an expression in one block, and what is known of its range there.
struct Part {
    block: u32,
    terms: Vec<(u32, f64)>,
    /// The least and greatest values seen at feasible points, exact once an LP or the
    /// bounds prove them.
    low: f64,
    high: f64,
    low_exact: bool,
    high_exact: bool,
    /// Bounds from the unknowns' own bounds: no LP optimum lies beyond them.
    outer_low: f64,
    outer_high: f64,
}

impl Part {
    /// Takes the range over the block's feasible points, exact where it meets the bounds.
    fn update(&mut self, model: &Presolved) {
        let (low, high) = pool_range(model, self.block, &self.terms);
        if !self.low_exact {
            self.low = low;
            self.low_exact = low <= self.outer_low + EPS;
        }
        if !self.high_exact {
            self.high = high;
            self.high_exact = high >= self.outer_high - EPS;
        }
    }
}

/// The least and greatest value of `terms` over the feasible points found in `block`.
fn pool_range(model: &Presolved, block: u32, terms: &[(u32, f64)]) -> (f64, f64) {
    let mut low = f64::INFINITY;
    let mut high = f64::NEG_INFINITY;
    for point in &model.blocks[block as usize].pool {
        let value: f64 = terms
            .iter()
            .map(|&(v, c)| c * point[model.local[v as usize] as usize])
            .sum();
        low = low.min(value);
        high = high.max(value);
    }
    (low, high)
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    const HEADER: &str = "period,period_start,period_end,site,item,contacts,participants,\
        new_participants,anonymous_contacts,quantity,reversals,returned,for_others,\
        naloxone_first,naloxone_used,naloxone_lost,naloxone_stolen,naloxone_confiscated,\
        naloxone_expired,naloxone_other,naloxone_unrecorded,level";

    /// A row: period label, first day, last day, site, key, the 16 values.
    type Cell<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, [i64; 16]);

    /// A report of `cells` as kitlog prints it, those named in `hidden` (period, site,
    /// key) as `x`, with a trailing note. `key_column` is `item` or `category`.
    fn report(key_column: &str, cells: &[Cell], hidden: &[(&str, &str, &str)]) -> String {
        let mut text = HEADER.replacen(",item,", &format!(",{key_column},"), 1) + "\n";
        for &(period, start, end, site, key, values) in cells {
            let level = match (site, key) {
                ("ALL", "ALL") => "program-total",
                ("ALL", _) => "item-total",
                (_, "ALL") => "site-total",
                _ => "detail",
            };
            let hide = hidden.contains(&(period, site, key));
            let values: Vec<String> = values
                .iter()
                .map(|v| if hide { "x".to_owned() } else { v.to_string() })
                .collect();
            writeln!(
                text,
                "{period},{start},{end},{site},{key},{},{level}",
                values.join(",")
            )
            .expect("a String takes any text");
        }
        text + "\nnote,\"x = hidden: fewer than 5 contacts or participants, or hidden to protect one\"\n"
    }

    fn has(
        findings: &[Finding],
        period: &str,
        site: &str,
        key: &str,
        measure: &str,
        range: (i64, i64),
    ) -> bool {
        findings.iter().any(|f| {
            (
                f.period.as_str(),
                f.site.as_str(),
                f.key.as_str(),
                f.measure,
                f.lo,
                f.hi,
            ) == (period, site, key, measure, range.0, range.1)
        })
    }

    /// Contacts only, all anonymous, one unit per item: the other measures follow.
    fn anonymous(contacts: i64, quantity: i64) -> [i64; 16] {
        [
            contacts, 0, 0, contacts, quantity, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]
    }

    const APRIL: (&str, &str, &str) = ("2025-04", "2025-04-01", "2025-04-30");
    const NALOXONE_ONLY: [(&str, &str); 1] = [("naloxone-nasal", "naloxone")];
    const SYRINGES: [(&str, &str); 1] = [("syringe", "injection")];

    /// The review's §3.1: April, naloxone-nasal only, sites A to D, `--by site,item`.
    /// `c_participants` is C's true participant count (1 in truth).
    fn naloxone_april(c_participants: i64) -> Vec<Cell<'static>> {
        let sites: [(&str, [i64; 16]); 5] = [
            ("A", [23, 14, 14, 9, 31, 1, 135, 9, 5, 2, 3, 4, 4, 3, 0, 10]),
            ("B", [12, 11, 11, 0, 14, 0, 60, 3, 2, 2, 1, 3, 0, 1, 0, 5]),
            (
                "C",
                [1, c_participants, 1, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0],
            ),
            ("D", [1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
            (
                "ALL",
                [37, 27, 27, 9, 48, 1, 195, 12, 7, 7, 4, 7, 4, 4, 0, 15],
            ),
        ];
        let mut cells = Vec::new();
        for (site, values) in sites {
            for key in ["naloxone-nasal", "ALL"] {
                cells.push((APRIL.0, APRIL.1, APRIL.2, site, key, values));
            }
        }
        cells
    }

    const C_AND_D: [(&str, &str, &str); 4] = [
        ("2025-04", "C", "naloxone-nasal"),
        ("2025-04", "C", "ALL"),
        ("2025-04", "D", "naloxone-nasal"),
        ("2025-04", "D", "ALL"),
    ];

    /// (a) 37 - 23 - 12 = 2 contacts left for two printed rows: each is exactly 1. So are
    /// their participants (sub-additive over sites: 27 - 14 - 11 = 2 left, each at most
    /// 1 coded contact) and new participants.
    #[test]
    fn two_hidden_rows_sharing_a_residual_of_two_are_each_one() {
        let cells = naloxone_april(1);
        let release = Release {
            csv: report("item", &cells, &C_AND_D),
        };
        let truth = Truth::from_reports(&[&report("item", &cells, &[])]);
        let findings = audit(&[&release.csv], &truth, &NALOXONE_ONLY, 5);
        for site in ["C", "D"] {
            for measure in ["contacts", "participants", "new_participants"] {
                assert!(
                    has(
                        &findings,
                        "2025-04",
                        site,
                        "naloxone-nasal",
                        measure,
                        (1, 1)
                    ),
                    "{site} {measure}: {findings:#?}"
                );
            }
        }
        // "used" leaves 7 - 2 - 2 = 3 kits for the two: C's is 1 or 2 (kits >= contacts).
        assert!(
            has(
                &findings,
                "2025-04",
                "C",
                "naloxone-nasal",
                "naloxone_used",
                (1, 2)
            ),
            "{findings:#?}"
        );
        assert!(findings.iter().all(|f| f.truth >= f.lo && f.truth <= f.hi));
        // The rows' existence is what pins the contacts: without it, [0, 2].
        let without = audit_with(
            &[&release.csv],
            &truth,
            &NALOXONE_ONLY,
            5,
            usize::MAX,
            &[EXISTS],
        );
        assert!(
            has(
                &without,
                "2025-04",
                "C",
                "naloxone-nasal",
                "contacts",
                (0, 2)
            ),
            "{without:#?}"
        );
        // And participants need their sub-additivity over sites.
        let without = audit_with(
            &[&release.csv],
            &truth,
            &NALOXONE_ONLY,
            5,
            usize::MAX,
            &[PARTICIPANT_SITES],
        );
        assert!(
            has(
                &without,
                "2025-04",
                "C",
                "naloxone-nasal",
                "participants",
                (0, 1)
            ),
            "{without:#?}"
        );
    }

    /// One quarter and its three months, `--by site`, all anonymous, one item.
    fn quarter() -> Vec<Cell<'static>> {
        let periods = [
            ("2025-04", "2025-04-01", "2025-04-30", [20, 6, 7]),
            ("2025-05", "2025-05-01", "2025-05-31", [22, 8, 6]),
            ("2025-06", "2025-06-01", "2025-06-30", [25, 3, 4]),
            ("FY2025-26 Q1", "2025-04-01", "2025-06-30", [67, 17, 17]),
        ];
        let mut cells = Vec::new();
        for (label, start, end, contacts) in periods {
            let all: i64 = contacts.iter().sum();
            for (site, c) in ["A", "B", "C", "ALL"]
                .into_iter()
                .zip(contacts.into_iter().chain([all]))
            {
                cells.push((label, start, end, site, "ALL", anonymous(c, c)));
            }
        }
        cells
    }

    /// (b) The README's own example: the quarter minus two published months gives the
    /// third.
    #[test]
    fn a_quarter_minus_two_published_months_reveals_the_third() {
        let cells = quarter();
        let hidden = [("2025-06", "B", "ALL"), ("2025-06", "C", "ALL")];
        let (months, quarters): (Vec<Cell>, Vec<Cell>) =
            cells.iter().partition(|c| !c.0.contains('Q'));
        let (months, quarters) = (
            report("item", &months, &hidden),
            report("item", &quarters, &[]),
        );
        let truth = Truth::from_reports(&[&report("item", &cells, &[])]);

        let findings = audit(&[&months, &quarters], &truth, &SYRINGES, 5);
        assert!(
            has(&findings, "2025-06", "B", "ALL", "contacts", (3, 3)),
            "{findings:#?}"
        );
        assert!(
            has(&findings, "2025-06", "C", "ALL", "contacts", (4, 4)),
            "{findings:#?}"
        );
        assert!(
            findings.iter().all(|f| f.period == "2025-06"),
            "{findings:#?}"
        );
        // The months alone leave 7 for two rows: [1, 6] each, protected.
        let alone = audit(&[&months], &truth, &SYRINGES, 5);
        assert!(alone.iter().all(|f| f.measure != "contacts"), "{alone:#?}");
    }

    /// Over ALL/ALL, a quarter's new participants are its months' added up (each is new
    /// in the month of their first contact of the year); distinct participants are not.
    #[test]
    fn new_participants_add_up_over_the_months_of_a_quarter() {
        let periods = [
            ("2025-04", "2025-04-01", "2025-04-30", 14, 6, 4),
            ("2025-05", "2025-05-01", "2025-05-31", 13, 7, 4),
            ("2025-06", "2025-06-01", "2025-06-30", 3, 2, 2),
            ("FY2025-26 Q1", "2025-04-01", "2025-06-30", 30, 12, 10),
        ];
        let cells: Vec<Cell> = periods
            .iter()
            .map(|&(label, start, end, c, p, n)| {
                (
                    label,
                    start,
                    end,
                    "ALL",
                    "ALL",
                    [c, p, n, 0, c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                )
            })
            .collect();
        let release = report("item", &cells, &[("2025-06", "ALL", "ALL")]);
        let truth = Truth::from_reports(&[&report("item", &cells, &[])]);
        let findings = audit(&[&release], &truth, &SYRINGES, 5);
        assert!(
            has(&findings, "2025-06", "ALL", "ALL", "contacts", (3, 3)),
            "{findings:#?}"
        );
        assert!(
            has(
                &findings,
                "2025-06",
                "ALL",
                "ALL",
                "new_participants",
                (2, 2)
            ),
            "{findings:#?}"
        );
        // Participants: at least the new ones, at most the coded contacts.
        assert!(
            has(&findings, "2025-06", "ALL", "ALL", "participants", (2, 3)),
            "{findings:#?}"
        );
        let without = audit_with(&[&release], &truth, &SYRINGES, 5, usize::MAX, &[NEW_TIME]);
        assert!(
            !has(
                &without,
                "2025-06",
                "ALL",
                "ALL",
                "new_participants",
                (2, 2)
            ),
            "{without:#?}"
        );
    }

    /// (c) Two hidden rows sharing 12 and nothing else: [1, 11] each, wide enough for 5,
    /// not for 13.
    #[test]
    fn two_hidden_rows_sharing_twelve_are_safe() {
        let cells: Vec<Cell> = [("A", 20), ("B", 3), ("C", 9), ("ALL", 32)]
            .into_iter()
            .map(|(site, c)| (APRIL.0, APRIL.1, APRIL.2, site, "ALL", anonymous(c, c)))
            .collect();
        let release = report(
            "item",
            &cells,
            &[("2025-04", "B", "ALL"), ("2025-04", "C", "ALL")],
        );
        let truth = Truth::from_reports(&[&report("item", &cells, &[])]);
        assert_eq!(audit(&[&release], &truth, &SYRINGES, 5), vec![]);
        let strict = audit(&[&release], &truth, &SYRINGES, 13);
        assert!(
            has(&strict, "2025-04", "B", "ALL", "contacts", (1, 11)),
            "{strict:#?}"
        );
    }

    /// (d) A truth with 2 participants in a cell of 1 contact breaks "participants <=
    /// contacts - anonymous": the attacker refuses to judge with a model the data break,
    /// and names the fact.
    #[test]
    #[should_panic(expected = "participants <= contacts - anonymous")]
    fn a_truth_the_model_forbids_is_refused() {
        let release = report("item", &naloxone_april(1), &C_AND_D);
        let truth = Truth::from_reports(&[&report("item", &naloxone_april(2), &[])]);
        audit(&[&release], &truth, &NALOXONE_ONLY, 5);
    }

    /// The review's §3.2: `--by site,item` and `--by site,category` of one week. Smoking
    /// at harbour and north is 81 - 47 - 32 = 2, one each; harbour's only smoking item is
    /// bubble-pipe, north's stem-pipe.
    #[test]
    fn two_breakdowns_of_one_week_pin_an_item_through_its_category() {
        let week = ("2024-W04", "2024-01-22", "2024-01-28");
        let rows: [(&str, &str, i64, i64); 18] = [
            ("downtown", "bubble-pipe", 21, 21),
            ("downtown", "stem-pipe", 30, 30),
            ("downtown", "smoking", 47, 51),
            ("downtown", "ALL", 47, 51),
            ("east", "bubble-pipe", 17, 17),
            ("east", "stem-pipe", 21, 21),
            ("east", "smoking", 32, 38),
            ("east", "ALL", 32, 38),
            ("harbour", "bubble-pipe", 1, 1),
            ("harbour", "smoking", 1, 1),
            ("harbour", "ALL", 1, 1),
            ("north", "stem-pipe", 1, 1),
            ("north", "smoking", 1, 1),
            ("north", "ALL", 1, 1),
            ("ALL", "bubble-pipe", 39, 39),
            ("ALL", "stem-pipe", 52, 52),
            ("ALL", "smoking", 81, 91),
            ("ALL", "ALL", 81, 91),
        ];
        let cells = |keep: fn(&str) -> bool| -> Vec<Cell> {
            rows.iter()
                .filter(|row| keep(row.1))
                .map(|&(site, key, c, q)| (week.0, week.1, week.2, site, key, anonymous(c, q)))
                .collect()
        };
        let (items, categories) = (
            cells(|key| key != "smoking"),
            cells(|key| !key.contains('-')),
        );
        let mut hidden: Vec<(&str, &str, &str)> = ["east", "harbour", "north"]
            .into_iter()
            .flat_map(|site| [(week.0, site, "smoking"), (week.0, site, "ALL")])
            .collect();
        hidden.extend(["east", "harbour"].map(|site| (week.0, site, "bubble-pipe")));
        hidden.extend(["east", "north"].map(|site| (week.0, site, "stem-pipe")));
        hidden.retain(|&(_, site, key)| (site, key) != ("east", "smoking"));
        let by_item = report("item", &items, &hidden);
        let by_category = report("category", &categories, &hidden);
        let truth = Truth::from_reports(&[
            &report("item", &items, &[]),
            &report("category", &categories, &[]),
        ]);
        let catalogue = [("bubble-pipe", "smoking"), ("stem-pipe", "smoking")];
        let one = |findings: &[Finding], site: &str, key: &str| {
            has(findings, week.0, site, key, "contacts", (1, 1))
        };

        let findings = audit(&[&by_item, &by_category], &truth, &catalogue, 5);
        assert!(one(&findings, "harbour", "bubble-pipe"), "{findings:#?}");
        assert!(one(&findings, "north", "stem-pipe"), "{findings:#?}");
        // The items alone leave harbour's bubble-pipe between 1 and 17.
        let alone = audit(&[&by_item], &truth, &catalogue, 5);
        assert!(!one(&alone, "harbour", "bubble-pipe"), "{alone:#?}");
        // It takes "item <= category" (or, through kits, "quantity >= contacts").
        let off = [ITEM_CATEGORY_ALL, QUANTITY_GE_CONTACTS];
        let both = [by_item.as_str(), by_category.as_str()];
        let without = audit_with(&both, &truth, &catalogue, 5, usize::MAX, &off);
        assert!(!one(&without, "harbour", "bubble-pipe"), "{without:#?}");
    }

    /// A small cell published outright is a finding, reported once.
    #[test]
    fn a_small_row_published_is_a_finding() {
        let cells = naloxone_april(1);
        let release = report("item", &cells, &[]);
        let truth = Truth::from_reports(&[&report("item", &cells, &[])]);
        let findings = audit(&[&release, &release], &truth, &NALOXONE_ONLY, 5);
        assert!(
            has(
                &findings,
                "2025-04",
                "D",
                "naloxone-nasal",
                "contacts",
                (1, 1)
            ),
            "{findings:#?}"
        );
        assert!(
            has(&findings, "2025-04", "D", "ALL", "participants", (1, 1)),
            "{findings:#?}"
        );
        assert_eq!(
            findings.len(),
            8,
            "C and D, item and ALL, contacts and participants: {findings:#?}"
        );
        assert_eq!(
            audit(&[&release], &truth, &NALOXONE_ONLY, 1),
            vec![],
            "nothing is small"
        );
    }

    /// A failing property test needs one finding, not all of them.
    #[test]
    fn the_audit_can_stop_at_the_first_finding() {
        let cells = naloxone_april(1);
        let release = report("item", &cells, &C_AND_D);
        let truth = Truth::from_reports(&[&report("item", &cells, &[])]);
        assert_eq!(
            audit_limited(&[&release], &truth, &NALOXONE_ONLY, 5, 1).len(),
            1
        );
        assert!(audit(&[&release], &truth, &NALOXONE_ONLY, 5).len() > 1);
    }

    /// Dates, not labels, are periods; atoms cut weeks at month ends.
    #[test]
    fn days_and_atoms() {
        assert_eq!(day_number("1970-01-01", "t"), 0);
        assert_eq!(
            day_number("2024-03-01", "t") - day_number("2024-02-28", "t"),
            2
        );
        assert_eq!(kind_of("2026-W47"), Kind::Week);
        assert_eq!(kind_of("FY2026-27 Q3"), Kind::Quarter);
        assert_eq!(kind_of("FY2026 Q1"), Kind::Quarter);
        assert_eq!(kind_of("FY2026-27"), Kind::FiscalYear);
        assert_eq!(kind_of("2026-11"), Kind::Month);
        let rows = |label: &str, start: &str, end: &str| {
            format!(
                "{HEADER}\n{label},{start},{end},ALL,ALL,5,0,0,5,5,0,0,0,0,0,0,0,0,0,0,0,program-total\n"
            )
        };
        let tables = [
            parse_table(&rows("2025-09", "2025-09-01", "2025-09-30"), "t"),
            parse_table(&rows("2025-W40", "2025-09-29", "2025-10-05"), "t"),
        ];
        let universe = universe(&tables, &SYRINGES);
        let day = |d: &str| day_number(d, "t");
        assert_eq!(
            universe.atoms,
            vec![
                (day("2025-09-01"), day("2025-09-28")),
                (day("2025-09-29"), day("2025-09-30")),
                (day("2025-10-01"), day("2025-10-05")),
            ]
        );
    }
}
