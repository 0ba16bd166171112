//! `cargo run --release --example decide_bench -- --sites 60 --items 20`
//!
//! Times kitlog's suppression decisions for one fiscal year of a large synthetic
//! program, the way a coordinator's releases make them: the twelve months (each on its
//! own cube), then the four quarters (each over its months, decided before), then the
//! year (over its quarters and their months). It calls the library's decision
//! directly, so the figures are the deciding alone, without reading contacts.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use clap::Parser;
use kitlog::measures::{Measure, Measures};
use kitlog::suppression::{Cube, Key, Row, Shape, Universe, decide};

// Only the seeded generator is used here; the sheet writer is for the other examples.
#[allow(dead_code)]
#[path = "support/synth.rs"]
mod synth;

use synth::Random;

/// Time the decisions of a fiscal year of month, quarter and year releases.
#[derive(Debug, Parser)]
struct Args {
    /// Sites of the program.
    #[arg(long, default_value_t = 60)]
    sites: u32,
    /// Items of the catalogue (spread over five categories, naloxone among them).
    #[arg(long, default_value_t = 20)]
    items: u32,
    /// Contacts of a site in a month, at the busiest site (the quietest get a tenth).
    #[arg(long, default_value_t = 300)]
    busiest: u64,
    /// Seed of the made-up program.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The threshold.
    #[arg(long, default_value_t = 5)]
    min_cell: u64,
}

/// One made-up contact.
#[derive(Clone)]
struct Contact {
    site: u32,
    who: Option<u64>,
    items: Vec<(u32, u64)>,
    reason: usize,
    reversals: u64,
    returned: u64,
    for_others: u64,
}

const NALOXONE: u32 = 2;

fn shape(items: u32) -> Shape {
    // Items by category: mostly injection and smoking, two naloxone, a few testing and
    // other.
    let item_category = (0..items)
        .map(|item| match item % 10 {
            0..=3 => 0,
            4..=5 => 1,
            6 => NALOXONE,
            7..=8 => 3,
            _ => 4,
        })
        .collect();
    Shape {
        item_category,
        categories: 5,
        naloxone: Some(NALOXONE),
    }
}

/// A month of contacts: busy and quiet sites, common and rare items, regulars.
fn month(args: &Args, random: &mut Random, month: u64) -> Vec<Contact> {
    let mut out = Vec::new();
    for site in 0..args.sites {
        let size = args.busiest * (u64::from(site % 10) + 1) / 10;
        let pool = size / 2 + 5;
        for _ in 0..size {
            let who = (random.below(4) != 0)
                .then(|| u64::from(site) * 1_000_000 + random.below(pool) + month * pool / 4);
            let mut items = Vec::new();
            for item in 0..args.items {
                // Item popularity falls off: the first items are common, the last rare.
                let percent = 60 / (u64::from(item) + 1);
                if random.below(100) < percent.max(1) {
                    items.push((item, 1 + random.below(5)));
                }
            }
            if items.is_empty() {
                items.push((0, 1));
            }
            out.push(Contact {
                site,
                who,
                items,
                reason: usize::try_from(random.below(8)).expect("small"),
                reversals: u64::from(random.below(50) == 0),
                returned: if random.below(4) == 0 {
                    random.below(50)
                } else {
                    0
                },
                for_others: u64::from(random.below(10) == 0),
            });
        }
    }
    out
}

/// Counts contacts into a cube; `seen` holds the people met earlier in the fiscal year.
fn count(
    shape: &Shape,
    contacts: &[Contact],
    seen: &BTreeSet<u64>,
    min_cell: u64,
    is_fiscal_year: bool,
) -> Cube {
    type Cell = (Measures, BTreeSet<u64>, BTreeSet<u64>);
    let mut cells: BTreeMap<(Row, Key), Cell> = BTreeMap::new();
    let reasons = [
        Measure::NaloxoneFirst,
        Measure::NaloxoneUsed,
        Measure::NaloxoneLost,
        Measure::NaloxoneStolen,
        Measure::NaloxoneConfiscated,
        Measure::NaloxoneExpired,
        Measure::NaloxoneOther,
        Measure::NaloxoneUnrecorded,
    ];
    for contact in contacts {
        let mut keys: BTreeMap<Key, (u64, u64)> = BTreeMap::new();
        for &(item, quantity) in &contact.items {
            let category = shape.item_category[item as usize];
            let kits = if category == NALOXONE { quantity } else { 0 };
            for key in [Key::Item(item), Key::Category(category), Key::All] {
                let entry = keys.entry(key).or_default();
                entry.0 += quantity;
                entry.1 += kits;
            }
        }
        for row in [Row::Site(contact.site), Row::All] {
            for (key, (quantity, kits)) in &keys {
                let (measures, people, new) = cells.entry((row, *key)).or_default();
                measures[Measure::Contacts] += 1;
                measures[Measure::Quantity] += quantity;
                measures[Measure::Reversals] += contact.reversals;
                measures[Measure::Returned] += contact.returned;
                measures[Measure::ForOthers] += contact.for_others;
                measures[reasons[contact.reason]] += kits;
                match contact.who {
                    Some(who) => {
                        people.insert(who);
                        if !seen.contains(&who) {
                            new.insert(who);
                        }
                    }
                    None => measures[Measure::AnonymousContacts] += 1,
                }
            }
        }
    }
    Cube {
        cells: cells
            .into_iter()
            .map(|((row, key), (mut measures, people, new))| {
                measures[Measure::Participants] = people.len() as u64;
                measures[Measure::NewParticipants] = new.len() as u64;
                (row, key, measures)
            })
            .collect(),
        min_cell,
        is_fiscal_year,
    }
}

/// Decides the first cube of each universe, two at a time.
fn in_parallel(work: &[(Universe, Vec<Option<Vec<u16>>>)]) -> Vec<Vec<u16>> {
    let chunk = work.len().div_ceil(2);
    std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(universe, fixed)| {
                            let decision = decide(universe, fixed);
                            if decision.fell_back {
                                eprintln!("a decision failed closed");
                            }
                            decision.masks.into_iter().next().unwrap_or_default()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("no panic"))
            .collect()
    })
}

fn hidden_share(cube: &Cube, masks: &[u16]) -> String {
    let hidden = masks.iter().filter(|m| **m != 0).count();
    let total = cube
        .cells
        .iter()
        .zip(masks)
        .find(|((row, key, _), _)| (*row, *key) == (Row::All, Key::All))
        .map_or("none", |(_, m)| {
            // Contacts and participants are measures 0 and 1.
            if m.trailing_zeros() >= 2 {
                "shown"
            } else {
                "HIDDEN"
            }
        });
    format!(
        "{hidden} of {} cells hide something, program total {total}",
        cube.cells.len()
    )
}

fn main() {
    let args = Args::parse();
    let shape = shape(args.items);
    let mut random = Random(args.seed);
    let months: Vec<Vec<Contact>> = (0..12).map(|m| month(&args, &mut random, m)).collect();
    let contacts: usize = months.iter().map(Vec::len).sum();
    // Cubes: months, quarters, the year, with new participants counted from the year's
    // first day.
    let mut seen = BTreeSet::new();
    let mut month_cubes = Vec::new();
    for contacts in &months {
        month_cubes.push(count(&shape, contacts, &seen, args.min_cell, false));
        seen.extend(contacts.iter().filter_map(|c| c.who));
    }
    let mut seen = BTreeSet::new();
    let mut quarter_cubes = Vec::new();
    for quarter in months.chunks(3) {
        let all: Vec<Contact> = quarter.iter().flatten().cloned().collect();
        quarter_cubes.push(count(&shape, &all, &seen, args.min_cell, false));
        seen.extend(all.iter().filter_map(|c| c.who));
    }
    let all: Vec<Contact> = months.iter().flatten().cloned().collect();
    let year_cube = count(&shape, &all, &BTreeSet::new(), args.min_cell, true);
    println!(
        "{} sites, {} items, {contacts} contacts in the year, {} cells a month on average",
        args.sites,
        args.items,
        month_cubes.iter().map(|c| c.cells.len()).sum::<usize>() / 12
    );

    let started = Instant::now();
    let work: Vec<_> = month_cubes
        .iter()
        .map(|cube| {
            (
                Universe::new(shape.clone(), vec![cube.clone()], vec![Vec::new()]),
                vec![None],
            )
        })
        .collect();
    let month_masks = in_parallel(&work);
    let months_took = started.elapsed();
    println!(
        "12 months: {:.2} s ({})",
        months_took.as_secs_f64(),
        hidden_share(&month_cubes[0], &month_masks[0])
    );

    let started = Instant::now();
    let work: Vec<_> = quarter_cubes
        .iter()
        .enumerate()
        .map(|(q, cube)| {
            let mut cubes = vec![cube.clone()];
            let mut fixed = vec![None];
            for m in 3 * q..3 * q + 3 {
                cubes.push(month_cubes[m].clone());
                fixed.push(Some(month_masks[m].clone()));
            }
            let children = vec![vec![1, 2, 3], vec![], vec![], vec![]];
            (Universe::new(shape.clone(), cubes, children), fixed)
        })
        .collect();
    let quarter_masks = in_parallel(&work);
    let quarters_took = started.elapsed();
    println!(
        "4 quarters: {:.2} s ({})",
        quarters_took.as_secs_f64(),
        hidden_share(&quarter_cubes[0], &quarter_masks[0])
    );

    let started = Instant::now();
    let mut cubes = vec![year_cube.clone()];
    let mut fixed = vec![None];
    let mut children = vec![Vec::new()];
    for q in 0..4 {
        let index = cubes.len();
        children[0].push(index);
        cubes.push(quarter_cubes[q].clone());
        fixed.push(Some(quarter_masks[q].clone()));
        children.push(Vec::new());
        for m in 3 * q..3 * q + 3 {
            children[index].push(cubes.len());
            cubes.push(month_cubes[m].clone());
            fixed.push(Some(month_masks[m].clone()));
            children.push(Vec::new());
        }
    }
    let year_masks = in_parallel(&[(Universe::new(shape.clone(), cubes, children), fixed)]);
    let year_took = started.elapsed();
    println!(
        "the year: {:.2} s ({})",
        year_took.as_secs_f64(),
        hidden_share(&year_cube, &year_masks[0])
    );
    println!(
        "total: {:.2} s",
        (months_took + quarters_took + year_took).as_secs_f64()
    );
}
