//! Witnesses: other tables of counts, as consistent with every release as the true one,
//! in which a hidden small cell's counts differ.
//!
//! A witness moves hidden entries along a *direction* (so many contacts, participants,
//! kits... from one site's cell to another's, and the same in the periods above) by a
//! whole number of steps `t`. Every published count stays as it is, and [`line_search`]
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
/// (who may be new), an anonymous one, or one count alone.
const PEOPLE: [&[Measure]; 11] = [
    &[Measure::Contacts, Measure::Participants],
    &[Measure::Contacts, Measure::Participants, Measure::NewParticipants],
    &[Measure::Contacts, Measure::AnonymousContacts],
    &[Measure::Contacts],
    &[Measure::Participants],
    &[Measure::Participants, Measure::NewParticipants],
    &[Measure::NewParticipants],
    &[Measure::AnonymousContacts],
    &[Measure::Reversals],
    &[Measure::Returned],
    &[Measure::ForOthers],
];

/// How a direction is laid out; [`Universe::direction`] turns it into entries.
#[derive(Debug, Clone)]
pub(super) struct Shape<'p> {
    /// The finest period the move happens in.
    pub(super) leaf: usize,
    /// The row that gains.
    pub(super) row: Row,
    /// The row that loses (a site), or the ALL row, which gains too (`partner_sign` +1).
    pub(super) partner: Row,
    pub(super) partner_sign: i64,
    /// The column of the people-related move.
    pub(super) key: Key,
    /// People-related measures that move by one per step (may be empty).
    pub(super) people: &'p [Measure],
    /// Also move the people measures of the key's ancestors (category, ALL) in both rows.
    pub(super) people_chain: bool,
    /// Move the people measures at the quantity move's item (and, with `people_chain`,
    /// its ancestors) rather than at `key`: one whole contact who took that item.
    pub(super) people_on_item: bool,
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
    pub(super) fn direction(&self, shape: &Shape<'_>) -> Option<Direction> {
        let mut moves: Vec<(usize, Row, Key, Measure, i64)> = Vec::new();
        let rows = [(shape.row, 1), (shape.partner, shape.partner_sign)];
        let people_key = match (shape.people_on_item, shape.item) {
            (true, Some(item)) => Key::Item(item),
            _ => shape.key,
        };
        let mut people_keys = vec![people_key];
        if shape.people_chain {
            people_keys.extend(self.shape.ancestors(people_key));
        }
        for &measure in shape.people {
            for &(row, sign) in &rows {
                for &key in &people_keys {
                    moves.push((shape.leaf, row, key, measure, sign));
                }
            }
        }
        let mut item_moves = Vec::new();
        if let Some(item) = shape.item {
            let chain = |item: u32, full: bool| {
                let mut keys = vec![Key::Item(item)];
                if full {
                    keys.extend(self.shape.ancestors(Key::Item(item)));
                }
                keys
            };
            let full = shape.sibling.is_none();
            let mut measures = vec![Measure::Quantity];
            measures.extend(shape.reason);
            for measure in measures {
                for &(row, sign) in &rows {
                    for key in chain(item, full) {
                        item_moves.push((shape.leaf, row, key, measure, sign));
                    }
                    if let Some(sibling) = shape.sibling {
                        item_moves.push((shape.leaf, row, Key::Item(sibling), measure, -sign));
                    }
                }
            }
        }
        moves.extend(item_moves);
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
            if !moves.iter().any(|m| (m.0, m.1, m.2, m.3) == (extra.0, extra.1, extra.2, extra.3)) {
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
        let mut bound = |value: i64, slope: i64| {
            // value + t × slope >= 0
            if slope > 0 {
                low = low.max(ceil_div(-value, slope));
            } else if slope < 0 {
                high = high.min(value.div_euclid(-slope));
            }
        };
        for &(entry, coefficient) in direction {
            bound(self.values[entry as usize], coefficient);
        }
        let mut seen: Vec<u32> = direction
            .iter()
            .flat_map(|(entry, _)| self.by_entry[*entry as usize].iter().copied())
            .collect();
        seen.sort_unstable();
        seen.dedup();
        for id in seen {
            let constraint = &self.constraints[id as usize];
            let slope: i64 = constraint
                .terms
                .iter()
                .map(|(entry, coefficient)| {
                    direction
                        .binary_search_by_key(entry, |(e, _)| *e)
                        .map_or(0, |at| direction[at].1 * coefficient)
                })
                .sum();
            if slope == 0 {
                continue;
            }
            if constraint.equality {
                return None;
            }
            bound(self.value_of(constraint), slope);
        }
        (low <= 0 && high >= 0).then_some((low, high))
    }

    /// The shapes a witness for cell `(period, row, key)` can take: moves with each other
    /// row of the column in a finest period under `period`, carrying people, quantities
    /// or kits, plain or up the row's chain, with or without the periods above.
    pub(super) fn shapes_for(&self, period: usize, row: Row, key: Key) -> Vec<Shape<'static>> {
        let mut out = Vec::new();
        let Row::Site(_) = row else {
            return out;
        };
        for leaf in self.leaves(period) {
            if !self.cell_index[leaf].contains_key(&(row, key)) {
                continue;
            }
            let mut partners: Vec<(Row, i64)> = self.cubes[leaf]
                .cells
                .iter()
                .filter(|(r, k, _)| *k == key && *r != row)
                .map(|(r, _, _)| (*r, if *r == Row::All { 1 } else { -1 }))
                .collect();
            partners.sort();
            let items: Vec<u32> = self
                .shape
                .items_under(key)
                .into_iter()
                .filter(|item| self.cell_index[leaf].contains_key(&(row, Key::Item(*item))))
                .collect();
            for &(partner, partner_sign) in &partners {
                let template = Shape {
                    leaf,
                    row,
                    partner,
                    partner_sign,
                    key,
                    people: &[],
                    people_chain: false,
                    people_on_item: false,
                    item: None,
                    sibling: None,
                    reason: None,
                    lift_people: false,
                };
                for people in PEOPLE {
                    for people_chain in [false, true] {
                        for lift_people in [false, true] {
                            out.push(Shape {
                                people,
                                people_chain,
                                lift_people,
                                ..template.clone()
                            });
                        }
                    }
                }
                // Quantities (and kits) move through an item of the key, up its chain or
                // against a sibling; contacts of an item row may come along.
                for &item in &items {
                    if !self.cell_index[leaf].contains_key(&(partner, Key::Item(item))) {
                        continue;
                    }
                    let category = self.shape.item_category[item as usize];
                    let siblings: Vec<Option<u32>> = std::iter::once(None)
                        .chain(
                            self.shape
                                .items_under(Key::Category(category))
                                .into_iter()
                                .filter(|s| *s != item)
                                .filter(|s| {
                                    self.cell_index[leaf].contains_key(&(row, Key::Item(*s)))
                                        && self.cell_index[leaf]
                                            .contains_key(&(partner, Key::Item(*s)))
                                })
                                .map(Some),
                        )
                        .collect();
                    let mut reason_options: Vec<Option<Measure>> = vec![None];
                    if self.shape.carries_reasons(Key::Item(item)) {
                        reason_options.extend(reasons().map(Some));
                    }
                    let people_options: [&'static [Measure]; 4] = [
                        &[],
                        &[Measure::Contacts, Measure::Participants],
                        &[Measure::Contacts, Measure::Participants, Measure::NewParticipants],
                        &[Measure::Contacts, Measure::AnonymousContacts],
                    ];
                    for sibling in &siblings {
                        for reason in &reason_options {
                            for people in people_options {
                                for (lift_people, people_chain) in
                                    [(false, false), (true, false), (false, true), (true, true)]
                                {
                                    if people.is_empty() && (lift_people || people_chain) {
                                        continue;
                                    }
                                    out.push(Shape {
                                        people,
                                        people_chain,
                                        people_on_item: true,
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
        out
    }
}

/// `⌈a / b⌉` for `b > 0`.
fn ceil_div(a: i64, b: i64) -> i64 {
    -((-a).div_euclid(b))
}
