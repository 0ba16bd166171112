//! Which cells of a period's cube to hide: the sums a reader of the tables can form,
//! as relations among cells, handed to [`crate::suppression`].

use std::collections::{BTreeMap, HashMap};

use super::ItemKey;
use super::Measure;
use super::builder::{Accumulator, CellKey, Level};
use crate::catalogue::Category;
use crate::suppression::{self, CellCounts, Hidden, Relation};

/// Primary and complementary suppression of one cube, then a fail-closed audit:
/// should a hidden cell ever stay recoverable, the whole cube is hidden.
pub(super) fn suppress_cube(
    cells: &[(CellKey, Accumulator)],
    categories: &HashMap<String, Category>,
    min_cell: u32,
) -> Vec<Hidden> {
    let counts: Vec<CellCounts> = cells
        .iter()
        .map(|(_, cell)| CellCounts {
            contacts: cell.sums[Measure::Contacts],
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
