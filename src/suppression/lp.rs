//! Witnesses by linear programming, where the fixed shapes of [`super::witness`] are not
//! enough: around one small cell, the hidden counts (and, when choosing what to hide,
//! the counts that may still be hidden) move freely under every fact of
//! [`super::model`], everything else stays at its true value.
//!
//! Holding the rest of the tables at their true values only narrows what moves, so the
//! range found is still a range no reader can rule out: any point of this program is a
//! point of the reader's. The same program, with a price on each published count it
//! moves, picks the cheapest counts to hide (the classical formulation of
//! complementary suppression, after Fischetti and Salazar).

use std::collections::{BTreeSet, HashMap};

use microlp::{ComparisonOp, OptimizationDirection, Problem, Variable};

use super::model::{EntryId, Key, Row, Universe, all_measures};
use super::witness::Direction;
use crate::measures::Measure;

/// How far a solver's answer may be off a whole number and still count as it.
pub(super) const SLACK: f64 = 1e-6;

impl Universe {
    /// The entries a program about `measure` of a cell in column `key` of `period` lets
    /// move: that column with the columns above and beside it in every row, and every
    /// column of `rows` (only `rows` of those columns, when narrow), in the period, the
    /// periods above it and those down to its finest period; the measures that share
    /// facts with `measure`. Everything, for [`Scope::Everything`].
    pub(super) fn neighbourhood(
        &self,
        period: usize,
        key: Key,
        measure: Measure,
        rows: &[Row],
        scope: Scope,
    ) -> Vec<EntryId> {
        let (leaf, narrow) = match scope {
            Scope::Narrow(leaf) => (leaf, true),
            Scope::Chain(leaf) => (leaf, false),
            Scope::Everything => {
                return (0..self.values.len())
                    .map(|e| EntryId::try_from(e).expect("entries fit"))
                    .collect();
            }
        };
        let measures: Vec<Measure> = if matches!(
            measure,
            Measure::Reversals | Measure::Returned | Measure::ForOthers
        ) {
            vec![measure]
        } else {
            all_measures()
                .filter(|m| {
                    !matches!(
                        m,
                        Measure::Reversals | Measure::Returned | Measure::ForOthers
                    )
                })
                .collect()
        };
        // The column, the columns above it, and (for an item) its siblings, which share
        // the category's sums; for a site total, the categories that add up to it.
        let mut keys: BTreeSet<Key> = BTreeSet::new();
        keys.insert(key);
        keys.extend(self.shape.ancestors(key));
        match key {
            Key::Item(item) => {
                let category = self.shape.item_category[item as usize];
                keys.extend(
                    self.shape
                        .items_under(Key::Category(category))
                        .into_iter()
                        .map(Key::Item),
                );
            }
            Key::Category(_) => {
                keys.extend(self.shape.items_under(key).into_iter().map(Key::Item));
            }
            Key::All => {
                keys.extend((0..self.shape.categories).map(Key::Category));
            }
        }
        // One chain of periods: the cell's, those above it, and those down to the one
        // finest period `leaf` (the others keep their values, which only narrows
        // what moves; it keeps the program small on a year of months).
        let mut periods = vec![period, leaf];
        periods.extend(self.ancestors(period));
        periods.extend(
            self.ancestors(leaf)
                .into_iter()
                .take_while(|p| *p != period),
        );
        periods.sort_unstable();
        periods.dedup();
        let mut out = Vec::new();
        for p in periods {
            for (r, k, _) in &self.cubes[p].cells {
                let wanted = if narrow {
                    keys.contains(k) && rows.contains(r)
                } else {
                    keys.contains(k) || rows.contains(r)
                };
                if wanted {
                    // Kits by reason of a column that has none are zero by definition:
                    // no fact mentions them, so they need no place in the program.
                    let carries = self.shape.carries_reasons(*k);
                    out.extend(
                        measures
                            .iter()
                            .filter(|m| carries || !super::model::is_reason(**m))
                            .filter_map(|m| self.entry(p, *r, *k, *m)),
                    );
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The cheapest published entries (those `free` to hide) whose hiding lets the
    /// goal's entry move as far as it asks, with the hidden ones; `None` when no
    /// choice of them does.
    pub(super) fn cheapest(
        &self,
        entries: &[EntryId],
        hidden: &[bool],
        free: &[bool],
        cost: &dyn Fn(EntryId) -> u64,
        goal: Goal,
    ) -> Option<Opening> {
        let Goal { target, up, need } = goal;
        let mut program = Program::new(self, OptimizationDirection::Minimize);
        let mut priced: Vec<(EntryId, Variable, Variable)> = Vec::new();
        for &entry in entries {
            if hidden[entry as usize] {
                program.free(entry, 0.0);
            } else if free[entry as usize] {
                #[expect(clippy::cast_precision_loss, reason = "costs are small")]
                let price = cost(entry) as f64;
                let (plus, minus) = program.priced(entry, price);
                priced.push((entry, plus, minus));
            }
        }
        let target_var = *program.vars.get(&target)?;
        #[expect(clippy::cast_precision_loss, reason = "counts are small")]
        let need = need as f64;
        if up {
            program
                .problem
                .add_constraint([(target_var, 1.0)], ComparisonOp::Ge, need);
        } else {
            program
                .problem
                .add_constraint([(target_var, 1.0)], ComparisonOp::Le, -need);
        }
        program.facts();
        let outcome = program.solve()?;
        let solution = outcome.solution()?;
        let hide = priced
            .into_iter()
            .filter(|(_, plus, minus)| {
                solution.var_value(*plus) > SLACK || solution.var_value(*minus) > SLACK
            })
            .map(|(entry, _, _)| entry)
            .collect();
        // The program's point, as a move from the true table, when it is whole.
        let changes = program.changes(solution);
        let mut direction: Direction = Vec::new();
        let mut whole = true;
        for &(entry, change) in &changes {
            let rounded = change.round();
            if (change - rounded).abs() > SLACK {
                whole = false;
                break;
            }
            if rounded != 0.0 {
                #[expect(clippy::cast_possible_truncation, reason = "a small whole change")]
                direction.push((entry, rounded as i64));
            }
        }
        direction.sort_unstable();
        Some(Opening {
            hide,
            direction: (whole && !direction.is_empty()).then_some(direction),
            changes,
        })
    }
}

impl Universe {
    /// How far hidden `target` can move up (or down) with the hidden ones among
    /// `entries`, everything else at its value: the change, rounded toward zero to a
    /// whole count, and the program's point (every entry's change there), a table the
    /// reader cannot rule out.
    pub(super) fn reach(
        &self,
        entries: &[EntryId],
        hidden: &[bool],
        target: EntryId,
        up: bool,
    ) -> (i64, Changes) {
        let direction = if up {
            OptimizationDirection::Maximize
        } else {
            OptimizationDirection::Minimize
        };
        let mut program = Program::new(self, direction);
        for &entry in entries {
            if hidden[entry as usize] {
                program.free(entry, if entry == target { 1.0 } else { 0.0 });
            }
        }
        if !program.vars.contains_key(&target) {
            return (0, Vec::new());
        }
        program.facts();
        let Some(outcome) = program.solve() else {
            return (0, Vec::new());
        };
        let Some(solution) = outcome.solution() else {
            return (0, Vec::new());
        };
        let change = solution.objective();
        let changes = program.changes(solution);
        #[expect(clippy::cast_possible_truncation, reason = "a small count")]
        let whole = if up {
            (change + SLACK).floor().min(1e9) as i64
        } else {
            (change - SLACK).ceil().max(-1e9) as i64
        };
        (whole, changes)
    }
}

impl Universe {
    /// A point where the hidden ones among `targets` have moved together, each up (or
    /// down) by as much as it can up to `cap`, with the hidden ones among `entries`:
    /// one program whose point often gives many counts of a cell their width at once.
    /// Empty when there is no such program.
    pub(super) fn sweep(
        &self,
        entries: &[EntryId],
        hidden: &[bool],
        targets: &[EntryId],
        up: bool,
        cap: i64,
    ) -> Changes {
        let mut program = Program::new(self, OptimizationDirection::Maximize);
        for &entry in entries {
            if hidden[entry as usize] {
                program.free(entry, 0.0);
            }
        }
        #[expect(clippy::cast_precision_loss, reason = "a small count")]
        let cap = cap as f64;
        let mut moving = false;
        for target in targets {
            if let Some(&change) = program.vars.get(target) {
                // progress <= change (up) or <= -change (down), and <= cap.
                let progress = program.problem.add_var(1.0, (0.0, cap));
                let sign = if up { -1.0 } else { 1.0 };
                program.problem.add_constraint(
                    [(progress, 1.0), (change, sign)],
                    ComparisonOp::Le,
                    0.0,
                );
                moving = true;
            }
        }
        if !moving {
            return Vec::new();
        }
        program.facts();
        program
            .solve()
            .and_then(|outcome| outcome.solution().map(|solution| program.changes(solution)))
            .unwrap_or_default()
    }
}

/// A program's point, as the change of each moving entry from its true value.
pub(super) type Changes = Vec<(EntryId, f64)>;

/// What [`Universe::cheapest`] found: the counts to hide, and the witness itself as a
/// move from the true table (when its changes are whole numbers), which may serve the
/// other cells it moves too.
pub(super) struct Opening {
    pub hide: Vec<EntryId>,
    pub direction: Option<Direction>,
    pub changes: Changes,
}

/// Which entries a program about one count lets move.
#[derive(Debug, Clone, Copy)]
pub(super) enum Scope {
    /// The count's column in the partner rows only, over the chain of periods down to
    /// this finest one: small and quick, for checking what is hidden already.
    Narrow(usize),
    /// The count's column in every row and every column of the partner rows, over the
    /// chain of periods down to this finest one.
    Chain(usize),
    /// Every entry of the universe.
    Everything,
}

/// What a witness must do: move `target` by at least `need`, up or down.
#[derive(Clone, Copy, Debug)]
pub(super) struct Goal {
    pub target: EntryId,
    pub up: bool,
    pub need: i64,
}

/// A program under construction: a variable per moving entry (its change), then the
/// facts that mention them.
struct Program<'u> {
    universe: &'u Universe,
    problem: Problem,
    /// Entry → the variable of its change (plus − minus for priced entries, as one
    /// expression's terms).
    vars: HashMap<EntryId, Variable>,
    terms: HashMap<EntryId, Vec<(Variable, f64)>>,
}

impl<'u> Program<'u> {
    fn new(universe: &'u Universe, direction: OptimizationDirection) -> Self {
        Program {
            universe,
            problem: Problem::new(direction),
            vars: HashMap::new(),
            terms: HashMap::new(),
        }
    }

    /// A change that costs nothing; the count stays whole-or-not and not negative.
    fn free(&mut self, entry: EntryId, objective: f64) {
        #[expect(clippy::cast_precision_loss, reason = "counts are small")]
        let floor = -(self.universe.values[entry as usize] as f64);
        let var = self.problem.add_var(objective, (floor, f64::INFINITY));
        self.vars.insert(entry, var);
        self.terms.insert(entry, vec![(var, 1.0)]);
    }

    /// A change of a published count, priced by how much it moves either way.
    fn priced(&mut self, entry: EntryId, price: f64) -> (Variable, Variable) {
        #[expect(clippy::cast_precision_loss, reason = "counts are small")]
        let value = self.universe.values[entry as usize] as f64;
        let plus = self.problem.add_var(price, (0.0, f64::INFINITY));
        let minus = self.problem.add_var(price, (0.0, value));
        self.terms.insert(entry, vec![(plus, 1.0), (minus, -1.0)]);
        (plus, minus)
    }

    /// Solves the program. No time limit: a program cut short would count as no
    /// witness, and on a coarse period that leads to failing closed (hiding the
    /// year's totals) for a count that was wide enough.
    fn solve(&self) -> Option<microlp::SolveOutcome> {
        self.problem.solve().ok()
    }

    /// The change of every moving entry at a solution.
    fn changes(&self, solution: &microlp::Solution) -> Changes {
        self.terms
            .iter()
            .map(|(entry, terms)| {
                let change = terms
                    .iter()
                    .map(|(var, sign)| solution.var_value(*var) * sign)
                    .sum();
                (*entry, change)
            })
            .collect()
    }

    /// Every fact that mentions a moving entry, with the other entries at their values.
    fn facts(&mut self) {
        let universe = self.universe;
        let mut ids: Vec<u32> = self
            .terms
            .keys()
            .flat_map(|entry| universe.by_entry[*entry as usize].iter().map(|(id, _)| *id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let constraint = &universe.constraints[id as usize];
            let mut expression: Vec<(Variable, f64)> = Vec::new();
            for (entry, coefficient) in &constraint.terms {
                if let Some(terms) = self.terms.get(entry) {
                    #[expect(clippy::cast_precision_loss, reason = "coefficients are small")]
                    let c = *coefficient as f64;
                    expression.extend(terms.iter().map(|(var, sign)| (*var, sign * c)));
                }
            }
            if expression.is_empty() {
                continue;
            }
            #[expect(clippy::cast_precision_loss, reason = "counts are small")]
            let value = universe.constraint_values[id as usize] as f64;
            if constraint.equality {
                self.problem
                    .add_constraint(expression.as_slice(), ComparisonOp::Eq, 0.0);
            } else {
                self.problem
                    .add_constraint(expression.as_slice(), ComparisonOp::Ge, -value);
            }
        }
    }
}
