//! Deciding periods for release, once each, against the ledger.
//!
//! A release prints periods; each period is *decided* the first time any release needs
//! it: its whole cube is counted, what to hide is chosen by [`crate::suppression`], and
//! both are kept in the ledger. Every later release of the period prints the same
//! cells, so releases never contradict each other and no reader can subtract one from
//! another. Three rules make the decisions fit together:
//!
//! - A quarter is decided after its months, a fiscal year after its quarters, and each
//!   hides what its parts hide; the decision checks the parts' small cells again
//!   against what the coarser period adds.
//! - Deciding a week or month first decides the earlier ones of its fiscal year: who is
//!   "new" in a period depends on every earlier day of the year, so those days must be
//!   counted the same way by every release.
//! - The days of a decided period are counted as they were when it was decided
//!   ([`Visibility`]): later sheets and voids for them are held back.
//!
//! Below the program's threshold (`--min-cell` lower, for internal checks) nothing is
//! kept: the same decisions are made in memory on the data as it is now.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};

use super::ledger::{DataVersion, DecidedCell, DecidedPeriod, Visibility};
use super::query::count_cells;
use super::{ALL, CubeCell, Dimensions, ItemKey, ItemLevel, ReportRow};
use crate::catalogue::{Catalogue, Category};
use crate::error::Result;
use crate::fiscal::{FiscalCalendar, Period, PeriodKind};
use crate::store::Store;
use crate::suppression::{Cube, Key, Row, Shape, Universe, decide};

/// Decides and remembers periods for one report.
#[derive(Debug)]
pub struct Planner<'s> {
    store: &'s mut Store,
    catalogue: Catalogue,
    calendar: FiscalCalendar,
    min_cell: u32,
    /// Decisions are kept in the ledger (a release), or only in memory (below the
    /// program's threshold).
    keeps: bool,
    today: NaiveDate,
    visibility: Visibility,
    version: DataVersion,
    /// The days counted: from the start of the first period's fiscal year to the end
    /// of the last period.
    days: (NaiveDate, NaiveDate),
    counted: HashMap<PeriodKind, HashMap<NaiveDate, Vec<CubeCell>>>,
    /// Decided periods met so far, with the threshold each was decided at.
    decided: HashMap<(PeriodKind, NaiveDate), (u32, Vec<DecidedCell>)>,
    /// Periods whose decision failed closed (see [`crate::suppression::Decision`]).
    pub fell_back: Vec<String>,
    /// Masks of finest periods decided ahead, all at once on every core (a finest
    /// period's decision rests on its own cube alone).
    ahead: HashMap<(PeriodKind, NaiveDate), Vec<u16>>,
}

impl<'s> Planner<'s> {
    /// A planner for periods lying within `first..=last` (whole periods), deciding at
    /// `min_cell`; `keeps` when this is a release.
    pub fn new(
        store: &'s mut Store,
        (first, last): (NaiveDate, NaiveDate),
        min_cell: u32,
        keeps: bool,
        today: NaiveDate,
    ) -> Result<Self> {
        let settings = store.settings()?;
        let calendar = settings.calendar;
        let catalogue = store.catalogue()?;
        let start = calendar.year_of(first).first_day();
        // A week can start before its fiscal year does.
        let start = calendar.period_of(PeriodKind::Week, start).start.min(start);
        let mut visibility = Visibility::now();
        let version = store.data_version()?;
        if keeps {
            for decided in store.decided_periods(start, last)? {
                if matches!(decided.kind, PeriodKind::Week | PeriodKind::Month) {
                    visibility.freeze(&decided.period, decided.version);
                }
            }
        }
        Ok(Planner {
            store,
            catalogue,
            calendar,
            min_cell,
            keeps,
            today,
            visibility,
            version,
            days: (start, last),
            counted: HashMap::new(),
            decided: HashMap::new(),
            fell_back: Vec::new(),
            ahead: HashMap::new(),
        })
    }

    /// Which contacts count on which days, for this report.
    #[must_use]
    pub fn visibility(&self) -> &Visibility {
        &self.visibility
    }

    /// The decided cells of `period` (of `kind`), deciding it (and what it rests on)
    /// if no release has yet.
    pub fn decided(&mut self, kind: PeriodKind, period: &Period) -> Result<Vec<DecidedCell>> {
        if let Some((_, cells)) = self.decided.get(&(kind, period.start)) {
            return Ok(cells.clone());
        }
        if self.keeps {
            if let Some((min_cell, cells)) = self.store.decided_cells(kind, period.start)? {
                self.decided
                    .insert((kind, period.start), (min_cell, cells.clone()));
                return Ok(cells);
            }
        }
        let is_leaf = matches!(kind, PeriodKind::Week | PeriodKind::Month);
        if is_leaf && self.keeps {
            for earlier in self.earlier(kind, period) {
                self.decided(kind, &earlier)?;
            }
        }
        // The parts first: their decisions are fixed before this one is made.
        let parts = self.parts(kind, period);
        let mut fixed: Vec<(Vec<CubeCell>, Vec<u16>, Vec<usize>)> = Vec::new();
        for (part_kind, part) in &parts {
            let cells = self.decided(*part_kind, part)?;
            fixed.push(decided_as_cells(*part_kind, part, &cells));
        }
        let cells = self.cube(kind, period)?;
        let masks = match self.ahead.remove(&(kind, period.start)) {
            Some(masks) => masks,
            None => self.decide(kind, period, &cells, &parts, &fixed)?,
        };
        let decided: Vec<DecidedCell> = cells
            .into_iter()
            .zip(masks)
            .map(|(cell, hidden)| DecidedCell {
                site: cell.site,
                item: cell.item,
                hidden,
                measures: cell.measures,
            })
            .collect();
        if self.keeps {
            let record = DecidedPeriod {
                kind,
                period: period.clone(),
                min_cell: self.min_cell,
                version: self.version,
            };
            self.store.save_decided(&record, &decided, self.today)?;
            if is_leaf {
                self.visibility.freeze(period, self.version);
            }
        }
        self.decided
            .insert((kind, period.start), (self.min_cell, decided.clone()));
        Ok(decided)
    }

    /// The periods of `kind` in `period`'s fiscal year before it, earliest first.
    fn earlier(&self, kind: PeriodKind, period: &Period) -> Vec<Period> {
        let year_start = self.calendar.year_of(period.start).first_day();
        let mut out = Vec::new();
        let mut at = self.calendar.period_of(kind, year_start);
        while at.start < period.start {
            let next = at.end + Days::new(1);
            out.push(at);
            at = self.calendar.period_of(kind, next);
        }
        out
    }

    /// The periods that make up `period` exactly: a quarter's months, a year's quarters.
    fn parts(&self, kind: PeriodKind, period: &Period) -> Vec<(PeriodKind, Period)> {
        let part_kind = match kind {
            PeriodKind::Quarter => PeriodKind::Month,
            PeriodKind::FiscalYear => PeriodKind::Quarter,
            PeriodKind::Week | PeriodKind::Month => return Vec::new(),
        };
        let mut out = Vec::new();
        let mut day = period.start;
        while day <= period.end {
            let part = self.calendar.period_of(part_kind, day);
            day = part.end + Days::new(1);
            out.push((part_kind, part));
        }
        out
    }

    /// The counted cube of a period not decided yet.
    fn cube(&mut self, kind: PeriodKind, period: &Period) -> Result<Vec<CubeCell>> {
        if !self.counted.contains_key(&kind) {
            let visibility = if self.keeps {
                self.visibility.clone()
            } else {
                Visibility::now()
            };
            let cells = count_cells(
                self.store,
                &self.catalogue,
                self.calendar,
                kind,
                self.days,
                &visibility,
            )?;
            let mut by_period: HashMap<NaiveDate, Vec<CubeCell>> = HashMap::new();
            for cell in cells {
                by_period.entry(cell.period.start).or_default().push(cell);
            }
            self.counted.insert(kind, by_period);
        }
        Ok(self.counted[&kind]
            .get(&period.start)
            .cloned()
            .unwrap_or_default())
    }

    /// The hidden masks of `cells`, decided with the fixed decisions of its parts (and,
    /// for a year, of its quarters' months).
    fn decide(
        &mut self,
        kind: PeriodKind,
        period: &Period,
        cells: &[CubeCell],
        parts: &[(PeriodKind, Period)],
        fixed: &[(Vec<CubeCell>, Vec<u16>, Vec<usize>)],
    ) -> Result<Vec<u16>> {
        let Some((universe, masks)) = self.universe_for(kind, cells, parts, fixed)? else {
            return Ok(vec![0; cells.len()]);
        };
        let decision = decide(&universe, &masks);
        if decision.fell_back {
            self.fell_back.push(period.label.clone());
        }
        Ok(decision.masks.into_iter().next().unwrap_or_default())
    }

    /// The universe a period of `kind` with `cells` is decided in: it, its parts with
    /// their fixed masks and (for a year) each quarter's months; `None` when there is
    /// nothing to decide (nothing counted, or no threshold).
    fn universe_for(
        &mut self,
        kind: PeriodKind,
        cells: &[CubeCell],
        parts: &[(PeriodKind, Period)],
        fixed: &[(Vec<CubeCell>, Vec<u16>, Vec<usize>)],
    ) -> Result<Option<Job>> {
        if self.min_cell <= 1 || cells.is_empty() {
            return Ok(None);
        }
        let mut axes = Axes::new(&self.catalogue);
        let mut cubes = vec![axes.cube(cells, u64::from(self.min_cell), kind)];
        let mut children = vec![Vec::new()];
        let mut masks: Vec<Option<Vec<u16>>> = vec![None];
        // Parts, then (for a year) each quarter's months, each at its own threshold.
        for ((part_kind, part), (part_cells, part_masks, _)) in parts.iter().zip(fixed) {
            let index = cubes.len();
            children[0].push(index);
            let threshold = self.threshold_of(*part_kind, part);
            cubes.push(axes.cube(part_cells, threshold, *part_kind));
            children.push(Vec::new());
            masks.push(Some(part_masks.clone()));
            for (sub_kind, sub) in self.parts(*part_kind, part) {
                let sub_cells = self.decided(sub_kind, &sub)?;
                let (sub_cells, sub_masks, _) = decided_as_cells(sub_kind, &sub, &sub_cells);
                let threshold = self.threshold_of(sub_kind, &sub);
                children[index].push(cubes.len());
                cubes.push(axes.cube(&sub_cells, threshold, sub_kind));
                children.push(Vec::new());
                masks.push(Some(sub_masks));
            }
        }
        Ok(Some((Universe::new(axes.shape(), cubes, children), masks)))
    }

    /// Decides ahead, in parallel, the quarters that printing `periods` of `kind` (a
    /// quarter or a year) will decide: each rests on its own months only, which are
    /// decided first, one after another.
    fn decide_quarters_ahead(&mut self, kind: PeriodKind, periods: &[Period]) -> Result<()> {
        let quarters: Vec<Period> = match kind {
            PeriodKind::Quarter => periods.to_vec(),
            PeriodKind::FiscalYear => periods
                .iter()
                .flat_map(|year| self.parts(kind, year).into_iter().map(|(_, q)| q))
                .collect(),
            PeriodKind::Week | PeriodKind::Month => return Ok(()),
        };
        let mut work = Vec::new();
        for quarter in quarters {
            let known = self
                .decided
                .contains_key(&(PeriodKind::Quarter, quarter.start))
                || (self.keeps
                    && self
                        .store
                        .decided_cells(PeriodKind::Quarter, quarter.start)?
                        .is_some());
            if known {
                continue;
            }
            let parts = self.parts(PeriodKind::Quarter, &quarter);
            let mut fixed = Vec::new();
            for (part_kind, part) in &parts {
                let cells = self.decided(*part_kind, part)?;
                fixed.push(decided_as_cells(*part_kind, part, &cells));
            }
            let cells = self.cube(PeriodKind::Quarter, &quarter)?;
            if let Some(job) = self.universe_for(PeriodKind::Quarter, &cells, &parts, &fixed)? {
                work.push((quarter.start, job));
            }
        }
        for (start, masks, fell_back) in in_parallel(&work) {
            if fell_back {
                self.fell_back
                    .push(self.calendar.period_of(PeriodKind::Quarter, start).label);
            }
            self.ahead.insert((PeriodKind::Quarter, start), masks);
        }
        Ok(())
    }

    /// Decides ahead, in parallel, the finest periods (weeks or months) that printing
    /// `periods` of `kind` will decide: those of the periods and, for a release, the
    /// earlier ones of their fiscal years.
    fn decide_ahead(&mut self, kind: PeriodKind, periods: &[Period]) -> Result<()> {
        let leaf_kind = if kind == PeriodKind::Week {
            PeriodKind::Week
        } else {
            PeriodKind::Month
        };
        let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
            return Ok(());
        };
        let from = if self.keeps {
            self.calendar.year_of(first.start).first_day()
        } else {
            first.start
        };
        let mut leaves = Vec::new();
        let mut at = self.calendar.period_of(leaf_kind, from);
        while at.start <= last.end {
            let next = at.end + Days::new(1);
            leaves.push(at);
            at = self.calendar.period_of(leaf_kind, next);
        }
        let mut work = Vec::new();
        for leaf in leaves {
            let known = self.decided.contains_key(&(leaf_kind, leaf.start))
                || (self.keeps && self.store.decided_cells(leaf_kind, leaf.start)?.is_some());
            if !known {
                let cells = self.cube(leaf_kind, &leaf)?;
                work.push((leaf.start, cells));
            }
        }
        if self.min_cell <= 1 || work.len() < 2 {
            return Ok(());
        }
        let min_cell = u64::from(self.min_cell);
        let work: Vec<_> = work
            .into_iter()
            .map(|(start, cells)| {
                let mut axes = Axes::new(&self.catalogue);
                let cube = axes.cube(&cells, min_cell, leaf_kind);
                let universe = Universe::new(axes.shape(), vec![cube], vec![Vec::new()]);
                (start, (universe, vec![None]))
            })
            .collect();
        for (start, masks, fell_back) in in_parallel(&work) {
            if fell_back {
                self.fell_back
                    .push(self.calendar.period_of(leaf_kind, start).label);
            }
            self.ahead.insert((leaf_kind, start), masks);
        }
        Ok(())
    }

    /// The threshold a decided period was decided at (never below the program's).
    fn threshold_of(&self, kind: PeriodKind, period: &Period) -> u64 {
        let decided = self.decided.get(&(kind, period.start));
        u64::from(decided.map_or(self.min_cell, |(min_cell, _)| *min_cell))
    }

    /// The rows of `periods` (all of `kind`) a `dimensions` report prints, in order.
    pub fn rows(
        &mut self,
        kind: PeriodKind,
        periods: &[Period],
        dimensions: Dimensions,
    ) -> Result<Vec<ReportRow>> {
        self.decide_ahead(kind, periods)?;
        self.decide_quarters_ahead(kind, periods)?;
        let mut rows = Vec::new();
        for period in periods {
            let mut cells: Vec<DecidedCell> = self
                .decided(kind, period)?
                .into_iter()
                .filter(|cell| shown(dimensions, &cell.site, &cell.item))
                .collect();
            cells.sort_by(|a, b| {
                ((a.site == ALL, &a.site), &a.item).cmp(&((b.site == ALL, &b.site), &b.item))
            });
            rows.extend(cells.into_iter().map(|cell| ReportRow {
                period: period.clone(),
                item: cell.item.label().to_owned(),
                site: cell.site,
                measures: cell.measures,
                hidden: cell.hidden,
            }));
        }
        Ok(rows)
    }
}

/// A decision to make: the universe, and the masks of the periods in it decided
/// before (`None` for the one being decided, which comes first).
type Job = (Universe, Vec<Option<Vec<u16>>>);

/// Each universe's decision (the masks of its first period), on every core.
fn in_parallel(work: &[(NaiveDate, Job)]) -> Vec<(NaiveDate, Vec<u16>, bool)> {
    if work.is_empty() {
        return Vec::new();
    }
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let chunk = work.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(start, (universe, fixed))| {
                            let decision = decide(universe, fixed);
                            let masks = decision.masks.into_iter().next().unwrap_or_default();
                            (*start, masks, decision.fell_back)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a decision thread does not panic"))
            .collect()
    })
}

/// Decided cells as counted cells and their masks, in one order.
fn decided_as_cells(
    kind: PeriodKind,
    period: &Period,
    cells: &[DecidedCell],
) -> (Vec<CubeCell>, Vec<u16>, Vec<usize>) {
    let counted = cells
        .iter()
        .map(|cell| CubeCell {
            kind,
            period: period.clone(),
            site: cell.site.clone(),
            item: cell.item.clone(),
            measures: cell.measures,
        })
        .collect();
    let masks = cells.iter().map(|cell| cell.hidden).collect();
    (counted, masks, Vec::new())
}

/// Whether a cube cell is a row of the `--by` table.
fn shown(dimensions: Dimensions, site: &str, item: &ItemKey) -> bool {
    let site_ok = dimensions.site || site == ALL;
    let item_ok = matches!(
        (dimensions.item, item),
        (_, ItemKey::All)
            | (ItemLevel::Item, ItemKey::Item(_))
            | (ItemLevel::Category, ItemKey::Category(_))
    );
    site_ok && item_ok
}

/// The numbering of sites, items and categories that the suppression engine works in.
#[derive(Debug)]
struct Axes {
    sites: HashMap<String, u32>,
    items: HashMap<String, u32>,
    item_category: Vec<u32>,
}

impl Axes {
    fn new(catalogue: &Catalogue) -> Self {
        let mut axes = Axes {
            sites: HashMap::new(),
            items: HashMap::new(),
            item_category: Vec::new(),
        };
        for site in &catalogue.sites {
            axes.site(&site.name);
        }
        for item in &catalogue.items {
            axes.item(&item.name, item.category);
        }
        axes
    }

    fn site(&mut self, name: &str) -> u32 {
        let next = u32::try_from(self.sites.len()).expect("fewer than four billion sites");
        *self.sites.entry(name.to_owned()).or_insert(next)
    }

    fn item(&mut self, name: &str, category: Category) -> u32 {
        let next = u32::try_from(self.items.len()).expect("fewer than four billion items");
        *self.items.entry(name.to_owned()).or_insert_with(|| {
            self.item_category.push(category_index(category));
            next
        })
    }

    fn cube(&mut self, cells: &[CubeCell], min_cell: u64, kind: PeriodKind) -> Cube {
        let cells = cells
            .iter()
            .map(|cell| {
                let row = if cell.site == ALL {
                    Row::All
                } else {
                    Row::Site(self.site(&cell.site))
                };
                let key = match &cell.item {
                    // An item no longer in the catalogue (impossible: items are never
                    // deleted) counts as "other", as the counter files it.
                    ItemKey::Item(name) => Key::Item(self.item(name, Category::Other)),
                    ItemKey::Category(name) => Key::Category(category_index(
                        Category::parse(name).unwrap_or(Category::Other),
                    )),
                    ItemKey::All => Key::All,
                };
                (row, key, cell.measures)
            })
            .collect();
        Cube {
            cells,
            min_cell,
            is_fiscal_year: kind == PeriodKind::FiscalYear,
        }
    }

    fn shape(&self) -> Shape {
        Shape {
            item_category: self.item_category.clone(),
            categories: u32::try_from(Category::ALL.len()).expect("five categories"),
            naloxone: Some(category_index(Category::Naloxone)),
        }
    }
}

fn category_index(category: Category) -> u32 {
    let index = Category::ALL
        .iter()
        .position(|c| *c == category)
        .expect("every category is in Category::ALL");
    u32::try_from(index).expect("five categories")
}
