//! Small-cell suppression for the aggregate reports kitlog publishes to funders.
//!
//! This module owns one decision: which report cells are hidden. Cells that summarise too few
//! contacts or participants are hidden first (primary); further cells are hidden
//! (complementary) until the exact auditor finds no hidden value that a reader could work out
//! from the published cells and the table's additive relations. It is pure arithmetic on counts
//! and relations and must never do I/O or SQL: it is privacy-critical, so it has to be testable
//! exhaustively in isolation, and it must not be able to leak anything on its own.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A linear relation among cells: sum(coefficient * value) == 0 for every measure the
/// relation applies to; e.g. a row total is `[(c1,1),(c2,1),(total,-1)]`.
///
/// Relations are how the reader of a report reasons: anything they imply about hidden cells,
/// the reader can compute. A cell index listed twice has its coefficients added. A cell index
/// outside the table is a caller bug; it is treated as a published cell that cannot be hidden,
/// which can only make the auditor report more disclosures, never fewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation(pub Vec<(usize, i64)>);

/// Which cells are hidden and why, so the report can mark suppressed cells and the caller can
/// tell a small cell from one hidden only to protect another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// The value is printed.
    Published,
    /// Hidden because the cell itself summarises too few people.
    Primary,
    /// Hidden only so that a hidden cell cannot be worked out from the published ones.
    Complementary,
}

/// Input per cell: the two counts a cell's smallness depends on, with contacts also serving as
/// the cost of hiding it (hiding fewer contacts loses less information for funders).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellCounts {
    /// Contacts (visits) the cell summarises.
    pub contacts: u64,
    /// Distinct participants the cell summarises; anonymous contacts are not counted.
    pub participants: u64,
}

/// True when the cell summarises fewer than `min_cell` contacts or fewer than `min_cell`
/// participants; a count of zero is excepted (0 participants = all contacts anonymous, fine).
/// `min_cell <= 1` means never.
///
/// This is the primary suppression rule: a cell about one or a few people could identify them.
/// Zero is excepted because "nobody" reveals no one.
#[must_use]
pub fn is_too_small(counts: &CellCounts, min_cell: u64) -> bool {
    let small = |count: u64| count > 0 && count < min_cell;
    min_cell > 1 && (small(counts.contacts) || small(counts.participants))
}

/// Primary then complementary suppression. `systems` is a list of relation systems; each
/// system is one set of linear relations that a reader knows holds for some measure(s)
/// (different measures have different structural zeros, so the caller passes one system per
/// family; a cell absent from a system's relations is known to the reader as a constant there).
/// Returns one `Hidden` per cell. Complementary choices prefer hiding the cells with the
/// fewest contacts (ties: lower index), and must terminate.
///
/// Why this shape: a published table must not let a reader recover a small cell by
/// subtraction, and hiding fewer contacts keeps the report useful. For each disclosed cell
/// (lowest index first) the fix is the cheapest set of published cells that puts it on a
/// "cycle" with other hidden cells: where the system is a table (each cell in at most two
/// relations) this is a cheapest path between the cell's two relations, already-hidden cells
/// being free; otherwise one published cell from the exact derivation that pins the cell
/// down. Every step is re-checked by the exact auditor. The hidden set only grows, so the loop
/// ends, and it ends in a state [`find_disclosed`] accepts. Two caller bugs are the exception,
/// both failing closed so that the caller's own audit refuses to publish: exact arithmetic
/// overflowing `i128` (only with huge coefficients, never with ±1 table relations) hides every
/// cell of that system; a relation naming a cell outside `cells` may leave a disclosure that
/// no hide can fix, since that cell cannot be hidden.
#[must_use]
pub fn suppress(cells: &[CellCounts], systems: &[Vec<Relation>], min_cell: u64) -> Vec<Hidden> {
    let state = cells
        .iter()
        .map(|counts| {
            if is_too_small(counts, min_cell) {
                Hidden::Primary
            } else {
                Hidden::Published
            }
        })
        .collect();
    let systems: Vec<System> = systems
        .iter()
        .map(|relations| System::new(relations))
        .collect();
    let mut suppressor = Suppressor {
        cells,
        graphs: systems.iter().map(|s| Graph::new(s, cells.len())).collect(),
        // Overflow here only means no cell is excused as a structural zero: fail closed.
        structural: systems
            .iter()
            .map(|s| structural_zeros(s).unwrap_or_default())
            .collect(),
        audits: vec![None; systems.len()],
        systems,
        state,
        given_up: Vec::new(),
    };
    suppressor.run();
    suppressor.state
}

/// The auditor: Err(cell index) of the first hidden cell whose value is determined exactly by
/// the published cells through some system's relations; Ok(()) when none is.
///
/// This is the privacy guarantee itself, so it is exact, not a rule of thumb: per system the
/// relations are restricted to the hidden cells (published cells are known constants), and a
/// hidden cell is determined iff its unit vector lies in the row space of that matrix, decided
/// by Gauss-Jordan elimination over the integers (fraction-free, each row kept divided by its
/// content, all in checked `i128`). A value the relations force to zero on their own (a
/// structural zero, e.g. the naloxone total of a site with no naloxone cells) is not reported:
/// every reader knows it before anything is published, and a zero reveals no one. "First"
/// means lowest cell index. Relation indices past `hidden.len()` count as published.
/// Only exact values are checked: bounds a reader gets from counts being non-negative (two
/// hidden cells summing to a published 3 are each at most 3) are outside this test.
///
/// # Errors
///
/// `Err(cell)` names the lowest-index hidden cell a reader can work out exactly. If exact
/// arithmetic would overflow `i128`, the first hidden cell of that system is reported (fail
/// closed).
pub fn find_disclosed(hidden: &[bool], systems: &[Vec<Relation>]) -> Result<(), usize> {
    let is_hidden = |cell: usize| hidden.get(cell).copied().unwrap_or(false);
    let mut first: Option<usize> = None;
    for relations in systems {
        let system = System::new(relations);
        let found = match hidden_determined(&system, is_hidden) {
            Ok(determined) if determined.is_empty() => None,
            Ok(determined) => {
                let structural = structural_zeros(&system).unwrap_or_default();
                determined
                    .into_iter()
                    .find(|cell| structural.binary_search(cell).is_err())
            }
            Err(Overflow) => system.cells.iter().copied().find(|&cell| is_hidden(cell)),
        };
        if let Some(cell) = found {
            first = Some(first.map_or(cell, |known| known.min(cell)));
        }
    }
    first.map_or(Ok(()), Err)
}

/// Exact arithmetic would leave `i128`. Only caller-chosen huge coefficients can cause it;
/// every caller of [`reduce`] turns it into the privacy-safe answer.
#[derive(Debug)]
struct Overflow;

/// One relation system, cleaned once so that elimination sees each cell at most once per row.
struct System {
    /// Per relation: (cell, coefficient), sorted by cell, merged, no zeros, no empty relation.
    relations: Vec<Vec<(usize, i128)>>,
    /// Every cell that appears in some relation, sorted: the columns of the system.
    cells: Vec<usize>,
}

impl System {
    /// Out-of-range cells stay in as columns that are never hidden (known to the reader):
    /// that can only pin down more hidden cells, so a caller bug errs on the side of hiding.
    /// (Dropping them instead would turn `x = stray` into the structural zero `x = 0`.)
    fn new(relations: &[Relation]) -> Self {
        let mut cleaned = Vec::with_capacity(relations.len());
        let mut cells = Vec::new();
        for Relation(terms) in relations {
            let mut terms: Vec<(usize, i128)> = terms
                .iter()
                .map(|&(cell, coefficient)| (cell, i128::from(coefficient)))
                .collect();
            terms.sort_unstable_by_key(|&(cell, _)| cell);
            let mut merged: Vec<(usize, i128)> = Vec::with_capacity(terms.len());
            for (cell, coefficient) in terms {
                match merged.last_mut() {
                    // i64 terms summed in i128 cannot overflow for any realistic length.
                    Some((last, sum)) if *last == cell => *sum = sum.saturating_add(coefficient),
                    _ => merged.push((cell, coefficient)),
                }
            }
            merged.retain(|&(_, coefficient)| coefficient != 0);
            if !merged.is_empty() {
                cells.extend(merged.iter().map(|&(cell, _)| cell));
                cleaned.push(merged);
            }
        }
        cells.sort_unstable();
        cells.dedup();
        Self {
            relations: cleaned,
            cells,
        }
    }

    fn contains(&self, cell: usize) -> bool {
        self.cells.binary_search(&cell).is_ok()
    }
}

/// A system's relation matrix over some columns in reduced row echelon form (rows scaled by
/// integers, not normalised to 1), pivoting only in the pivotable columns. Rows from `rank`
/// on are zero in every pivotable column: they are the combinations of relations that say
/// something about the other columns alone.
struct Reduced {
    rows: Vec<Vec<i128>>,
    rank: usize,
    pivotable: Vec<bool>,
    pivot_row: Vec<Option<usize>>,
}

/// Gauss-Jordan elimination restricted to `columns` (sorted cells). Exact: integer rows, each
/// step `row = p*row - a*pivot` scaled by gcd, then the row divided by its content. Table
/// relations (totally unimodular matrices) keep every entry in -1..=1 this way; numbers grow
/// only with large caller coefficients, and then overflow is reported, never wrapped.
fn reduce(
    system: &System,
    columns: &[usize],
    pivotable: impl Fn(usize) -> bool,
) -> Result<Reduced, Overflow> {
    let width = columns.len();
    let mut rows = Vec::with_capacity(system.relations.len());
    for relation in &system.relations {
        let mut row = vec![0_i128; width];
        let mut touches = false;
        for &(cell, coefficient) in relation {
            if let Ok(column) = columns.binary_search(&cell) {
                row[column] = coefficient;
                touches = true;
            }
        }
        if touches {
            divide_by_content(&mut row);
            rows.push(row);
        }
    }
    let pivotable: Vec<bool> = columns.iter().map(|&cell| pivotable(cell)).collect();
    let mut pivot_row = vec![None; width];
    let mut rank = 0;
    for (column, &can_pivot) in pivotable.iter().enumerate() {
        if rank == rows.len() {
            break;
        }
        if !can_pivot {
            continue;
        }
        // The smallest pivot keeps the multipliers, and so the numbers, small.
        let Some(best) = (rank..rows.len())
            .filter(|&r| rows[r][column] != 0)
            .min_by_key(|&r| rows[r][column].unsigned_abs())
        else {
            continue;
        };
        rows.swap(rank, best);
        let pivot = rows[rank].clone();
        for (index, row) in rows.iter_mut().enumerate() {
            if index != rank && row[column] != 0 {
                eliminate(row, &pivot, column)?;
            }
        }
        pivot_row[column] = Some(rank);
        rank += 1;
    }
    Ok(Reduced {
        rows,
        rank,
        pivotable,
        pivot_row,
    })
}

/// Clears `row[column]` using `pivot`, exactly.
fn eliminate(row: &mut [i128], pivot: &[i128], column: usize) -> Result<(), Overflow> {
    let (own, theirs) = (row[column], pivot[column]);
    let common =
        i128::try_from(gcd(own.unsigned_abs(), theirs.unsigned_abs())).map_err(|_| Overflow)?;
    let (row_scale, pivot_scale) = (theirs / common, own / common);
    for (value, &pivot_value) in row.iter_mut().zip(pivot) {
        *value = row_scale
            .checked_mul(*value)
            .zip(pivot_scale.checked_mul(pivot_value))
            .and_then(|(left, right)| left.checked_sub(right))
            .ok_or(Overflow)?;
    }
    divide_by_content(row);
    Ok(())
}

/// Divides a row by the gcd of its entries: the row space is unchanged and numbers stay small.
fn divide_by_content(row: &mut [i128]) {
    let content = row.iter().fold(0, |g, value| gcd(g, value.unsigned_abs()));
    if let Ok(content) = i128::try_from(content) {
        if content > 1 {
            for value in row {
                *value /= content;
            }
        }
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Reduced {
    /// Pivotable columns whose unit vector is in the row space: the pivot row has no other
    /// nonzero pivotable entry. (Other pivot columns are already zero there; a nonzero free
    /// column would give a null-space vector moving this column.) Returns cells, ascending.
    fn determined(&self, columns: &[usize]) -> Vec<usize> {
        columns
            .iter()
            .enumerate()
            .filter(|&(column, _)| self.is_determined(column))
            .map(|(_, &cell)| cell)
            .collect()
    }

    fn is_determined(&self, column: usize) -> bool {
        let Some(row) = self.pivot_row.get(column).copied().flatten() else {
            return false;
        };
        self.rows[row]
            .iter()
            .zip(&self.pivotable)
            .enumerate()
            .all(|(other, (&value, &can_pivot))| other == column || !can_pivot || value == 0)
    }
}

/// Hidden cells of `system` that its relations pin down, structural zeros included.
fn hidden_determined(
    system: &System,
    is_hidden: impl Fn(usize) -> bool,
) -> Result<Vec<usize>, Overflow> {
    let columns: Vec<usize> = system
        .cells
        .iter()
        .copied()
        .filter(|&cell| is_hidden(cell))
        .collect();
    Ok(reduce(system, &columns, |_| true)?.determined(&columns))
}

/// Cells the relations alone force to zero (determined even with everything hidden).
fn structural_zeros(system: &System) -> Result<Vec<usize>, Overflow> {
    hidden_determined(system, |_| true)
}

/// A system seen as a graph: relations are nodes (plus a ground node), and a cell in exactly
/// two relations is an edge between them (in one relation: an edge to ground). For the
/// caller's tables, with or without margins, a hidden cell is determined exactly when it is a
/// bridge of the hidden edges, and the cheapest fix is a cheapest path around it; elsewhere
/// the path is only a proposal, checked by the exact auditor like every other choice.
struct Graph {
    adjacency: Vec<Vec<(usize, usize)>>,
    ends: Vec<Option<(usize, usize)>>,
}

impl Graph {
    fn new(system: &System, cell_count: usize) -> Self {
        let ground = system.relations.len();
        let mut occurrences: Vec<Vec<usize>> = vec![Vec::new(); cell_count];
        for (node, relation) in system.relations.iter().enumerate() {
            for &(cell, _) in relation {
                if let Some(list) = occurrences.get_mut(cell) {
                    list.push(node);
                }
            }
        }
        let mut adjacency = vec![Vec::new(); ground + 1];
        let mut ends = vec![None; cell_count];
        for (cell, nodes) in occurrences.iter().enumerate() {
            let (a, b) = match nodes.as_slice() {
                [a] => (*a, ground),
                [a, b] => (*a, *b),
                _ => continue,
            };
            ends[cell] = Some((a, b));
            adjacency[a].push((cell, b));
            adjacency[b].push((cell, a));
        }
        Self { adjacency, ends }
    }

    /// The cells of a cheapest path joining the two ends of `bridge` without using it:
    /// hidden cells cost nothing, published cells their contacts (then one per cell, so that
    /// equal contacts prefer fewer hides). `None` when the cell is no edge or no path exists.
    fn cheapest_path(
        &self,
        bridge: usize,
        state: &[Hidden],
        cells: &[CellCounts],
    ) -> Option<Vec<usize>> {
        let (from, to) = self.ends.get(bridge).copied().flatten()?;
        let nodes = self.adjacency.len();
        let mut best: Vec<Option<(u128, u64)>> = vec![None; nodes];
        let mut via: Vec<Option<(usize, usize)>> = vec![None; nodes];
        let mut queue = BinaryHeap::new();
        best[from] = Some((0, 0));
        queue.push(Reverse((0_u128, 0_u64, from)));
        while let Some(Reverse((cost, hides, node))) = queue.pop() {
            if best[node] != Some((cost, hides)) {
                continue;
            }
            if node == to {
                break;
            }
            for &(cell, next) in &self.adjacency[node] {
                if cell == bridge {
                    continue;
                }
                let step = if is_hidden(state, cell) {
                    (0, 0)
                } else {
                    (u128::from(contacts(cells, cell)), 1)
                };
                let candidate = (cost.saturating_add(step.0), hides.saturating_add(step.1));
                if best[next].is_none_or(|known| candidate < known) {
                    best[next] = Some(candidate);
                    via[next] = Some((cell, node));
                    queue.push(Reverse((candidate.0, candidate.1, next)));
                }
            }
        }
        best[to]?;
        let mut path = Vec::new();
        let mut node = to;
        while node != from {
            let (cell, previous) = via[node]?;
            path.push(cell);
            node = previous;
            if path.len() > nodes {
                return None;
            }
        }
        Some(path)
    }
}

fn is_hidden(state: &[Hidden], cell: usize) -> bool {
    state.get(cell).is_some_and(|&h| h != Hidden::Published)
}

fn contacts(cells: &[CellCounts], cell: usize) -> u64 {
    cells.get(cell).map_or(0, |counts| counts.contacts)
}

/// What the last audit of a system found; `None` in [`Suppressor::audits`] means its hidden
/// cells changed since.
#[derive(Clone)]
enum Audit {
    /// Disclosed cells, ascending, structural zeros and given-up cells left out.
    Disclosed(Vec<usize>),
    /// Exact arithmetic overflowed: the system must be hidden wholesale.
    Overflow,
}

/// The next thing to repair.
#[derive(Clone, Copy)]
enum Target {
    Cell { system: usize, cell: usize },
    Overflow { system: usize },
}

struct Suppressor<'a> {
    cells: &'a [CellCounts],
    systems: Vec<System>,
    graphs: Vec<Graph>,
    structural: Vec<Vec<usize>>,
    audits: Vec<Option<Audit>>,
    state: Vec<Hidden>,
    /// (system, cell) pairs no further hiding can protect. Only reachable through overflow
    /// or a bug; kept so that the loop provably ends even then.
    given_up: Vec<(usize, usize)>,
}

impl Suppressor<'_> {
    /// Every pass either hides at least one more cell or retires a target for good (hidden
    /// cells only ever grow, given-up pairs only grow, and an overflowed system is retired
    /// until a later hide touches it), so the loop ends.
    fn run(&mut self) {
        while let Some(target) = self.next_target() {
            let newly = match target {
                Target::Cell { system, cell } => self.fix(system, cell),
                Target::Overflow { system } => {
                    let all = self.systems[system].cells.clone();
                    self.hide(&all)
                }
            };
            if newly.is_empty() {
                match target {
                    Target::Cell { system, cell } => {
                        self.given_up.push((system, cell));
                        if let Some(Audit::Disclosed(list)) = &mut self.audits[system] {
                            list.retain(|&other| other != cell);
                        }
                    }
                    Target::Overflow { system } => {
                        self.audits[system] = Some(Audit::Disclosed(Vec::new()));
                    }
                }
            } else {
                for (index, system) in self.systems.iter().enumerate() {
                    if newly.iter().any(|&cell| system.contains(cell)) {
                        self.audits[index] = None;
                    }
                }
            }
        }
    }

    /// Re-audits systems whose hidden cells changed, then picks an overflowed system first
    /// (it needs hiding wholesale anyway), else the lowest-index disclosed cell.
    fn next_target(&mut self) -> Option<Target> {
        for index in 0..self.systems.len() {
            if self.audits[index].is_none() {
                self.audits[index] = Some(self.audit(index));
            }
        }
        let mut target: Option<Target> = None;
        for (system, audit) in self.audits.iter().enumerate() {
            match audit {
                Some(Audit::Overflow) => return Some(Target::Overflow { system }),
                Some(Audit::Disclosed(list)) => {
                    if let Some(&cell) = list.first() {
                        let better = match target {
                            Some(Target::Cell { cell: known, .. }) => cell < known,
                            _ => true,
                        };
                        if better {
                            target = Some(Target::Cell { system, cell });
                        }
                    }
                }
                None => {}
            }
        }
        target
    }

    fn audit(&self, index: usize) -> Audit {
        let system = &self.systems[index];
        match hidden_determined(system, |cell| is_hidden(&self.state, cell)) {
            Ok(determined) => Audit::Disclosed(
                determined
                    .into_iter()
                    .filter(|cell| self.structural[index].binary_search(cell).is_err())
                    .filter(|&cell| !self.given_up.contains(&(index, cell)))
                    .collect(),
            ),
            Err(Overflow) => Audit::Overflow,
        }
    }

    /// Hides cells so that `cell` is no longer determined in `system`; returns what it hid.
    fn fix(&mut self, system: usize, cell: usize) -> Vec<usize> {
        if let Some(path) = self.graphs[system].cheapest_path(cell, &self.state, self.cells) {
            let newly = self.hide(&path);
            if !newly.is_empty() {
                return newly;
            }
        }
        self.fix_by_derivation(system, cell)
    }

    /// The general fallback: eliminate with published cells carried along. The pivot row of
    /// `cell` is one way a reader derives it; hiding a published cell of that row breaks it,
    /// and a cell that is zero in every all-published combination (the rows past the rank)
    /// breaks every derivation at once, so those are preferred, then fewest contacts, then
    /// lowest index. A disclosed cell that is not a structural zero always has such a
    /// candidate, so this hides at least one cell.
    fn fix_by_derivation(&mut self, system: usize, cell: usize) -> Vec<usize> {
        let columns = self.systems[system].cells.clone();
        let reduced = match reduce(&self.systems[system], &columns, |c| {
            is_hidden(&self.state, c)
        }) {
            Ok(reduced) => reduced,
            Err(Overflow) => return self.hide(&columns),
        };
        let Ok(local) = columns.binary_search(&cell) else {
            return Vec::new();
        };
        let Some(row) = reduced.pivot_row[local] else {
            return Vec::new();
        };
        let combinations = &reduced.rows[reduced.rank..];
        let best = columns
            .iter()
            .enumerate()
            .filter(|&(column, &candidate)| {
                candidate < self.state.len()
                    && !is_hidden(&self.state, candidate)
                    && reduced.rows[row][column] != 0
            })
            .min_by_key(|&(column, &candidate)| {
                let breaks_all = combinations.iter().all(|r| r[column] == 0);
                (!breaks_all, contacts(self.cells, candidate), candidate)
            })
            .map(|(_, &candidate)| candidate);
        best.map_or_else(Vec::new, |candidate| self.hide(&[candidate]))
    }

    /// Marks published cells among `cells` as complementary; returns those newly hidden.
    fn hide(&mut self, cells: &[usize]) -> Vec<usize> {
        let mut newly = Vec::new();
        for &cell in cells {
            if let Some(slot) = self.state.get_mut(cell) {
                if *slot == Hidden::Published {
                    *slot = Hidden::Complementary;
                    newly.push(cell);
                }
            }
        }
        newly
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn counts(contacts: u64) -> CellCounts {
        CellCounts {
            contacts,
            participants: contacts,
        }
    }

    fn mask(state: &[Hidden]) -> Vec<bool> {
        state.iter().map(|&h| h != Hidden::Published).collect()
    }

    /// (site, item); `None` is the ALL margin.
    type Key = (Option<usize>, Option<usize>);

    /// A sites × items table with margins, laid out the way the caller builds report tables:
    /// interior cells, then row totals, then column totals, then the grand total; a cell
    /// without data is not in the table at all.
    struct Table {
        cells: Vec<CellCounts>,
        index: HashMap<Key, usize>,
        sites: usize,
        items: usize,
    }

    impl Table {
        /// Interior (contacts, participants); margins sum both, which is fine for tests.
        fn new(interior: &[Vec<Option<(u64, u64)>>]) -> Self {
            let sites = interior.len();
            let items = interior.iter().map(Vec::len).max().unwrap_or(0);
            let value = |s: usize, i: usize| interior[s].get(i).copied().flatten();
            let mut table = Table {
                cells: Vec::new(),
                index: HashMap::new(),
                sites,
                items,
            };
            for s in 0..sites {
                for i in 0..items {
                    if let Some(v) = value(s, i) {
                        table.push((Some(s), Some(i)), &[v]);
                    }
                }
            }
            for s in 0..sites {
                let row: Vec<_> = (0..items).filter_map(|i| value(s, i)).collect();
                table.push((Some(s), None), &row);
            }
            for i in 0..items {
                let column: Vec<_> = (0..sites).filter_map(|s| value(s, i)).collect();
                table.push((None, Some(i)), &column);
            }
            let all: Vec<_> = (0..sites)
                .flat_map(|s| (0..items).filter_map(move |i| value(s, i)))
                .collect();
            table.push((None, None), &all);
            table
        }

        /// Simple contacts-only table (participants equal contacts).
        fn of(interior: &[&[Option<u64>]]) -> Self {
            let interior: Vec<Vec<_>> = interior
                .iter()
                .map(|row| row.iter().map(|v| v.map(|c| (c, c))).collect())
                .collect();
            Self::new(&interior)
        }

        fn push(&mut self, key: Key, parts: &[(u64, u64)]) {
            if !parts.is_empty() {
                self.index.insert(key, self.cells.len());
                self.cells.push(CellCounts {
                    contacts: parts.iter().map(|p| p.0).sum(),
                    participants: parts.iter().map(|p| p.1).sum(),
                });
            }
        }

        fn at(&self, site: Option<usize>, item: Option<usize>) -> usize {
            self.index[&(site, item)]
        }

        /// The relations of a measure only the `counted` items carry; the other items' cells
        /// are known zeros for it, so they are left out (as the naloxone system does).
        fn relations(&self, counted: impl Fn(usize) -> bool) -> Vec<Relation> {
            let mut relations = Vec::new();
            for site in (0..self.sites).map(Some).chain([None]) {
                let Some(&total) = self.index.get(&(site, None)) else {
                    continue;
                };
                let mut terms: Vec<(usize, i64)> = (0..self.items)
                    .filter(|&i| counted(i))
                    .filter_map(|i| self.index.get(&(site, Some(i))))
                    .map(|&cell| (cell, 1))
                    .collect();
                terms.push((total, -1));
                relations.push(Relation(terms));
            }
            let items = (0..self.items).filter(|&i| counted(i)).map(Some);
            for item in items.chain([None]) {
                let Some(&total) = self.index.get(&(None, item)) else {
                    continue;
                };
                let mut terms: Vec<(usize, i64)> = (0..self.sites)
                    .filter_map(|s| self.index.get(&(Some(s), item)))
                    .map(|&cell| (cell, 1))
                    .collect();
                terms.push((total, -1));
                relations.push(Relation(terms));
            }
            relations
        }

        fn all_items(&self) -> Vec<Vec<Relation>> {
            vec![self.relations(|_| true)]
        }

        /// Expected state: the listed cells with their reason, everything else published.
        fn expect(&self, hidden: &[(Key, Hidden)]) -> Vec<Hidden> {
            let mut state = vec![Hidden::Published; self.cells.len()];
            for &((site, item), why) in hidden {
                state[self.at(site, item)] = why;
            }
            state
        }
    }

    #[test]
    fn is_too_small_excepts_zero_and_never_fires_below_min_cell_two() {
        let cell = |contacts, participants| CellCounts {
            contacts,
            participants,
        };
        assert!(is_too_small(&cell(3, 3), 5));
        assert!(is_too_small(&cell(12, 2), 5), "few participants");
        assert!(is_too_small(&cell(4, 0), 5), "few contacts, all anonymous");
        assert!(
            !is_too_small(&cell(12, 0), 5),
            "0 participants: all anonymous"
        );
        assert!(!is_too_small(&cell(0, 0), 5), "nobody reveals no one");
        assert!(!is_too_small(&cell(5, 5), 5), "at the threshold is fine");
        assert!(!is_too_small(&cell(1, 1), 1));
        assert!(!is_too_small(&cell(1, 1), 0));
    }

    #[test]
    fn one_dimensional_small_cell_hides_the_smallest_other_cell() {
        use Hidden::{Complementary as C, Primary as P, Published as O};
        let cells: Vec<_> = [10, 3, 8, 6, 20, 47].into_iter().map(counts).collect();
        let total = Relation(vec![(0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (5, -1)]);
        let state = suppress(&cells, &[vec![total]], 5);
        assert_eq!(state, [O, P, O, C, O, O]);
    }

    #[test]
    fn small_interior_cell_is_protected_by_the_cheapest_rectangle() {
        let table = Table::of(&[
            &[Some(2), Some(9), Some(30)],
            &[Some(8), Some(50), Some(40)],
            &[Some(20), Some(60), Some(70)],
        ]);
        let systems = table.all_items();
        let state = suppress(&table.cells, &systems, 5);
        // Rectangles through (0,0) cost 9+8+50, 30+8+40, 9+20+60, 30+20+70: the first wins.
        let expected = table.expect(&[
            ((Some(0), Some(0)), Hidden::Primary),
            ((Some(0), Some(1)), Hidden::Complementary),
            ((Some(1), Some(0)), Hidden::Complementary),
            ((Some(1), Some(1)), Hidden::Complementary),
        ]);
        assert_eq!(state, expected);
        assert_eq!(find_disclosed(&mask(&state), &systems), Ok(()));
    }

    #[test]
    fn lone_small_cell_in_a_row_takes_its_row_total_and_another_margin_total() {
        let table = Table::of(&[
            &[Some(20), Some(30), Some(40)],
            &[Some(2), None, None],
            &[Some(25), Some(35), Some(45)],
        ]);
        let systems = table.all_items();
        let state = suppress(&table.cells, &systems, 5);
        // Site 1's total equals its only cell, so it is small too. The cheapest cycle back
        // to item 0 goes through the margin column: site 0's total (90) and cell (0,0).
        let expected = table.expect(&[
            ((Some(1), Some(0)), Hidden::Primary),
            ((Some(1), None), Hidden::Primary),
            ((Some(0), None), Hidden::Complementary),
            ((Some(0), Some(0)), Hidden::Complementary),
        ]);
        assert_eq!(state, expected);
        assert_eq!(find_disclosed(&mask(&state), &systems), Ok(()));
    }

    #[test]
    fn lone_cell_small_only_by_participants_hides_its_row_total() {
        let table = Table::new(&[
            vec![Some((20, 20)), Some((30, 30))],
            vec![Some((12, 2)), None],
            vec![Some((25, 25)), Some((35, 35))],
        ]);
        let systems = table.all_items();
        let state = suppress(&table.cells, &systems, 5);
        assert_eq!(state[table.at(Some(1), Some(0))], Hidden::Primary);
        assert_ne!(state[table.at(Some(1), None)], Hidden::Published);
        assert_eq!(find_disclosed(&mask(&state), &systems), Ok(()));
    }

    #[test]
    fn nothing_small_hides_nothing() {
        let table = Table::of(&[&[Some(12), Some(9)], &[Some(8), Some(50)]]);
        let state = suppress(&table.cells, &table.all_items(), 5);
        assert!(state.iter().all(|&h| h == Hidden::Published));
    }

    #[test]
    fn min_cell_one_or_zero_hides_nothing() {
        let table = Table::of(&[&[Some(1), Some(2)], &[Some(1), Some(3)]]);
        for min_cell in [0, 1] {
            let state = suppress(&table.cells, &table.all_items(), min_cell);
            assert!(state.iter().all(|&h| h == Hidden::Published));
        }
    }

    #[test]
    fn zero_participants_and_zero_contacts_are_not_small() {
        let cells = [
            CellCounts {
                contacts: 40,
                participants: 0,
            },
            CellCounts {
                contacts: 0,
                participants: 0,
            },
            counts(30),
            counts(70),
        ];
        let total = Relation(vec![(0, 1), (1, 1), (2, 1), (3, -1)]);
        let state = suppress(&cells, &[vec![total]], 5);
        assert!(state.iter().all(|&h| h == Hidden::Published));
    }

    #[test]
    fn no_cells_and_no_systems_are_fine() {
        assert!(suppress(&[], &[], 5).is_empty());
        assert_eq!(find_disclosed(&[], &[]), Ok(()));
        let state = suppress(&[counts(2)], &[], 5);
        assert_eq!(state, [Hidden::Primary]);
        assert_eq!(find_disclosed(&[true], &[vec![]]), Ok(()));
    }

    #[test]
    fn auditor_flags_a_single_hidden_cell_in_a_row_with_a_published_total() {
        let row = [vec![Relation(vec![(0, 1), (1, 1), (2, 1), (3, -1)])]];
        assert_eq!(find_disclosed(&[false, true, false, false], &row), Err(1));
        assert_eq!(find_disclosed(&[false, false, false, true], &row), Err(3));
        assert_eq!(find_disclosed(&[false, true, false, true], &row), Ok(()));
        assert_eq!(find_disclosed(&[true; 4], &row), Ok(()));
    }

    #[test]
    fn auditor_accepts_a_rectangle_and_flags_an_incomplete_one() {
        let table = Table::of(&[
            &[Some(10), Some(11), Some(12)],
            &[Some(13), Some(14), Some(15)],
            &[Some(16), Some(17), Some(18)],
        ]);
        let systems = table.all_items();
        let mut hidden = vec![false; table.cells.len()];
        for (s, i) in [(0, 0), (0, 2), (2, 0), (2, 2)] {
            hidden[table.at(Some(s), Some(i))] = true;
        }
        assert_eq!(find_disclosed(&hidden, &systems), Ok(()));
        // Without (2,2) the other three form a path, every one a bridge: (0,0) comes first.
        hidden[table.at(Some(2), Some(2))] = false;
        assert_eq!(
            find_disclosed(&hidden, &systems),
            Err(table.at(Some(0), Some(0)))
        );
        // A rectangle through the margins protects as well as one inside the table.
        let mut hidden = vec![false; table.cells.len()];
        for key in [
            (Some(1), Some(1)),
            (Some(1), None),
            (None, Some(1)),
            (None, None),
        ] {
            hidden[table.at(key.0, key.1)] = true;
        }
        assert_eq!(find_disclosed(&hidden, &systems), Ok(()));
    }

    #[test]
    fn auditor_catches_a_bridge_between_two_safe_looking_cycles() {
        let row = [Some(10); 4];
        let table = Table::of(&[&row, &row, &row, &row]);
        let systems = table.all_items();
        let mut hidden = vec![false; table.cells.len()];
        let cycles = [
            (0, 0),
            (0, 1),
            (1, 0),
            (1, 1),
            (2, 2),
            (2, 3),
            (3, 2),
            (3, 3),
        ];
        for (s, i) in cycles {
            hidden[table.at(Some(s), Some(i))] = true;
        }
        assert_eq!(find_disclosed(&hidden, &systems), Ok(()));
        let bridge = table.at(Some(0), Some(2));
        hidden[bridge] = true;
        // Every row and column now has 0 or at least 2 hidden cells, so the naive
        // "two per line" rule passes; yet rows 0 and 1 minus columns 0 and 1 leave exactly
        // the bridge against published cells.
        for Relation(terms) in &systems[0] {
            let count = terms.iter().filter(|&&(cell, _)| hidden[cell]).count();
            assert!(count == 0 || count >= 2);
        }
        assert_eq!(find_disclosed(&hidden, &systems), Err(bridge));
    }

    #[test]
    fn auditor_ignores_structural_zeros_but_not_what_published_cells_pin() {
        // x0 = 0 whatever is published: every reader knows it already.
        let zero = vec![Relation(vec![(0, 1)])];
        assert_eq!(find_disclosed(&[true], &[zero]), Ok(()));
        // x0 = x1 and x0 = -x1: both forced to 0 by the relations alone.
        let pair = vec![
            Relation(vec![(0, 1), (1, -1)]),
            Relation(vec![(0, 1), (1, 1)]),
        ];
        assert_eq!(find_disclosed(&[true, true], &[pair]), Ok(()));
        // x0 + x1 = 0 with x1 published: x0 = -x1 is read off the report.
        let sum = vec![Relation(vec![(0, 1), (1, 1)])];
        assert_eq!(find_disclosed(&[true, false], &[sum]), Err(0));
    }

    #[test]
    fn naloxone_system_with_a_site_without_naloxone_is_protected() {
        // Item 2 is naloxone; site 1 handed out none, so its naloxone total is a structural
        // zero and its all-items total is small.
        let table = Table::of(&[
            &[Some(20), Some(30), Some(3)],
            &[Some(2), Some(1), None],
            &[Some(25), Some(35), Some(45)],
            &[Some(40), Some(22), Some(9)],
        ]);
        let systems = vec![table.relations(|_| true), table.relations(|i| i == 2)];
        let structural_row = Relation(vec![(table.at(Some(1), None), -1)]);
        assert!(systems[1].contains(&structural_row));
        let state = suppress(&table.cells, &systems, 5);
        assert_eq!(find_disclosed(&mask(&state), &systems), Ok(()));
        assert_eq!(state[table.at(Some(1), None)], Hidden::Primary);
        assert_eq!(state[table.at(Some(0), Some(2))], Hidden::Primary);
    }

    #[test]
    fn duplicate_terms_merge_and_out_of_range_cells_count_as_published() {
        // 2*x0 - x0 - x1 = 0 is x0 = x1.
        let merged = [vec![Relation(vec![(0, 2), (1, -1), (0, -1)])]];
        assert_eq!(find_disclosed(&[true, false], &merged), Err(0));
        assert_eq!(find_disclosed(&[true, true], &merged), Ok(()));
        // Cell 9 does not exist: it is taken as known, so x0 is flagged (fail closed).
        let stray = [vec![Relation(vec![(0, 1), (9, -1)])]];
        assert_eq!(find_disclosed(&[true], &stray), Err(0));
        let state = suppress(&[counts(2)], &stray, 5);
        assert_eq!(state, [Hidden::Primary]);
    }

    /// Coefficients too large for exact i128 elimination.
    fn overflowing_system() -> Vec<Relation> {
        let big = i64::MAX;
        vec![
            Relation(vec![(0, big), (1, big - 1), (2, big - 3), (3, 1)]),
            Relation(vec![(0, big - 5), (1, big - 7), (2, 3), (3, big - 11)]),
            Relation(vec![(0, 7), (1, big - 13), (2, big - 17), (3, big - 19)]),
        ]
    }

    #[test]
    fn overflow_fails_closed_without_panicking() {
        use Hidden::{Complementary as C, Primary as P};
        let system = System::new(&overflowing_system());
        assert!(reduce(&system, &system.cells, |_| true).is_err());
        // With everything hidden nothing is truly disclosed, but the auditor cannot prove it.
        assert_eq!(find_disclosed(&[true; 4], &[overflowing_system()]), Err(0));
        let cells = [counts(2), counts(50), counts(60), counts(70)];
        let state = suppress(&cells, &[overflowing_system()], 5);
        assert_eq!(state, [P, C, C, C]);
    }

    // ---- brute-force cross-check of the auditor -------------------------------------

    fn determinant(matrix: &[Vec<i128>]) -> i128 {
        let Some(first) = matrix.first() else {
            return 1;
        };
        let mut sum = 0;
        for (column, &value) in first.iter().enumerate() {
            if value == 0 {
                continue;
            }
            let minor: Vec<Vec<i128>> = matrix[1..]
                .iter()
                .map(|row| {
                    row.iter()
                        .enumerate()
                        .filter(|&(c, _)| c != column)
                        .map(|(_, &v)| v)
                        .collect()
                })
                .collect();
            let sign = if column % 2 == 0 { 1 } else { -1 };
            sum += sign * value * determinant(&minor);
        }
        sum
    }

    fn subsets(n: usize, size: usize) -> Vec<Vec<usize>> {
        (0_u32..1 << n)
            .filter(|bits| bits.count_ones() as usize == size)
            .map(|bits| (0..n).filter(|&i| bits >> i & 1 == 1).collect())
            .collect()
    }

    /// Rank as the largest nonzero minor: nothing in common with elimination.
    fn minor_rank(matrix: &[Vec<i128>], columns: &[usize]) -> usize {
        for size in (1..=matrix.len().min(columns.len())).rev() {
            for rows in subsets(matrix.len(), size) {
                for picked in subsets(columns.len(), size) {
                    let square: Vec<Vec<i128>> = rows
                        .iter()
                        .map(|&r| picked.iter().map(|&c| matrix[r][columns[c]]).collect())
                        .collect();
                    if determinant(&square) != 0 {
                        return size;
                    }
                }
            }
        }
        0
    }

    /// Cell k is determined iff dropping its column lowers the rank (its column is outside
    /// the span of the others); a structural zero is determined even with all cells hidden.
    fn brute_disclosed(matrix: &[Vec<i128>], hidden: &[bool]) -> Vec<usize> {
        let n = hidden.len();
        let hidden_columns: Vec<usize> = (0..n).filter(|&c| hidden[c]).collect();
        let all: Vec<usize> = (0..n).collect();
        let without = |set: &[usize], k: usize| -> Vec<usize> {
            set.iter().copied().filter(|&c| c != k).collect()
        };
        let hidden_rank = minor_rank(matrix, &hidden_columns);
        let full_rank = minor_rank(matrix, &all);
        (0..n)
            .filter(|&k| hidden[k])
            .filter(|&k| minor_rank(matrix, &without(&hidden_columns, k)) < hidden_rank)
            .filter(|&k| minor_rank(matrix, &without(&all, k)) == full_rank)
            .collect()
    }

    fn to_relations(matrix: &[Vec<i128>]) -> Vec<Relation> {
        matrix
            .iter()
            .map(|row| {
                Relation(
                    row.iter()
                        .enumerate()
                        .map(|(cell, &c)| (cell, i64::try_from(c).unwrap()))
                        .collect(),
                )
            })
            .collect()
    }

    fn small_systems(coefficient: i128) -> impl Strategy<Value = (Vec<Vec<Vec<i128>>>, Vec<bool>)> {
        (1_usize..=6).prop_flat_map(move |n| {
            let row = prop::collection::vec(-coefficient..=coefficient, n);
            let system = prop::collection::vec(row, 0..=4);
            (
                prop::collection::vec(system, 1..=2),
                prop::collection::vec(any::<bool>(), n),
            )
        })
    }

    fn check_auditor(matrices: &[Vec<Vec<i128>>], hidden: &[bool]) -> Result<(), TestCaseError> {
        let mut systems = Vec::new();
        let mut first = None::<usize>;
        for matrix in matrices {
            let expected = brute_disclosed(matrix, hidden);
            let relations = to_relations(matrix);
            let system = System::new(&relations);
            let structural = structural_zeros(&system).unwrap();
            let found: Vec<usize> = hidden_determined(&system, |c| hidden[c])
                .unwrap()
                .into_iter()
                .filter(|c| structural.binary_search(c).is_err())
                .collect();
            prop_assert_eq!(&found, &expected);
            if let Some(&cell) = expected.first() {
                first = Some(first.map_or(cell, |f| f.min(cell)));
            }
            systems.push(relations);
        }
        prop_assert_eq!(find_disclosed(hidden, &systems), first.map_or(Ok(()), Err));
        Ok(())
    }

    // ---- random tables --------------------------------------------------------------

    /// Many small cells, some absent, some zero, some small only by participants.
    fn cell_value() -> impl Strategy<Value = Option<(u64, u64)>> {
        prop_oneof![
            2 => Just(None),
            1 => Just(Some((0, 0))),
            3 => (1_u64..5).prop_map(|c| Some((c, c))),
            4 => (5_u64..80).prop_flat_map(|c| (Just(c), 0..=c)).prop_map(Some),
        ]
    }

    fn interior() -> impl Strategy<Value = Vec<Vec<Option<(u64, u64)>>>> {
        (1_usize..=6, 1_usize..=6).prop_flat_map(|(sites, items)| {
            prop::collection::vec(prop::collection::vec(cell_value(), items), sites)
        })
    }

    /// One site whose cells are all tiny (or absent), the others comfortably large.
    fn one_tiny_site() -> impl Strategy<Value = Vec<Vec<Option<(u64, u64)>>>> {
        (2_usize..=6, 1_usize..=6)
            .prop_flat_map(|(sites, items)| {
                let large = prop::option::weighted(0.9, (20_u64..100).prop_map(|c| (c, c)));
                let tiny = prop::option::weighted(0.7, (1_u64..5).prop_map(|c| (c, c)));
                (
                    prop::collection::vec(prop::collection::vec(large, items), sites),
                    prop::collection::vec(tiny, items),
                    0..sites,
                )
            })
            .prop_map(|(mut rows, tiny, site)| {
                rows[site] = tiny;
                rows
            })
    }

    fn check_suppression(
        cells: &[CellCounts],
        systems: &[Vec<Relation>],
        min_cell: u64,
    ) -> Result<(), TestCaseError> {
        let state = suppress(cells, systems, min_cell);
        prop_assert_eq!(state.len(), cells.len());
        prop_assert_eq!(find_disclosed(&mask(&state), systems), Ok(()));
        for (counts, &why) in cells.iter().zip(&state) {
            // Every small cell is primary; so no published cell is small.
            prop_assert_eq!(why == Hidden::Primary, is_too_small(counts, min_cell));
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn auditor_agrees_with_brute_force_rank_test((matrices, hidden) in small_systems(1)) {
            check_auditor(&matrices, &hidden)?;
        }

        #[test]
        fn auditor_agrees_with_brute_force_larger_coefficients(
            (matrices, hidden) in small_systems(3)
        ) {
            check_auditor(&matrices, &hidden)?;
        }

        #[test]
        fn suppress_satisfies_the_auditor_on_arbitrary_small_systems(
            (matrices, hidden) in small_systems(1),
            contacts in prop::collection::vec(1_u64..20, 6),
        ) {
            let cells: Vec<_> = (0..hidden.len()).map(|c| counts(contacts[c])).collect();
            let systems: Vec<_> = matrices.iter().map(|m| to_relations(m)).collect();
            check_suppression(&cells, &systems, 5)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn suppress_satisfies_the_auditor_on_random_tables(
            interior in interior(),
            min_cell in 2_u64..=11,
        ) {
            let table = Table::new(&interior);
            check_suppression(&table.cells, &table.all_items(), min_cell)?;
        }

        #[test]
        fn suppress_satisfies_the_auditor_on_one_tiny_site_tables(interior in one_tiny_site()) {
            let table = Table::new(&interior);
            check_suppression(&table.cells, &table.all_items(), 5)?;
        }

        #[test]
        fn suppress_satisfies_the_auditor_with_a_naloxone_system(
            interior in interior(),
            naloxone in prop::collection::vec(any::<bool>(), 6),
            min_cell in 2_u64..=11,
        ) {
            let table = Table::new(&interior);
            let systems = vec![table.relations(|_| true), table.relations(|i| naloxone[i])];
            check_suppression(&table.cells, &systems, min_cell)?;
        }
    }
}
