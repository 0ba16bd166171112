//! Witnesses: other tables of counts, as consistent with every release as the true one,
//! in which a hidden small cell's counts differ.
//!
//! A witness moves hidden entries along a *direction* (so many contacts, participants,
//! kits... from one site's cell to another's, and the same in the periods above) by a
//! whole number of steps `t`. Every published count stays as it is, and [`Universe::line_search`]
//! keeps every fact of [`super::model`] true, so each step is a table a reader cannot
//! tell from the real one. The values a hidden count takes over all witnesses are
//! values no reader can rule out: if they span at least `min_cell` values, so does
//! what the reader is left with. Directions are few fixed shapes; a shape that does not
//! fit only makes kitlog hide more, never less.

use super::model::{EntryId, Key, Row, Universe, is_additive, reasons};
use crate::measures::Measure;

/// A direction: entries and how much each moves per step.
pub(super) type Direction = Vec<(EntryId, i64)>;

/// The people-related unit moves a direction can carry, in a cell: a coded contact
/// (who may be new), an anonymous one, a coded contact turned anonymous, or one count
/// alone.
const PEOPLE: [&[(Measure, i64)]; 13] = [
    &[(Measure::Contacts, 1), (Measure::Participants, 1)],
    &[
        (Measure::Contacts, 1),
        (Measure::Participants, 1),
        (Measure::NewParticipants, 1),
    ],
    &[(Measure::Contacts, 1), (Measure::AnonymousContacts, 1)],
    &[(Measure::Contacts, 1)],
    &[(Measure::Participants, 1)],
    &[(Measure::Participants, 1), (Measure::NewParticipants, 1)],
    &[(Measure::NewParticipants, 1)],
    &[(Measure::AnonymousContacts, 1)],
    &[(Measure::Participants, -1), (Measure::AnonymousContacts, 1)],
    &[
        (Measure::Participants, -1),
        (Measure::NewParticipants, -1),
        (Measure::AnonymousContacts, 1),
    ],
    &[(Measure::Reversals, 1)],
    &[(Measure::Returned, 1)],
    &[(Measure::ForOthers, 1)],
];

/// The people moves that come with one unit of an item (a whole contact who took it).
const WITH_ITEM: [&[(Measure, i64)]; 4] = [
    &[],
    &[(Measure::Contacts, 1), (Measure::Participants, 1)],
    &[
        (Measure::Contacts, 1),
        (Measure::Participants, 1),
        (Measure::NewParticipants, 1),
    ],
    &[(Measure::Contacts, 1), (Measure::AnonymousContacts, 1)],
];

/// Where in a row the people moves happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PeopleAt {
    /// At the column's key only.
    Key,
    /// At the key and its ancestors (category, ALL).
    KeyAndAncestors,
    /// At an item under the key and that item's ancestors: a whole contact who took it.
    Item(u32),
}

/// How a direction is laid out; [`Universe::direction`] turns it into entries.
#[derive(Debug, Clone)]
pub(super) struct Shape {
    /// The finest period the move happens in.
    pub(super) leaf: usize,
    /// The row that gains.
    pub(super) row: Row,
    /// The row that loses (a site), or the ALL row, which gains too (`partner_sign` +1),
    /// or none (`partner_sign` 0: people measures, which add up over nothing).
    pub(super) partner: Row,
    pub(super) partner_sign: i64,
    /// The column of the people-related move.
    pub(super) key: Key,
    /// People-related measures and how much each moves per step.
    pub(super) people: &'static [(Measure, i64)],
    pub(super) people_at: PeopleAt,
    /// A quantity move: one unit of this item, up its category and ALL, in both rows...
    pub(super) item: Option<u32>,
    /// ...less one unit of this sibling item (same category) in both rows, so that the
    /// category and ALL quantities do not move.
    pub(super) sibling: Option<u32>,
    /// A naloxone reason that moves with the quantity.
    pub(super) reason: Option<Measure>,
    /// Move participants and new participants of the periods above as well.
    pub(super) lift_people: bool,
}

impl Universe {
    /// The entries of `shape`, or `None` where it would touch a cell that does not exist
    /// (a witness cannot invent a row: rows are printed, or known to be empty).
    pub(super) fn direction(&self, shape: &Shape) -> Option<Direction> {
        let mut moves: Vec<(usize, Row, Key, Measure, i64)> = Vec::new();
        let rows = [(shape.row, 1), (shape.partner, shape.partner_sign)];
        let people_keys = match shape.people_at {
            PeopleAt::Key => vec![shape.key],
            PeopleAt::KeyAndAncestors => {
                let mut keys = vec![shape.key];
                keys.extend(self.shape.ancestors(shape.key));
                keys
            }
            PeopleAt::Item(item) => {
                let mut keys = vec![Key::Item(item)];
                keys.extend(self.shape.ancestors(Key::Item(item)));
                keys
            }
        };
        for &(measure, step) in shape.people {
            for &(row, sign) in &rows {
                for &key in &people_keys {
                    moves.push((shape.leaf, row, key, measure, sign * step));
                }
            }
        }
        if let Some(item) = shape.item {
            let mut measures = vec![Measure::Quantity];
            measures.extend(shape.reason);
            for measure in measures {
                for &(row, sign) in &rows {
                    let mut keys = vec![Key::Item(item)];
                    if shape.sibling.is_none() {
                        keys.extend(self.shape.ancestors(Key::Item(item)));
                    }
                    for key in keys {
                        moves.push((shape.leaf, row, key, measure, sign));
                    }
                    if let Some(sibling) = shape.sibling {
                        moves.push((shape.leaf, row, Key::Item(sibling), measure, -sign));
                    }
                }
            }
        }
        // The periods above hold the same contacts: sums move with them; distinct
        // people may, when asked.
        let lifted: Vec<_> = self
            .ancestors(shape.leaf)
            .into_iter()
            .flat_map(|period| {
                moves
                    .iter()
                    .filter(|(_, _, _, measure, _)| is_additive(*measure) || shape.lift_people)
                    .map(move |&(_, row, key, measure, sign)| (period, row, key, measure, sign))
                    .collect::<Vec<_>>()
            })
            .collect();
        moves.extend(lifted);
        // In a fiscal-year row new participants are participants: they move together.
        let coupled: Vec<_> = moves
            .iter()
            .filter(|(period, _, _, measure, _)| {
                self.cubes[*period].is_fiscal_year
                    && matches!(measure, Measure::Participants | Measure::NewParticipants)
            })
            .map(|&(period, row, key, measure, sign)| {
                let other = if measure == Measure::Participants {
                    Measure::NewParticipants
                } else {
                    Measure::Participants
                };
                (period, row, key, other, sign)
            })
            .collect();
        for extra in coupled {
            if !moves
                .iter()
                .any(|m| (m.0, m.1, m.2, m.3) == (extra.0, extra.1, extra.2, extra.3))
            {
                moves.push(extra);
            }
        }
        let mut direction: Direction = Vec::with_capacity(moves.len());
        for (period, row, key, measure, sign) in moves {
            let entry = self.entry(period, row, key, measure)?;
            direction.push((entry, sign));
        }
        direction.sort_unstable();
        direction.dedup_by(|b, a| {
            if a.0 == b.0 {
                a.1 += b.1;
                true
            } else {
                false
            }
        });
        direction.retain(|(_, coefficient)| *coefficient != 0);
        (!direction.is_empty()).then_some(direction)
    }

    /// The whole steps `t` (negative, zero, positive) for which `values + t × direction`
    /// keeps every fact true; `None` when the direction breaks an equation at any step.
    /// Counts stay whole and not negative.
    pub(super) fn line_search(&self, direction: &Direction) -> Option<(i64, i64)> {
        let (mut low, mut high) = (i64::MIN / 4, i64::MAX / 4);
        for &(entry, coefficient) in direction {
            tighten(
                &mut low,
                &mut high,
                self.values[entry as usize],
                coefficient,
            );
        }
        // Each fact's slope along the direction, gathered from the entries it moves
        // (facts over many entries, such as a column's sum, are not read whole).
        let mut slopes: Vec<(u32, i64)> = direction
            .iter()
            .flat_map(|(entry, step)| {
                self.by_entry[*entry as usize]
                    .iter()
                    .map(move |(id, coefficient)| (*id, coefficient * step))
            })
            .collect();
        slopes.sort_unstable_by_key(|(id, _)| *id);
        let mut at = 0;
        while at < slopes.len() {
            let id = slopes[at].0;
            let mut slope = 0;
            while at < slopes.len() && slopes[at].0 == id {
                slope += slopes[at].1;
                at += 1;
            }
            if slope == 0 {
                continue;
            }
            if self.constraints[id as usize].equality {
                return None;
            }
            tighten(
                &mut low,
                &mut high,
                self.constraint_values[id as usize],
                slope,
            );
        }
        (low <= 0 && high >= 0).then_some((low, high))
    }

    /// The shapes a witness for cell `(period, row, key)` can take: moves with each other
    /// row of the column in a finest period under `period`, carrying people, quantities
    /// or kits, at the key, up its row, or as a whole contact who took one of its items,
    /// with or without the periods above.
    pub(super) fn shapes_for(&self, period: usize, row: Row, key: Key) -> Vec<Shape> {
        let mut out = Vec::new();
        let Row::Site(_) = row else {
            return out;
        };
        for leaf in self.leaves(period) {
            let present = |r: Row, k: Key| self.cell(leaf, r, k).is_some();
            if !present(row, key) {
                continue;
            }
            let mut partners: Vec<(Row, i64)> = self.cubes[leaf]
                .cells
                .iter()
                .filter(|(r, k, _)| *k == key && *r != row)
                .map(|(r, _, _)| (*r, if *r == Row::All { 1 } else { -1 }))
                .collect();
            partners.sort();
            // No partner at all: distinct people add up over nothing, so a cell's
            // participants and new participants can move on their own.
            partners.push((row, 0));
            let items: Vec<u32> = self
                .shape
                .items_under(key)
                .into_iter()
                .filter(|item| present(row, Key::Item(*item)))
                .collect();
            for &(partner, partner_sign) in &partners {
                let template = Shape {
                    leaf,
                    row,
                    partner,
                    partner_sign,
                    key,
                    people: &[],
                    people_at: PeopleAt::Key,
                    item: None,
                    sibling: None,
                    reason: None,
                    lift_people: false,
                };
                let shared: Vec<u32> = items
                    .iter()
                    .copied()
                    .filter(|item| present(partner, Key::Item(*item)))
                    .collect();
                let mut places = vec![PeopleAt::Key, PeopleAt::KeyAndAncestors];
                places.extend(shared.iter().map(|item| PeopleAt::Item(*item)));
                for people in PEOPLE {
                    let alone = people.iter().all(|(m, _)| !is_additive(*m));
                    if partner_sign == 0 && !alone {
                        continue;
                    }
                    for &people_at in &places {
                        for lift_people in [false, true] {
                            out.push(Shape {
                                people,
                                people_at,
                                lift_people,
                                ..template.clone()
                            });
                        }
                    }
                }
                if partner_sign == 0 {
                    continue;
                }
                self.item_shapes(leaf, &template, &shared, &mut out);
            }
        }
        out
    }

    /// The shapes of a witness that moves quantities (and kits): through an item of
    /// the key, up its chain or against a sibling, alone or as a whole contact who
    /// took one, for each of the `shared` items both rows of `template` carry.
    fn item_shapes(&self, leaf: usize, template: &Shape, shared: &[u32], out: &mut Vec<Shape>) {
        let present = |r: Row, k: Key| self.cell(leaf, r, k).is_some();
        let (row, partner) = (template.row, template.partner);
        for &item in shared {
            let category = self.shape.item_category[item as usize];
            let siblings: Vec<Option<u32>> = std::iter::once(None)
                .chain(
                    self.shape
                        .items_under(Key::Category(category))
                        .into_iter()
                        .filter(|s| *s != item)
                        .filter(|s| present(row, Key::Item(*s)) && present(partner, Key::Item(*s)))
                        .map(Some),
                )
                .collect();
            let mut reason_options: Vec<Option<Measure>> = vec![None];
            if self.shape.carries_reasons(Key::Item(item)) {
                reason_options.extend(reasons().map(Some));
            }
            for sibling in &siblings {
                for reason in &reason_options {
                    for people in WITH_ITEM {
                        // People move as a whole contact (up the item's row) or
                        // only at the key, inside its totals' slack.
                        for people_at in [PeopleAt::Item(item), PeopleAt::Key] {
                            for lift_people in [false, true] {
                                if people.is_empty() && (lift_people || people_at == PeopleAt::Key)
                                {
                                    continue;
                                }
                                out.push(Shape {
                                    people,
                                    people_at,
                                    item: Some(item),
                                    sibling: *sibling,
                                    reason: *reason,
                                    lift_people,
                                    ..template.clone()
                                });
                            }
                        }
                    }
                }
            }
        }
    }
}

impl Universe {
    /// How far `entry` moves up (or down) when usable directions, each taken as far as
    /// it goes alone, are added together one by one, keeping the sum only while it
    /// still keeps every fact (halving a step that does not fit).
    pub(super) fn combined_reach(
        &self,
        entry: EntryId,
        usable: &[(Direction, i64, i64)],
        upward: bool,
        cap: i64,
    ) -> i64 {
        let coefficient = |direction: &Direction| {
            direction
                .binary_search_by_key(&entry, |(e, _)| *e)
                .map_or(0, |at| direction[at].1)
        };
        // Each direction's step that moves `entry` the wanted way, biggest first.
        let mut steps: Vec<(i64, &Direction)> = usable
            .iter()
            .filter_map(|(direction, low, high)| {
                let c = coefficient(direction);
                // Never further than `cap` needs: the width asked for is all that counts.
                let step = match (c.signum(), upward) {
                    (1, true) | (-1, false) => (*high).min(cap),
                    (-1, true) | (1, false) => (*low).max(-cap),
                    _ => return None,
                };
                (step != 0).then_some((step, direction))
            })
            .collect();
        steps.sort_by_key(|(step, direction)| {
            std::cmp::Reverse((step * coefficient(direction)).abs())
        });
        let mut total: std::collections::BTreeMap<EntryId, i64> = std::collections::BTreeMap::new();
        let reached = |total: &std::collections::BTreeMap<EntryId, i64>| {
            total.get(&entry).copied().unwrap_or(0).abs()
        };
        // A move that does not fit yet may fit once another has made room: go round
        // again while anything was added.
        for _ in 0..4 {
            let mut progress = false;
            for &(full_step, direction) in &steps {
                if reached(&total) >= cap {
                    break;
                }
                let mut step = full_step;
                while step != 0 {
                    let mut trial = total.clone();
                    for (e, c) in direction {
                        *trial.entry(*e).or_default() += c * step;
                    }
                    let candidate: Direction = trial
                        .iter()
                        .filter(|(_, c)| **c != 0)
                        .map(|(e, c)| (*e, *c))
                        .collect();
                    if !candidate.is_empty()
                        && reached(&trial) > reached(&total)
                        && self
                            .line_search(&candidate)
                            .is_some_and(|(_, high)| high >= 1)
                    {
                        total = trial;
                        progress = true;
                        break;
                    }
                    step /= 2;
                }
            }
            if !progress || reached(&total) >= cap {
                break;
            }
        }
        total.get(&entry).copied().unwrap_or(0).abs()
    }
}

/// Narrows `low..=high` to the steps `t` with `value + t × slope >= 0`.
fn tighten(low: &mut i64, high: &mut i64, value: i64, slope: i64) {
    if slope > 0 {
        *low = (*low).max(ceil_div(-value, slope));
    } else if slope < 0 {
        *high = (*high).min(value.div_euclid(-slope));
    }
}

/// `⌈a / b⌉` for `b > 0`.
fn ceil_div(a: i64, b: i64) -> i64 {
    -((-a).div_euclid(b))
}
