//! Funder reports: live contacts in, one row per period and cell out, with small
//! cells hidden behind [`SUPPRESSED`].
//!
//! Pure: the store streams [`ReportContact`]s in; rows come out for the CSV writer
//! or the terminal summary. Totals (`ALL`) are computed from the contacts, never by
//! adding published cells, because contacts and participants do not add up over
//! items (one contact takes several items) and participants add up over nothing.
//! Which cells to hide is decided per period by [`crate::suppression`], from the
//! additive relations a reader of the table could use.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::{Serialize, Serializer};

use crate::catalogue::{Catalogue, Category};
use crate::code::ParticipantCode;
use crate::contact::NaloxoneReason;
use crate::fiscal::{FiscalCalendar, Period, PeriodKind};
use crate::suppression::{self, CellCounts, Hidden, Relation};

/// What a hidden value is written as: not a number, so no spreadsheet sums it.
pub const SUPPRESSED: &str = "x";

/// The label of a total over a dimension.
pub const ALL: &str = "ALL";

/// One live contact, as the store hands it to the report.
#[derive(Debug, Clone, Default)]
pub struct ReportContact {
    /// Day of the contact.
    pub day: NaiveDate,
    /// Fiscal year whose key made the code: part of the participant's identity.
    pub fiscal_year: i32,
    /// Site row id.
    pub site_id: i64,
    /// `None` when anonymous.
    pub code: Option<ParticipantCode>,
    /// `(item row id, quantity)`.
    pub items: Vec<(i64, u32)>,
    /// Reversals reported.
    pub reversals: u32,
    /// Secondary distribution.
    pub for_others: u32,
    /// Used syringes returned.
    pub returned: u32,
    /// Why naloxone was given, if recorded.
    pub naloxone_reason: Option<NaloxoneReason>,
}

/// A participant within a fiscal year; codes of different years never match.
pub type Participant = (i32, ParticipantCode);

/// The dimensions a report breaks down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    /// One row per site.
    pub site: bool,
    /// One row per item, per category, or neither.
    pub item: ItemLevel,
}

/// How the `item` column is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemLevel {
    /// Only `ALL`.
    None,
    /// Catalogue items.
    Item,
    /// Item categories.
    Category,
}

impl Dimensions {
    /// Every breakdown `--by` accepts; `close-year` freezes each of them.
    pub const ALL: [Dimensions; 5] = [
        Dimensions {
            site: true,
            item: ItemLevel::None,
        },
        Dimensions {
            site: false,
            item: ItemLevel::Item,
        },
        Dimensions {
            site: false,
            item: ItemLevel::Category,
        },
        Dimensions {
            site: true,
            item: ItemLevel::Item,
        },
        Dimensions {
            site: true,
            item: ItemLevel::Category,
        },
    ];

    /// The canonical `--by` text, e.g. `site,item`; the key of frozen cells.
    #[must_use]
    pub fn key(self) -> &'static str {
        match (self.site, self.item) {
            (true, ItemLevel::None) => "site",
            (false, ItemLevel::Item) => "item",
            (false, ItemLevel::Category) => "category",
            (true, ItemLevel::Item) => "site,item",
            (true, ItemLevel::Category) => "site,category",
            (false, ItemLevel::None) => "",
        }
    }

    /// Reads `--by`: a comma list of `site`, `item`, `category` (not both of the last two).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let mut dimensions = Dimensions {
            site: false,
            item: ItemLevel::None,
        };
        for word in text.split(',').map(str::trim) {
            match word {
                "site" if !dimensions.site => dimensions.site = true,
                "item" | "category" if dimensions.item == ItemLevel::None => {
                    dimensions.item = if word == "item" {
                        ItemLevel::Item
                    } else {
                        ItemLevel::Category
                    };
                }
                _ => return None,
            }
        }
        Some(dimensions)
    }
}

/// What to report.
#[derive(Debug, Clone)]
pub struct ReportQuery {
    /// Period kind.
    pub kind: PeriodKind,
    /// Breakdown.
    pub dimensions: Dimensions,
    /// Smallest count published; 1 publishes everything.
    pub min_cell: u32,
    /// The program's calendar.
    pub calendar: FiscalCalendar,
}

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
    contacts: u64,
    anonymous: u64,
    quantity: u64,
    reversals: u64,
    returned: u64,
    for_others: u64,
    /// Naloxone kits per reason in [`NaloxoneReason::ALL`] order, then unrecorded.
    naloxone: [u64; 8],
    /// Participants of the open period, by number.
    participants: IdSet,
    new_participants: IdSet,
    /// Participants counted, no longer named: those of a period the day-ordered
    /// contacts have left (see [`Accumulator::settle`]) and those of closed years, whose
    /// codes are gone. Codes of different fiscal years never match, and contacts never
    /// come back to a period they left, so adding these counts is exact.
    counted_participants: u64,
    counted_new_participants: u64,
}

impl Accumulator {
    fn measures(&self) -> Measures {
        Measures {
            contacts: self.contacts,
            participants: self.participants(),
            new_participants: self.new_participants.len() + self.counted_new_participants,
            anonymous_contacts: self.anonymous,
            quantity: self.quantity,
            reversals: self.reversals,
            returned: self.returned,
            for_others: self.for_others,
            naloxone: self.naloxone,
        }
    }

    fn participants(&self) -> u64 {
        self.participants.len() + self.counted_participants
    }

    /// Counts the participant sets and frees them, once no contact of the period can
    /// come: a left period costs a few numbers, not a bitmap per cell.
    fn settle(&mut self) {
        self.counted_participants += self.participants.len();
        self.counted_new_participants += self.new_participants.len();
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
        self.contacts += other.contacts;
        self.anonymous += other.anonymous;
        self.quantity += other.quantity;
        self.reversals += other.reversals;
        self.returned += other.returned;
        self.for_others += other.for_others;
        for (total, value) in self.naloxone.iter_mut().zip(other.naloxone) {
            *total += value;
        }
        self.counted_participants += other.counted_participants;
        self.counted_new_participants += other.counted_new_participants;
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
    fiscal_year: Option<i32>,
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

/// One cube cell of a closed year, as `close-year` kept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedCell {
    /// The kind of period.
    pub kind: PeriodKind,
    /// The period (the whole period, even when the year covers part of it).
    pub period: Period,
    /// Site name or `ALL`.
    pub site: String,
    /// Item, category or all.
    pub item: ItemKey,
    /// The unsuppressed measures of the year's part of the cell.
    pub measures: Measures,
}

/// The measures of one published row; `None` where suppressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measures {
    /// Contacts in the cell.
    pub contacts: u64,
    /// Distinct codes.
    pub participants: u64,
    /// Codes whose first contact in their fiscal year is in this period.
    pub new_participants: u64,
    /// Contacts without a code.
    pub anonymous_contacts: u64,
    /// Items handed out.
    pub quantity: u64,
    /// Reversals reported.
    pub reversals: u64,
    /// Used syringes returned.
    pub returned: u64,
    /// People picked up for.
    pub for_others: u64,
    /// Naloxone kits by reason, [`NaloxoneReason::ALL`] order, then unrecorded.
    pub naloxone: [u64; 8],
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// The period.
    pub period: Period,
    /// Site name or `ALL`.
    pub site: String,
    /// Item, category, or `ALL`.
    pub item: String,
    /// The numbers, or `None` when the cell is hidden.
    pub measures: Option<Measures>,
    /// Why hidden, or published.
    pub hidden: Hidden,
}

/// The label columns that start every report row, in order.
pub const LABEL_COLUMNS: [&str; 5] = ["period", "period_start", "period_end", "site", "item"];

/// Every measure column after the labels, in order.
pub const MEASURE_COLUMNS: [&str; 16] = [
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

impl Measures {
    /// The values in [`MEASURE_COLUMNS`] order.
    #[must_use]
    pub fn values(&self) -> [u64; 16] {
        let mut out = [0; 16];
        out[..8].copy_from_slice(&[
            self.contacts,
            self.participants,
            self.new_participants,
            self.anonymous_contacts,
            self.quantity,
            self.reversals,
            self.returned,
            self.for_others,
        ]);
        out[8..].copy_from_slice(&self.naloxone);
        out
    }
}

/// Builds the report from live contacts in any order, counting every one (tests and
/// small tools; the store streams into [`ReportBuilder`] instead).
pub fn build(
    query: &ReportQuery,
    catalogue: &Catalogue,
    contacts: impl IntoIterator<Item = ReportContact>,
) -> Vec<ReportRow> {
    let mut contacts: Vec<ReportContact> = contacts.into_iter().collect();
    contacts.sort_by_key(|contact| contact.day);
    let mut builder = ReportBuilder::new(query, catalogue);
    for contact in &contacts {
        builder.publish_before(contact.day);
        builder.add(contact);
    }
    builder.finish()
}

/// The item axis of a cube: one item, one category, or all of them. Items sort
/// before categories and both before `All`, so totals come last in their group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKey {
    /// A catalogue item.
    Item(String),
    /// An item category.
    Category(String),
    /// Every item.
    All,
}

impl ItemKey {
    /// What the `item` column shows.
    #[must_use]
    pub fn label(&self) -> &str {
        match self {
            ItemKey::Item(name) | ItemKey::Category(name) => name,
            ItemKey::All => ALL,
        }
    }

    /// The stored kind of key: `item`, `category` or `all`.
    #[must_use]
    pub fn level(&self) -> &'static str {
        match self {
            ItemKey::Item(_) => "item",
            ItemKey::Category(_) => "category",
            ItemKey::All => "all",
        }
    }

    /// Reads a stored key back.
    #[must_use]
    pub fn from_stored(level: &str, label: &str) -> Option<Self> {
        match level {
            "item" => Some(ItemKey::Item(label.to_owned())),
            "category" => Some(ItemKey::Category(label.to_owned())),
            "all" => Some(ItemKey::All),
            _ => None,
        }
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
/// table asked for: every site and every item *and* category. Suppression is decided
/// once on that cube and every `--by` prints a slice of the same pattern, so reports
/// of one period kind cannot be laid side by side to recover a hidden cell (a
/// category minus its other items, a site's total from a by-site report). Periods
/// of different kinds (a quarter and its months) are not linked: see the README.
#[derive(Debug)]
pub struct ReportBuilder<'a> {
    query: &'a ReportQuery,
    layout: CubeLayout,
    /// Item name → category, for the relations between items and their category.
    categories: HashMap<String, Category>,
    participants: ParticipantNumbers,
    /// The day of the last contact added: the stream must not go back.
    last_day: NaiveDate,
    open: Option<OpenPeriod>,
    /// Cells not in the open period: frozen cells of closed years, and periods
    /// closed but not yet published.
    pending: BTreeMap<CellKey, Accumulator>,
    /// `(column, quantity, naloxone kits)` of the contact being added; kept to reuse.
    columns: Vec<(usize, u64, u64)>,
    /// Rows of periods already published, in order.
    rows: Vec<ReportRow>,
}

impl<'a> ReportBuilder<'a> {
    /// A builder for `query`. "New" means a first contact in the participant's fiscal
    /// year, so a report that starts after its fiscal year does must first
    /// [`introduce`](Self::introduce) the participants of that year's earlier days.
    #[must_use]
    pub fn new(query: &'a ReportQuery, catalogue: &'a Catalogue) -> Self {
        ReportBuilder {
            query,
            layout: CubeLayout::new(catalogue),
            categories: catalogue
                .items
                .iter()
                .map(|i| (i.name.clone(), i.category))
                .collect(),
            participants: ParticipantNumbers::default(),
            last_day: NaiveDate::MIN,
            open: None,
            pending: BTreeMap::new(),
            columns: Vec::new(),
            rows: Vec::new(),
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
    pub fn add(&mut self, contact: &ReportContact) {
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
        for &(item, quantity) in &contact.items {
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
        let reason = contact
            .naloxone_reason
            .and_then(|r| NaloxoneReason::ALL.iter().position(|x| *x == r))
            .unwrap_or(7);

        let width = layout.items.len();
        for row in [layout.site_row(contact.site_id), layout.all_sites_row()] {
            for &(column, quantity, naloxone) in columns.iter() {
                let cell = &mut open.cells[row * width + column];
                cell.contacts += 1;
                cell.quantity += quantity;
                cell.reversals += u64::from(contact.reversals);
                cell.returned += u64::from(contact.returned);
                cell.for_others += u64::from(contact.for_others);
                cell.naloxone[reason] += naloxone;
                match participant {
                    Some((number, is_new)) => {
                        if cell.participants.insert(number) && is_new {
                            cell.new_participants.insert(number);
                        }
                    }
                    None => cell.anonymous += 1,
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
            period: self.query.calendar.period_of(self.query.kind, day),
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
            if cell.contacts == 0 {
                continue;
            }
            cell.settle();
            let key = (
                self.query.kind,
                open.period.clone(),
                self.layout.sites[index / width].clone(),
                self.layout.items[index % width].clone(),
            );
            self.pending.entry(key).or_default().absorb(&cell);
        }
    }

    /// Adds a frozen cell of a closed year to the same cell of the live data.
    pub fn add_closed(&mut self, cell: &ClosedCell) {
        if cell.kind != self.query.kind {
            return;
        }
        let site = if cell.site == ALL {
            Level::All
        } else {
            Level::Named(cell.site.clone())
        };
        let m = &cell.measures;
        let acc = self
            .pending
            .entry((cell.kind, cell.period.clone(), site, cell.item.clone()))
            .or_default();
        acc.absorb(&Accumulator {
            contacts: m.contacts,
            anonymous: m.anonymous_contacts,
            quantity: m.quantity,
            reversals: m.reversals,
            returned: m.returned,
            for_others: m.for_others,
            naloxone: m.naloxone,
            counted_participants: m.participants,
            counted_new_participants: m.new_participants,
            ..Accumulator::default()
        });
    }

    /// Every cell counted, unsuppressed: what `close-year` freezes.
    #[must_use]
    pub fn into_cells(mut self) -> Vec<ClosedCell> {
        self.close_open_period();
        self.pending
            .into_iter()
            .map(|((kind, period, site, item), acc)| ClosedCell {
                kind,
                period,
                site: site.label().to_owned(),
                item,
                measures: acc.measures(),
            })
            .collect()
    }

    /// Suppresses each cube and returns the rows the query asked for, in order.
    #[must_use]
    pub fn finish(mut self) -> Vec<ReportRow> {
        self.close_open_period();
        while !self.pending.is_empty() {
            self.publish_first_period();
        }
        self.rows
    }

    /// Publishes every period that ends before `day`, so its participant sets are
    /// freed: call it before adding a contact of that day to keep rows and memory at
    /// one period's worth.
    pub fn publish_before(&mut self, day: NaiveDate) {
        if self.open.as_ref().is_some_and(|open| open.period.end < day) {
            self.close_open_period();
        }
        while self
            .pending
            .keys()
            .next()
            .is_some_and(|key| key.1.end < day)
        {
            self.publish_first_period();
        }
    }

    /// Suppresses the earliest pending period's cube (every site, item and category
    /// of it) and keeps the rows the query asked for.
    fn publish_first_period(&mut self) {
        let Some(first) = self.pending.keys().next().map(|key| key.1.clone()) else {
            return;
        };
        let mut cells = Vec::new();
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().1 != first {
                break;
            }
            cells.push(entry.remove_entry());
        }
        let hidden = suppress_cube(&cells, &self.categories, self.query.min_cell);
        for (((kind, period, site, item), acc), hidden) in cells.into_iter().zip(hidden) {
            if kind != self.query.kind || !shown(self.query.dimensions, &site, &item) {
                continue;
            }
            self.rows.push(ReportRow {
                period,
                site: site.label().to_owned(),
                item: item.label().to_owned(),
                measures: (hidden == Hidden::Published).then(|| acc.measures()),
                hidden,
            });
        }
    }
}
/// Whether a cube cell is a row of the `--by` table.
fn shown(dimensions: Dimensions, site: &Level, item: &ItemKey) -> bool {
    let site_ok = dimensions.site || *site == Level::All;
    let item_ok = matches!(
        (dimensions.item, item),
        (_, ItemKey::All)
            | (ItemLevel::Item, ItemKey::Item(_))
            | (ItemLevel::Category, ItemKey::Category(_))
    );
    site_ok && item_ok
}

/// Primary and complementary suppression of one cube, then a fail-closed audit:
/// should a hidden cell ever stay recoverable, the whole cube is hidden.
fn suppress_cube(
    cells: &[(CellKey, Accumulator)],
    categories: &HashMap<String, Category>,
    min_cell: u32,
) -> Vec<Hidden> {
    let counts: Vec<CellCounts> = cells
        .iter()
        .map(|(_, cell)| CellCounts {
            contacts: cell.contacts,
            participants: cell.participants(),
        })
        .collect();
    let keys: Vec<&CellKey> = cells.iter().map(|(key, _)| key).collect();
    let systems = cube_relations(&keys, categories);
    let mut hidden = suppression::suppress(&counts, &systems, u64::from(min_cell));
    let mask: Vec<bool> = hidden.iter().map(|h| *h != Hidden::Published).collect();
    if suppression::find_disclosed(&mask, &systems).is_err() {
        for h in hidden.iter_mut().filter(|h| **h == Hidden::Published) {
            *h = Hidden::Complementary;
        }
    }
    hidden
}

/// The measures that share one set of relations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// Quantities: add up over sites, items and categories.
    Quantity,
    /// Naloxone kits by reason: the same, with every non-naloxone cell a known zero.
    Naloxone,
    /// Contacts, anonymous contacts, reversals, returned, for-others: over sites, not
    /// over items (one contact takes several items).
    Contacts,
}

/// Every sum a reader of the cube's tables can form, as relations among its cells.
///
/// Within a period: items add up to their category and to `ALL`, sites add up to
/// `ALL`. Each family of measures gets the relations that hold for it; a relation of one
/// cell records a zero the reader can see (no naloxone rows at a site), which is
/// only a zero for that family, hence one system per family rather than one for all.
/// Participants add up over nothing, so they get no relation.
fn cube_relations(keys: &[&CellKey], categories: &HashMap<String, Category>) -> Vec<Vec<Relation>> {
    let naloxone = Category::Naloxone.as_str();
    let category_of = |name: &str| categories.get(name).map_or("other", |c| c.as_str());
    let system = |family: Family| {
        let mut groups: BTreeMap<String, Vec<(usize, i64)>> = BTreeMap::new();
        let mut add = |group: String, cell: usize, coefficient: i64| {
            groups.entry(group).or_default().push((cell, coefficient));
        };
        for (cell, (kind, period, site, item)) in keys.iter().enumerate() {
            let keep = match item {
                ItemKey::All => true,
                ItemKey::Item(name) => category_of(name) == naloxone,
                ItemKey::Category(name) => name == naloxone,
            };
            if family == Family::Naloxone && !keep {
                continue;
            }
            let place = format!("{}|{}|{}", kind.as_str(), period.start, site.label());
            // Contacts and the other per-contact counts do not add up over items.
            let over_items = family != Family::Contacts;
            match item {
                _ if !over_items => {}
                ItemKey::Item(name) => {
                    add(format!("items|{place}"), cell, 1);
                    add(format!("in {}|{place}", category_of(name)), cell, 1);
                }
                ItemKey::Category(name) => {
                    add(format!("categories|{place}"), cell, 1);
                    add(format!("in {name}|{place}"), cell, -1);
                }
                ItemKey::All => {
                    add(format!("items|{place}"), cell, -1);
                    add(format!("categories|{place}"), cell, -1);
                }
            }
            let item_id = format!("{}:{}", item.level(), item.label());
            let column = format!("{}|{}|{item_id}", kind.as_str(), period.start);
            add(
                format!("sites|{column}"),
                cell,
                if *site == Level::All { -1 } else { 1 },
            );
        }
        // A group of one cell is kept: it says the reader knows that cell is zero for
        // this system's measures (a site with no naloxone rows handed out no naloxone),
        // knowledge the auditor must use when it looks at the cells around it.
        groups.into_values().map(Relation).collect::<Vec<_>>()
    };
    vec![
        system(Family::Quantity),
        system(Family::Naloxone),
        system(Family::Contacts),
    ]
}

/// One CSV row as the report file has it.
#[derive(Debug, Serialize)]
pub struct CsvRow<'a> {
    period: &'a str,
    period_start: String,
    period_end: String,
    site: &'a str,
    item: &'a str,
    contacts: Value,
    participants: Value,
    new_participants: Value,
    anonymous_contacts: Value,
    quantity: Value,
    reversals: Value,
    returned: Value,
    for_others: Value,
    naloxone_first: Value,
    naloxone_used: Value,
    naloxone_lost: Value,
    naloxone_stolen: Value,
    naloxone_confiscated: Value,
    naloxone_expired: Value,
    naloxone_other: Value,
    naloxone_unrecorded: Value,
}

/// A published number or the suppression marker.
#[derive(Debug, Clone, Copy)]
struct Value(Option<u64>);

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(number) => serializer.serialize_u64(number),
            None => serializer.serialize_str(SUPPRESSED),
        }
    }
}

impl<'a> From<&'a ReportRow> for CsvRow<'a> {
    fn from(row: &'a ReportRow) -> Self {
        let v = |i: usize| Value(row.measures.as_ref().map(|m| m.values()[i]));
        CsvRow {
            period: &row.period.label,
            period_start: row.period.start.to_string(),
            period_end: row.period.end.to_string(),
            site: &row.site,
            item: &row.item,
            contacts: v(0),
            participants: v(1),
            new_participants: v(2),
            anonymous_contacts: v(3),
            quantity: v(4),
            reversals: v(5),
            returned: v(6),
            for_others: v(7),
            naloxone_first: v(8),
            naloxone_used: v(9),
            naloxone_lost: v(10),
            naloxone_stolen: v(11),
            naloxone_confiscated: v(12),
            naloxone_expired: v(13),
            naloxone_other: v(14),
            naloxone_unrecorded: v(15),
        }
    }
}

/// Writes the rows as CSV, header first (also when there are no rows).
pub fn write_csv(rows: &[ReportRow], out: impl std::io::Write) -> csv::Result<()> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    let mut header = LABEL_COLUMNS.to_vec();
    header.extend(MEASURE_COLUMNS);
    writer.write_record(&header)?;
    for row in rows {
        writer.serialize(CsvRow::from(row))?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use std::collections::HashSet;

    use super::*;
    use crate::catalogue::{Item, Site};
    use crate::suppression::find_disclosed;

    fn catalogue() -> Catalogue {
        let site = |id, name: &str| Site {
            id,
            name: name.into(),
            retired_on: None,
        };
        let item = |id, name: &str, category| Item {
            id,
            name: name.into(),
            category,
            unit: "kit".into(),
            retired_on: None,
            alias: None,
        };
        Catalogue {
            sites: vec![site(1, "van"), site(2, "drop-in"), site(3, "tiny")],
            items: vec![
                item(10, "injection-kit", Category::Injection),
                item(11, "syringe", Category::Injection),
                item(12, "stem-pipe", Category::Smoking),
                item(13, "naloxone-nasal", Category::Naloxone),
            ],
        }
    }

    fn code(n: u8) -> ParticipantCode {
        ParticipantCode::from_bytes([n; 16])
    }

    fn contact(
        day: &str,
        site: i64,
        who: Option<ParticipantCode>,
        items: &[(i64, u32)],
    ) -> ReportContact {
        ReportContact {
            day: day.parse().unwrap(),
            fiscal_year: 2026,
            site_id: site,
            code: who,
            items: items.to_vec(),
            reversals: 0,
            for_others: 0,
            returned: 0,
            naloxone_reason: None,
        }
    }

    fn query(kind: PeriodKind, by: &str, min_cell: u32) -> ReportQuery {
        ReportQuery {
            kind,
            dimensions: Dimensions::parse(by).unwrap(),
            min_cell,
            calendar: FiscalCalendar::default(),
        }
    }

    fn run(q: &ReportQuery, contacts: &[ReportContact]) -> Vec<ReportRow> {
        build(q, &catalogue(), contacts.to_vec())
    }

    fn find<'r>(rows: &'r [ReportRow], period: &str, site: &str, item: &str) -> &'r ReportRow {
        rows.iter()
            .find(|r| r.period.label == period && r.site == site && r.item == item)
            .unwrap_or_else(|| panic!("no row {period} {site} {item}"))
    }

    /// Hand-made data with the right answers written out: one participant visiting
    /// twice and taking two items, an anonymous contact, a new participant in December.
    #[test]
    fn measures_add_up_the_way_a_funder_expects() {
        let mut c1 = contact("2026-11-02", 1, Some(code(1)), &[(10, 2), (13, 1)]);
        c1.reversals = 1;
        c1.naloxone_reason = Some(NaloxoneReason::Confiscated);
        let mut c2 = contact("2026-11-09", 1, Some(code(1)), &[(10, 1)]);
        c2.returned = 20;
        let c3 = contact("2026-11-09", 2, None, &[(11, 10), (12, 1)]);
        let mut c4 = contact("2026-12-01", 2, Some(code(2)), &[(13, 2)]);
        c4.for_others = 3;
        let contacts = [c1, c2, c3, c4];
        let rows = run(&query(PeriodKind::Month, "site,item", 1), &contacts);

        let m = |site, item| find(&rows, "2026-11", site, item).measures.clone().unwrap();
        let kit = m("van", "injection-kit");
        assert_eq!((kit.contacts, kit.participants, kit.quantity), (2, 1, 3));
        let van = m("van", "ALL");
        assert_eq!(
            (van.contacts, van.participants, van.new_participants),
            (2, 1, 1)
        );
        assert_eq!((van.quantity, van.reversals, van.returned), (4, 1, 20));
        assert_eq!(van.naloxone, [0, 0, 0, 0, 1, 0, 0, 0]);
        // Contacts add up over sites, not over items; quantities over both.
        let all = m("ALL", "ALL");
        assert_eq!(
            (all.contacts, all.anonymous_contacts, all.quantity),
            (3, 1, 15)
        );
        assert_eq!(all.participants, 1);
        let drop_in = m("drop-in", "ALL");
        assert_eq!(
            (drop_in.contacts, drop_in.participants, drop_in.quantity),
            (1, 0, 11)
        );

        let december = find(&rows, "2026-12", "ALL", "ALL")
            .measures
            .clone()
            .unwrap();
        assert_eq!((december.participants, december.new_participants), (1, 1));
        assert_eq!(
            december.naloxone,
            [0, 0, 0, 0, 0, 0, 0, 2],
            "reason unrecorded"
        );
        assert_eq!(december.for_others, 3);

        // Over the quarter, participant 1 counts once though seen twice.
        let rows = run(&query(PeriodKind::Quarter, "site", 1), &contacts);
        let q = find(&rows, "FY2026-27 Q3", "ALL", "ALL")
            .measures
            .clone()
            .unwrap();
        assert_eq!((q.contacts, q.participants, q.new_participants), (4, 2, 2));
        // By category, two injection items of one contact are one contact.
        let rows = run(&query(PeriodKind::Month, "category", 1), &contacts);
        let injection = find(&rows, "2026-11", "ALL", "injection")
            .measures
            .clone()
            .unwrap();
        assert_eq!((injection.contacts, injection.quantity), (3, 13));
    }

    #[test]
    fn new_means_first_contact_in_the_fiscal_year_over_all_data() {
        // Participant 1 came in October; a November-only report must not call them new.
        let contacts = [
            contact("2026-10-20", 1, Some(code(1)), &[(10, 1)]),
            contact("2026-11-20", 1, Some(code(1)), &[(10, 1)]),
        ];
        let q = query(PeriodKind::Month, "site", 1);
        let catalogue = catalogue();
        let mut builder = ReportBuilder::new(&q, &catalogue);
        let (october, november) = (&contacts[0], &contacts[1]);
        builder.introduce((october.fiscal_year, october.code.unwrap()), october.day);
        builder.add(november);
        let rows = builder.finish();
        assert!(
            rows.iter().all(|r| r.period.label == "2026-11"),
            "October is not counted"
        );
        let november = find(&rows, "2026-11", "ALL", "ALL")
            .measures
            .clone()
            .unwrap();
        assert_eq!((november.participants, november.new_participants), (1, 0));
    }

    #[test]
    fn rows_are_sorted_with_totals_last() {
        let contacts: Vec<_> = (0..6)
            .flat_map(|n| {
                [
                    contact("2026-11-02", 1, Some(code(n)), &[(12, 1), (10, 1)]),
                    contact("2026-10-02", 2, Some(code(n + 10)), &[(11, 1)]),
                ]
            })
            .collect();
        let rows = run(&query(PeriodKind::Month, "site,item", 5), &contacts);
        let labels: Vec<String> = rows
            .iter()
            .map(|r| format!("{} {} {}", r.period.label, r.site, r.item))
            .collect();
        assert_eq!(
            labels,
            [
                "2026-10 drop-in syringe",
                "2026-10 drop-in ALL",
                "2026-10 ALL syringe",
                "2026-10 ALL ALL",
                "2026-11 van injection-kit",
                "2026-11 van stem-pipe",
                "2026-11 van ALL",
                "2026-11 ALL injection-kit",
                "2026-11 ALL stem-pipe",
                "2026-11 ALL ALL",
            ]
        );
    }

    #[test]
    fn a_tiny_site_is_hidden_and_cannot_be_recovered() {
        let mut contacts = Vec::new();
        for n in 0..12 {
            contacts.push(contact("2026-11-03", 1, Some(code(n)), &[(10, 1), (13, 1)]));
            contacts.push(contact(
                "2026-11-04",
                2,
                Some(code(n + 20)),
                &[(10, 2), (12, 1)],
            ));
        }
        // Two people at the tiny site.
        contacts.push(contact("2026-11-05", 3, Some(code(40)), &[(10, 1)]));
        contacts.push(contact("2026-11-05", 3, Some(code(41)), &[(13, 1)]));
        let rows = run(&query(PeriodKind::Month, "site,item", 5), &contacts);
        for row in rows.iter().filter(|r| r.site == "tiny") {
            assert!(
                row.measures.is_none(),
                "{} {} published",
                row.site,
                row.item
            );
        }
        assert_eq!(
            find(&rows, "2026-11", "tiny", "ALL").hidden,
            Hidden::Primary
        );
        // The grand total stays published: the tiny site is hidden with another site.
        assert!(audit(&rows).is_ok());
        let published_totals = ["injection-kit", "naloxone-nasal", "ALL"]
            .iter()
            .filter(|item| find(&rows, "2026-11", "ALL", item).measures.is_some())
            .count();
        assert!(published_totals >= 1);
    }

    #[test]
    fn min_cell_one_hides_nothing() {
        let contacts = [contact("2026-11-05", 3, Some(code(40)), &[(10, 1)])];
        let rows = run(&query(PeriodKind::Month, "site,item", 1), &contacts);
        assert!(rows.iter().all(|r| r.measures.is_some()));
        let rows = run(&query(PeriodKind::Month, "site,item", 5), &contacts);
        assert!(rows.iter().all(|r| r.measures.is_none()));
    }

    #[test]
    fn dimensions_parse_strictly() {
        assert!(Dimensions::parse("site,item").is_some());
        assert!(Dimensions::parse("category").is_some());
        assert!(Dimensions::parse(" site , category ").is_some());
        for bad in ["item,category", "site,site", "sites", "", "site,"] {
            assert!(Dimensions::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn csv_has_the_spec_header_and_the_marker() {
        let contacts = [contact("2026-11-05", 3, Some(code(40)), &[(10, 1)])];
        let rows = run(&query(PeriodKind::Month, "site", 5), &contacts);
        let mut out = Vec::new();
        write_csv(&rows, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "period,period_start,period_end,site,item,contacts,participants,new_participants,anonymous_contacts,quantity,reversals,returned,for_others,naloxone_first,naloxone_used,naloxone_lost,naloxone_stolen,naloxone_confiscated,naloxone_expired,naloxone_other,naloxone_unrecorded\n\
             2026-11,2026-11-01,2026-11-30,tiny,ALL,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x\n\
             2026-11,2026-11-01,2026-11-30,ALL,ALL,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x\n"
        );
    }

    /// The test suite's own auditor: rebuilds, from the published rows' labels alone,
    /// every sum a reader could form (site rows over items, item columns over sites,
    /// and the naloxone columns over naloxone items only), then asks the exact rank
    /// test whether any hidden cell is pinned down. Independent of `relation_systems`.
    fn audit(rows: &[ReportRow]) -> Result<(), String> {
        let naloxone = ["naloxone-nasal", "naloxone"];
        let mut periods: BTreeMap<&str, Vec<&ReportRow>> = BTreeMap::new();
        for row in rows {
            periods.entry(&row.period.label).or_default().push(row);
        }
        for (period, cells) in periods {
            let hidden: Vec<bool> = cells.iter().map(|r| r.measures.is_none()).collect();
            let index = |site: &str, item: &str| {
                cells.iter().position(|r| r.site == site && r.item == item)
            };
            let sites: HashSet<&str> = cells.iter().map(|r| r.site.as_str()).collect();
            let items: HashSet<&str> = cells.iter().map(|r| r.item.as_str()).collect();
            let mut systems = Vec::new();
            // Quantities, naloxone kits (zero outside naloxone), and contacts (over
            // sites only): the three ways a reader can add this table up.
            for (naloxone_only, over_items) in [(false, true), (true, true), (false, false)] {
                let keep = |item: &str| !naloxone_only || item == ALL || naloxone.contains(&item);
                let mut relations = Vec::new();
                for site in sites.iter().filter(|_| over_items) {
                    let mut terms: Vec<(usize, i64)> = items
                        .iter()
                        .filter(|i| **i != ALL && keep(i))
                        .filter_map(|i| index(site, i).map(|c| (c, 1)))
                        .collect();
                    if let Some(total) = index(site, ALL) {
                        terms.push((total, -1));
                    }
                    if items.len() > 1 && !terms.is_empty() {
                        relations.push(Relation(terms));
                    }
                }
                for item in items.iter().filter(|i| keep(i)) {
                    let mut terms: Vec<(usize, i64)> = sites
                        .iter()
                        .filter(|s| **s != ALL)
                        .filter_map(|s| index(s, item).map(|c| (c, 1)))
                        .collect();
                    if let Some(total) = index(ALL, item) {
                        terms.push((total, -1));
                    }
                    if sites.len() > 1 && !terms.is_empty() {
                        relations.push(Relation(terms));
                    }
                }
                systems.push(relations);
            }
            if let Err(cell) = find_disclosed(&hidden, &systems) {
                return Err(format!(
                    "{period}: {} {} can be recovered",
                    cells[cell].site, cells[cell].item
                ));
            }
            for row in &cells {
                if let Some(m) = &row.measures {
                    let small = |n: u64| n > 0 && n < 5;
                    if small(m.contacts) || small(m.participants) {
                        return Err(format!(
                            "{period}: {} {} is small and published",
                            row.site, row.item
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn random_contacts() -> impl Strategy<Value = Vec<ReportContact>> {
        let one = (
            0u64..70,
            1i64..=3,
            prop::option::weighted(0.7, 0u8..40),
            prop::collection::vec((10i64..=13, 1u32..4), 0..3),
            0u32..2,
        )
            .prop_map(|(day, site, who, mut items, reversals)| {
                items.sort_unstable();
                items.dedup_by_key(|(item, _)| *item);
                let day = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap() + chrono::Days::new(day);
                let mut c = contact(&day.to_string(), site, who.map(code), &items);
                c.reversals = reversals;
                if items.iter().any(|(item, _)| *item == 13) {
                    c.naloxone_reason = Some(NaloxoneReason::First);
                }
                c
            });
        prop::collection::vec(one, 1..120)
    }

    /// Day-ordered contacts from March to May 2026: they cross the fiscal-year start
    /// (April), so codes of two years and "new" in both are exercised.
    fn contacts_across_years() -> impl Strategy<Value = Vec<ReportContact>> {
        random_contacts().prop_map(|contacts| {
            let mut contacts: Vec<ReportContact> = contacts
                .into_iter()
                .map(|mut c| {
                    c.day = c.day - chrono::Days::new(175);
                    c.fiscal_year = FiscalCalendar::default().year_of(c.day).start_year();
                    c
                })
                .collect();
            contacts.sort_by_key(|c| c.day);
            contacts
        })
    }

    /// Every cell of the cube counted the plain way, from `count_from` on; first days
    /// over all the contacts. Keys and measures as in `cells_match_a_plain_recount`.
    fn recount(
        catalogue: &Catalogue,
        kind: PeriodKind,
        count_from: NaiveDate,
        contacts: &[ReportContact],
    ) -> HashMap<(String, String, String), [u64; 6]> {
        type Sets = (HashSet<Participant>, HashSet<Participant>);
        let calendar = FiscalCalendar::default();
        let mut first_day: HashMap<Participant, NaiveDate> = HashMap::new();
        for c in contacts {
            if let Some(code) = c.code {
                let day = first_day.entry((c.fiscal_year, code)).or_insert(c.day);
                *day = (*day).min(c.day);
            }
        }
        let mut cells: HashMap<(String, String, String), ([u64; 6], Sets)> = HashMap::new();
        for c in contacts.iter().filter(|c| c.day >= count_from) {
            let period = calendar.period_of(kind, c.day);
            let site = catalogue
                .sites
                .iter()
                .find(|s| s.id == c.site_id)
                .unwrap()
                .name
                .clone();
            let mut keys: BTreeMap<String, u64> = BTreeMap::new();
            for (item, quantity) in &c.items {
                let item = catalogue.items.iter().find(|i| i.id == *item).unwrap();
                *keys.entry(format!("item:{}", item.name)).or_default() += u64::from(*quantity);
                *keys
                    .entry(format!("category:{}", item.category.as_str()))
                    .or_default() += u64::from(*quantity);
            }
            keys.insert(
                "all:ALL".into(),
                c.items.iter().map(|(_, q)| u64::from(*q)).sum(),
            );
            for site in [site.as_str(), ALL] {
                for (item, quantity) in &keys {
                    let (m, (all, new)) = cells
                        .entry((period.label.clone(), site.to_owned(), item.clone()))
                        .or_default();
                    m[0] += 1;
                    m[4] += quantity;
                    m[5] += u64::from(c.reversals);
                    match c.code {
                        Some(code) => {
                            let p = (c.fiscal_year, code);
                            all.insert(p);
                            if period.contains(first_day[&p]) {
                                new.insert(p);
                            }
                        }
                        None => m[3] += 1,
                    }
                }
            }
        }
        cells
            .into_iter()
            .map(|(key, (mut m, (all, new)))| {
                m[1] = all.len() as u64;
                m[2] = new.len() as u64;
                (key, m)
            })
            .collect()
    }

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

    #[test]
    #[should_panic(expected = "day order")]
    fn contacts_out_of_day_order_are_refused() {
        let q = query(PeriodKind::Month, "site", 1);
        let catalogue = catalogue();
        let mut builder = ReportBuilder::new(&q, &catalogue);
        builder.add(&contact("2026-11-02", 1, Some(code(1)), &[(10, 1)]));
        builder.add(&contact("2026-11-01", 1, Some(code(1)), &[(10, 1)]));
    }

    /// The second auditor: every report of one period kind a coordinator could print
    /// (every `--by`), laid side by side. A cell printed by two reports must read the
    /// same in both; then, from the labels alone, it rebuilds every sum a reader could
    /// form across them (items into categories and `ALL`, sites into `ALL`;
    /// quantities, naloxone kits and contacts each with the sums that hold for them)
    /// and asks the exact rank test whether any hidden cell is pinned down.
    fn audit_together(contacts: &[ReportContact], kind: PeriodKind) -> Result<(), String> {
        let category = |label: &str| match label {
            "injection-kit" | "syringe" => "injection",
            "stem-pipe" => "smoking",
            _ => "naloxone",
        };
        // (kind, period start, site, level, label) -> published measures or None.
        let mut union: BTreeMap<(PeriodKind, NaiveDate, String, &str, String), Option<Measures>> =
            BTreeMap::new();
        {
            for by in ["site", "item", "category", "site,item", "site,category"] {
                let level = if by.ends_with("item") {
                    "item"
                } else if by.ends_with("category") {
                    "category"
                } else {
                    "all"
                };
                for row in run(&query(kind, by, 5), contacts) {
                    let level = if row.item == ALL { "all" } else { level };
                    let key = (
                        kind,
                        row.period.start,
                        row.site.clone(),
                        level,
                        row.item.clone(),
                    );
                    if let Some(seen) = union.insert(key.clone(), row.measures.clone()) {
                        if seen != row.measures {
                            return Err(format!("{key:?} differs between reports"));
                        }
                    }
                }
            }
        }
        let keys: Vec<_> = union.keys().cloned().collect();
        let hidden: Vec<bool> = union.values().map(Option::is_none).collect();
        let mut systems = Vec::new();
        for family in ["quantity", "naloxone", "contacts"] {
            let mut groups: BTreeMap<String, Vec<(usize, i64)>> = BTreeMap::new();
            for (cell, (kind, start, site, level, label)) in keys.iter().enumerate() {
                let naloxone = *level == "all"
                    || (*level == "item" && category(label) == "naloxone")
                    || (*level == "category" && label == "naloxone");
                if family == "naloxone" && !naloxone {
                    continue;
                }
                let mut add = |group: String, coefficient: i64| {
                    groups.entry(group).or_default().push((cell, coefficient));
                };
                let at = format!("{kind:?} {start} {site}");
                if family != "contacts" {
                    match *level {
                        "item" => {
                            add(format!("items {at}"), 1);
                            add(format!("{} {at}", category(label)), 1);
                        }
                        "category" => {
                            add(format!("categories {at}"), 1);
                            add(format!("{label} {at}"), -1);
                        }
                        _ => {
                            add(format!("items {at}"), -1);
                            add(format!("categories {at}"), -1);
                        }
                    }
                }
                add(
                    format!("sites {kind:?} {start} {level} {label}"),
                    if site == ALL { -1 } else { 1 },
                );
            }
            systems.push(groups.into_values().map(Relation).collect::<Vec<_>>());
        }
        find_disclosed(&hidden, &systems)
            .map_err(|cell| format!("{:?} can be recovered", keys[cell]))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        /// Every report of one program at once: consistent, and nothing recoverable.
        #[test]
        fn reports_laid_side_by_side_disclose_nothing(contacts in random_contacts()) {
            for kind in [PeriodKind::Week, PeriodKind::Month, PeriodKind::Quarter] {
                prop_assert_eq!(audit_together(&contacts, kind), Ok(()));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Whatever the data, no published row is small and no hidden row can be
        /// recovered from the published ones, for every period kind and breakdown.
        #[test]
        fn no_report_discloses_a_small_cell(contacts in random_contacts()) {
            for kind in [PeriodKind::Week, PeriodKind::Month] {
                for by in ["site,item", "site,category", "site", "item"] {
                    let rows = run(&query(kind, by, 5), &contacts);
                    prop_assert!(audit(&rows).is_ok(), "{:?} {}: {:?}", kind, by, audit(&rows));
                }
            }
        }

        /// The streaming builder (dense cube, participant numbers, bitmaps, a lead-in
        /// of participants introduced before the first counted day) counts every cell
        /// exactly as a plain recount with hash sets does, across a fiscal-year start.
        #[test]
        fn cells_match_a_plain_recount(
            contacts in contacts_across_years(),
            from_offset in 0u64..60,
        ) {
            let calendar = FiscalCalendar::default();
            let start = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
            for kind in PeriodKind::ALL {
                let count_from = calendar.period_of(kind, start + chrono::Days::new(from_offset)).start;
                let q = query(kind, "site,item", 1);
                let catalogue = catalogue();
                let mut builder = ReportBuilder::new(&q, &catalogue);
                for contact in &contacts {
                    match contact.code {
                        _ if contact.day >= count_from => builder.add(contact),
                        Some(code) => builder.introduce((contact.fiscal_year, code), contact.day),
                        None => {}
                    }
                }
                let cells: HashMap<(String, String, String), [u64; 6]> = builder
                    .into_cells()
                    .into_iter()
                    .map(|cell| {
                        let m = cell.measures;
                        let key = (cell.period.label, cell.site, format!("{}:{}", cell.item.level(), cell.item.label()));
                        (key, [m.contacts, m.participants, m.new_participants, m.anonymous_contacts, m.quantity, m.reversals])
                    })
                    .collect();
                prop_assert_eq!(cells, recount(&catalogue, kind, count_from, &contacts));
            }
        }

        /// Totals are computed, not summed: with nothing hidden, the ALL rows match
        /// sums taken straight from the contacts.
        #[test]
        fn totals_match_the_contacts(contacts in random_contacts()) {
            let rows = run(&query(PeriodKind::FiscalYear, "site,item", 1), &contacts);
            let total = find(&rows, "FY2026-27", ALL, ALL).measures.clone().unwrap();
            let quantity: u64 = contacts.iter().flat_map(|c| &c.items).map(|(_, q)| u64::from(*q)).sum();
            let codes: HashSet<_> = contacts.iter().filter_map(|c| c.code).collect();
            prop_assert_eq!(total.contacts, contacts.len() as u64);
            prop_assert_eq!(total.quantity, quantity);
            prop_assert_eq!(total.participants, codes.len() as u64);
            prop_assert_eq!(total.anonymous_contacts, contacts.iter().filter(|c| c.code.is_none()).count() as u64);
            prop_assert_eq!(total.reversals, contacts.iter().map(|c| u64::from(c.reversals)).sum::<u64>());
        }
    }
}
