//! Which entries to hide: small cells whole (primary), then whatever else the
//! witnesses need (complementary), cheapest first, until every small cell's every count
//! has at least `min_cell` values no reader can rule out.

use super::lp::{Changes, Goal, SLACK, Scope};
use super::model::{EntryId, Key, Row, Universe, all_measures};
use super::witness::Direction;
use crate::measures::{MEASURE_COUNT, Measure};

/// The hidden measures of every cell of every period of a universe: bit `m` of a mask
/// is set when measure `m` is hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Per period, per cell (in the cube's order).
    pub masks: Vec<Vec<u16>>,
    /// The search could not protect some cell one count at a time and hid more
    /// bluntly instead (fail closed, a step at a time); reported so that it is seen.
    pub fell_back: bool,
}

/// The steps of failing closed, bluntest last, for a small cell no chosen complement
/// protects. A program total of exactly `min_cell` contacts over two rows is the usual
/// case: each row could only be 1 to `min_cell - 1`, so only hiding the total helps.
/// After each step the cell is checked again over the whole universe.
#[derive(Debug, Clone, Copy)]
enum FailClosed {
    /// Everything that may be hidden in the cell's period, the periods above it and
    /// those under it.
    Family,
    /// Everything that may be hidden, anywhere in the universe.
    Universe,
    /// The program totals' contacts and participants of that family of periods (never
    /// hidden otherwise: they are what funders ask for first).
    FamilyTotals,
    /// Every program total being decided.
    Totals,
}

impl FailClosed {
    const STEPS: [FailClosed; 4] = [
        FailClosed::Family,
        FailClosed::Universe,
        FailClosed::FamilyTotals,
        FailClosed::Totals,
    ];
}

/// A direction and the steps it can take.
type Move = (super::witness::Direction, i64, i64);

/// How many hidden rows beside its own a program about one cell lets move in full
/// (every column of them), the largest first; and how many published rows. More
/// finds cheaper complements, but each program grows with every row (measured on a
/// year of months at 10 sites and 20 items: 4 and 3 took twice as long as 2 and 1 for
/// one busy site total more in 36).
const PARTNER_ROWS: usize = 2;
const OPEN_PARTNER_ROWS: usize = 1;

/// What [`Search::spans`] finds.
struct Witnesses {
    /// Per measure asked for, the span its usable witnesses reach.
    spans: Vec<Span>,
}

/// A count's range among the witnesses found so far, against the width it needs.
#[derive(Debug, Clone, Copy)]
struct Span {
    low: i64,
    high: i64,
}

/// The decision in progress.
struct Search<'u> {
    universe: &'u Universe,
    hidden: Vec<bool>,
    /// Entries this decision may hide (those of the periods being decided).
    free: Vec<bool>,
    /// Per cell, every shape's direction that can move (their steps do not depend on
    /// what is hidden, only whether they may be taken does): built once.
    moves: std::collections::HashMap<(usize, Row, Key), std::rc::Rc<Vec<Move>>>,
    /// Counts a linear program has shown to be wide enough: hiding only adds room, so
    /// this stays true.
    proven: std::collections::HashSet<EntryId>,
    /// Witnesses programs found, by the cells `(period, cell)` they move.
    shared: std::collections::HashMap<(usize, usize), Vec<std::rc::Rc<Move>>>,
    /// The reader's upper bounds ([`Universe::upper_bounds`]) and how many entries
    /// were hidden when they were worked out.
    bounds: (usize, Vec<i64>),
    /// Per entry, the least and greatest change from its true value in any program's
    /// point so far (each a table the reader cannot rule out).
    seen: Vec<(i64, i64)>,
    /// Per period, whether this decision decides it (it has not been released).
    deciding: Vec<bool>,
}

/// Decides the periods of `universe` whose entry in `fixed` is `None`, given the masks
/// of those already decided (which are never changed: they have been released).
///
/// Periods being decided start from their small cells, hidden whole, and from what
/// their parts hide (a quarter hides a count when any of its months does, so that a
/// quarter's published numbers are sums of published months and subtracting one from
/// the other tells nothing). Then each small cell of the universe, decided before or
/// now, is checked: for each of its counts, the witnesses must reach at least
/// `min_cell` values, unless the count is zero and the reader can see that it is (a
/// published total of zero says nothing about one group). Where they do not, the
/// cheapest set of entries whose hiding opens a witness is hidden, and the checks run
/// again; hiding only ever adds witnesses, so this ends.
#[must_use]
pub fn decide(universe: &Universe, fixed: &[Option<Vec<u16>>]) -> Decision {
    let entries = universe.values.len();
    let mut search = Search {
        universe,
        hidden: vec![false; entries],
        free: vec![false; entries],
        moves: std::collections::HashMap::new(),
        proven: std::collections::HashSet::new(),
        shared: std::collections::HashMap::new(),
        bounds: (usize::MAX, Vec::new()),
        seen: vec![(0, 0); entries],
        deciding: fixed.iter().map(Option::is_none).collect(),
    };
    for (period, cube) in universe.cubes.iter().enumerate() {
        for (cell, (_, _, measures)) in cube.cells.iter().enumerate() {
            let first = universe.base[period] + cell * MEASURE_COUNT;
            if let Some(masks) = &fixed[period] {
                for m in 0..MEASURE_COUNT {
                    search.hidden[first + m] = masks[cell] & (1 << m) != 0;
                }
            } else {
                let small = cube.is_small(measures);
                let (row, key, _) = cube.cells[cell];
                for m in 0..MEASURE_COUNT {
                    // The program total's contacts and participants are published
                    // whenever the total is not small: never a complement.
                    let headline = (row, key) == (Row::All, Key::All)
                        && (m == Measure::Contacts as usize || m == Measure::Participants as usize);
                    search.free[first + m] = !headline || small;
                    search.hidden[first + m] = small;
                }
            }
        }
    }
    search.inherit_all();

    let mut small: Vec<(usize, usize)> = Vec::new();
    for (period, cube) in universe.cubes.iter().enumerate() {
        for (cell, (_, _, measures)) in cube.cells.iter().enumerate() {
            if cube.is_small(measures) {
                small.push((period, cell));
            }
        }
    }
    let mut fell_back = false;
    // Per small cell, how many steps of failing closed it has taken.
    let mut blunt = vec![0usize; small.len()];
    loop {
        let mut changed = false;
        for (index, &(period, cell)) in small.iter().enumerate() {
            search.sweep(period, cell);
            while let Some(measure) = search.first_unprotected(period, cell) {
                if blunt[index] == 0 {
                    if search.open_witness(period, cell, measure) {
                        changed = true;
                        continue;
                    }
                } else if search.wide_anywhere(period, cell, measure) {
                    continue;
                }
                // Fail closed, one step further; past the last, nothing more can be
                // hidden for this cell (what is left was released before).
                let Some(step) = FailClosed::STEPS.get(blunt[index]) else {
                    break;
                };
                blunt[index] += 1;
                search.fail_closed(*step, period);
                fell_back = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let masks = universe
        .cubes
        .iter()
        .enumerate()
        .map(|(period, cube)| {
            (0..cube.cells.len())
                .map(|cell| {
                    let first = universe.base[period] + cell * MEASURE_COUNT;
                    (0..MEASURE_COUNT)
                        .filter(|m| search.hidden[first + m])
                        .fold(0u16, |mask, m| mask | (1 << m))
                })
                .collect()
        })
        .collect();
    Decision { masks, fell_back }
}

impl Search<'_> {
    /// Hides in every free coarse period what any of its parts hides.
    fn inherit_all(&mut self) {
        let universe = self.universe;
        // Children before parents: a period's parts are decided before it is.
        let mut order: Vec<usize> = (0..universe.cubes.len()).collect();
        order.sort_by_key(|&p| std::cmp::Reverse(universe.ancestors(p).len()));
        for coarse in order {
            for &fine in &universe.children[coarse] {
                for (cell, (row, key, _)) in universe.cubes[fine].cells.iter().enumerate() {
                    for measure in all_measures() {
                        let entry = universe.base[fine] + cell * MEASURE_COUNT + measure as usize;
                        if !self.hidden[entry] {
                            continue;
                        }
                        if let Some(up) = universe.entry(coarse, *row, *key, measure) {
                            if self.free[up as usize] {
                                self.hidden[up as usize] = true;
                            }
                        }
                    }
                }
            }
        }
    }

    fn hide(&mut self, entry: EntryId) {
        self.hidden[entry as usize] = true;
        // A coarse period being decided hides what its parts hide.
        let (period, cell, measure) = self.universe.locate(entry);
        let (row, key, _) = self.universe.cubes[period].cells[cell];
        for up in self.universe.ancestors(period) {
            if let Some(e) = self.universe.entry(up, row, key, measure) {
                if self.free[e as usize] {
                    self.hidden[e as usize] = true;
                }
            }
        }
    }

    /// Takes one step of failing closed for a cell of `period`.
    fn fail_closed(&mut self, step: FailClosed, period: usize) {
        let universe = self.universe;
        let family: Vec<usize> = match step {
            FailClosed::Family | FailClosed::FamilyTotals => {
                let mut family = universe.ancestors(period);
                family.extend(universe.descendants(period));
                family
            }
            FailClosed::Universe | FailClosed::Totals => (0..universe.cubes.len()).collect(),
        };
        for period in family {
            if !self.deciding[period] {
                continue;
            }
            match step {
                FailClosed::Family | FailClosed::Universe => {
                    let first = universe.base[period];
                    let last = first + universe.cubes[period].cells.len() * MEASURE_COUNT;
                    for entry in first..last {
                        self.hidden[entry] |= self.free[entry];
                    }
                }
                FailClosed::FamilyTotals | FailClosed::Totals => {
                    for measure in [Measure::Contacts, Measure::Participants] {
                        if let Some(entry) = universe.entry(period, Row::All, Key::All, measure) {
                            self.free[entry as usize] = true;
                            self.hidden[entry as usize] = true;
                        }
                    }
                }
            }
        }
    }

    /// Whether what is hidden anywhere gives `measure` of the cell its width: the check
    /// after a step of failing closed.
    fn wide_anywhere(&mut self, period: usize, cell: usize, measure: Measure) -> bool {
        let universe = self.universe;
        let (row, key, _) = universe.cubes[period].cells[cell];
        let current = self.spans(period, row, key, &[measure]).spans[0];
        let entry = universe
            .entry(period, row, key, measure)
            .expect("the cell exists");
        let partners = self.partners(period, row, key);
        self.wide_enough(
            entry,
            current,
            &universe.neighbourhood(period, key, measure, &partners, Scope::Everything),
        )
    }

    fn moves(&mut self, period: usize, row: Row, key: Key) -> std::rc::Rc<Vec<Move>> {
        let universe = self.universe;
        self.moves
            .entry((period, row, key))
            .or_insert_with(|| {
                let moves = universe
                    .shapes_for(period, row, key)
                    .iter()
                    .filter_map(|shape| universe.direction(shape))
                    .filter_map(|direction| {
                        let (low, high) = universe.line_search(&direction)?;
                        (low < 0 || high > 0).then_some((direction, low, high))
                    })
                    .collect();
                std::rc::Rc::new(moves)
            })
            .clone()
    }

    /// The measures a small cell must keep uncertain: all but those the format fixes
    /// (kits by reason where there can be none; new participants of a fiscal year, which
    /// are its participants).
    fn protected(&self, period: usize, key: Key) -> Vec<Measure> {
        all_measures()
            .filter(|m| !super::model::is_reason(*m) || self.universe.shape.carries_reasons(key))
            .filter(|m| {
                !(self.universe.cubes[period].is_fiscal_year && *m == Measure::NewParticipants)
            })
            .collect()
    }

    /// The first count of a small cell whose witnesses do not yet span `min_cell` values.
    fn first_unprotected(&mut self, period: usize, cell: usize) -> Option<Measure> {
        self.unprotected(period, cell).first().copied()
    }

    /// Whether `measure` of a period decided before needs no new check: reversals,
    /// returned and for-others share facts with nothing but themselves and add up
    /// over periods, so a coarser period whose published counts of the measure are
    /// each over parts all published (it hides what its parts hide) tells a reader
    /// nothing the parts did not: given the parts, its counts are their sums. The
    /// decision that released the parts showed them wide enough already.
    fn settled_before(&self, measure: Measure) -> bool {
        if !matches!(
            measure,
            Measure::Reversals | Measure::Returned | Measure::ForOthers
        ) {
            return false;
        }
        let universe = self.universe;
        (0..universe.cubes.len()).all(|coarse| {
            universe.cubes[coarse].cells.iter().all(|(row, key, _)| {
                let Some(up) = universe.entry(coarse, *row, *key, measure) else {
                    return true;
                };
                self.hidden[up as usize]
                    || universe.children[coarse].iter().all(|&fine| {
                        universe
                            .entry(fine, *row, *key, measure)
                            .is_none_or(|down| !self.hidden[down as usize])
                    })
            })
        })
    }

    /// Before a small cell's counts are given their width one at a time: two programs
    /// (up, then down) that move all of its counts still short of it together. Their
    /// points often give most of them the width at once, and spare a program each.
    fn sweep(&mut self, period: usize, cell: usize) {
        let universe = self.universe;
        let measures = self.unprotected(period, cell);
        if measures.len() < 2 {
            return;
        }
        let (row, key, _) = universe.cubes[period].cells[cell];
        let partners = self.partners(period, row, key);
        let best = self.best_leaf(period, row, key, measures[0]);
        let mut near: Vec<EntryId> = measures
            .iter()
            .flat_map(|m| universe.neighbourhood(period, key, *m, &partners, Scope::Chain(best)))
            .collect();
        near.sort_unstable();
        near.dedup();
        let targets: Vec<EntryId> = measures
            .iter()
            .filter_map(|m| universe.entry(period, row, key, *m))
            .collect();
        let needed = self.width(period);
        for up in [true, false] {
            let point = universe.sweep(&near, &self.hidden, &targets, up, needed);
            self.saw(&point);
        }
    }

    /// The counts of a small cell whose witnesses do not yet span `min_cell` values.
    fn unprotected(&mut self, period: usize, cell: usize) -> Vec<Measure> {
        let (row, key, _) = self.universe.cubes[period].cells[cell];
        let mut measures = self.protected(period, key);
        if !self.deciding[period] {
            measures.retain(|m| !self.settled_before(*m));
        }
        let spans = self.spans(period, row, key, &measures).spans;
        let needed = self.width(period);
        let mut out = Vec::new();
        for (measure, span) in measures.into_iter().zip(spans) {
            let entry = self
                .universe
                .entry(period, row, key, measure)
                .expect("a cell's own entry");
            let span = self.with_seen(entry, span);
            if span.high - span.low >= needed
                || self.proven.contains(&entry)
                || (self.universe.values[entry as usize] == 0 && self.upper_bound(entry) == 0)
            {
                continue;
            }
            out.push(measure);
        }
        out
    }

    /// The span of each of `measures` of a cell over the witnesses of the fixed shapes
    /// (alone, and several together).
    fn spans(&mut self, period: usize, row: Row, key: Key, measures: &[Measure]) -> Witnesses {
        let universe = self.universe;
        let own: Vec<EntryId> = measures
            .iter()
            .map(|m| {
                universe
                    .entry(period, row, key, *m)
                    .expect("the cell exists")
            })
            .collect();
        let mut spans: Vec<Span> = own
            .iter()
            .map(|e| {
                let value = universe.values[*e as usize];
                Span {
                    low: value,
                    high: value,
                }
            })
            .collect();
        let mut usable: Vec<Move> = Vec::new();
        let shared: Vec<std::rc::Rc<Move>> = universe
            .cell(period, row, key)
            .and_then(|cell| self.shared.get(&(period, cell)))
            .cloned()
            .unwrap_or_default();
        let own_moves = self.moves(period, row, key);
        for (direction, low, high) in own_moves.iter().chain(shared.iter().map(|m| &**m)) {
            let coefficient = |entry: EntryId| {
                direction
                    .binary_search_by_key(&entry, |(e, _)| *e)
                    .map_or(0, |at| direction[at].1)
            };
            if own.iter().all(|e| coefficient(*e) == 0)
                || direction.iter().any(|(e, _)| !self.hidden[*e as usize])
            {
                continue;
            }
            for (span, entry) in spans.iter_mut().zip(&own) {
                let c = coefficient(*entry);
                let value = universe.values[*entry as usize];
                span.low = span.low.min(value + low * c).min(value + high * c);
                span.high = span.high.max(value + low * c).max(value + high * c);
            }
            usable.push((direction.clone(), *low, *high));
        }
        // One partner may not be enough: several moves together, each as far as it
        // goes on its own, widen a count further when they still fit together.
        let needed = self.width(period);
        for (span, entry) in spans.iter_mut().zip(&own) {
            if span.high - span.low >= needed {
                continue;
            }
            let value = universe.values[*entry as usize];
            span.high = span
                .high
                .max(value + universe.combined_reach(*entry, &usable, true, needed));
            span.low = span
                .low
                .min(value - universe.combined_reach(*entry, &usable, false, needed));
        }
        Witnesses { spans }
    }

    /// The upper bound a reader can put on `entry` by propagation, worked out again
    /// whenever more is hidden.
    fn upper_bound(&mut self, entry: EntryId) -> i64 {
        let count = self.hidden.iter().filter(|h| **h).count();
        if self.bounds.0 != count {
            self.bounds = (count, self.universe.upper_bounds(&self.hidden));
        }
        self.bounds.1[entry as usize]
    }

    /// What hiding an entry costs a funder: detail before totals, quantities and rare
    /// counts before contacts and participants; the program total's contacts and
    /// participants are never hidden unless small; quarters and years cost more than
    /// months and weeks.
    fn cost(&self, entry: EntryId) -> u64 {
        let (period, cell, measure) = self.universe.locate(entry);
        let (row, key, _) = self.universe.cubes[period].cells[cell];
        let level = match (row, key) {
            (Row::Site(_), Key::Item(_)) => 1,
            (Row::Site(_), Key::Category(_)) => 2,
            (Row::All, Key::Item(_)) => 6,
            (Row::All, Key::Category(_)) => 12,
            (Row::Site(_), Key::All) => 20,
            (Row::All, Key::All) => 400,
        };
        let weight = match measure {
            Measure::Contacts | Measure::Participants => {
                if (row, key) == (Row::All, Key::All) {
                    return u64::MAX / 1024;
                }
                8
            }
            Measure::NewParticipants | Measure::AnonymousContacts => 4,
            Measure::Quantity if key != Key::All => 3,
            _ => 1,
        };
        let coarse = if self.universe.children[period].is_empty() {
            1
        } else {
            2
        };
        // A cell whose contacts or participants are hidden already has lost what a
        // funder reads it for: hiding more of it costs little, so complements gather
        // in the same few cells instead of spreading a measure here and one there.
        let first = self.universe.base[period] + cell * MEASURE_COUNT;
        let spent = self.hidden[first + Measure::Contacts as usize]
            || self.hidden[first + Measure::Participants as usize];
        let discount = if spent { 8 } else { 1 };
        (level * weight * coarse / discount).max(1)
    }

    /// Gives `measure` of the cell its width: the cheapest linear-programming witness,
    /// up or down, says which published counts must be hidden for it (often none: the
    /// fixed shapes only missed it). Blunt hiding when no witness can be had.
    fn open_witness(&mut self, period: usize, cell: usize, measure: Measure) -> bool {
        let (row, key, _) = self.universe.cubes[period].cells[cell];
        let current = self.spans(period, row, key, &[measure]).spans[0];
        if self.open_by_program(period, row, key, measure, current) {
            return true;
        }
        self.hide_column(period, row, key)
    }

    /// Hides what the cheapest linear-programming witness moves, up or down, to give
    /// `measure` of the cell its width. False when neither way is possible.
    fn open_by_program(
        &mut self,
        period: usize,
        row: Row,
        key: Key,
        measure: Measure,
        current: Span,
    ) -> bool {
        let universe = self.universe;
        let partners = self.partners(period, row, key);
        let best = self.best_leaf(period, row, key, measure);
        // First whether what is hidden already gives the width, in a small program;
        // then, choosing what to hide, the program over the chain of periods; the
        // whole universe when that finds nothing (a count of a coarse period can need
        // room in periods and rows far from it).
        let entry = universe
            .entry(period, row, key, measure)
            .expect("the cell exists");
        if self.wide_enough(
            entry,
            current,
            &universe.neighbourhood(period, key, measure, &partners, Scope::Narrow(best)),
        ) {
            return true;
        }
        [Scope::Chain(best), Scope::Everything]
            .into_iter()
            .any(|scope| {
                self.open_by_program_in((period, row, key), measure, current, &partners, scope)
            })
    }

    /// The finest period under `period` where the cell's `measure` is largest: it lends
    /// the most room.
    fn best_leaf(&self, period: usize, row: Row, key: Key, measure: Measure) -> usize {
        let universe = self.universe;
        universe
            .leaves(period)
            .into_iter()
            .map(|leaf| {
                let size = universe
                    .cell(leaf, row, key)
                    .map_or(0, |cell| universe.cubes[leaf].cells[cell].2[measure]);
                (size, leaf)
            })
            .max()
            .map_or(period, |(_, leaf)| leaf)
    }

    /// [`Search::open_by_program`] over the entries of `scope`.
    fn open_by_program_in(
        &mut self,
        (period, row, key): (usize, Row, Key),
        measure: Measure,
        current: Span,
        partners: &[Row],
        scope: Scope,
    ) -> bool {
        let universe = self.universe;
        let needed = self.width(period);
        let entry = universe
            .entry(period, row, key, measure)
            .expect("the cell exists");
        let value = universe.values[entry as usize];
        let near = universe.neighbourhood(period, key, measure, partners, scope);
        let current = self.reach(entry, current, &near);
        if current.high - current.low >= needed {
            self.proven.insert(entry);
            return true;
        }
        let search: &Search<'_> = self;
        let cost = |e: EntryId| search.cost(e);
        for up in [true, false] {
            let need = if up {
                current.low + needed - value
            } else {
                value - (current.high - needed)
            };
            if need <= 0 {
                continue;
            }
            if let Some(opening) = universe.cheapest(
                &near,
                &self.hidden,
                &self.free,
                &cost,
                Goal {
                    target: entry,
                    up,
                    need,
                },
            ) {
                // The program's point is a witness once these are hidden: the count
                // reaches `need` one way, and the span found so far the other.
                for e in opening.hide {
                    self.hide(e);
                }
                self.saw(&opening.changes);
                self.proven.insert(entry);
                if let Some(direction) = opening.direction {
                    self.share(direction);
                }
                return true;
            }
        }
        false
    }

    /// The rows a program about cell `(period, row, key)` lets move in full, beside the
    /// cell's column: its own row, the ALL row, the rows whose cell in the column is
    /// hidden, and the three largest of the rest (the likeliest to lend room).
    fn partners(&self, period: usize, row: Row, key: Key) -> Vec<Row> {
        let universe = self.universe;
        let mut hidden = vec![row, Row::All];
        let mut open: Vec<(u64, Row)> = Vec::new();
        for leaf in universe.leaves(period) {
            for (cell, (r, k, measures)) in universe.cubes[leaf].cells.iter().enumerate() {
                if *k != key || *r == row || *r == Row::All {
                    continue;
                }
                let first = universe.base[leaf] + cell * MEASURE_COUNT;
                if self.hidden[first + Measure::Contacts as usize] {
                    hidden.push(*r);
                } else {
                    open.push((measures[Measure::Contacts], *r));
                }
            }
        }
        // The program grows with every row it takes: keep the rows with the most room.
        hidden.sort_unstable();
        hidden.dedup();
        let mut extra: Vec<(u64, Row)> = hidden
            .iter()
            .filter(|r| **r != row && **r != Row::All)
            .map(|r| (self.column_contacts(period, *r, key), *r))
            .collect();
        extra.sort_by(|a, b| b.cmp(a));
        let mut rows = vec![Row::All];
        rows.extend(extra.into_iter().take(PARTNER_ROWS).map(|(_, r)| r));
        open.sort_by(|a, b| b.cmp(a));
        rows.extend(open.into_iter().take(OPEN_PARTNER_ROWS).map(|(_, r)| r));
        rows.sort_unstable();
        rows.dedup();
        rows.retain(|r| *r != row);
        rows.insert(0, row);
        rows
    }

    /// Contacts of row `row` in column `key` over the finest periods under `period`.
    fn column_contacts(&self, period: usize, row: Row, key: Key) -> u64 {
        self.universe
            .leaves(period)
            .into_iter()
            .filter_map(|leaf| {
                let cell = self.universe.cell(leaf, row, key)?;
                Some(self.universe.cubes[leaf].cells[cell].2[Measure::Contacts])
            })
            .sum()
    }

    /// `current` widened by what the hidden counts among `near` already allow, up and
    /// down (two tables a reader cannot tell from the true one; between them, the
    /// width is often there, split between the two ways). A program is solved only
    /// while the width is not there yet.
    fn reach(&mut self, entry: EntryId, current: Span, near: &[EntryId]) -> Span {
        let universe = self.universe;
        let needed = self.needed(entry);
        let value = universe.values[entry as usize];
        let mut span = self.with_seen(entry, current);
        for up in [true, false] {
            if span.high - span.low >= needed {
                break;
            }
            let (change, point) = universe.reach(near, &self.hidden, entry, up);
            self.saw(&point);
            if up {
                span.high = span.high.max(value + change);
            } else {
                span.low = span.low.min(value + change);
            }
        }
        span
    }

    /// The width a count of `entry`'s period needs.
    fn needed(&self, entry: EntryId) -> i64 {
        let (period, _, _) = self.universe.locate(entry);
        self.width(period)
    }

    /// The width a count of `period` needs: `min_cell` values, from low to high.
    fn width(&self, period: usize) -> i64 {
        i64::try_from(self.universe.cubes[period].min_cell).unwrap_or(i64::MAX) - 1
    }

    /// `span` widened by the points of earlier programs.
    fn with_seen(&self, entry: EntryId, span: Span) -> Span {
        let value = self.universe.values[entry as usize];
        let (low, high) = self.seen[entry as usize];
        Span {
            low: span.low.min(value + low),
            high: span.high.max(value + high),
        }
    }

    /// Keeps a program's point: a table the reader cannot rule out, as is the true
    /// one, and (the reader's tables being a convex set, which only grows as more is
    /// hidden) every whole value between the two, for every entry it moves.
    fn saw(&mut self, point: &Changes) {
        for &(entry, change) in point {
            let seen = &mut self.seen[entry as usize];
            #[expect(clippy::cast_possible_truncation, reason = "a small count")]
            {
                seen.1 = seen.1.max((change + SLACK).floor().min(1e9) as i64);
                seen.0 = seen.0.min((change - SLACK).ceil().max(-1e9) as i64);
            }
        }
    }

    /// Whether what is hidden among `near` already gives `entry` its width; remembered
    /// when it does.
    fn wide_enough(&mut self, entry: EntryId, current: Span, near: &[EntryId]) -> bool {
        let span = self.reach(entry, current, near);
        let wide = span.high - span.low >= self.needed(entry);
        if wide {
            self.proven.insert(entry);
        }
        wide
    }

    /// Keeps a witness a program found as a move of every cell it moves: it is a
    /// witness for them too, and often spares them a program of their own.
    fn share(&mut self, direction: Direction) {
        let universe = self.universe;
        let Some((low, high)) = universe.line_search(&direction) else {
            return;
        };
        let shared = std::rc::Rc::new((direction, low, high));
        let mut cells: Vec<(usize, usize)> = shared
            .0
            .iter()
            .map(|(e, _)| {
                let (period, cell, _) = universe.locate(*e);
                (period, cell)
            })
            .collect();
        cells.dedup();
        cells.sort_unstable();
        cells.dedup();
        for cell in cells {
            self.shared.entry(cell).or_default().push(shared.clone());
        }
    }

    /// A last, blunt step before failing closed: hide the whole column and row of the
    /// cell (but the program total's contacts and participants), in every period being
    /// decided. False when that hides nothing new.
    fn hide_column(&mut self, period: usize, row: Row, key: Key) -> bool {
        let universe = self.universe;
        let mut changed = false;
        let mut periods = vec![period];
        periods.extend(universe.ancestors(period));
        periods.extend(universe.leaves(period));
        for p in periods {
            for (cell, (r, k, _)) in universe.cubes[p].cells.iter().enumerate() {
                if *k != key && *r != row {
                    continue;
                }
                for m in 0..MEASURE_COUNT {
                    let entry = universe.base[p] + cell * MEASURE_COUNT + m;
                    let headline = (*r, *k) == (Row::All, Key::All)
                        && (m == Measure::Contacts as usize || m == Measure::Participants as usize);
                    if self.free[entry] && !self.hidden[entry] && !headline {
                        self.hidden[entry] = true;
                        changed = true;
                    }
                }
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::measures::Measures;
    use crate::suppression::model::{Cube, Shape};

    /// One made-up contact: a site, item lines, and a participant (None = anonymous).
    #[derive(Clone)]
    pub(crate) struct Fake {
        pub(crate) site: u32,
        pub(crate) items: Vec<(u32, u64)>,
        pub(crate) who: Option<u32>,
    }

    /// Catalogue: items 0 (injection) and 1 (injection), 2 (smoking), 3 (naloxone).
    pub(crate) fn shape() -> Shape {
        Shape {
            item_category: vec![0, 0, 1, 2],
            categories: 3,
            naloxone: Some(2),
        }
    }

    /// Counts contacts into a cube the plain way, as the report builder would.
    pub(crate) fn count(
        shape: &Shape,
        contacts: &[Fake],
        min_cell: u64,
        is_fiscal_year: bool,
    ) -> Cube {
        let mut cells: BTreeMap<(Row, Key), (Measures, BTreeSet<u32>)> = BTreeMap::new();
        for contact in contacts {
            let mut keys: BTreeMap<Key, u64> = BTreeMap::new();
            for &(item, quantity) in &contact.items {
                *keys.entry(Key::Item(item)).or_default() += quantity;
                *keys
                    .entry(Key::Category(shape.item_category[item as usize]))
                    .or_default() += quantity;
                *keys.entry(Key::All).or_default() += quantity;
            }
            keys.entry(Key::All).or_default();
            for row in [Row::Site(contact.site), Row::All] {
                for (key, quantity) in &keys {
                    let (measures, people) = cells.entry((row, *key)).or_default();
                    measures[Measure::Contacts] += 1;
                    measures[Measure::Quantity] += quantity;
                    if shape.carries_reasons(*key) {
                        let kits: u64 = contact
                            .items
                            .iter()
                            .filter(|(i, _)| {
                                Some(shape.item_category[*i as usize]) == shape.naloxone
                            })
                            .filter(|(i, _)| {
                                *key == Key::All
                                    || *key == Key::Item(*i)
                                    || matches!(key, Key::Category(_))
                            })
                            .map(|(_, q)| q)
                            .sum();
                        measures[Measure::NaloxoneUnrecorded] += kits;
                    }
                    match contact.who {
                        Some(who) => {
                            people.insert(who);
                        }
                        None => measures[Measure::AnonymousContacts] += 1,
                    }
                }
            }
        }
        Cube {
            cells: cells
                .into_iter()
                .map(|((row, key), (mut measures, people))| {
                    measures[Measure::Participants] = people.len() as u64;
                    measures[Measure::NewParticipants] = people.len() as u64;
                    (row, key, measures)
                })
                .collect(),
            min_cell,
            is_fiscal_year,
        }
    }

    fn masks(cube: &Cube, decision: &Decision, period: usize) -> BTreeMap<(Row, Key), u16> {
        cube.cells
            .iter()
            .zip(&decision.masks[period])
            .map(|((row, key, _), mask)| ((*row, *key), *mask))
            .collect()
    }

    fn hidden(mask: u16, measure: Measure) -> bool {
        mask & (1 << measure as usize) != 0
    }

    fn people(site: u32, item: u32, from: u32, count: u32) -> Vec<Fake> {
        (from..from + count)
            .map(|who| Fake {
                site,
                items: vec![(item, 1)],
                who: Some(who),
            })
            .collect()
    }

    /// The review's worked example: 37 nasal naloxone contacts, 23 and 12 at two busy
    /// sites, one each at two tiny ones. Hiding only the tiny ones would leave each
    /// exactly 1; the decision hides more, and never the program total.
    #[test]
    fn two_tiny_sites_sharing_a_residual_of_two_pull_in_a_busy_site() {
        let shape = shape();
        let mut contacts = people(0, 3, 0, 23);
        contacts.extend(people(1, 3, 100, 12));
        contacts.extend(people(2, 3, 200, 1));
        contacts.extend(people(3, 3, 300, 1));
        let cube = count(&shape, &contacts, 5, false);
        let universe = Universe::new(shape, vec![cube.clone()], vec![Vec::new()]);
        let decision = decide(&universe, &[None]);
        assert!(!decision.fell_back);
        let masks = masks(&cube, &decision, 0);
        for site in [2, 3] {
            assert_eq!(
                masks[&(Row::Site(site), Key::Item(3))],
                u16::MAX,
                "site {site}"
            );
            assert_eq!(masks[&(Row::Site(site), Key::All)], u16::MAX, "site {site}");
        }
        let busy_hidden = [0, 1]
            .iter()
            .filter(|s| hidden(masks[&(Row::Site(**s), Key::Item(3))], Measure::Contacts))
            .count();
        assert!(
            busy_hidden >= 1,
            "a busy site's nasal contacts protect the tiny ones"
        );
        let total = masks[&(Row::All, Key::All)];
        assert!(!hidden(total, Measure::Contacts) && !hidden(total, Measure::Participants));
    }

    /// Nothing small, nothing hidden.
    #[test]
    fn a_program_of_large_cells_publishes_everything() {
        let shape = shape();
        let mut contacts = people(0, 0, 0, 20);
        contacts.extend(people(1, 0, 100, 20));
        contacts.extend(people(0, 2, 200, 10));
        contacts.extend(people(1, 2, 300, 10));
        let cube = count(&shape, &contacts, 5, false);
        let universe = Universe::new(shape, vec![cube], vec![Vec::new()]);
        let decision = decide(&universe, &[None]);
        assert!(decision.masks[0].iter().all(|m| *m == 0));
    }

    /// A quarter hides a count wherever one of its months hides it, so quarter minus
    /// months tells nothing.
    #[test]
    fn a_quarter_hides_what_its_months_hide() {
        let shape = shape();
        // Different people each month, so that everyone is new in their month (the
        // plain counter here knows no earlier months).
        let month = |number: u32, tiny: u32| {
            let first = number * 1000;
            let mut contacts = people(0, 0, first, 30);
            contacts.extend(people(1, 0, first + 100, 30));
            contacts.extend(people(2, 0, first + 200, tiny));
            contacts
        };
        let months: Vec<Vec<Fake>> = vec![month(0, 2), month(1, 9), month(2, 8)];
        let mut all = Vec::new();
        for m in &months {
            all.extend(m.iter().cloned());
        }
        let mut cubes: Vec<Cube> = months.iter().map(|m| count(&shape, m, 5, false)).collect();
        cubes.push(count(&shape, &all, 5, false));
        let universe = Universe::new(
            shape,
            cubes.clone(),
            vec![vec![], vec![], vec![], vec![0, 1, 2]],
        );
        let decision = decide(&universe, &[None, None, None, None]);
        let first = masks(&cubes[0], &decision, 0);
        let quarter = masks(&cubes[3], &decision, 3);
        for (cell, mask) in &first {
            for measure in all_measures() {
                if hidden(*mask, measure) {
                    assert!(hidden(quarter[cell], measure), "{cell:?} {measure:?}");
                }
            }
        }
    }
}
