//! Funder reports: live contacts in, one row per period and cell out, with small
//! cells hidden behind [`SUPPRESSED`].
//!
//! The pipeline, one file a stage: [`query`] feeds the store's day-ordered contacts
//! (and the frozen cells of closed years) to the `builder`, which counts every cell
//! of each period's cube; [`plan`] decides each period once against the release ledger
//! ([`ledger`]), with [`crate::suppression`] choosing what to hide; [`csv`] writes the
//! rows. [`crate::measures`] lists the numbers each cell has, once.
//!
//! Totals (`ALL`) are computed from the contacts, never by adding published cells,
//! because contacts and participants do not add up over items (one contact takes
//! several items) and participants add up over nothing.

use crate::code::ParticipantCode;
use crate::fiscal::{FiscalYear, Period, PeriodKind};
use crate::measures::{Measure, Measures};

mod builder;
pub mod csv;
pub mod ledger;
pub mod plan;
pub mod query;
pub mod release;

pub use crate::measures::{MEASURE_COUNT, MEASURES};
pub use builder::CubeCounter;

/// What a hidden value is written as: not a number, so no spreadsheet sums it.
pub const SUPPRESSED: &str = "x";

/// The label of a total over a dimension.
pub const ALL: &str = "ALL";

/// A participant within a fiscal year; codes of different years never match.
pub type Participant = (FiscalYear, ParticipantCode);

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

/// One cell of a period's cube, unsuppressed: what a decision is made on, what a
/// decided period keeps, and what `close-year` freezes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CubeCell {
    /// The kind of period.
    pub kind: PeriodKind,
    /// The period (the whole period, even when the year covers part of it).
    pub period: Period,
    /// Site name or `ALL`.
    pub site: String,
    /// Item, category or all.
    pub item: ItemKey,
    /// The counts (of a closed year: the year's part of the cell).
    pub measures: Measures,
}

/// What kind of total a row is, so a spreadsheet can filter totals out without
/// counting anything twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowLevel {
    /// One site and one item or category.
    Detail,
    /// One site, every item.
    SiteTotal,
    /// Every site, one item or category.
    ItemTotal,
    /// Every site, every item.
    ProgramTotal,
}

impl RowLevel {
    /// The `level` column's word.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RowLevel::Detail => "detail",
            RowLevel::SiteTotal => "site-total",
            RowLevel::ItemTotal => "item-total",
            RowLevel::ProgramTotal => "program-total",
        }
    }

    /// The level of the row of `site` and `item` labels.
    #[must_use]
    pub fn of(site: &str, item: &str) -> Self {
        match (site == ALL, item == ALL) {
            (false, false) => RowLevel::Detail,
            (false, true) => RowLevel::SiteTotal,
            (true, false) => RowLevel::ItemTotal,
            (true, true) => RowLevel::ProgramTotal,
        }
    }
}

/// One row of a report: a cell of a decided period, its hidden counts marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// The period.
    pub period: Period,
    /// Site name or `ALL`.
    pub site: String,
    /// Item, category, or `ALL`.
    pub item: String,
    /// The counts; those in `hidden` are never shown.
    pub measures: Measures,
    /// Bit `i` set: the `i`-th measure is hidden.
    pub hidden: u16,
}

impl ReportRow {
    /// A count as published: `None` when it is hidden.
    #[must_use]
    pub fn value(&self, measure: Measure) -> Option<u64> {
        (self.hidden & (1 << measure as usize) == 0).then(|| self.measures[measure])
    }

    /// Whether any count of the row is hidden.
    #[must_use]
    pub fn is_hidden(&self) -> bool {
        self.hidden != 0
    }

    /// Which total the row is.
    #[must_use]
    pub fn level(&self) -> RowLevel {
        RowLevel::of(&self.site, &self.item)
    }
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};

    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;
    use crate::catalogue::{Catalogue, Category, Item, Site};
    use crate::contact::{Contact, Counts, NaloxoneReason};
    use crate::fiscal::FiscalCalendar;
    use crate::measures::Measure;

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
            synonyms: Vec::new(),
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
    ) -> Contact {
        Contact {
            day: day.parse().unwrap(),
            fiscal_year: FiscalYear::starting_in(2026),
            site_id: site,
            code: who,
            counts: Counts {
                items: items.to_vec(),
                ..Counts::default()
            },
        }
    }

    /// Every cell of every period of `kind`, counted from `contacts` in day order.
    fn cells(kind: PeriodKind, contacts: &[Contact]) -> Vec<CubeCell> {
        let catalogue = catalogue();
        let mut contacts = contacts.to_vec();
        contacts.sort_by_key(|c| c.day);
        let mut counter = CubeCounter::new(kind, FiscalCalendar::default(), &catalogue);
        for contact in &contacts {
            counter.add(contact);
        }
        counter.into_cells()
    }

    fn find(cells: &[CubeCell], period: &str, site: &str, item: &ItemKey) -> Measures {
        cells
            .iter()
            .find(|c| c.period.label == period && c.site == site && c.item == *item)
            .unwrap_or_else(|| panic!("no cell {period} {site} {item:?}"))
            .measures
    }

    fn item(name: &str) -> ItemKey {
        ItemKey::Item(name.into())
    }

    /// Hand-made data with the right answers written out: one participant visiting
    /// twice and taking two items, an anonymous contact, a new participant in December.
    #[test]
    fn measures_add_up_the_way_a_funder_expects() {
        let mut c1 = contact("2026-11-02", 1, Some(code(1)), &[(10, 2), (13, 1)]);
        c1.counts.reversals = 1;
        c1.counts.naloxone_reason = Some(NaloxoneReason::Confiscated);
        let mut c2 = contact("2026-11-09", 1, Some(code(1)), &[(10, 1)]);
        c2.counts.returned = 20;
        let c3 = contact("2026-11-09", 2, None, &[(11, 10), (12, 1)]);
        let mut c4 = contact("2026-12-01", 2, Some(code(2)), &[(13, 2)]);
        c4.counts.for_others = 3;
        let contacts = [c1, c2, c3, c4];
        let months = cells(PeriodKind::Month, &contacts);
        let m = |site, key: &ItemKey| find(&months, "2026-11", site, key);
        let kit = m("van", &item("injection-kit"));
        assert_eq!(
            (
                kit[Measure::Contacts],
                kit[Measure::Participants],
                kit[Measure::Quantity]
            ),
            (2, 1, 3)
        );
        let van = m("van", &ItemKey::All);
        assert_eq!(
            (
                van[Measure::Contacts],
                van[Measure::Participants],
                van[Measure::NewParticipants]
            ),
            (2, 1, 1)
        );
        assert_eq!(
            (
                van[Measure::Quantity],
                van[Measure::Reversals],
                van[Measure::Returned]
            ),
            (4, 1, 20)
        );
        assert_eq!(van.naloxone(), [0, 0, 0, 0, 1, 0, 0, 0]);
        // Contacts add up over sites, not over items; quantities over both.
        let all = m(ALL, &ItemKey::All);
        assert_eq!(
            (
                all[Measure::Contacts],
                all[Measure::AnonymousContacts],
                all[Measure::Quantity]
            ),
            (3, 1, 15)
        );
        assert_eq!(all[Measure::Participants], 1);
        let drop_in = m("drop-in", &ItemKey::All);
        assert_eq!(
            (
                drop_in[Measure::Contacts],
                drop_in[Measure::Participants],
                drop_in[Measure::Quantity]
            ),
            (1, 0, 11)
        );
        let december = find(&months, "2026-12", ALL, &ItemKey::All);
        assert_eq!(
            (
                december[Measure::Participants],
                december[Measure::NewParticipants]
            ),
            (1, 1)
        );
        assert_eq!(
            december.naloxone(),
            [0, 0, 0, 0, 0, 0, 0, 2],
            "reason unrecorded"
        );
        assert_eq!(december[Measure::ForOthers], 3);

        // Over the quarter, participant 1 counts once though seen twice.
        let quarters = cells(PeriodKind::Quarter, &contacts);
        let q = find(&quarters, "FY2026-27 Q3", ALL, &ItemKey::All);
        assert_eq!(
            (
                q[Measure::Contacts],
                q[Measure::Participants],
                q[Measure::NewParticipants]
            ),
            (4, 2, 2)
        );
        // By category, two injection items of one contact are one contact.
        let injection = m(ALL, &ItemKey::Category("injection".into()));
        assert_eq!(
            (injection[Measure::Contacts], injection[Measure::Quantity]),
            (3, 13)
        );
    }

    #[test]
    fn new_means_first_contact_in_the_fiscal_year_over_all_data() {
        // Participant 1 came in October; a November-only count must not call them new.
        let contacts = [
            contact("2026-10-20", 1, Some(code(1)), &[(10, 1)]),
            contact("2026-11-20", 1, Some(code(1)), &[(10, 1)]),
        ];
        let catalogue = catalogue();
        let mut counter =
            CubeCounter::new(PeriodKind::Month, FiscalCalendar::default(), &catalogue);
        let (october, november) = (&contacts[0], &contacts[1]);
        counter.introduce((october.fiscal_year, october.code.unwrap()), october.day);
        counter.add(november);
        let cells = counter.into_cells();
        assert!(
            cells.iter().all(|c| c.period.label == "2026-11"),
            "October is not counted"
        );
        let november = find(&cells, "2026-11", ALL, &ItemKey::All);
        assert_eq!(
            (
                november[Measure::Participants],
                november[Measure::NewParticipants]
            ),
            (1, 0)
        );
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
    fn csv_has_the_spec_header_the_marker_and_the_level() {
        let period =
            FiscalCalendar::default().period_of(PeriodKind::Month, "2026-11-05".parse().unwrap());
        let mut measures = Measures::default();
        measures[Measure::Contacts] = 12;
        measures[Measure::Participants] = 9;
        let rows = [
            ReportRow {
                period: period.clone(),
                site: "tiny".into(),
                item: "naloxone".into(),
                measures,
                hidden: u16::MAX,
            },
            ReportRow {
                period,
                site: ALL.into(),
                item: ALL.into(),
                measures,
                hidden: 1 << Measure::Participants as usize,
            },
        ];
        let dimensions = Dimensions::parse("site,category").unwrap();
        let mut out = Vec::new();
        csv::write_csv(&rows, dimensions, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "period,period_start,period_end,site,category,contacts,participants,new_participants,anonymous_contacts,quantity,reversals,returned,for_others,naloxone_first,naloxone_used,naloxone_lost,naloxone_stolen,naloxone_confiscated,naloxone_expired,naloxone_other,naloxone_unrecorded,level\n\
             2026-11,2026-11-01,2026-11-30,tiny,naloxone,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,detail\n\
             2026-11,2026-11-01,2026-11-30,ALL,ALL,12,x,0,0,0,0,0,0,0,0,0,0,0,0,0,0,program-total\n"
        );
    }

    fn random_contacts() -> impl Strategy<Value = Vec<Contact>> {
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
                c.counts.reversals = reversals;
                if items.iter().any(|(item, _)| *item == 13) {
                    c.counts.naloxone_reason = Some(NaloxoneReason::First);
                }
                c
            });
        prop::collection::vec(one, 1..120)
    }

    /// Day-ordered contacts from March to May 2026: they cross the fiscal-year start
    /// (April), so codes of two years and "new" in both are exercised.
    fn contacts_across_years() -> impl Strategy<Value = Vec<Contact>> {
        random_contacts().prop_map(|contacts| {
            let mut contacts: Vec<Contact> = contacts
                .into_iter()
                .map(|mut c| {
                    c.day = c.day - chrono::Days::new(175);
                    c.fiscal_year = FiscalCalendar::default().year_of(c.day);
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
        contacts: &[Contact],
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
            for (item, quantity) in &c.counts.items {
                let item = catalogue.items.iter().find(|i| i.id == *item).unwrap();
                *keys.entry(format!("item:{}", item.name)).or_default() += u64::from(*quantity);
                *keys
                    .entry(format!("category:{}", item.category.as_str()))
                    .or_default() += u64::from(*quantity);
            }
            keys.insert(
                "all:ALL".into(),
                c.counts.items.iter().map(|(_, q)| u64::from(*q)).sum(),
            );
            for site in [site.as_str(), ALL] {
                for (item, quantity) in &keys {
                    let (m, (all, new)) = cells
                        .entry((period.label.clone(), site.to_owned(), item.clone()))
                        .or_default();
                    m[0] += 1;
                    m[4] += quantity;
                    m[5] += u64::from(c.counts.reversals);
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

    #[test]
    #[should_panic(expected = "day order")]
    fn contacts_out_of_day_order_are_refused() {
        let catalogue = catalogue();
        let mut builder =
            CubeCounter::new(PeriodKind::Month, FiscalCalendar::default(), &catalogue);
        builder.add(&contact("2026-11-02", 1, Some(code(1)), &[(10, 1)]));
        builder.add(&contact("2026-11-01", 1, Some(code(1)), &[(10, 1)]));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

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
                let catalogue = catalogue();
                let mut builder = CubeCounter::new(kind, calendar, &catalogue);
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
                        (key, [m[Measure::Contacts], m[Measure::Participants], m[Measure::NewParticipants], m[Measure::AnonymousContacts], m[Measure::Quantity], m[Measure::Reversals]])
                    })
                    .collect();
                prop_assert_eq!(cells, recount(&catalogue, kind, count_from, &contacts));
            }
        }

        /// Totals are counted, not summed: the ALL cells match sums taken straight
        /// from the contacts.
        #[test]
        fn totals_match_the_contacts(contacts in random_contacts()) {
            let cells = cells(PeriodKind::FiscalYear, &contacts);
            let total = find(&cells, "FY2026-27", ALL, &ItemKey::All);
            let quantity: u64 = contacts.iter().flat_map(|c| &c.counts.items).map(|(_, q)| u64::from(*q)).sum();
            let codes: HashSet<_> = contacts.iter().filter_map(|c| c.code).collect();
            prop_assert_eq!(total[Measure::Contacts], contacts.len() as u64);
            prop_assert_eq!(total[Measure::Quantity], quantity);
            prop_assert_eq!(total[Measure::Participants], codes.len() as u64);
            prop_assert_eq!(total[Measure::AnonymousContacts], contacts.iter().filter(|c| c.code.is_none()).count() as u64);
            prop_assert_eq!(total[Measure::Reversals], contacts.iter().map(|c| u64::from(c.counts.reversals)).sum::<u64>());
        }
    }
}
