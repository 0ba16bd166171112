//! Funder reports: live contacts in, one row per period and cell out, with small
//! cells hidden behind [`SUPPRESSED`].
//!
//! The pipeline, one file a stage: [`query`] feeds the store's day-ordered contacts
//! (and the frozen cells of closed years) to the `builder`, which counts every cell
//! of each period's cube; `relations` decides which cells to hide, from the sums a
//! reader of the tables could form, using [`crate::suppression`]; [`csv`] writes the
//! rows. [`crate::measures`] lists the numbers each cell has, once.
//!
//! Totals (`ALL`) are computed from the contacts, never by adding published cells,
//! because contacts and participants do not add up over items (one contact takes
//! several items) and participants add up over nothing.

use crate::catalogue::Catalogue;
use crate::code::ParticipantCode;
use crate::contact::Contact;
use crate::fiscal::{FiscalCalendar, FiscalYear, Period, PeriodKind};
use crate::suppression::Hidden;

mod builder;
pub mod csv;
pub mod query;
mod relations;

pub use builder::ReportBuilder;
pub use crate::measures::{MEASURE_COUNT, MEASURES, Measure, Measures};

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

/// Builds the report from live contacts in any order, counting every one (tests and
/// small tools; the store streams into [`ReportBuilder`] instead).
pub fn build(
    query: &ReportQuery,
    catalogue: &Catalogue,
    contacts: impl IntoIterator<Item = Contact>,
) -> Vec<ReportRow> {
    let mut contacts: Vec<Contact> = contacts.into_iter().collect();
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};

    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::csv::write_csv;
    use super::*;
    use crate::catalogue::{Category, Item, Site};
    use crate::contact::{Counts, NaloxoneReason};
    use crate::suppression::{Relation, find_disclosed};

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

    fn query(kind: PeriodKind, by: &str, min_cell: u32) -> ReportQuery {
        ReportQuery {
            kind,
            dimensions: Dimensions::parse(by).unwrap(),
            min_cell,
            calendar: FiscalCalendar::default(),
        }
    }

    fn run(q: &ReportQuery, contacts: &[Contact]) -> Vec<ReportRow> {
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
        c1.counts.reversals = 1;
        c1.counts.naloxone_reason = Some(NaloxoneReason::Confiscated);
        let mut c2 = contact("2026-11-09", 1, Some(code(1)), &[(10, 1)]);
        c2.counts.returned = 20;
        let c3 = contact("2026-11-09", 2, None, &[(11, 10), (12, 1)]);
        let mut c4 = contact("2026-12-01", 2, Some(code(2)), &[(13, 2)]);
        c4.counts.for_others = 3;
        let contacts = [c1, c2, c3, c4];
        let rows = run(&query(PeriodKind::Month, "site,item", 1), &contacts);

        let m = |site, item| find(&rows, "2026-11", site, item).measures.unwrap();
        let kit = m("van", "injection-kit");
        assert_eq!(
            (
                kit[Measure::Contacts],
                kit[Measure::Participants],
                kit[Measure::Quantity]
            ),
            (2, 1, 3)
        );
        let van = m("van", "ALL");
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
        let all = m("ALL", "ALL");
        assert_eq!(
            (
                all[Measure::Contacts],
                all[Measure::AnonymousContacts],
                all[Measure::Quantity]
            ),
            (3, 1, 15)
        );
        assert_eq!(all[Measure::Participants], 1);
        let drop_in = m("drop-in", "ALL");
        assert_eq!(
            (
                drop_in[Measure::Contacts],
                drop_in[Measure::Participants],
                drop_in[Measure::Quantity]
            ),
            (1, 0, 11)
        );

        let december = find(&rows, "2026-12", "ALL", "ALL").measures.unwrap();
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
        let rows = run(&query(PeriodKind::Quarter, "site", 1), &contacts);
        let q = find(&rows, "FY2026-27 Q3", "ALL", "ALL").measures.unwrap();
        assert_eq!(
            (
                q[Measure::Contacts],
                q[Measure::Participants],
                q[Measure::NewParticipants]
            ),
            (4, 2, 2)
        );
        // By category, two injection items of one contact are one contact.
        let rows = run(&query(PeriodKind::Month, "category", 1), &contacts);
        let injection = find(&rows, "2026-11", "ALL", "injection").measures.unwrap();
        assert_eq!(
            (injection[Measure::Contacts], injection[Measure::Quantity]),
            (3, 13)
        );
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
        let november = find(&rows, "2026-11", "ALL", "ALL").measures.unwrap();
        assert_eq!(
            (
                november[Measure::Participants],
                november[Measure::NewParticipants]
            ),
            (1, 0)
        );
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
                    if small(m[Measure::Contacts]) || small(m[Measure::Participants]) {
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
    fn audit_together(contacts: &[Contact], kind: PeriodKind) -> Result<(), String> {
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
                    if let Some(seen) = union.insert(key.clone(), row.measures) {
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
                        (key, [m[Measure::Contacts], m[Measure::Participants], m[Measure::NewParticipants], m[Measure::AnonymousContacts], m[Measure::Quantity], m[Measure::Reversals]])
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
            let total = find(&rows, "FY2026-27", ALL, ALL).measures.unwrap();
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
