//! Synthetic program data for benchmarks: shift sheets of any size that look like a
//! busy harm-reduction program's, and could never be mistaken for a real one's.
//!
//! Shared by `examples/generate.rs` and `examples/bench.rs` (included with `#[path]`).
//! Every code is `SYN` followed by six letters and digits; there are no names, emails
//! or phone numbers. Everything is decided by a seeded generator, so a sheet can be
//! made again byte for byte from its size, seed and end date.

use std::io::{self, Write};

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// The sites of the synthetic program, with how busy each is (relative weight).
pub(crate) const SITES: [(&str, u32); 8] = [
    ("downtown-van", 6),
    ("east-drop-in", 4),
    ("north-route", 2),
    ("harbour-outreach", 2),
    ("west-clinic", 3),
    ("river-camp-route", 1),
    ("south-pharmacy", 2),
    ("night-van", 2),
];

/// The header of every sheet: kitlog's default catalogue, then the fixed columns.
pub(crate) const HEADER: &str = "date,site,code,injection-kit,syringe,stem-pipe,bubble-pipe,\
naloxone-nasal,naloxone-injectable,fentanyl-test-strip,sharps-container,\
reversals,for_others,returned,naloxone_reason";

/// How a sheet is made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// Contacts (rows) in the sheet.
    pub(crate) contacts: u64,
    /// The last day of data; every row is on or before it.
    pub(crate) end: NaiveDate,
    /// How many days back from `end` the data spreads.
    pub(crate) days: u32,
    /// Seed of the generator: same plan, same bytes.
    pub(crate) seed: u64,
}

impl Plan {
    /// Distinct participants (per code input) the sheet draws from. Outreach programs
    /// see most people again and again: roughly one person per dozen contacts.
    #[must_use]
    pub(crate) fn participants(&self) -> u64 {
        (self.contacts / 12).max(20)
    }
}

/// `SplitMix64`: tiny, fast, and good enough for made-up tallies.
pub(crate) struct Random(pub(crate) u64);

impl Random {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `[0, 1)`.
    #[allow(clippy::cast_precision_loss)]
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Uniform in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// An index picked in proportion to `weights`.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut pick = u32::try_from(self.below(u64::from(total))).expect("small");
        for (index, weight) in weights.iter().enumerate() {
            if pick < *weight {
                return index;
            }
            pick -= weight;
        }
        weights.len() - 1
    }
}

/// A fixed, seeded property of participant `index` (home site, what they use).
fn trait_of(index: u64, seed: u64, salt: u64) -> u64 {
    Random(index ^ seed.rotate_left(17) ^ salt.wrapping_mul(0xA24B_AED4_963E_E407)).next()
}

/// The code a participant gives: `SYN` and six base-36 characters, distinct for every
/// index below 36^6 (multiplying by a number prime to 36 permutes the residues).
fn write_code(out: &mut impl Write, index: u64, lower: bool) -> io::Result<()> {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const SPACE: u64 = 36u64.pow(6);
    let mut value = (index.wrapping_mul(1_000_003) + 7_919) % SPACE;
    let mut code = *b"SYN000000";
    for slot in code[3..].iter_mut().rev() {
        *slot = DIGITS[usize::try_from(value % 36).expect("below 36")];
        value /= 36;
    }
    if lower {
        // Workers type codes as they hear them; kitlog folds case.
        code.make_ascii_lowercase();
    }
    out.write_all(&code)
}

/// Relative weight of a weekday: fewer shifts at weekends.
fn day_weight(day: NaiveDate) -> u64 {
    match day.weekday() {
        Weekday::Sat => 6,
        Weekday::Sun => 4,
        _ => 10,
    }
}

/// Writes the sheet of `plan` to `out`, a row at a time (nothing is held in memory).
pub(crate) fn write_sheet(plan: &Plan, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{HEADER}")?;
    let mut random = Random(plan.seed);
    let first = plan.end - Duration::days(i64::from(plan.days) - 1);
    let all_days: Vec<NaiveDate> = (0..plan.days)
        .map(|d| first + Duration::days(i64::from(d)))
        .collect();
    let total_weight: u64 = all_days.iter().map(|d| day_weight(*d)).sum();
    let site_weights: Vec<u32> = SITES.iter().map(|(_, w)| *w).collect();
    let participants = plan.participants();

    let mut written = 0u64;
    let mut weight_so_far = 0u64;
    for day in all_days {
        weight_so_far += day_weight(day);
        let target = u64::try_from(
            u128::from(plan.contacts) * u128::from(weight_so_far) / u128::from(total_weight),
        )
        .expect("at most contacts");
        let date = day.format("%Y-%m-%d").to_string();
        while written < target {
            write_row(out, &mut random, plan, participants, &site_weights, &date)?;
            written += 1;
        }
    }
    Ok(())
}

fn write_row(
    out: &mut impl Write,
    random: &mut Random,
    plan: &Plan,
    participants: u64,
    site_weights: &[u32],
    date: &str,
) -> io::Result<()> {
    // One contact in four is anonymous: many people decline a code and are still served.
    let participant = (!random.chance(25)).then(|| {
        // Skewed: a few regulars come very often, most people now and then.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_precision_loss,
            clippy::cast_sign_loss
        )]
        let index = (random.unit().powi(3) * participants as f64) as u64;
        index.min(participants - 1)
    });
    let (site, injects, smokes) = if let Some(index) = participant {
        let home =
            usize::try_from(trait_of(index, plan.seed, 1) % SITES.len() as u64).expect("below 8");
        let site = if random.chance(80) {
            home
        } else {
            random.weighted(site_weights)
        };
        let kind = trait_of(index, plan.seed, 2) % 100;
        (site, kind < 65, kind >= 50)
    } else {
        let kind = random.below(100);
        (random.weighted(site_weights), kind < 60, kind >= 45)
    };
    let quantities = quantities(random, injects, smokes);
    let naloxone = quantities[4] + quantities[5] > 0;
    // first, used, lost, stolen, confiscated, expired, other, not written down.
    let reason = if naloxone {
        [
            "first",
            "used",
            "lost",
            "stolen",
            "confiscated",
            "expired",
            "other",
            "",
        ][random.weighted(&[35, 25, 10, 6, 8, 8, 3, 5])]
    } else {
        ""
    };
    let reversals = match reason {
        "used" => random.between(1, 2),
        _ => u64::from(random.chance(1)),
    };
    let for_others = if random.chance(12) {
        random.between(1, 4)
    } else {
        0
    };
    let returned = if injects && random.chance(30) {
        random.between(5, 200)
    } else {
        0
    };

    write!(out, "{date},{},", SITES[site].0)?;
    if let Some(index) = participant {
        write_code(out, index, random.chance(10))?;
    }
    for quantity in quantities {
        out.write_all(b",")?;
        if quantity > 0 {
            write!(out, "{quantity}")?;
        }
    }
    for count in [reversals, for_others, returned] {
        out.write_all(b",")?;
        if count > 0 {
            write!(out, "{count}")?;
        }
    }
    writeln!(out, ",{reason}")
}

/// What one contact takes, in [`HEADER`]'s item order; never nothing.
fn quantities(random: &mut Random, injects: bool, smokes: bool) -> [u64; 8] {
    let mut quantities = [0u64; 8];
    if injects {
        if random.chance(80) {
            quantities[0] = random.between(1, 4);
        }
        if random.chance(40) {
            quantities[1] = 5 * random.between(1, 6);
        }
        if random.chance(5) {
            quantities[7] = 1;
        }
    }
    if smokes {
        if random.chance(80) {
            quantities[2] = random.between(1, 3);
        }
        if random.chance(30) {
            quantities[3] = 1;
        }
    }
    if random.chance(25) {
        quantities[6] = random.between(1, 5);
    }
    if random.chance(7) {
        quantities[4] = random.between(1, 2);
    } else if random.chance(1) {
        quantities[5] = 1;
    }
    if quantities.iter().all(|q| *q == 0) {
        quantities[if injects { 0 } else { 2 }] = 1;
    }
    quantities
}
